// SPDX-License-Identifier: Apache-2.0
// The IPv4 (DIR-24) and IPv6 lookup tables over merged intervals; see lpm.hpp.
#include "lpm.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

namespace sluice::enrich {

namespace detail {

namespace {
constexpr std::size_t k_huge_page = std::size_t(2) << 20;
constexpr std::size_t k_page = 4096;
}  // namespace

mapping::mapping(std::size_t bytes, bool huge) {
    if (bytes == 0) return;
    const std::size_t n = huge ? (bytes + k_huge_page - 1) & ~(k_huge_page - 1) : (bytes + k_page - 1) & ~(k_page - 1);
    const std::size_t reserve = huge ? n + k_huge_page : n;  // room to align the start to 2 MiB
    void* p = ::mmap(nullptr, reserve, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    char* base = static_cast<char*>(p);
    if (huge) {
        char* aligned = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(base) + k_huge_page - 1) &
                                                ~uintptr_t(k_huge_page - 1));
        if (aligned > base) ::munmap(base, static_cast<std::size_t>(aligned - base));
        const std::size_t tail = static_cast<std::size_t>((base + reserve) - (aligned + n));
        if (tail) ::munmap(aligned + n, tail);
        base = aligned;
        // Advice only: without THP (or with it off) the mapping keeps 4 KiB pages and works the same.
        (void)::madvise(base, n, MADV_HUGEPAGE);
    }
    _p = base;
    _n = n;
    _huge = huge;
}

mapping::~mapping() {
    if (_p) ::munmap(_p, _n);
}

mapping& mapping::operator=(mapping&& o) noexcept {
    if (this != &o) {
        if (_p) ::munmap(_p, _n);
        _p = o._p;
        _n = o._n;
        _huge = o._huge;
        o._p = nullptr;
        o._n = 0;
    }
    return *this;
}

}  // namespace detail

namespace {

constexpr std::size_t k_tbl24_entries = std::size_t(1) << 24;
constexpr std::size_t k_tbl24_bytes = k_tbl24_entries * 4;
constexpr std::size_t k_tbl24_pages = k_tbl24_bytes / 4096;  // 16,384; 1,024 entries (/14 of space) each
constexpr std::size_t k_huge_iv_bytes = std::size_t(4) << 20;

uint32_t checked_value(uint32_t v) {
    if (v > k_lpm_value_mask)
        throw std::length_error("lpm: value " + std::to_string(v) + " does not fit the table's 22 bits");
    return v;
}

// lpm4's word: the value and the IPv4 match (1..33; a prefix shorter than /96 covering the IPv4-mapped space
// is an IPv4 /0).
uint32_t word4(const interval& x) {
    if (x.value == 0) return 0;
    const unsigned m = x.match == 0 ? 0 : x.match <= 96 ? 1 : std::min(33u, unsigned(x.match) - 96);
    return checked_value(x.value) | (m << k_lpm_value_bits);
}

uint32_t word6(const interval& x) {
    if (x.value == 0) return 0;
    const unsigned m = std::min(129u, unsigned(x.match));
    return checked_value(x.value) | (m << k_lpm_value_bits);
}

// Page tables filled readable (the zero page where nothing was written), so the worker's first lookups into
// a fresh version take no page fault. Advice: ignored where the kernel lacks it (before Linux 5.14).
void prefault_read(void* p, std::size_t n) {
#ifdef MADV_POPULATE_READ
    (void)::madvise(p, n, MADV_POPULATE_READ);
#else
    (void)p, (void)n;
#endif
}

// The one shared all-zero tbl24 of default-constructed tables: never written, so it stays the zero page.
const uint32_t* zero_tbl24() {
    static const detail::mapping zero = [] {
        detail::mapping m(k_tbl24_bytes, true);
        prefault_read(m.data(), m.size());
        return m;
    }();
    return static_cast<const uint32_t*>(zero.data());
}

}  // namespace

