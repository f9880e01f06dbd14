// SPDX-License-Identifier: Apache-2.0
// The IPv4 (DIR-24) and IPv6 lookup tables over merged intervals; see lpm.hpp.
#include "lpm.hpp"

#include <sys/mman.h>

#include <algorithm>
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
    // In chunks of 32: every tbl24 line of the chunk prefetched first (32 misses in flight: what the core's
    // miss buffers hold), then loaded; an extension entry's interval line is prefetched when its load
    // resolves, and the (few) extension entries scan their intervals last.
    constexpr unsigned k_chunk = 32;
    for (unsigned base = 0; base < n; base += k_chunk) {
        const unsigned m = std::min(k_chunk, n - base);
        const uint32_t* ca = a + base;
        uint32_t* co = out + base;
        for (unsigned i = 0; i < m; ++i) __builtin_prefetch(&_tbl24[ca[i] >> 8]);
        unsigned ext = 0;
        for (unsigned i = 0; i < m; ++i) {
            const uint32_t e = _tbl24[ca[i] >> 8];
            co[i] = e;
            if (e & k_ext) [[unlikely]] {
                __builtin_prefetch(&_iv[(e & ~k_ext) + 1]);
                ++ext;
            }
        }
        if (ext == 0) continue;
        for (unsigned i = 0; i < m; ++i)
            if (co[i] & k_ext) {
                uint32_t j = co[i] & ~k_ext;
                while (j < _last && _iv[j + 1].start <= ca[i]) ++j;
                co[i] = _iv[j].word;
            }
    }
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

lpm6::lpm6() : _index(65537, 0), _sub_of(65536), _starts{0}, _words{0} {}

lpm6::lpm6(const std::vector<interval>& all) : _index(65537, 0), _sub_of(65536) {
    _starts.reserve(all.size());
    _words.reserve(all.size());
    for (const auto& iv : all) {
        _starts.push_back(iv.lo);
        _words.push_back(word6(iv));
    }
    if (_starts.empty()) {
        _starts.push_back(0);
        _words.push_back(0);
    }
    std::size_t j = 0;
    for (uint32_t h = 0; h < 65536; ++h) {
        const u128 base = u128(h) << 112;
        while (j + 1 < _starts.size() && _starts[j + 1] <= base) ++j;
        _index[h] = static_cast<uint32_t>(j);
    }
    _index[65536] = static_cast<uint32_t>(_starts.size() - 1);
    // The second index of the crowded buckets: entry s = the interval covering (h << 112) | (s << (112 - bits)),
    // and entry 2^bits = the first index's entry for h + 1 (the interval covering the next bucket's start).
    for (uint32_t h = 0; h < 65536; ++h) {
        const uint32_t count = _index[h + 1] - _index[h];
        if (count <= k_sub_min) continue;
        uint32_t bits = 1;
        while (bits < k_sub_max_bits && (uint64_t(1) << bits) * 8 < count) ++bits;
        _sub_of[h] = {static_cast<uint32_t>(_sub.size()), bits};
        std::size_t jj = _index[h];
        for (uint32_t sb = 0; sb < (1u << bits); ++sb) {
            const u128 base = (u128(h) << 112) | (u128(sb) << (112 - bits));
            while (jj + 1 < _starts.size() && _starts[jj + 1] <= base) ++jj;
            _sub.push_back(static_cast<uint32_t>(jj));
        }
        _sub.push_back(_index[h + 1]);
    }
}

std::vector<interval> lpm6::to_intervals() const {
    std::vector<interval> out;
    out.reserve(_words.size());
    for (std::size_t j = 0; j < _words.size(); ++j) out.push_back({_starts[j], lpm_value(_words[j]), lpm_match(_words[j])});
    return out;
}

}  // namespace sluice::enrich
