// SPDX-License-Identifier: Apache-2.0
// The lookup structures' shapes that random prefix sets do not reach: lpm6's index on the layouts real data
// has (the staircase of prefixes an inclusive range splits into, host clusters deep inside a /64, the
// IPv4-mapped block, crowded /16s), with its depth bounded; lpm4's pipelined lookup_bulk and its two halves
// over batch sizes past the pipeline; and enrich_records' per-exporter dense interface arrays against the
// interface table's own probe (dense, sparse, huge and zero ifIndexes, exporters without interfaces).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "enrich/attrs/attrs.hpp"
#include "enrich/lpm/lpm.hpp"
#include "enrich/tables/tables.hpp"

using namespace sluice;
using namespace sluice::enrich;

namespace {

u128 mask(uint8_t len) { return len == 0 ? 0 : ~u128(0) << (128 - len); }

// Every interval's first and last address and their neighbours, plus random addresses in each interval.
std::vector<u128> edges(const std::vector<interval>& list, std::mt19937_64& rng) {
    std::vector<u128> ks;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const u128 lo = list[i].lo;
        const u128 next = i + 1 < list.size() ? list[i + 1].lo : 0;  // 0: the end of the space
        ks.push_back(lo);
        ks.push_back(lo - 1);
        ks.push_back(lo + 1);
        ks.push_back(next - 1);
        const u128 span = next - lo;
        const u128 r = (u128(rng()) << 64) | rng();
        ks.push_back(span == 0 ? lo + r : lo + r % span);
    }
    return ks;
}

// The reference word at k: the covering interval's value and match (binary search over the list).
uint32_t reference_word(const std::vector<interval>& list, u128 k) {
    const auto it =
        std::upper_bound(list.begin(), list.end(), k, [](u128 a, const interval& x) { return a < u128(x.lo); });
    const interval& x = *(it - 1);
    return x.value == 0 ? 0 : x.value | (uint32_t(std::min<unsigned>(129, x.match)) << k_lpm_value_bits);
}

// lpm6 equals the reference on every edge, value and matched prefix, one at a time and in bulk (batch sizes
// around the bulk lookup's chunk of 64, and 1000); every key walks between 1 and index_depth() levels; the
// table's intervals back equal the list (collapsed range runs expanded).
void check_lpm6(const std::vector<interval>& list, std::mt19937_64& rng) {
    const lpm6 t(list);
    const auto ks = edges(list, rng);
    std::vector<uint32_t> want(ks.size());
    for (std::size_t i = 0; i < ks.size(); ++i) {
        want[i] = reference_word(list, ks[i]);
        ASSERT_EQ(t.lookup_word(ks[i]), want[i]) << prefix_text(ks[i], 128);
        ASSERT_GE(t.levels(ks[i]), 1u);
        ASSERT_LE(t.levels(ks[i]), t.index_depth());
    }
    std::vector<uint32_t> out(ks.size() + 1);
    for (unsigned n : {1u, 2u, 15u, 16u, 17u, 33u, 40u, 63u, 64u, 65u, 129u, 1000u}) {
        for (std::size_t at = 0; at + n <= ks.size(); at += n) {
            out[n] = 0xdeadbeef;
            t.lookup_bulk(&ks[at], out.data(), n);
            for (unsigned i = 0; i < n; ++i) ASSERT_EQ(out[i], want[at + i]) << n << " " << at + i;
            ASSERT_EQ(out[n], 0xdeadbeefu);
        }
    }
    const auto back = t.to_intervals();
    ASSERT_EQ(back.size(), list.size());
    for (std::size_t i = 0; i < list.size(); ++i) {
        ASSERT_TRUE(u128(back[i].lo) == u128(list[i].lo)) << i;
        ASSERT_EQ(back[i].value, list[i].value) << i;
        ASSERT_EQ(back[i].value ? back[i].match : 0, list[i].value ? std::min<unsigned>(129, list[i].match) : 0) << i;
    }
}

}  // namespace

// Inclusive ranges starting just past a /48's first address (::2 .. a random end), split into their staircases
// of ~80 prefixes whose boundaries sit at start + 2, 4, 8 ...; every step its own value when `steps_differ`.
std::vector<prefix> staircases(std::mt19937_64& rng, bool steps_differ) {
    std::vector<prefix> ps;
    uint32_t step = 0;
    for (int i = 0; i < 300; ++i) {
        const u128 net = (u128(0x2001) << 112) | (u128(rng() & 0xffffffff) << 80);
        const u128 first = net + 2 + (rng() % 7);
        const u128 last = net | (~mask(48) >> (rng() % 40));
        const std::size_t from = ps.size();
        split_range(first, last, 1 + uint32_t(i % 97), ps);
        if (steps_differ)
            for (std::size_t j = from; j < ps.size(); ++j) ps[j].value = 1 + (step++ % 997);
    }
    return ps;
}

