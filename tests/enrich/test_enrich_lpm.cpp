// SPDX-License-Identifier: Apache-2.0
// LPM flattening, merging, range splitting and the lpm4/lpm6 tables against a brute-force reference.
#include <gtest/gtest.h>

#include <random>

#include "enrich/lpm/lpm.hpp"

using namespace sluice::enrich;

namespace {

u128 mask(uint8_t len) { return len == 0 ? 0 : ~u128(0) << (128 - len); }

// Brute force: the longest prefix containing k; among equal ones the later in the list.
uint32_t brute(const std::vector<prefix>& ps, u128 k) {
    int best = -1;
    uint32_t v = 0;
    for (const auto& p : ps)
        if ((k & mask(p.len)) == (p.addr & mask(p.len)) && int(p.len) >= best) {
            best = p.len;
            v = p.value;
        }
    return v;
}

std::vector<prefix> random_v4(std::mt19937_64& rng, unsigned n, uint32_t base_value) {
    std::vector<prefix> ps;
    for (unsigned i = 0; i < n; ++i) {
        // Clustered in 10.0.0.0/12 so that prefixes overlap.
        const uint32_t a = 0x0a000000u | (uint32_t(rng()) & 0x000fffffu);
        const uint8_t len = static_cast<uint8_t>(8 + rng() % 25);  // /8 .. /32
        ps.push_back({v4_key(a) & mask(96 + len), static_cast<uint8_t>(96 + len), base_value + 1 + uint32_t(rng() % 50)});
    }
    return ps;
}

std::vector<prefix> random_v6(std::mt19937_64& rng, unsigned n, uint32_t base_value) {
    std::vector<prefix> ps;
    for (unsigned i = 0; i < n; ++i) {
        const u128 a = (u128(0x20010db8) << 96) | (u128(rng() & 0xffff) << 80) | (u128(rng()) << 16);
        const uint8_t len = static_cast<uint8_t>(16 + rng() % 113);
        ps.push_back({a & mask(len), len, base_value + 1 + uint32_t(rng() % 50)});
    }
    return ps;
}

// Probe points: every prefix's first and last address, their neighbours, and random ones.
std::vector<u128> probes(const std::vector<prefix>& ps, std::mt19937_64& rng, bool v4) {
    std::vector<u128> ks;
    for (const auto& p : ps) {
        const u128 last = p.addr | ~mask(p.len);
        ks.push_back(p.addr);
        ks.push_back(last);
        ks.push_back(p.addr - 1);
        ks.push_back(last + 1);
    }
    for (int i = 0; i < 2000; ++i)
        ks.push_back(v4 ? v4_key(0x0a000000u | (uint32_t(rng()) & 0x000fffffu))
                        : (u128(0x20010db8) << 96) | (u128(rng() & 0xffff) << 80) | (u128(rng()) << 16));
    return ks;
}

}  // namespace

TEST(EnrichLpm, FlattenMatchesBruteForceV4) {
    std::mt19937_64 rng(1);
    for (int round = 0; round < 6; ++round) {  // each lpm4 fills 64 MiB: few rounds, many probes
        auto ps = random_v4(rng, 300, 0);
        auto list = flatten(ps);
        lpm4 t(list);
        for (u128 k : probes(ps, rng, true)) {
            ASSERT_EQ(interval_lookup(list, k), brute(ps, k));
            if (is_v4_key(k)) {
                ASSERT_EQ(t.lookup(static_cast<uint32_t>(k)), brute(ps, k));
            }
        }
    }
}

TEST(EnrichLpm, FlattenMatchesBruteForceV6) {
    std::mt19937_64 rng(2);
    for (int round = 0; round < 20; ++round) {
        auto ps = random_v6(rng, 300, 0);
        lpm6 t(flatten(ps));
        for (u128 k : probes(ps, rng, false)) ASSERT_EQ(t.lookup(k), brute(ps, k));
    }
}

TEST(EnrichLpm, BulkEqualsSingle) {
    std::mt19937_64 rng(3);
    auto ps = random_v4(rng, 2000, 0);
    lpm4 t(flatten(ps));
    std::vector<uint32_t> keys(4096), out(4096);
    for (auto& k : keys) k = 0x0a000000u | (uint32_t(rng()) & 0x000fffffu);
    for (std::size_t i = 0; i < keys.size(); i += 32) t.lookup_bulk(&keys[i], &out[i], 32);
    for (std::size_t i = 0; i < keys.size(); ++i) ASSERT_EQ(out[i], t.lookup(keys[i])) << i;
}

