// SPDX-License-Identifier: Apache-2.0
// Template tables, template -> decode plan compilation, and the data-record
// loop shared by the NetFlow v9 and IPFIX decoders.
#include "template_store.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <new>

#include "../ipfix/ipfix_elements.hpp"
#include "../sflow/sampled_header.hpp"
#include "../time.hpp"
#include "../wire.hpp"

namespace sluice::decode {

void netflow_state_deleter::operator()(netflow_state* s) const noexcept { delete s; }

tmpl::template_domain* netflow_state::find(uint8_t version, uint16_t port, uint32_t id) noexcept {
    if (last && last->version == version && last->id == id && last->port == port) return last;
    for (auto& d : domains)
        if (d->version == version && d->id == id && d->port == port) return last = d.get();
    return nullptr;
}

tmpl::template_domain* netflow_state::predecessor(const tmpl::template_domain& d) noexcept {
    tmpl::template_domain* best = nullptr;
    for (auto& o : domains)
        if (o.get() != &d && o->version == d.version && o->id == d.id && o->own_templates &&
            (best == nullptr || o->last_seen_ns > best->last_seen_ns))
            best = o.get();
    return best;
}

netflow_state::~netflow_state() {
    if (acct != nullptr) {
        acct->bytes -= bytes;
        --acct->holders;
    }
}

void netflow_state::erase(const tmpl::template_domain* d) noexcept {
    if (last == d) last = nullptr;
    std::erase_if(domains, [&](const auto& p) {
        if (p.get() != d) return false;
        tmpl::account(*p, -static_cast<int64_t>(p->bytes));
        return true;
    });
}

void netflow_state::adopt(std::unique_ptr<tmpl::template_domain> d) {
    d->owner = this;
    const uint64_t b = d->bytes;
    d->bytes = 0;
    tmpl::account(*d, static_cast<int64_t>(b));
    domains.push_back(std::move(d));
}

uint32_t netflow_state::expire_idle(uint64_t now_ns, uint64_t idle_ns) noexcept {
    if (idle_ns == 0) return 0;
    const std::size_t before = domains.size();
    std::erase_if(domains, [&](const auto& p) {
        if (!(now_ns > p->last_seen_ns && now_ns - p->last_seen_ns > idle_ns)) return false;
        tmpl::account(*p, -static_cast<int64_t>(p->bytes));
        return true;
    });
    if (domains.size() != before) last = nullptr;
    return static_cast<uint32_t>(before - domains.size());
}

tmpl::template_domain* netflow_state::find_or_create(uint8_t version, uint16_t port, uint32_t id,
                                                     const decoder_limits& limits, uint64_t now_ns,
                                                     bool& created) noexcept {
    created = false;
    if (tmpl::template_domain* d = find(version, port, id)) {
        d->last_seen_ns = now_ns;
        return d;
    }
    if (domains.size() >= limits.max_domains_per_exporter) [[unlikely]] {
        // Make room only from sessions nobody uses: idle past the timeout,
        // or superseded (a newer session of the same domain on another port,
        // e.g. the exporter restarted). Never a live session.
        const uint64_t idle = limits.exporter_idle_timeout_ns;
        auto stale = [&](const tmpl::template_domain& d) {
            if (idle != 0 && now_ns > d.last_seen_ns && now_ns - d.last_seen_ns > idle) return true;
            for (const auto& o : domains)
                if (o.get() != &d && o->version == d.version && o->id == d.id && o->last_seen_ns > d.last_seen_ns &&
                    now_ns > d.last_seen_ns && now_ns - d.last_seen_ns > tmpl::superseded_after_ns)
                    return true;
            return false;
        };
        last = nullptr;
        std::erase_if(domains, [&](const auto& p) {
            if (!stale(*p)) return false;
            tmpl::account(*p, -static_cast<int64_t>(p->bytes));
            return true;
        });
        if (domains.size() >= limits.max_domains_per_exporter) return nullptr;
    }
    try {
        auto d = std::make_unique<tmpl::template_domain>();
        d->version = version;
        d->port = port;
        d->id = id;
        d->last_seen_ns = now_ns;
        d->owner = this;
        domains.push_back(std::move(d));
    } catch (...) {
        return nullptr;
    }
    created = true;
    return last = domains.back().get();
}

namespace tmpl {

namespace {

using ipfix_ie::sem;

// Reduced-size unsigned read (RFC 7011 6.2), for the width-generic ops only:
// the common widths have exact-width ops of their own.
inline uint64_t read_uint(const uint8_t* p, uint32_t len) noexcept {
    switch (len) {
        case 1: return p[0];
        case 2: return wire::be16(p);
        case 4: return wire::be32(p);
        case 8: return wire::be64(p);
        default: return wire::be_uint(p, len);
    }
}

template <typename T>
inline void store(uint8_t* d, T v) noexcept {
    std::memcpy(d, &v, sizeof v);
}

// Destination offsets. Scratch destinations carry scratch_bit until
// map_field() splits them into step::dst / step::dst_off.
constexpr uint16_t scratch_bit = 0x8000;
static_assert(sizeof(flow_record) < scratch_bit && sizeof(data_scratch) < scratch_bit &&
              sizeof(options_work) < scratch_bit, "dst_off must fit below scratch_bit");
constexpr uint16_t rec_at(std::size_t member) { return static_cast<uint16_t>(member); }
constexpr uint16_t scr_at(std::size_t member) { return static_cast<uint16_t>(member | scratch_bit); }
constexpr uint16_t opt_at(std::size_t member) { return static_cast<uint16_t>(member); }

// Per-set inputs some ops need.
struct apply_ctx {
    uint64_t export_ns = 0;
    uint32_t sys_uptime_ms = 0;  // v9 header
};

// The one place a field's bytes turn into record values: one switch per
// field. `rec` is the output slot (or options_work), `scr` the scratch.
// `len` is the field's length in this record: the declared one, except for
// the only variable-length fields that are mapped (the frame and IP header
// sections, which take any length); every other mapped field has a fixed
// declared length.
// Always inlined: an out-of-line call per field costs more than the switch.
[[gnu::always_inline]] inline void apply(const step& s, const uint8_t* p, uint32_t len, uint8_t* rec, uint8_t* scr,
                                         const apply_ctx& x) noexcept {
    uint8_t* d = (s.dst == area::record ? rec : scr) + s.dst_off;
    switch (s.code) {
        case op::skip: break;
        // exact widths
        case op::u8_from_1: *d = p[0]; break;
        case op::u8_from_2: *d = p[1]; break;  // low byte, as a truncating u16 read
        case op::u16_from_2: store(d, wire::be16(p)); break;
        case op::u32_from_2: store(d, uint32_t{wire::be16(p)}); break;
        case op::u32_from_4: store(d, wire::be32(p)); break;
        case op::u64_from_4: store(d, uint64_t{wire::be32(p)}); break;
        case op::u64_from_8: store(d, wire::be64(p)); break;
        case op::time_s_from_4: store(d, uint64_t{wire::be32(p)} * ns_per_s); break;
        case op::time_ms_from_8: store(d, wire::be64(p) * ns_per_ms); break;
        case op::uptime_hdr_from_4: store(d, uptime_to_unix_ns(x.export_ns, x.sys_uptime_ms, wire::be32(p))); break;
        case op::etype_from_ipver_1:
            if (p[0] == 4) store(d, uint16_t{0x0800});
            if (p[0] == 6) store(d, uint16_t{0x86dd});
            break;
        // any width
        case op::u8: *d = static_cast<uint8_t>(read_uint(p, len)); break;
        case op::u8_nz:
            if (const uint64_t v = read_uint(p, len)) *d = static_cast<uint8_t>(v);
            break;
        case op::u16: store(d, static_cast<uint16_t>(read_uint(p, len))); break;
        case op::u32: store(d, static_cast<uint32_t>(read_uint(p, len))); break;
        case op::u64: store(d, read_uint(p, len)); break;
        case op::addr4: set_ipv4(d, p); break;
        case op::addr4_nz:
            if (wire::be32(p) != 0) set_ipv4(d, p);
            break;
        case op::addr6: std::memcpy(d, p, 16); break;
        case op::addr6_nz:
            if (!is_zero_address(p)) std::memcpy(d, p, 16);
            break;
        case op::icmp_tc:
            if (const uint16_t v = wire::be16(p)) {
                d[0] = static_cast<uint8_t>(v >> 8);
                d[1] = static_cast<uint8_t>(v);
            }
            break;
        case op::mpls: store(d, uint32_t(p[0]) << 12 | uint32_t(p[1]) << 4 | uint32_t(p[2]) >> 4); break;
        case op::direction: {
            const uint64_t v = read_uint(p, len);
            *d = static_cast<uint8_t>(v == 0   ? flow_direction::ingress
                                      : v == 1 ? flow_direction::egress
                                               : flow_direction::unknown);
            break;
        }
        case op::time_s: store(d, read_uint(p, len) * ns_per_s); break;
        case op::time_ms: store(d, read_uint(p, len) * ns_per_ms); break;
        case op::time_ntp: store(d, ntp_to_ns(wire::be64(p))); break;
        case op::time_timeval_us: store(d, wire::be64(p) * ns_per_s + wire::be64(p + 8) * 1000ull); break;
        case op::time_timeval_ns: store(d, wire::be64(p) * ns_per_s + wire::be64(p + 8)); break;
        case op::time_delta_us: store(d, x.export_ns - read_uint(p, len) * ns_per_us); break;
        case op::uptime_hdr:
            store(d, uptime_to_unix_ns(x.export_ns, x.sys_uptime_ms, static_cast<uint32_t>(read_uint(p, len))));
            break;
        case op::etype_from_ipver: {
            const auto v = static_cast<uint8_t>(read_uint(p, len));  // truncated, as a u8 field
            if (v == 4) store(d, uint16_t{0x0800});
            if (v == 6) store(d, uint16_t{0x86dd});
            break;
        }
        // The two-destination ops only ever run in flow-record plans; the
        // second store is at a fixed record offset (options plans write into
        // an options_area, as large as a record, so no plan can leave it).
        case op::mac: std::memcpy(d, p, 6); break;
        case op::vlan_and_vlan_id: {
            const auto v = static_cast<uint16_t>(read_uint(p, len));  // reduced-size allowed, as op::u16
            store(d, v);
            store(rec + offsetof(flow_record, vlan_id), v);
            break;
        }
        case op::addr4_and_next_hop_nz:
            if (wire::be32(p) == 0) break;
            [[fallthrough]];
        case op::addr4_and_next_hop:
            set_ipv4(d, p);
            set_ipv4(rec + offsetof(flow_record, next_hop), p);
            break;
        case op::addr6_and_next_hop_nz:
            if (is_zero_address(p)) break;
            [[fallthrough]];
        case op::addr6_and_next_hop:
            std::memcpy(d, p, 16);
            std::memcpy(rec + offsetof(flow_record, next_hop), p, 16);
            break;
        case op::frame_section:
        case op::ip_section: {
            const section_ref ref{p, len, static_cast<uint16_t>(s.code == op::frame_section ? 315 : 313)};
            std::memcpy(d, &ref, sizeof ref);
            break;
        }
    }
}

// Can semantic op `code` read a field of `len` bytes?
bool length_ok(op code, uint32_t len) noexcept {
    if (code == op::frame_section || code == op::ip_section) return true;  // any length, variable included
    if (len == varlen) return false;  // no other variable-length field is mapped
    switch (code) {
        case op::skip: return true;
        case op::addr4:
        case op::addr4_nz: return len == 4;
        case op::addr6:
        case op::addr6_nz:
        case op::addr6_and_next_hop:
        case op::addr6_and_next_hop_nz: return len == 16;
        case op::addr4_and_next_hop:
        case op::addr4_and_next_hop_nz: return len == 4;
        case op::mac: return len == 6;
        case op::icmp_tc: return len == 2;
        case op::mpls: return len >= 3;
        case op::time_ntp: return len == 8;
        case op::time_timeval_us:
        case op::time_timeval_ns: return len == 16;
        default: return len >= 1 && len <= 8;  // integers, reduced-size encoding allowed
    }
}

// The exact-width variant of a semantic op for this field's length, when
// there is one (run once per template, after mapping).
op specialise(op code, uint32_t len) noexcept {
    switch (code) {
        case op::u8: return len == 1 ? op::u8_from_1 : len == 2 ? op::u8_from_2 : code;
        case op::u16: return len == 2 ? op::u16_from_2 : code;
        case op::u32: return len == 4 ? op::u32_from_4 : len == 2 ? op::u32_from_2 : code;
        case op::u64: return len == 8 ? op::u64_from_8 : len == 4 ? op::u64_from_4 : code;
        case op::time_s: return len == 4 ? op::time_s_from_4 : code;
        case op::time_ms: return len == 8 ? op::time_ms_from_8 : code;
        case op::uptime_hdr: return len == 4 ? op::uptime_hdr_from_4 : code;
        case op::etype_from_ipver: return len == 1 ? op::etype_from_ipver_1 : code;
        default: return code;
    }
}

// Builds a template's decode plan from its declared fields, once.
class compiler {
public:
    compiler(compiled_template& t, bool ipfix) : _t(t), _ipfix(ipfix) {}