lpm4::lpm4() : _tbl24(zero_tbl24()), _last(0) {
    static const iv k_empty[2] = {{0, 0}, {0xffffffffu, 0}};
    _iv = k_empty;
}

lpm4::lpm4(const std::vector<interval>& all) {
    // The IPv4-mapped part, rebased to 32 bits: [first, end) of `all`, the first one starting at 0.
    const u128 lo4 = k_v4_mapped, hi4 = k_v4_mapped | 0xffffffffu;
    std::size_t first = 0;
    while (first + 1 < all.size() && all[first + 1].lo <= lo4) ++first;
    std::size_t end = all.empty() ? 0 : first + 1;
    while (end < all.size() && all[end].lo <= hi4) ++end;
    const std::size_t n = all.empty() ? 1 : end - first;
    if (n >= (std::size_t(1) << 31) - 1) throw std::length_error("lpm4: too many intervals");

    const std::size_t iv_bytes = (n + 1) * sizeof(iv);
    _iv_map = detail::mapping(iv_bytes, iv_bytes >= k_huge_iv_bytes);
    iv* ivs = static_cast<iv*>(_iv_map.data());
    if (all.empty()) {
        ivs[0] = {0, 0};
    } else {
        ivs[0] = {0, word4(all[first])};
        for (std::size_t j = 1; j < n; ++j)
            ivs[j] = {static_cast<uint32_t>(all[first + j].lo - lo4), word4(all[first + j])};
    }
    _last = static_cast<uint32_t>(n - 1);
    ivs[n] = {0xffffffffu, 0};
    auto start = [&](std::size_t j) -> uint64_t { return j < n ? ivs[j].start : uint64_t(1) << 32; };

    // Which 4 KiB pages of the tbl24 get written (a figure for tests and benchmarks): the /24 blocks wholly
    // inside an interval with a non-zero word, and the blocks with a boundary inside (an interval index).
    // Everything else stays the zero page.
    uint64_t touched[k_tbl24_pages / 64] = {};
    auto touch = [&](uint64_t first_block, uint64_t end_block) {  // [first, end)
        for (uint64_t p = first_block >> 10; p <= (end_block - 1) >> 10; ++p) touched[p >> 6] |= uint64_t(1) << (p & 63);
    };
    for (std::size_t j = 0; j < n; ++j) {
        const uint64_t fb = (start(j) + 255) >> 8, eb = start(j + 1) >> 8;
        if (ivs[j].word != 0 && fb < eb) touch(fb, eb);
        if (j > 0 && (ivs[j].start & 255) != 0) touch(ivs[j].start >> 8, (ivs[j].start >> 8) + 1);
    }
    for (uint64_t w : touched) _pages_written += static_cast<std::size_t>(__builtin_popcountll(w));
    // Huge pages always: a real table writes nearly every page anyway, and a small one writes a few 2 MiB
    // regions (each a /5 of the address space) while the rest reads as the huge zero page, whose page
    // tables the prefault below fills with 32 entries instead of 16,384.
    _tbl24_map = detail::mapping(k_tbl24_bytes, true);
    uint32_t* t = static_cast<uint32_t*>(_tbl24_map.data());

    // Pass 1: the /24 blocks wholly inside an interval hold its word (std::fill: memset speed). Pass 2: a
    // block with a boundary inside holds the index of the interval covering its first address. Every block
    // is one or the other; blocks of word 0 are not written.
    for (std::size_t j = 0; j < n; ++j) {
        const uint64_t fb = (start(j) + 255) >> 8, eb = start(j + 1) >> 8;
        if (ivs[j].word != 0 && fb < eb) std::fill(t + fb, t + eb, ivs[j].word);
    }
    uint64_t last_ext = UINT64_MAX;
    for (std::size_t j = 1; j < n; ++j) {
        if ((ivs[j].start & 255) == 0) continue;
        const uint64_t b = ivs[j].start >> 8;
        if (b != last_ext) t[b] = k_ext | static_cast<uint32_t>(j - 1);
        last_ext = b;
    }
    prefault_read(t, k_tbl24_bytes);
    _tbl24 = t;
    _iv = ivs;
}

