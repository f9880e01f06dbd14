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
// lpm6 is a multi-level index over the interval starts, then a short search. The root indexes the top 16
// bits; an entry whose range holds more than 8 intervals (where real prefixes crowd: 2001::/16, 2a02::/16,
// then their busy /32s ...) gets a child on its next bits, sized to about 4 intervals a slot, and so on down,
// so a lookup reads one 8-byte slot a level and then at most 9 starts (3 cache lines). Three shapes of real
// data would make the table deep or large, and get their own rule:
//   - range runs: an inclusive range (ASN CSV rows, inventory ranges) splits into a staircase of prefixes, one
//     interval each (boundaries at start + 2, 4, 8 ...), which differ only in their match. A run of adjacent
//     intervals of one value that is exactly the canonical split of its union (split_range's prefixes) is
//     stored as ONE interval, its word's match the marker k_range_match, and the lookup computes the match
//     from the run's bounds (range_word: two bit scans). On the real-data table this halves the IPv6
//     intervals (2.34 M to 1.32 M); the answers, value and matched prefix, are exactly the uncollapsed ones,
//     and to_intervals gives the uncollapsed list back;
//   - boundaries clustered far below a child's entries (a few hosts in one /120 of a /64) get a child over
//     just their aligned block (a "skip" child, with a header holding the block and the answers on either
//     side);
//   - a staircase that is not one run (its steps have different values: other sources cross the range) has no
//     productive split, and stays one leaf of up to 128 candidates.
// On the real-data table (the builder leaves the IPv4-mapped block to lpm4, tables.cpp): depth 8 at most (27
// without the rules), 1.37 M slots, 36 MiB in all. lookup_bulk walks up to 64 keys a level at a time, every
// key's next slot prefetched before any is read, and resolves the run keys' matches in a second pass without
// a branch per key (perf/RESULTS.md: 20.5-22 M/s on addresses in allocated space, 3x the single lookups;
// before the runs 17-19 M/s, and single lookups 0.8x of that: the match's computation adds ~40 instructions
// to a run key's chain).
//
// Keys: 128-bit, IPv4 as IPv4-mapped (::ffff:a.b.c.d) like flow_record's addresses.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
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
        return scan(e, a);
    }
    uint32_t lookup(uint32_t a) const noexcept { return lpm_value(lookup_word(a)); }
    // Starts loading a's tbl24 line (a caller that has other work to overlap with the miss).
    void prefetch(uint32_t a) const noexcept { __builtin_prefetch(&_tbl24[a >> 8]); }
    // n lookups (words, as lookup_word), software-pipelined: the tbl24 loads of the next 32 addresses in
    // flight while one is read, an extension entry resolved 16 addresses after its interval line is
    // prefetched. Any n; larger batches hide more of the latency (perf/RESULTS.md). No allocation.
    void lookup_bulk(const uint32_t* a, uint32_t* out, unsigned n) const noexcept;
    // lookup_bulk in two halves, for a caller with other work to overlap with the second misses (enrich_records:
    // the IPv6 lookups). start: out[i] = the tbl24 entry (the caller prefetched those lines), an extension entry's
    // interval line prefetched. finish: the extension entries (bit 31) resolved to words. start then finish
    // answers exactly what lookup_bulk does.
    void lookup_bulk_start(const uint32_t* a, uint32_t* out, unsigned n) const noexcept {
        for (unsigned i = 0; i < n; ++i) {
            const uint32_t e = _tbl24[a[i] >> 8];
            out[i] = e;
            if (e & k_ext) [[unlikely]]
                prefetch_scan(e);
        }
    }
    void lookup_bulk_finish(const uint32_t* a, uint32_t* out, unsigned n) const noexcept {
        for (unsigned i = 0; i < n; ++i)
            if (out[i] & k_ext) [[unlikely]]
                out[i] = scan(out[i], a[i]);
    }

    std::size_t bytes() const noexcept { return (std::size_t(1) << 24) * 4 + (std::size_t(_last) + 2) * sizeof(iv); }
    std::size_t intervals() const noexcept { return std::size_t(_last) + 1; }
    // The IPv4-mapped intervals back (lo as 128-bit keys, match as the 128-bit length + 1: the IPv4 match
    // + 96), for tests and the comparison benchmarks.
    std::vector<interval> to_intervals() const;
    // 4 KiB pages of the tbl24 holding a non-zero entry (of 16,384).
    std::size_t tbl24_pages_written() const noexcept { return _pages_written; }

