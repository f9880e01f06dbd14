// SPDX-License-Identifier: Apache-2.0
// The periodic template-state save, driven by the control loop without ever blocking it.
//
// Each round sends every worker a snapshot_template_state command through its
// mailbox, collects the acks (each publishes that worker's snapshot), then merges them (freshest copy of each exporter)
// and writes the file atomically (decode::save_template_state).
//
//   control loop ──tick()──► command to every mailbox ──(worker, loop top)──► serialize own table
//        ▲                                                                         │ ack (seq = round)
//        └── on_ack() ... tick(): all answered? merge + write : wait (at most 5 s) ◄┘
//
// Ownership: borrows the daemon for its lifetime; the workers' live tables
// are never read while they run, only their published snapshots.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "dataplane/worker/mailbox.hpp"

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
    // An ack from a worker's mailbox (the control loop drains them).
    void on_ack(const worker::event& e);
    // A round is out: the workers may be writing their snapshots.
    bool pending() const noexcept { return _pending; }

private:
    void write();

    daemon& _d;
    clock::duration _interval;
    clock::time_point _next;
    clock::time_point _asked{};
    uint64_t _round = 0;
    bool _pending = false;
    std::vector<bool> _answered;  // by worker, this round
    std::size_t _answers = 0;
};

}  // namespace sluice::control