void lpm4::lookup_bulk(const uint32_t* a, uint32_t* out, unsigned n) const noexcept {
    // One pass, software-pipelined: the tbl24 line of address i + k_ahead is prefetched while address i's
    // is read (32 misses in flight: what the core's miss buffers hold); an extension entry's interval line is
    // prefetched when its tbl24 load resolves and the entry is resolved k_ext_delay addresses later, by when
    // that second miss has mostly arrived. So the second, dependent miss of the 3.7 % of uniform lookups that
    // land in a split /24 overlaps later addresses' first misses instead of stalling the batch's end.
    constexpr unsigned k_ahead = 32, k_ext_delay = 16, k_ring = 32;  // ring > k_ext_delay + 1 pending
    static_assert((k_ring & (k_ring - 1)) == 0 && k_ring > k_ext_delay + 1);
    const unsigned pre = std::min(k_ahead, n);
    for (unsigned i = 0; i < pre; ++i) __builtin_prefetch(&_tbl24[a[i] >> 8]);
    uint32_t ring[k_ring];
    unsigned head = 0, tail = 0;
    auto resolve = [&](uint32_t i) { out[i] = scan(out[i], a[i]); };
    for (unsigned i = 0; i < n; ++i) {
        if (i + k_ahead < n) __builtin_prefetch(&_tbl24[a[i + k_ahead] >> 8]);
        const uint32_t e = _tbl24[a[i] >> 8];
        out[i] = e;
        if (e & k_ext) [[unlikely]] {
            prefetch_scan(e);
            ring[tail++ & (k_ring - 1)] = i;
        }
        if (head != tail && ring[head & (k_ring - 1)] + k_ext_delay <= i) resolve(ring[head++ & (k_ring - 1)]);
    }
    while (head != tail) resolve(ring[head++ & (k_ring - 1)]);
}

std::vector<interval> lpm4::to_intervals() const {
    std::vector<interval> out;
    out.reserve(std::size_t(_last) + 1);
    for (uint32_t j = 0; j <= _last; ++j) {
        const uint8_t m = lpm_match(_iv[j].word);
        out.push_back({v4_key(_iv[j].start), lpm_value(_iv[j].word), static_cast<uint8_t>(m ? m + 96 : 0)});
    }
    return out;
}

lpm6::lpm6() : _slots((std::size_t(1) << k_root_bits) + 1), _starts{0, 0}, _words{0} {}

namespace {

unsigned ctz128(u128 x) noexcept {
    const uint64_t lo = static_cast<uint64_t>(x), hi = static_cast<uint64_t>(x >> 64);
    return lo ? unsigned(__builtin_ctzll(lo)) : hi ? 64 + unsigned(__builtin_ctzll(hi)) : 128;
}

// A block at x of 2^s addresses with s < ctz(x) is the largest aligned block at x that fits before a union's
// end only if its double [x, x + 2^(s+1) - 1] does not fit: the union's last address is at most this.
u128 end_stop(u128 x, unsigned s) noexcept {
    const u128 half = (u128(1) << s) - 1;
    return x + half + half;  // x + 2^(s+1) - 2 (no overflow: x is aligned to 2^(s+1))
}

}  // namespace

