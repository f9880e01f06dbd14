// SPDX-License-Identifier: Apache-2.0
// Interim JSON-lines sink parameters and their defaults.
#pragma once

#include <cstdint>
#include <string>

namespace sluice::sinks {

struct json_file_config {
    std::string path = "-";  // "-" = stdout
    // Roll to PATH.1, PATH.2, ... once a file would exceed this many bytes.
    // 1 GiB keeps files small enough for ordinary tools; 0 = never roll.
    uint64_t roll_bytes = 1ull << 30;
    // Test knob: sleep this long after every dequeued burst to make the sink
    // slow on purpose and provoke ring_full drops. Never set in production.
    uint32_t delay_us = 0;
};

}  // namespace sluice::sinks
