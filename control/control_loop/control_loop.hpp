// SPDX-License-Identifier: Apache-2.0
// The control loop on the main lcore: summary line, periodic stats JSON, periodic saves, end-of-replay detection.
//
// Each iteration also drains the workers' mailboxes (log lines printed,
// acks to the template saver) and ticks the RCU domain (control/rcu/);
// after a SIGHUP it reloads --config FILE (control/config/reload.hpp), and it
// frees the output parameter blocks a reload retired once the sinks passed.
// Runs from launch until a signal, the end of a replay or --duration, every
// 20 ms: template_saver::tick, replay progress, the summary line each
// --stats-interval and the periodic stats JSON each --stats-json-interval
// (both live reads of the counter registry). It never blocks on a worker or
// a sink.
#pragma once

#include "control/registry/registry.hpp"
#include "control/stats/stats.hpp"

namespace sluice::control {

struct daemon;

// Returns when the workers should stop (the caller sets the flag and joins).
void control_loop(daemon& d);

report_meta meta_of(const daemon& d);

// --stats-json written atomically (FILE.tmp, then rename): a reader never sees half a file.
bool write_stats_json(const daemon& d, const snapshot& s);

// The final text report (log stream) and --stats-json; every source, the
// per-exporter ones included (call after the workers joined).
void write_final_stats(const daemon& d);

}  // namespace sluice::control
