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
// The answer is one 32-bit word holding the value and the matched prefix (intervals.hpp `match`), so one
// memory access gives both: bits 0..21 the value (interner ids are < 2^22, interner::k_max_sets; a larger
// value makes the constructor throw std::length_error), bits 22..29 the match (lpm_value / lpm_match).
// lpm4's match is the IPv4 length + 1 (1..33; a prefix shorter than ::ffff:0:0/96 covering an IPv4
// address counts as /0, i.e. 1), lpm6's the 128-bit length + 1 (1..129); 0 = no match, and a word is 0
// exactly when the value is 0.
//
// lpm4 is DIR-24 over intervals: tbl24[a >> 8] holds the word when one interval covers the whole /24
// (one memory access), else the index of the interval covering the /24's first address with bit 31 set,
// and the lookup scans forward from it (a /24 holds few boundaries in real data: 1.9 on average in the
// City + ASN + inventory table, perf/RESULTS.md). Unlike rte_lpm's tbl8 groups (1 KiB per partial /24, a
// fixed pool), memory is at most 64 MiB + 8 bytes per interval whatever the data. The 64 MiB are an
// anonymous mapping on transparent huge pages (MADV_HUGEPAGE; the interval array too from 4 MiB), written
// only where the word is not 0: a 2 MiB region (a /5 of the space) nothing is written into stays the
// kernel's huge zero page, so a small table costs a few regions to build and free, not a 64 MiB fill
// (150 us instead of 27 ms, perf/RESULTS.md). The page tables are filled readable at build
// (MADV_POPULATE_READ), so the worker's first lookups into a fresh version take no page fault. Huge pages
// would also spare a random lookup its TLB miss; on this project's VM they measured no faster (likely: the host's
// own 4 KiB pages set the TLB's reach).
//
// lpm6 is a binary search over the interval starts, narrowed by an index on the top 16 bits and, in the
// buckets that hold more than 16 intervals (where real prefixes crowd: 2001::/16, 2a00::/16 ...), a second
// index on the next bits sized to about 8 intervals an entry (up to 16 bits; at most 1 byte per interval).
//
// Keys: 128-bit, IPv4 as IPv4-mapped (::ffff:a.b.c.d) like flow_record's addresses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "enrich/lpm/intervals.hpp"

namespace sluice::enrich {

constexpr unsigned k_lpm_value_bits = 22;
constexpr uint32_t k_lpm_value_mask = (1u << k_lpm_value_bits) - 1;  // the largest storable value
inline uint32_t lpm_value(uint32_t word) noexcept { return word & k_lpm_value_mask; }
inline uint8_t lpm_match(uint32_t word) noexcept { return static_cast<uint8_t>(word >> k_lpm_value_bits); }

namespace detail {
// An anonymous private mapping: zero until written, unmapped on destruction. huge: 2 MiB aligned and
// MADV_HUGEPAGE (the kernel may still fall back to 4 KiB pages). Throws std::bad_alloc when mmap fails.
class mapping {
public:
    mapping() = default;
    mapping(std::size_t bytes, bool huge);
    ~mapping();
    mapping(mapping&& o) noexcept : _p(o._p), _n(o._n) { o._p = nullptr, o._n = 0; }
    mapping& operator=(mapping&& o) noexcept;
    mapping(const mapping&) = delete;
    mapping& operator=(const mapping&) = delete;
    void* data() const noexcept { return _p; }
    std::size_t size() const noexcept { return _n; }
    bool huge() const noexcept { return _huge; }

private:
    void* _p = nullptr;
    std::size_t _n = 0;
    bool _huge = false;
};
}  // namespace detail

class lpm4 {
public:
    static constexpr uint32_t k_ext = 1u << 31;  // tbl24 entry: interval index, not a word
    // Answers 0 everywhere (an untouched mapping: costs no memory until read, then the zero page).
    lpm4();
    // From a merged full-coverage list (only its IPv4-mapped part is used). Values must be < 2^22.
    explicit lpm4(const std::vector<interval>& all);
    lpm4(lpm4&&) noexcept = default;
    lpm4& operator=(lpm4&&) noexcept = default;

