// SPDX-License-Identifier: Apache-2.0
// File writer counters: one enum plus a constexpr {name, help, kind} table, one block per (sink lcore, output).
//
// Exported as `sluice_sinks_file_<name>_total{output="NAME"}`; relaxed stores by the owning sink lcore.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dataplane/counters/counters.hpp"

namespace sluice::sinks {

enum class file_counter : uint8_t { bytes, writes, deadline_flushes, rolls, write_errors, count_ };
constexpr std::size_t file_counter_count = static_cast<std::size_t>(file_counter::count_);

inline constexpr std::array<counters::info, file_counter_count> file_counter_table{{
    {"bytes", "Bytes written to the output's files.", counters::kind::volume},
    {"writes", "writev(2) calls (one per full buffer or deadline).", counters::kind::volume},
    {"deadline_flushes", "Flushes forced by the flush deadline (flush_ms) before the buffer was full.",
     counters::kind::volume},
    {"rolls", "Times the output rolled to the next numbered file.", counters::kind::volume},
    {"write_errors", "Flushes that failed (disk full, closed pipe, open failed on a roll): their records are "
                     "counted in the output's `failed`.",
     counters::kind::error},
}};
static_assert(counters::table_complete(file_counter_table));
static_assert(file_counter_table.back().name == "write_errors");

using file_counter_block = counters::block<file_counter, file_counter_count>;

}  // namespace sluice::sinks
