// SPDX-License-Identifier: Apache-2.0
// Sequence-number tracking for one export stream, protocol-agnostic.
//
// Each protocol numbers something different (v5: flows, v9: datagrams, IPFIX:
// data records, sFlow: datagrams per agent and samples per source); the
// decoder passes how many units the current datagram carries. A forward gap
// is counted as loss; a backward step or an implausible jump is a reset
// (exporter restart, or reordering), counted and re-synchronised.
#pragma once

#include <cstdint>

#include "counters.hpp"

namespace sluice::decode {

struct sequence_tracker {
    // A jump forward larger than this is an exporter restart, not loss:
    // 2^24 units is minutes of loss even for the largest routers.
    static constexpr uint32_t max_plausible_gap = 1u << 24;

    uint32_t next = 0;
    bool valid = false;

    void observe(uint32_t seq, uint32_t units, counter_block& c) noexcept {
        if (valid) {
            const uint32_t gap = seq - next;  // modulo 2^32: wrap is not loss
            if (gap != 0) {
                if (gap < max_plausible_gap)
                    c.add(counter::sequence_lost, gap);
                else
                    c.add(counter::sequence_resets);
            }
        }
        next = seq + units;
        valid = true;
    }
};

}  // namespace sluice::decode
