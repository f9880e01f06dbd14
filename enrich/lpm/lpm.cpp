// SPDX-License-Identifier: Apache-2.0
// The IPv4 (DIR-24) and IPv6 lookup tables over merged intervals; see lpm.hpp.
#include "lpm.hpp"

#include <algorithm>

namespace sluice::enrich {

lpm4::lpm4() : _tbl24(new uint32_t[1u << 24]()), _iv{{0, 0}, {0xffffffffu, 0}}, _last(0) {}

lpm4::lpm4(const std::vector<interval>& all) : _tbl24(new uint32_t[1u << 24]) {
    // The IPv4-mapped part, rebased to 32 bits.
    const u128 lo4 = k_v4_mapped, hi4 = k_v4_mapped | 0xffffffffu;
    std::vector<uint64_t> starts;
    std::size_t i = 0;
    while (i + 1 < all.size() && all[i + 1].lo <= lo4) ++i;
    starts.push_back(0);
    _iv.push_back({0, all.empty() ? 0 : all[i].value});
    for (++i; i < all.size() && all[i].lo <= hi4; ++i) {
        starts.push_back(static_cast<uint64_t>(all[i].lo - lo4));
        _iv.push_back({static_cast<uint32_t>(all[i].lo - lo4), all[i].value});
    }
    starts.push_back(uint64_t(1) << 32);
    _last = static_cast<uint32_t>(_iv.size() - 1);
    _iv.push_back({0xffffffffu, 0});
    // Pass 1: the /24 blocks wholly inside an interval hold its value (std::fill: memset speed, so this is
    // ~10 ms for the 64 MiB whatever the data). Pass 2: a block with a boundary inside holds the index of
    // the interval covering its first address. Every block is one or the other.
    const std::size_t n = _last + 1;
    for (std::size_t j = 0; j < n; ++j) {
        const uint64_t first_block = (starts[j] + 255) >> 8, end_block = starts[j + 1] >> 8;  // [first, end)
        if (first_block < end_block)
            std::fill(_tbl24.get() + first_block, _tbl24.get() + end_block, _iv[j].value);
    }
    uint64_t last_ext = UINT64_MAX;
    for (std::size_t j = 1; j < n; ++j) {
        if ((starts[j] & 255) == 0) continue;
        const uint64_t b = starts[j] >> 8;
        if (b != last_ext) _tbl24[b] = k_ext | static_cast<uint32_t>(j - 1);
        last_ext = b;
    }
}

void lpm4::lookup_bulk(const uint32_t* a, uint32_t* out, unsigned n) const noexcept {
    for (unsigned i = 0; i < n; ++i) __builtin_prefetch(&_tbl24[a[i] >> 8]);
    unsigned ext = 0;
    for (unsigned i = 0; i < n; ++i) {
        out[i] = _tbl24[a[i] >> 8];
        if (out[i] & k_ext) [[unlikely]] {
            __builtin_prefetch(&_iv[(out[i] & ~k_ext) + 1]);
            ++ext;
        }
    }
    if (ext == 0) return;
    for (unsigned i = 0; i < n; ++i)
        if (out[i] & k_ext) {
            uint32_t j = out[i] & ~k_ext;
            while (j < _last && _iv[j + 1].start <= a[i]) ++j;
            out[i] = _iv[j].value;
        }
}

lpm6::lpm6() : _index(65537, 0), _starts{0}, _values{0} {}

lpm6::lpm6(const std::vector<interval>& all) : _index(65537, 0) {
    for (const auto& iv : all) {
        _starts.push_back(iv.lo);
        _values.push_back(iv.value);
    }
    if (_starts.empty()) {
        _starts.push_back(0);
        _values.push_back(0);
    }
    std::size_t j = 0;
    for (uint32_t h = 0; h < 65536; ++h) {
        const u128 base = u128(h) << 112;
        while (j + 1 < _starts.size() && _starts[j + 1] <= base) ++j;
        _index[h] = static_cast<uint32_t>(j);
    }
    _index[65536] = static_cast<uint32_t>(_starts.size() - 1);
}

}  // namespace sluice::enrich
