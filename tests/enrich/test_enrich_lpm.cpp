// SPDX-License-Identifier: Apache-2.0
// LPM flattening, merging, range splitting and the lpm4/lpm6 tables against a brute-force reference: the
// value and the matched prefix of one lookup, lookup_bulk, the tables' page use, and enrich_records' ids and
// matched prefixes on records.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>

#include "enrich/lpm/lpm.hpp"
#include "enrich/tables/tables.hpp"

using namespace sluice;
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
    for (std::size_t i = 0; i < keys.size(); ++i) {
        ASSERT_EQ(out[i], t.lookup_word(keys[i])) << i;
        ASSERT_EQ(lpm_value(out[i]), t.lookup(keys[i])) << i;
    }
    // Every batch size around the pipeline's depth (16), from every offset.
    for (unsigned n = 0; n <= 40; ++n) {
        std::vector<uint32_t> o(n + 1, 0xdeadbeef);
        t.lookup_bulk(&keys[n * 7], o.data(), n);
        for (unsigned i = 0; i < n; ++i) ASSERT_EQ(o[i], t.lookup_word(keys[n * 7 + i])) << n << " " << i;
        ASSERT_EQ(o[n], 0xdeadbeefu);  // nothing written past n
    }
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
    for (auto& o : out) o = lpm_value(o);
    EXPECT_EQ(std::vector<uint32_t>(out, out + 4), (std::vector<uint32_t>{7, 5, 6, 9}));
    // The matches: 255.255.255.254/31, the split range (one /28, 255.255.255.240/28), 0.0.0.0/32, ::/0 (an IPv4
    // /0 for lpm4, /0 of the 128 bits for lpm6).
    EXPECT_EQ(lpm_match(t.lookup_word(0xffffffffu)), 32);
    EXPECT_EQ(lpm_match(t.lookup_word(0xfffffffdu)), 29);
    EXPECT_EQ(lpm_match(t.lookup_word(0)), 33);
    EXPECT_EQ(lpm_match(t.lookup_word(1)), 1);
    EXPECT_EQ(lpm_match(t6.lookup_word(~u128(0))), 1);
    EXPECT_EQ(lpm_match(t6.lookup_word(v4_key(0xffffffffu))), 96 + 31 + 1);
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

namespace {
// The IPv4 match lpm4 reports for a 128-bit match m (intervals.hpp): the IPv4 length + 1, a prefix shorter
// than /96 counting as /0.
uint8_t v4_match(uint8_t m) { return m == 0 ? 0 : m <= 96 ? 1 : static_cast<uint8_t>(m - 96); }

std::vector<prefix> random_wide_v4(std::mt19937_64& rng, unsigned n, uint32_t base_value) {
    // Anywhere in the IPv4 space, /1../32: blocks of every size, many /24 boundaries.
    std::vector<prefix> ps;
    for (unsigned i = 0; i < n; ++i) {
        const uint8_t len = static_cast<uint8_t>(1 + rng() % 32);
        ps.push_back({v4_key(uint32_t(rng())) & mask(96 + len), static_cast<uint8_t>(96 + len),
                      base_value + 1 + uint32_t(rng() % 50)});
    }
    return ps;
}
}  // namespace

