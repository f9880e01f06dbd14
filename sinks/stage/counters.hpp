// SPDX-License-Identifier: Apache-2.0
// Sink-core counters: one enum plus a constexpr {name, help, kind} table, one block per sink lcore.
//
// Exported as `sluice_sinks_stage_<name>_total`; relaxed stores by the sink lcore.
// After a clean stop the sum of `records` over sink cores equals the workers'
// records_enqueued: every enqueued record was taken from a ring and offered to
// every output (whose own counters say what became of it).
//
// The member_cache_* rows are the sink core's enrichment member caches' own counts (enrich/tables/resolve.hpp:
// one cache per format with an output, json and ecs): a hit is a (set, scope) found rendered, a miss one rendered
// into the cache (the interner's blob read). The cache counts in plain integers of its own; the sink core copies
// them into this block once per batch (run_outputs), so the control core reads them without a race. 0 when
// enrichment is off or the sink core has no output of that format.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dataplane/counters/counters.hpp"

namespace sluice::sinks {

enum class stage_counter : uint8_t {
    records,
    batches,
    cpu_ns,
    member_cache_json_hits,
    member_cache_json_misses,
    member_cache_ecs_hits,
    member_cache_ecs_misses,
    count_
};
constexpr std::size_t stage_counter_count = static_cast<std::size_t>(stage_counter::count_);

inline constexpr std::array<counters::info, stage_counter_count> stage_counter_table{{
    {"records", "Records taken from the worker rings (each offered to every output).", counters::kind::volume},
    {"batches", "Ring peeks that returned records (records / batches = the batch size).", counters::kind::volume},
    {"cpu_ns", "CPU time the sink lcore's thread used, ns (CLOCK_THREAD_CPUTIME_ID, read every ~25 ms and at stop): "
               "records / cpu_ns is the sink core's rate even on a shared CPU.",
     counters::kind::volume},
    {"member_cache_json_hits", "Enriched members of the json format copied from the sink core's member cache "
                               "(one per record and attribute set: src, dst, exporter, in_if, out_if).",
     counters::kind::volume},
    {"member_cache_json_misses", "Attribute sets of the json format rendered into the member cache (first seen, "
                                 "or evicted since): hits / (hits + misses) is the cache's hit rate.",
     counters::kind::volume},
    {"member_cache_ecs_hits", "The same for the ecs_json format's cache (src and dst share its entries).",
     counters::kind::volume},
    {"member_cache_ecs_misses", "Attribute sets of the ecs_json format rendered into its member cache.",
     counters::kind::volume},
}};
static_assert(counters::table_complete(stage_counter_table));
static_assert(stage_counter_table.back().name == "member_cache_ecs_misses");

using stage_counter_block = counters::block<stage_counter, stage_counter_count>;

}  // namespace sluice::sinks