private:
    // An extension entry e's answer for a: the forward scan from the interval covering its /24's start.
    uint32_t scan(uint32_t e, uint32_t a) const noexcept {
        uint32_t i = e & ~k_ext;
        while (i < _last && _iv[i + 1].start <= a) ++i;
        return _iv[i].word;
    }
    // The lines that scan reads (a /24's intervals may straddle two).
    void prefetch_scan(uint32_t e) const noexcept {
        const uint32_t i = e & ~k_ext;
        __builtin_prefetch(&_iv[i + 1]);
        __builtin_prefetch(&_iv[std::min(i + 8, _last + 1)]);
    }
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
    // The packed answer (value and 128-bit match, lpm_value / lpm_match): the index walked down to a leaf
    // entry (one slot a level: the root's top 16 bits, then each crowded entry's next bits), then a search
    // over the at most k_leaf + 1 candidate starts that entry leaves.
    uint32_t lookup_word(u128 k) const noexcept {
        uint32_t off = 0, bits = k_root_bits;
        unsigned shift = 128 - k_root_bits;
        for (;;) {
            const uint32_t s = off + (static_cast<uint32_t>(k >> shift) & ((1u << bits) - 1));
            const slot e = _slots[s];
            if (e.child == 0) {
                const uint32_t hi = _slots[s + 1].lo;
                prefetch_leaf(e.lo, hi);
                return answer(last_le(_starts.data(), e.lo, hi, k), k);
            }
            off = e.child >> 6;
            bits = e.child & 31;
            if (e.child & k_skip) [[unlikely]] {
                const header h = header_of(off);
                if (k < h.base) return answer(h.before, k);
                shift = h.shift;
                if (((k - h.base) >> (shift + bits)) != 0) return answer(h.after, k);
            } else {
                shift -= bits;
            }
        }
    }
    // The last index in [lo, hi] whose start is <= k (starts[lo] <= k): a binary search without a branch on
    // the comparison (a conditional move per step; the steps' branches would mispredict half the time).
    static uint32_t last_le(const u128* starts, uint32_t lo, uint32_t hi, u128 k) noexcept {
        uint32_t len = hi - lo + 1;
        while (len > 1) {
            const uint32_t half = len / 2;
            lo = starts[lo + half] <= k ? lo + half : lo;
            len -= half;
        }
        return lo;
    }
    uint32_t lookup(u128 k) const noexcept { return lpm_value(lookup_word(k)); }
    // Interval i's word for k in it: a collapsed range run's match computed (range_word), else the stored word.
    // A branch: a select (range_word for every key) measured slower one at a time (5.6-5.9 M/s against 7.8 on
    // real addresses, perf/RESULTS.md), the instructions it adds to every lookup keeping fewer in flight.
    // lookup_bulk has no branch on it (a second pass over the chunk's run keys).
    uint32_t answer(uint32_t i, u128 k) const noexcept {
        const uint32_t w = _words[i];
        if (lpm_match(w) == k_range_match) return range_word(i, k, w);
        return w;
    }
    // The index levels lookup_word walks for k (1 = the root's slot was a leaf), for tests and benchmarks.
    unsigned levels(u128 k) const noexcept {
        uint32_t off = 0, bits = k_root_bits;
        unsigned shift = 128 - k_root_bits, n = 1;
        for (;; ++n) {
            const slot e = _slots[off + (static_cast<uint32_t>(k >> shift) & ((1u << bits) - 1))];
            if (e.child == 0) return n;
            off = e.child >> 6;
            bits = e.child & 31;
            if (e.child & k_skip) {
                const header h = header_of(off);
                if (k < h.base) return n;
                shift = h.shift;
                if (((k - h.base) >> (shift + bits)) != 0) return n;
            } else {
                shift -= bits;
            }
        }
    }
    // n lookups (words, as lookup_word), in chunks of 64 walked level by level: every key's slot of one level
    // is prefetched before any is read, then every key's leaf lines (prefetch_leaf), so the chunk's misses
    // overlap instead of forming one chain per key (chunks of 64, not 16: 1.1x on real addresses,
    // perf/RESULTS.md). No allocation.
    void lookup_bulk(const u128* k, uint32_t* out, unsigned n) const noexcept;

    std::size_t bytes() const noexcept { return _slots.size() * sizeof(slot) + _starts.size() * 16 + _words.size() * 4; }
    std::size_t intervals() const noexcept { return _words.size(); }
    std::vector<interval> to_intervals() const;
    // Index slots in all (the root's 65,537 included) and the deepest level (1 = the root only), for tests.
    std::size_t index_slots() const noexcept { return _slots.size(); }
    unsigned index_depth() const noexcept { return _depth; }
    // Collapsed range runs (intervals whose match is computed), for tests and the build's figures.
    std::size_t ranges() const noexcept { return _ranges; }
    // Skip children (path compression) and big leaves (unproductive splits left unsplit), for tests.
    std::size_t index_skips() const noexcept { return _skips; }
    std::size_t index_big_leaves() const noexcept { return _big_leaves; }

    // The index: the root on the top 16 bits; an entry whose range holds more than k_leaf intervals gets a
    // child on its next bits, 2^bits >= intervals / 4 (about 4 a slot), at most 16 bits, and so on down, so a
    // leaf entry leaves at most k_leaf + 1 candidates (3 cache lines of starts). Memory: about 2 slots (16
    // bytes) per interval in crowded space, nothing where intervals are sparse.
    static constexpr unsigned k_root_bits = 16;
    static constexpr uint32_t k_leaf = 8;
    static constexpr uint32_t k_big_leaf = 128;  // an unproductive split's leaf (add_node)
    static constexpr unsigned k_max_bits = 16;