TEST(EnrichLpm, ValueAndMatchInOneLookupAgainstBruteForce) {
    // Three sources (two IPv4, one IPv6, one of them with a ::/0 and an ::ffff:0:0/96 under everything),
    // merged: lpm4 and lpm6 give the merged value and the longest matching prefix of any source.
    std::mt19937_64 rng(21);
    for (int round = 0; round < 4; ++round) {
        std::vector<std::vector<prefix>> srcs{random_v4(rng, 300, 0), random_wide_v4(rng, 300, 100),
                                              random_v6(rng, 200, 200)};
        if (round % 2) {
            srcs[2].push_back({0, 0, 250});
            srcs[2].push_back({k_v4_mapped, 96, 251});
        }
        std::vector<std::vector<interval>> lists;
        for (const auto& s : srcs) lists.push_back(flatten(s));
        auto combine = [](std::span<const uint32_t> v) { return v[0] * 1000 + v[1] * 3 + v[2]; };
        auto merged = merge(lists, combine);
        lpm4 t4(merged);
        lpm6 t6(merged);
        std::vector<u128> ks;
        for (std::size_t i = 0; i < srcs.size(); ++i)
            for (u128 k : probes(srcs[i], rng, i < 2)) ks.push_back(k);
        for (int i = 0; i < 3000; ++i) ks.push_back(v4_key(uint32_t(rng())));
        std::vector<uint32_t> keys4;
        for (u128 k : ks) {
            const uint32_t va = brute(srcs[0], k), vb = brute(srcs[1], k), vc = brute(srcs[2], k);
            const uint32_t want = (va | vb | vc) ? combine(std::vector<uint32_t>{va, vb, vc}) : 0;
            const uint8_t m = brute_match(srcs, k);
            ASSERT_EQ(lpm_value(t6.lookup_word(k)), want);
            ASSERT_EQ(lpm_match(t6.lookup_word(k)), m);
            ASSERT_EQ(t6.lookup(k), want);
            if (is_v4_key(k)) {
                const uint32_t w = t4.lookup_word(static_cast<uint32_t>(k));
                ASSERT_EQ(lpm_value(w), want) << prefix_text(k, 128);
                ASSERT_EQ(lpm_match(w), v4_match(m)) << prefix_text(k, 128);
                ASSERT_EQ(w == 0, want == 0);
                keys4.push_back(static_cast<uint32_t>(k));
            }
        }
        std::vector<uint32_t> out(keys4.size());
        t4.lookup_bulk(keys4.data(), out.data(), static_cast<unsigned>(keys4.size()));
        for (std::size_t i = 0; i < keys4.size(); ++i) ASSERT_EQ(out[i], t4.lookup_word(keys4[i])) << i;
        // The intervals read back rebuild the same table.
        lpm4 again(t4.to_intervals());
        for (uint32_t k : keys4) ASSERT_EQ(again.lookup_word(k), t4.lookup_word(k));
        lpm6 again6(t6.to_intervals());
        for (u128 k : ks) ASSERT_EQ(again6.lookup_word(k), t6.lookup_word(k));
    }
}

TEST(EnrichLpm, SmallTablesWriteFewPages) {
    // Two IPv4 rows: a /24 and a /32 (a boundary inside a /24), two 4 KiB pages of the 16,384.
    std::vector<prefix> ps{{v4_key(0xc0000200u), 96 + 24, 1}, {v4_key(0xcb007135u), 128, 2}};
    lpm4 small(flatten(ps));
    EXPECT_EQ(small.tbl24_pages_written(), 2u);
    EXPECT_EQ(small.lookup_word(0xc0000201u), 1u | (25u << k_lpm_value_bits));
    EXPECT_EQ(small.lookup_word(0xcb007135u), 2u | (33u << k_lpm_value_bits));
    EXPECT_EQ(small.lookup_word(0xcb007136u), 0u);
    EXPECT_EQ(small.lookup_word(0x0a000001u), 0u);
    // 0.0.0.0/1: half the table's pages hold a word.
    lpm4 half(flatten({{v4_key(0), 96 + 1, 3}}));
    EXPECT_EQ(half.tbl24_pages_written(), 8192u);
    EXPECT_EQ(half.lookup(0x7fffffffu), 3u);
    EXPECT_EQ(half.lookup(0x80000000u), 0u);
    // Default-constructed: 0 everywhere, nothing written.
    lpm4 none;
    lpm6 none6;
    EXPECT_EQ(none.lookup_word(0xffffffffu), 0u);
    EXPECT_EQ(none6.lookup_word(~u128(0)), 0u);
    uint32_t k[3] = {0, 0x7f000001u, 0xffffffffu}, o[3] = {9, 9, 9};
    none.lookup_bulk(k, o, 3);
    EXPECT_EQ(o[0] | o[1] | o[2], 0u);
}

TEST(EnrichLpm, ValuesPastTwentyTwoBitsAreRefused) {
    std::vector<prefix> ok{{v4_key(0x0a000000u), 96 + 8, k_lpm_value_mask}};
    EXPECT_EQ(lpm4(flatten(ok)).lookup(0x0a000001u), k_lpm_value_mask);
    EXPECT_EQ(lpm6(flatten(ok)).lookup(v4_key(0x0a000001u)), k_lpm_value_mask);
    std::vector<prefix> big{{v4_key(0x0a000000u), 96 + 8, k_lpm_value_mask + 1}};
    EXPECT_THROW(lpm4{flatten(big)}, std::length_error);
    EXPECT_THROW(lpm6{flatten(big)}, std::length_error);
}

