// SPDX-License-Identifier: Apache-2.0
// The control loop on the main lcore: periodic summary line, periodic saves, end-of-replay detection.
//
// Runs from launch until a signal, the end of a replay or --duration, every
// 20 ms: template_saver::tick, replay progress, the summary line each
// --stats-interval. It never blocks on a worker.
#pragma once

#include "control/stats/stats.hpp"

namespace sluice::control {

struct daemon;

// Returns when the workers should stop (the caller sets the flag and joins).
void control_loop(daemon& d);

// The counters of every component, read now (relaxed loads); the exporter
// tables only when `with_exporters` (after the workers joined).
report take_report(const daemon& d, bool with_exporters);

// The final text report (log stream) and --stats-json.
void write_final_stats(const daemon& d);

}  // namespace sluice::control
