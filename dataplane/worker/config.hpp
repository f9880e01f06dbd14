// SPDX-License-Identifier: Apache-2.0
// Worker parameters shared read-only by every worker, and their defaults.
#pragma once

#include <array>
#include <cstdint>

#include "dataplane/decode/decoder.hpp"

namespace sluice::worker {

// Packets per rx burst: l3fwd's MAX_PKT_BURST; large enough to amortise the
// PMD call, small enough that a burst's mbufs stay in L1/L2.
constexpr uint16_t k_burst = 32;
// Prefetch the frame data this many packets ahead of the parse pass (l3fwd's PREFETCH_OFFSET).
constexpr unsigned k_prefetch_ahead = 3;
// Sink cores per process: rings per worker are an array of this size.
constexpr unsigned k_max_sinks = 16;
// The largest IP datagram plus room for L2 headers (Ethernet + 2 VLAN tags):
// one linearisation slot for a multi-segment or reassembled datagram.
constexpr uint32_t k_scratch_slot = 65535 + 64;
// A frame may use two slots in one burst: a multi-segment fragment is
// linearised to be parsed, then the datagram it completes is linearised again.
constexpr uint32_t k_scratch_slots = 2 * k_burst;
// Empty polls before the worker yields its CPU once (sched_yield). On a
// dedicated core this costs ~1 us of latency after 256 idle polls; on an
// oversubscribed box (lcores > CPUs) it lets the sink and control run.
constexpr uint32_t k_idle_polls_before_yield = 256;
// Per-exporter decode-error log lines per worker per stats interval: the
// burst limit of the rate-limited log (the rest is summarised in one line).
constexpr uint32_t k_exporter_log_burst = 16;

struct config {
    // UDP destination port -> 1 + decode::protocol, 0 = not configured (dropped).
    std::array<uint8_t, 65536> port_map{};
    bool verify_udp_checksum = false;
    // What a full sink ring does to the worker. Live ports: drop and count
    // ring_full (never stall rx). Replay (--pcap): wait for room, so a replay
    // is lossless however slow the sink; a signal still ends the wait.
    bool ring_full_wait = false;
    unsigned nb_sinks = 1;
    decode::decoder_limits limits{};
    uint64_t tsc_hz = 0;
    uint64_t tsc_base = 0;      // rte_rdtsc() at start (elapsed-time reports); each worker keeps its own clock anchor
    uint64_t stats_interval_tsc = 0;
    uint64_t sweep_interval_tsc = 0;  // reassembly timeout sweep period

    void map_port(uint16_t port, decode::protocol p) noexcept { port_map[port] = uint8_t(1 + uint8_t(p)); }
    void set_default_ports() noexcept {
        map_port(2055, decode::protocol::auto_detect);
        map_port(9995, decode::protocol::auto_detect);
        map_port(9996, decode::protocol::auto_detect);
        map_port(4739, decode::protocol::ipfix);
        map_port(6343, decode::protocol::sflow_5);
    }
};

}  // namespace sluice::worker