TEST(EnrichLpm, EnrichRecordsSetsIdsAndMatchedPrefixes) {
    // A version with only address tables (no exporters, no interfaces): every record's src/dst ids and
    // matched prefixes equal the brute force, IPv4 (1..33) and IPv6 (1..129), zero addresses untouched.
    std::mt19937_64 rng(23);
    std::vector<std::vector<prefix>> srcs{random_v4(rng, 400, 0), random_wide_v4(rng, 200, 100),
                                          random_v6(rng, 300, 200)};
    std::vector<std::vector<interval>> lists;
    for (const auto& s : srcs) lists.push_back(flatten(s));
    auto combine = [](std::span<const uint32_t> v) { return v[0] ? v[0] : v[1] ? v[1] : v[2]; };
    auto merged = merge(lists, combine);
    table_version v;
    v.v4 = lpm4(merged);
    v.v6 = lpm6(merged);
    std::vector<u128> ks;
    for (std::size_t i = 0; i < srcs.size(); ++i)
        for (u128 k : probes(srcs[i], rng, i < 2)) ks.push_back(k);
    ks.push_back(0);
    std::shuffle(ks.begin(), ks.end(), rng);
    std::vector<decode::flow_record> recs(ks.size());
    std::memset(recs.data(), 0, recs.size() * sizeof(decode::flow_record));
    for (std::size_t i = 0; i < recs.size(); ++i) {
        from_u128(ks[i], recs[i].src_addr);
        from_u128(ks[(i * 7 + 3) % ks.size()], recs[i].dst_addr);
    }
    // Uneven burst sizes: 1, 2, ... records per call.
    for (std::size_t i = 0, n = 1; i < recs.size(); i += n, ++n)
        enrich_records(v, &recs[i], static_cast<unsigned>(std::min(n, recs.size() - i)));
    auto want = [&](u128 k, uint32_t& id, uint8_t& m) {
        if (k == 0) {
            id = 0, m = 0;
            return;
        }
        const uint32_t a = brute(srcs[0], k), b = brute(srcs[1], k), c = brute(srcs[2], k);
        id = combine(std::vector<uint32_t>{a, b, c});
        const uint8_t m128 = brute_match(srcs, k);
        m = is_v4_key(k) ? v4_match(m128) : m128;
    };
    for (std::size_t i = 0; i < recs.size(); ++i) {
        uint32_t id;
        uint8_t m;
        want(ks[i], id, m);
        ASSERT_EQ(recs[i].src_attr_id, id) << i;
        ASSERT_EQ(recs[i].src_net_match, m) << i;
        ASSERT_EQ(v.address_attr(recs[i].src_addr), id);
        ASSERT_EQ(v.address_match(recs[i].src_addr), m);
        want(ks[(i * 7 + 3) % ks.size()], id, m);
        ASSERT_EQ(recs[i].dst_attr_id, id) << i;
        ASSERT_EQ(recs[i].dst_net_match, m) << i;
    }
    // A worker's calls, one per burst (enrich_records pipelines its chunks of 32 two at a time): the same answers
    // from calls of 33 to all the records at once.
    for (std::size_t n : {std::size_t(33), std::size_t(64), std::size_t(65), std::size_t(1000), recs.size()}) {
        auto again = recs;
        for (auto& r : again) r.src_attr_id = r.dst_attr_id = r.src_net_match = r.dst_net_match = 0;
        for (std::size_t i = 0; i < again.size(); i += n)
            enrich_records(v, &again[i], static_cast<unsigned>(std::min(n, again.size() - i)));
        for (std::size_t i = 0; i < recs.size(); ++i) {
            ASSERT_EQ(again[i].src_attr_id, recs[i].src_attr_id) << n << " " << i;
            ASSERT_EQ(again[i].src_net_match, recs[i].src_net_match) << n << " " << i;
            ASSERT_EQ(again[i].dst_attr_id, recs[i].dst_attr_id) << n << " " << i;
            ASSERT_EQ(again[i].dst_net_match, recs[i].dst_net_match) << n << " " << i;
        }
    }
    ASSERT_GT(recs.size(), 1000u);
}

TEST(EnrichLpm, MatchedPrefixText) {
    // The control socket's "prefix": the address masked to the matched length.
    std::vector<prefix> ps{{v4_key(0x0a010000u), 96 + 16, 1}, {(u128(0x20010db8) << 96), 32, 2}, {0, 0, 3}};
    table_version v;
    const auto list = flatten(ps);
    v.v4 = lpm4(list);
    v.v6 = lpm6(list);
    uint8_t a[16];
    from_u128(v4_key(0x0a010203u), a);
    ASSERT_EQ(v.address_match(a), 17);
    EXPECT_EQ(table_version::matched_prefix(a, v.address_match(a)), "10.1.0.0/16");
    from_u128(v4_key(0x0b000001u), a);  // only ::/0: an IPv4 /0
    ASSERT_EQ(v.address_match(a), 1);
    EXPECT_EQ(table_version::matched_prefix(a, 1), "0.0.0.0/0");
    from_u128((u128(0x20010db8) << 96) | 0x1234, a);
    ASSERT_EQ(v.address_match(a), 33);
    EXPECT_EQ(table_version::matched_prefix(a, 33), "2001:db8::/32");
    from_u128(u128(0x3fff) << 112, a);
    EXPECT_EQ(table_version::matched_prefix(a, v.address_match(a)), "::/0");
}