    // Time fields in pmacct's 16-byte struct timeval form (valid after run()).
    uint32_t timeval_fields() const { return _timeval; }

    // Returns the number of enterprise fields skipped and of known fields
    // ignored for their length (the caller counts them once per learn).
    void run(uint32_t& enterprise_skipped, uint32_t& unsupported) {
        _idx.fill(-1);
        _rev.fill(-1);
        _steps.assign(_t.fields.size(), step{});
        uint32_t off = 0;
        bool variable = false;
        uint32_t min = 0;
        for (std::size_t i = 0; i < _t.fields.size(); ++i) {
            const field_spec& f = _t.fields[i];
            _steps[i].length = f.length;
            _steps[i].src_off = static_cast<uint16_t>(variable ? 0 : off);
            if (f.length == varlen) {
                variable = true;
                min += 1;
            } else {
                off += f.length;
                min += f.length;
            }
            if (f.length == 0) continue;  // zero-length (Juniper's scope System): nothing to read
            const sem m = ipfix_ie::lookup(f.id);
            if (f.enterprise == 0 || !_ipfix) {
                if (m != sem::none && _idx[idx(m)] < 0) _idx[idx(m)] = static_cast<int>(i);
            } else if (f.enterprise == pen_reverse && reversible(m)) {
                if (_rev[idx(m)] < 0) _rev[idx(m)] = static_cast<int>(i);
            } else {
                ++enterprise_skipped;
            }
        }
        _t.record_length = variable ? 0 : off;
        _t.min_length = min;
        if (_t.options)
            map_options();
        else
            map_data();
        unsupported = _unsupported;
        _t.plan.clear();
        for (step s : _steps) {
            s.code = specialise(s.code, s.length);
            if (variable || s.code != op::skip) _t.plan.push_back(s);
        }
    }

private:
    static std::size_t idx(sem m) { return static_cast<std::size_t>(m); }

