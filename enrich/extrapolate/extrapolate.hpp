// SPDX-License-Identifier: Apache-2.0
// Extrapolation of sampled records to the traffic they stand for (InFlow's
// algorithm, in real time), one table per worker.
//
// For every flow record:
//   step 1   scaled = exported x sampling rate (0 = unknown counts as 1);
//   step 2   extrapolated = scaled x factor(interface), the factor of the
//            record's input interface (in_if, input direction) when it has
//            one, else of its output interface (out_if, output direction),
//            else 1.
// The factor of an (exporter, ifIndex, direction) is, over one window,
//   actual octets (counter delta) / sampled-and-scaled octets seen (step 1
//   sums of the records with that in_if, resp. out_if),
// clamped to [min_factor, max_factor], and applies to the interface's later
// records, until the next window closes. Counter readings are sFlow generic
// interface counter samples (record_kind::interface_counters, which flow
// through the same bursts) and, from elsewhere, SNMP ifHCIn/OutOctets
// (reading()). Packets are scaled by the octet factor (counters of packets
// would need ifHC*UcastPkts and friends; one factor keeps bytes/packet).
//
//   window of interface X:   reading R0 ......... records of X ......... R1 (t1 - t0 >= window)
//                            base = R0              sampled += scaled      factor = (R1 - R0) / sampled
//                                                                          base = R1, sampled = 0
//
// The error this leaves is documented in docs/record.md ("Extrapolated
// volumes").
//
// Ownership and lifetime: one table per worker lcore, created on the main
// core before launch, then touched only by its worker (process() over each
// burst; reading() from the worker too, e.g. on a mailbox command), and read
// by the control core only through `counters` (relaxed atomics) or after the
// worker joined. RSS (and the replayed file) keeps one exporter on one
// worker, so the per-worker table sees every record and every counter sample
// of its exporters. Storage is preallocated: no allocation, lock or system
// call per record.
//
//   sets[h & mask]: 8 tags (one cache line holds 2 sets) ──► entries[set * 8 + way] (128 B each)
#pragma once

#include <cstdint>
#include <memory>

#include "config.hpp"
#include "counters.hpp"
#include "dataplane/decode/flow_record.hpp"

namespace sluice::enrich::extrapolate {

// Ways per set: a new interface can evict only within its set of 8.
constexpr unsigned k_ways = 8;

// A factor as a test or an operator sees it.
struct factor_view {
    bool valid[2]{};      // [0] input direction, [1] output
    double factor[2]{1.0, 1.0};
    uint64_t base[2]{};     // the counter values the current window started from
    uint64_t sampled[2]{};  // sampled-and-scaled octets seen in the current window
};

class table {
public:
    // Throws std::bad_alloc; cfg is copied.
    explicit table(const config& cfg);
    ~table();
    table(const table&) = delete;
    table& operator=(const table&) = delete;

    // One burst of decoded records, in place: flow records get
    // extrapolated_bytes/packets, interface counter records are taken as
    // readings (and left as they are).
    void process(decode::flow_record* r, unsigned n) noexcept;

    // A counter reading of (exporter, ifIndex): absolute input and output
    // octets at t_ns (the clock of the records' time_received_ns).
    void reading(const uint8_t exporter[16], uint32_t ifindex, uint64_t in_octets, uint64_t out_octets,
                 uint64_t t_ns) noexcept;

    // The interface's current state; false when it is not tracked.
    bool find(const uint8_t exporter[16], uint32_t ifindex, factor_view& out) const noexcept;

    uint32_t capacity() const noexcept { return _nsets * k_ways; }
    const config& params() const noexcept { return _cfg; }

    counter_block counters;  // written by the owner only

private:
    struct entry;
    struct set;
    entry* lookup(uint64_t a, uint64_t b, uint32_t ifindex, uint64_t h) const noexcept;
    entry* insert(uint64_t a, uint64_t b, uint32_t ifindex, uint64_t h, uint64_t t_ns) noexcept;

    config _cfg;
    uint32_t _nsets = 0;
    uint32_t _mask = 0;
    std::unique_ptr<set[]> _sets;
    std::unique_ptr<entry[]> _entries;
};

// The rounding process() uses, exposed so tests compute the same numbers:
// value x factor, rounded half up, saturated at UINT64_MAX.
uint64_t scale(uint64_t value, double factor) noexcept;

}  // namespace sluice::enrich::extrapolate
