// SPDX-License-Identifier: Apache-2.0
// sFlow v5 wire layout (sflow.org sflow_version_5.txt, XDR: big-endian, every
// item padded to 4 bytes) and sflow_state, the per-exporter sequence state.
// decode_sflow() is declared in ../decoder.hpp.
//
// Datagram layout walked by the decoder (every length checked against its
// container before it is trusted):
//
//   datagram: version=5 | agent type (1 v4, 2 v6, 0 none) | agent addr
//             | sub_agent_id | sequence | uptime_ms | num_samples | samples...
//   sample:   format (enterprise << 12 | format) | length | body[length]
//     flow (1) / expanded flow (3):  fixed fields | num_records | records...
//     counters (2) / expanded (4):   fixed fields | num_records | records...
//   record:   format | length | body[length]
//
// Ownership and lifetime of sflow_state:
//
//   exporter_table ──owns──► exporter_state ──owns (unique_ptr)──► sflow_state
//        (one worker)          (one UDP source)                       │
//                                     created by decode_sflow() on the first
//                                     sFlow datagram of that exporter; freed
//                                     with the exporter. Only the worker that
//                                     owns the exporter touches it: no locks.
//
//   sflow_state
//   ├── agents[16]     (agent address, sub_agent_id) ─► datagram sequence
//   └── sources[512]   open addressing, at most 256 used:
//                      (agent slot, flow|counter, source type, source index)
//                      ─► sample sequence
//
// Both tables are fixed arrays filled on first sight and never emptied; an
// agent or source that does not fit is decoded normally, only its sequence
// numbers are not tracked.
#pragma once

#include <array>
#include <cstdint>

#include "../counters.hpp"
#include "../sequence.hpp"

