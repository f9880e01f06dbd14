// SPDX-License-Identifier: Apache-2.0
// Parser for the packet header an sFlow agent copies into a raw packet header
// flow record (sFlow v5 `sampled_header`, flow format 1): Ethernet, 802.1Q /
// QinQ, one MPLS label stack, IPv4, IPv6 with extension headers, TCP/UDP/SCTP
// ports, TCP flags and ICMP/ICMPv6 type and code.
//
// Shared with the IPFIX decoder, which parses dataLinkFrameSection (IE 315)
// and ipHeaderPacketSection (IE 313) with it (template/template_store.cpp).
//
// Pure code over bytes: no state, no allocation, no exceptions. It reads only
// [data, data + size) and writes only the flow_record fields it finds (the
// caller passes a zeroed record, so absent fields stay 0).
//
//   header_protocol 1 (Ethernet) ──► [802.1Q/QinQ tags] ──► etype
//   header_protocol 13 (MPLS) ─────────────────────────► label stack ─┐
//   header_protocol 11 (IPv4) ──────────────┐           etype 0x8847 ─┤
//   header_protocol 12 (IPv6) ────────┐     │                          │
//                                     ▼     ▼                          ▼
//                                   IPv6  IPv4 ◄── version nibble after the
//                                 ext hdrs  frags   bottom-of-stack label
//                                     └──┬──┘
//                                        ▼
//                          TCP/UDP/SCTP ports, TCP flags, ICMP type/code
//                          (first fragments only)
#pragma once

#include <cstdint>
#include <span>

#include "../flow_record.hpp"

namespace sluice::decode::sflow {

// sFlow v5 header_protocol values this parser understands (the rest of the
// enumeration - Token Ring, FDDI, PPP, 802.11... - is reported unsupported).
constexpr uint32_t header_ethernet = 1;  // ETHERNET-ISO8023
constexpr uint32_t header_ipv4 = 11;
constexpr uint32_t header_ipv6 = 12;
constexpr uint32_t header_mpls = 13;

// How far the parse went.
enum class header_status : uint8_t {
    ok,           // parsed as far as the protocols go (non-IP frames, e.g. ARP, are ok too)
    truncated,    // the bytes ended inside a header an earlier layer announced; fields
                  // found before that point are set
    malformed,    // an IP header with the wrong version or an impossible length, or an
                  // absurd tag / label / extension-header chain; fields found before are set
    unsupported,  // header_protocol not handled: nothing written
};

// Fields written, when found:
//   dst_mac, src_mac  the Ethernet addresses (Ethernet frames only)
//   vlan_id      outermost 802.1Q/802.1ad tag (the S-VLAN for QinQ)
//   inner_vlan_id  the second tag of a QinQ frame (the C-VLAN), 0 if single-tagged
//   etype        the Ethernet type after the tags (0 for 802.3 length frames);
//                for MPLS that carries IP, the inner IP type (0x0800 / 0x86dd),
//                otherwise 0x8847 / 0x8848
//   mpls_label   top label of the stack (20 bits)
//   ip_ttl (IPv4 TTL / IPv6 hop limit), ipv6_flow_label (20 bits)
//   src_addr, dst_addr, ip_tos (IPv4 TOS / IPv6 traffic class), proto (the
//                upper-layer protocol after IPv6 extension headers; when the
//                bytes end inside the chain, the last next-header value reached)
//   src_port, dst_port (TCP, UDP, SCTP, UDP-Lite), tcp_flags (low 8 flag bits)
//   icmp_type, icmp_code (ICMP, ICMPv6)
// L4 fields are only read from unfragmented packets and first fragments.
header_status parse_sampled_header(uint32_t header_protocol, std::span<const uint8_t> header,
                                   flow_record& out) noexcept;

}  // namespace sluice::decode::sflow