TEST(EnrichLpm, CrowdedIpv6BucketsGetChildren) {
    // 3,000 prefixes spread over 2001::/16 and 2a00::/16 (so those root entries pass lpm6::k_leaf and get
    // children, every part of them used), /17../64, plus a few elsewhere: lpm6 equals brute
    // force at every prefix's edges and at random addresses in the crowded buckets.
    std::mt19937_64 rng(29);
    std::vector<prefix> ps;
    for (int i = 0; i < 3000; ++i) {
        const u128 top = i % 2 ? 0x2001 : 0x2a00;
        const u128 a = (top << 112) | (u128(rng() & 0xffffffffffffull) << 64) | u128(rng());
        const uint8_t len = static_cast<uint8_t>(17 + rng() % 48);
        ps.push_back({a & mask(len), len, 1 + uint32_t(rng() % 1000)});
    }
    ps.push_back({u128(0x2400) << 112, 12, 1001});
    ps.push_back({(u128(0xffff) << 112) | 1, 128, 1002});  // the last bucket
    const auto list = flatten(ps);
    lpm6 t(list);
    std::vector<u128> ks;
    for (const auto& p : ps) {
        const u128 last = p.addr | ~mask(p.len);
        for (u128 k : {p.addr, last, p.addr - 1, last + 1}) ks.push_back(k);
    }
    for (int i = 0; i < 20000; ++i)
        ks.push_back((u128(i % 2 ? 0x2001 : 0x2a00) << 112) | (u128(rng() & 0xffffffffffffull) << 64) | u128(rng()));
    for (u128 k : ks) {
        ASSERT_EQ(t.lookup(k), brute(ps, k)) << prefix_text(k, 128);
        ASSERT_EQ(t.lookup(k), interval_lookup(list, k));
    }
}

// ---- the builder's merge in address ranges (merge_range, merge_cuts) ----

namespace {

// A pure combine (the same value for the same tuple whichever range meets it), below lpm's 22-bit values.
uint32_t combine_of(std::span<const uint32_t> t) {
    uint64_t h = 0;
    for (uint32_t x : t) h = h * 1000003 + x;
    return 1 + uint32_t(h % 4000000);
}

// Boundaries of `lists` in (0, a] (as merge_cuts counts them: a list's first interval, at 0, is none).
uint64_t boundaries_upto(const std::vector<std::vector<interval>>& lists, u128 a) {
    uint64_t c = 0;
    for (const auto& l : lists)
        for (const auto& x : l) c += x.lo > 0 && x.lo <= a;
    return c;
}

}  // namespace

// The ranges' results, concatenated with equal neighbours coalesced, are the whole merge's, interval for
// interval; each range calls combine once per distinct tuple it meets; the cuts split the boundaries evenly.
TEST(EnrichLpm, MergeRangesConcatenateToTheWholeMerge) {
    std::mt19937_64 rng(11);
    std::vector<std::vector<interval>> lists;
    lists.push_back(flatten(random_v4(rng, 400, 0)));
    lists.push_back(flatten(random_v4(rng, 400, 100)));
    lists.push_back(flatten(random_v6(rng, 300, 200)));
    lists.push_back({});  // an empty source: 0 everywhere
    {
        auto both = random_v4(rng, 200, 300);
        auto v6 = random_v6(rng, 200, 300);
        both.insert(both.end(), v6.begin(), v6.end());
        lists.push_back(flatten(both));
    }
    for (bool one_is_itself : {false, true}) {
        const std::vector<interval> whole = merge(lists, combine_of, one_is_itself);
        for (unsigned n : {1u, 2u, 3u, 8u, 64u}) {
            const std::vector<u128> cuts = merge_cuts(lists, n);
            ASSERT_LE(cuts.size(), n - 1);
            if (n > 1) {
                ASSERT_EQ(cuts.size(), n - 1) << "the lists have thousands of distinct boundaries";
            }
            const uint64_t total = boundaries_upto(lists, ~u128(0));
            for (std::size_t j = 0; j < cuts.size(); ++j) {
                ASSERT_GT(cuts[j], u128(0));
                if (j > 0) {
                    ASSERT_GT(cuts[j], cuts[j - 1]);
                }
                // The address of boundary number total * (j + 1) / n (random lists: no two at one address).
                const uint64_t want = total * (j + 1) / n;
                EXPECT_GE(boundaries_upto(lists, cuts[j]), want);
                EXPECT_LT(boundaries_upto(lists, cuts[j] - 1), want);
            }
            std::vector<interval> joined;
            for (std::size_t r = 0; r <= cuts.size(); ++r) {
                const u128 from = r == 0 ? 0 : cuts[r - 1], to = r == cuts.size() ? ~u128(0) : cuts[r] - 1;
                std::vector<std::vector<uint32_t>> seen;
                auto counting = [&](std::span<const uint32_t> t) {
                    std::vector<uint32_t> k(t.begin(), t.end());
                    EXPECT_EQ(std::count(seen.begin(), seen.end(), k), 0) << "a tuple combined twice in one range";
                    seen.push_back(k);
                    return combine_of(t);
                };
                const std::vector<interval> part = merge_range(lists, from, to, counting, one_is_itself);
                ASSERT_FALSE(part.empty());
                ASSERT_TRUE(part.front().lo == from);
                for (const interval& x : part) {
                    ASSERT_TRUE(x.lo >= from && x.lo <= to);
                    if (!joined.empty() && joined.back().value == x.value && joined.back().match == x.match) continue;
                    joined.push_back(x);
                }
            }
            ASSERT_EQ(joined.size(), whole.size()) << n << " ranges";
            for (std::size_t i = 0; i < whole.size(); ++i) {
                ASSERT_TRUE(joined[i].lo == whole[i].lo) << i;
                ASSERT_EQ(joined[i].value, whole[i].value) << i;
                ASSERT_EQ(joined[i].match, whole[i].match) << i;
            }
        }
    }
}

