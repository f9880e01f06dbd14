// SPDX-License-Identifier: Apache-2.0
// ECS JSON rendering of flow_record; see ecs_json.hpp. Addresses and MACs go through the same formatting as the
// plain JSON (dataplane/decode/record_format.hpp).
#include "ecs_json.hpp"

#include <cstring>
#include <string_view>

#include "dataplane/decode/decimal.hpp"
#include "dataplane/decode/record_format.hpp"
#include "flow_id.hpp"

namespace sluice::sinks::encode {

namespace {

using decode::flow_record;

using decode::text::digit_pairs;
using decode::text::put_u64;

inline char* put2(char* p, unsigned v) noexcept {
    p[0] = digit_pairs[v * 2];
    p[1] = digit_pairs[v * 2 + 1];
    return p + 2;
}

// Days since 1970-01-01 to a civil date (H. Hinnant's days_from_civil inverse; exact for the proleptic
// Gregorian calendar).
inline void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) noexcept {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = static_cast<int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += (m <= 2);
}

// "YYYY-MM-DD" of the last day formatted: a record's four times almost always fall on one day, so the calendar
// arithmetic runs once per record (the cache lives on the encoder's stack: no state between records).
struct day_cache {
    uint64_t day = ~0ull;
    char ymd[10];
};

inline char* put_date(char* p, uint64_t ns, day_cache& dc) noexcept {
    const uint64_t secs = ns / 1000000000ull;
    const auto frac = static_cast<uint32_t>(ns % 1000000000ull);
    const uint64_t day = secs / 86400;
    if (day != dc.day) {
        int64_t y;
        unsigned mo, d;
        civil_from_days(static_cast<int64_t>(day), y, mo, d);
        // u64 ns since 1970 ends in 2554: always 4 year digits.
        char* q = dc.ymd;
        q = put2(q, static_cast<unsigned>(y / 100));
        q = put2(q, static_cast<unsigned>(y % 100));
        *q++ = '-';
        q = put2(q, mo);
        *q++ = '-';
        put2(q, d);
        dc.day = day;
    }
    std::memcpy(p, dc.ymd, 10);
    p += 10;
    const auto sod = static_cast<unsigned>(secs % 86400);
    *p++ = 'T';
    p = put2(p, sod / 3600);
    *p++ = ':';
    p = put2(p, sod / 60 % 60);
    *p++ = ':';
    p = put2(p, sod % 60);
    *p++ = '.';
    // 9 fraction digits: one, then four pairs.
    *p++ = static_cast<char>('0' + frac / 100000000);
    uint32_t f = frac % 100000000;
    p = put2(p, f / 1000000);
    f %= 1000000;
    p = put2(p, f / 10000);
    f %= 10000;
    p = put2(p, f / 100);
    p = put2(p, f % 100);
    *p++ = 'Z';
    return p;
}

constexpr char hex_upper[] = "0123456789ABCDEF";
constexpr char hex_lower[] = "0123456789abcdef";

// IANA protocol keyword names (lowercase), as ECS network.transport wants them; "" = not named.
std::string_view transport_name(uint8_t proto) noexcept {
    switch (proto) {
        case 1: return "icmp";
        case 2: return "igmp";
        case 4: return "ipv4";
        case 6: return "tcp";
        case 17: return "udp";
        case 41: return "ipv6";
        case 47: return "gre";
        case 50: return "esp";
        case 51: return "ah";
        case 58: return "ipv6-icmp";
        case 89: return "ospfigp";
        case 103: return "pim";
        case 112: return "vrrp";
        case 132: return "sctp";
        case 136: return "udplite";
        default: return {};
    }
}

std::string_view direction_name(decode::flow_direction d) noexcept {
    switch (d) {
        case decode::flow_direction::ingress: return "ingress";
        case decode::flow_direction::egress: return "egress";
        case decode::flow_direction::unknown: break;
    }
    return "unknown";
}

// Unchecked writer over a buffer of k_ecs_json_max bytes. `sep()` writes the comma before every member but the
// first of the innermost open object.
constexpr uint64_t k_long_max = 0x7fffffffffffffffull;

class writer {
public:
    explicit writer(char* buf) noexcept : _p(buf), _begin(buf) {}

