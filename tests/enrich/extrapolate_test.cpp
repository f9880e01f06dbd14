// SPDX-License-Identifier: Apache-2.0
// enrich/extrapolate: step 1 (sampling rate), windows and factors, bounds, resets, the out_if fallback, eviction.
#include "enrich/extrapolate/extrapolate.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace sluice::enrich::extrapolate {
namespace {

using decode::flow_record;
using decode::if_format;
using decode::record_kind;

constexpr uint64_t k_s = 1'000'000'000ull;
constexpr uint8_t k_exp[4] = {192, 0, 2, 1};

flow_record flow(uint32_t in_if, uint32_t out_if, uint64_t bytes, uint64_t packets, uint32_t rate, uint64_t t) {
    flow_record r{};
    decode::set_ipv4(r.sampler_address, k_exp);
    r.kind = record_kind::flow;
    r.in_if = in_if;
    r.out_if = out_if;
    r.bytes = bytes;
    r.packets = packets;
    r.sampling_rate = rate;
    r.time_received_ns = t;
    return r;
}

flow_record counters_of(uint32_t ifindex, uint64_t in_octets, uint64_t out_octets, uint64_t t) {
    flow_record r{};
    decode::set_ipv4(r.sampler_address, k_exp);
    r.kind = record_kind::interface_counters;
    r.in_if = ifindex;
    r.bytes = in_octets;
    r.if_out_bytes = out_octets;
    r.time_received_ns = t;
    return r;
}

uint64_t get(const table& t, counter c) { return t.counters.get(c); }

config cfg10() {
    config c;
    c.enabled = true;
    c.window_ns = 10 * k_s;
    return c;
}

TEST(Extrapolate, SamplingRateOnlyWithoutCounters) {
    table t(cfg10());
    std::vector<flow_record> r{flow(5, 7, 1500, 1, 100, 1), flow(5, 7, 64, 2, 0, 2), flow(0, 0, 40, 1, 1, 3)};
    t.process(r.data(), unsigned(r.size()));
    EXPECT_EQ(r[0].extrapolated_bytes, 150000u);
    EXPECT_EQ(r[0].extrapolated_packets, 100u);
    EXPECT_EQ(r[1].extrapolated_bytes, 64u);  // rate 0 = unknown, counted as 1
    EXPECT_EQ(r[1].extrapolated_packets, 2u);
    EXPECT_EQ(r[2].extrapolated_bytes, 40u);
    EXPECT_EQ(get(t, counter::records_extrapolated), 3u);
    EXPECT_EQ(get(t, counter::records_scaled), 0u);
    EXPECT_EQ(get(t, counter::interfaces_tracked), 0u);  // flows never insert
}

TEST(Extrapolate, WindowFactorAppliesToLaterRecords) {
    table t(cfg10());
    std::vector<flow_record> r{counters_of(5, 1000, 50, 0 * k_s)};
    for (int i = 0; i < 5; ++i) r.push_back(flow(5, 9, 100, 1, 4, k_s + uint64_t(i)));  // 5 x 400 = 2000 scaled
    r.push_back(counters_of(5, 4000, 50, 5 * k_s));   // inside the window: ignored
    r.push_back(counters_of(5, 4000, 50, 10 * k_s));  // closes: 3000 / 2000 = 1.5
    r.push_back(flow(5, 9, 100, 1, 4, 11 * k_s));
    r.push_back(flow(5, 9, 33, 1, 4, 11 * k_s));
    t.process(r.data(), unsigned(r.size()));
    for (int i = 1; i <= 5; ++i) EXPECT_EQ(r[i].extrapolated_bytes, 400u) << i;
    EXPECT_EQ(r[8].extrapolated_bytes, 600u);
    EXPECT_EQ(r[8].extrapolated_packets, 6u);
    EXPECT_EQ(r[9].extrapolated_bytes, 198u);  // 132 x 1.5
    EXPECT_EQ(r[9].extrapolated_packets, 6u);
    EXPECT_EQ(r[6].extrapolated_bytes, 0u);    // counter records are left as they are
    EXPECT_EQ(r[6].bytes, 4000u);
    factor_view v;
    ASSERT_TRUE(t.find(r[0].sampler_address, 5, v));
    EXPECT_TRUE(v.valid[0]);
    EXPECT_FALSE(v.valid[1]);  // out: no octets moved, nothing sampled
    EXPECT_DOUBLE_EQ(v.factor[0], 1.5);
    EXPECT_EQ(v.base[0], 4000u);
    EXPECT_EQ(v.sampled[0], 400u + 132u);  // the new window's records so far (scaled, before the factor)
    EXPECT_EQ(get(t, counter::counter_readings), 3u);
    EXPECT_EQ(get(t, counter::windows_closed), 1u);
    EXPECT_EQ(get(t, counter::windows_unsampled), 0u);
    EXPECT_EQ(get(t, counter::records_extrapolated), 7u);
    EXPECT_EQ(get(t, counter::records_scaled), 2u);
    EXPECT_EQ(get(t, counter::interfaces_tracked), 1u);
    EXPECT_EQ(get(t, counter::factor_clamped), 0u);
}

TEST(Extrapolate, FactorIsClampedAndCounted) {
    table t(cfg10());
    std::vector<flow_record> r{counters_of(5, 0, 0, 0), flow(5, 6, 100, 1, 1, 1), counters_of(5, 1000, 0, 10 * k_s),
                               flow(5, 6, 100, 1, 1, 11 * k_s), counters_of(5, 1001, 0, 20 * k_s),
                               flow(5, 6, 100, 1, 1, 21 * k_s)};
    t.process(r.data(), unsigned(r.size()));
    EXPECT_EQ(r[3].extrapolated_bytes, 200u);  // 10 clamped to 2
    EXPECT_EQ(r[5].extrapolated_bytes, 50u);   // 0.01 clamped to 0.5
    EXPECT_EQ(get(t, counter::factor_clamped), 2u);
    EXPECT_EQ(get(t, counter::windows_closed), 2u);
}

TEST(Extrapolate, CounterResetRestartsTheWindow) {
    table t(cfg10());
    std::vector<flow_record> r{counters_of(5, 5000, 0, 0), flow(5, 0, 100, 1, 1, 1), counters_of(5, 10, 0, 10 * k_s),
                               flow(5, 0, 100, 1, 1, 11 * k_s), counters_of(5, 160, 0, 20 * k_s),
                               flow(5, 0, 100, 1, 1, 21 * k_s)};
    t.process(r.data(), unsigned(r.size()));
    EXPECT_EQ(get(t, counter::counter_resets), 1u);
    EXPECT_EQ(r[3].extrapolated_bytes, 100u);  // no factor yet
    EXPECT_EQ(r[5].extrapolated_bytes, 150u);  // 150 / 100
    EXPECT_EQ(get(t, counter::windows_closed), 1u);
}

TEST(Extrapolate, OutputInterfaceWhenInputHasNoFactor) {
    table t(cfg10());
    // Interface 8 counts output octets; records leave through it (out_if 8) from interface 3 (no counters).
    std::vector<flow_record> r{counters_of(8, 0, 0, 0), flow(3, 8, 100, 1, 10, 1), flow(3, 8, 100, 1, 10, 2),
                               counters_of(8, 0, 2500, 10 * k_s), flow(3, 8, 100, 1, 10, 11 * k_s)};
    t.process(r.data(), unsigned(r.size()));
    EXPECT_EQ(r[4].extrapolated_bytes, 1250u);  // 1000 x (2500 / 2000)
    EXPECT_EQ(get(t, counter::windows_closed), 1u);
}

TEST(Extrapolate, UnsampledWindowKeepsThePreviousFactor) {
    table t(cfg10());
    std::vector<flow_record> r{counters_of(5, 0, 0, 0), flow(5, 0, 100, 1, 1, 1), counters_of(5, 120, 0, 10 * k_s),
                               counters_of(5, 500, 0, 20 * k_s), flow(5, 0, 100, 1, 1, 21 * k_s)};
    t.process(r.data(), unsigned(r.size()));
    EXPECT_EQ(get(t, counter::windows_unsampled), 1u);
    EXPECT_EQ(r[4].extrapolated_bytes, 120u);
}

TEST(Extrapolate, SpecialInterfacesAreNotScaled) {
    table t(cfg10());
    std::vector<flow_record> r{counters_of(0x3FFFFFFF, 0, 0, 0), flow(0x3FFFFFFF, 0, 100, 1, 2, 1),
                               counters_of(0x3FFFFFFF, 10000, 0, 10 * k_s), flow(0x3FFFFFFF, 0, 100, 1, 2, 11 * k_s)};
    r[1].in_if_format = if_format::local;
    r[3].in_if_format = if_format::local;
    t.process(r.data(), unsigned(r.size()));
    EXPECT_EQ(r[3].extrapolated_bytes, 200u);
    EXPECT_EQ(get(t, counter::windows_unsampled), 0u);  // never sampled as an ifIndex: not a sampling outage
}

TEST(Extrapolate, FullSetEvictsTheLeastRecentlyRead) {
    config c = cfg10();
    c.max_interfaces = k_ways;  // one set
    table t(c);
    ASSERT_EQ(t.capacity(), k_ways);
    uint8_t a[16];
    decode::set_ipv4(a, k_exp);
    for (uint32_t i = 1; i <= k_ways; ++i) t.reading(a, i, 0, 0, i * k_s);
    t.reading(a, 1, 0, 0, 100 * k_s);  // 1 is now the most recent; 2 the least
    EXPECT_EQ(get(t, counter::interfaces_evicted), 0u);
    t.reading(a, 99, 0, 0, 101 * k_s);
    EXPECT_EQ(get(t, counter::interfaces_evicted), 1u);
    EXPECT_EQ(get(t, counter::interfaces_tracked), k_ways + 1);
    factor_view v;
    EXPECT_FALSE(t.find(a, 2, v));
    EXPECT_TRUE(t.find(a, 1, v));
    EXPECT_TRUE(t.find(a, 99, v));
}

TEST(Extrapolate, ScaleRoundsHalfUpAndSaturates) {
    EXPECT_EQ(scale(3, 0.5), 2u);
    EXPECT_EQ(scale(UINT64_MAX, 1.0), UINT64_MAX);
    EXPECT_EQ(scale(UINT64_MAX / 2, 3.0), UINT64_MAX);
    EXPECT_EQ(scale(1ull << 60, 1.0), 1ull << 60);
}

}  // namespace
}  // namespace sluice::enrich::extrapolate