// Too few distinct boundaries for the cuts asked for: fewer cuts, none at 0, and no lists at all: none.
TEST(EnrichLpm, MergeCutsOfFewBoundaries) {
    const std::vector<std::vector<interval>> one = {{{0, 0, 0}, {v4_key(0x0a000000u), 7, 105}, {v4_key(0x0b000000u), 0, 0}}};
    // Two boundaries (10.0.0.0 and 11.0.0.0), 8 ranges asked for: boundary number 8 * j / 8 for j = 1..7 is
    // boundary 1 (j = 4..7; none for j < 4), so one cut, at 10.0.0.0.
    EXPECT_EQ(merge_cuts(one, 8), (std::vector<u128>{v4_key(0x0a000000u)}));
    // 3 ranges: boundary 2 * 1 / 3 = 0 (none), then 2 * 2 / 3 = 1.
    EXPECT_EQ(merge_cuts(one, 3), (std::vector<u128>{v4_key(0x0a000000u)}));
    EXPECT_EQ(merge_cuts(one, 2), (std::vector<u128>{v4_key(0x0a000000u)}));
    EXPECT_TRUE(merge_cuts({}, 4).empty());
    EXPECT_TRUE(merge_cuts(one, 1).empty());
}

// Batched interning: the ids intern_flat gives in the same order, invisible until publish (on 1 or 2
// threads), a pending batch published by the next intern too; find_flat sees published sets only.
TEST(EnrichInterner, BatchedIdsAndPublish) {
    auto blob_of = [](int i) {
        attr_set s;
        s.kv = {{uint16_t(key::name), "h" + std::to_string(i)}, {uint16_t(key::site), "site-" + std::to_string(i % 7)},
                {uint16_t(key::description), "a description long enough to leave the small-string buffer"}};
        std::vector<uint8_t> b;
        set_to_flat(s, b);
        return b;
    };
    std::vector<std::vector<uint8_t>> blobs;  // 40,000 blobs, 30,000 distinct (the last 10,000 repeat)
    for (int i = 0; i < 40000; ++i) blobs.push_back(blob_of(i % 30000));
    for (unsigned threads : {1u, 2u}) {
        bool full = false;
        interner ref;
        std::vector<uint32_t> want;
        const uint32_t pre = ref.intern_flat({blobs[5].data(), blobs[5].size()}, full);  // known before the batch
        for (const auto& b : blobs) want.push_back(ref.intern_flat({b.data(), b.size()}, full));

        interner in;
        ASSERT_EQ(in.intern_flat({blobs[5].data(), blobs[5].size()}, full), pre);
        const std::size_t bytes0 = in.bytes();
        set_table t;
        std::vector<uint32_t> local;
        for (const auto& b : blobs) local.push_back(t.add({b.data(), b.size()}));
        ASSERT_EQ(t.size(), 30000u);
        std::vector<uint32_t> ids;
        in.reserve(t.size());
        in.intern_batched(t, ids, full);
        ASSERT_FALSE(full);
        ASSERT_EQ(ids.size(), 30001u);
        EXPECT_EQ(ids[0], 0u);
        EXPECT_EQ(in.size(), 2u);  // only the set interned before the batch is published
        {
            auto no_writer = in.exclude_writers();
            EXPECT_EQ(in.find_flat({blobs[5].data(), blobs[5].size()}, flat_hash(blobs[5].data(), blobs[5].size())), pre);
            EXPECT_EQ(in.find_flat({blobs[6].data(), blobs[6].size()}, flat_hash(blobs[6].data(), blobs[6].size())), 0u);
        }
        EXPECT_EQ(in.get(ids[local[6]]), nullptr);
        EXPECT_EQ(in.flat(ids[local[6]]), nullptr);
        in.publish(threads);
        EXPECT_EQ(in.size(), ref.size());
        EXPECT_EQ(in.size(), 30001u);
        EXPECT_GT(in.bytes(), bytes0);
        for (std::size_t i = 0; i < blobs.size(); ++i) {
            const uint32_t id = ids[local[i]];
            ASSERT_EQ(id, want[i]) << i;
            ASSERT_NE(in.get(id), nullptr) << i;
            ASSERT_EQ(in.get(id)->kv, flat_to_set(blobs[i].data()).kv) << i;
            ASSERT_EQ(std::memcmp(in.flat(id), blobs[i].data(), blobs[i].size()), 0) << i;
        }
        {
            auto no_writer = in.exclude_writers();
            EXPECT_EQ(in.find_flat({blobs[6].data(), blobs[6].size()}, flat_hash(blobs[6].data(), blobs[6].size())),
                      want[6]);
        }
        // A pending batch, then intern(): the batch first, then the new set after it; all published.
        set_table more;
        for (int i = 30000; i < 30003; ++i) {
            const auto b = blob_of(i);
            more.add({b.data(), b.size()});
        }
        in.intern_batched(more, ids, full);
        EXPECT_EQ(ids, (std::vector<uint32_t>{0, 30001, 30002, 30003}));
        EXPECT_EQ(in.size(), 30001u);
        set_builder sb;
        sb.put(key::name, "after");
        EXPECT_EQ(in.intern(sb.take(), full), 30004u);
        EXPECT_EQ(in.size(), 30005u);
        ASSERT_NE(in.get(30002), nullptr);
        EXPECT_EQ(*in.get(30002)->get(key::name), "h30001");
        EXPECT_EQ(*in.get(30004)->get(key::name), "after");
        in.publish(threads);  // nothing pending: no change
        EXPECT_EQ(in.size(), 30005u);
    }
}