    template <std::size_t N>
    void lit(const char (&s)[N]) noexcept {
        std::memcpy(_p, s, N - 1);
        _p += N - 1;
    }
    void str(std::string_view s) noexcept {
        if (s.empty()) return;  // an empty view may have no data (memcpy from null is undefined even for 0 bytes)
        std::memcpy(_p, s.data(), s.size());
        _p += s.size();
    }
    void num(uint64_t v) noexcept { _p = put_u64(_p, v); }
    // A u64 into an Elasticsearch `long` (signed): values past 2^63 - 1 (no real flow has them; a forged
    // datagram can) saturate there instead of failing the whole document's indexing.
    void num_long(uint64_t v) noexcept { _p = put_u64(_p, v > k_long_max ? k_long_max : v); }
    void qnum(uint64_t v) noexcept {  // a number as a JSON string (ECS keyword fields)
        *_p++ = '"';
        _p = put_u64(_p, v);
        *_p++ = '"';
    }
    void date(uint64_t ns) noexcept {
        *_p++ = '"';
        _p = put_date(_p, ns, _days);
        *_p++ = '"';
    }
    void addr(const uint8_t a[16]) noexcept {
        *_p++ = '"';
        _p += decode::format_address(a, _p);
        *_p++ = '"';
    }
    void ecs_mac(const uint8_t m[6]) noexcept {  // ECS: uppercase hex pairs separated by hyphens
        *_p++ = '"';
        for (int i = 0; i < 6; ++i) {
            if (i) *_p++ = '-';
            *_p++ = hex_upper[m[i] >> 4];
            *_p++ = hex_upper[m[i] & 0xf];
        }
        *_p++ = '"';
    }
    void hex64(uint64_t v) noexcept {
        *_p++ = '"';
        for (int i = 15; i >= 0; --i) *_p++ = hex_lower[(v >> (4 * i)) & 0xf];
        *_p++ = '"';
    }
    void boolean(bool v) noexcept {
        if (v)
            lit("true");
        else
            lit("false");
    }
    std::size_t size() const noexcept { return std::size_t(_p - _begin); }

private:
    char* _p;
    char* _begin;
    day_cache _days;
};

inline bool zero_mac(const uint8_t m[6]) noexcept {
    return (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) == 0;
}

// source.* or destination.*: ip, port, mac, as.{number,organization}, nat.{ip,port}, geo. Always has "port".
// `x` (may be null): the enrichment's side; its AS number, when it has one, is source.as.number.
void endpoint(writer& w, const uint8_t ip[16], uint16_t port, const uint8_t mac[6], uint32_t exporter_as,
              const uint8_t nat_ip[16], uint16_t nat_port, const ecs_enrichment::side* x) noexcept {
    w.lit("{\"port\":");
    w.num(port);
    if (!decode::is_zero_address(ip)) {
        w.lit(",\"ip\":");
        w.addr(ip);
    }
    if (!zero_mac(mac)) {
        w.lit(",\"mac\":");
        w.ecs_mac(mac);
    }
    const uint64_t as = x && x->asn ? x->asn : exporter_as;
    const std::string_view org = x ? x->as_org : std::string_view{};
    if (as != 0) {
        w.lit(",\"as\":{\"number\":");
        w.num(as);
        w.str(org);
        w.lit("}");
    } else if (!org.empty()) {
        w.lit(",\"as\":{");
        w.str(org.substr(1));
        w.lit("}");
    }
    const bool nip = !decode::is_zero_address(nat_ip);
    if (nip || nat_port != 0) {
        w.lit(",\"nat\":{\"port\":");
        w.num(nat_port);
        if (nip) {
            w.lit(",\"ip\":");
            w.addr(nat_ip);
        }
        w.lit("}");
    }
    if (x) w.str(x->geo);
    w.lit("}");
}

// `"name":{members}` from a run of members that each start with ',' (nothing when empty).
template <std::size_t N>
void object(writer& w, const char (&name)[N], std::string_view members) noexcept {
    if (members.empty()) return;
    w.lit(name);
    w.str(members.substr(1));
    w.lit("}");
}

// sluice.src / sluice.dst: {"net":{"prefix":..,members}}.
template <std::size_t N>
void net_side(writer& w, const char (&name)[N], const ecs_enrichment::side& x) noexcept {
    if (x.net.empty() && x.prefix.empty()) return;
    w.lit(name);
    if (!x.prefix.empty()) {
        w.lit("\"prefix\":\"");
        w.str(x.prefix);
        w.lit("\"");
        w.str(x.net);
    } else {
        w.str(x.net.substr(1));
    }
    w.lit("}}");
}

// The enrichment's members of the sluice object (before its closing brace).
void sluice_enriched(writer& w, const flow_record& r, const ecs_enrichment& e, bool counters) noexcept {
    if (!counters) {
        if (e.src.asn && r.src_as) {  // source.as.number is the tables': keep the exporter's
            w.lit(",\"src_as\":");
            w.num(r.src_as);
        }
        if (e.dst.asn && r.dst_as) {
            w.lit(",\"dst_as\":");
            w.num(r.dst_as);
        }
        net_side(w, ",\"src\":{\"net\":{", e.src);
        net_side(w, ",\"dst\":{\"net\":{", e.dst);
    }
    object(w, ",\"exporter\":{", e.exporter);
    object(w, ",\"in_if\":{", e.in_if_sluice);
    if (!counters) object(w, ",\"out_if\":{", e.out_if_sluice);
}

}  // namespace

