// SPDX-License-Identifier: Apache-2.0
// Per-aggregator counters: one block per (sink lcore, aggregating output).
//
// Exported as `sluice_sinks_aggregate_<name>_total{sink="K",output="NAME"}`. Written by the sink lcore that
// owns the aggregator (relaxed stores), summed by the control core. For every aggregating output:
//   encoded (the output's) = records + late + not_flows
// and, per closed window, its rows (other included) sum to the records the window took.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dataplane/counters/counters.hpp"

namespace sluice::sinks {

enum class aggregate_counter : uint8_t {
    records,
    keys_overflow,
    future,
    clock_skew,
    not_flows,
    windows_closed,
    rows,
    late,
    values_overflow,
    values_reclaimed,
    count_
};
constexpr std::size_t aggregate_counter_count = static_cast<std::size_t>(aggregate_counter::count_);

inline constexpr std::array<counters::info, aggregate_counter_count> aggregate_counter_table{{
    {"records", "Flow records folded into an open window.", counters::kind::volume},
    {"keys_overflow",
     "Records of a key first seen after the window's table was full (max_keys): folded into the window's "
     "'other' row, so totals stay exact but that key cannot rank.",
     counters::kind::deviation},
    {"future", "Records whose flow end time was ahead of the clock's window (an exporter clock running ahead): "
               "aggregated in the clock's window.",
     counters::kind::deviation},
    {"clock_skew", "Records whose flow end time was more than max_age before their reception (an exporter clock "
                   "that is wrong): aggregated by reception time.",
     counters::kind::deviation},
    {"not_flows", "Interface-counter records (sFlow counter samples): not flows, not aggregated.",
     counters::kind::volume},
    {"windows_closed", "Windows closed and emitted.", counters::kind::volume},
    {"rows", "Rows emitted (top K plus one 'other' row per window).", counters::kind::volume},
    {"late", "Records whose window had already closed (flow end older than the clock minus lateness): "
             "not aggregated.",
     counters::kind::drop},
    {"values_overflow",
     "Records with an enrichment value (src_net_site, exporter_name, ...) first seen while the output's value "
     "table was full (max(4 x max_keys, 4096) distinct values at once): folded into the window's 'other' row, "
     "so totals stay exact but that value cannot rank.",
     counters::kind::deviation},
    {"values_reclaimed",
     "Enrichment values freed from the value table at a window close (the table at least half full): values no "
     "open window holds any more, whose room new values take.",
     counters::kind::volume},
}};
static_assert(counters::table_complete(aggregate_counter_table));

using aggregate_counter_block = counters::block<aggregate_counter, aggregate_counter_count>;

}  // namespace sluice::sinks