lpm6::lpm6(const std::vector<interval>& all) {
    _starts.reserve(all.size() + 1);
    _words.reserve(all.size());
    // Range runs collapsed as they are copied (lpm.hpp): a run of adjacent intervals of one non-zero value, each
    // exactly an aligned block of its match's length (or two such blocks, not siblings: the peak of a range's
    // staircase, which flatten coalesces as they share the value and the match), that is the canonical split of
    // its union (split_range's prefixes: every block the largest aligned one at its start that fits before the
    // union's end) becomes one interval whose word's match is k_range_match. A block at x of 2^s addresses is
    // that largest one when s == ctz(x) (alignment stops it) or when the union ends before x + 2^(s+1) - 1 (the
    // end stops it); the second is checked against the run's growing end through the tightest such bound, so
    // the pass is linear.
    auto append_block = [](u128 x, unsigned s, u128& limit) {  // false: the run's end passes a bound
        if (s < ctz128(x)) limit = std::min(limit, end_stop(x, s));
        return x + ((u128(1) << s) - 1) <= limit;
    };
    // An interval of nb blocks of 2^s from lo (1 or 2), appended to a run of bound `limit`.
    auto append_interval = [&](u128 lo, unsigned s, unsigned nb, u128& limit) {
        return append_block(lo, s, limit) && (nb == 1 || append_block(lo + (u128(1) << s), s, limit));
    };
    const std::size_t n_all = all.size();
    bool in_run = false;        // the last interval pushed can take more blocks of its value
    u128 run_limit = ~u128(0);  // the run's last address may not pass this
    for (std::size_t i = 0; i < n_all; ++i) {
        const interval iv = all[i];  // by value: iv.lo is a packed member (no u128& to it)
        const u128 lo = iv.lo;
        const uint32_t w = word6(iv);
        // iv as blocks of its match's length (2^s addresses each): 1, 2 (lo aligned to exactly 2^s), or 0.
        unsigned s = 0, nb = 0;
        if (w != 0 && iv.match >= 2 && iv.match <= 129) {  // s <= 127 (a /0 is the whole space: no run)
            s = 129u - iv.match;
            const u128 last = i + 1 < n_all ? u128(all[i + 1].lo) - 1 : ~u128(0);
            const u128 size_m1 = (u128(1) << s) - 1;
            if ((lo & size_m1) == 0 && last - lo == size_m1)
                nb = 1;
            else if (s < 127 && ctz128(lo) == s && last - lo == size_m1 + size_m1 + 1)
                nb = 2;
        }
        if (nb != 0 && in_run && lpm_value(_words.back()) == lpm_value(w)) {
            u128 limit = run_limit;
            if (append_interval(lo, s, nb, limit)) {
                run_limit = limit;
                if (lpm_match(_words.back()) != k_range_match) ++_ranges;  // the run's second interval
                _words.back() = lpm_value(w) | (k_range_match << k_lpm_value_bits);
                continue;  // one more part of the run: no new interval
            }
        }
        _starts.push_back(lo);
        _words.push_back(w);
        // A new run starts here (its first blocks always fit: an aligned block; a staircase's peak pair).
        in_run = nb != 0;
        run_limit = ~u128(0);
        if (in_run) (void)append_interval(lo, s, nb, run_limit);
    }
    if (_starts.empty()) {
        _starts.push_back(0);
        _words.push_back(0);
    }
    if (_starts.size() >= (std::size_t(1) << 32) - 1) throw std::length_error("lpm6: too many intervals");
    add_node(0, k_root_bits, 128 - k_root_bits, 0, 1);
    _starts.push_back(0);  // the sentinel (lpm.hpp): after the index, which searches the intervals only
}