private:
    struct slot {
        uint32_t lo = 0;     // the interval covering the entry's first address
        uint32_t child = 0;  // 0: a leaf; else (child's first slot << 6) | k_skip if it has a header | its bits
    };
    static constexpr uint32_t k_skip = 32;
    // A child over only part of its parent's entry (path compression: the entry's boundaries cluster in a
    // block much smaller than a regular child's entries, as a few hosts in one /120 of a /64 do; without it
    // each level would split off a few bits and the clustered keys walk dozens of levels). The 4 slots before
    // its first hold: its block's base, the parent entry's answers before and after the block, its shift.
    struct header {
        u128 base;
        uint32_t before, after, shift, pad;
    };
    static_assert(sizeof(header) == 4 * sizeof(slot));
    header header_of(uint32_t off) const noexcept {
        header h;
        std::memcpy(&h, static_cast<const void*>(&_slots[off - 4]), sizeof h);
        return h;
    }
    // A leaf's candidates [lo, hi] loaded in parallel, not one search step after another: every line of a
    // short range's starts and its words' lines; a big leaf's first two search steps. Always inlined: as a call
    // in lookup_bulk's level loop it halved that loop's rate (11 -> 5-7 M/s on real addresses).
    [[gnu::always_inline]] void prefetch_leaf(uint32_t lo, uint32_t hi) const noexcept {
        const u128* starts = _starts.data();
        if (hi - lo <= 2 * k_leaf) {
            const char* p = reinterpret_cast<const char*>(starts + lo);
            const char* q = reinterpret_cast<const char*>(starts + hi + 1);  // + 1: range_word reads the next start
            for (; p <= q; p += 64) __builtin_prefetch(p);
            __builtin_prefetch(q);
            __builtin_prefetch(&_words[lo]);
            __builtin_prefetch(&_words[hi]);
        } else {
            const uint32_t len = hi - lo + 1;
            __builtin_prefetch(starts + lo + len / 2);
            __builtin_prefetch(starts + lo + len / 4);
            __builtin_prefetch(starts + lo + len / 2 + len / 4);
        }
    }
    // A collapsed range run's word: the match of the canonical split of [a, b] (the run's first and last
    // addresses) at k, i.e. the largest aligned block holding k inside [a, b], of 2^s addresses. A block of 2^s
    // holding k starts at or after a exactly when s <= the highest bit where k and a differ, or a's low s bits
    // are 0: s_lo = max(high bit of k ^ a, ctz(a)) = the high bit of (k ^ a) | (a's lowest set bit), as the
    // high bit of an or is the larger one; it ends at or before b exactly when s <= the highest bit where k and
    // b differ, or b's low s bits are 1 (b's lowest clear bit). Two bit scans, selects, no search: the
    // formula with four scans and branches cost 9 ns a lookup, most of what collapsing saved (perf/RESULTS.md).
    static constexpr uint32_t k_range_match = 255;  // never a real match (1..129)
    // Masks and one bit scan, written so that GCC emits no branch (its ternaries here became branches).
    static unsigned high_bit(u128 x) noexcept {  // 0 for x == 0
        const uint64_t lo = static_cast<uint64_t>(x), hi = static_cast<uint64_t>(x >> 64);
        const uint64_t m = 0 - static_cast<uint64_t>(hi != 0);  // all ones when the high half decides
        return (static_cast<unsigned>(m) & 64) + 63 - unsigned(__builtin_clzll((hi & m) | (lo & ~m) | 1));
    }
    static unsigned is_zero(u128 x) noexcept {
        return static_cast<unsigned>((static_cast<uint64_t>(x) | static_cast<uint64_t>(x >> 64)) == 0);
    }
    uint32_t range_word(uint32_t i, u128 k, uint32_t w) const noexcept {
        const u128 a = _starts[i];
        const u128 b = _starts[i + 1] - 1;  // the sentinel 0 after the last: the space's last address
        const u128 la = a & (0 - a);        // a's lowest set bit (0: a == 0, no bound below)
        const u128 lb = ~b & (b + 1);       // b's lowest clear bit (0: b is the last address, no bound above)
        // No bound: + 128, past any real one (a run is never the whole space, so one bound always exists).
        const unsigned s_lo = high_bit((k ^ a) | la) + (is_zero(la) << 7);
        const unsigned s_hi = high_bit((k ^ b) | lb) + (is_zero(lb) << 7);
        const unsigned lt = 0u - static_cast<unsigned>(s_lo < s_hi);
        const unsigned s = (s_lo & lt) | (s_hi & ~lt);
        return lpm_value(w) | ((129u - s) << k_lpm_value_bits);
    }
    uint32_t add_node(u128 base, unsigned bits, unsigned shift, uint32_t j, unsigned depth);
    // Nodes: 2^bits entries and a sentinel (the interval covering the block's end), a skip child's header
    // in the 4 slots before them.
    std::vector<slot> _slots;
    std::vector<u128> _starts;  // the intervals' starts, then a sentinel 0 (range_word's next start)
    std::vector<uint32_t> _words;
    unsigned _depth = 1;
    std::size_t _skips = 0, _big_leaves = 0, _ranges = 0;
};

}  // namespace sluice::enrich
