// SPDX-License-Identifier: Apache-2.0
// Extrapolation cost per record, one core (enrich/extrapolate): items/s = records/s.
//
//   BM_extrapolate_scaled/N   bursts of 32 flow records over N interfaces of one
//                             exporter, every interface with a factor (the full path:
//                             two lookups, accumulate, scale)
//   BM_extrapolate_rate_only  the same records when no interface has counters
//                             (lookups miss: the rate alone)
//   BM_baseline_touch         writing the same two fields without the table: the floor
//
// Checks first that a scaled record carries the factor's value.
#include <benchmark/benchmark.h>

#include <vector>

#include "enrich/extrapolate/extrapolate.hpp"

using namespace sluice;
using enrich::extrapolate::table;

namespace {

constexpr uint64_t k_s = 1000000000ull;

std::vector<decode::flow_record> records(unsigned interfaces) {
    std::vector<decode::flow_record> r(32);
    const uint8_t a[4] = {192, 0, 2, 1};
    for (unsigned i = 0; i < r.size(); ++i) {
        decode::set_ipv4(r[i].sampler_address, a);
        r[i].in_if = 1 + i % interfaces;
        r[i].out_if = 1 + (i + 1) % interfaces;
        r[i].bytes = 1500;
        r[i].packets = 1;
        r[i].sampling_rate = 1000;
    }
    return r;
}

// Every interface with a factor of 1.25 (counter delta 1.25 x the scaled octets seen).
void prime(table& t, const std::vector<decode::flow_record>& r, unsigned interfaces) {
    for (uint32_t i = 1; i <= interfaces; ++i) t.reading(r[0].sampler_address, i, 0, 0, 0);
    std::vector<decode::flow_record> c = r;
    t.process(c.data(), unsigned(c.size()));
    for (uint32_t i = 1; i <= interfaces; ++i) {
        enrich::extrapolate::factor_view v;
        t.find(r[0].sampler_address, i, v);
        t.reading(r[0].sampler_address, i, uint64_t(double(v.sampled[0]) * 1.25), uint64_t(double(v.sampled[1]) * 1.25),
                  60 * k_s);
    }
}

void BM_extrapolate_scaled(benchmark::State& st) {
    const unsigned n = unsigned(st.range(0));
    enrich::extrapolate::config cfg;
    table t(cfg);
    std::vector<decode::flow_record> r = records(n);
    prime(t, r, n);
    std::vector<decode::flow_record> c = r;
    t.process(c.data(), unsigned(c.size()));
    if (c[0].extrapolated_bytes != 1875000) return st.SkipWithError("factor not applied");
    for (auto _ : st) {
        t.process(r.data(), unsigned(r.size()));
        benchmark::DoNotOptimize(r.data());
    }
    st.SetItemsProcessed(int64_t(st.iterations() * r.size()));
}
BENCHMARK(BM_extrapolate_scaled)->Arg(4)->Arg(32);

void BM_extrapolate_rate_only(benchmark::State& st) {
    enrich::extrapolate::config cfg;
    table t(cfg);
    std::vector<decode::flow_record> r = records(32);
    t.process(r.data(), unsigned(r.size()));
    if (r[0].extrapolated_bytes != 1500000) return st.SkipWithError("rate not applied");
    for (auto _ : st) {
        t.process(r.data(), unsigned(r.size()));
        benchmark::DoNotOptimize(r.data());
    }
    st.SetItemsProcessed(int64_t(st.iterations() * r.size()));
}
BENCHMARK(BM_extrapolate_rate_only);

void BM_baseline_touch(benchmark::State& st) {
    std::vector<decode::flow_record> r = records(32);
    for (auto _ : st) {
        for (auto& x : r) {
            x.extrapolated_bytes = x.bytes * x.sampling_rate;
            x.extrapolated_packets = x.packets * x.sampling_rate;
        }
        benchmark::DoNotOptimize(r.data());
    }
    st.SetItemsProcessed(int64_t(st.iterations() * r.size()));
}
BENCHMARK(BM_baseline_touch);

}  // namespace

BENCHMARK_MAIN();
