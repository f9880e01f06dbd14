// SPDX-License-Identifier: Apache-2.0
// The control side of the worker mailboxes: creates each worker's two SPSC rings, sends commands, drains events.
//
//   control core ──send(worker, command)──► in[w]  ──► worker w (polls at its loop top)
//   control core ◄──drain(): log lines printed, acks handed to the caller── out[w] ◄── worker w
//
// Ownership: owns the rings (rte_ring_free in the destructor, after the
// workers joined); the worker contexts borrow them. Only the control core
// sends and drains (single producer of in[], single consumer of out[]).
#pragma once

#include <rte_ring.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "dataplane/worker/mailbox.hpp"

namespace sluice::control {

class mailboxes {
public:
    mailboxes() = default;
    ~mailboxes();
    mailboxes(const mailboxes&) = delete;
    mailboxes& operator=(const mailboxes&) = delete;

    // One pair of rings for worker `id` on `socket`. Throws naming the ring and rte_strerror.
    void create(unsigned id, int socket);
    rte_ring* in(unsigned id) const noexcept { return _in[id]; }
    rte_ring* out(unsigned id) const noexcept { return _out[id]; }

    // false when the worker's command ring is full (it is not polling).
    bool send(unsigned id, const worker::command& c) noexcept;
    bool send_all(const worker::command& c) noexcept;

    // Prints every pending log line (RTE_LOG, through the non-blocking log
    // stream) and hands every ack to `on_ack`. Returns the log lines printed.
    using ack_handler = std::function<void(const worker::event&)>;
    uint64_t drain(const ack_handler& on_ack);

private:
    std::vector<rte_ring*> _in, _out;
};

}  // namespace sluice::control