    static bool reversible(sem m) {
        switch (m) {
            case sem::octets_delta: case sem::packets_delta: case sem::octets_total: case sem::packets_total:
            case sem::tcp_flags: case sem::tos: case sem::start_s: case sem::end_s: case sem::start_ms: case sem::end_ms:
            case sem::start_us: case sem::end_us: case sem::start_ns: case sem::end_ns:
            case sem::start_delta_us: case sem::end_delta_us: case sem::start_uptime: case sem::end_uptime:
                return true;
            default: return false;
        }
    }

    int present(sem m) const { return _idx[idx(m)]; }

    bool map_field(int i, op code, uint16_t dst) {
        if (i < 0) return false;
        if (!length_ok(code, _t.fields[i].length)) {
            ++_unsupported;
            return false;
        }
        _steps[i].code = code;
        _steps[i].dst = (dst & scratch_bit) ? area::scratch : area::record;
        _steps[i].dst_off = static_cast<uint16_t>(dst & ~scratch_bit);
        return true;
    }

    // The first element of `prio` that is present with a usable length.
    bool map_first(const std::array<int, ipfix_ie::sem_count>& from, std::initializer_list<sem> prio, op code,
                   uint16_t dst) {
        for (sem m : prio)
            if (map_field(from[idx(m)], code, dst)) return true;
        return false;
    }
    bool map_first(std::initializer_list<sem> prio, op code, uint16_t dst) { return map_first(_idx, prio, code, dst); }

    // A slot fed by an IPv4 and an IPv6 element (dual-stack templates): each
    // writes only when non-zero, so whichever the record filled wins.
    void map_pair(sem v4, sem v6, op plain4, op nz4, op plain6, op nz6, uint16_t dst) {
        const bool both = present(v4) >= 0 && present(v6) >= 0;
        map_field(present(v4), both ? nz4 : plain4, dst);
        map_field(present(v6), both ? nz6 : plain6, dst);
    }

    // `header_uptime`: sysUptime-relative times are converted against the
    // v9 header by the plan itself (op::uptime_hdr), so they count as direct.
    time_mode map_time(const std::array<int, ipfix_ie::sem_count>& from, bool start, uint16_t dst_ns,
                       uint16_t dst_up, bool header_uptime = false) {
        // Finest absolute encoding first, then export-relative, then uptime.
        const sem ns = start ? sem::start_ns : sem::end_ns, us = start ? sem::start_us : sem::end_us,
                  ms = start ? sem::start_ms : sem::end_ms, s = start ? sem::start_s : sem::end_s,
                  delta = start ? sem::start_delta_us : sem::end_delta_us,
                  up = start ? sem::start_uptime : sem::end_uptime;
        // Micro/nanoseconds are NTP format (8 bytes) per RFC 7011; 16 bytes is
        // pmacct's struct timeval encoding, accepted and counted.
        auto fine = [&](sem m, op timeval) {
            const int i = from[idx(m)];
            if (i < 0) return false;
            if (_t.fields[i].length == 16) {
                ++_timeval;
                return map_field(i, timeval, dst_ns);
            }
            return map_field(i, op::time_ntp, dst_ns);
        };
        if (fine(ns, op::time_timeval_ns) || fine(us, op::time_timeval_us) || map_first(from, {ms}, op::time_ms, dst_ns) ||
            map_first(from, {s}, op::time_s, dst_ns) || map_first(from, {delta}, op::time_delta_us, dst_ns))
            return time_mode::direct;
        if (header_uptime) return map_first(from, {up}, op::uptime_hdr, dst_ns) ? time_mode::direct : time_mode::none;
        if (map_first(from, {up}, op::u32, dst_up)) return time_mode::uptime;
        return time_mode::none;
    }