TEST(EnrichLpm, MergeIsPerSourceLpmThenCombined) {
    // Two sources with overlapping prefixes: the merged value at k is combine(lpm_a(k), lpm_b(k)).
    std::mt19937_64 rng(4);
    for (int round = 0; round < 4; ++round) {
        auto a = random_v4(rng, 200, 0);
        auto b = random_v4(rng, 200, 100);
        auto combine = [](std::span<const uint32_t> v) { return v[0] * 1000 + v[1]; };
        auto merged = merge({flatten(a), flatten(b)}, combine);
        lpm4 t(merged);
        for (u128 k : probes(a, rng, true)) {
            const uint32_t va = brute(a, k), vb = brute(b, k);
            const uint32_t want = (va | vb) ? va * 1000 + vb : 0;
            ASSERT_EQ(t.lookup(static_cast<uint32_t>(k)), want);
        }
    }
}

TEST(EnrichLpm, RangeSplitCoversExactly) {
    std::mt19937_64 rng(5);
    for (int round = 0; round < 500; ++round) {
        u128 f = v4_key(uint32_t(rng())), l = v4_key(uint32_t(rng()));
        if (f > l) std::swap(f, l);
        if (round % 3 == 0) l = f + (rng() % 700);
        if (l > v4_key(0xffffffffu)) l = v4_key(0xffffffffu);
        std::vector<prefix> ps;
        split_range(f, l, 7, ps);
        ASSERT_LE(ps.size(), 62u);
        // Disjoint, contiguous, in order, each aligned.
        u128 next = f;
        for (const auto& p : ps) {
            ASSERT_EQ(p.addr, next);
            ASSERT_EQ(p.addr & ~mask(p.len), 0u);
            next = (p.addr | ~mask(p.len)) + 1;
        }
        ASSERT_EQ(next, l + 1);
    }
    std::vector<prefix> ps;
    split_range(v4_key(0x0a000005), v4_key(0x0a000014), 1, ps);  // 10.0.0.5 - 10.0.0.20
    std::vector<std::string> txt;
    for (const auto& p : ps) txt.push_back(prefix_text(p.addr, p.len));
    EXPECT_EQ(txt, (std::vector<std::string>{"10.0.0.5/32", "10.0.0.6/31", "10.0.0.8/29", "10.0.0.16/30",
                                             "10.0.0.20/32"}));
    ps.clear();
    split_range(0, ~u128(0), 1, ps);  // the whole space: one ::/0
    ASSERT_EQ(ps.size(), 1u);
    EXPECT_EQ(ps[0].len, 0);
}

TEST(EnrichLpm, RangesAndPrefixesFromDifferentSources) {
    // A range split into prefixes in source 0, overlapping prefixes in source 1; brute force over the
    // union per source.
    std::mt19937_64 rng(6);
    std::vector<prefix> a;
    for (int i = 0; i < 50; ++i) {
        uint32_t f = 0x0a000000u | (uint32_t(rng()) & 0xfffff), l = f + uint32_t(rng() % 5000);
        split_range(v4_key(f), v4_key(l), 1 + uint32_t(i), a);
    }
    auto b = random_v4(rng, 300, 100);
    auto merged = merge({flatten(a), flatten(b)}, [](std::span<const uint32_t> v) { return v[0] ? v[0] : v[1]; });
    lpm4 t(merged);
    for (u128 k : probes(a, rng, true)) {
        const uint32_t va = brute(a, k), vb = brute(b, k);
        ASSERT_EQ(t.lookup(static_cast<uint32_t>(k)), va ? va : vb);
    }
}