    // The packed answer (value and IPv4 match, lpm_value / lpm_match).
    uint32_t lookup_word(uint32_t a) const noexcept {
        const uint32_t e = _tbl24[a >> 8];
        if (!(e & k_ext)) [[likely]]
            return e;
        uint32_t i = e & ~k_ext;
        while (i < _last && _iv[i + 1].start <= a) ++i;
        return _iv[i].word;
    }
    uint32_t lookup(uint32_t a) const noexcept { return lpm_value(lookup_word(a)); }
    // Starts loading a's tbl24 line (a caller that has other work to overlap with the miss).
    void prefetch(uint32_t a) const noexcept { __builtin_prefetch(&_tbl24[a >> 8]); }
    // n lookups (words, as lookup_word), in chunks of 32 whose tbl24 loads are all in flight at once
    // (prefetched first). No allocation.
    void lookup_bulk(const uint32_t* a, uint32_t* out, unsigned n) const noexcept;

    std::size_t bytes() const noexcept { return (std::size_t(1) << 24) * 4 + (std::size_t(_last) + 2) * sizeof(iv); }
    std::size_t intervals() const noexcept { return std::size_t(_last) + 1; }
    // The IPv4-mapped intervals back (lo as 128-bit keys, match as the 128-bit length + 1: the IPv4 match
    // + 96), for tests and the comparison benchmarks.
    std::vector<interval> to_intervals() const;
    // 4 KiB pages of the tbl24 holding a non-zero entry (of 16,384).
    std::size_t tbl24_pages_written() const noexcept { return _pages_written; }

private:
    // Start and word side by side: the forward scan costs one cache miss, not two.
    struct iv {
        uint32_t start;
        uint32_t word;
    };
    detail::mapping _tbl24_map, _iv_map;
    const uint32_t* _tbl24 = nullptr;
    const iv* _iv = nullptr;  // the intervals, then a sentinel {0xffffffff} (the scan also stops at _last)
    uint32_t _last = 0;       // index of the last real interval
    std::size_t _pages_written = 0;
};

class lpm6 {
public:
    lpm6();
    // From a full-coverage list. Values must be < 2^22.
    explicit lpm6(const std::vector<interval>& all);
    // The packed answer (value and 128-bit match, lpm_value / lpm_match).
    uint32_t lookup_word(u128 k) const noexcept {
        const uint32_t h = static_cast<uint32_t>(k >> 112);
        uint32_t lo = _index[h], hi = _index[h + 1];  // the answer is in [lo, hi]
        if (const sub_ref r = _sub_of[h]; r.bits != 0) {
            const uint32_t s = static_cast<uint32_t>(k >> (112 - r.bits)) & ((1u << r.bits) - 1);
            lo = _sub[r.off + s];
            hi = _sub[r.off + s + 1];
        }
        while (lo < hi) {
            const uint32_t mid = (lo + hi + 1) / 2;
            if (_starts[mid] <= k) lo = mid;
            else hi = mid - 1;
        }
        return _words[lo];
    }
    uint32_t lookup(u128 k) const noexcept { return lpm_value(lookup_word(k)); }
    std::size_t bytes() const noexcept {
        return (_index.size() + _sub.size()) * 4 + _sub_of.size() * sizeof(sub_ref) + _starts.size() * 20;
    }
    std::size_t intervals() const noexcept { return _words.size(); }
    std::vector<interval> to_intervals() const;

    // A top-16-bit bucket of more than 16 intervals gets a second index on its next `bits` bits: 2^bits >=
    // intervals / 8 (about 8 intervals, 3 search steps, per entry), at most 16 bits.
    static constexpr uint32_t k_sub_min = 16;
    static constexpr unsigned k_sub_max_bits = 16;

private:
    struct sub_ref {
        uint32_t off = 0;   // bucket h's second index in _sub
        uint32_t bits = 0;  // 0: none
    };
    std::vector<uint32_t> _index;  // 65,537: interval covering h << 112
    std::vector<sub_ref> _sub_of;  // 65,536
    std::vector<uint32_t> _sub;    // per indexed bucket 2^bits + 1: interval covering (h << 112) | (s << (112 - bits))
    std::vector<u128> _starts;
    std::vector<uint32_t> _words;
};

}  // namespace sluice::enrich
