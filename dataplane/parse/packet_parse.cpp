// SPDX-License-Identifier: Apache-2.0
// Ethernet / 802.1Q / IPv4 / IPv6 / UDP classification, see packet_parse.hpp.
#include "packet_parse.hpp"

#include <cstring>

#include "dataplane/decode/flow_record.hpp"
#include "dataplane/decode/wire.hpp"

namespace sluice::parse {

namespace {

using decode::wire::be16;

constexpr uint16_t eth_ipv4 = 0x0800, eth_ipv6 = 0x86dd, eth_arp = 0x0806, eth_vlan = 0x8100,
                   eth_qinq = 0x88a8, eth_qinq_old = 0x9100;
constexpr uint8_t ip_udp = 17, ip_icmp = 1, ip_icmpv6 = 58;
constexpr uint32_t eth_header = 14, vlan_tag = 4, ipv6_header = 40, udp_header = 8;

frame_class parse_udp(const uint8_t* l4, uint32_t l4_len, const parse_options& opts, parsed_frame& out,
                      const uint8_t* l3) noexcept {
    if (l4_len < udp_header) [[unlikely]]
        return frame_class::bad_udp_length;
    const uint16_t udp_len = be16(l4 + 4);
    // UDP length must cover the header and fit the IP payload; a shorter one
    // than the IP payload is allowed (trailing bytes ignored) as Linux does.
    if (udp_len < udp_header || udp_len > l4_len) [[unlikely]]
        return frame_class::bad_udp_length;
    out.src_port = be16(l4);
    out.dst_port = be16(l4 + 2);
    out.udp_checksum = be16(l4 + 6);
    out.payload = l4 + udp_header;
    out.payload_len = udp_len - udp_header;
    if (opts.verify_udp_checksum && !(out.ip_version == 4 && out.udp_checksum == 0)) {
        uint32_t sum;
        if (out.ip_version == 4) {
            sum = checksum_partial(l3 + 12, 8);
        } else {
            sum = checksum_partial(l3 + 8, 32);
        }
        sum += ip_udp + udp_len;
        sum = checksum_partial(l4, udp_len, sum);
        if (checksum_fold(sum) != 0xffff) [[unlikely]]
            return frame_class::bad_udp_checksum;
    }
    return frame_class::udp;
}

frame_class parse_ipv4(const uint8_t* l3, uint32_t len, const parse_options& opts, parsed_frame& out) noexcept {
    if (len < 20) [[unlikely]]
        return frame_class::bad_ipv4_header;
    const uint32_t ihl = (l3[0] & 0x0f) * 4u;
    if ((l3[0] >> 4) != 4 || ihl < 20 || ihl > len) [[unlikely]]
        return frame_class::bad_ipv4_header;
    const uint32_t total = be16(l3 + 2);
    if (total < ihl || total > len) [[unlikely]]
        return frame_class::bad_ip_length;
    if (opts.verify_ipv4_header_checksum && checksum_fold(checksum_partial(l3, ihl)) != 0xffff) [[unlikely]]
        return frame_class::bad_ipv4_checksum;
    out.ip_version = 4;
    out.l3_len = static_cast<uint16_t>(ihl);
    out.ip_total_len = total;
    out.ip_proto = l3[9];
    decode::set_ipv4(out.src_addr, l3 + 12);
    decode::set_ipv4(out.dst_addr, l3 + 16);
    const uint16_t frag = be16(l3 + 6);
    if ((frag & 0x3fff) != 0)  // MF set or offset non-zero
        return frame_class::ipv4_fragment;
    switch (out.ip_proto) {
        case ip_udp: return parse_udp(l3 + ihl, total - ihl, opts, out, l3);
        case ip_icmp: return frame_class::icmpv4;
        default: return frame_class::not_udp;
    }
}

frame_class parse_ipv6(const uint8_t* l3, uint32_t len, const parse_options& opts, parsed_frame& out) noexcept {
    if (len < ipv6_header || (l3[0] >> 4) != 6) [[unlikely]]
        return frame_class::bad_ipv6_header;
    const uint32_t total = ipv6_header + be16(l3 + 4);
    if (total > len) [[unlikely]]
        return frame_class::bad_ip_length;
    out.ip_version = 6;
    out.ip_total_len = total;
    decode::set_ipv6(out.src_addr, l3 + 8);
    decode::set_ipv6(out.dst_addr, l3 + 24);
    uint8_t next = l3[6];
    uint32_t off = ipv6_header;
    // Walk extension headers (bounded: a chain longer than 8 is hostile).
    for (int hops = 0; hops < 8; ++hops) {
        switch (next) {
            case 0:    // hop-by-hop
            case 43:   // routing
            case 60: { // destination options
                if (off + 8 > total) [[unlikely]]
                    return frame_class::bad_ipv6_header;
                const uint32_t ext = (l3[off + 1] + 1u) * 8u;
                next = l3[off];
                off += ext;
                if (off > total) [[unlikely]]
                    return frame_class::bad_ipv6_header;
                continue;
            }
            case 44:  // fragment
                if (off + 8 > total) [[unlikely]]
                    return frame_class::bad_ipv6_header;
                out.l3_len = static_cast<uint16_t>(off);
                out.ip_proto = l3[off];
                return frame_class::ipv6_fragment;
            default: break;
        }
        break;
    }
    out.l3_len = static_cast<uint16_t>(off);
    out.ip_proto = next;
    switch (next) {
        case ip_udp: return parse_udp(l3 + off, total - off, opts, out, l3);
        case ip_icmpv6: return frame_class::icmpv6;
        case 0: case 43: case 60: case 44: return frame_class::bad_ipv6_header;  // chain too long
        default: return frame_class::not_udp;
    }
}

}  // namespace

uint32_t checksum_partial(const uint8_t* p, uint32_t len, uint32_t sum) noexcept {
    uint64_t s = sum;
    while (len >= 2) {
        s += be16(p);
        p += 2;
        len -= 2;
    }
    if (len) s += uint32_t(p[0]) << 8;
    while (s >> 32) s = (s & 0xffffffffu) + (s >> 32);
    return static_cast<uint32_t>(s);
}

uint16_t checksum_fold(uint32_t sum) noexcept {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

frame_class parse_ip(const uint8_t* l3, uint32_t len, const parse_options& opts, parsed_frame& out) noexcept {
    if (len < 1) [[unlikely]]
        return frame_class::runt;
    switch (l3[0] >> 4) {
        case 4: out.ethertype = eth_ipv4; return parse_ipv4(l3, len, opts, out);
        case 6: out.ethertype = eth_ipv6; return parse_ipv6(l3, len, opts, out);
        default: return frame_class::unsupported_ethertype;
    }
}

frame_class parse_ethernet(const uint8_t* frame, uint32_t len, const parse_options& opts, parsed_frame& out) noexcept {
    if (len < eth_header) [[unlikely]]
        return frame_class::runt;
    uint32_t off = 12;
    uint16_t et = be16(frame + off);
    // Up to two tags (QinQ); the innermost VLAN id is kept.
    for (int tags = 0; tags < 2 && (et == eth_vlan || et == eth_qinq || et == eth_qinq_old); ++tags) {
        if (off + 2 + vlan_tag > len) [[unlikely]]
            return frame_class::runt;
        out.vlan_id = be16(frame + off + 2) & 0x0fff;
        off += vlan_tag;
        et = be16(frame + off);
    }
    off += 2;
    out.l2_len = static_cast<uint16_t>(off);
    out.ethertype = et;
    switch (et) {
        case eth_ipv4: return parse_ipv4(frame + off, len - off, opts, out);
        case eth_ipv6: return parse_ipv6(frame + off, len - off, opts, out);
        case eth_arp: return frame_class::arp;
        default: return frame_class::unsupported_ethertype;
    }
}

std::string_view frame_class_name(frame_class c) noexcept {
    switch (c) {
        case frame_class::udp: return "udp";
        case frame_class::ipv4_fragment: return "ipv4_fragment";
        case frame_class::ipv6_fragment: return "ipv6_fragment";
        case frame_class::arp: return "arp";
        case frame_class::icmpv4: return "icmpv4";
        case frame_class::icmpv6: return "icmpv6";
        case frame_class::runt: return "runt";
        case frame_class::unsupported_ethertype: return "unsupported_ethertype";
        case frame_class::bad_ipv4_header: return "bad_ipv4_header";
        case frame_class::bad_ipv4_checksum: return "bad_ipv4_checksum";
        case frame_class::bad_ip_length: return "bad_ip_length";
        case frame_class::bad_ipv6_header: return "bad_ipv6_header";
        case frame_class::not_udp: return "not_udp";
        case frame_class::bad_udp_length: return "bad_udp_length";
        case frame_class::bad_udp_checksum: return "bad_udp_checksum";
        case frame_class::count_: break;
    }
    return "unknown";
}

}  // namespace sluice::parse