TEST(EnrichLpm, EdgesOfTheAddressSpace) {
    // The last and first IPv4 addresses, a range ending at 255.255.255.255, and ::/0 under everything.
    std::vector<prefix> ps;
    split_range(v4_key(0xfffffff0u), v4_key(0xffffffffu), 5, ps);
    ps.push_back({v4_key(0), 96 + 32, 6});
    ps.push_back({v4_key(0xfffffffeu), 96 + 31, 7});
    ps.push_back({0, 0, 9});
    auto list = flatten(ps);
    lpm4 t(list);
    lpm6 t6(list);
    EXPECT_EQ(t.lookup(0xffffffffu), 7u);
    EXPECT_EQ(t.lookup(0xfffffffdu), 5u);
    EXPECT_EQ(t.lookup(0xffffffefu), 9u);
    EXPECT_EQ(t.lookup(0), 6u);
    EXPECT_EQ(t.lookup(1), 9u);
    EXPECT_EQ(t6.lookup(~u128(0)), 9u);
    EXPECT_EQ(t6.lookup(v4_key(0xffffffffu)), 7u);
    uint32_t keys[4] = {0xffffffffu, 0xfffffffdu, 0, 1}, out[4];
    t.lookup_bulk(keys, out, 4);
    EXPECT_EQ(std::vector<uint32_t>(out, out + 4), (std::vector<uint32_t>{7, 5, 6, 9}));
    // An empty table answers 0 everywhere.
    lpm4 empty(flatten({}));
    EXPECT_EQ(empty.lookup(0x0a000001u), 0u);
}

TEST(EnrichLpm, ParsePrefix) {
    prefix p;
    ASSERT_TRUE(parse_prefix("10.1.2.3/8", p));
    EXPECT_EQ(prefix_text(p.addr, p.len), "10.0.0.0/8");
    ASSERT_TRUE(parse_prefix("2001:db8::1/32", p));
    EXPECT_EQ(prefix_text(p.addr, p.len), "2001:db8::/32");
    ASSERT_TRUE(parse_prefix("192.0.2.1", p));
    EXPECT_EQ(p.len, 128);
    EXPECT_FALSE(parse_prefix("10.0.0.0/33", p));
    EXPECT_FALSE(parse_prefix("2001:db8::/129", p));
    EXPECT_FALSE(parse_prefix("10.0.0/8", p));
    EXPECT_FALSE(parse_prefix("10.0.0.0/", p));
    EXPECT_FALSE(parse_prefix("", p));
}

namespace {
// Brute force of the matched prefix: the longest prefix of any source containing k (its length + 1), 0 = none.
uint8_t brute_match(const std::vector<std::vector<prefix>>& srcs, u128 k) {
    int best = -1;
    for (const auto& ps : srcs)
        for (const auto& p : ps)
            if (p.value != 0 && (k & mask(p.len)) == (p.addr & mask(p.len))) best = std::max(best, int(p.len));
    return static_cast<uint8_t>(best + 1);
}
uint8_t match_at(const std::vector<interval>& list, u128 k) {
    auto it = std::upper_bound(list.begin(), list.end(), k, [](u128 v, const interval& iv) { return v < iv.lo; });
    return (it - 1)->match;
}
}  // namespace

TEST(EnrichLpm, MatchedPrefixLengthThroughFlattenAndMerge) {
    // One source: a /8 holding a /16 holding a /24; the match is the innermost's length + 1 (128-bit lengths).
    std::vector<prefix> a{{v4_key(0x0a000000u), 96 + 8, 1}, {v4_key(0x0a010000u), 96 + 16, 1},
                          {v4_key(0x0a010200u), 96 + 24, 2}};
    auto fa = flatten(a);
    EXPECT_EQ(match_at(fa, v4_key(0x0a020304u)), 96 + 8 + 1);
    EXPECT_EQ(match_at(fa, v4_key(0x0a010304u)), 96 + 16 + 1);  // same value as the /8, its own match
    EXPECT_EQ(match_at(fa, v4_key(0x0a010203u)), 96 + 24 + 1);
    EXPECT_EQ(match_at(fa, v4_key(0x0b000000u)), 0);
    // Random sources: after the merge, the match is the longest prefix of any source at that address.
    std::mt19937_64 rng(17);
    for (int round = 0; round < 20; ++round) {
        std::vector<std::vector<prefix>> srcs{random_v4(rng, 200, 0), random_v4(rng, 200, 100), random_v6(rng, 100, 200)};
        std::vector<std::vector<interval>> lists;
        for (const auto& s : srcs) lists.push_back(flatten(s));
        for (std::size_t i = 0; i < srcs.size(); ++i)
            for (u128 k : probes(srcs[i], rng, i < 2)) ASSERT_EQ(match_at(lists[i], k), brute_match({srcs[i]}, k));
        auto merged = merge(lists, [](std::span<const uint32_t> v) { return v[0] ? v[0] : v[1] ? v[1] : v[2]; });
        for (std::size_t i = 0; i < srcs.size(); ++i)
            for (u128 k : probes(srcs[i], rng, i < 2)) ASSERT_EQ(match_at(merged, k), brute_match(srcs, k));
    }
}
