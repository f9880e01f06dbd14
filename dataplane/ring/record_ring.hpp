// SPDX-License-Identifier: Apache-2.0
// SPSC rings of flow_record by value (rte_ring_elem, esize 192) from one worker to one sink.
//
// Why records by value and not pointers to per-worker slabs: a record is 192
// bytes and trivially copyable, the worker already holds the datagram's
// records contiguously in its decode buffer, and rte_ring_enqueue_burst_elem
// copies them in one call per datagram. A pointer ring would save that copy
// but need a second ring (or a refcount) to hand slabs back from the sink,
// and a slow sink would then pin worker memory. With copies the two cores
// share nothing but the ring, and ring_full is a plain, exact count.
//
// Ownership and lifetime:
//
//   worker w ──enqueue_burst_elem──► ring[w][s] ──dequeue_burst_elem──► sink s
//   (single producer)                (created by main        (single consumer)
//                                     before lcores launch,
//                                     freed after both joined)
//
// A full ring never blocks the worker: what does not fit is counted
// ring_full and dropped.
#pragma once

#include <rte_errno.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <stdexcept>
#include <string>

#include "dataplane/decode/flow_record.hpp"

namespace sluice::ring {

constexpr unsigned k_record_esize = sizeof(decode::flow_record);
static_assert(k_record_esize % 4 == 0, "rte_ring_elem needs a multiple of 4 bytes");
static_assert(k_record_esize == 320);

// RAII owner of one rte_ring of records.
class record_ring {
public:
    record_ring() = default;
    // count: a power of two (the ring holds count - 1 records). Throws with rte_strerror on failure.
    record_ring(const std::string& name, unsigned count, int socket) {
        _r = rte_ring_create_elem(name.c_str(), k_record_esize, count, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (_r == nullptr)
            throw std::runtime_error("ring " + name + ": rte_ring_create_elem(count " + std::to_string(count) +
                                     ") failed: " + rte_strerror(rte_errno));
    }
    ~record_ring() {
        if (_r) rte_ring_free(_r);
    }
    record_ring(record_ring&& o) noexcept : _r(o._r) { o._r = nullptr; }
    record_ring& operator=(record_ring&& o) noexcept {
        if (this != &o) {
            if (_r) rte_ring_free(_r);
            _r = o._r;
            o._r = nullptr;
        }
        return *this;
    }
    record_ring(const record_ring&) = delete;
    record_ring& operator=(const record_ring&) = delete;

    rte_ring* get() const noexcept { return _r; }

private:
    rte_ring* _r = nullptr;
};

// Producer side: enqueues what fits, returns how many were enqueued.
inline unsigned enqueue_records(rte_ring* r, const decode::flow_record* recs, unsigned n) noexcept {
    return rte_ring_enqueue_burst_elem(r, recs, k_record_esize, n, nullptr);
}

// Consumer side: dequeues up to n records into out.
inline unsigned dequeue_records(rte_ring* r, decode::flow_record* out, unsigned n) noexcept {
    return rte_ring_dequeue_burst_elem(r, out, k_record_esize, n, nullptr);
}

}  // namespace sluice::ring