    void map_data() {
        // dataLinkFrameSize (312) last: a sampled packet's frame length, for
        // PSAMP-style templates that carry no octet count.
        map_first({sem::octets_delta, sem::octets_total, sem::octets_post, sem::frame_size}, op::u64,
                  rec_at(offsetof(flow_record, bytes)));
        map_first({sem::packets_delta, sem::packets_total, sem::packets_post}, op::u64,
                  rec_at(offsetof(flow_record, packets)));
        map_first({sem::protocol}, op::u8, rec_at(offsetof(flow_record, proto)));
        map_first({sem::tos}, op::u8, rec_at(offsetof(flow_record, ip_tos)));
        map_first({sem::tcp_flags}, op::u8, rec_at(offsetof(flow_record, tcp_flags)));
        map_first({sem::src_port}, op::u16, rec_at(offsetof(flow_record, src_port)));
        map_first({sem::dst_port}, op::u16, rec_at(offsetof(flow_record, dst_port)));
        map_pair(sem::src_v4, sem::src_v6, op::addr4, op::addr4_nz, op::addr6, op::addr6_nz,
                 rec_at(offsetof(flow_record, src_addr)));
        map_pair(sem::dst_v4, sem::dst_v6, op::addr4, op::addr4_nz, op::addr6, op::addr6_nz,
                 rec_at(offsetof(flow_record, dst_addr)));
        map_pair(sem::src_mask_v4, sem::src_mask_v6, op::u8, op::u8_nz, op::u8, op::u8_nz,
                 rec_at(offsetof(flow_record, src_net)));
        map_pair(sem::dst_mask_v4, sem::dst_mask_v6, op::u8, op::u8_nz, op::u8, op::u8_nz,
                 rec_at(offsetof(flow_record, dst_net)));
        map_first({sem::in_if}, op::u32, rec_at(offsetof(flow_record, in_if)));
        map_first({sem::out_if}, op::u32, rec_at(offsetof(flow_record, out_if)));
        map_first({sem::src_as}, op::u32, rec_at(offsetof(flow_record, src_as)));
        map_first({sem::dst_as}, op::u32, rec_at(offsetof(flow_record, dst_as)));
        {
            // next_hop: the IP next hop, or per family the BGP next hop when
            // the template has no IP next hop of that family (docs/record.md);
            // bgp_next_hop: the BGP next hop only.
            const bool ip4 = present(sem::next_hop_v4) >= 0, ip6 = present(sem::next_hop_v6) >= 0;
            const bool bgp4 = present(sem::bgp_next_hop_v4) >= 0, bgp6 = present(sem::bgp_next_hop_v6) >= 0;
            const bool both = (ip4 || bgp4) && (ip6 || bgp6);
            const uint16_t nh = rec_at(offsetof(flow_record, next_hop));
            const uint16_t bgp = rec_at(offsetof(flow_record, bgp_next_hop));
            map_first({sem::next_hop_v4}, both ? op::addr4_nz : op::addr4, nh);
            map_first({sem::next_hop_v6}, both ? op::addr6_nz : op::addr6, nh);
            map_first({sem::bgp_next_hop_v4},
                      ip4 ? (both ? op::addr4_nz : op::addr4) : (both ? op::addr4_and_next_hop_nz : op::addr4_and_next_hop),
                      bgp);
            map_first({sem::bgp_next_hop_v6},
                      ip6 ? (both ? op::addr6_nz : op::addr6) : (both ? op::addr6_and_next_hop_nz : op::addr6_and_next_hop),
                      bgp);
        }
        {
            const uint16_t type = rec_at(offsetof(flow_record, icmp_type)), code = rec_at(offsetof(flow_record, icmp_code));
            static_assert(offsetof(flow_record, icmp_code) == offsetof(flow_record, icmp_type) + 1);
            const bool tc4 = map_field(present(sem::icmp_tc_v4), op::icmp_tc, type);
            const bool tc6 = map_field(present(sem::icmp_tc_v6), op::icmp_tc, type);
            if (!tc4 && !tc6) {
                map_pair(sem::icmp_type_v4, sem::icmp_type_v6, op::u8, op::u8_nz, op::u8, op::u8_nz, type);
                map_pair(sem::icmp_code_v4, sem::icmp_code_v6, op::u8, op::u8_nz, op::u8, op::u8_nz, code);
            }
        }
        // VLANs (docs/record.md): vlan_id is the frame's (outer) 802.1Q tag,
        // dot1qVlanId (243), else vlanId (58); inner_vlan_id the QinQ
        // customer tag (245); src_vlan / dst_vlan the ingress / egress VLANs
        // (58 / 59).
        if (present(sem::dot1q_vlan) >= 0) {
            map_first({sem::dot1q_vlan}, op::u16, rec_at(offsetof(flow_record, vlan_id)));
            map_first({sem::vlan}, op::u16, rec_at(offsetof(flow_record, src_vlan)));
        } else {
            map_first({sem::vlan}, op::vlan_and_vlan_id, rec_at(offsetof(flow_record, src_vlan)));
        }
        map_first({sem::post_vlan}, op::u16, rec_at(offsetof(flow_record, dst_vlan)));
        map_first({sem::dot1q_customer_vlan}, op::u16, rec_at(offsetof(flow_record, inner_vlan_id)));
        map_first({sem::src_mac, sem::post_src_mac}, op::mac, rec_at(offsetof(flow_record, src_mac)));
        map_first({sem::dst_mac, sem::post_dst_mac}, op::mac, rec_at(offsetof(flow_record, dst_mac)));
        map_first({sem::ip_ttl, sem::min_ttl, sem::max_ttl}, op::u8, rec_at(offsetof(flow_record, ip_ttl)));
        map_first({sem::forwarding_status}, op::u8, rec_at(offsetof(flow_record, forwarding_status)));
        map_first({sem::flow_end_reason}, op::u8, rec_at(offsetof(flow_record, flow_end_reason)));
        map_first({sem::flow_label_v6}, op::u32, rec_at(offsetof(flow_record, ipv6_flow_label)));
        map_first({sem::next_hop_as}, op::u32, rec_at(offsetof(flow_record, next_hop_as)));
        map_pair(sem::post_nat_src_v4, sem::post_nat_src_v6, op::addr4, op::addr4_nz, op::addr6, op::addr6_nz,
                 rec_at(offsetof(flow_record, post_nat_src_addr)));
        map_pair(sem::post_nat_dst_v4, sem::post_nat_dst_v6, op::addr4, op::addr4_nz, op::addr6, op::addr6_nz,
                 rec_at(offsetof(flow_record, post_nat_dst_addr)));
        map_first({sem::post_napt_src_port}, op::u16, rec_at(offsetof(flow_record, post_nat_src_port)));
        map_first({sem::post_napt_dst_port}, op::u16, rec_at(offsetof(flow_record, post_nat_dst_port)));
        map_first({sem::direction}, op::direction, rec_at(offsetof(flow_record, direction)));
        map_first({sem::mpls_top}, op::mpls, rec_at(offsetof(flow_record, mpls_label)));
        // systemInitTimeMilliseconds first: it decides where uptime times go.
        if (map_first({sem::sys_init_ms}, op::u64, scr_at(offsetof(data_scratch, sys_init_ms))))
            _t.flags |= tflag::has_sys_init;
        // v9 without 160: uptimes are relative to the header's sysUptime,
        // known per datagram, so the plan converts them in place (the same
        // uptime_base::header rule decode_data_set applies otherwise).
        const bool header_uptime = !_ipfix && !(_t.flags & tflag::has_sys_init);
        _t.start = map_time(_idx, true, rec_at(offsetof(flow_record, time_flow_start_ns)),
                            scr_at(offsetof(data_scratch, start_up)), header_uptime);
        _t.end = map_time(_idx, false, rec_at(offsetof(flow_record, time_flow_end_ns)),
                          scr_at(offsetof(data_scratch, end_up)), header_uptime);
        if (map_first({sem::sampler_id, sem::selector_id}, op::u64, scr_at(offsetof(data_scratch, sampler_id))))
            _t.flags |= tflag::has_sampler_id;
        if (map_first({sem::sampler_random_interval, sem::sampling_interval}, op::u32,
                      scr_at(offsetof(data_scratch, rate))))
            _t.flags |= tflag::has_rate;

        // RFC 5103 reverse direction.
        map_first(_rev, {sem::octets_delta, sem::octets_total}, op::u64, scr_at(offsetof(data_scratch, rev_bytes)));
        if (map_first(_rev, {sem::packets_delta, sem::packets_total}, op::u64,
                      scr_at(offsetof(data_scratch, rev_packets))))
            _t.flags |= tflag::biflow;
        if (map_first(_rev, {sem::tcp_flags}, op::u8, scr_at(offsetof(data_scratch, rev_tcp_flags))))
            _t.flags |= tflag::rev_tcp_flags;
        if (map_first(_rev, {sem::tos}, op::u8, scr_at(offsetof(data_scratch, rev_tos))))
            _t.flags |= tflag::rev_tos;
        _t.rev_start = map_time(_rev, true, scr_at(offsetof(data_scratch, rev_start_ns)),
                                scr_at(offsetof(data_scratch, rev_start_up)));
        _t.rev_end = map_time(_rev, false, scr_at(offsetof(data_scratch, rev_end_ns)),
                              scr_at(offsetof(data_scratch, rev_end_up)));

        // Address family: fixed per template unless it carries both.
        const bool v4 = _steps_maps(sem::src_v4) || _steps_maps(sem::dst_v4);
        const bool v6 = _steps_maps(sem::src_v6) || _steps_maps(sem::dst_v6);
        _t.etypes = v4 && v6 ? etype_mode::by_address : etype_mode::fixed;
        _t.etype = v4 && !v6 ? 0x0800 : v6 && !v4 ? 0x86dd : 0;

        // ipVersion overrides the etype. With a fixed etype nothing else
        // touches it per record, so the plan writes it directly; the
        // by-address guess runs after the plan, so then it goes via scratch.
        if (_t.etypes == etype_mode::fixed) {
            map_first({sem::ip_version}, op::etype_from_ipver, rec_at(offsetof(flow_record, etype)));
        } else if (map_first({sem::ip_version}, op::u8, scr_at(offsetof(data_scratch, ip_version)))) {
            _t.flags |= tflag::has_ip_version;
        }

        // A sampled frame (315, preferred) or IP header (313) fills what the
        // template does not carry itself.
        const uint16_t section = scr_at(offsetof(data_scratch, section));
        if (map_field(present(sem::frame_section), op::frame_section, section) ||
            map_field(present(sem::ip_header_section), op::ip_section, section)) {
            _t.flags |= tflag::frame_section;
            auto none = [&](std::initializer_list<sem> ms) {
                for (sem m : ms)
                    if (_steps_maps(m)) return false;
                return true;
            };
            uint16_t fill = 0;
            if (none({sem::src_v4, sem::src_v6, sem::dst_v4, sem::dst_v6})) fill |= frame_fill::addresses;
            if (none({sem::src_port, sem::dst_port})) fill |= frame_fill::ports;
            if (none({sem::protocol})) fill |= frame_fill::proto;
            if (none({sem::tos})) fill |= frame_fill::tos;
            if (none({sem::tcp_flags})) fill |= frame_fill::tcp_flags;
            if (none({sem::icmp_tc_v4, sem::icmp_tc_v6, sem::icmp_type_v4, sem::icmp_code_v4, sem::icmp_type_v6,
                      sem::icmp_code_v6}))
                fill |= frame_fill::icmp;
            if (none({sem::vlan, sem::dot1q_vlan, sem::dot1q_customer_vlan})) fill |= frame_fill::vlans;
            if (none({sem::src_mac, sem::dst_mac, sem::post_src_mac, sem::post_dst_mac})) fill |= frame_fill::macs;
            if (none({sem::ip_ttl, sem::min_ttl, sem::max_ttl})) fill |= frame_fill::ttl;
            if (none({sem::flow_label_v6})) fill |= frame_fill::flow_label;
            if (none({sem::mpls_top})) fill |= frame_fill::mpls;
            if (none({sem::packets_delta, sem::packets_total, sem::packets_post})) fill |= frame_fill::packets;
            _t.frame_fill = fill;
        }
    }

