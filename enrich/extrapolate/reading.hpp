// SPDX-License-Identifier: Apache-2.0
// One interface counter reading from outside the record stream (SNMP ifHC*Octets), as it travels to a worker.
//
//   control core ──reading (48 B)──► per-worker SPSC rte_ring ──drained at the loop top──► table::reading()
//
// The control core enqueues the rows of each new SNMP snapshot (enrich/snmp/)
// into every worker's ring (it cannot know which worker RSS gives an
// exporter's flows); the worker hands them to its extrapolation table, off
// the per-packet path. A full ring drops the reading and the control core
// counts it (sluice_enrich_snmp_feed_readings_dropped_total).
#pragma once

#include <cstdint>

namespace sluice::enrich::extrapolate {

struct reading {
    uint8_t exporter[16];  // sampler_address of the records (IPv4-mapped for IPv4)
    uint32_t ifindex;
    uint32_t reserved;     // 0
    uint64_t in_octets;    // ifHCInOctets
    uint64_t out_octets;   // ifHCOutOctets
    uint64_t t_ns;         // when it was read (CLOCK_REALTIME)
};
static_assert(sizeof(reading) == 48, "rte_ring elements: a multiple of 4 bytes");

// Readings one worker's ring holds (power of two; one slot unused): a
// snapshot of up to this many interfaces reaches a worker in one go; the
// worker drains up to k_reading_burst per loop iteration.
constexpr unsigned k_reading_ring = 16384;
constexpr unsigned k_reading_burst = 64;

}  // namespace sluice::enrich::extrapolate
