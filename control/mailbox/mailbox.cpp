// SPDX-License-Identifier: Apache-2.0
// The control side of the worker mailboxes (see mailbox.hpp).
#include "mailbox.hpp"

#include <rte_errno.h>
#include <rte_log.h>
#include <rte_ring_elem.h>

#include <stdexcept>
#include <string>

namespace sluice::control {

namespace {

rte_ring* make_ring(const std::string& name, unsigned esize, unsigned count, int socket) {
    rte_ring* r = rte_ring_create_elem(name.c_str(), esize, count, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (r == nullptr)
        throw std::runtime_error("mailbox ring " + name + ": rte_ring_create_elem(" + std::to_string(count) +
                                 ") failed: " + rte_strerror(rte_errno));
    return r;
}

}  // namespace

mailboxes::~mailboxes() {
    for (rte_ring* r : _in) rte_ring_free(r);
    for (rte_ring* r : _out) rte_ring_free(r);
}

void mailboxes::create(unsigned id, int socket) {
    if (id != _in.size()) throw std::logic_error("mailboxes: create workers in order");
    _in.push_back(make_ring("mbx_in_w" + std::to_string(id), sizeof(worker::command), worker::k_command_ring, socket));
    _out.push_back(make_ring("mbx_out_w" + std::to_string(id), sizeof(worker::event), worker::k_event_ring, socket));
}

bool mailboxes::send(unsigned id, const worker::command& c) noexcept {
    worker::command copy = c;  // rte_ring_sp_enqueue_elem takes a non-const pointer
    return id < _in.size() && rte_ring_sp_enqueue_elem(_in[id], &copy, sizeof copy) == 0;
}

bool mailboxes::send_all(const worker::command& c) noexcept {
    bool ok = true;
    for (unsigned id = 0; id < _in.size(); ++id) ok = send(id, c) && ok;
    return ok;
}

uint64_t mailboxes::drain(const ack_handler& on_ack) {
    uint64_t lines = 0;
    worker::event e[16];
    for (rte_ring* r : _out) {
        unsigned n;
        while ((n = rte_ring_sc_dequeue_burst_elem(r, e, sizeof(worker::event), 16, nullptr)) != 0) {
            for (unsigned i = 0; i < n; ++i) {
                if (e[i].kind == worker::event_kind::ack) {
                    if (on_ack) on_ack(e[i]);
                    continue;
                }
                // The text ends in '\n' (cut lines get one here).
                const bool nl = e[i].len > 0 && e[i].text[e[i].len - 1] == '\n';
                rte_log(e[i].level, RTE_LOGTYPE_USER1, "USER1: %.*s%s", int(e[i].len), e[i].text, nl ? "" : "\n");
                ++lines;
            }
        }
    }
    return lines;
}

}  // namespace sluice::control
