// SPDX-License-Identifier: Apache-2.0
// The per-worker context: everything one worker lcore touches, in one alignas(64) block.
//
// Ownership and lifetime:
//
//   main (setup) ──creates on the worker's socket──► context ──owns──► exporter_table
//                                                        │      ├──owns──► reassembler (fragment slab; counts into `counters`)
//                                                        │      ├──owns──► staging buffer, scratch slots
//                                                        │      └──owns──► counters
//                                                        └──borrows──► port/queue, mempool,
//                                                                      rings[sink], config, stop flag
//   worker lcore: the only writer of everything it owns, from launch to join.
//   control core: reads `counters` (relaxed atomics) while the worker runs,
//                 talks to it only through its mailbox rings (mailbox.hpp),
//                 reads `snapshot` after the worker acked it;
//                 reads everything else only after the worker has joined.
//   main (teardown): saves template state, prints stats, destroys the context.
//                 The reassembler holds copies of fragment bytes, never mbufs.
#pragma once

#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "config.hpp"
#include "counters.hpp"
#include "mailbox.hpp"
#include "dataplane/decode/decoder.hpp"
#include "dataplane/exception/config.hpp"
#include "dataplane/exception/counters.hpp"
#include "dataplane/reassembly/reassembly.hpp"  // pure: bytes in, bytes out
#include "enrich/classify/classify.hpp"          // pure: Hyperscan, caller-supplied RCU
#include "enrich/extrapolate/extrapolate.hpp"    // pure: records in place
#include "enrich/tables/tables.hpp"             // pure: the per-record lookup

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
    int tx_queue_id = -1;   // this worker's own tx queue on port_id; -1 = none (exception replies counted, not sent)
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
    // The reassembler's clock: false = TSC cycles, swept on a timer (live ports);
    // true = capture time in ns, expired frame by frame like sluice-decode (--pcap replay).
    bool frag_capture_clock = false;
    rte_ring* rings[k_max_sinks]{};  // SPSC record rings, written in place (dataplane/ring/record_ring.hpp)
    unsigned ring_capacity = 0;       // records one ring holds (rte_ring_get_capacity): the most one reservation asks

    // ---- receive clock: wall time = clock_wall_ns + (tsc - clock_tsc) / hz ----
    // Re-anchored by the worker every 10 ms, so an error in the
    // TSC frequency estimate (and wall-clock adjustments) cannot accumulate.
    uint64_t clock_tsc = 0;
    uint64_t clock_wall_ns = 0;

    // ---- owned state ----
    std::unique_ptr<decode::exporter_table> exporters;
    std::unique_ptr<reassembly::reassembler> frags;         // ticks per frag_capture_clock; counts into counters.frag_counters()
    // Staging for a datagram that cannot be decoded in place into its ring
    // reservation (the reservation wraps, or the ring is nearly full):
    // decode::max_records_per_datagram records, copied into the ring after.
    std::unique_ptr<decode::flow_record[]> record_storage;
    std::unique_ptr<uint8_t[]> scratch;                     // k_scratch_slots slots of k_scratch_slot
    // --extrapolate: this worker's (exporter, ifIndex) factors; null = off.
    // Applied to each datagram's records right after decode, in the ring slot.
    std::unique_ptr<enrich::extrapolate::table> extrapolator;
    // --rules: the live classifier (borrowed; its versions are RCU-protected
    // by `qsbr`) and the per-record sampled-header spans decode fills for it,
    // as many as the largest record_buffer (a ring reservation or the staging
    // buffer); null = off.
    const enrich::classify::live* classifier = nullptr;
    std::unique_ptr<decode::header_span[]> header_spans;
    alignas(64) enrich::classify::scan_counter_block classify_counters;
    uint64_t replay_index = 0;                              // packets seen, for the replay clock

    // ---- counters (control core reads these while running) ----
    alignas(64) counter_block counters;
    alignas(64) exception::counter_block exception_counters;

    // ---- mailbox (mailbox.hpp) and RCU ----
    // The worker polls `mailbox_in` at the top of each loop iteration and
    // posts log lines and acks on `mailbox_out`; both SPSC, created and
    // drained by the control core. `qsbr`: the worker registers as thread
    // `id`, goes online at entry, reports a quiescent state once per loop
    // iteration (it holds no reference to shared tables there) and goes
    // offline as it leaves.
    rte_ring* mailbox_in = nullptr;
    rte_ring* mailbox_out = nullptr;
    rte_rcu_qsbr* qsbr = nullptr;
    // SNMP counter readings for `extrapolator` (enrich/extrapolate/reading.hpp):
    // SPSC, filled by the control core, drained at the loop top; null = none.
    rte_ring* readings = nullptr;
    // The live enrichment table (enrich/runtime/publisher.hpp): loaded once per burst, after the loop-top
    // quiescent report, and not kept past the burst. nullptr = enrichment off.
    const std::atomic<const enrich::table_version*>* enrich_tables = nullptr;

    // ---- template-state snapshot for the periodic save ----
    // Filled by the worker on a snapshot_template_state command, published by
    // its ack (the ring orders the bytes); the control core reads it only
    // after the ack and asks again only after that. The worker's live table
    // is never shared.
    std::vector<uint8_t> snapshot;

    // ---- rate-limited exporter error log (worker-only) ----
    std::vector<decode::counter_block> logged;      // by exporter-table slot
    std::vector<uint32_t> logged_generation;        // the slot's generation `logged` belongs to
    // ---- rate-limited fragment-loss log (worker-only): frag_* values at the last line, next deadline ----
    std::array<uint64_t, reassembly::counter_count> frag_logged{};
    uint64_t frag_next_log = 0;
    std::atomic<bool> finished{false};          // set by the worker as it leaves the loop
};

// The lcore entry point (rte_eal_remote_launch); arg is a context*.
int worker_main(void* arg);

// The decode-error counters that moved for one exporter since `last`, as
// "name +n, name +n"; empty when none. Updates `last`.
std::string moved_errors(const decode::counter_block& now, decode::counter_block& last);

}  // namespace sluice::worker
