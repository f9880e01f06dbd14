// SPDX-License-Identifier: Apache-2.0
// Spool counters: one enum plus a constexpr {name, help, kind} table, one block per spool (output, sink core).
//
// Exported as `sluice_sinks_spool_<name>_total{output="NAME"}`; relaxed stores by the owning sink lcore.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dataplane/counters/counters.hpp"

namespace sluice::sinks {

enum class spool_counter : uint8_t {
    appended, appended_bytes, read, committed, segments_created, segments_deleted, fsyncs, recovered,
    torn, skipped_bytes, dropped_full, dropped_too_big, io_errors, count_
};
constexpr std::size_t spool_counter_count = static_cast<std::size_t>(spool_counter::count_);

inline constexpr std::array<counters::info, spool_counter_count> spool_counter_table{{
    {"appended", "Entries written to the spool (records kept on disk until the destination takes them).",
     counters::kind::volume},
    {"appended_bytes", "Bytes of the entries written to the spool, headers included.", counters::kind::volume},
    {"read", "Entries read back from the spool for replay.", counters::kind::volume},
    {"committed", "Replayed entries confirmed (delivered, or handed back to the spool): past the spool's cursor.",
     counters::kind::volume},
    {"segments_created", "Segment files started.", counters::kind::volume},
    {"segments_deleted", "Segment files deleted once every entry in them was committed.", counters::kind::volume},
    {"fsyncs", "fdatasync(2) calls on spool segments (fsync_ms policy and segment close).", counters::kind::volume},
    {"recovered", "Entries found in the spool at start (left by a previous run), to be replayed.",
     counters::kind::volume},
    {"torn", "Entries found cut short or failing their CRC32C at start (a kill -9 or crash mid-write): "
             "the rest of that segment is skipped and counted in skipped_bytes.",
     counters::kind::error},
    {"skipped_bytes", "Bytes skipped after a torn or corrupt entry.", counters::kind::error},
    {"dropped_full", "Entries dropped because the spool was full (max_bytes): records lost.", counters::kind::drop},
    {"dropped_too_big", "Entries dropped because key + payload exceed the spool's 1 MiB entry bound: records lost.",
     counters::kind::drop},
    {"io_errors", "Spool writes that failed (disk full, I/O error): their entries are lost and counted here.",
     counters::kind::drop},
}};
static_assert(counters::table_complete(spool_counter_table));
static_assert(spool_counter_table.back().name == "io_errors");

using spool_counter_block = counters::block<spool_counter, spool_counter_count>;

}  // namespace sluice::sinks
