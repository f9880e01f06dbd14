// SPDX-License-Identifier: Apache-2.0
// Classifier counters: the live holder's (control core) and the workers' payload scans.
//
// Exported as `sluice_enrich_classify_<name>_total` (control core, one
// block) and `sluice_enrich_classify_scan_<name>_total` (one block per worker).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dataplane/counters/counters.hpp"

namespace sluice::enrich::classify {

enum class counter : uint8_t { reloads, reload_errors, versions_retired, versions_freed, count_ };
constexpr std::size_t counter_count = static_cast<std::size_t>(counter::count_);
using K = counters::kind;

inline constexpr std::array<counters::info, counter_count> counter_table{{
    {"reloads", "Rule databases compiled and published (at start and on each change of the rules file).", K::volume},
    {"reload_errors",
     "Rules files that failed to load or compile (the log line names the file, line and rule): the previous "
     "database stays in use.", K::error},
    {"versions_retired", "Databases replaced and waiting for every worker's quiescent state.", K::volume},
    {"versions_freed", "Replaced databases freed after their grace period.", K::volume},
}};
static_assert(counters::table_complete(counter_table));
using counter_block = counters::block<counter, counter_count>;

enum class scan_counter : uint8_t { headers_scanned, header_bytes, records_tagged, count_ };
constexpr std::size_t scan_counter_count = static_cast<std::size_t>(scan_counter::count_);
inline constexpr std::array<counters::info, scan_counter_count> scan_counter_table{{
    {"headers_scanned", "Sampled packet headers (sFlow raw header records) scanned by the payload rules.",
     K::volume},
    {"header_bytes", "Bytes of those headers.", K::volume},
    {"records_tagged", "Records at least one payload rule matched (signature_tags != 0).", K::volume},
}};
static_assert(counters::table_complete(scan_counter_table));
using scan_counter_block = counters::block<scan_counter, scan_counter_count>;

}  // namespace sluice::enrich::classify
