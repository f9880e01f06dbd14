// SPDX-License-Identifier: Apache-2.0
// JSON-lines and table renderings of flow_record; see record_format.hpp.
#include "record_format.hpp"

#include <cstdio>
#include <cstring>

#include "decimal.hpp"

namespace sluice::decode {

namespace {

using text::digit_pairs;
using text::put_u64;

// 0..255 without leading zeros.
inline char* put_u8(char* p, unsigned v) noexcept {
    if (v >= 100) {
        *p++ = static_cast<char>('0' + v / 100);
        v %= 100;
        *p++ = digit_pairs[v * 2];
        *p++ = digit_pairs[v * 2 + 1];
    } else if (v >= 10) {
        *p++ = digit_pairs[v * 2];
        *p++ = digit_pairs[v * 2 + 1];
    } else {
        *p++ = static_cast<char>('0' + v);
    }
    return p;
}

inline char* put_ipv4(char* p, const uint8_t a[4]) noexcept {
    p = put_u8(p, a[0]);
    *p++ = '.';
    p = put_u8(p, a[1]);
    *p++ = '.';
    p = put_u8(p, a[2]);
    *p++ = '.';
    return put_u8(p, a[3]);
}

constexpr char hex_digits[] = "0123456789abcdef";

// One IPv6 group in lowercase hex without leading zeros (RFC 5952 4.1, 4.3).
inline char* put_hex16(char* p, unsigned v) noexcept {
    if (v >= 0x1000) *p++ = hex_digits[v >> 12];
    if (v >= 0x100) *p++ = hex_digits[(v >> 8) & 0xf];
    if (v >= 0x10) *p++ = hex_digits[(v >> 4) & 0xf];
    *p++ = hex_digits[v & 0xf];
    return p;
}

// RFC 5952 text, exactly as glibc's inet_ntop(AF_INET6) writes it: the
// longest run of two or more zero groups (the first of equal runs) becomes
// "::"; and, as inet_ntop does, ::a.b.c.d (first six groups zero, the
// seventh not) and ::ffff:a.b.c.d end in a dotted quad. At most 39 chars.
char* put_ipv6(char* p, const uint8_t a[16]) noexcept {
    unsigned w[8];
    for (int i = 0; i < 8; ++i) w[i] = unsigned(a[2 * i]) << 8 | a[2 * i + 1];
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        if (w[i] != 0) {
            ++i;
            continue;
        }
        int j = i;
        while (j < 8 && w[j] == 0) ++j;
        if (j - i > best_len) {
            best = i;
            best_len = j - i;
        }
        i = j;
    }
    if (best_len < 2) best = -1;
    for (int i = 0; i < 8; ++i) {
        if (best >= 0 && i >= best && i < best + best_len) {
            if (i == best) *p++ = ':';
            continue;
        }
        if (i != 0) *p++ = ':';
        if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)))
            return put_ipv4(p, a + 12);
        p = put_hex16(p, w[i]);
    }
    if (best >= 0 && best + best_len == 8) *p++ = ':';
    return p;
}

// Address text (see format_address) at p; returns the end.
inline char* put_address(char* p, const uint8_t a[16]) noexcept {
    if (is_zero_address(a)) return p;
    if (is_ipv4_mapped(a)) return put_ipv4(p, a + 12);
    return put_ipv6(p, a);
}

inline char* put_mac(char* p, const uint8_t m[6]) noexcept {
    for (int i = 0; i < 6; ++i) {
        if (i != 0) *p++ = ':';
        *p++ = hex_digits[m[i] >> 4];
        *p++ = hex_digits[m[i] & 0xf];
    }
    return p;
}

// Unchecked writer: format_json only uses it on a buffer of at least
// max_json_size bytes, which no record can exceed (the widest record is
// tested). Keys are literals with their punctuation, copied by fixed size.
class writer {
public:
    explicit writer(char* buf) noexcept : _p(buf), _begin(buf) {}

