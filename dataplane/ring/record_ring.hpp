// SPDX-License-Identifier: Apache-2.0
// SPSC rings of flow_record slots (rte_ring_elem, esize sizeof(flow_record)) from one worker to one sink,
// written and read in place through DPDK's zero-copy peek API.
//
// Why zero-copy ring slots and not per-worker slabs passed by pointer
// (perf/record_path_bench, 30-record v5 datagrams, bursts of 32, quickest
// burst, medians of 5 repetitions; perf/RESULTS.md): worker cycles per
// record, decode alone 15.1; decode into zero-copy ring slots 15.4; decode
// into a slab passed by pointer with a return ring 15.5; decode then copy
// into the ring (the old path) 42.8, plus 21 for the sink to copy it out.
// Both zero-copy designs take the hand-off off the worker's bill and are
// equal within noise; ring slots are the simpler of the two:
//   * The worker reserves the ring's free slots once per rx burst
//     (rte_ring_enqueue_zc_burst_elem_start), the decoders append straight
//     into the reserved region, and one finish per burst and sink publishes
//     them. Each record is written once, where the sink reads it; the sink
//     encodes from the slots (rte_ring_dequeue_zc_burst_elem_start) and
//     releases them after its last output, so no stage copies a record.
//   * Slabs passed by pointer also avoid the copy, but need a second ring to
//     hand slabs back, a slab allocator on the worker, and a slow sink pins
//     worker memory; ring_full then becomes "no free slab", a coarser count.
//   * The price: a reservation is two regions when it wraps around the end
//     of the ring storage, and decoders need contiguous room. A datagram is
//     decoded in place when the contiguous rest of the region, plus the
//     k_ring_slack records after the storage when the region ends there, can
//     hold the most records it can yield (record_bound() in the worker); what
//     ran into the slack is then copied to the ring's front. Otherwise (a
//     jumbo datagram at the wrap, a nearly full ring) it is decoded into the
//     worker's staging buffer and copied in. Both count records_copied.
//
// Ownership and lifetime:
//
//   worker w ──zc reserve/finish──► ring[w][s] ──zc peek/finish──► sink s
//   (single producer, RING_F_SP_ENQ) (created by main before      (single consumer,
//                                     lcores launch, freed after   RING_F_SC_DEQ)
//                                     both joined)
//
// Between reserve and finish the slots belong to the worker; between peek and
// finish they belong to the sink. A full ring never blocks a live worker: what
// does not fit is counted ring_full and dropped (--ring-full wait: the worker
// publishes what it has and waits for room).
#pragma once

#include <rte_errno.h>
#include <rte_memzone.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "dataplane/decode/flow_record.hpp"

