// SPDX-License-Identifier: Apache-2.0
// The normalized flow record: one fixed-size, trivially copyable struct that
// every decoder (NetFlow v5/v9, IPFIX, sFlow v5) writes and every later stage
// (rings, enrichment, sinks) reads.
//
// Why this shape:
//   * Fixed size (320 bytes = 5 cache lines) so records can be copied into
//     DPDK rings and per-worker buffers by value and hashed as raw bytes.
//     Lines 0-2 hold what every exporter sends, line 3 the L2, BGP and NAT
//     fields fewer exporters send, line 4 the enrichment stage's fields plus
//     the small exported ones, the signature tags and the record's index in
//     its datagram, the enrichment's matched prefix lengths (and 1 reserved byte,
//     always zero).
//   * No padding holes (static_assert on has_unique_object_representations),
//     so memcmp/hash over the bytes is meaningful and deterministic.
//   * Addresses are always 16 bytes. IPv4 addresses are stored IPv4-mapped
//     (::ffff:a.b.c.d, RFC 4291 2.5.5.2); an all-zero address means "absent".
//   * Times are absolute nanoseconds since the Unix epoch, whatever the
//     exporter's encoding (sysUptime-relative, s, ms, us, ns, NTP).
//
// JSON names (docs/record.md) follow goflow2's FlowMessage where the meaning
// is the same, so tools that read goflow2's JSON read ours.
//
// Two kinds of record share the struct:
//   record_kind::flow                a flow (or one direction of a biflow)
//   record_kind::interface_counters  an sFlow generic interface counter sample:
//                                    in_if = ifIndex, bytes/packets = input
//                                    octets/packets, if_out_* = output side.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace sluice::decode {

// goflow2 FlowMessage.FlowType numbering.
enum class flow_type : uint8_t {
    unknown = 0,
    sflow_5 = 1,
    netflow_v5 = 2,
    netflow_v9 = 3,
    ipfix = 4,
};

enum class record_kind : uint8_t {
    flow = 0,
    interface_counters = 1,
};

// Flow direction as IPFIX flowDirection (IE 61) / NetFlow v9 DIRECTION (61).
enum class flow_direction : uint8_t {
    ingress = 0,
    egress = 1,
    unknown = 0xff,
};

// What in_if / out_if hold. NetFlow and IPFIX only ever export ifIndex
// values; sFlow v5 (sFlow v5 spec, flow_sample "input"/"output") encodes a
// format in the top two bits of the compact form, or in a separate word of
// the expanded form. The 30-bit (compact) or 32-bit (expanded) value is kept
// as exported whatever the format.
enum class if_format : uint8_t {
    ifindex = 0,    // value = ifIndex (0 = unknown)
    discarded = 1,  // output only: the packet was dropped; value = reason code (sFlow v5 "discard reasons")
    multiple = 2,   // output only: sent to several interfaces; value = their count (0 = unknown)
    local = 3,      // value 0x3FFFFFFF of format 0: the device itself (input: originated
                    // by the device; output: delivered to it)
};

// Bits of flow_record::flags.
namespace record_flags {
constexpr uint8_t biflow_reverse = 1u << 0;   // reverse half of an RFC 5103 biflow
constexpr uint8_t sampling_overridden = 1u << 1;  // rate forced by per-exporter override
constexpr uint8_t times_from_export = 1u << 2;    // flow carried no times; export time used
}  // namespace record_flags

struct flow_record {
    // --- cache line 0: addresses (IPv4-mapped IPv6, zero = absent) ---
    uint8_t src_addr[16];
    uint8_t dst_addr[16];
    uint8_t next_hop[16];  // IP next hop; per family the BGP one when only that is exported
    uint8_t sampler_address[16];  // the exporter (UDP source, or sFlow agent)