TEST(EnrichLookup, Lpm6StaircasesStayShallow) {
    // Staircases whose steps have different values (a range crossed by other sources' prefixes: no run to
    // collapse). Without the big-leaf rule each level of the index would split off a few of them (27 levels on
    // the real data).
    std::mt19937_64 rng(41);
    const auto list = flatten(staircases(rng, true));
    ASSERT_GT(list.size(), 300u * 40);
    check_lpm6(list, rng);
    const lpm6 t(list);
    EXPECT_EQ(t.ranges(), 0u);
    EXPECT_LE(t.index_depth(), 8u);
    EXPECT_GT(t.index_big_leaves(), 100u);
}

TEST(EnrichLookup, Lpm6RangeRunsCollapse) {
    // The same staircases, one value a range (what an inclusive range in an inventory or the ASN CSV gives):
    // each range's prefixes are one interval in the table, the match computed at lookup, and the answers and
    // the intervals back are the list's, block by block.
    std::mt19937_64 rng(41);
    const auto list = flatten(staircases(rng, false));
    ASSERT_GT(list.size(), 300u * 40);
    check_lpm6(list, rng);
    const lpm6 t(list);
    EXPECT_EQ(t.ranges(), 300u);
    EXPECT_EQ(t.intervals(), 2u * 300 + 1);  // each range and the gap after it, and the space before the first
    EXPECT_EQ(t.index_big_leaves(), 0u);
    EXPECT_LE(t.index_depth(), 3u);
    // One staircase's blocks: every one answers its own length.
    std::vector<prefix> one;
    const u128 net = u128(0x2001) << 112;
    split_range(net + 6, net + 1000, 7, one);
    ASSERT_EQ(one.size(), 13u);  // up from 6: /127 /125 ... /121 /120, then down to 1000: /121 ... /125 /128
    const lpm6 t1(flatten(one));
    EXPECT_EQ(t1.ranges(), 1u);
    for (const prefix& p : one) {
        const u128 a = p.addr, last = a + (p.len == 128 ? 0 : (u128(1) << (128 - p.len)) - 1);
        for (u128 k : {a, last}) {
            EXPECT_EQ(t1.lookup_word(k), 7u | (uint32_t(p.len + 1) << k_lpm_value_bits)) << prefix_text(k, 128);
        }
    }
    EXPECT_EQ(t1.lookup_word(net + 5), 0u);
    EXPECT_EQ(t1.lookup_word(net + 1001), 0u);
}

TEST(EnrichLookup, Lpm6RangeRunsAtTheSpaceEnds) {
    // Runs that start at :: or end at the last address (no next interval: the run's end is the space's), a
    // range of the whole space but one address, and two adjacent ranges of one value (one canonical run; the
    // second's peak is two /113s flatten coalesced into one interval of match 114).
    std::mt19937_64 rng(59);
    for (int c = 0; c < 4; ++c) {
        std::vector<prefix> ps;
        if (c == 0) split_range(0, (u128(1) << 100) + 12345, 3, ps);
        if (c == 1) split_range(~u128(0) - (u128(1) << 90) - 77, ~u128(0), 4, ps);
        if (c == 2) split_range(1, ~u128(0), 5, ps);
        if (c == 3) {
            split_range(u128(0x2a00) << 112 | 3, u128(0x2a00) << 112 | 0xfff, 6, ps);
            split_range(u128(0x2a00) << 112 | 0x1000, u128(0x2a00) << 112 | 0x1fff7, 6, ps);
        }
        const auto list = flatten(ps);
        SCOPED_TRACE(c);
        check_lpm6(list, rng);
        EXPECT_EQ(lpm6(list).ranges(), 1u);
    }
    // A list flatten would not give (lpm6 takes any list): two sibling /65s of one value and match, not
    // coalesced. They are whole blocks but their union is a /64, so they are not a canonical split: no run.
    // Then a /64 and the /65 after it, of another value: canonical, one run.
    const u128 net = u128(0x2400) << 112;
    const std::vector<interval> raw = {
        {0, 0, 0},
        {net, 8, 66},
        {net + (u128(1) << 63), 8, 66},
        {net + (u128(1) << 64), 9, 65},
        {net + (u128(1) << 65), 9, 66},
        {net + (u128(1) << 65) + (u128(1) << 63), 0, 0},
    };
    check_lpm6(raw, rng);
    EXPECT_EQ(lpm6(raw).ranges(), 1u);
    EXPECT_EQ(lpm6(raw).intervals(), 5u);
}