// ---- the builder: the same table and ids whatever the number of threads (and of merge ranges) ----

namespace {

struct gen_row {
    prefix p;
    std::map<std::string, std::string> kv;
};

// Three prefix sources over one crowded IPv4 /12 and one IPv6 /32 (thousands of combinations of their sets),
// written as CSV files; the rows kept for the brute-force reference.
struct gen_sources {
    std::filesystem::path dir;
    std::vector<std::vector<gen_row>> rows;  // per source, precedence order
    std::vector<std::string> files;
    explicit gen_sources(uint64_t seed) {
        dir = std::filesystem::temp_directory_path() / ("sluice-enrich-ranges-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir);
        std::mt19937_64 rng(seed);
        const std::vector<std::vector<std::string>> cols = {{"name", "role"}, {"asn", "as_name", "role"},
                                                            {"country", "city", "name"}};
        for (std::size_t s = 0; s < cols.size(); ++s) {
            std::vector<gen_row> rs;
            std::string text = "prefix";
            for (const auto& c : cols[s]) text += "," + c;
            text += "\n";
            for (int i = 0; i < 3000; ++i) {
                gen_row r;
                auto ps = i % 4 == 3 ? random_v6(rng, 1, 0) : random_v4(rng, 1, 0);
                r.p = ps[0];
                const unsigned set = unsigned(rng() % 400);
                text += prefix_text(r.p.addr, r.p.len);
                for (std::size_t c = 0; c < cols[s].size(); ++c) {
                    const std::string v = cols[s][c] + "-" + std::to_string(set % (40 + 30 * c));
                    r.kv[cols[s][c]] = v;
                    text += "," + v;
                }
                text += "\n";
                rs.push_back(r);
            }
            const std::string f = (dir / ("src" + std::to_string(s) + ".csv")).string();
            std::ofstream(f) << text;
            files.push_back(f);
            rows.push_back(std::move(rs));
        }
    }
    ~gen_sources() { std::filesystem::remove_all(dir); }
    // Per source the longest matching row (the later of equal prefixes), fields merged in precedence order.
    std::map<std::string, std::string> expect(u128 k) const {
        std::map<std::string, std::string> out;
        for (const auto& rs : rows) {
            const gen_row* best = nullptr;
            for (const auto& r : rs)
                if ((k & mask(r.p.len)) == r.p.addr && (best == nullptr || r.p.len >= best->p.len)) best = &r;
            if (best)
                for (const auto& [key, v] : best->kv) out.emplace(key, v);
        }
        return out;
    }
};

}  // namespace

TEST(EnrichBuilder, RangesGiveTheSameTableAndIdsOnAnyThreads) {
    gen_sources g(21);
    std::mt19937_64 rng(22);
    std::vector<u128> ks;
    for (const auto& rs : g.rows)
        for (std::size_t i = 0; i < rs.size(); i += 7) {
            const u128 last = rs[i].p.addr | ~mask(rs[i].p.len);
            for (u128 k : {rs[i].p.addr, last, rs[i].p.addr - 1, last + 1}) ks.push_back(k);
        }
    for (int i = 0; i < 3000; ++i) ks.push_back(v4_key(0x0a000000u | (uint32_t(rng()) & 0x000fffffu)));
    struct run {
        std::vector<std::vector<uint8_t>> sets;  // every id's bytes
        std::vector<uint32_t> words;             // every probe's lookup word (id and matched prefix)
        uint64_t intervals_v4 = 0, intervals_v6 = 0;
    };
    std::vector<run> runs;
    for (unsigned threads : {1u, 2u, 3u, 4u}) {
        build_config cfg;
        cfg.threads = threads;
        for (const auto& f : g.files) cfg.inventories.push_back({f, {}});
        interner in;
        builder bld(in);
        std::vector<std::string> errors;
        std::string reason;
        auto v = bld.build(cfg, errors, reason);
        ASSERT_TRUE(v) << (errors.empty() ? reason : errors[0]);
        EXPECT_EQ(v->stats.threads, threads);
        run r;
        for (uint32_t id = 1; id < in.size(); ++id) r.sets.emplace_back(in.flat(id), in.flat(id) + flat_size(in.flat(id)));
        for (u128 k : ks) r.words.push_back(is_v4_key(k) ? v->v4.lookup_word(uint32_t(k)) : v->v6.lookup_word(k));
        r.intervals_v4 = v->stats.intervals_v4;
        r.intervals_v6 = v->stats.intervals_v6;
        // The reload: no new set, the same words.
        auto v2 = bld.build(cfg, errors, reason);
        ASSERT_TRUE(v2);
        EXPECT_EQ(in.size(), r.sets.size() + 1);
        for (std::size_t i = 0; i < ks.size(); ++i)
            ASSERT_EQ(is_v4_key(ks[i]) ? v2->v4.lookup_word(uint32_t(ks[i])) : v2->v6.lookup_word(ks[i]), r.words[i]);
        if (threads == 1) {  // the values against the brute force (the other runs are compared with this one)
            for (std::size_t i = 0; i < ks.size(); i += 3) {
                std::map<std::string, std::string> got;
                if (const attr_set* s = in.get(lpm_value(r.words[i])))
                    for (const auto& [k, val] : s->kv) got[std::string(bld.keys().name(k))] = val;
                ASSERT_EQ(got, g.expect(ks[i])) << prefix_text(ks[i], 128);
            }
            EXPECT_GT(r.sets.size(), 5000u) << "combinations enough for ranges of their own";
        }
        runs.push_back(std::move(r));
    }
    for (std::size_t t = 1; t < runs.size(); ++t) {
        EXPECT_EQ(runs[t].sets, runs[0].sets) << "threads " << t + 1;
        EXPECT_EQ(runs[t].words, runs[0].words) << "threads " << t + 1;
        EXPECT_EQ(runs[t].intervals_v4, runs[0].intervals_v4);
        EXPECT_EQ(runs[t].intervals_v6, runs[0].intervals_v6);
    }
}

TEST(EnrichBuilder, Ipv6TableLeavesTheMappedBlockToIpv4) {
    // Prefixes across the IPv4-mapped block's seams: one covering it and its neighbours (::/64), one ending
    // just before it, one starting just after it, IPv4 prefixes inside. address() answers every seam key as the
    // merged table does, and the IPv6 table holds none of the IPv4 intervals (they are lpm4's).
    build_config cfg;
    cfg.static_prefixes = {"::/64=role:low", "::fffe:0:0/96=role:before", "::1:0:0:0/96=role:after",
                           "10.0.0.0/8=role:ten", "10.1.2.0/24=role:ten-one"};
    for (int i = 0; i < 200; ++i)
        cfg.static_prefixes.push_back("172.16." + std::to_string(i) + ".0/24=role:v4-" + std::to_string(i));
    interner in;
    builder bld(in);
    std::vector<std::string> errors;
    std::string reason;
    const auto v = bld.build(cfg, errors, reason);
    ASSERT_TRUE(v) << reason;
    auto role = [&](const char* text) {
        uint8_t a[16];
        u128 k = 0;
        EXPECT_TRUE(parse_address(text, k)) << text;
        from_u128(k, a);
        const attr_set* s = in.get(v->address(a).attr_id);
        std::string out = "-";
        if (s)
            for (const auto& [key, val] : s->kv)
                if (bld.keys().name(key) == "role") out = val;
        return out + "/" + std::to_string(v->address(a).match);
    };
    EXPECT_EQ(role("::1"), "low/65");
    EXPECT_EQ(role("::fffe:0:0"), "before/97");
    EXPECT_EQ(role("::fffe:ffff:ffff"), "before/97");
    EXPECT_EQ(role("::ffff:0.0.0.0"), "low/1");  // lpm4's: a prefix shorter than /96 is an IPv4 /0
    EXPECT_EQ(role("::ffff:10.1.2.3"), "ten-one/25");
    EXPECT_EQ(role("::ffff:10.9.9.9"), "ten/9");
    EXPECT_EQ(role("::ffff:172.16.7.1"), "v4-7/25");
    EXPECT_EQ(role("::ffff:255.255.255.255"), "low/1");
    EXPECT_EQ(role("::1:0:0:0"), "after/97");
    EXPECT_EQ(role("::1:0:ffff:ffff"), "after/97");
    EXPECT_EQ(role("::1:1:0:0"), "low/65");
    EXPECT_EQ(role("::1:0:0:0:0"), "-/0");
    EXPECT_EQ(role("2001:db8::1"), "-/0");
    // ::/64 before `before`, `before`, the mapped block (one interval of 0), `after`, ::/64 after it, the rest
    // of the space: none of lpm4's 200-odd IPv4 intervals.
    EXPECT_EQ(v->v6.intervals(), 6u);
    EXPECT_GT(v->v4.intervals(), 200u);
}

TEST(EnrichBuilder, ThreadsRunOnTheConfiguredCpus) {
    // build_config::cpus: the threads a build starts run there, and their number follows it (threads = 0).
    // Two sources (static prefixes and an inventory file), so a second thread has work.
    const std::string inv =
        std::filesystem::temp_directory_path() / ("sluice-cpus-" + std::to_string(::getpid()) + ".csv");
    std::ofstream(inv) << "prefix,name\n10.0.0.0/8,ten\n2001:db8::/32,doc\n";
    cpu_set_t set;
    CPU_ZERO(&set);
    ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
    std::vector<unsigned> all;
    for (unsigned c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &set)) all.push_back(c);
    interner in;
    builder bld(in);
    auto build_on = [&](const std::vector<unsigned>& cpus) {
        build_config cfg;
        cfg.static_prefixes = {"192.0.2.0/24=role:lab"};
        cfg.inventories.push_back({inv, {}});
        cfg.cpus = cpus;
        std::vector<std::string> errors;
        std::string reason;
        auto v = bld.build(cfg, errors, reason);
        EXPECT_TRUE(v) << reason;
        return v;
    };
    for (const std::vector<unsigned>& cpus : {std::vector<unsigned>{all[0]}, all}) {
        const auto v = build_on(cpus);
        ASSERT_TRUE(v);
        // Threads as many as the CPUs (at most 4), no more than a phase has work for: two sources read in parallel.
        const unsigned want = std::clamp<unsigned>(unsigned(cpus.size()), 1, 4);
        EXPECT_LE(v->stats.threads, want);
        EXPECT_GE(v->stats.threads, std::min(want, 2u));
        // One CPU: the caller alone (its own affinity, all of them here); more: a helper pinned to all of them.
        EXPECT_EQ(v->stats.cpus, all.size());
        const std::array<uint8_t, 16> ten{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3};
        EXPECT_NE(v->address_attr(ten.data()), 0u);
    }
    // Pinned to one CPU, the caller too: the union is that one.
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(all[0], &one);
    ASSERT_EQ(pthread_setaffinity_np(pthread_self(), sizeof one, &one), 0);
    const auto v = build_on({all[0]});
    ASSERT_EQ(pthread_setaffinity_np(pthread_self(), sizeof set, &set), 0);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->stats.cpus, 1u);
    std::filesystem::remove(inv);
}
