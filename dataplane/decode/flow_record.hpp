// SPDX-License-Identifier: Apache-2.0
// The normalized flow record: one fixed-size, trivially copyable struct that
// every decoder (NetFlow v5/v9, IPFIX, sFlow v5) writes and every later stage
// (rings, enrichment, sinks) reads.
//
// Why this shape:
//   * Fixed size (192 bytes = 3 cache lines) so records can be copied into
//     DPDK rings and per-worker buffers by value and hashed as raw bytes.
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
    uint8_t next_hop[16];
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
    uint16_t vlan_id;
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
};

static_assert(sizeof(flow_record) == 192, "flow_record must stay 3 cache lines");
static_assert(std::is_trivially_copyable_v<flow_record>);
static_assert(std::is_standard_layout_v<flow_record>);
static_assert(std::has_unique_object_representations_v<flow_record>,
              "flow_record must have no padding holes: it is hashed as bytes");

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
