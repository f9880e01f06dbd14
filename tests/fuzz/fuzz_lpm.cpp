// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the lookup tables over lists an input describes, against the reference search.
//
// The first byte picks the mode; the rest is records of 20 bytes (a 16-byte address, a length or match byte, a
// 3-byte value):
//   mode even: prefixes, and every fourth record an inclusive range (to the next record's address) split into
//              its prefixes (split_range), flattened: what the builder gives lpm6 and lpm4. The records'
//              addresses are folded into a few /48s and the IPv4-mapped block, so runs, staircases, clusters and
//              overlaps are common.
//   mode odd:  a raw interval list (the records' addresses sorted and deduplicated, their own value and match):
//              lists flatten never gives, such as adjacent equal intervals and blocks that look like a range's
//              split but are not its canonical one (lpm6's range-run check).
// Checked, for lpm6 (and lpm4 for a quarter of the even mode's inputs) at every interval's edges and a point inside: lookup_word and
// lookup_bulk equal the reference word (value and match), and lpm6's to_intervals gives the list back.
// Any difference aborts.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "enrich/lpm/lpm.hpp"

namespace {

using namespace sluice::enrich;

constexpr std::size_t k_record = 20;
constexpr std::size_t k_max_records = 512;

uint32_t reference_word(const std::vector<interval>& list, u128 k) {
    const auto it =
        std::upper_bound(list.begin(), list.end(), k, [](u128 a, const interval& x) { return a < u128(x.lo); });
    const interval& x = *(it - 1);
    return x.value == 0 ? 0 : x.value | (uint32_t(std::min<unsigned>(129, x.match)) << k_lpm_value_bits);
}

uint32_t reference_word4(const std::vector<interval>& list, uint32_t a) {
    const u128 k = v4_key(a);
    const auto it =
        std::upper_bound(list.begin(), list.end(), k, [](u128 b, const interval& x) { return b < u128(x.lo); });
    const interval& x = *(it - 1);
    if (x.value == 0) return 0;
    const unsigned m = x.match == 0 ? 0 : x.match <= 96 ? 1 : std::min(33u, unsigned(x.match) - 96);
    return x.value | (m << k_lpm_value_bits);
}

u128 fold(u128 a, uint8_t sel) {
    // Four /48s of 2001:db8::/32 and the IPv4-mapped block; one in eight left where it is.
    switch (sel & 7) {
        case 0: return a;
        case 1: return k_v4_mapped | (a & 0xffffffffu);
        default: return (u128(0x20010db8) << 96) | (u128(sel & 3) << 80) | (a & ((u128(1) << 80) - 1));
    }
}

void check(const std::vector<interval>& list, bool with4) {
    const lpm6 t6(list);
    std::vector<u128> ks;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const u128 lo = list[i].lo;
        const u128 next = i + 1 < list.size() ? u128(list[i + 1].lo) : 0;
        ks.push_back(lo);
        ks.push_back(lo - 1);
        ks.push_back(lo + 1);
        ks.push_back(next - 1);
        ks.push_back(lo + ((next - lo) >> 1));
    }
    std::vector<uint32_t> out(ks.size());
    t6.lookup_bulk(ks.data(), out.data(), static_cast<unsigned>(ks.size()));
    for (std::size_t i = 0; i < ks.size(); ++i) {
        const uint32_t want = reference_word(list, ks[i]);
        if (t6.lookup_word(ks[i]) != want || out[i] != want) std::abort();
    }
    const auto back = t6.to_intervals();
    if (back.size() != list.size()) std::abort();
    for (std::size_t i = 0; i < list.size(); ++i) {
        const unsigned want_m = list[i].value ? std::min<unsigned>(129, list[i].match) : 0;
        if (u128(back[i].lo) != u128(list[i].lo) || back[i].value != list[i].value ||
            (back[i].value ? back[i].match : 0) != want_m)
            std::abort();
    }
    if (!with4) return;
    const lpm4 t4(list);
    for (u128 k : ks) {
        if (!is_v4_key(k)) continue;
        const uint32_t a = static_cast<uint32_t>(k);
        if (t4.lookup_word(a) != reference_word4(list, a)) std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const bool raw = data[0] & 1;
    const std::size_t n = std::min(k_max_records, (size - 1) / k_record);
    struct rec {
        u128 addr;
        uint8_t len;
        uint32_t value;
        uint8_t sel;
    };
    std::vector<rec> rs;
    for (std::size_t i = 0; i < n; ++i) {
        const uint8_t* p = data + 1 + i * k_record;
        rec r;
        r.addr = to_u128(p);
        r.len = p[16];
        r.value = (uint32_t(p[17]) << 16 | uint32_t(p[18]) << 8 | p[19]) & k_lpm_value_mask;
        r.sel = p[15];
        rs.push_back(r);
    }
    if (!raw) {
        std::vector<prefix> ps;
        for (std::size_t i = 0; i < rs.size(); ++i) {
            const u128 a = fold(rs[i].addr, rs[i].sel);
            if (i % 4 == 3 && i + 1 < rs.size()) {
                u128 b = fold(rs[i + 1].addr, rs[i].sel);
                const u128 lo = std::min(a, b), hi = std::max(a, b);
                if (ps.size() < 20000) split_range(lo, hi, rs[i].value, ps);
            } else {
                ps.push_back({a, static_cast<uint8_t>(rs[i].len % 129), rs[i].value});
            }
        }
        check(flatten(std::move(ps)), (data[0] & 6) == 6);  // lpm4 for 1 input in 4: its 64 MiB table is slow to map
        return 0;
    }
    // Raw: starts sorted and distinct, the first at 0; match any 0..255 (lpm6 caps it at 129, and a word of
    // value 0 is 0).
    std::vector<interval> list;
    list.push_back({0, rs.empty() ? 0u : rs[0].value, rs.empty() ? uint8_t(0) : rs[0].len});
    std::sort(rs.begin(), rs.end(), [](const rec& x, const rec& y) { return x.addr < y.addr; });
    for (const rec& r : rs) {
        // Addresses rounded to the block of their match, so whole aligned blocks (run candidates) are common.
        const unsigned m = r.len % 130;
        const u128 a = m >= 2 ? r.addr & ~((u128(1) << (129 - m)) - 1) : r.addr;
        if (a == 0 || a == u128(list.back().lo)) continue;
        if (a < u128(list.back().lo)) continue;
        list.push_back({a, r.value, static_cast<uint8_t>(m)});
    }
    check(list, false);
    return 0;
}