namespace sluice::ring {

constexpr unsigned k_record_esize = sizeof(decode::flow_record);
static_assert(k_record_esize % 4 == 0, "rte_ring_elem needs a multiple of 4 bytes");

// Records of slack after the ring's storage: a datagram decoded in place at
// the end of the storage may run on into the slack, and only what ran over
// is copied to the front of the ring (the reservation's region 2). 2 x 1536:
// the record bound (record_bound() in the worker) of any datagram that fits
// a 1500-byte MTU; larger datagrams near the wrap take the staging path.
constexpr unsigned k_ring_slack = 2 * 1536;

// The producer's statistics of one ring, in their own cache line after the
// slack (so the sink's polling never shares it): written by the worker at
// each commit (relaxed stores), read by the control core.
struct alignas(64) ring_stats {
    // The highest depth after a commit, counting the records the sink had
    // not taken when the worker reserved: an upper bound of the true depth at
    // that instant, exact when the sink took nothing in between; the ring's
    // capacity when a reservation found it full.
    uint64_t high_water = 0;
};

inline ring_stats* stats_of(rte_ring* r) noexcept;

// RAII owner of one rte_ring of records, in its own memzone with k_ring_slack
// records of slack after the storage (rte_ring_create_elem has no slack) and
// a ring_stats line after that.
class record_ring {
public:
    record_ring() = default;
    // count: a power of two (the ring holds count - 1 records). Throws with rte_strerror on failure.
    record_ring(const std::string& name, unsigned count, int socket) {
        const ssize_t sz = rte_ring_get_memsize_elem(k_record_esize, count);
        if (sz < 0)
            throw std::runtime_error("ring " + name + ": bad count " + std::to_string(count) + ": " +
                                     rte_strerror(int(-sz)));
        _mz = rte_memzone_reserve_aligned(name.c_str(),
                                          std::size_t(sz) + std::size_t(k_ring_slack) * k_record_esize + 2 * sizeof(ring_stats),
                                          socket, 0, RTE_CACHE_LINE_SIZE);
        if (_mz == nullptr)
            throw std::runtime_error("ring " + name + ": rte_memzone_reserve(" + std::to_string(sz) +
                                     " bytes + slack) failed: " + rte_strerror(rte_errno));
        _r = static_cast<rte_ring*>(_mz->addr);
        // SP/SC = RTE_RING_SYNC_ST: the only sync mode (besides HTS) the zero-copy API supports.
        const int rc = rte_ring_init(_r, name.c_str(), count, RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (rc != 0) {
            rte_memzone_free(_mz);
            throw std::runtime_error("ring " + name + ": rte_ring_init(count " + std::to_string(count) +
                                     ") failed: " + rte_strerror(-rc));
        }
        *stats_of(_r) = ring_stats{};
    }
    ~record_ring() {
        if (_mz) rte_memzone_free(_mz);
    }
    record_ring(record_ring&& o) noexcept : _r(o._r), _mz(o._mz) { o._r = nullptr, o._mz = nullptr; }
    record_ring& operator=(record_ring&& o) noexcept {
        if (this != &o) {
            if (_mz) rte_memzone_free(_mz);
            _r = o._r;
            _mz = o._mz;
            o._r = nullptr;
            o._mz = nullptr;
        }
        return *this;
    }
    record_ring(const record_ring&) = delete;
    record_ring& operator=(const record_ring&) = delete;

    rte_ring* get() const noexcept { return _r; }

private:
    rte_ring* _r = nullptr;
    const rte_memzone* _mz = nullptr;
};

// The end of a record ring's storage (where its slack begins).
inline decode::flow_record* storage_end(rte_ring* r) noexcept {
    return reinterpret_cast<decode::flow_record*>(r + 1) + r->size;
}

// The ring's producer statistics (after the slack, cache-line aligned; the
// memzone reserves two lines so the alignment always fits).
inline ring_stats* stats_of(rte_ring* r) noexcept {
    const auto end = reinterpret_cast<uintptr_t>(storage_end(r) + k_ring_slack);
    return reinterpret_cast<ring_stats*>((end + alignof(ring_stats) - 1) & ~uintptr_t(alignof(ring_stats) - 1));
}

// The high-water mark (any core; relaxed).
inline uint64_t high_water(rte_ring* r) noexcept {
    return std::atomic_ref<uint64_t>(stats_of(r)->high_water).load(std::memory_order_relaxed);
}

namespace detail {
// Producer only: raise the high-water mark to `depth`.
inline void note_depth(rte_ring* r, uint64_t depth) noexcept {
    std::atomic_ref<uint64_t> h(stats_of(r)->high_water);
    if (depth > h.load(std::memory_order_relaxed)) [[unlikely]]
        h.store(depth, std::memory_order_relaxed);
}
}  // namespace detail

// ---- producer side: one open reservation per (worker, sink) during a burst ----
//
//   reserve() ─► [ region 1: n1 slots ][ region 2 (after the wrap) ] ─► commit(used)
//                 ^ cursor: next free slot, contiguous room = room_here()
struct reservation {
    rte_ring* r = nullptr;
    decode::flow_record* p1 = nullptr;  // region 1
    decode::flow_record* p2 = nullptr;  // region 2, nullptr when the reservation does not wrap
    unsigned n1 = 0;                    // slots in region 1
    unsigned n = 0;                     // slots reserved (n1 + region 2)
    unsigned used = 0;                  // slots filled so far (region 1 first)
    bool open = false;