// A node over the block [base, base + 2^(bits + shift)): 2^bits entries of 2^shift addresses, then the
// sentinel; j = the interval covering base. Children are added depth first, after the node's own slots (so
// _slots may move: indices only). Returns the node's first slot.
uint32_t lpm6::add_node(u128 base, unsigned bits, unsigned shift, uint32_t j, unsigned depth) {
    const std::size_t n = _starts.size();
    const std::size_t off = _slots.size();
    const uint32_t count = 1u << bits;
    if (off + count + 1 >= (std::size_t(1) << 26)) throw std::length_error("lpm6: index too large");
    _depth = std::max(_depth, depth);
    _slots.resize(off + count + 1);
    for (uint32_t s = 0; s < count; ++s) {
        const u128 b = base + (u128(s) << shift);
        while (j + 1 < n && _starts[j + 1] <= b) ++j;
        _slots[off + s].lo = j;
    }
    // The sentinel: the interval covering the block's end, or the last one when the block ends the space (the
    // root, or a child of its last entries: base + 2^(bits + shift) wraps to 0 there; fuzz_lpm found a child
    // over ffff::/16 whose last entry searched too few candidates before this).
    const u128 end = shift + bits == 128 ? 0 : base + (u128(count) << shift);
    if (end == 0) {
        _slots[off + count].lo = static_cast<uint32_t>(n - 1);
    } else {
        while (j + 1 < n && _starts[j + 1] <= end) ++j;
        _slots[off + count].lo = j;
    }
    for (uint32_t s = 0; s < count; ++s) {
        const uint32_t lo = _slots[off + s].lo, hi = _slots[off + s + 1].lo;
        if (hi - lo <= k_leaf || shift == 0) continue;
        // A child's bits: 2^bits >= intervals / 4, at most k_max_bits and fewer than the block's bits.
        auto child_bits = [&](unsigned block_bits) {
            unsigned b = 1;
            while (b < k_max_bits && b < block_bits && (uint64_t(1) << b) * 4 < hi - lo) ++b;
            return b;
        };
        // A regular child: the entry's next cb bits.
        const unsigned cb = child_bits(shift);
        // The entry's boundaries: starts[lo + 1 .. last] (hi itself only if it starts inside the entry). When
        // they all fall in one of the regular child's entries, the child covers just their aligned block.
        const u128 entry = base + (u128(s) << shift);
        const u128 entry_last = entry + ((u128(1) << shift) - 1);
        const uint32_t last = _starts[hi] <= entry_last ? hi : hi - 1;
        const u128 x = _starts[lo + 1] ^ _starts[last];
        // The bits below their common prefix (x != 0: an entry over k_leaf holds distinct boundaries).
        const unsigned span = x >> 64 ? 128 - __builtin_clzll(uint64_t(x >> 64)) : 64 - __builtin_clzll(uint64_t(x));
        uint32_t child;
        if (span <= shift - cb) {
            const u128 cbase = _starts[lo + 1] & ~((u128(1) << span) - 1);
            const unsigned sb = child_bits(span);
            // The header in the 4 slots before the child's first (the child's interval covering cbase is lo:
            // no boundary lies between the entry's start and the first one).
            const std::size_t h = _slots.size();
            _slots.resize(h + 4);
            const header hd{cbase, lo, last, span - sb, 0};
            std::memcpy(static_cast<void*>(&_slots[h]), &hd, sizeof hd);
            ++_skips;
            child = add_node(cbase, sb, span - sb, lo, depth + 1);
            child = (child << 6) | k_skip | sb;
        } else {
            // An unproductive split (one of the child's entries would keep over 3/4 of the boundaries: the
            // staircase of prefixes that splitting an inclusive range gives, boundaries at start + 2, 4, 8 ...)
            // leaves the entry a leaf searched in one go, up to k_big_leaf candidates: a chain of such
            // splits would cost a level each.
            if (hi - lo <= k_big_leaf) {
                uint32_t most = 0, run = 0;
                uint64_t prev = UINT64_MAX;
                for (uint32_t b = lo + 1; b <= last; ++b) {
                    const uint64_t sub = static_cast<uint64_t>((_starts[b] - entry) >> (shift - cb));
                    run = sub == prev ? run + 1 : 1;
                    prev = sub;
                    most = std::max(most, run);
                }
                if (uint64_t(most) * 4 > uint64_t(hi - lo) * 3) {
                    ++_big_leaves;
                    continue;
                }
            }
            child = add_node(entry, cb, shift - cb, lo, depth + 1);
            child = (child << 6) | cb;
        }
        _slots[off + s].child = child;
    }
    return static_cast<uint32_t>(off);
}

