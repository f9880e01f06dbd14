// SPDX-License-Identifier: Apache-2.0
// L2/L3/L4 parsing of received frames: Ethernet, 802.1Q and QinQ, IPv4 and
// IPv6 header checks, UDP. Pure code over bytes (no DPDK types), shared by the
// sluiced worker loop and the offline sluice-decode reader.
//
// The parser classifies a frame and, for complete UDP datagrams, fills in the
// addresses, ports and payload. Fragments are classified, not reassembled: the
// caller owns reassembly (dataplane/reassembly/, in sluiced and offline) and
// then calls parse_ip() on the reassembled packet.
//
// Every non-udp class below `runt` is a drop reason with its own counter.
#pragma once

#include <cstdint>
#include <string_view>

namespace sluice::parse {

struct parse_options {
    // The IPv4 header checksum is 20 bytes of adds: cheap enough to verify in
    // software unless the NIC already did (the worker clears this then).
    bool verify_ipv4_header_checksum = true;
    // Off by default: captures and veths carry offloaded partial checksums.
    bool verify_udp_checksum = false;
};

enum class frame_class : uint8_t {
    udp,            // a complete UDP datagram: payload filled in
    ipv4_fragment,  // an IPv4 fragment: l2_len/l3_len set, reassemble then parse_ip()
    ipv6_fragment,  // an IPv6 fragment: l3_len = offset of the fragment header (after any hop-by-hop,
                    // routing, destination-options headers), ip_proto = its next header
    arp,            // ARP: exception path
    icmpv4,         // ICMP: exception path
    icmpv6,         // ICMPv6 (echo, ND): exception path
    // ---- drops ----
    runt,                   // shorter than an Ethernet header (or a VLAN tag)
    unsupported_ethertype,  // neither IPv4, IPv6 nor ARP
    bad_ipv4_header,        // version/IHL wrong or header past the frame
    bad_ipv4_checksum,      // IPv4 header checksum wrong
    bad_ip_length,          // IP total/payload length larger than the frame, or smaller than the header
    bad_ipv6_header,        // version wrong, header or extension chain past the frame
    not_udp,                // another L4 protocol (TCP, GRE, ...)
    bad_udp_length,         // UDP length field disagrees with the IP payload
    bad_udp_checksum,       // only when verify_udp_checksum is on
    count_
};

constexpr std::size_t frame_class_count = static_cast<std::size_t>(frame_class::count_);

struct parsed_frame {
    uint16_t l2_len = 0;    // bytes before the IP header
    uint16_t l3_len = 0;    // IP header length incl. IPv6 extension headers walked
    uint16_t vlan_id = 0;   // innermost 802.1Q VLAN id, 0 if untagged
    uint16_t ethertype = 0; // the L3 ethertype after tags
    uint8_t ip_version = 0;
    uint8_t ip_proto = 0;   // final L4 protocol (after IPv6 extension headers)
    uint8_t src_addr[16]{}; // IPv4-mapped for IPv4
    uint8_t dst_addr[16]{};
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
    uint16_t udp_checksum = 0;
    const uint8_t* payload = nullptr;  // UDP payload
    uint32_t payload_len = 0;
    uint32_t ip_total_len = 0;  // the IP packet's length per its header (trims Ethernet padding)
};

// A full Ethernet frame.
frame_class parse_ethernet(const uint8_t* frame, uint32_t len, const parse_options& opts, parsed_frame& out) noexcept;

// An IP packet without L2 (version from the first nibble), e.g. after reassembly
// or from a raw-IP capture. l2_len is left as the caller set it.
frame_class parse_ip(const uint8_t* l3, uint32_t len, const parse_options& opts, parsed_frame& out) noexcept;

std::string_view frame_class_name(frame_class c) noexcept;

// RFC 1071 ones'-complement sum, folded, not inverted. Exposed for checksum users.
uint32_t checksum_partial(const uint8_t* p, uint32_t len, uint32_t sum = 0) noexcept;
uint16_t checksum_fold(uint32_t sum) noexcept;

}  // namespace sluice::parse