    template <std::size_t N>
    void lit(const char (&s)[N]) noexcept {
        std::memcpy(_p, s, N - 1);
        _p += N - 1;
    }
    void str(std::string_view s) noexcept {
        std::memcpy(_p, s.data(), s.size());
        _p += s.size();
    }
    void num(uint64_t v) noexcept { _p = put_u64(_p, v); }
    void addr(const uint8_t a[16]) noexcept {
        *_p++ = '"';
        _p = put_address(_p, a);
        *_p++ = '"';
    }
    void mac(const uint8_t m[6]) noexcept {
        *_p++ = '"';
        _p = put_mac(_p, m);
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
};

std::string_view kind_name(record_kind k) noexcept {
    return k == record_kind::interface_counters ? "interface_counters" : "flow";
}

std::size_t json_unchecked(const flow_record& r, char* buf) noexcept {
    writer w(buf);
    w.lit("{\"type\":\"");
    w.str(flow_type_name(r.type));
    w.lit("\",\"kind\":\"");
    w.str(kind_name(r.kind));
    w.lit("\",\"time_received_ns\":");
    w.num(r.time_received_ns);
    w.lit(",\"sequence_num\":");
    w.num(r.sequence_num);
    w.lit(",\"sampler_address\":");
    w.addr(r.sampler_address);
    w.lit(",\"observation_domain_id\":");
    w.num(r.observation_domain_id);
    if (r.kind == record_kind::interface_counters) {
        w.lit(",\"in_if\":");
        w.num(r.in_if);
        w.lit(",\"if_speed_mbps\":");
        w.num(r.if_speed_mbps);
        w.lit(",\"bytes\":");
        w.num(r.bytes);
        w.lit(",\"packets\":");
        w.num(r.packets);
        w.lit(",\"if_out_bytes\":");
        w.num(r.if_out_bytes);
        w.lit(",\"if_out_packets\":");
        w.num(r.if_out_packets);
        w.lit(",\"if_in_errors\":");
        w.num(r.if_in_errors);
        w.lit(",\"if_out_errors\":");
        w.num(r.if_out_errors);
        w.lit(",\"if_in_discards\":");
        w.num(r.if_in_discards);
        w.lit(",\"if_out_discards\":");
        w.num(r.if_out_discards);
        w.lit(",\"export_version\":");
        w.num(r.export_version);
        w.lit("}");
        return w.size();
    }
    w.lit(",\"sampling_rate\":");
    w.num(r.sampling_rate);
    w.lit(",\"time_flow_start_ns\":");
    w.num(r.time_flow_start_ns);
    w.lit(",\"time_flow_end_ns\":");
    w.num(r.time_flow_end_ns);
    w.lit(",\"bytes\":");
    w.num(r.bytes);
    w.lit(",\"packets\":");
    w.num(r.packets);
    w.lit(",\"src_addr\":");
    w.addr(r.src_addr);
    w.lit(",\"dst_addr\":");
    w.addr(r.dst_addr);
    w.lit(",\"next_hop\":");
    w.addr(r.next_hop);
    w.lit(",\"etype\":");
    w.num(r.etype);
    w.lit(",\"proto\":");
    w.num(r.proto);
    w.lit(",\"src_port\":");
    w.num(r.src_port);
    w.lit(",\"dst_port\":");
    w.num(r.dst_port);
    w.lit(",\"in_if\":");
    w.num(r.in_if);
    w.lit(",\"out_if\":");
    w.num(r.out_if);
    w.lit(",\"src_as\":");
    w.num(r.src_as);
    w.lit(",\"dst_as\":");
    w.num(r.dst_as);
    w.lit(",\"src_net\":");
    w.num(r.src_net);
    w.lit(",\"dst_net\":");
    w.num(r.dst_net);
    w.lit(",\"ip_tos\":");
    w.num(r.ip_tos);
    w.lit(",\"tcp_flags\":");
    w.num(r.tcp_flags);
    w.lit(",\"icmp_type\":");
    w.num(r.icmp_type);
    w.lit(",\"icmp_code\":");
    w.num(r.icmp_code);
    w.lit(",\"vlan_id\":");
    w.num(r.vlan_id);
    w.lit(",\"inner_vlan_id\":");
    w.num(r.inner_vlan_id);
    w.lit(",\"src_vlan\":");
    w.num(r.src_vlan);
    w.lit(",\"dst_vlan\":");
    w.num(r.dst_vlan);
    w.lit(",\"src_mac\":");
    w.mac(r.src_mac);
    w.lit(",\"dst_mac\":");
    w.mac(r.dst_mac);
    w.lit(",\"mpls_label\":");
    w.num(r.mpls_label);
    w.lit(",\"ip_ttl\":");
    w.num(r.ip_ttl);
    w.lit(",\"ipv6_flow_label\":");
    w.num(r.ipv6_flow_label);
    w.lit(",\"forwarding_status\":");
    w.num(r.forwarding_status);
    w.lit(",\"flow_end_reason\":");
    w.num(r.flow_end_reason);
    w.lit(",\"bgp_next_hop\":");
    w.addr(r.bgp_next_hop);
    w.lit(",\"next_hop_as\":");
    w.num(r.next_hop_as);
    w.lit(",\"post_nat_src_addr\":");
    w.addr(r.post_nat_src_addr);
    w.lit(",\"post_nat_dst_addr\":");
    w.addr(r.post_nat_dst_addr);
    w.lit(",\"post_nat_src_port\":");
    w.num(r.post_nat_src_port);
    w.lit(",\"post_nat_dst_port\":");
    w.num(r.post_nat_dst_port);
    w.lit(",\"in_if_format\":");
    w.num(static_cast<uint8_t>(r.in_if_format));
    w.lit(",\"out_if_format\":");
    w.num(static_cast<uint8_t>(r.out_if_format));
    w.lit(",\"flow_direction\":");
    w.num(static_cast<uint8_t>(r.direction));
    w.lit(",\"biflow_reverse\":");
    w.boolean((r.flags & record_flags::biflow_reverse) != 0);
    w.lit(",\"sampling_overridden\":");
    w.boolean((r.flags & record_flags::sampling_overridden) != 0);
    if ((r.extrapolated_bytes | r.extrapolated_packets) != 0) [[unlikely]] {  // --extrapolate (enrich/extrapolate/)
        w.lit(",\"extrapolated_bytes\":");
        w.num(r.extrapolated_bytes);
        w.lit(",\"extrapolated_packets\":");
        w.num(r.extrapolated_packets);
    }
    if (r.signature_tags != 0) [[unlikely]] {  // --rules payload rules (enrich/classify/)
        w.lit(",\"signature_tags\":");
        w.num(r.signature_tags);
    }
    w.lit(",\"export_version\":");
    w.num(r.export_version);
    w.lit("}");
    return w.size();
}

}  // namespace

