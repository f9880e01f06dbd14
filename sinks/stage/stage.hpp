// SPDX-License-Identifier: Apache-2.0
// The sink stage: a sink lcore reads records in place from its worker rings and runs every output over each batch.
//
//   ring[w][s] ──peek (zero copy)──► batch ──► output 1: filter ─► downsample ─► encode ─► file buffer ─► writev
//   (every worker w)                   │   ├─► output 2: ...                                   (size or deadline)
//                                      └───┴─► release the slots after the last output
//
// One record reaches every output from the same ring slot: the worker wrote
// it once, no stage copies it (a downsampled output copies the record it
// keeps to its stack to rescale sampling_rate: the ring slot is shared).
// Encoders and writers are chosen by a switch once per batch / per flush,
// never by a virtual call per record.
//
// Ownership and lifetime:
//
//   main ──owns──► sink_context[s] (one per sink lcore, on its socket)
//                    ├──owns──► output_slot[o]: file_writer (its own file), counter blocks
//                    └──borrows──► rings[w][s] for every worker w (sink s is their single consumer),
//                                  output_config and record_filter (immutable, owned by main)
//   sink lcore s: the only writer of its context from launch to join; it
//                 flushes its writers itself before it returns.
//   control core: reads the counter blocks (relaxed) while it runs.
//
// No lock anywhere: sink cores share nothing (each writes its own files).
// The sink lcore stops when the stop flag is set AND every ring it drains is
// empty, so a clean stop loses nothing that was enqueued: main sets the flag
// only after every worker has joined.
#pragma once

#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "config.hpp"
#include "counters.hpp"
#include "sinks/file/file.hpp"
#include "sinks/output/output.hpp"
#include "enrich/tables/resolve.hpp"

namespace sluice::sinks {

// One output on one sink core.
struct alignas(64) output_slot {
    const output_config* cfg = nullptr;
    record_filter filter;                   // empty: keep everything
    std::unique_ptr<file_writer> writer;
    uint64_t flush_tsc = 0;                 // cfg->file.flush_ms in TSC cycles
    alignas(64) output_counter_block counters;
    alignas(64) file_counter_block file_counters;
};

struct alignas(64) sink_context {
    unsigned id = 0;
    unsigned lcore = 0;
    std::vector<rte_ring*> rings;                      // one per worker
    std::vector<std::unique_ptr<output_slot>> outputs; // empty: discard (counted in `records`)
    const std::atomic<bool>* stop = nullptr;
    uint32_t delay_us = 0;
    // Enrichment on: the JSON carries the members of the records' attribute ids (borrowed from the daemon,
    // which frees them after the sinks joined). nullptr = off.
    const enrich::interner* enrich_interner = nullptr;
    const enrich::json_names* enrich_names = nullptr;
    alignas(64) stage_counter_block counters;
};

// Builds sink core `id`'s output slots (opens its files). Throws naming the output.
void add_outputs(sink_context& s, const std::vector<output_config>& outs, unsigned sinks, uint64_t tsc_hz);

// Runs every output of `s` over n records (also used by the benchmarks).
void run_outputs(sink_context& s, const decode::flow_record* recs, unsigned n) noexcept;

// Flushes every output of `s` (the sink lcore at stop; benchmarks).
void flush_outputs(sink_context& s) noexcept;

// The lcore entry point; arg is a sink_context*.
int sink_main(void* arg);

}  // namespace sluice::sinks