    bool _steps_maps(sem m) const { return present(m) >= 0 && _steps[present(m)].code != op::skip; }

    void map_options() {
        if (map_first({sem::sampler_id, sem::selector_id}, op::u64, opt_at(offsetof(options_work, sampler_id))))
            _t.flags |= tflag::opt_sampler_id;
        if (map_first({sem::sampling_interval}, op::u64, opt_at(offsetof(options_work, interval))))
            _t.flags |= tflag::opt_interval;
        if (map_first({sem::sampler_random_interval}, op::u64, opt_at(offsetof(options_work, random_interval))))
            _t.flags |= tflag::opt_random_interval;
        if (map_first({sem::packet_interval}, op::u64, opt_at(offsetof(options_work, packet_interval))) &&
            map_first({sem::packet_space}, op::u64, opt_at(offsetof(options_work, packet_space))))
            _t.flags |= tflag::opt_packet_interval_space;
        if (map_first({sem::sampling_size}, op::u64, opt_at(offsetof(options_work, sampling_size))) &&
            map_first({sem::sampling_population}, op::u64, opt_at(offsetof(options_work, sampling_population))))
            _t.flags |= tflag::opt_size_population;
        if (map_first({sem::sys_init_ms}, op::u64, opt_at(offsetof(options_work, sys_init_ms))))
            _t.flags |= tflag::opt_sys_init;
    }

