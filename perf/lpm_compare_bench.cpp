// SPDX-License-Identifier: Apache-2.0
// Sluice's lpm4/lpm6 against DPDK's rte_lpm (IPv4) and rte_lpm6 (IPv6) on the same real-data table, the
// same addresses, one binary, one run. items/s = lookups/s, one core.
//
// The table: perf/enrich_bench's address sources (ip-location-db's ASN CSVs and GeoLite2 City mmdbs, and
// the generated million-entry inventory; scripts/setup fetches the data, the inventory is generated in
// /tmp), built by the Sluice builder, then read back as its merged intervals. Each non-zero interval is
// split into the prefixes that cover it exactly (disjoint), and those prefixes are what rte_lpm and
// rte_lpm6 get, the set id as next hop. Sluice's tables for a comparison are built from exactly the prefixes
// DPDK accepted, so both answer the same question; every benchmark address is checked equal first.
//
// What does not fit: rte_lpm's rule_add scans the rules of the same depth and its tbl8 allocation scans
// the tbl8 groups from the first (DPDK 22.11 lib/lpm/rte_lpm.c), so loading n rules is quadratic; the
// prefixes are added in address order until LPM_COMPARE_V4_BUDGET_S seconds (default 60) have passed, and
// the IPv4 comparison is over the part of the space they cover (reported: prefixes added of all, the
// covered range). rte_lpm6 holds at most 2^21 tbl8 groups and 21-bit next hops: prefixes refused
// (-ENOSPC) or with a larger id are counted and left out (LPM_COMPARE_V6_BUDGET_S, default 120).
//
// BM_v6_sluice_v0_lookup: lpm6 before its second index (a copy below), over the same prefixes.
// BM_v6_sluice_lookup_bulk32: lpm6::lookup_bulk over 32 (its multi-level index walked level by level).
//
// EAL: --no-huge -m <computed from the rule and tbl8 counts> --no-pci --no-shconf, one lcore.
#include <benchmark/benchmark.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "enrich/tables/tables.hpp"
#include "perf/real_data.hpp"

using namespace sluice;
using namespace sluice::enrich;

