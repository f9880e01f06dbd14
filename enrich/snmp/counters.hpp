// SPDX-License-Identifier: Apache-2.0
// SNMP poller counters: one enum plus a constexpr {name, help, kind} table, one block per poller thread.
//
// Every poll of an agent ends in exactly one of polls_ok, polls_timeout,
// polls_error: polls = the sum. Exported as `sluice_enrich_snmp_<name>_total`.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dataplane/counters/counters.hpp"

namespace sluice::enrich::snmp {

enum class counter : uint16_t {
    polls,
    polls_ok,
    polls_timeout,
    polls_error,
    requests,
    interfaces_polled,
    snapshots_published,
    count_  // keep last
};

constexpr std::size_t counter_count = static_cast<std::size_t>(counter::count_);
using K = counters::kind;

inline constexpr std::array<counters::info, counter_count> counter_table{{
    {"polls", "Polls of an agent started (every configured agent, each interval).", K::volume},
    {"polls_ok", "Polls that read every column: the agent's interfaces were replaced in the next snapshot.",
     K::volume},
    {"polls_timeout",
     "Polls an agent did not answer (after the retries): its last values stay in the snapshot. Non-zero: the "
     "device is down, unreachable, or the community is wrong (v2c agents stay silent on a bad community).",
     K::error},
    {"polls_error", "Polls that failed otherwise (an SNMP error status, a session that could not be opened, a "
                    "malformed answer): the last values stay.", K::error},
    {"requests", "GETBULK requests sent (answered or not).", K::volume},
    {"interfaces_polled", "Interfaces read by successful polls.", K::volume},
    {"snapshots_published", "Snapshots published (one after each successful poll).", K::volume},
}};

static_assert(counter_table.back().name == "snapshots_published", "counter_table must list every counter, in enum order");
static_assert(counters::table_complete(counter_table));

using counter_block = counters::block<counter, counter_count>;

// The control core's side of SNMP readings to the workers' extrapolation
// tables (enrich/extrapolate/reading.hpp): `sluice_enrich_snmp_feed_<name>_total`.
enum class feed_counter : uint8_t { readings_sent, readings_dropped, count_ };
constexpr std::size_t feed_counter_count = static_cast<std::size_t>(feed_counter::count_);
inline constexpr std::array<counters::info, feed_counter_count> feed_counter_table{{
    {"readings_sent", "Interface counter readings (rows with ifHCIn/OutOctets) enqueued to a worker, summed over "
                      "workers (every worker gets every reading).", K::volume},
    {"readings_dropped", "Readings a worker's full reading ring refused: that interface's window stays open until "
                         "the next poll. Non-zero: the worker is not reaching its loop top.", K::drop},
}};
using feed_counter_block = counters::block<feed_counter, feed_counter_count>;

}  // namespace sluice::enrich::snmp