std::size_t format_rfc3339_ns(uint64_t unix_ns, char* out) noexcept {
    day_cache dc;
    return static_cast<std::size_t>(put_date(out, unix_ns, dc) - out);
}

namespace {

std::size_t encode(const flow_record& r, char* out, const ecs_enrichment* e) noexcept {
    writer w(out);
    const bool counters = r.kind == decode::record_kind::interface_counters;
    const uint64_t ts = r.time_flow_end_ns != 0 ? r.time_flow_end_ns : r.time_received_ns;

    w.lit("{\"@timestamp\":");
    w.date(ts);
    w.lit(",\"event\":{\"id\":");
    w.hex64(flow_id(r));
    if (counters)
        w.lit(",\"kind\":\"metric\",\"category\":[\"network\"],\"type\":[\"info\"]");
    else
        w.lit(",\"kind\":\"event\",\"category\":[\"network\"],\"type\":[\"connection\"]");
    w.lit(",\"created\":");
    w.date(r.time_received_ns);
    w.lit(",\"start\":");
    w.date(r.time_flow_start_ns);
    w.lit(",\"end\":");
    w.date(r.time_flow_end_ns);
    w.lit(",\"duration\":");
    w.num_long(r.time_flow_end_ns >= r.time_flow_start_ns ? r.time_flow_end_ns - r.time_flow_start_ns : 0);
    w.lit("}");

    if (!counters) {
        w.lit(",\"source\":");
        endpoint(w, r.src_addr, r.src_port, r.src_mac, r.src_as, r.post_nat_src_addr, r.post_nat_src_port,
                 e ? &e->src : nullptr);
        w.lit(",\"destination\":");
        endpoint(w, r.dst_addr, r.dst_port, r.dst_mac, r.dst_as, r.post_nat_dst_addr, r.post_nat_dst_port,
                 e ? &e->dst : nullptr);
        w.lit(",\"network\":{\"iana_number\":");
        w.qnum(r.proto);
        if (const std::string_view t = transport_name(r.proto); !t.empty()) {
            w.lit(",\"transport\":\"");
            w.str(t);
            w.lit("\"");
        }
        w.lit(",\"bytes\":");
        w.num_long(r.bytes);
        w.lit(",\"packets\":");
        w.num_long(r.packets);
        w.lit(",\"direction\":\"");
        w.str(direction_name(r.direction));
        w.lit("\"");
        if (r.etype == 0x0800)
            w.lit(",\"type\":\"ipv4\"");
        else if (r.etype == 0x86dd)
            w.lit(",\"type\":\"ipv6\"");
        if (r.vlan_id != 0) {
            w.lit(",\"vlan\":{\"id\":");
            w.qnum(r.vlan_id);
            w.lit("}");
        }
        if (r.inner_vlan_id != 0) {
            w.lit(",\"inner\":{\"vlan\":{\"id\":");
            w.qnum(r.inner_vlan_id);
            w.lit("}}");
        }
        w.lit("}");
    }

    w.lit(",\"observer\":{\"ingress\":{\"interface\":{\"id\":");
    w.qnum(r.in_if);
    if (e) w.str(e->in_if);
    w.lit("}}");
    if (!counters) {
        w.lit(",\"egress\":{\"interface\":{\"id\":");
        w.qnum(r.out_if);
        if (e) w.str(e->out_if);
        w.lit("}}");
    }
    if (!decode::is_zero_address(r.sampler_address)) {
        w.lit(",\"ip\":");
        w.addr(r.sampler_address);
    }
    if (e) w.str(e->observer);
    w.lit("}");

    w.lit(",\"sluice\":{\"flow_type\":\"");
    w.str(decode::flow_type_name(r.type));
    w.lit("\",\"kind\":\"");
    w.str(counters ? std::string_view("interface_counters\"") : std::string_view("flow\""));
    w.lit(",\"export_version\":");
    w.num(r.export_version);
    w.lit(",\"sequence_num\":");
    w.num(r.sequence_num);
    w.lit(",\"observation_domain_id\":");
    w.num(r.observation_domain_id);
    w.lit(",\"record_index\":");
    w.num(r.record_index);
    if (counters) {
        w.lit(",\"interface\":{\"speed_mbps\":");
        w.num(r.if_speed_mbps);
        w.lit(",\"in_bytes\":");
        w.num_long(r.bytes);
        w.lit(",\"in_packets\":");
        w.num_long(r.packets);
        w.lit(",\"out_bytes\":");
        w.num_long(r.if_out_bytes);
        w.lit(",\"out_packets\":");
        w.num_long(r.if_out_packets);
        w.lit(",\"in_errors\":");
        w.num(r.if_in_errors);
        w.lit(",\"out_errors\":");
        w.num(r.if_out_errors);
        w.lit(",\"in_discards\":");
        w.num(r.if_in_discards);
        w.lit(",\"out_discards\":");
        w.num(r.if_out_discards);
        w.lit(",\"direction\":\"");
        w.str(direction_name(r.direction));
        w.lit("\"}");
        if (e) sluice_enriched(w, r, *e, true);
        w.lit("}}");
        return w.size();
    }
    w.lit(",\"sampling_rate\":");
    w.num(r.sampling_rate);
    if (!decode::is_zero_address(r.next_hop)) {
        w.lit(",\"next_hop\":");
        w.addr(r.next_hop);
    }
    if (!decode::is_zero_address(r.bgp_next_hop)) {
        w.lit(",\"bgp_next_hop\":");
        w.addr(r.bgp_next_hop);
    }
    w.lit(",\"next_hop_as\":");
    w.num(r.next_hop_as);
    w.lit(",\"src_net\":");
    w.num(r.src_net);
    w.lit(",\"dst_net\":");
    w.num(r.dst_net);
    w.lit(",\"tcp_flags\":");
    w.num(r.tcp_flags);
    w.lit(",\"ip_tos\":");
    w.num(r.ip_tos);
    w.lit(",\"ip_ttl\":");
    w.num(r.ip_ttl);
    w.lit(",\"icmp_type\":");
    w.num(r.icmp_type);
    w.lit(",\"icmp_code\":");
    w.num(r.icmp_code);
    w.lit(",\"src_vlan\":");
    w.num(r.src_vlan);
    w.lit(",\"dst_vlan\":");
    w.num(r.dst_vlan);
    w.lit(",\"mpls_label\":");
    w.num(r.mpls_label);
    w.lit(",\"ipv6_flow_label\":");
    w.num(r.ipv6_flow_label);
    w.lit(",\"forwarding_status\":");
    w.num(r.forwarding_status);
    w.lit(",\"flow_end_reason\":");
    w.num(r.flow_end_reason);
    w.lit(",\"in_if_format\":");
    w.num(static_cast<uint8_t>(r.in_if_format));
    w.lit(",\"out_if_format\":");
    w.num(static_cast<uint8_t>(r.out_if_format));
    w.lit(",\"biflow_reverse\":");
    w.boolean((r.flags & decode::record_flags::biflow_reverse) != 0);
    w.lit(",\"sampling_overridden\":");
    w.boolean((r.flags & decode::record_flags::sampling_overridden) != 0);
    w.lit(",\"times_from_export\":");
    w.boolean((r.flags & decode::record_flags::times_from_export) != 0);
    if (r.extrapolated_bytes != 0 || r.extrapolated_packets != 0) {
        w.lit(",\"extrapolated_bytes\":");
        w.num_long(r.extrapolated_bytes);
        w.lit(",\"extrapolated_packets\":");
        w.num_long(r.extrapolated_packets);
    }
    if (r.signature_tags != 0) {
        w.lit(",\"signature_tags\":");
        w.num(r.signature_tags);
    }
    if (e) sluice_enriched(w, r, *e, false);
    w.lit("}}");
    return w.size();
}

}  // namespace

std::size_t ecs_json_encode(const flow_record& r, char* out) noexcept { return encode(r, out, nullptr); }

std::size_t ecs_json_encode(const flow_record& r, char* out, const ecs_enrichment& e) noexcept {
    return encode(r, out, &e);
}

void ecs_json_append_lines(byte_buffer& b, std::span<const flow_record> recs) {
    char* const start = reinterpret_cast<char*>(b.reserve(recs.size() * (k_ecs_json_max + 1)));
    char* p = start;
    for (const flow_record& r : recs) {
        p += ecs_json_encode(r, p);
        *p++ = '\n';
    }
    b.commit(static_cast<std::size_t>(p - start));
}

}  // namespace sluice::sinks::encode