    compiled_template& _t;
    bool _ipfix;
    std::array<int, ipfix_ie::sem_count> _idx{};
    std::array<int, ipfix_ie::sem_count> _rev{};
    std::vector<step> _steps;
    uint32_t _unsupported = 0;
    uint32_t _timeval = 0;
};

// Where one record's plan writes: the record (output slot or options_work)
// and the scratch.
struct work_ptrs {
    uint8_t* rec;
    uint8_t* scr;
};

// Non-zero bytes after the last record (shorter than a record by
// construction) are counted.
void check_padding(const uint8_t* q, const uint8_t* end, counter_block& c) noexcept {
    for (; q < end; ++q)
        if (*q != 0) {
            c.add(counter::dev_set_padding_nonzero);
            return;
        }
}

// Walks the records of one set with template `t`: begin() returns where the
// record's plan writes, finish() runs after the plan, abort() when a
// variable-length record runs past the set (it is then not finished).
// Returns the records found; counts err_varlen_past_end and non-zero padding.
template <typename Begin, typename Finish, typename Abort>
inline uint32_t for_each_record(const compiled_template& t, const uint8_t* p, uint32_t len, const apply_ctx& x,
                                counter_block& c, Begin&& begin, Finish&& finish, Abort&& abort) noexcept {
    const step* plan = t.plan.data();
    const std::size_t steps = t.plan.size();
    uint32_t n = 0;
    const uint8_t* r = p;
    const uint8_t* const end = p + len;
    if (t.fixed()) {
        // Record length known, field offsets constant.
        const uint32_t rl = t.record_length;
        n = len / rl;
        for (uint32_t i = 0; i < n; ++i, r += rl) {
            const work_ptrs w = begin();
            for (std::size_t k = 0; k < steps; ++k) apply(plan[k], r + plan[k].src_off, plan[k].length, w.rec, w.scr, x);
            finish();
        }
    } else {
        while (static_cast<uint32_t>(end - r) >= t.min_length) {
            const work_ptrs w = begin();
            const uint8_t* q = r;
            for (std::size_t k = 0; k < steps; ++k) {
                uint32_t flen = plan[k].length;
                if (flen == varlen) {
                    // RFC 7011 7: 1-byte length, or 255 then a 2-byte length.
                    if (q >= end) [[unlikely]]
                        goto past_end;
                    flen = *q++;
                    if (flen == 255) {
                        if (end - q < 2) [[unlikely]]
                            goto past_end;
                        flen = wire::be16(q);
                        q += 2;
                    }
                }
                if (static_cast<uint32_t>(end - q) < flen) [[unlikely]]
                    goto past_end;
                if (plan[k].code != op::skip) apply(plan[k], q, flen, w.rec, w.scr, x);
                q += flen;
            }
            finish();
            ++n;
            r = q;
        }
    }
    check_padding(r, end, c);
    return n;
past_end:
    abort();
    c.add(counter::err_varlen_past_end);
    return n;
}

// The common case, kept free of per-record branches: a fixed-length
// template whose records need nothing after the plan (absolute or v9 header
// uptime times, fixed etype, no per-record sampling, no biflow, no override).
// Each record is built in place: the set prototype is copied into the output
// slot and the plan writes over it. Records that find no room are not
// decoded at all (nothing but the output depends on them) and count
// err_output_full, as the general path would.
struct fast_result {
    uint32_t records, emitted;
};
inline fast_result decode_fixed_simple(const compiled_template& t, const uint8_t* p, uint32_t len,
                                       const flow_record& proto, const apply_ctx& x, counter_block& c,
                                       record_buffer& out) noexcept {
    const step* const plan = t.plan.data();
    const std::size_t steps = t.plan.size();
    const uint32_t rl = t.record_length;
    const uint32_t n = len / rl;
    const uint32_t room = out.capacity - out.size;
    const uint32_t m = n < room ? n : room;
    // Steps into the scratch can exist here (e.g. a reverse octet count with
    // no reverse packet count): they land in this dummy, which nothing reads.
    data_scratch unused;
    auto* const scr = reinterpret_cast<uint8_t*>(&unused);
    const uint8_t* r = p;
    for (uint32_t i = 0; i < m; ++i, r += rl) {
        flow_record* f = out.next_uninitialized();  // cannot fail: i < room
        std::memcpy(f, &proto, sizeof proto);
        auto* const rec = reinterpret_cast<uint8_t*>(f);
        for (std::size_t k = 0; k < steps; ++k) apply(plan[k], r + plan[k].src_off, plan[k].length, rec, scr, x);
    }
    if (m != n) [[unlikely]]
        c.add(out.full_cause, n - m);
    check_padding(p + std::size_t(n) * rl, p + len, c);
    return {n, m};
}

// Parses a record's frame (315) or IP header (313) section with the sampled
// header parser sFlow uses, and copies into the record the groups the
// template does not carry (t.frame_fill). A section that does not parse to
// its end counts err_frame_section_parse; what parsed before is kept, as for
// sFlow raw headers.
void apply_section(const compiled_template& t, const section_ref& sec, flow_record& r, counter_block& c) noexcept {
    flow_record f{};
    uint32_t proto = sflow::header_ethernet;
    if (sec.ie == 313) {
        const uint8_t v = sec.length != 0 ? sec.data[0] >> 4 : 0;
        proto = v == 4 ? sflow::header_ipv4 : v == 6 ? sflow::header_ipv6 : 0;
    }
    const sflow::header_status st =
        proto == 0 ? sflow::header_status::malformed : sflow::parse_sampled_header(proto, {sec.data, sec.length}, f);
    if (st != sflow::header_status::ok) [[unlikely]]
        c.add(counter::err_frame_section_parse);
    const uint16_t fill = t.frame_fill;
    if (fill & frame_fill::addresses) {
        std::memcpy(r.src_addr, f.src_addr, 16);
        std::memcpy(r.dst_addr, f.dst_addr, 16);
    }
    if (r.etype == 0) r.etype = f.etype;
    if (fill & frame_fill::ports) {
        r.src_port = f.src_port;
        r.dst_port = f.dst_port;
    }
    if (fill & frame_fill::proto) r.proto = f.proto;
    if (fill & frame_fill::tos) r.ip_tos = f.ip_tos;
    if (fill & frame_fill::tcp_flags) r.tcp_flags = f.tcp_flags;
    if (fill & frame_fill::icmp) {
        r.icmp_type = f.icmp_type;
        r.icmp_code = f.icmp_code;
    }
    if (fill & frame_fill::vlans) {
        r.vlan_id = f.vlan_id;
        r.inner_vlan_id = f.inner_vlan_id;
    }
    if (fill & frame_fill::macs) {
        std::memcpy(r.src_mac, f.src_mac, 6);
        std::memcpy(r.dst_mac, f.dst_mac, 6);
    }
    if (fill & frame_fill::ttl) r.ip_ttl = f.ip_ttl;
    if (fill & frame_fill::flow_label) r.ipv6_flow_label = f.ipv6_flow_label;
    if (fill & frame_fill::mpls) r.mpls_label = f.mpls_label;
    if (fill & frame_fill::packets) r.packets = 1;
}

uint32_t clamp32(uint64_t v) noexcept { return v > 0xffffffffull ? 0xffffffffu : static_cast<uint32_t>(v); }

// Nearest integer of num/den for operands clamped to 32 bits (no overflow).
uint64_t ratio(uint64_t num, uint64_t den) noexcept { return (num + den / 2) / den; }

void learn_options(const compiled_template& t, template_domain& dom, const options_work& o, counter_block& c) noexcept {
    if ((t.flags & tflag::opt_sys_init) && o.sys_init_ms != 0) {
        dom.sys_init_ms = o.sys_init_ms;
        dom.sys_init_valid = true;
    }
    uint64_t rate = 0;
    if ((t.flags & tflag::opt_random_interval) && o.random_interval != 0)
        rate = o.random_interval;
    else if ((t.flags & tflag::opt_interval) && o.interval != 0)
        rate = o.interval;
    else if ((t.flags & tflag::opt_packet_interval_space) && o.packet_interval != 0)
        // Select `interval` packets, skip `space`: 1 in (interval+space)/interval.
        rate = ratio(uint64_t(clamp32(o.packet_interval)) + clamp32(o.packet_space), clamp32(o.packet_interval));
    else if ((t.flags & tflag::opt_size_population) && o.sampling_size != 0)
        rate = ratio(clamp32(o.sampling_population), clamp32(o.sampling_size));
    if (rate == 0) return;
    const uint32_t r = clamp32(rate);
    if (t.flags & tflag::opt_sampler_id) {
        for (auto& s : dom.samplers)
            if (s.id == o.sampler_id) {
                s.rate = r;
                c.add(counter::sampling_rates_learned);
                return;
            }
        if (dom.samplers.size() >= max_samplers_per_domain) [[unlikely]] {
            c.add(counter::err_template_limit);
            return;
        }
        try {
            dom.samplers.push_back({o.sampler_id, r});
        } catch (...) {
            c.add(counter::err_template_limit);
            return;
        }
    } else {
        dom.sampling_rate = r;
    }
    c.add(counter::sampling_rates_learned);
}

}  // namespace

compiled_template* template_domain::find(uint16_t tid) noexcept {
    auto it = std::lower_bound(templates.begin(), templates.end(), tid,
                               [](const compiled_template& t, uint16_t id) { return t.id < id; });
    return it != templates.end() && it->id == tid ? &*it : nullptr;
}

namespace {
bool too_old(const compiled_template& t, uint64_t now_ns, uint64_t timeout_ns) noexcept {
    return timeout_ns != 0 && now_ns > t.last_seen_ns && now_ns - t.last_seen_ns > timeout_ns;
}
}  // namespace

compiled_template* template_domain::find_live(uint16_t tid, uint64_t now_ns, uint64_t timeout_ns,
                                              counter_block& c) noexcept {
    compiled_template* t = find(tid);
    if (t != nullptr && too_old(*t, now_ns, timeout_ns)) [[unlikely]] {
        erase(tid);
        c.add(counter::templates_expired);
        return nullptr;
    }
    return t;
}

void template_domain::sweep(uint64_t now_ns, uint64_t timeout_ns, counter_block& c) noexcept {
    if (timeout_ns == 0 || (now_ns >= last_sweep_ns && now_ns - last_sweep_ns < sweep_interval_ns)) return;
    last_sweep_ns = now_ns;
    int64_t freed = 0;
    const std::size_t n = std::erase_if(templates, [&](const compiled_template& t) {
        if (!too_old(t, now_ns, timeout_ns)) return false;
        freed += static_cast<int64_t>(template_cost(t));
        return true;
    });
    if (freed != 0) account(*this, -freed);
    if (n != 0) c.add(counter::templates_expired, n);
}

bool template_domain::erase(uint16_t tid) noexcept {
    compiled_template* t = find(tid);
    if (t == nullptr) return false;
    account(*this, -static_cast<int64_t>(template_cost(*t)));
    templates.erase(templates.begin() + (t - templates.data()));
    return true;
}

uint32_t template_domain::erase_all(bool options) noexcept {
    int64_t freed = 0;
    const std::size_t n = std::erase_if(templates, [&](const compiled_template& t) {
        if (t.options != options) return false;
        freed += static_cast<int64_t>(template_cost(t));
        return true;
    });
    if (freed != 0) account(*this, -freed);
    return static_cast<uint32_t>(n);
}

uint32_t template_domain::rate_for(uint64_t sampler) const noexcept {
    for (const auto& s : samplers)
        if (s.id == sampler) return s.rate;
    return 0;
}

std::size_t template_cost(const compiled_template& t) noexcept {
    return sizeof(compiled_template) + t.fields.capacity() * sizeof(field_spec) + t.plan.capacity() * sizeof(step);
}

void account(template_domain& d, int64_t delta) noexcept {
    d.bytes += static_cast<uint64_t>(delta);
    if (d.owner != nullptr) {
        d.owner->bytes += static_cast<uint64_t>(delta);
        if (d.owner->acct != nullptr) d.owner->acct->bytes += static_cast<uint64_t>(delta);
    }
}

const decoder_limits& limits_of(const exporter_state& exporter) noexcept {
    static constexpr decoder_limits defaults{};
    return exporter.limits != nullptr ? *exporter.limits : defaults;
}

netflow_state* netflow_of(exporter_state& exporter) noexcept {
    if (!exporter.netflow) [[unlikely]] {
        try {
            std::unique_ptr<netflow_state, netflow_state_deleter> st(new netflow_state);
            // Parsers push at most max_fields_per_template fields: reserving
            // now means a template never allocates before it is validated.
            st->scratch_fields.reserve(limits_of(exporter).max_fields_per_template);
            st->acct = exporter.templates_acct;
            if (st->acct != nullptr) ++st->acct->holders;
            exporter.netflow = std::move(st);
        } catch (...) {
            return nullptr;
        }
    }
    return exporter.netflow.get();
}

bool refuse_template(template_domain& dom, uint16_t id, uint64_t now_ns, counter_block& c) noexcept {
    compiled_template* t = dom.find(id);
    if (t == nullptr || t->refused) return false;
    // Keep the slot as a tombstone: data for this id is dropped under its
    // own cause (err_data_template_refused) until a valid template arrives.
    // clear() keeps capacity, so this cannot allocate or throw.
    const std::size_t before = template_cost(*t);
    t->fields.clear();
    t->plan.clear();
    t->fields.shrink_to_fit();  // the tombstone keeps no memory (noexcept in practice: frees)
    t->plan.shrink_to_fit();
    account(dom, static_cast<int64_t>(template_cost(*t)) - static_cast<int64_t>(before));
    t->record_length = 0;
    t->min_length = 0;
    t->flags = 0;
    t->refused = true;
    t->last_seen_ns = now_ns;
    c.add(counter::templates_refused_withdrawn);
    return true;
}

namespace {

// Why a template declaration cannot be learned, or count_ when it can.
// `zero` and `v9_varlen` count the fields accepted as deviations.
counter validate(const template_decl& decl, bool ipfix, const decoder_limits& limits, uint32_t& zero,
                 uint32_t& v9_varlen) noexcept {
    if (decl.fields.empty()) return decl.options ? counter::err_options_scope : counter::err_template_no_fields;
    if (decl.fields.size() > limits.max_fields_per_template) return counter::err_template_too_many_fields;
    uint32_t total = 0;
    bool any_data = false;
    for (const field_spec& f : decl.fields) {
        if (f.length == 0) {
            ++zero;  // Juniper's options scope System: skipped, the template kept
            continue;
        }
        if (f.length == varlen) {
            if (!ipfix) ++v9_varlen;  // H3C's VRFname: IPFIX variable-length rules
            total += 1;
        } else if (f.length > max_record_length) {
            return counter::err_template_field_length;
        } else {
            total += f.length;
        }
        any_data = true;
    }
    // Records of length 0 could never be told apart (and never advance).
    if (!any_data || total > max_record_length) return counter::err_template_field_length;
    if (decl.options && (decl.scope_count == 0 || decl.scope_count > decl.fields.size()))
        return counter::err_options_scope;
    return counter::count_;
}

}  // namespace

namespace {

// May this session's exporter hold `more` bytes of templates?
bool within_budget(const template_domain& dom, uint64_t more, const decoder_limits& limits) noexcept {
    const netflow_state* st = dom.owner;
    const uint64_t mine = st != nullptr ? st->bytes : dom.bytes;
    if (mine + more > limits.template_bytes_per_exporter) return false;
    const template_accounting* a = st != nullptr ? st->acct : nullptr;
    if (a == nullptr || a->bytes + more <= limits.template_bytes_total) return true;
    // The worker's budget is spent: grow only within a fair share.
    const uint64_t share = limits.template_bytes_total / (a->holders != 0 ? a->holders : 1);
    return mine + more <= share;
}

}  // namespace

learn_result learn_template(template_domain& dom, const template_decl& decl, bool ipfix, const decoder_limits& limits,
                            uint64_t now_ns, counter_block& c) noexcept {
    if (decl.id < 256) {
        c.add(counter::err_template_id);
        return learn_result::rejected;
    }
    uint32_t zero = 0, v9_varlen = 0;
    if (const counter why = validate(decl, ipfix, limits, zero, v9_varlen); why != counter::count_) {
        c.add(why);
        refuse_template(dom, decl.id, now_ns, c);  // a refused redefinition withdraws the old layout
        return learn_result::rejected;
    }
    const counter learned = decl.options ? counter::options_templates_learned : counter::templates_learned;
    compiled_template* existing = dom.find(decl.id);
    if (existing != nullptr && !existing->refused && existing->options == decl.options &&
        existing->scope_count == decl.scope_count &&
        std::equal(existing->fields.begin(), existing->fields.end(), decl.fields.begin(), decl.fields.end())) {
        existing->last_seen_ns = now_ns;  // a re-send: refresh only
        dom.own_templates = true;
        c.add(learned);
        return learn_result::refreshed;
    }
    if (existing == nullptr && dom.templates.size() >= limits.max_templates_per_domain) {
        c.add(counter::err_template_limit);
        return learn_result::rejected;
    }
    try {
        compiled_template t;
        t.id = decl.id;
        t.options = decl.options;
        t.scope_count = decl.scope_count;
        t.fields.assign(decl.fields.begin(), decl.fields.end());
        t.last_seen_ns = now_ns;
        uint32_t skipped = 0, unsupported = 0;
        compiler comp(t, ipfix);
        comp.run(skipped, unsupported);
        t.fields.shrink_to_fit();
        t.plan.shrink_to_fit();
        const uint64_t cost = template_cost(t);
        const uint64_t old = existing != nullptr ? template_cost(*existing) : 0;
        if (cost > old && !within_budget(dom, cost - old, limits)) {
            c.add(counter::err_template_memory);
            refuse_template(dom, decl.id, now_ns, c);
            return learn_result::rejected;
        }
        account(dom, static_cast<int64_t>(cost) - static_cast<int64_t>(old));
        if (comp.timeval_fields() != 0) c.add(counter::dev_timeval_time_fields, comp.timeval_fields());
        if (skipped != 0) c.add(counter::dev_enterprise_fields_skipped, skipped);
        if (unsupported != 0) c.add(counter::dev_unsupported_field_length, unsupported);
        if (zero != 0) c.add(counter::dev_zero_length_fields, zero);
        if (v9_varlen != 0) c.add(counter::dev_v9_variable_length_fields, v9_varlen);
        c.add(learned);
        dom.own_templates = true;
        if (existing != nullptr) {
            const bool was_refused = existing->refused;
            *existing = std::move(t);
            if (was_refused) return learn_result::learned;  // the tombstone's id is usable again
            c.add(counter::templates_redefined);
            return learn_result::redefined;
        }
        auto it = std::lower_bound(dom.templates.begin(), dom.templates.end(), decl.id,
                                   [](const compiled_template& x, uint16_t id) { return x.id < id; });
        dom.templates.insert(it, std::move(t));
    } catch (...) {
        c.add(counter::err_template_limit);  // out of memory: the table cannot grow
        refuse_template(dom, decl.id, now_ns, c);
        return learn_result::rejected;
    }
    return learn_result::learned;
}

data_set_result decode_data_set(const compiled_template& t, template_domain& dom, const uint8_t* p, uint32_t len,
                                const datagram_ctx& ctx, exporter_state& exporter, record_buffer& out) noexcept {
    counter_block& c = exporter.counters;
    data_set_result res;
    if (len < (t.fixed() ? t.record_length : t.min_length) || len == 0) [[unlikely]] {
        c.add(counter::err_data_record_length);
        return res;
    }
    const apply_ctx x{ctx.export_ns, ctx.sys_uptime_ms};

    if (t.options) {
        // The work area is as large as a flow record: apply() is one switch
        // for both kinds of plan, and its fixed-offset record stores must stay
        // inside the object whatever plan runs.
        struct options_area {
            options_work o;
            uint8_t pad[sizeof(flow_record) - sizeof(options_work)];
        } area;
        options_work& o = area.o;
        auto* const base = reinterpret_cast<uint8_t*>(&area);
        res.records = for_each_record(
            t, p, len, x, c,
            [&] {
                o = options_work{};
                return work_ptrs{base, base};
            },
            [&] { learn_options(t, dom, o, c); }, [] {});
        c.add(counter::options_records, res.records);
        return res;
    }

    // Everything a record of this set shares, built once per set.
    flow_record proto{};
    std::memcpy(proto.sampler_address, ctx.meta->exporter_addr, 16);
    proto.time_received_ns = ctx.meta->time_received_ns;
    proto.sampling_rate = dom.sampling_rate;
    proto.sequence_num = ctx.sequence;
    proto.observation_domain_id = dom.id;
    proto.etype = t.etype;
    proto.direction = flow_direction::unknown;
    proto.type = ctx.version == 9 ? flow_type::netflow_v9 : flow_type::ipfix;
    proto.kind = record_kind::flow;
    proto.export_version = ctx.version;

    // Per-set decision: does a record need anything once its plan has run?
    // Most templates do not, and take the branch-free loop.
    const bool start_direct = t.start == time_mode::direct, end_direct = t.end == time_mode::direct;
    constexpr uint16_t per_record_flags =
        tflag::has_ip_version | tflag::has_rate | tflag::has_sampler_id | tflag::biflow | tflag::frame_section;
    const bool simple = start_direct && end_direct && t.etypes == etype_mode::fixed &&
                        (t.flags & per_record_flags) == 0 && exporter.sampling_override == 0;
    if (simple && t.fixed()) [[likely]] {
        const fast_result r = decode_fixed_simple(t, p, len, proto, x, c, out);
        res.records = r.records;
        res.emitted = r.emitted;
        c.add(counter::flow_records, r.emitted);
        return res;
    }

    // sysUptime-relative times: the record's systemInitTimeMilliseconds,
    // else (v9) the header's sysUptime, else (IPFIX) one learned from
    // options data; otherwise they cannot be placed and count as absent.
    // (v9 templates without 160 convert in the plan: op::uptime_hdr.)
    enum class uptime_base : uint8_t { record, header, domain, none };
    const uptime_base ub = (t.flags & tflag::has_sys_init) ? uptime_base::record
                           : ctx.version == 9              ? uptime_base::header
                           : dom.sys_init_valid            ? uptime_base::domain
                                                           : uptime_base::none;
    const uint64_t export_ns = ctx.export_ns;
    auto up = [&](const data_scratch& s, uint32_t t_ms, uint64_t& ns) noexcept {
        switch (ub) {
            case uptime_base::record: ns = (s.sys_init_ms + t_ms) * ns_per_ms; return true;
            case uptime_base::header: ns = uptime_to_unix_ns(export_ns, ctx.sys_uptime_ms, t_ms); return true;
            case uptime_base::domain: ns = (dom.sys_init_ms + t_ms) * ns_per_ms; return true;
            case uptime_base::none: return false;
        }
        return false;
    };

    // Records are built in place in the output slot. One that finds no room
    // is still decoded, into `spill`, because a biflow's reverse half (also
    // counted err_output_full) depends on its values.
    flow_record spill;
    flow_record* f = nullptr;
    bool spilled = false;
    data_scratch s;
    uint32_t emitted = 0, full = 0;
    auto begin = [&] {
        f = out.next_uninitialized();
        spilled = f == nullptr;
        if (spilled) [[unlikely]]
            f = &spill;
        std::memcpy(f, &proto, sizeof proto);
        s = data_scratch{};
        return work_ptrs{reinterpret_cast<uint8_t*>(f), reinterpret_cast<uint8_t*>(&s)};
    };
    auto abort = [&] {
        // A truncated variable-length record: give its slot back (it was the
        // last one taken, nothing else was appended since).
        if (!spilled) --out.size;
    };
    auto finish = [&] {
        flow_record& r = *f;
        if (!simple) {
            bool has_start = start_direct, has_end = end_direct;
            if (t.start == time_mode::uptime) has_start = up(s, s.start_up, r.time_flow_start_ns);
            if (t.end == time_mode::uptime) has_end = up(s, s.end_up, r.time_flow_end_ns);
            if (!has_start && !has_end) [[unlikely]] {
                r.time_flow_start_ns = r.time_flow_end_ns = export_ns;
                r.flags |= record_flags::times_from_export;
            } else if (!has_start) [[unlikely]] {
                r.time_flow_start_ns = r.time_flow_end_ns;
            } else if (!has_end) [[unlikely]] {
                r.time_flow_end_ns = r.time_flow_start_ns;
            }
            if ((t.flags & tflag::frame_section) && s.section.ie != 0) {
                apply_section(t, s.section, r, c);
                // dataLinkFrameSection is a sampled frame like sFlow's raw header (313 starts at IP: not offered).
                if (out.headers != nullptr && !spilled && s.section.ie == 315) [[unlikely]]
                    out.headers[f - out.data] = {s.section.data, s.section.length};
            }
            if (t.etypes == etype_mode::by_address) [[unlikely]] {
                const uint8_t* a = is_zero_address(r.src_addr) ? r.dst_addr : r.src_addr;
                r.etype = is_zero_address(a) ? 0 : is_ipv4_mapped(a) ? 0x0800 : 0x86dd;
            }
            if (t.flags & (tflag::has_ip_version | tflag::has_rate | tflag::has_sampler_id)) [[unlikely]] {
                if (s.ip_version == 4) r.etype = 0x0800;
                if (s.ip_version == 6) r.etype = 0x86dd;
                if ((t.flags & tflag::has_rate) && s.rate != 0) {
                    r.sampling_rate = s.rate;
                } else if (t.flags & tflag::has_sampler_id) {
                    if (const uint32_t sr = dom.rate_for(s.sampler_id)) r.sampling_rate = sr;
                }
            }
            exporter.apply_sampling(r);
        }
        if (spilled) [[unlikely]]
            ++full;
        else
            ++emitted;
        if ((t.flags & tflag::biflow) && s.rev_packets != 0) {
            // RFC 5103: the reverse direction as its own record.
            flow_record* rv = out.next_uninitialized();
            if (rv == nullptr) [[unlikely]] {
                ++full;
                return;
            }
            *rv = r;
            std::memcpy(rv->src_addr, r.dst_addr, 16);
            std::memcpy(rv->dst_addr, r.src_addr, 16);
            rv->src_port = r.dst_port;
            rv->dst_port = r.src_port;
            rv->src_net = r.dst_net;
            rv->dst_net = r.src_net;
            rv->src_as = r.dst_as;
            rv->dst_as = r.src_as;
            std::memcpy(rv->src_mac, r.dst_mac, 6);
            std::memcpy(rv->dst_mac, r.src_mac, 6);
            rv->bytes = s.rev_bytes;
            rv->packets = s.rev_packets;
            if (t.flags & tflag::rev_tcp_flags) rv->tcp_flags = s.rev_tcp_flags;
            if (t.flags & tflag::rev_tos) rv->ip_tos = s.rev_tos;
            uint64_t rs = 0, re = 0;
            bool hrs = t.rev_start == time_mode::direct, hre = t.rev_end == time_mode::direct;
            if (hrs) rs = s.rev_start_ns;
            if (hre) re = s.rev_end_ns;
            if (t.rev_start == time_mode::uptime) hrs = up(s, s.rev_start_up, rs);
            if (t.rev_end == time_mode::uptime) hre = up(s, s.rev_end_up, re);
            if (hrs || hre) {
                rv->time_flow_start_ns = hrs ? rs : re;
                rv->time_flow_end_ns = hre ? re : rs;
                rv->flags &= static_cast<uint8_t>(~record_flags::times_from_export);
            }
            rv->flags |= record_flags::biflow_reverse;
            ++emitted;
        }
    };
    res.records = for_each_record(t, p, len, x, c, begin, finish, abort);
    res.emitted = emitted;
    c.add(counter::flow_records, emitted);
    if (full != 0) [[unlikely]]
        c.add(out.full_cause, full);
    return res;
}

}  // namespace tmpl

}  // namespace sluice::decode
