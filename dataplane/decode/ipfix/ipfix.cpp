// SPDX-License-Identifier: Apache-2.0
// IPFIX decoder (RFC 7011, RFC 5103 biflows): message header checks, the set
// walk, template and withdrawal parsing. Templates are compiled and data
// records decoded by ../template/.
#include "ipfix.hpp"

#include "../decoder.hpp"
#include "../prologue.hpp"
#include "../template/template_store.hpp"
#include "../time.hpp"
#include "../wire.hpp"

namespace sluice::decode {

namespace {

using namespace ipfix;
using tmpl::field_spec;
using tmpl::template_decl;
using tmpl::template_domain;

using wire::all_zero;

struct set_walk {
    uint32_t records = 0;       // template + data records found
    uint32_t data_records = 0;  // the sequence number's unit
    bool complete = true;       // false: some data records could not be counted
};

// Template set (2) or options template set (3), withdrawals included.
void parse_templates(const uint8_t* p, uint32_t len, bool options, template_domain* dom, netflow_state& st,
                     const decoder_limits& lim, uint64_t now, counter_block& c, set_walk& w) noexcept {
    if (dom == nullptr) [[unlikely]]  // max_domains_per_exporter: counted once per datagram
        return;
    const uint16_t set_id = options ? options_template_set_id : template_set_id;
    const uint32_t hdr = options ? options_header_size : template_header_size;
    uint32_t off = 0;
    while (len - off >= withdrawal_size) {
        const uint8_t* r = p + off;
        const uint16_t id = wire::be16(r);
        const uint32_t fc = wire::be16(r + 2);
        if (id < min_data_set_id && all_zero(r, len - off)) return;  // set padding
        if (fc == 0) {
            // Withdrawal: one template, or all of this set's kind (id = set id).
            off += withdrawal_size;
            ++w.records;
            if (id == set_id) {
                dom->erase_all(options);
                c.add(counter::template_withdrawals);
            } else if (id >= min_data_set_id && dom->erase(id)) {
                c.add(counter::template_withdrawals);
            } else {
                c.add(counter::err_withdrawal_unknown);
            }
            continue;
        }
        if (len - off < hdr) [[unlikely]] {
            c.add(counter::err_template_overflows_set);
            return;
        }
        const auto scope = options ? wire::be16(r + 4) : uint16_t{0};
        // Find the record's extent; fields with the enterprise bit are 8 bytes.
        const bool keep = fc <= lim.max_fields_per_template;
        if (keep) st.scratch_fields.clear();  // capacity reserved: no allocation
        uint32_t q = off + hdr;
        for (uint32_t i = 0; i < fc; ++i) {
            if (len - q < field_spec_size) [[unlikely]] {
                c.add(counter::err_template_overflows_set);
                return;
            }
            uint16_t ie = wire::be16(p + q);
            const uint16_t flen = wire::be16(p + q + 2);
            uint32_t pen = 0;
            q += field_spec_size;
            if (ie & enterprise_bit) {
                if (len - q < enterprise_spec_size - field_spec_size) [[unlikely]] {
                    c.add(counter::err_template_overflows_set);
                    return;
                }
                ie &= static_cast<uint16_t>(~enterprise_bit);
                pen = wire::be32(p + q);
                q += enterprise_spec_size - field_spec_size;
            }
            if (keep) st.scratch_fields.push_back(field_spec{ie, flen, pen});
        }
        off = q;
        ++w.records;
        if (!keep) [[unlikely]] {
            c.add(counter::err_template_too_many_fields);
            tmpl::refuse_template(*dom, id, now, c);
            continue;
        }
        tmpl::learn_template(*dom, template_decl{id, options, scope, st.scratch_fields}, true, lim, now, c);
    }
    if (!all_zero(p + off, len - off)) c.add(counter::dev_set_padding_nonzero);
}

}  // namespace

decode_status decode_ipfix(std::span<const uint8_t> payload, const datagram_meta& meta, exporter_state& exporter,
                           record_buffer& out) noexcept {
    counter_block& c = exporter.counters;
    if (!accept_datagram(payload, header_size, version, c)) [[unlikely]]
        return decode_status::dropped;
    const uint8_t* p = payload.data();
    std::size_t len = payload.size();
    // The message length is checked against the datagram: the smaller wins.
    const uint32_t mlen = wire::be16(p + off_length);
    if (mlen > len) [[unlikely]] {
        c.add(counter::dev_count_mismatch);
    } else if (mlen < len) [[unlikely]] {
        if (mlen < header_size) {
            c.add(counter::err_truncated_header);
            return decode_status::dropped;
        }
        c.add(counter::dev_trailing_bytes);
        len = mlen;
    }
    netflow_state* st = tmpl::netflow_of(exporter);
    if (st == nullptr) [[unlikely]] {
        c.add(counter::err_template_limit);  // could not allocate template state
        return decode_status::dropped;
    }
    const decoder_limits& lim = tmpl::limits_of(exporter);
    const uint64_t now = meta.time_received_ns;

    tmpl::datagram_ctx ctx;
    ctx.meta = &meta;
    ctx.export_ns = wire::be32(p + off_export_time) * ns_per_s;
    ctx.sequence = wire::be32(p + off_sequence);
    ctx.version = 10;
    const uint32_t domain_id = wire::be32(p + off_domain);

    const tmpl::message_start at(c);
    bool created = false;
    template_domain* dom = st->find_or_create(10, meta.exporter_port, domain_id, lim, now, created);
    if (dom != nullptr) [[likely]]
        dom->sweep(now, lim.template_timeout_ns, c);
    else
        c.add(counter::err_domain_table_full);

    set_walk w;
    uint32_t emitted = 0;
    const uint32_t first_record = out.size;
    std::size_t off = header_size;
    while (off < len) {
        const uint8_t* s = p + off;
        // Zero bytes after the last set (some exporters pad messages to a
        // word boundary): legal, not a set. A set id 0 is never valid, so
        // an all-zero tail cannot hide one.
        if (s[0] == 0 && all_zero(s, len - off)) [[unlikely]]
            break;
        if (len - off < set_header_size) [[unlikely]] {
            c.add(counter::err_set_length);
            w.complete = false;
            break;
        }
        const uint16_t id = wire::be16(s);
        const uint32_t slen = wire::be16(s + 2);
        if (slen < set_header_size || slen > len - off) [[unlikely]] {
            c.add(counter::err_set_length);
            w.complete = false;
            break;
        }
        const uint8_t* body = s + set_header_size;
        const uint32_t blen = slen - set_header_size;
        off += slen;
        if (id == template_set_id || id == options_template_set_id) {
            parse_templates(body, blen, id == options_template_set_id, dom, *st, lim, now, c, w);
        } else if (id < min_data_set_id) [[unlikely]] {
            c.add(counter::dev_unknown_set_id);
        } else {
            template_domain* tdom = dom;  // the session whose template applies
            const tmpl::compiled_template* t = tmpl::data_template(id, tdom, *st, now, lim, c);
            if (t == nullptr) [[unlikely]] {
                w.complete = false;
                continue;
            }
            const tmpl::data_set_result r = tmpl::decode_data_set(*t, *tdom, body, blen, ctx, exporter, out);
            w.records += r.records;
            w.data_records += r.records;
            emitted += r.emitted;
        }
    }
    if (dom != nullptr) [[likely]] {
        // IPFIX numbers data records per domain. A set we could not decode
        // hides how many records this message held: re-synchronise on the
        // next message rather than report false loss.
        dom->seq.observe(ctx.sequence, w.data_records, c);
        if (!w.complete) dom->seq.valid = false;
    }

    number_records(out, first_record);
    return tmpl::message_status(c, at, emitted, w.records, created, *st, dom);
}

}  // namespace sluice::decode
