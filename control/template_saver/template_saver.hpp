// SPDX-License-Identifier: Apache-2.0
// The periodic template-state save, driven by the control loop without ever blocking it.
//
// Each round asks every worker for a snapshot of its own exporter table,
// polls for the answers, then merges them (freshest copy of each exporter)
// and writes the file atomically (decode::save_template_state).
//
//   control loop ──tick()──► ask every worker ──(worker, between bursts)──► serialize own table
//        ▲                                                                     │ publish
//        └──────────── tick(): all answered? merge + write : wait (at most 5 s) ◄┘
//
// Ownership: borrows the daemon for its lifetime; the workers' live tables
// are never read while they run, only their published snapshots.
#pragma once

#include <chrono>
#include <cstdint>

namespace sluice::control {

struct daemon;

class template_saver {
public:
    using clock = std::chrono::steady_clock;
    // A worker that does not answer in this long (stuck waiting on a full
    // ring in a lossless replay) makes the round be skipped, not waited for.
    static constexpr auto k_answer_timeout = std::chrono::seconds(5);

    explicit template_saver(daemon& d);
    void tick(clock::time_point now);

private:
    void write();

    daemon& _d;
    clock::duration _interval;
    clock::time_point _next;
    clock::time_point _asked{};
    uint64_t _round = 0;
    bool _pending = false;
};

}  // namespace sluice::control