std::string_view flow_type_name(flow_type t) noexcept {
    switch (t) {
        case flow_type::sflow_5: return "SFLOW_5";
        case flow_type::netflow_v5: return "NETFLOW_V5";
        case flow_type::netflow_v9: return "NETFLOW_V9";
        case flow_type::ipfix: return "IPFIX";
        case flow_type::unknown: break;
    }
    return "FLOWUNKNOWN";
}

std::size_t format_address(const uint8_t a[16], char* out) noexcept {
    char* e = put_address(out, a);
    *e = '\0';
    return std::size_t(e - out);
}

std::size_t format_mac(const uint8_t m[6], char* out) noexcept {
    char* e = put_mac(out, m);
    *e = '\0';
    return std::size_t(e - out);
}

std::size_t format_json(const flow_record& r, char* buf, std::size_t cap) noexcept {
    if (cap >= max_json_size) [[likely]]
        return json_unchecked(r, buf);
    char tmp[max_json_size];
    const std::size_t n = json_unchecked(r, tmp);
    if (n > cap) return 0;
    std::memcpy(buf, tmp, n);
    return n;
}

std::string_view table_header() noexcept {
    return "TYPE        START(ns)            PROTO SRC                                      SPORT DST                                      DPORT IN    OUT         BYTES    PKTS  RATE EXPORTER";
}

std::size_t format_table_row(const flow_record& r, char* buf, std::size_t cap) noexcept {
    char src[46], dst[46], exp[46];
    format_address(r.src_addr, src);
    format_address(r.dst_addr, dst);
    format_address(r.sampler_address, exp);
    int n;
    if (r.kind == record_kind::interface_counters) {
        n = std::snprintf(buf, cap,
                          "%-11s %-20llu %-5s %-40s %5s %-40s %5s %-5u %-5s %11llu %7llu %5s %s",
                          "SFLOW_CNT", static_cast<unsigned long long>(r.time_received_ns), "-", "-", "-", "-", "-",
                          r.in_if, "-", static_cast<unsigned long long>(r.bytes),
                          static_cast<unsigned long long>(r.packets), "-", exp);
    } else {
        n = std::snprintf(buf, cap, "%-11.*s %-20llu %-5u %-40s %5u %-40s %5u %-5u %-5u %11llu %7llu %5u %s",
                          int(flow_type_name(r.type).size()), flow_type_name(r.type).data(),
                          static_cast<unsigned long long>(r.time_flow_start_ns), r.proto, src, r.src_port, dst,
                          r.dst_port, r.in_if, r.out_if, static_cast<unsigned long long>(r.bytes),
                          static_cast<unsigned long long>(r.packets), r.sampling_rate, exp);
    }
    if (n < 0 || std::size_t(n) >= cap) return 0;
    return std::size_t(n);
}

}  // namespace sluice::decode