namespace sluice::decode::sflow {

constexpr uint32_t version = 5;

// Agent / next-hop address types (XDR union discriminant).
constexpr uint32_t address_unknown = 0, address_ipv4 = 1, address_ipv6 = 2;

// Datagram header: version, address type, then the address (0, 4 or 16
// bytes), then these five words.
constexpr uint32_t header_prefix_size = 8;  // version + address type
constexpr uint32_t header_suffix_size = 16; // sub_agent_id, sequence, uptime, num_samples

// Sample and record headers: data_format (enterprise << 12 | format) + length.
constexpr uint32_t tlv_header_size = 8;
constexpr uint32_t enterprise_standard = 0;

// Sample formats (enterprise 0).
constexpr uint32_t sample_flow = 1, sample_counters = 2, sample_flow_expanded = 3,
                   sample_counters_expanded = 4;
// Dropped-packet notification (sFlow drop extension): specified, not decoded.
constexpr uint32_t sample_discarded_packets = 5;

// Fixed part of each sample, up to and including num_records.
constexpr uint32_t flow_sample_fixed = 32;           // seq, source, rate, pool, drops, in, out, n
constexpr uint32_t flow_sample_expanded_fixed = 44;  // seq, type, index, rate, pool, drops, in x2, out x2, n
constexpr uint32_t counter_sample_fixed = 12;        // seq, source, n
constexpr uint32_t counter_sample_expanded_fixed = 16;  // seq, type, index, n

// Flow record formats (enterprise 0) the decoder reads.
constexpr uint32_t flow_raw_header = 1, flow_ethernet = 2, flow_ipv4 = 3, flow_ipv6 = 4,
                   flow_ext_switch = 1001, flow_ext_router = 1002, flow_ext_gateway = 1003;

// Record sizes (fixed formats) and the fixed part of variable ones.
constexpr uint32_t raw_header_fixed = 16;  // header_protocol, frame_length, stripped, header length
constexpr uint32_t ethernet_size = 24;     // length, src mac (6 + 2 pad), dst mac (6 + 2 pad), type
constexpr uint32_t ipv4_data_size = 32;    // length, protocol, src, dst, sport, dport, tcp_flags, tos
constexpr uint32_t ipv6_data_size = 56;    // length, protocol, src, dst, sport, dport, tcp_flags, priority
constexpr uint32_t ext_switch_size = 16;   // src vlan, src priority, dst vlan, dst priority

// Counter record formats (enterprise 0) the decoder reads.
constexpr uint32_t counters_generic_if = 1;
constexpr uint32_t generic_if_size = 88;

// Generic interface counters offsets.
constexpr uint32_t gi_index = 0, gi_type = 4, gi_speed = 8, gi_direction = 16, gi_status = 20,
                   gi_in_octets = 24, gi_in_ucast = 32, gi_in_mcast = 36, gi_in_bcast = 40,
                   gi_in_discards = 44, gi_in_errors = 48, gi_in_unknown = 52, gi_out_octets = 56,
                   gi_out_ucast = 64, gi_out_mcast = 68, gi_out_bcast = 72, gi_out_discards = 76,
                   gi_out_errors = 80, gi_promisc = 84;
static_assert(gi_promisc + 4 == generic_if_size);

// Interface encoding. Compact (flow sample): top 2 bits format, low 30 bits
// value. Expanded: format and value as two words. Format 0 = ifIndex,
// 1 = packet discarded (value = reason), 2 = multiple interfaces (value =
// count). The ifIndex 0x3fffffff means "the device itself" (no input or
// output interface: traffic it originates or that is delivered to it); the
// record keeps it as exported with if_format::local.
constexpr uint32_t if_format_index = 0;
constexpr uint32_t if_format_discarded = 1;
constexpr uint32_t if_format_multiple = 2;
constexpr uint32_t if_value_mask = 0x3fffffff;
constexpr uint32_t if_unknown = 0x3fffffff;  // "the device itself", the name kept for history

// Formats that are specified (sflow.org structures registry) but carry nothing
// the flow record holds: skipped by length without a counter. Anything else
// counts dev_unknown_sflow_format.
constexpr bool is_known_flow_format(uint32_t format) noexcept {
    return (format >= 1 && format <= 4)             // header, ethernet, IPv4, IPv6
           || (format >= 1001 && format <= 1042)     // extended switch .. extended data
           || (format >= 2000 && format <= 2003)     // application (host sFlow)
           || (format >= 2100 && format <= 2104)     // socket / proxy socket
           || (format >= 2200 && format <= 2210);    // HTTP, memcache, app ops
}
constexpr bool is_known_counter_format(uint32_t format) noexcept {
    return (format >= 1 && format <= 10)            // generic .. optical SFP, port name
           || (format >= 1001 && format <= 1005)    // processor, radio, queue, OpenFlow port, port name
           || (format >= 2000 && format <= 2010)    // host description .. UDP (host sFlow)
           || (format >= 2100 && format <= 2106)    // virtual node / domain
           || (format >= 2200 && format <= 2210)    // app resources, JVM, HTTP, memcache
           || (format >= 3000 && format <= 3003);   // energy, temperature, humidity, fans
}

// Bounds on per-exporter sFlow state. A switch stack is one agent with one
// sub-agent per member; 16 covers stacks and a few agents behind one NAT.
// Sources are ports (x2: flow and counter samples): 256 covers a chassis at
// 1-in-N on every port; the slot array is twice that to keep probes short.
constexpr uint32_t max_agents = 16;
constexpr uint32_t max_sources = 256;
constexpr uint32_t source_slots = 512;
static_assert((source_slots & (source_slots - 1)) == 0, "source_slots must be a power of two");
static_assert(source_slots >= 2 * max_sources, "keep the load factor <= 1/2");

enum class sample_kind : uint8_t { flow = 0, counters = 1 };

}  // namespace sluice::decode::sflow

namespace sluice::decode {

struct sflow_state {
    struct agent_slot {
        uint8_t addr[16];
        uint32_t sub_agent_id;
        bool used;
        sequence_tracker seq;  // datagram sequence
    };
    struct source_slot {
        uint32_t type;   // source id type (0 ifIndex, 1 smonVlanDataSource, 2 entPhysicalEntry)
        uint32_t index;  // source id index
        uint8_t agent;   // index into agents
        sflow::sample_kind kind;
        bool used;
        sequence_tracker seq;  // sample sequence of this source and kind
    };

    std::array<agent_slot, sflow::max_agents> agents{};
    std::array<source_slot, sflow::source_slots> sources{};
    uint32_t agents_used = 0;
    uint32_t sources_used = 0;

    // The slot of (addr, sub_agent_id), created on first sight; -1 when all
    // max_agents slots are taken.
    int agent(const uint8_t addr[16], uint32_t sub_agent_id) noexcept;
    // The tracker of one sample stream, created on first sight; nullptr when
    // max_sources streams are already tracked.
    sequence_tracker* source(int agent, sflow::sample_kind kind, uint32_t type, uint32_t index) noexcept;
};

}  // namespace sluice::decode