    // --- cache line 1: volumes and times ---
    uint64_t bytes;    // as exported (sFlow: sampled frame length)
    uint64_t packets;  // as exported (sFlow: 1)
    uint64_t time_flow_start_ns;
    uint64_t time_flow_end_ns;
    uint64_t time_received_ns;  // when the collector received the datagram
    uint64_t if_out_bytes;      // interface_counters only: ifOutOctets
    uint64_t if_out_packets;    // interface_counters only: ifOut{Ucast,Multicast,Broadcast}Pkts
    uint32_t if_speed_mbps;     // interface_counters only: ifSpeed / 1e6 (u32 keeps 3 lines)
    uint32_t sampling_rate;     // 1-in-N; 0 = unknown, 1 = unsampled

    // --- cache line 2: identifiers and small fields ---
    uint32_t sequence_num;   // export sequence of the datagram carrying the record
    uint32_t observation_domain_id;  // v9 source id, IPFIX domain, sFlow sub-agent id
    uint32_t in_if;
    uint32_t out_if;
    uint32_t src_as;
    uint32_t dst_as;
    uint32_t mpls_label;  // top label (20 bits), 0 = none
    uint32_t if_in_errors;   // interface_counters only
    uint32_t if_out_errors;  // interface_counters only
    uint32_t if_in_discards;   // interface_counters only
    uint32_t if_out_discards;  // interface_counters only
    uint16_t src_port;
    uint16_t dst_port;
    uint16_t vlan_id;  // the frame's (outer, S-) VLAN: IPFIX 243, else 58; first tag of a sampled frame
    uint16_t etype;  // 0x0800 IPv4, 0x86dd IPv6, 0 unknown
    uint8_t proto;
    uint8_t tcp_flags;
    uint8_t ip_tos;
    uint8_t src_net;  // source prefix length
    uint8_t dst_net;  // destination prefix length
    uint8_t icmp_type;
    uint8_t icmp_code;
    flow_direction direction;
    flow_type type;
    record_kind kind;
    uint8_t export_version;  // 5, 9, 10 (IPFIX), 5 (sFlow v5)
    uint8_t flags;           // record_flags bits

    // --- cache line 3: L2, BGP and NAT (zero = absent) ---
    uint8_t bgp_next_hop[16];       // IPFIX 18 / 63, sFlow extended gateway (1003) next hop
    uint8_t post_nat_src_addr[16];  // IPFIX/NSEL 225 (v4) / 281 (v6)
    uint8_t post_nat_dst_addr[16];  // IPFIX/NSEL 226 (v4) / 282 (v6)
    uint8_t src_mac[6];             // IPFIX 56 (else 81) / sampled frame source
    uint8_t dst_mac[6];             // IPFIX 80 (else 57) / sampled frame destination
    uint16_t src_vlan;              // ingress VLAN: IPFIX 58 vlanId, sFlow 1001 src_vlan
    uint16_t dst_vlan;              // egress VLAN: IPFIX 59 postVlanId, sFlow 1001 dst_vlan

