// SPDX-License-Identifier: Apache-2.0
// The JSON and ECS JSON encoders with the enriched members, at the sink, on the real-data table (the table of
// perf/enrich_bench.cpp: ip-location-db ASN + GeoLite2 City + a generated million-prefix inventory, 16 exporters,
// 1,024 interfaces; ~1.76 M distinct attribute sets). One core; items/s = records/s.
//
//   BM_json_plain              format_json alone (the json output without enrichment)
//   BM_json_enriched_uncached  format_json + append_enriched: every set rendered from the interner's blob
//   BM_json_enriched_cached    format_json + member_cache::append_json with the stage's look-ahead (what the sink
//                              core runs: sinks/stage/stage_node.cpp json_enriched_encoder)
//   BM_ecs_plain               ecs_json_encode alone
//   BM_ecs_enriched_uncached   the same through a member_cache of the least size (nearly every set rendered)
//   BM_ecs_enriched_cached     member_cache::ecs + ecs_json_encode with the look-ahead (ecs_json_encoder)
// Each over /16384 records (the working set of perf/RESULTS.md's figures: their sets fit the cache) and
// /1048576 records (64x more: ~1.6 M distinct sets, most lookups miss the 16 MiB arena and render).
// Records are streamed in order with the stage's 8-record prefetch. scripts/setup fetches the data into
// data/ip-location-db/; without it every benchmark skips, saying so.
//
// Checked first: the cached json equals the uncached json for the first 65,536 records, and the ECS lines parse
// back as JSON with the names in place (a record with a City set has source.geo.country_iso_code).
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dataplane/decode/record_format.hpp"
#include "enrich/tables/resolve.hpp"
#include "enrich/tables/tables.hpp"
#include "perf/real_data.hpp"
#include "sinks/encode/ecs_from_cache.hpp"
#include "sinks/encode/ecs_json.hpp"

using namespace sluice;
using namespace sluice::enrich;

