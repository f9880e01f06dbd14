// SPDX-License-Identifier: Apache-2.0
// The sink stage: a sink lcore reads records in place from its worker rings and runs every output over each batch.
//
//   ring[w][s] ──peek (zero copy)──► batch ──► output 1: filter ─► downsample ─► encode ─► file buffer ─► writev
//                                      │   ├─► aggregating output: filter ─► downsample ─► window (rows at close)
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
//                    ├──owns──► output_slot[o]: file_writer (its own file) or kafka_writer (its own
//                    │          producer and spool directory), counter blocks
//                    └──borrows──► rings[w][s] for every worker w (sink s is their single consumer),
//                                  output_config (immutable, owned by main)
//                    └──reads──► output_params (filter, sample): an immutable block a reload
//                                replaces (below)
//   sink lcore s: the only writer of its context from launch to join; it
//                 flushes its writers itself before it returns.
//   control core: reads the counter blocks (relaxed) while it runs.
//
// Live parameters (a config reload, control/config/reload.hpp):
//
//   control core: next = new output_params; old = publish_params(slot, next)
//                 mark = sink.passes; free old once sink.passes > mark
//   sink core:    p = slot.params.load() once per batch ... passes += 1 after each pass over its rings
//
// A batch runs with the block it loaded at its start; the pass counter is
// the sink core's quiescent point (it holds no block between passes), so a
// retired block is freed only after every batch that could hold it ended.
// No lock and one atomic load per batch and output on the sink's path.
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
#include "sinks/aggregate/aggregate.hpp"
#include "sinks/file/file.hpp"
#include "sinks/kafka/kafka.hpp"
#include "sinks/hdfs/hdfs.hpp"
#include "sinks/output/output.hpp"
#include "enrich/classify/labels.hpp"
#include "enrich/tables/resolve.hpp"
#include "sinks/encode/enriched.hpp"

namespace sluice::sinks {

// The part of an output a reload may change live: immutable once published.
struct output_params {
    uint32_t sample = 1;    // keep 1 in N (output_config::sample)
    record_filter filter;   // empty: keep everything
    std::string filter_text;
};

// One output on one sink core.
struct alignas(64) output_slot {
    const output_config* cfg = nullptr;
    // Read once per batch by the sink core; swapped by the control core (publish_params).
    std::atomic<const output_params*> params{nullptr};
    std::unique_ptr<const output_params> owned;  // the block `params` points at (control core)
    std::unique_ptr<file_writer> writer;    // writer_kind::file (else null)
    std::unique_ptr<kafka_writer> kafka;    // writer_kind::kafka (else null): polled every pass
    std::unique_ptr<hdfs::hdfs_writer> hdfs;    // writer_kind::hdfs (its threads' counter blocks inside)
    uint64_t flush_tsc = 0;                 // cfg->file.flush_ms in TSC cycles
    std::unique_ptr<aggregator> agg;        // aggregating outputs only (cfg->aggregate)
    uint64_t agg_last_tsc = 0;              // TSC of the last batch the aggregator took
    alignas(64) output_counter_block counters;
    alignas(64) file_counter_block file_counters;
    alignas(64) aggregate_counter_block agg_counters;
    alignas(64) kafka_counter_block kafka_counters;
    alignas(64) spool_counter_block spool_counters;
    alignas(64) hdfs::handoff_counter_block handoff_counters;  // hdfs: the sink lcore's side of the handoff
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
    // The key names the protobuf and Avro encoders write custom keys under (borrowed likewise; nullptr = off).
    const encode::enriched_keys* enrich_keys = nullptr;
    // This sink core's renderings of the sets (enrich/tables/resolve.hpp), one per format that has an output;
    // null: the json members are rendered from the interner each time, the ECS JSON carries none.
    std::unique_ptr<enrich::member_cache> enrich_json_cache, enrich_ecs_cache;
    // --rules: the names of signature_tags' bits, which the JSON and ECS JSON lines carry too (borrowed from the
    // daemon's classifier, which outlives the sinks; nullptr = no rules).
    const enrich::classify::signature_labels* signature_labels = nullptr;
    alignas(64) stage_counter_block counters;
    // Passes over the rings completed (the sink core's quiescent points; written by it only).
    alignas(64) std::atomic<uint64_t> passes{0};
};

// Control core: makes `next` the block output `o` reads from its next batch
// on; returns the previous one, which the caller frees once the sink core's
// `passes` is beyond the value read after this call.
std::unique_ptr<const output_params> publish_params(output_slot& o, std::unique_ptr<const output_params> next) noexcept;

// Builds sink core `id`'s output slots (opens its files). Throws naming the output.
void add_outputs(sink_context& s, const std::vector<output_config>& outs, unsigned sinks, uint64_t tsc_hz);

// Runs every output of `s` over n records (also used by the benchmarks).
void run_outputs(sink_context& s, const decode::flow_record* recs, unsigned n) noexcept;

// Flushes every output of `s` (benchmarks; an hdfs output hands its batch to its writer thread).
void flush_outputs(sink_context& s) noexcept;

// Closes every aggregating output's open windows (their rows are written), flushes, and joins every hdfs
// output's threads (files closed and renamed, the WebHDFS drain done): the sink lcore at stop. Idempotent.
void finish_outputs(sink_context& s) noexcept;

// The clock of every aggregating output moves on by the time since its last batch; closes due windows.
void advance_aggregates(sink_context& s, uint64_t now_tsc, uint64_t tsc_hz) noexcept;

// The lcore entry point; arg is a sink_context*.
int sink_main(void* arg);

}  // namespace sluice::sinks
