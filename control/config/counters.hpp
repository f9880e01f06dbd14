// SPDX-License-Identifier: Apache-2.0
// Config reload counters: reloads done and refused, output parameter blocks retired and freed.
//
// Names are exported as `sluice_control_config_<name>_total`. Written by the
// control core only (reload_config, reclaim), read by the registry.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dataplane/counters/counters.hpp"

namespace sluice::control::config {

enum class counter : uint8_t { reloads, reload_failures, params_retired, params_freed, count_ };
constexpr std::size_t counter_count = static_cast<std::size_t>(counter::count_);

inline constexpr std::array<counters::info, counter_count> counter_table{{
    {"reloads", "Config reloads requested (SIGHUP), whatever their outcome.", counters::kind::volume},
    {"reload_failures",
     "Reloads that did not apply: the file did not validate (nothing changed) or a worker mailbox was full. The "
     "log line says why.", counters::kind::error},
    {"params_retired", "Output parameter blocks (filter, sample) replaced by a reload, one per sink core and output.",
     counters::kind::volume},
    {"params_freed",
     "Retired blocks freed after their sink core passed a quiescent point. Lagging params_retired for long: a sink "
     "core is stuck in a write.", counters::kind::volume},
}};
static_assert(counter_table.back().name == "params_freed", "counter_table must list every counter, in enum order");

}  // namespace sluice::control::config