TEST(EnrichLookup, Lpm6HostClustersUseASkipChild) {
    // 30 /128 hosts in one /120 of each of 200 /64s (and the /64s' own prefixes): every entry's boundaries
    // cluster far below a regular child's entries, so its child covers only the /120 (a header: its base, the
    // answers before and after). Probes before, inside and after each cluster.
    std::mt19937_64 rng(43);
    std::vector<prefix> ps;
    for (int i = 0; i < 200; ++i) {
        const u128 net = (u128(0x2a02) << 112) | (u128(rng() & 0xffffffffffffull) << 64);
        ps.push_back({net, 64, 5000 + uint32_t(i)});
        const u128 cluster = net | (u128(rng() & 0xffffffffffull) << 8);
        for (int h = 0; h < 30; ++h) ps.push_back({cluster | (rng() & 255), 128, 1 + uint32_t(rng() % 3000)});
    }
    const auto list = flatten(ps);
    check_lpm6(list, rng);
    const lpm6 t(list);
    EXPECT_LE(t.index_depth(), 6u);
    EXPECT_GE(t.index_skips(), 200u);  // one a cluster at least
}

TEST(EnrichLookup, Lpm6MappedAndCrowded) {
    // The IPv4-mapped block full of /24../32s (the merged table's 5 M IPv4 intervals live there), crowded
    // 2001::/16 and 2a00::/16, a few /12s, the space's first and last addresses.
    std::mt19937_64 rng(47);
    std::vector<prefix> ps;
    for (int i = 0; i < 20000; ++i) {
        const uint8_t len = static_cast<uint8_t>(24 + rng() % 9);
        ps.push_back({v4_key(uint32_t(rng())) & mask(96 + len), static_cast<uint8_t>(96 + len), 1 + uint32_t(rng() % 500)});
    }
    for (int i = 0; i < 20000; ++i) {
        const u128 top = i % 2 ? 0x2001 : 0x2a00;
        const u128 a = (top << 112) | (u128(rng() & 0xffffffffffffull) << 64) | u128(rng());
        const uint8_t len = static_cast<uint8_t>(20 + rng() % 109);
        ps.push_back({a & mask(len), len, 1 + uint32_t(rng() % 1000)});
    }
    ps.push_back({u128(0x2400) << 112, 12, 1001});
    ps.push_back({0, 128, 1002});
    ps.push_back({~u128(0), 128, 1003});
    check_lpm6(flatten(ps), rng);
}

TEST(EnrichLookup, Lpm4BulkPipelineAndHalves) {
    // Dense /25../32s in 10.0.0.0/16 (most /24s split: extension entries everywhere) and /8../24s elsewhere.
    std::mt19937_64 rng(53);
    std::vector<prefix> ps;
    for (int i = 0; i < 20000; ++i) {
        const uint8_t len = static_cast<uint8_t>(25 + rng() % 8);
        ps.push_back({v4_key(0x0a000000u | (uint32_t(rng()) & 0xffffu)) & mask(96 + len), static_cast<uint8_t>(96 + len),
                      1 + uint32_t(rng() % 1000)});
    }
    for (int i = 0; i < 2000; ++i) {
        const uint8_t len = static_cast<uint8_t>(8 + rng() % 17);
        ps.push_back({v4_key(uint32_t(rng())) & mask(96 + len), static_cast<uint8_t>(96 + len), 1 + uint32_t(rng() % 1000)});
    }
    const lpm4 t(flatten(ps));
    std::vector<uint32_t> keys(5000);
    for (std::size_t i = 0; i < keys.size(); ++i)
        keys[i] = i % 3 ? 0x0a000000u | (uint32_t(rng()) & 0xffffu) : uint32_t(rng());
    std::vector<uint32_t> want(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) want[i] = t.lookup_word(keys[i]);
    std::vector<uint32_t> out(keys.size() + 1);
    for (unsigned n : {31u, 32u, 33u, 47u, 48u, 49u, 64u, 100u, 256u, 1000u, 5000u}) {
        for (std::size_t at = 0; at + n <= keys.size(); at += n) {
            out[n] = 0xdeadbeef;
            t.lookup_bulk(&keys[at], out.data(), n);
            for (unsigned i = 0; i < n; ++i) ASSERT_EQ(out[i], want[at + i]) << n << " " << at + i;
            ASSERT_EQ(out[n], 0xdeadbeefu);
            std::fill(out.begin(), out.begin() + n, 0);
            t.lookup_bulk_start(&keys[at], out.data(), n);
            t.lookup_bulk_finish(&keys[at], out.data(), n);
            for (unsigned i = 0; i < n; ++i) ASSERT_EQ(out[i], want[at + i]) << n << " " << at + i;
        }
    }
}

