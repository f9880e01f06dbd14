// SPDX-License-Identifier: Apache-2.0
// Counters of the enrichment table runtime (builds, failures by reason, reload triggers, retirements).
#pragma once

#include <array>
#include <cstdint>

#include "dataplane/counters/counters.hpp"

namespace sluice::enrich {

enum class runtime_counter : uint8_t {
    builds_started,
    builds_ok,
    builds_failed_read,
    builds_failed_invalid,
    builds_failed_interner_full,
    builds_deferred,
    build_ns,
    reloads_sighup,
    reloads_period,
    reloads_file_change,
    versions_published,
    versions_retired,
    overrides_sent,
    overrides_failed,
    count_
};
constexpr std::size_t runtime_counter_count = static_cast<std::size_t>(runtime_counter::count_);

inline constexpr std::array<counters::info, runtime_counter_count> runtime_counter_table{{
    {"builds_started", "Table builds started (start-up, SIGHUP, period, a source file changed).", counters::kind::volume},
    {"builds_ok", "Builds that produced a new table version (published).", counters::kind::volume},
    {"builds_failed_read",
     "Builds that failed because a source could not be read or parsed (the log names the file): the previous "
     "table stays.", counters::kind::error},
    {"builds_failed_invalid",
     "Builds that failed validation: a source had bad lines (the log names file and line): the previous table "
     "stays.", counters::kind::error},
    {"builds_failed_interner_full",
     "Builds that would have exceeded the attribute-set interner's bound (4 M distinct sets): the previous table "
     "stays; restart to compact.", counters::kind::error},
    {"builds_deferred",
     "Reload triggers that found a build running or 4 versions waiting for a grace period (a worker not reaching "
     "its loop top): retried on the next trigger.", counters::kind::deviation},
    {"build_ns", "Nanoseconds spent building tables, all builds (off the workers).", counters::kind::volume},
    {"reloads_sighup", "Rebuilds asked for by SIGHUP.", counters::kind::volume},
    {"reloads_period", "Rebuilds because --enrich-refresh elapsed.", counters::kind::volume},
    {"reloads_file_change", "Rebuilds because a source file's mtime or size changed.", counters::kind::volume},
    {"versions_published", "Table versions published to the workers (one atomic pointer swap each).",
     counters::kind::volume},
    {"versions_retired", "Old versions freed after a grace period of every worker.", counters::kind::volume},
    {"overrides_sent",
     "Forced exporter sampling entries (an address or a subnet; set, exemption or removal) sent to the workers' "
     "override path (mailbox).", counters::kind::volume},
    {"overrides_failed",
     "Forced sampling entries not sent because a worker mailbox was full: retried every second until sent.",
     counters::kind::error},
}};
static_assert(runtime_counter_table.size() == runtime_counter_count);

using runtime_counter_block = counters::block<runtime_counter, runtime_counter_count>;

// The current version's sizes, read by the registry on the control core (a reader, not a block): levels, not
// running totals, although the registry's naming gives them the `_total` suffix of every row.
enum class size_row : uint8_t { version, prefixes, intervals_v4, intervals_v6, exporters, interfaces, sets, bytes,
                                last_build_ns, count_ };
constexpr std::size_t size_row_count = static_cast<std::size_t>(size_row::count_);
inline constexpr std::array<counters::info, size_row_count> size_table{{
    {"version", "The live table version's number (1 at start-up, +1 per published rebuild). A level.", counters::kind::volume},
    {"prefixes", "Prefixes of every source in the live version, ranges split. A level.", counters::kind::volume},
    {"intervals_v4", "Disjoint IPv4 intervals of the live merged table. A level.", counters::kind::volume},
    {"intervals_v6", "IPv6 intervals of the live table, outside the IPv4-mapped block (a range run counts once). A level.",
     counters::kind::volume},
    {"exporters", "Rows of the live exporter table. A level.", counters::kind::volume},
    {"interfaces", "Interfaces of the live interface table (file and extra rows). A level.", counters::kind::volume},
    {"sets", "Distinct attribute sets interned so far (never shrinks: restart to compact; bound 4 M). A level.",
     counters::kind::volume},
    {"bytes", "Bytes of the live version's tables. A level.", counters::kind::volume},
    {"last_build_ns", "How long the live version took to build. A level.", counters::kind::volume},
}};

}  // namespace sluice::enrich