namespace {

const std::string k_data = SLUICE_DATA_DIR;
using clk = std::chrono::steady_clock;

double secs_since(clk::time_point t0) { return std::chrono::duration<double>(clk::now() - t0).count(); }
double env_or(const char* name, double dflt) {
    const char* v = std::getenv(name);
    return v ? std::atof(v) : dflt;
}


// lpm6 before its second index (issue 11): the top-16-bit index only, for a same-run before/after.
class lpm6_v0 {
public:
    explicit lpm6_v0(const std::vector<interval>& all) : _index(65537, 0) {
        for (const auto& iv : all) {
            _starts.push_back(iv.lo);
            _values.push_back(iv.value);
        }
        std::size_t j = 0;
        for (uint32_t h = 0; h < 65536; ++h) {
            const u128 base = u128(h) << 112;
            while (j + 1 < _starts.size() && _starts[j + 1] <= base) ++j;
            _index[h] = static_cast<uint32_t>(j);
        }
        _index[65536] = static_cast<uint32_t>(_starts.size() - 1);
    }
    uint32_t lookup(u128 k) const noexcept {
        const uint32_t h = static_cast<uint32_t>(k >> 112);
        uint32_t lo = _index[h], hi = _index[h + 1];
        while (lo < hi) {
            const uint32_t mid = (lo + hi + 1) / 2;
            if (_starts[mid] <= k) lo = mid;
            else hi = mid - 1;
        }
        return _values[lo];
    }

private:
    std::vector<uint32_t> _index;
    std::vector<u128> _starts;
    std::vector<uint32_t> _values;
};

struct compare_world {
    std::string why;  // empty: ready
    bool eal = false;
    std::unique_ptr<table_version> full;
    // IPv4: rte_lpm and our lpm4 over the prefixes rte_lpm took; addresses uniform over the covered range.
    rte_lpm* lpm = nullptr;
    std::unique_ptr<lpm4> sub4;
    std::vector<uint32_t> v4;       // in the covered range
    std::vector<uint32_t> v4_full;  // uniform over 1/8..223/8, for our full table
    // IPv6: rte_lpm6 and our lpm6 over the prefixes rte_lpm6 took.
    rte_lpm6* lpm6t = nullptr;
    std::unique_ptr<lpm6> sub6;
    std::unique_ptr<lpm6_v0> sub6_v0;
    std::vector<u128> v6_in;      // inside a random accepted prefix
    std::vector<u128> v6_random;  // uniform in 2000::/3 (perf/enrich_bench's)
    std::vector<std::array<uint8_t, 16>> v6_in_bytes, v6_random_bytes;
};
compare_world W;

void bytes_of(u128 k, std::array<uint8_t, 16>& out) { from_u128(k, out.data()); }

// Builds our table, counts what DPDK needs, starts the EAL with that much memory, loads rte_lpm/rte_lpm6.
void setup(const char* argv0) {
    build_config cfg;
    W.why = perf::add_real_sources(k_data, cfg);
    if (!W.why.empty()) return;
    static interner in;
    builder b(in);
    std::vector<std::string> errors;
    std::string reason;
    auto t0 = clk::now();
    W.full = b.build(cfg, errors, reason);
    if (!W.full) {
        W.why = "build failed: " + reason;
        return;
    }
    std::printf("sluice build: %.1f s wall, %zu IPv4 + %zu IPv6 intervals, %u sets\n", secs_since(t0),
                W.full->v4.intervals(), W.full->v6.intervals(), W.full->stats.interned_sets);

    // ---- the intervals as disjoint prefixes ----
    auto to_prefixes = [](const std::vector<interval>& iv, u128 lo, u128 hi) {
        std::vector<prefix> ps;
        for (std::size_t i = 0; i < iv.size(); ++i) {
            if (iv[i].value == 0 || iv[i].lo > hi) continue;
            const u128 last = i + 1 < iv.size() ? iv[i + 1].lo - 1 : ~u128(0);
            if (last < lo) continue;
            split_range(std::max(iv[i].lo, lo), std::min(last, hi), iv[i].value, ps);
        }
        return ps;
    };
    const std::vector<prefix> p4 = to_prefixes(W.full->v4.to_intervals(), k_v4_mapped, k_v4_mapped | 0xffffffffu);
    std::vector<prefix> p6;
    {
        const auto iv6 = W.full->v6.to_intervals();
        auto below = to_prefixes(iv6, 0, k_v4_mapped - 1), above = to_prefixes(iv6, (k_v4_mapped | 0xffffffffu) + 1, ~u128(0));
        p6 = std::move(below);
        p6.insert(p6.end(), above.begin(), above.end());
    }
    uint64_t by_depth4[33] = {};
    uint64_t groups4 = 0;
    {
        uint64_t last24 = UINT64_MAX;
        for (const auto& p : p4) {
            ++by_depth4[p.len - 96];
            const uint64_t b24 = static_cast<uint64_t>(p.addr - k_v4_mapped) >> 8;
            if (p.len - 96 > 24 && b24 != last24) ++groups4, last24 = b24;
        }
    }
    uint64_t groups6 = 0, big_hop6 = 0;
    for (unsigned lvl = 24; lvl < 128; lvl += 8) {
        u128 last = 0;
        bool any = false;
        for (const auto& p : p6)
            if (p.len > lvl) {
                const u128 k = p.addr >> (128 - lvl);
                if (!any || k != last) ++groups6;
                last = k, any = true;
            }
    }
    for (const auto& p : p6) big_hop6 += p.value >= (1u << 21);
    std::printf("IPv4: %zu prefixes (disjoint) of which /25../32: %llu; rte_lpm tbl8 groups needed: %llu\n  by depth:",
                p4.size(), (unsigned long long)(p4.size() - [&] {
                    uint64_t s = 0;
                    for (int d = 0; d <= 24; ++d) s += by_depth4[d];
                    return s;
                }()),
                (unsigned long long)groups4);
    for (int d = 0; d <= 32; ++d)
        if (by_depth4[d]) std::printf(" /%d %llu", d, (unsigned long long)by_depth4[d]);
    std::printf("\nIPv6: %zu prefixes (disjoint, outside ::ffff:0:0/96); rte_lpm6 tbl8 groups needed: %llu (max %u); "
                "next hops past 21 bits: %llu\n",
                p6.size(), (unsigned long long)groups6, 1u << 21, (unsigned long long)big_hop6);

    // ---- EAL memory: rte_lpm (tbl24 + tbl8 + rules) and rte_lpm6 (tbl24 + tbl8 + rule hash) ----
    const uint64_t tbl8_4 = std::min<uint64_t>(groups4, 1u << 24), tbl8_6 = std::min<uint64_t>(groups6, 1u << 21);
    uint64_t rules6_pow2 = 1;
    while (rules6_pow2 < p6.size()) rules6_pow2 <<= 1;
    const uint64_t need = (64ull << 20) + tbl8_4 * 1024 + p4.size() * 8 +       // rte_lpm
                          (64ull << 20) + tbl8_6 * (1024 + 32) + rules6_pow2 * 160;  // rte_lpm6 (hash: ~160 B a slot)
    const uint64_t mb = need / (1 << 20) * 5 / 4 + 256;
    std::printf("EAL -m %llu (rte_lpm %.0f MiB, rte_lpm6 %.0f MiB, +25%% +256)\n", (unsigned long long)mb,
                double((64ull << 20) + tbl8_4 * 1024 + p4.size() * 8) / (1 << 20),
                double((64ull << 20) + tbl8_6 * (1024 + 32) + rules6_pow2 * 160) / (1 << 20));
    std::string m = std::to_string(mb);
    char prefix_arg[64];
    std::snprintf(prefix_arg, sizeof prefix_arg, "--file-prefix=sluice-lpmcmp-%d", int(getpid()));
    const char* eal[] = {argv0, "--no-huge", "-m", m.c_str(), "--no-pci", "--no-shconf", "--log-level=warning",
                         prefix_arg, "--lcores=0"};
    if (rte_eal_init(int(sizeof eal / sizeof *eal), const_cast<char**>(eal)) < 0) {
        W.why = "EAL init failed";
        return;
    }
    W.eal = true;

    // ---- rte_lpm: added in address order within the time budget ----
    {
        rte_lpm_config c{};
        c.max_rules = static_cast<uint32_t>(std::max<std::size_t>(p4.size(), 1));
        c.number_tbl8s = static_cast<uint32_t>(std::max<uint64_t>(tbl8_4, 1));
        W.lpm = rte_lpm_create("sluice_cmp4", 0, &c);
        if (!W.lpm) {
            W.why = std::string("rte_lpm_create: ") + rte_strerror(rte_errno);
            return;
        }
        const double budget = env_or("LPM_COMPARE_V4_BUDGET_S", 60);
        t0 = clk::now();
        std::size_t added = 0;
        uint64_t failed = 0;
        std::vector<prefix> took;
        for (; added < p4.size(); ++added) {
            if ((added & 1023) == 0 && secs_since(t0) > budget) break;
            const prefix& p = p4[added];
            if (rte_lpm_add(W.lpm, static_cast<uint32_t>(p.addr - k_v4_mapped), uint8_t(p.len - 96), p.value) == 0)
                took.push_back(p);
            else
                ++failed;
        }
        const double s = secs_since(t0);
        const uint64_t end = added < p4.size() ? static_cast<uint64_t>(p4[added].addr - k_v4_mapped) : uint64_t(1) << 32;
        std::printf("rte_lpm: %zu of %zu prefixes added in %.1f s (%.0f /s; %llu refused), covering 0.0.0.0 up to "
                    "%llu.%llu.%llu.%llu (%.1f%% of the space)\n",
                    took.size(), p4.size(), s, double(took.size()) / s, (unsigned long long)failed,
                    (unsigned long long)(end >> 24), (unsigned long long)((end >> 16) & 255),
                    (unsigned long long)((end >> 8) & 255), (unsigned long long)(end & 255), 100.0 * double(end) / double(uint64_t(1) << 32));
        W.sub4 = std::make_unique<lpm4>(flatten(took));
        std::mt19937_64 rng(7);
        const uint64_t lo = 0x01000000u, span = end > lo ? end - lo : 1;
        for (int i = 0; i < (1 << 20); ++i) {
            W.v4.push_back(static_cast<uint32_t>(lo + rng() % span));
            W.v4_full.push_back(0x01000000u + uint32_t(rng() % 0xdf000000u));
        }
        for (uint32_t a : W.v4) {
            uint32_t hop = 0;
            const uint32_t got = rte_lpm_lookup(W.lpm, a, &hop) == 0 ? hop : 0;
            if (got != W.sub4->lookup(a)) {
                W.why = "rte_lpm and lpm4 differ at " + prefix_text(v4_key(a), 128);
                return;
            }
        }
        std::vector<uint32_t> hops(32);
        for (std::size_t i = 0; i + 32 <= 4096; i += 32) {
            rte_lpm_lookup_bulk(W.lpm, &W.v4[i], hops.data(), 32);
            for (unsigned j = 0; j < 32; ++j)
                if (((hops[j] & RTE_LPM_LOOKUP_SUCCESS) ? hops[j] & 0x00ffffffu : 0) != W.sub4->lookup(W.v4[i + j])) {
                    W.why = "rte_lpm_lookup_bulk and lpm4 differ";
                    return;
                }
        }
    }

    // ---- rte_lpm6 ----
    {
        rte_lpm6_config c{};
        c.max_rules = static_cast<uint32_t>(std::max<std::size_t>(p6.size(), 1));
        c.number_tbl8s = static_cast<uint32_t>(std::max<uint64_t>(tbl8_6, 1));
        W.lpm6t = rte_lpm6_create("sluice_cmp6", 0, &c);
        if (!W.lpm6t) {
            W.why = std::string("rte_lpm6_create: ") + rte_strerror(rte_errno);
            return;
        }
        const double budget = env_or("LPM_COMPARE_V6_BUDGET_S", 120);
        t0 = clk::now();
        std::vector<prefix> took;
        uint64_t nospc = 0, skipped_hop = 0, other = 0;
        std::size_t tried = 0;
        for (; tried < p6.size(); ++tried) {
            if ((tried & 1023) == 0 && secs_since(t0) > budget) break;
            const prefix& p = p6[tried];
            if (p.value >= (1u << 21)) {
                ++skipped_hop;
                continue;
            }
            uint8_t ip[16];
            from_u128(p.addr, ip);
            const int r = rte_lpm6_add(W.lpm6t, ip, p.len, p.value);
            if (r == 0) took.push_back(p);
            else if (r == -ENOSPC) ++nospc;
            else ++other;
        }
        const double s = secs_since(t0);
        std::printf("rte_lpm6: %zu of %zu prefixes added in %.1f s (%.0f /s); refused: %llu -ENOSPC (tbl8 groups), "
                    "%llu next hop past 21 bits, %llu other; %zu not tried (budget)\n",
                    took.size(), p6.size(), s, double(took.size()) / s, (unsigned long long)nospc,
                    (unsigned long long)skipped_hop, (unsigned long long)other, p6.size() - tried);
        if (took.empty()) {
            W.why = "rte_lpm6 took no prefix";
            return;
        }
        {
            const auto list = flatten(took);
            W.sub6 = std::make_unique<lpm6>(list);
            W.sub6_v0 = std::make_unique<lpm6_v0>(list);
        }
        std::mt19937_64 rng(9);
        for (int i = 0; i < (1 << 20); ++i) {
            const prefix& p = took[rng() % took.size()];
            const u128 host = p.len == 128 ? 0 : ((u128(rng()) << 64) | rng()) & (~u128(0) >> p.len);
            W.v6_in.push_back(p.addr | host);
            W.v6_random.push_back((u128(0x2000 | (rng() & 0x1fff)) << 112) | (u128(rng()) << 48) |
                                  u128(rng() & 0xffffffffffff));
        }
        W.v6_in_bytes.resize(W.v6_in.size());
        W.v6_random_bytes.resize(W.v6_random.size());
        for (std::size_t i = 0; i < W.v6_in.size(); ++i) {
            bytes_of(W.v6_in[i], W.v6_in_bytes[i]);
            bytes_of(W.v6_random[i], W.v6_random_bytes[i]);
        }
        for (std::size_t i = 0; i < W.v6_in.size(); i += 3)
            for (const auto* set : {&W.v6_in_bytes, &W.v6_random_bytes}) {
                uint32_t hop = 0;
                const uint32_t got = rte_lpm6_lookup(W.lpm6t, (*set)[i].data(), &hop) == 0 ? hop : 0;
                if (got != W.sub6->lookup(to_u128((*set)[i].data())) ||
                    got != W.sub6_v0->lookup(to_u128((*set)[i].data()))) {
                    W.why = "rte_lpm6 and lpm6 differ at " + prefix_text(to_u128((*set)[i].data()), 128);
                    return;
                }
            }
    }
    std::fflush(stdout);
}

bool ready(benchmark::State& st) {
    if (!W.why.empty()) st.SkipWithError(W.why.c_str());
    return W.why.empty();
}
constexpr std::size_t k_mask = (1 << 20) - 1;

// ---- IPv4, the covered range, both tables over the same prefixes ----
void BM_v4_sluice_lookup(benchmark::State& st) {
    if (!ready(st)) return;
    std::size_t i = 0;
    uint32_t acc = 0;
    for (auto _ : st) {
        acc += W.sub4->lookup(W.v4[i]);
        i = (i + 1) & k_mask;
    }
    benchmark::DoNotOptimize(acc);
    st.SetItemsProcessed(int64_t(st.iterations()));
}
void BM_v4_rte_lpm_lookup(benchmark::State& st) {
    if (!ready(st)) return;
    std::size_t i = 0;
    uint32_t acc = 0;
    for (auto _ : st) {
        uint32_t hop = 0;
        acc += rte_lpm_lookup(W.lpm, W.v4[i], &hop) == 0 ? hop : 0;
        i = (i + 1) & k_mask;
    }
    benchmark::DoNotOptimize(acc);
    st.SetItemsProcessed(int64_t(st.iterations()));
}
void BM_v4_sluice_lookup_bulk32(benchmark::State& st) {
    if (!ready(st)) return;
    std::size_t i = 0;
    uint32_t out[32];
    for (auto _ : st) {
        W.sub4->lookup_bulk(&W.v4[i], out, 32);
        benchmark::DoNotOptimize(out);
        i = (i + 32) & k_mask;
    }
    st.SetItemsProcessed(int64_t(st.iterations()) * 32);
}
void BM_v4_rte_lpm_lookup_bulk32(benchmark::State& st) {
    if (!ready(st)) return;
    std::size_t i = 0;
    uint32_t out[32];
    for (auto _ : st) {
        rte_lpm_lookup_bulk(W.lpm, &W.v4[i], out, 32);
        benchmark::DoNotOptimize(out);
        i = (i + 32) & k_mask;
    }
    st.SetItemsProcessed(int64_t(st.iterations()) * 32);
}
void BM_v4_rte_lpm_lookupx4(benchmark::State& st) {
    if (!ready(st)) return;
    std::size_t i = 0;
    uint32_t out[32];
    for (auto _ : st) {
        for (unsigned j = 0; j < 32; j += 4) {
            xmm_t ip;
            std::memcpy(&ip, &W.v4[i + j], 16);
            rte_lpm_lookupx4(W.lpm, ip, out + j, 0);
        }
        benchmark::DoNotOptimize(out);
        i = (i + 32) & k_mask;
    }
    st.SetItemsProcessed(int64_t(st.iterations()) * 32);
}
// Our full table (every prefix), uniform over 1/8..223/8: perf/enrich_bench's BM_lpm4_bulk case.
void BM_v4_sluice_full_table_bulk32(benchmark::State& st) {
    if (!ready(st)) return;
    std::size_t i = 0;
    uint32_t out[32];
    for (auto _ : st) {
        W.full->v4.lookup_bulk(&W.v4_full[i], out, 32);
        benchmark::DoNotOptimize(out);
        i = (i + 32) & k_mask;
    }
    st.SetItemsProcessed(int64_t(st.iterations()) * 32);
}

// ---- IPv6 ----
template <bool inside>
void BM_v6_sluice_lookup(benchmark::State& st) {
    if (!ready(st)) return;
    const auto& v = inside ? W.v6_in : W.v6_random;
    std::size_t i = 0;
    uint32_t acc = 0;
    for (auto _ : st) {
        acc += W.sub6->lookup(v[i]);
        i = (i + 1) & k_mask;
    }
    benchmark::DoNotOptimize(acc);
    st.SetItemsProcessed(int64_t(st.iterations()));
}
template <bool inside>
void BM_v6_sluice_lookup_bulk32(benchmark::State& st) {
    if (!ready(st)) return;
    const auto& v = inside ? W.v6_in : W.v6_random;
    std::size_t i = 0;
    uint32_t out[32];
    for (auto _ : st) {
        W.sub6->lookup_bulk(&v[i], out, 32);
        benchmark::DoNotOptimize(out);
        i = (i + 32) & k_mask;
    }
    st.SetItemsProcessed(int64_t(st.iterations()) * 32);
}
template <bool inside>
void BM_v6_sluice_v0_lookup(benchmark::State& st) {
    if (!ready(st)) return;
    const auto& v = inside ? W.v6_in : W.v6_random;
    std::size_t i = 0;
    uint32_t acc = 0;
    for (auto _ : st) {
        acc += W.sub6_v0->lookup(v[i]);
        i = (i + 1) & k_mask;
    }
    benchmark::DoNotOptimize(acc);
    st.SetItemsProcessed(int64_t(st.iterations()));
}
template <bool inside>
void BM_v6_rte_lpm6_lookup(benchmark::State& st) {
    if (!ready(st)) return;
    const auto& v = inside ? W.v6_in_bytes : W.v6_random_bytes;
    std::size_t i = 0;
    uint32_t acc = 0;
    for (auto _ : st) {
        uint32_t hop = 0;
        acc += rte_lpm6_lookup(W.lpm6t, v[i].data(), &hop) == 0 ? hop : 0;
        i = (i + 1) & k_mask;
    }
    benchmark::DoNotOptimize(acc);
    st.SetItemsProcessed(int64_t(st.iterations()));
}
template <bool inside>
void BM_v6_rte_lpm6_lookup_bulk32(benchmark::State& st) {
    if (!ready(st)) return;
    auto& v = inside ? W.v6_in_bytes : W.v6_random_bytes;
    std::size_t i = 0;
    int32_t out[32];
    for (auto _ : st) {
        rte_lpm6_lookup_bulk_func(W.lpm6t, reinterpret_cast<uint8_t(*)[16]>(v[i].data()), out, 32);
        benchmark::DoNotOptimize(out);
        i = (i + 32) & k_mask;
    }
    st.SetItemsProcessed(int64_t(st.iterations()) * 32);
}

}  // namespace