    unsigned free() const noexcept { return n - used; }
    // The next free slot and how many contiguous slots follow it.
    decode::flow_record* cursor() const noexcept { return used < n1 ? p1 + used : p2 + (used - n1); }
    unsigned room_here() const noexcept { return used < n1 ? n1 - used : n - used; }
    // Contiguous room for decoding in place: room_here() plus the slack when
    // region 1 runs to the end of the storage (the slack is never a ring slot:
    // what lands there is copied on into region 2).
    unsigned room_in_place() const noexcept {
        return used < n1 && p1 + n1 == storage_end(r) ? n1 - used + k_ring_slack : room_here();
    }

    // Copies up to `count` records in (across the wrap); returns how many fit.
    unsigned copy_in(const decode::flow_record* src, unsigned count) noexcept {
        unsigned done = 0;
        while (done < count && used < n) {
            const unsigned take = std::min(count - done, room_here());
            std::memcpy(static_cast<void*>(cursor()), src + done, std::size_t(take) * k_record_esize);
            used += take;
            done += take;
        }
        return done;
    }
};

// Reserves every free slot of r (at most `want`). Returns the slots reserved (0: ring full).
inline unsigned reserve(rte_ring* r, unsigned want, reservation& z) noexcept {
    rte_ring_zc_data zcd{};
    const unsigned n = rte_ring_enqueue_zc_burst_elem_start(r, k_record_esize, want, &zcd, nullptr);
    z.r = r;
    z.p1 = static_cast<decode::flow_record*>(zcd.ptr1);
    z.p2 = n > zcd.n1 ? static_cast<decode::flow_record*>(zcd.ptr2) : nullptr;
    z.n1 = n > zcd.n1 ? zcd.n1 : n;
    z.n = n;
    z.used = 0;
    z.open = true;
    return n;
}

// Publishes the first `used` slots to the sink and gives the rest back.
// An empty reservation (the ring was full) moved nothing: it is not
// finished, so a worker facing a full ring never writes the producer's cache
// line that the sink polls.
inline void commit(reservation& z) noexcept {
    // The worker reserves every free slot (want = capacity), so capacity - n
    // were queued at reserve time; with a smaller `want` this overstates.
    if (z.r != nullptr) detail::note_depth(z.r, uint64_t(rte_ring_get_capacity(z.r)) - z.n + z.used);
    if (z.n != 0) rte_ring_enqueue_zc_elem_finish(z.r, z.used);
    z.open = false;
    z.n = z.n1 = z.used = 0;
}

// ---- consumer side ----

// A peeked batch: up to two spans of ring slots, valid until release().
struct batch {
    const decode::flow_record* p[2]{};
    unsigned len[2]{};
    unsigned n = 0;
};

inline unsigned peek(rte_ring* r, unsigned max, batch& b) noexcept {
    rte_ring_zc_data zcd{};
    const unsigned n = rte_ring_dequeue_zc_burst_elem_start(r, k_record_esize, max, &zcd, nullptr);
    b.n = n;
    b.p[0] = static_cast<const decode::flow_record*>(zcd.ptr1);
    b.len[0] = n > zcd.n1 ? zcd.n1 : n;
    b.p[1] = n > zcd.n1 ? static_cast<const decode::flow_record*>(zcd.ptr2) : nullptr;
    b.len[1] = n - b.len[0];
    return n;
}

inline void release(rte_ring* r, const batch& b) noexcept { rte_ring_dequeue_zc_elem_finish(r, b.n); }

// Copying helpers, kept for the baseline benchmark and tests.
inline unsigned enqueue_records(rte_ring* r, const decode::flow_record* recs, unsigned n) noexcept {
    unsigned free_after = 0;
    const unsigned done = rte_ring_enqueue_burst_elem(r, recs, k_record_esize, n, &free_after);
    detail::note_depth(r, uint64_t(rte_ring_get_capacity(r)) - free_after);
    return done;
}
inline unsigned dequeue_records(rte_ring* r, decode::flow_record* out, unsigned n) noexcept {
    return rte_ring_dequeue_burst_elem(r, out, k_record_esize, n, nullptr);
}

}  // namespace sluice::ring