    // --- cache line 4: enrichment, then small exported fields ---
    // Filled by the enrichment stage, never by a decoder. 0 = not computed.
    uint64_t extrapolated_bytes;    // bytes scaled to the traffic they stand for; 0 = not extrapolated yet
    uint64_t extrapolated_packets;  // packets likewise; 0 = not extrapolated yet
    uint32_t src_attr_id;           // interned attribute set of src_addr; 0 = none
    uint32_t dst_attr_id;           // of dst_addr
    uint32_t exporter_attr_id;      // of sampler_address
    uint32_t in_if_attr_id;         // of (exporter, in_if)
    uint32_t out_if_attr_id;        // of (exporter, out_if)
    // Exported.
    uint32_t ipv6_flow_label;       // IPFIX 31, sampled IPv6 header (20 bits); 0 = none
    uint32_t next_hop_as;           // IPFIX 128 bgpNextAdjacentAsNumber, sFlow 1003 first AS of the path
    uint16_t post_nat_src_port;     // IPFIX/NSEL 227 postNAPTSourceTransportPort
    uint16_t post_nat_dst_port;     // IPFIX/NSEL 228 postNAPTDestinationTransportPort
    uint16_t inner_vlan_id;         // QinQ inner (C-) tag: IPFIX 245 dot1qCustomerVlanId, 2nd frame tag
    uint8_t ip_ttl;                 // IPFIX 192 ipTTL (else 52 minimumTTL), sampled IPv4 TTL / IPv6 hop limit
    uint8_t forwarding_status;      // IPFIX 89 (RFC 7270: status in the top 2 bits, reason in the low 6)
    uint8_t flow_end_reason;        // IPFIX 136 (1 idle, 2 active, 3 end detected, 4 forced, 5 lack of resources)
    if_format in_if_format;
    if_format out_if_format;
    uint8_t reserved0;              // always zero
    // Set by the enrichment stage: bit i = signature rule i of the live
    // classifier matched the record's sampled header (enrich/). 0 = none.
    uint32_t signature_tags;
    // Set by the decoders: the record's 0-based index among the records its
    // datagram yielded, in datagram order (number_records(), decoder.hpp).
    // With the exporter, observation domain and sequence number it names the
    // record for the flow id (sinks/encode/flow_id.hpp). Saturates at 0xffff.
    uint16_t record_index;
    // Set by the enrichment stage: the length of the enrichment tables'
    // prefix that matched src_addr / dst_addr (the longest of the sources
    // that have the address), plus one: 1..33 for IPv4 (/0../32), 1..129 for
    // IPv6; 0 = no enrichment prefix matched. Emitted as SrcNetPrefix /
    // DstNetPrefix (docs/record.md).
    uint8_t src_net_match;
    uint8_t dst_net_match;
};

static_assert(sizeof(flow_record) == 320, "flow_record is 5 cache lines");
static_assert(sizeof(flow_record) % 64 == 0, "flow_record must be whole cache lines");
static_assert(offsetof(flow_record, bgp_next_hop) == 192 && offsetof(flow_record, extrapolated_bytes) == 256,
              "lines 3 and 4 start on cache-line boundaries");
static_assert(offsetof(flow_record, signature_tags) == 312 && offsetof(flow_record, record_index) == 316);
static_assert(std::is_trivially_copyable_v<flow_record>);
static_assert(std::is_standard_layout_v<flow_record>);
static_assert(std::has_unique_object_representations_v<flow_record>,
              "flow_record must have no padding holes: it is hashed as bytes");

// Zeroes every field past the first three cache lines (lines 3 and 4), for
// decoders that fill the first three field by field into an uninitialised
// slot (NetFlow v5) and export nothing that lives further on.
inline void clear_extended(flow_record& r) noexcept {
    constexpr std::size_t off = offsetof(flow_record, bgp_next_hop);
    std::memset(reinterpret_cast<uint8_t*>(&r) + off, 0, sizeof(flow_record) - off);
}

// --- address helpers (header-only, used by every decoder) ---

inline void set_ipv4(uint8_t out[16], const uint8_t in[4]) noexcept {
    std::memset(out, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out + 12, in, 4);
}

inline void set_ipv4_host(uint8_t out[16], uint32_t host_order) noexcept {
    const uint8_t b[4] = {uint8_t(host_order >> 24), uint8_t(host_order >> 16),
                          uint8_t(host_order >> 8), uint8_t(host_order)};
    set_ipv4(out, b);
}

inline void set_ipv6(uint8_t out[16], const uint8_t in[16]) noexcept { std::memcpy(out, in, 16); }

inline bool is_ipv4_mapped(const uint8_t a[16]) noexcept {
    static constexpr uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(a, prefix, 12) == 0;
}

inline bool is_zero_address(const uint8_t a[16]) noexcept {
    uint64_t w[2];
    std::memcpy(w, a, 16);
    return (w[0] | w[1]) == 0;
}

}  // namespace sluice::decode