TEST(EnrichLookup, DenseInterfacesEqualTheTable) {
    // Exporter A: ifIndexes 1..64 (dense). B: 5, 1,000,000, 2^31 + 7 and 0 (sparse; ifIndex 0 named). C:
    // 1..10 and 5000..5010 (a dense start, a sparse rest). D: in the exporter table, no interfaces. Every
    // record's ids equal the table's own probe (interface_attr) or the labels, for ifIndexes in and out of
    // every exporter's dense part.
    build_config cfg;
    const u128 A = v4_key(0xc0000201u), B = v4_key(0xc0000202u), C = (u128(0x20010db8) << 96) | 3,
               D = v4_key(0xc0000204u);
    std::vector<std::pair<u128, uint32_t>> entries;
    for (uint32_t i = 1; i <= 64; ++i) entries.emplace_back(A, i);
    for (uint32_t i : {5u, 1000000u, (1u << 31) + 7, 0u}) entries.emplace_back(B, i);
    for (uint32_t i = 1; i <= 10; ++i) entries.emplace_back(C, i);
    for (uint32_t i = 5000; i <= 5010; ++i) entries.emplace_back(C, i);
    cfg.extra_interfaces = [&entries] {
        std::vector<interface_row> rows;
        for (const auto& [e, i] : entries) {
            set_builder b;
            b.put(key::name, "if" + std::to_string(i) + "@" + std::to_string(uint64_t(e)));
            rows.push_back({e, i, b.take()});
        }
        return rows;
    };
    interner in;
    builder bld(in);
    std::vector<std::string> errors;
    std::string reason;
    auto v = bld.build(cfg, errors, reason);
    ASSERT_TRUE(v) << (errors.empty() ? reason : errors[0]);
    ASSERT_EQ(v->if_dense_of.size(), 16u);  // 3 exporters with interfaces: 16 slots

    const std::vector<uint32_t> probes{0, 1, 2, 5, 6, 10, 11, 63, 64, 65, 4999, 5000, 5005, 5010, 5011,
                                       1000000, 999999, (1u << 31) + 7, 0x3FFFFFFF, 0xffffffffu};
    std::vector<decode::flow_record> recs;
    for (u128 e : {A, B, C, D})
        for (std::size_t i = 0; i < probes.size(); ++i) {
            decode::flow_record r;
            std::memset(&r, 0, sizeof r);
            from_u128(e, r.sampler_address);
            r.in_if = probes[i];
            r.out_if = probes[(i + 7) % probes.size()];
            recs.push_back(r);
        }
    for (std::size_t at = 0, n = 1; at < recs.size(); at += n, n = n % 37 + 1)
        enrich_records(*v, &recs[at], static_cast<unsigned>(std::min(n, recs.size() - at)));
    std::size_t named = 0;
    for (const auto& r : recs) {
        const u128 e = to_u128(r.sampler_address);
        for (auto [ifx, got] : {std::pair{r.in_if, r.in_if_attr_id}, std::pair{r.out_if, r.out_if_attr_id}}) {
            uint32_t want = v->interface_attr(e, ifx);
            if (want == 0 && ifx == 0) want = v->label.none;  // ifIndex 0 unnamed: labelled
            ASSERT_EQ(got, want) << uint64_t(e) << " ifIndex " << ifx;
            const bool listed = std::find(entries.begin(), entries.end(), std::pair{e, ifx}) != entries.end();
            ASSERT_EQ(listed, want != 0 && want != v->label.none) << uint64_t(e) << " ifIndex " << ifx;
            named += listed;
        }
    }
    EXPECT_EQ(named, 40u);  // probes listed: A 8, B 4 (0, 5, 10^6, 2^31 + 7), C 8; in and out each
}

TEST(EnrichLookup, Lpm6TheSpacesLastEntries) {
    // Prefixes crowding ffff::/16 up to the last address: the root's last entry gets a child, and so does that
    // child's last entry, whose blocks end the space (base + size wraps to 0). Before the fix (found by
    // fuzz_lpm) the last entry's candidates stopped short, and ffff:...:ffff answered an interval far below.
    std::mt19937_64 rng(61);
    std::vector<prefix> ps;
    for (int i = 0; i < 400; ++i) {
        const u128 a = ~u128(0) - ((u128(rng()) << 64 | rng()) >> (rng() % 120));
        ps.push_back({a, static_cast<uint8_t>(20 + rng() % 109), 1 + uint32_t(rng() % 50)});
    }
    ps.push_back({~u128(0) - 15, 124, 77});
    const auto list = flatten(ps);
    check_lpm6(list, rng);
    const lpm6 t(list);
    EXPECT_GE(t.index_depth(), 3u);
    EXPECT_EQ(lpm_value(t.lookup_word(~u128(0))), 77u);
}
