// SPDX-License-Identifier: Apache-2.0
// Sink-stage tuning constants and the stage's parameters.
#pragma once

#include <cstdint>
#include <vector>

#include "sinks/output/config.hpp"

namespace sluice::sinks {

// Records peeked per ring call when there are outputs: 256 x 320 B = 80 KiB of
// slots, read in place by every output before they are released; stays in L2
// while each output walks it, and releases slots to the worker often.
constexpr unsigned k_sink_burst = 256;
// Records per ring call with no output (--sink-discard): nothing to encode,
// so release big runs of slots per call and stay off the worker's path.
constexpr unsigned k_discard_burst = 4096;
// Empty passes over all rings before yielding the CPU (see the worker's
// k_idle_polls_before_yield: same trade-off).
constexpr uint32_t k_idle_passes_before_yield = 64;

struct stage_config {
    std::vector<output_config> outputs;  // empty = discard (benchmarks)
    // Test knob: sleep this long after every dequeued batch to make the sink
    // slow on purpose and provoke ring_full drops. Never set in production.
    uint32_t delay_us = 0;
};

}  // namespace sluice::sinks