void lpm6::lookup_bulk(const u128* k, uint32_t* out, unsigned n) const noexcept {
    constexpr unsigned k_chunk = 64;
    uint32_t at[k_chunk], lo[k_chunk], hi[k_chunk];
    unsigned shift[k_chunk];
    uint8_t active[k_chunk];
    const u128* starts = _starts.data();
    for (unsigned base = 0; base < n; base += k_chunk) {
        const unsigned m = std::min(k_chunk, n - base);
        const u128* ck = k + base;
        for (unsigned i = 0; i < m; ++i) {
            shift[i] = 128 - k_root_bits;
            at[i] = static_cast<uint32_t>(ck[i] >> shift[i]);  // the root's slot
            __builtin_prefetch(&_slots[at[i]]);
            active[i] = static_cast<uint8_t>(i);
        }
        // One level a round: read every active key's slot (prefetched last round); a leaf prefetches its
        // candidate starts and words, an inner slot its child's slot.
        for (unsigned na = m; na != 0;) {
            unsigned next = 0;
            for (unsigned t = 0; t < na; ++t) {
                const unsigned i = active[t];
                const slot e = _slots[at[i]];
                if (e.child == 0) {
                    lo[i] = e.lo;
                    hi[i] = _slots[at[i] + 1].lo;
                    prefetch_leaf(lo[i], hi[i]);
                } else {
                    const uint32_t off = e.child >> 6, bits = e.child & 31;
                    if (e.child & k_skip) [[unlikely]] {
                        // Rare (clustered boundaries): the header read now, not prefetched.
                        const header h = header_of(off);
                        if (ck[i] < h.base || ((ck[i] - h.base) >> (h.shift + bits)) != 0) {
                            lo[i] = hi[i] = ck[i] < h.base ? h.before : h.after;
                            __builtin_prefetch(&_words[lo[i]]);
                            continue;
                        }
                        shift[i] = h.shift;
                    } else {
                        shift[i] -= bits;
                    }
                    at[i] = off + (static_cast<uint32_t>(ck[i] >> shift[i]) & ((1u << bits) - 1));
                    __builtin_prefetch(&_slots[at[i]]);
                    active[next++] = static_cast<uint8_t>(i);
                }
            }
            na = next;
        }
        // The words, then the run keys' matches (range_word) over a list of them built without a branch: about
        // half the keys of real data land in runs, and a branch per key on it mispredicted (perf/RESULTS.md).
        uint8_t runs[k_chunk];
        unsigned nr = 0;
        for (unsigned i = 0; i < m; ++i) {
            const uint32_t j = last_le(starts, lo[i], hi[i], ck[i]);
            const uint32_t w = _words[j];
            out[base + i] = w;
            at[i] = j;
            runs[nr] = static_cast<uint8_t>(i);
            nr += lpm_match(w) == k_range_match;
        }
        for (unsigned t = 0; t < nr; ++t) {
            const unsigned i = runs[t];
            out[base + i] = range_word(at[i], ck[i], out[base + i]);
        }
    }
}

std::vector<interval> lpm6::to_intervals() const {
    std::vector<interval> out;
    out.reserve(_words.size());
    std::vector<prefix> blocks;
    for (std::size_t j = 0; j < _words.size(); ++j) {
        if (lpm_match(_words[j]) != k_range_match) {
            out.push_back({_starts[j], lpm_value(_words[j]), lpm_match(_words[j])});
            continue;
        }
        // A collapsed run back as its blocks (split_range gives exactly them: the run was their canonical split).
        blocks.clear();
        split_range(_starts[j], _starts[j + 1] - 1, lpm_value(_words[j]), blocks);  // the sentinel 0: ~0
        // The peak's two blocks of one length were one interval in the list (flatten coalesces them): again.
        for (const prefix& p : blocks) {
            const uint8_t m = static_cast<uint8_t>(p.len + 1);
            if (&p != &blocks[0] && out.back().match == m) continue;
            out.push_back({u128(p.addr), p.value, m});
        }
    }
    return out;
}

}  // namespace sluice::enrich
