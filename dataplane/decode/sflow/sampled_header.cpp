// SPDX-License-Identifier: Apache-2.0
// Sampled packet header parser: L2 tags, MPLS, IPv4/IPv6 and the first bytes
// of L4, every read checked against the captured length.
#include "sampled_header.hpp"

#include <cstring>

#include "../wire.hpp"

namespace sluice::decode::sflow {

namespace {

constexpr uint16_t eth_ipv4 = 0x0800;
constexpr uint16_t eth_ipv6 = 0x86dd;
constexpr uint16_t eth_vlan = 0x8100;      // 802.1Q
constexpr uint16_t eth_qinq = 0x88a8;      // 802.1ad S-tag
constexpr uint16_t eth_qinq_old = 0x9100;  // pre-standard QinQ, still shipped
constexpr uint16_t eth_mpls = 0x8847;
constexpr uint16_t eth_mpls_mc = 0x8848;
constexpr uint16_t eth_min_type = 0x0600;  // below: an 802.3 length field, not a type

constexpr uint32_t eth_header_size = 14;
constexpr uint32_t vlan_tag_size = 4;
constexpr uint32_t mpls_entry_size = 4;
constexpr uint32_t ipv4_min_header = 20;
constexpr uint32_t ipv6_header_size = 40;
constexpr uint32_t ipv6_frag_header_size = 8;

// Tag, label and extension-header chains longer than these are treated as
// garbage. Real traffic: 2 VLAN tags (QinQ), <= 5 MPLS labels (TE + VPN +
// entropy), <= 4 IPv6 extension headers. The bounds keep the parse O(1).
constexpr int max_vlan_tags = 4;
constexpr int max_mpls_labels = 16;
constexpr int max_ipv6_ext_headers = 16;

constexpr uint8_t ip_icmp = 1;
constexpr uint8_t ip_tcp = 6;
constexpr uint8_t ip_udp = 17;
constexpr uint8_t ip_icmpv6 = 58;
constexpr uint8_t ip_sctp = 132;
constexpr uint8_t ip_udplite = 136;
constexpr uint8_t ip6_hop_by_hop = 0;
constexpr uint8_t ip6_routing = 43;
constexpr uint8_t ip6_fragment = 44;
constexpr uint8_t ip6_ah = 51;
constexpr uint8_t ip6_dest_opts = 60;

// Offsets inside the headers.
constexpr uint32_t tcp_flags_offset = 13;
constexpr uint32_t ipv4_tos = 1, ipv4_frag = 6, ipv4_ttl = 8, ipv4_proto = 9, ipv4_src = 12, ipv4_dst = 16;
constexpr uint32_t ipv6_hop_limit = 7;
constexpr uint32_t eth_dst = 0, eth_src = 6;
constexpr uint32_t ipv6_next = 6, ipv6_src = 8, ipv6_dst = 24;

header_status parse_l4(uint8_t proto, const uint8_t* p, uint32_t len, flow_record& out) noexcept {
    switch (proto) {
        case ip_tcp:
            if (len < 4) [[unlikely]]
                return header_status::truncated;
            out.src_port = wire::be16(p);
            out.dst_port = wire::be16(p + 2);
            if (len <= tcp_flags_offset) [[unlikely]]
                return header_status::truncated;
            out.tcp_flags = p[tcp_flags_offset];
            return header_status::ok;
        case ip_udp:
        case ip_sctp:
        case ip_udplite:
            if (len < 4) [[unlikely]]
                return header_status::truncated;
            out.src_port = wire::be16(p);
            out.dst_port = wire::be16(p + 2);
            return header_status::ok;
        case ip_icmp:
        case ip_icmpv6:
            if (len < 2) [[unlikely]]
                return header_status::truncated;
            out.icmp_type = p[0];
            out.icmp_code = p[1];
            return header_status::ok;
        default: return header_status::ok;
    }
}

header_status parse_ipv4(const uint8_t* p, uint32_t len, flow_record& out) noexcept {
    if (len < ipv4_min_header) [[unlikely]]
        return header_status::truncated;
    if ((p[0] >> 4) != 4) [[unlikely]]
        return header_status::malformed;
    const uint32_t ihl = (p[0] & 0x0fu) * 4u;
    if (ihl < ipv4_min_header) [[unlikely]]
        return header_status::malformed;
    out.ip_tos = p[ipv4_tos];
    out.ip_ttl = p[ipv4_ttl];
    out.proto = p[ipv4_proto];
    set_ipv4(out.src_addr, p + ipv4_src);
    set_ipv4(out.dst_addr, p + ipv4_dst);
    if ((wire::be16(p + ipv4_frag) & 0x1fff) != 0) return header_status::ok;  // non-first fragment: no L4
    if (ihl > len) [[unlikely]]
        return header_status::truncated;  // options cut off
    return parse_l4(out.proto, p + ihl, len - ihl, out);
}

header_status parse_ipv6(const uint8_t* p, uint32_t len, flow_record& out) noexcept {
    if (len < ipv6_header_size) [[unlikely]]
        return header_status::truncated;
    if ((p[0] >> 4) != 6) [[unlikely]]
        return header_status::malformed;
    out.ip_tos = static_cast<uint8_t>((p[0] & 0x0f) << 4 | p[1] >> 4);
    out.ipv6_flow_label = wire::be32(p) & 0x000fffffu;
    out.ip_ttl = p[ipv6_hop_limit];
    set_ipv6(out.src_addr, p + ipv6_src);
    set_ipv6(out.dst_addr, p + ipv6_dst);
    uint8_t nh = p[ipv6_next];
    uint32_t off = ipv6_header_size;
    for (int i = 0;; ++i) {
        out.proto = nh;
        uint32_t ext_len;
        const uint32_t left = len - off;  // off <= len holds: every step is checked
        switch (nh) {
            case ip6_hop_by_hop:
            case ip6_routing:
            case ip6_dest_opts:
                if (left < 2) [[unlikely]]
                    return header_status::truncated;
                ext_len = (uint32_t(p[off + 1]) + 1) * 8;  // RFC 8200 4.3: 8-octet units, first excluded
                break;
            case ip6_ah:
                if (left < 2) [[unlikely]]
                    return header_status::truncated;
                ext_len = (uint32_t(p[off + 1]) + 2) * 4;  // RFC 4302 2.2: 4-octet units minus 2
                break;
            case ip6_fragment: {
                if (left < ipv6_frag_header_size) [[unlikely]]
                    return header_status::truncated;
                const uint16_t frag_offset = wire::be16(p + off + 2) >> 3;
                nh = p[off];
                off += ipv6_frag_header_size;
                if (frag_offset != 0) {  // non-first fragment: no L4 header here
                    out.proto = nh;
                    return header_status::ok;
                }
                if (i + 1 >= max_ipv6_ext_headers) [[unlikely]]
                    return header_status::malformed;
                continue;
            }
            default: return parse_l4(nh, p + off, left, out);
        }
        if (ext_len > left) [[unlikely]]
            return header_status::truncated;
        if (i + 1 >= max_ipv6_ext_headers) [[unlikely]]
            return header_status::malformed;
        nh = p[off];
        off += ext_len;
    }
}

header_status parse_ip_by_version(const uint8_t* p, uint32_t len, flow_record& out) noexcept {
    if (len < 1) [[unlikely]]
        return header_status::truncated;
    switch (p[0] >> 4) {
        case 4: out.etype = eth_ipv4; return parse_ipv4(p, len, out);
        case 6: out.etype = eth_ipv6; return parse_ipv6(p, len, out);
        default: return header_status::ok;  // pseudowire control word, Ethernet over MPLS...: stop here
    }
}

header_status parse_mpls(const uint8_t* p, uint32_t len, flow_record& out) noexcept {
    uint32_t off = 0;
    for (int i = 0; i < max_mpls_labels; ++i) {
        if (len - off < mpls_entry_size) [[unlikely]]
            return header_status::truncated;
        const uint32_t entry = wire::be32(p + off);
        if (i == 0) out.mpls_label = entry >> 12;
        off += mpls_entry_size;
        if (entry & 0x100u)  // bottom of stack
            return parse_ip_by_version(p + off, len - off, out);
    }
    return header_status::malformed;
}

header_status parse_ethernet(const uint8_t* p, uint32_t len, flow_record& out) noexcept {
    if (len < eth_header_size) [[unlikely]]
        return header_status::truncated;
    std::memcpy(out.dst_mac, p + eth_dst, 6);
    std::memcpy(out.src_mac, p + eth_src, 6);
    uint16_t type = wire::be16(p + 12);
    uint32_t off = eth_header_size;
    for (int tags = 0; type == eth_vlan || type == eth_qinq || type == eth_qinq_old; ++tags) {
        if (tags == max_vlan_tags) [[unlikely]]
            return header_status::malformed;
        if (len - off < vlan_tag_size) [[unlikely]]
            return header_status::truncated;
        // QinQ: the outer (S-) tag is vlan_id, the next (C-) tag inner_vlan_id;
        // further tags (rare triple tagging) are walked but not reported.
        if (tags == 0) out.vlan_id = wire::be16(p + off) & 0x0fff;
        if (tags == 1) out.inner_vlan_id = wire::be16(p + off) & 0x0fff;
        type = wire::be16(p + off + 2);
        off += vlan_tag_size;
    }
    if (type < eth_min_type) return header_status::ok;  // 802.3 length + LLC: no etype to report
    out.etype = type;
    switch (type) {
        case eth_ipv4: return parse_ipv4(p + off, len - off, out);
        case eth_ipv6: return parse_ipv6(p + off, len - off, out);
        case eth_mpls:
        case eth_mpls_mc: return parse_mpls(p + off, len - off, out);
        default: return header_status::ok;  // ARP, LLDP, ...: nothing more to read
    }
}

}  // namespace

header_status parse_sampled_header(uint32_t header_protocol, std::span<const uint8_t> header,
                                   flow_record& out) noexcept {
    const uint8_t* p = header.data();
    // sFlow header lengths come from a u32 inside a UDP datagram, so they fit;
    // clamp anyway so the uint32_t arithmetic below can never wrap.
    const uint32_t len = header.size() > 0xffffffffu ? 0xffffffffu : static_cast<uint32_t>(header.size());
    switch (header_protocol) {
        case header_ethernet: return parse_ethernet(p, len, out);
        case header_ipv4: out.etype = eth_ipv4; return parse_ipv4(p, len, out);
        case header_ipv6: out.etype = eth_ipv6; return parse_ipv6(p, len, out);
        case header_mpls: out.etype = eth_mpls; return parse_mpls(p, len, out);
        default: return header_status::unsupported;
    }
}

}  // namespace sluice::decode::sflow
