// SPDX-License-Identifier: Apache-2.0
// Longest-prefix match over merged prefix sources: flattening to disjoint intervals, then an IPv4
// DIR-24 table and an IPv6 indexed interval search. Pure code, no DPDK.
//
// Every source (inventory file, mmdb, static prefixes) is a list of (prefix, value). Its longest-prefix
// match is flattened into a sorted list of disjoint intervals covering the whole 128-bit space (value 0 =
// no match); the sources' lists are then merged into one list whose value is the combination of the
// sources' values at that address (a caller-supplied function: the per-field precedence merge). So the
// data path does ONE lookup per address, whatever the number of sources:
//
//   prefixes(src 0) ─flatten─► intervals ─┐
//   prefixes(src 1) ─flatten─► intervals ─┼─merge(combine)─► intervals ─┬─► lpm4 (the ::ffff:0:0/96 part)
//   prefixes(src k) ─flatten─► intervals ─┘                             └─► lpm6 (the rest)
//
// lpm4 is DIR-24 over intervals: tbl24[a >> 8] holds the value when one interval covers the whole /24
// (one memory access), else the index of the interval covering the /24's first address with the top bit
// set, and the lookup scans forward from it (a /24 holds few boundaries in real data: 1.9 on average in
// the City + ASN + inventory table, perf/RESULTS.md). Unlike rte_lpm's tbl8 groups (1 KiB per partial
// /24, a fixed pool), memory is 64 MiB + 12 bytes per interval whatever the data.
//
// lpm6 is a binary search over the interval starts, narrowed by an index on the top 16 bits.
//
// Keys: 128-bit, IPv4 as IPv4-mapped (::ffff:a.b.c.d) like flow_record's addresses.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "enrich/lpm/intervals.hpp"

namespace sluice::enrich {

class lpm4 {
public:
    static constexpr uint32_t k_ext = 1u << 31;  // tbl24 entry: interval index, not a value
    lpm4();
    // From a merged full-coverage list (only its IPv4-mapped part is used). Values must be < 2^31.
    explicit lpm4(const std::vector<interval>& all);
    uint32_t lookup(uint32_t a) const noexcept {
        const uint32_t e = _tbl24[a >> 8];
        if (!(e & k_ext)) [[likely]]
            return e;
        uint32_t i = e & ~k_ext;
        while (i < _last && _iv[i + 1].start <= a) ++i;
        return _iv[i].value;
    }
    // n lookups: prefetches every tbl24 entry of the batch first, then resolves.
    void lookup_bulk(const uint32_t* a, uint32_t* out, unsigned n) const noexcept;
    std::size_t bytes() const noexcept { return (std::size_t(1) << 24) * 4 + _iv.size() * sizeof(iv); }
    std::size_t intervals() const noexcept { return _last + 1; }

private:
    // Start and value side by side: the forward scan costs one cache miss, not two.
    struct iv {
        uint32_t start;
        uint32_t value;
    };
    std::unique_ptr<uint32_t[]> _tbl24;
    std::vector<iv> _iv;  // the intervals, then a sentinel {0xffffffff} (the scan also stops at _last)
    uint32_t _last = 0;   // index of the last real interval
};

class lpm6 {
public:
    lpm6();
    explicit lpm6(const std::vector<interval>& all);
    uint32_t lookup(u128 k) const noexcept {
        const uint32_t h = static_cast<uint32_t>(k >> 112);
        uint32_t lo = _index[h], hi = _index[h + 1];  // the answer is in [lo, hi]
        while (lo < hi) {
            const uint32_t mid = (lo + hi + 1) / 2;
            if (_starts[mid] <= k) lo = mid;
            else hi = mid - 1;
        }
        return _values[lo];
    }
    std::size_t bytes() const noexcept { return _index.size() * 4 + _starts.size() * 20; }
    std::size_t intervals() const noexcept { return _values.size(); }

private:
    std::vector<uint32_t> _index;  // 65,537: interval covering h << 112
    std::vector<u128> _starts;
    std::vector<uint32_t> _values;
};

}  // namespace sluice::enrich
