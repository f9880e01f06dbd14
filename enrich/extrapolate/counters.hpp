// SPDX-License-Identifier: Apache-2.0
// Extrapolation counters: one enum plus a constexpr {name, help, kind} table, one block per worker.
//
// Every flow record a worker extrapolates counts records_extrapolated; of
// those, records_scaled had an interface factor from a closed window (the
// others got the sampling rate only). Exported as
// `sluice_enrich_extrapolate_<name>_total`.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dataplane/counters/counters.hpp"

namespace sluice::enrich::extrapolate {

enum class counter : uint16_t {
    records_extrapolated,
    records_scaled,
    counter_readings,
    windows_closed,
    windows_unsampled,
    factor_clamped,
    counter_resets,
    interfaces_tracked,
    interfaces_evicted,
    count_  // keep last
};

constexpr std::size_t counter_count = static_cast<std::size_t>(counter::count_);
using K = counters::kind;

inline constexpr std::array<counters::info, counter_count> counter_table{{
    {"records_extrapolated", "Flow records given extrapolated_bytes/packets (sampling rate, then interface factor).",
     K::volume},
    {"records_scaled", "Extrapolated records whose interface had a factor from a closed window (the rest got the "
                       "sampling rate alone).", K::volume},
    {"counter_readings", "Interface counter readings taken (sFlow counter samples, SNMP ifHC*Octets polls).",
     K::volume},
    {"windows_closed", "Per-interface, per-direction windows closed with a new factor.", K::volume},
    {"windows_unsampled",
     "Windows closed with octets on an interface that had sampled records before, but none in this window: no "
     "factor could be computed (the previous one stays). Non-zero: the exporter stopped sampling the interface, or "
     "its flows stopped reaching this worker.", K::deviation},
    {"factor_clamped",
     "Factors outside --extrapolate-min/max-factor, clamped to the bound. Non-zero: the sampling rate the exporter "
     "reports, or its counters, are probably wrong (see --sampling-override).", K::deviation},
    {"counter_resets", "Counter readings lower than the previous one (agent restart, counter reset): the window was "
                       "discarded and restarted.", K::deviation},
    {"interfaces_tracked", "Interfaces (exporter, ifIndex) the table started tracking.", K::volume},
    {"interfaces_evicted",
     "Tracked interfaces evicted for a new one because their set of the table was full: their factor is lost. "
     "Non-zero: raise --extrapolate-interfaces.", K::deviation},
}};

static_assert(counter_table.back().name == "interfaces_evicted", "counter_table must list every counter, in enum order");
static_assert(counters::table_complete(counter_table));

using counter_block = counters::block<counter, counter_count>;

}  // namespace sluice::enrich::extrapolate
