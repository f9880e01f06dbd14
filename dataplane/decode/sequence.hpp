// SPDX-License-Identifier: Apache-2.0
// Sequence-number tracking for one export stream, protocol-agnostic.
//
// Each protocol numbers something different (v5: flows, v9: datagrams, IPFIX:
// data records, sFlow: datagrams per agent and samples per source); the
// decoder passes how many units the current datagram carries. A forward gap
// is counted as loss; a backward step or an implausible jump is a reset
// (exporter restart, or reordering), counted and re-synchronised.
//
// Exporter quirk handled here: some exporters (softflowd's IPFIX) number a
// message with the count *including* its own records instead of the count
// before it. When a gap is explained exactly by that convention, the stream
// switches to it (counted once as dev_sequence_convention) instead of
// reporting loss on every message; it switches back if the standard
// convention fits again.
#pragma once

#include <cstdint>

#include "counters.hpp"

namespace sluice::decode {

struct sequence_tracker {
    // A jump forward larger than this is an exporter restart, not loss:
    // 2^24 units is minutes of loss even for the largest routers.
    static constexpr uint32_t max_plausible_gap = 1u << 24;

    uint32_t last_seq = 0;
    uint32_t last_units = 0;
    bool valid = false;
    bool inclusive = false;  // the exporter counts through the current message

    // The number the next message carries under the standard convention.
    uint32_t next() const noexcept { return last_seq + last_units; }

    void observe(uint32_t seq, uint32_t units, counter_block& c) noexcept {
        if (valid) {
            const uint32_t standard = last_seq + last_units;  // modulo 2^32: wrap is not loss
            const uint32_t through = last_seq + units;
            const uint32_t expected = inclusive ? through : standard;
            if (seq != expected) {
                const uint32_t other = inclusive ? standard : through;
                if (seq == other) {
                    if (!inclusive) c.add(counter::dev_sequence_convention);
                    inclusive = !inclusive;
                } else {
                    const uint32_t gap = seq - expected;
                    if (gap < max_plausible_gap)
                        c.add(counter::sequence_lost, gap);
                    else
                        c.add(counter::sequence_resets);
                }
            }
        }
        last_seq = seq;
        last_units = units;
        valid = true;
    }
};

}  // namespace sluice::decode
