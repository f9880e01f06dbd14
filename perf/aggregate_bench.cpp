// SPDX-License-Identifier: Apache-2.0
// The aggregating output per sink core: records/s folded into a window keyed by 5 dimensions
// (exporter, src_addr, dst_addr, proto, dst_port: 51 key bytes), with the window's memory reported.
//
// Input: 1M records from 16 exporters with Zipf-like (heavy-tailed) address pairs, so the table sees a
// realistic mix of hot keys and a long tail; Arg = distinct address pairs. All records fall in one window
// (the close, once per 5 minutes, is measured separately by BM_aggregate_close).
// BM_aggregate_add_enrich: the same records keyed by enrichment attributes instead (exporter_name +
// src_net_site + dst_net_service + proto: each a value id through the (set, attribute) cache and the value
// table), the records carrying attribute ids of Arg distinct sets per scope (50 sites, 20 services).
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "enrich/attrs/attrs.hpp"
#include "sinks/aggregate/aggregate.hpp"

using namespace sluice;
using namespace sluice::sinks;

namespace {

constexpr uint64_t t0 = 1764600000ull * 1000000000ull;

std::vector<decode::flow_record> make_records(std::size_t n, uint32_t pairs) {
    std::mt19937_64 rng(7);
    std::vector<decode::flow_record> v(n);
    // Zipf(s=1.1) over the pairs by inverse-CDF on a precomputed table.
    std::vector<double> cdf(pairs);
    double sum = 0;
    for (uint32_t i = 0; i < pairs; ++i) cdf[i] = sum += 1.0 / std::pow(double(i + 1), 1.1);
    std::uniform_real_distribution<double> u(0, sum);
    for (auto& r : v) {
        const uint32_t k = uint32_t(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
        decode::set_ipv4_host(r.src_addr, 0x0a000000 + k * 7);
        decode::set_ipv4_host(r.dst_addr, 0xc0a80000 + (k * 13) % 65536);
        decode::set_ipv4_host(r.sampler_address, 0xac100000 + k % 16);
        r.proto = k % 5 == 0 ? 17 : 6;
        r.dst_port = uint16_t(k % 3 == 0 ? 53 : 443);
        r.bytes = 64 + rng() % 1400;
        r.packets = 1 + rng() % 10;
        r.sampling_rate = 1000;
        r.time_flow_end_ns = t0 + 1000;
        r.time_received_ns = t0 + 2000;
        r.kind = decode::record_kind::flow;
    }
    return v;
}

agg_config five_dims(uint32_t max_keys = 1u << 20) {
    agg_config c;
    c.dims = parse_agg_dims("exporter+src_addr+dst_addr+proto+dst_port");
    c.max_keys = max_keys;
    return c;
}

void BM_aggregate_add(benchmark::State& st) {
    const auto recs = make_records(1 << 20, uint32_t(st.range(0)));
    aggregate_counter_block ctr;
    aggregator a(five_dims(), 0, nullptr, nullptr, &ctr);
    std::size_t i = 0;
    for (auto _ : st) {
        a.add_burst(recs.data() + (i & (recs.size() - 1)), 256);  // the sink stage's batch
        i += 256;
    }
    st.SetItemsProcessed(int64_t(st.iterations()) * 256);
    st.counters["window_MiB"] = double(a.memory_bytes()) / double(1 << 20) / double((a.config().lateness_s + 299) / 300 + 1);
    st.counters["open_windows_MiB"] = double(a.memory_bytes()) / double(1 << 20);
}

void BM_aggregate_close(benchmark::State& st) {
    const auto recs = make_records(1 << 20, uint32_t(st.range(0)));
    aggregate_counter_block ctr;
    aggregator a(five_dims(), 0, nullptr, [](const closed_window&) {}, &ctr);
    for (auto _ : st) {
        st.PauseTiming();
        for (const auto& r : recs) a.add(r);
        st.ResumeTiming();
        a.close_all();
    }
    st.counters["keys"] = double(st.range(0));
}

void BM_aggregate_add_enrich(benchmark::State& st) {
    auto recs = make_records(1 << 20, 100000);
    const uint32_t sets = uint32_t(st.range(0));
    enrich::interner in;
    std::vector<uint32_t> host(sets), exp(16);
    bool full = false;
    for (uint32_t i = 0; i < sets; ++i) {
        enrich::set_builder b;
        b.put(enrich::key::name, "host-" + std::to_string(i));
        b.put(enrich::key::site, "site-" + std::to_string(i % 50));
        b.put(enrich::key::service, "svc-" + std::to_string(i % 20));
        host[i] = in.intern(b.take(), full);
    }
    for (uint32_t i = 0; i < 16; ++i) {
        enrich::set_builder b;
        b.put(enrich::key::name, "edge-" + std::to_string(i));
        exp[i] = in.intern(b.take(), full);
    }
    std::mt19937_64 rng(3);
    for (auto& r : recs) {
        r.src_attr_id = host[rng() % sets];
        r.dst_attr_id = host[rng() % sets];
        r.exporter_attr_id = exp[rng() % 16];
    }
    agg_config c;
    c.dims = parse_agg_dims("exporter_name+src_net_site+dst_net_service+proto");
    c.max_keys = 1u << 20;
    aggregate_counter_block ctr;
    aggregator a(c, 0, nullptr, nullptr, &ctr, &in);
    std::size_t i = 0;
    for (auto _ : st) {
        a.add_burst(recs.data() + (i & (recs.size() - 1)), 256);
        i += 256;
    }
    st.SetItemsProcessed(int64_t(st.iterations()) * 256);
    st.counters["open_windows_MiB"] = double(a.memory_bytes()) / double(1 << 20);
}

}  // namespace

BENCHMARK(BM_aggregate_add_enrich)->Arg(16)->Arg(1000)->Arg(100000);
BENCHMARK(BM_aggregate_add)->Arg(1000)->Arg(100000)->Arg(1000000);
BENCHMARK(BM_aggregate_close)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
