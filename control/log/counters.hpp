// SPDX-License-Identifier: Apache-2.0
// Control-core log counters: what the non-blocking log stream dropped, and the worker log lines it printed.
//
// Names are exported as `sluice_control_log_<name>_total`. Written by the
// control core (and the stream's drop counters by whoever logs), read by the registry.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dataplane/counters/counters.hpp"

namespace sluice::control::log {

enum class counter : uint8_t { stderr_dropped_bytes, stderr_dropped_writes, worker_lines, count_ };
constexpr std::size_t counter_count = static_cast<std::size_t>(counter::count_);

inline constexpr std::array<counters::info, counter_count> counter_table{{
    {"stderr_dropped_bytes",
     "Log bytes dropped because stderr had no room (a stalled pipe or terminal): the log has gaps.", counters::kind::drop},
    {"stderr_dropped_writes", "Log writes (lines) that lost bytes that way.", counters::kind::drop},
    {"worker_lines", "Log lines received from the workers' log rings and printed by the control core.",
     counters::kind::volume},
}};
static_assert(counter_table.back().name == "worker_lines", "counter_table must list every counter, in enum order");

}  // namespace sluice::control::log