BENCHMARK(BM_v4_sluice_lookup);
BENCHMARK(BM_v4_rte_lpm_lookup);
BENCHMARK(BM_v4_sluice_lookup_bulk32);
BENCHMARK(BM_v4_rte_lpm_lookup_bulk32);
BENCHMARK(BM_v4_rte_lpm_lookupx4);
BENCHMARK(BM_v4_sluice_full_table_bulk32);
BENCHMARK(BM_v6_sluice_lookup<true>)->Name("BM_v6_sluice_lookup/inside_prefixes");
BENCHMARK(BM_v6_sluice_lookup_bulk32<true>)->Name("BM_v6_sluice_lookup_bulk32/inside_prefixes");
BENCHMARK(BM_v6_sluice_v0_lookup<true>)->Name("BM_v6_sluice_v0_lookup/inside_prefixes");
BENCHMARK(BM_v6_rte_lpm6_lookup<true>)->Name("BM_v6_rte_lpm6_lookup/inside_prefixes");
BENCHMARK(BM_v6_rte_lpm6_lookup_bulk32<true>)->Name("BM_v6_rte_lpm6_lookup_bulk32/inside_prefixes");
BENCHMARK(BM_v6_sluice_lookup<false>)->Name("BM_v6_sluice_lookup/random_2000::/3");
BENCHMARK(BM_v6_sluice_lookup_bulk32<false>)->Name("BM_v6_sluice_lookup_bulk32/random_2000::/3");
BENCHMARK(BM_v6_sluice_v0_lookup<false>)->Name("BM_v6_sluice_v0_lookup/random_2000::/3");
BENCHMARK(BM_v6_rte_lpm6_lookup<false>)->Name("BM_v6_rte_lpm6_lookup/random_2000::/3");
BENCHMARK(BM_v6_rte_lpm6_lookup_bulk32<false>)->Name("BM_v6_rte_lpm6_lookup_bulk32/random_2000::/3");

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    setup(argv[0]);
    if (!W.why.empty()) std::fprintf(stderr, "lpm_compare_bench: %s (every benchmark skips)\n", W.why.c_str());
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    if (W.lpm) rte_lpm_free(W.lpm);
    if (W.lpm6t) rte_lpm6_free(W.lpm6t);
    if (W.eal) rte_eal_cleanup();
    return 0;
}