namespace {

const std::string k_data = SLUICE_DATA_DIR;

struct world {
    bool ok = false;
    std::string why;
    build_config cfg;
    std::unique_ptr<interner> in;
    std::unique_ptr<builder> b;
    std::unique_ptr<table_version> v;
    std::unique_ptr<json_names> names;
    std::vector<uint32_t> v4;
    std::vector<u128> v6;
    std::vector<u128> exporters;
    std::vector<decode::flow_record> recs;  // 1 Mi enriched records
};


world& the_world() {
    static world w = [] {
        world w;
        w.why = perf::add_real_sources(k_data, w.cfg);
        if (!w.why.empty()) return w;
        perf::add_exporters_and_interfaces("/tmp/sluice-json-enrich-bench", w.cfg);
        w.in = std::make_unique<interner>();
        w.b = std::make_unique<builder>(*w.in);
        std::vector<std::string> errors;
        std::string reason;
        w.v = w.b->build(w.cfg, errors, reason);
        if (!w.v) {
            w.why = "build failed: " + reason + (errors.empty() ? "" : ": " + errors[0]);
            return w;
        }
        w.names = std::make_unique<json_names>(w.b->keys());
        std::mt19937_64 rng(7);
        for (int i = 0; i < (1 << 20); ++i) {
            w.v4.push_back(0x01000000u + uint32_t(rng() % 0xdf000000u));
            w.v6.push_back((u128(0x2000 | (rng() & 0x1fff)) << 112) | (u128(rng()) << 48) | u128(rng() & 0xffffffffffff));
        }
        for (int x = 0; x < 16; ++x) w.exporters.push_back(v4_key(0xc0000201u + uint32_t(x)));
        // Records as perf/enrich_bench.cpp's make_records: 80% IPv4 / 20% IPv6, one of 16 exporters per 32.
        const std::size_t n = std::size_t(1) << 20;
        w.recs.resize(n);
        std::memset(w.recs.data(), 0, n * sizeof(decode::flow_record));
        std::mt19937_64 r3(3);
        for (std::size_t i = 0; i < n; ++i) {
            auto& x = w.recs[i];
            if (r3() % 5) {
                from_u128(v4_key(w.v4[r3() % w.v4.size()]), x.src_addr);
                from_u128(v4_key(w.v4[r3() % w.v4.size()]), x.dst_addr);
            } else {
                from_u128(w.v6[r3() % w.v6.size()], x.src_addr);
                from_u128(w.v6[r3() % w.v6.size()], x.dst_addr);
            }
            from_u128(w.exporters[(i / 32) % 16], x.sampler_address);
            x.in_if = 1 + uint32_t(r3() % 64);
            x.out_if = 1 + uint32_t(r3() % 64);
            x.sampling_rate = 1000;
            x.bytes = 1500;
            x.packets = 1;
            x.etype = 0x0800;
            x.proto = 6;
            x.time_flow_start_ns = 1764547200123456789ull + i;
            x.time_flow_end_ns = 1764547260987654321ull + i;
            x.time_received_ns = 1764547261000000001ull + i;
        }
        enrich_records(*w.v, w.recs.data(), unsigned(n));

        // ---- checks ----
        member_cache jc(*w.in, *w.names, member_cache::style::json), ec(*w.in, *w.names, member_cache::style::ecs);
        std::vector<char> a(decode::max_json_size + max_enriched_json), c(a.size());
        std::vector<char> e(sinks::encode::k_ecs_json_max_enriched);
        simdjson::dom::parser parser;
        std::size_t with_geo = 0;
        for (std::size_t i = 0; i < 65536; ++i) {
            const auto& r = w.recs[i];
            std::size_t na = decode::format_json(r, a.data(), decode::max_json_size);
            na = append_enriched(*w.in, *w.names, r, a.data(), na);
            std::size_t nc = decode::format_json(r, c.data(), decode::max_json_size);
            nc = jc.append_json(r, c.data(), nc);
            if (std::string_view(a.data(), na) != std::string_view(c.data(), nc)) {
                w.why = "cached json differs from uncached at record " + std::to_string(i);
                return w;
            }
            ecs_parts x;
            ec.ecs(r, x);
            const sinks::encode::ecs_enrichment en = sinks::encode::ecs_enrichment_of(x);
            const std::size_t ne = sinks::encode::ecs_json_encode(r, e.data(), en);
            simdjson::padded_string ps(e.data(), ne);
            simdjson::dom::element doc;
            if (parser.parse(ps).get(doc) != simdjson::SUCCESS) {
                w.why = "ECS line " + std::to_string(i) + " is not JSON";
                return w;
            }
            std::string_view cc;
            if (doc["source"]["geo"]["country_iso_code"].get(cc) == simdjson::SUCCESS) ++with_geo;
            std::string_view name;
            if (doc["observer"]["name"].get(name) != simdjson::SUCCESS || name.substr(0, 4) != "edge") {
                w.why = "ECS line " + std::to_string(i) + " has no observer.name";
                return w;
            }
        }
        if (with_geo < 30000) {
            w.why = "too few ECS lines with source.geo: " + std::to_string(with_geo);
            return w;
        }
        w.ok = true;
        return w;
    }();
    return w;
}

bool ready(benchmark::State& st) {
    world& w = the_world();
    if (!w.ok) st.SkipWithError(w.why.c_str());
    return w.ok;
}

inline void prefetch_record(const decode::flow_record* r) noexcept {
    const char* p = reinterpret_cast<const char*>(r);
    for (std::size_t off = 0; off < sizeof(decode::flow_record); off += 64) __builtin_prefetch(p + off);
}

// One record per iteration over the first n records, in order, with the stage's prefetches.
template <typename F>
void over_records(benchmark::State& st, F&& one) {
    world& w = the_world();
    const std::size_t n = std::size_t(st.range(0));
    const decode::flow_record* recs = w.recs.data();
    std::size_t i = 0, bytes = 0;
    for (auto _ : st) {
        prefetch_record(recs + ((i + 8) & (n - 1)));
        bytes += one(recs, i, n);
        i = (i + 1) & (n - 1);
    }
    st.SetItemsProcessed(int64_t(st.iterations()));
    st.SetBytesProcessed(int64_t(bytes));
}

void BM_json_plain(benchmark::State& st) {
    if (!ready(st)) return;
    std::vector<char> buf(decode::max_json_size);
    over_records(st, [&](const decode::flow_record* recs, std::size_t i, std::size_t) {
        const std::size_t n = decode::format_json(recs[i], buf.data(), decode::max_json_size);
        benchmark::DoNotOptimize(buf.data());
        return n;
    });
}

void BM_json_enriched_uncached(benchmark::State& st) {
    if (!ready(st)) return;
    world& w = the_world();
    std::vector<char> buf(decode::max_json_size + max_enriched_json);
    over_records(st, [&](const decode::flow_record* recs, std::size_t i, std::size_t) {
        std::size_t n = decode::format_json(recs[i], buf.data(), decode::max_json_size);
        n = append_enriched(*w.in, *w.names, recs[i], buf.data(), n);
        benchmark::DoNotOptimize(buf.data());
        return n;
    });
}

void BM_json_enriched_cached(benchmark::State& st) {
    if (!ready(st)) return;
    world& w = the_world();
    member_cache c(*w.in, *w.names, member_cache::style::json);
    std::vector<char> buf(decode::max_json_size + max_enriched_json);
    over_records(st, [&](const decode::flow_record* recs, std::size_t i, std::size_t n) {
        c.prefetch_index(recs[(i + 3) & (n - 1)]);
        c.prefetch_data(recs[(i + 2) & (n - 1)]);
        c.prefetch_blobs(recs[(i + 1) & (n - 1)]);
        std::size_t len = decode::format_json(recs[i], buf.data(), decode::max_json_size);
        len = c.append_json(recs[i], buf.data(), len);
        benchmark::DoNotOptimize(buf.data());
        return len;
    });
    st.counters["hit_ratio"] = double(c.stats().hits) / double(c.stats().hits + c.stats().fills);
}

void BM_ecs_plain(benchmark::State& st) {
    if (!ready(st)) return;
    std::vector<char> buf(sinks::encode::k_ecs_json_max);
    over_records(st, [&](const decode::flow_record* recs, std::size_t i, std::size_t) {
        const std::size_t n = sinks::encode::ecs_json_encode(recs[i], buf.data());
        benchmark::DoNotOptimize(buf.data());
        return n;
    });
}

// The ECS path has no cache-less variant in the product; `uncached` is a member_cache of the least size (1 MiB
// arena, 256 buckets of 4: its hit_ratio says how little it keeps), i.e. nearly every set rendered each time.
void ecs_enriched(benchmark::State& st, bool small) {
    if (!ready(st)) return;
    world& w = the_world();
    member_cache c(*w.in, *w.names, member_cache::style::ecs, small ? std::size_t(1) << 20 : member_cache::k_default_arena,
                   small ? 8 : member_cache::k_default_bucket_bits);
    std::vector<char> buf(sinks::encode::k_ecs_json_max_enriched);
    over_records(st, [&](const decode::flow_record* recs, std::size_t i, std::size_t n) {
        c.prefetch_index(recs[(i + 3) & (n - 1)]);
        c.prefetch_data(recs[(i + 2) & (n - 1)]);
        c.prefetch_blobs(recs[(i + 1) & (n - 1)]);
        ecs_parts x;
        c.ecs(recs[i], x);
        const sinks::encode::ecs_enrichment e = sinks::encode::ecs_enrichment_of(x);
        const std::size_t len = sinks::encode::ecs_json_encode(recs[i], buf.data(), e);
        benchmark::DoNotOptimize(buf.data());
        return len;
    });
    st.counters["hit_ratio"] = double(c.stats().hits) / double(c.stats().hits + c.stats().fills);
}

void BM_ecs_enriched_cached(benchmark::State& st) { ecs_enriched(st, false); }
void BM_ecs_enriched_uncached(benchmark::State& st) { ecs_enriched(st, true); }

BENCHMARK(BM_json_plain)->Arg(1 << 14)->Arg(1 << 20);
BENCHMARK(BM_json_enriched_uncached)->Arg(1 << 14)->Arg(1 << 20);
BENCHMARK(BM_json_enriched_cached)->Arg(1 << 14)->Arg(1 << 20);
BENCHMARK(BM_ecs_plain)->Arg(1 << 14)->Arg(1 << 20);
BENCHMARK(BM_ecs_enriched_uncached)->Arg(1 << 14)->Arg(1 << 20);
BENCHMARK(BM_ecs_enriched_cached)->Arg(1 << 14)->Arg(1 << 20);

}  // namespace

BENCHMARK_MAIN();
