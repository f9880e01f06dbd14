// SPDX-License-Identifier: Apache-2.0
// Sink-core counters: one enum plus a constexpr {name, help, kind} table, one block per sink lcore.
//
// Exported as `sluice_sinks_stage_<name>_total`; relaxed stores by the sink lcore.
// After a clean stop the sum of `records` over sink cores equals the workers'
// records_enqueued: every enqueued record was taken from a ring and offered to
// every output (whose own counters say what became of it).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dataplane/counters/counters.hpp"

namespace sluice::sinks {

enum class stage_counter : uint8_t { records, batches, cpu_ns, count_ };
constexpr std::size_t stage_counter_count = static_cast<std::size_t>(stage_counter::count_);

inline constexpr std::array<counters::info, stage_counter_count> stage_counter_table{{
    {"records", "Records taken from the worker rings (each offered to every output).", counters::kind::volume},
    {"batches", "Ring peeks that returned records (records / batches = the batch size).", counters::kind::volume},
    {"cpu_ns", "CPU time the sink lcore's thread used, ns (CLOCK_THREAD_CPUTIME_ID, read every ~25 ms and at stop): "
               "records / cpu_ns is the sink core's rate even on a shared CPU.",
     counters::kind::volume},
}};
static_assert(counters::table_complete(stage_counter_table));
static_assert(stage_counter_table.back().name == "cpu_ns");

using stage_counter_block = counters::block<stage_counter, stage_counter_count>;

}  // namespace sluice::sinks
