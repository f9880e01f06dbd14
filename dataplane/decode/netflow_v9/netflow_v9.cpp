// SPDX-License-Identifier: Apache-2.0
// NetFlow v9 decoder (RFC 3954): header checks and the flowset walk.
// Templates are compiled and data records decoded by ../template/.
#include "netflow_v9.hpp"

#include "../decoder.hpp"
#include "../prologue.hpp"
#include "../template/template_store.hpp"
#include "../time.hpp"
#include "../wire.hpp"

namespace sluice::decode {

namespace {

using namespace netflow_v9;
using tmpl::field_spec;
using tmpl::template_decl;
using tmpl::template_domain;

using wire::all_zero;

void check_padding(const uint8_t* p, uint32_t n, counter_block& c) noexcept {
    if (!all_zero(p, n)) c.add(counter::dev_set_padding_nonzero);
}

struct set_walk {
    uint32_t records = 0;   // records found, for the header count check
    bool complete = true;   // false: some records could not be counted
};

// Template flowset (id 0): template_id, field_count, then field specs.
void parse_templates(const uint8_t* p, uint32_t len, template_domain* dom, netflow_state& st,
                     const decoder_limits& lim, uint64_t now, counter_block& c, set_walk& w) noexcept {
    if (dom == nullptr) [[unlikely]] {  // max_domains_per_exporter: counted once per datagram
        w.complete = false;
        return;
    }
    uint32_t off = 0;
    while (len - off >= template_header_size) {
        const uint8_t* r = p + off;
        const uint16_t id = wire::be16(r);
        const uint32_t fc = wire::be16(r + 2);
        if (id < min_data_flowset_id && all_zero(r, len - off)) return;  // flowset padding
        if (fc == 0) [[unlikely]] {
            c.add(counter::err_template_no_fields);
            tmpl::refuse_template(*dom, id, now, c);
            ++w.records;
            off += template_header_size;
            continue;
        }
        const uint32_t need = template_header_size + fc * field_spec_size;
        if (need > len - off) [[unlikely]] {
            c.add(counter::err_template_overflows_set);
            w.complete = false;
            return;
        }
        ++w.records;
        off += need;
        if (fc > lim.max_fields_per_template) [[unlikely]] {
            c.add(counter::err_template_too_many_fields);
            tmpl::refuse_template(*dom, id, now, c);
            continue;
        }
        st.scratch_fields.clear();  // capacity reserved: no allocation
        for (uint32_t i = 0; i < fc; ++i) {
            const uint8_t* f = r + template_header_size + i * field_spec_size;
            st.scratch_fields.push_back(field_spec{wire::be16(f), wire::be16(f + 2), 0});
        }
        tmpl::learn_template(*dom, template_decl{id, false, 0, st.scratch_fields}, false, lim, now, c);
    }
    check_padding(p + off, len - off, c);
}

// Options template flowset (id 1): template_id, scope length and option
// length in bytes, then scope field specs and option field specs.
void parse_options_templates(const uint8_t* p, uint32_t len, template_domain* dom, netflow_state& st,
                             const decoder_limits& lim, uint64_t now, counter_block& c, set_walk& w) noexcept {
    if (dom == nullptr) [[unlikely]] {  // counted once per datagram
        w.complete = false;
        return;
    }
    uint32_t off = 0;
    while (len - off >= options_header_size) {
        const uint8_t* r = p + off;
        const uint16_t id = wire::be16(r);
        const uint32_t scope_len = wire::be16(r + 2), opt_len = wire::be16(r + 4);
        if (id < min_data_flowset_id && all_zero(r, len - off)) return;  // flowset padding
        if (scope_len % field_spec_size != 0 || opt_len % field_spec_size != 0) [[unlikely]] {
            c.add(counter::err_options_scope);  // lengths not in whole field specs: cannot resync
            w.complete = false;
            return;
        }
        const uint32_t need = options_header_size + scope_len + opt_len;
        if (need > len - off) [[unlikely]] {
            c.add(counter::err_template_overflows_set);
            w.complete = false;
            return;
        }
        ++w.records;
        off += need;
        const uint32_t fc = (scope_len + opt_len) / field_spec_size;
        if (fc > lim.max_fields_per_template) [[unlikely]] {
            c.add(counter::err_template_too_many_fields);
            tmpl::refuse_template(*dom, id, now, c);
            continue;
        }
        st.scratch_fields.clear();
        for (uint32_t i = 0; i < fc; ++i) {
            const uint8_t* f = r + options_header_size + i * field_spec_size;
            st.scratch_fields.push_back(field_spec{wire::be16(f), wire::be16(f + 2), 0});
        }
        const auto scope = static_cast<uint16_t>(scope_len / field_spec_size);
        tmpl::learn_template(*dom, template_decl{id, true, scope, st.scratch_fields}, false, lim, now, c);
    }
    check_padding(p + off, len - off, c);
}

}  // namespace

decode_status decode_netflow_v9(std::span<const uint8_t> payload, const datagram_meta& meta,
                                exporter_state& exporter, record_buffer& out) noexcept {
    counter_block& c = exporter.counters;
    if (!accept_datagram(payload, header_size, 9, c)) [[unlikely]]
        return decode_status::dropped;
    const uint8_t* p = payload.data();
    const std::size_t len = payload.size();
    netflow_state* st = tmpl::netflow_of(exporter);
    if (st == nullptr) [[unlikely]] {
        c.add(counter::err_template_limit);  // could not allocate template state
        return decode_status::dropped;
    }
    const decoder_limits& lim = tmpl::limits_of(exporter);
    const uint64_t now = meta.time_received_ns;
    const uint32_t count = wire::be16(p + off_count);

    tmpl::datagram_ctx ctx;
    ctx.meta = &meta;
    ctx.sys_uptime_ms = wire::be32(p + off_sys_uptime);
    ctx.export_ns = wire::be32(p + off_unix_secs) * ns_per_s;
    ctx.sequence = wire::be32(p + off_sequence);
    ctx.version = 9;
    const uint32_t source_id = wire::be32(p + off_source_id);

    const tmpl::message_start at(c);
    bool created = false;
    template_domain* dom = st->find_or_create(9, meta.exporter_port, source_id, lim, now, created);
    if (dom != nullptr) [[likely]] {
        dom->seq.observe(ctx.sequence, 1, c);  // v9 numbers export packets per (session, source id)
        dom->sweep(now, lim.template_timeout_ns, c);
    } else {
        c.add(counter::err_domain_table_full);
    }

    set_walk w;
    uint32_t emitted = 0;
    const uint32_t first_record = out.size;
    std::size_t off = header_size;
    bool bad_set = false;
    bool padded = false;
    while (len - off >= flowset_header_size) {
        const uint8_t* s = p + off;
        const uint16_t id = wire::be16(s);
        const uint32_t slen = wire::be16(s + 2);
        // Zero bytes after the last flowset: padding, legal (flowset id 0
        // with length 0 is never a flowset).
        if (id == 0 && slen == 0 && all_zero(s, len - off)) [[unlikely]] {
            padded = true;
            break;
        }
        if (slen < flowset_header_size || slen > len - off) [[unlikely]] {
            c.add(counter::err_set_length);
            bad_set = true;
            w.complete = false;
            break;
        }
        const uint8_t* body = s + flowset_header_size;
        const uint32_t blen = slen - flowset_header_size;
        off += slen;
        if (id == template_flowset_id) {
            parse_templates(body, blen, dom, *st, lim, now, c, w);
        } else if (id == options_template_flowset_id) {
            parse_options_templates(body, blen, dom, *st, lim, now, c, w);
        } else if (id < min_data_flowset_id) [[unlikely]] {
            c.add(counter::dev_unknown_set_id);
            w.complete = false;
        } else {
            template_domain* tdom = dom;  // the session whose template applies
            const tmpl::compiled_template* t = tmpl::data_template(id, tdom, *st, now, lim, c);
            if (t == nullptr) [[unlikely]] {
                w.complete = false;
                continue;
            }
            const tmpl::data_set_result r = tmpl::decode_data_set(*t, *tdom, body, blen, ctx, exporter, out);
            w.records += r.records;
            emitted += r.emitted;
        }
    }
    // < 4 bytes left: no flowset fits. Zero bytes there are padding too.
    if (!bad_set && !padded && off != len && !all_zero(p + off, len - off)) c.add(counter::dev_trailing_bytes);
    if (w.complete && w.records != count) c.add(counter::dev_count_mismatch);

    number_records(out, first_record);
    return tmpl::message_status(c, at, emitted, w.records, created, *st, dom);
}

}  // namespace sluice::decode
