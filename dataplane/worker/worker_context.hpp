// SPDX-License-Identifier: Apache-2.0
// The per-worker context: everything one worker lcore touches, in one alignas(64) block.
//
// Ownership and lifetime:
//
//   main (setup) ──creates on the worker's socket──► context ──owns──► exporter_table
//                                                        │      ├──owns──► frag_table (rte_ip_frag)
//                                                        │      ├──owns──► staging buffer, scratch slots
//                                                        │      └──owns──► counters
//                                                        └──borrows──► port/queue, mempool,
//                                                                      rings[sink], config, stop flag
//   worker lcore: the only writer of everything it owns, from launch to join.
//   control core: reads `counters` (relaxed atomics) while the worker runs,
//                 and `snapshot` after the worker published it (see below);
//                 reads everything else only after the worker has joined.
//   main (teardown): saves template state, prints stats, destroys the context
//                 (frag table first, which frees the mbufs it still holds).
#pragma once

#include <rte_mempool.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "config.hpp"
#include "counters.hpp"
#include "dataplane/decode/decoder.hpp"
#include "dataplane/exception/config.hpp"
#include "dataplane/exception/counters.hpp"
#include "dataplane/reassembly/reassembly.hpp"

namespace sluice::worker {

// The replay clock of one pcap port: capture times in ns, packet by packet,
// kept only when the file has sub-microsecond times that net_pcap's
// microsecond dynfield would lose.
struct replay_clock {
    std::vector<uint64_t> ns;
};

struct alignas(64) context {
    // ---- read-mostly, hot ----
    unsigned id = 0;        // worker index (0..workers-1)
    unsigned lcore = 0;
    uint16_t port_id = 0;
    uint16_t queue_id = 0;
    bool nic_cksum = false;         // the port fills checksum verdicts in ol_flags
    bool pcap_timestamps = false;   // mbuf timestamp dynfield holds capture time in us
    int ts_offset = -1;             // timestamp dynfield offset, -1 = none
    uint64_t ts_flag = 0;           // its rx dynflag
    rte_mempool* pool = nullptr;
    const config* cfg = nullptr;
    const std::atomic<bool>* stop = nullptr;   // leave the loop after the burst in hand
    const std::atomic<bool>* abort = nullptr;  // SIGINT/SIGTERM: also ends a ring_full wait
    const exception::address_config* addresses = nullptr;
    const replay_clock* replay = nullptr;
    rte_ring* rings[k_max_sinks]{};  // SPSC record rings, written in place (dataplane/ring/record_ring.hpp)
    unsigned ring_capacity = 0;       // records one ring holds (rte_ring_get_capacity): the most one reservation asks

    // ---- receive clock: wall time = clock_wall_ns + (tsc - clock_tsc) / hz ----
    // Re-anchored by the worker every 10 ms, so an error in the
    // TSC frequency estimate (and wall-clock adjustments) cannot accumulate.
    uint64_t clock_tsc = 0;
    uint64_t clock_wall_ns = 0;

    // ---- owned state ----
    std::unique_ptr<decode::exporter_table> exporters;
    std::unique_ptr<reassembly::frag_table> frags;
    // Staging for a datagram that cannot be decoded in place into its ring
    // reservation (the reservation wraps, or the ring is nearly full):
    // decode::max_records_per_datagram records, copied into the ring after.
    std::unique_ptr<decode::flow_record[]> record_storage;
    std::unique_ptr<uint8_t[]> scratch;                     // k_scratch_slots slots of k_scratch_slot
    uint64_t replay_index = 0;                              // packets seen, for the replay clock

    // ---- counters (control core reads these while running) ----
    alignas(64) counter_block counters;
    alignas(64) exception::counter_block exception_counters;

    // ---- template-state snapshots for the periodic save ----
    // The control core bumps `snapshot_requested`; between bursts the worker
    // serializes its own exporter table into `snapshot` and publishes it by
    // storing the request number in `snapshot_done` (release). The control
    // core reads `snapshot` only after loading that number (acquire), and
    // asks again only after that. The worker's live table is never shared.
    alignas(64) std::atomic<uint64_t> snapshot_requested{0};
    std::atomic<uint64_t> snapshot_done{0};
    std::vector<uint8_t> snapshot;

    // ---- rate-limited exporter error log (worker-only) ----
    std::vector<decode::counter_block> logged;  // by exporter creation order
    std::atomic<bool> finished{false};          // set by the worker as it leaves the loop
};

// The lcore entry point (rte_eal_remote_launch); arg is a context*.
int worker_main(void* arg);

// The decode-error counters that moved for one exporter since `last`, as
// "name +n, name +n"; empty when none. Updates `last`.
std::string moved_errors(const decode::counter_block& now, decode::counter_block& last);

}  // namespace sluice::worker
