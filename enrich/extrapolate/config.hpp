// SPDX-License-Identifier: Apache-2.0
// Extrapolation parameters (--extrapolate, --extrapolate-window, --extrapolate-min/max-factor,
// --extrapolate-interfaces) and their defaults.
#pragma once

#include <cstdint>

namespace sluice::enrich::extrapolate {

struct config {
    bool enabled = false;  // --extrapolate
    // A window closes at the first interface counter reading at least this
    // long after the window opened. 30 s: sFlow agents send counters every
    // 20-30 s by default (sFlow v5 spec: counter sampling interval), SNMP
    // pollers every 30-300 s; a shorter window than the counter period just
    // closes at every reading.
    uint64_t window_ns = 30'000'000'000ull;
    // Bounds of the per-interface factor: actual octets / (sampled octets x
    // rate). 0.5-2: a factor outside means the rate or the counters are
    // wrong rather than sampling noise (at 1-in-N with n samples per window
    // the noise is ~1/sqrt(n): 10 % at 100 samples), so the correction is
    // capped and counted (factor_clamped) instead of trusted.
    double min_factor = 0.5;
    double max_factor = 2.0;
    // (exporter, ifIndex) pairs one worker tracks: preallocated, in sets of
    // k_ways; a new interface evicts the least recently updated one of its
    // set (counted interfaces_evicted). 8192 x 128 B = 1 MiB per worker.
    uint32_t max_interfaces = 8192;
};

}  // namespace sluice::enrich::extrapolate
