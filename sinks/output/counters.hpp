// SPDX-License-Identifier: Apache-2.0
// Per-output counters: one enum plus a constexpr {name, help, kind} table, one block per (sink lcore, output).
//
// Exported as `sluice_sinks_output_<name>_total{output="NAME"}`. Written by the
// sink lcore that owns the block (relaxed stores), summed by the control core.
// After a clean stop, for every output of every sink core:
//   in = filtered + downsampled + written + failed
// and `in` equals the records that sink core took from its rings.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dataplane/counters/counters.hpp"

namespace sluice::sinks {

enum class output_counter : uint8_t { in, filtered, downsampled, encoded, written, failed, count_ };
constexpr std::size_t output_counter_count = static_cast<std::size_t>(output_counter::count_);

inline constexpr std::array<counters::info, output_counter_count> output_counter_table{{
    {"in", "Records this output was offered (every record its sink core dequeued).", counters::kind::volume},
    {"filtered", "Records the output's filter did not keep (configured, not a loss).", counters::kind::volume},
    {"downsampled", "Records the output's 1-in-N downsampling did not keep (configured, not a loss).",
     counters::kind::volume},
    {"encoded", "Records encoded into the output's buffer.", counters::kind::volume},
    {"written", "Records whose encoded bytes the writer accepted.", counters::kind::volume},
    {"failed", "Records lost because their write failed (see the writer's write_errors): non-zero means loss.",
     counters::kind::drop},
}};
static_assert(counters::table_complete(output_counter_table));
static_assert(output_counter_table.back().name == "failed");

using output_counter_block = counters::block<output_counter, output_counter_count>;

}  // namespace sluice::sinks
