// SPDX-License-Identifier: Apache-2.0
// The record path and the sink stage, measured: worker cycles per record to hand records to a sink
// (copy into the ring, the old path; decode in place into zero-copy ring slots; decode into slabs
// passed by pointer), and the sink stage's records/s per core (JSON to /dev/null, one and two outputs)
// beside the JSON encoder alone.
//
// Every benchmark checks its output first (what the sink side reads equals what was decoded; the
// stage's bytes equal format_json's lines), then measures. Items/s = records/s. The producer
// benchmarks drain the ring in the same thread after each burst (as a sink would on another core)
// and report the producer's own cycles per record as `worker_cyc/rec` (mean) and `worker_cyc/rec_min` (the
// quickest burst: on a shared machine preemption only ever adds, so the minimum is the steadier figure).
#include <benchmark/benchmark.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ring.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "dataplane/decode/decoder.hpp"
#include "dataplane/decode/record_format.hpp"
#include "dataplane/ring/record_ring.hpp"
#include "sinks/stage/stage.hpp"

using namespace sluice;

namespace {

constexpr unsigned k_burst = 32;         // datagrams per rx burst (worker::k_burst)
constexpr unsigned k_ring = 16384;       // perf/line_rate.sh's --ring-size
constexpr double burst_records = k_burst * 30.0;

std::vector<uint8_t> make_v5_datagram(uint32_t seq) {
    std::vector<uint8_t> b;
    auto u8 = [&](uint8_t v) { b.push_back(v); };
    auto u16 = [&](uint16_t v) { u8(uint8_t(v >> 8)); u8(uint8_t(v)); };
    auto u32 = [&](uint32_t v) { u16(uint16_t(v >> 16)); u16(uint16_t(v)); };
    u16(5); u16(30); u32(3600000); u32(1700000000); u32(0); u32(seq); u8(0); u8(0); u16(0);
    for (uint32_t i = 0; i < 30; ++i) {
        u32(0x0a000000 + seq + i); u32(0xc0a80000 + i); u32(0x0a0000fe); u16(1); u16(2); u32(10 + i);
        u32(1500 * (10 + i)); u32(3500000); u32(3599000); u16(uint16_t(40000 + i)); u16(443); u8(0); u8(0x1b);
        u8(i % 3 ? 6 : 17); u8(0); u16(64512); u16(64513); u8(24); u8(24); u16(0);
    }
    return b;
}

struct fixture {
    std::vector<std::vector<uint8_t>> dgrams;
    decode::exporter_table table;
    decode::datagram_meta meta{};
    decode::exporter_state* e = nullptr;
    fixture() {
        for (unsigned i = 0; i < k_burst; ++i) dgrams.push_back(make_v5_datagram(i * 30));
        const uint8_t a[4] = {192, 0, 2, 1};
        decode::set_ipv4(meta.exporter_addr, a);
        meta.time_received_ns = 1700000000ull * 1000000000ull;
        e = table.find_or_create(meta.exporter_addr, 0);
    }
    uint32_t decode_one(unsigned i, decode::record_buffer& out) {
        decode::decode_netflow_v5({dgrams[i].data(), dgrams[i].size()}, meta, *e, out);
        return out.size;
    }
};

bool reference_ok(const decode::flow_record& r, unsigned i) {
    return r.src_port == 40000 + i % 30 && r.bytes == 1500 * (10 + i % 30) && r.dst_as == 64513;
}

// ---- producer side ----

// Before: decode into the worker's buffer, copy each datagram into the ring; the sink copies out.
void BM_enqueue_copy(benchmark::State& state) {
    fixture f;
    ring::record_ring rr("bm_copy", k_ring, 0);
    rte_ring* r = rr.get();
    std::vector<decode::flow_record> staging(64), drain(1024);
    uint64_t cyc = 0, records = 0, sink_cyc = 0;
    uint64_t best = ~0ull;  // the quickest burst: preemption on a shared machine only adds
    bool checked = false;
    for (auto _ : state) {
        const uint64_t t0 = rte_rdtsc();
        for (unsigned i = 0; i < k_burst; ++i) {
            decode::record_buffer out{staging.data(), 64, 0};
            f.decode_one(i, out);
            records += ring::enqueue_records(r, out.data, out.size);
        }
        const uint64_t t1 = rte_rdtsc();
        cyc += t1 - t0;
        best = std::min(best, t1 - t0);
        unsigned n;
        while ((n = ring::dequeue_records(r, drain.data(), 1024)) != 0)
            if (!checked) {
                for (unsigned k = 0; k < n; ++k)
                    if (!reference_ok(drain[k], k)) return state.SkipWithError("copy: sink read a wrong record");
                checked = true;
            }
        sink_cyc += rte_rdtsc() - t1;
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(int64_t(records));
    state.counters["worker_cyc/rec"] = double(cyc) / double(records ? records : 1);
    state.counters["worker_cyc/rec_min"] = double(best) / double(burst_records);
    state.counters["discard_sink_cyc/rec"] = double(sink_cyc) / double(records ? records : 1);
}

// After: one zero-copy reservation per burst, decode in place, one commit; the sink peeks in place.
void BM_enqueue_zero_copy(benchmark::State& state) {
    fixture f;
    ring::record_ring rr("bm_zc", k_ring, 0);
    rte_ring* r = rr.get();
    std::vector<decode::flow_record> staging(64);
    uint64_t cyc = 0, records = 0, copied = 0, sink_cyc = 0;
    uint64_t best = ~0ull;  // the quickest burst: preemption on a shared machine only adds
    bool checked = false;
    const unsigned cap = rte_ring_get_capacity(r);
    for (auto _ : state) {
        const uint64_t t0 = rte_rdtsc();
        ring::reservation z;
        ring::reserve(r, cap, z);
        for (unsigned i = 0; i < k_burst; ++i) {
            const unsigned room = z.room_in_place();
            if (room >= 30) {
                decode::record_buffer out{z.cursor(), room, 0};
                f.decode_one(i, out);
                const unsigned here = std::min(out.size, z.room_here());
                z.used += here;
                copied += z.copy_in(out.data + here, out.size - here);
                records += out.size;
            } else {
                decode::record_buffer out{staging.data(), 64, 0};
                f.decode_one(i, out);
                copied += z.copy_in(out.data, out.size);
                records += out.size;
            }
        }
        ring::commit(z);
        const uint64_t t1 = rte_rdtsc();
        cyc += t1 - t0;
        best = std::min(best, t1 - t0);
        ring::batch b;
        while (ring::peek(r, 4096, b) != 0) {
            if (!checked) {
                for (unsigned k = 0; k < b.len[0]; ++k)
                    if (!reference_ok(b.p[0][k], k)) return state.SkipWithError("zc: sink read a wrong record");
                checked = true;
            }
            ring::release(r, b);
        }
        sink_cyc += rte_rdtsc() - t1;
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(int64_t(records));
    state.counters["worker_cyc/rec"] = double(cyc) / double(records ? records : 1);
    state.counters["worker_cyc/rec_min"] = double(best) / double(burst_records);
    state.counters["discard_sink_cyc/rec"] = double(sink_cyc) / double(records ? records : 1);
    state.counters["copied"] = double(copied) / double(records ? records : 1);
}

// Alternative: decode into a per-worker slab (one per burst), pass the slab by pointer,
// the sink hands it back on a return ring.
void BM_enqueue_slab(benchmark::State& state) {
    fixture f;
    constexpr unsigned slab_records = 1024;  // a burst of 32 full v5 datagrams: 960
    constexpr unsigned slabs = k_ring / slab_records;
    struct slab {
        uint32_t n;
        decode::flow_record* rec;
    };
    std::vector<decode::flow_record> mem(std::size_t(slabs) * slab_records);
    std::vector<slab> desc(slabs);
    rte_ring* to_sink = rte_ring_create("bm_slab_fwd", slabs * 2, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    rte_ring* back = rte_ring_create("bm_slab_ret", slabs * 2, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    for (unsigned i = 0; i < slabs; ++i) {
        desc[i] = {0, &mem[std::size_t(i) * slab_records]};
        rte_ring_enqueue(back, &desc[i]);
    }
    uint64_t cyc = 0, records = 0;
    uint64_t best = ~0ull;  // the quickest burst: preemption on a shared machine only adds
    bool checked = false;
    for (auto _ : state) {
        const uint64_t t0 = rte_rdtsc();
        void* p = nullptr;
        if (rte_ring_dequeue(back, &p) != 0) return state.SkipWithError("slab: none free");
        slab* s = static_cast<slab*>(p);
        decode::record_buffer out{s->rec, slab_records, 0};
        for (unsigned i = 0; i < k_burst; ++i) f.decode_one(i, out);
        s->n = out.size;
        records += out.size;
        rte_ring_enqueue(to_sink, s);
        const uint64_t t1 = rte_rdtsc();
        cyc += t1 - t0;
        best = std::min(best, t1 - t0);
        while (rte_ring_dequeue(to_sink, &p) == 0) {
            slab* g = static_cast<slab*>(p);
            if (!checked) {
                for (unsigned k = 0; k < g->n; ++k)
                    if (!reference_ok(g->rec[k], k)) return state.SkipWithError("slab: sink read a wrong record");
                checked = true;
            }
            rte_ring_enqueue(back, g);
        }
        benchmark::ClobberMemory();
    }
    rte_ring_free(to_sink);
    rte_ring_free(back);
    state.SetItemsProcessed(int64_t(records));
    state.counters["worker_cyc/rec"] = double(cyc) / double(records ? records : 1);
    state.counters["worker_cyc/rec_min"] = double(best) / double(burst_records);
}

// Decode alone into a small buffer: the floor the three variants add to.
void BM_decode_only(benchmark::State& state) {
    fixture f;
    std::vector<decode::flow_record> staging(64);
    uint64_t cyc = 0, records = 0;
    uint64_t best = ~0ull;  // the quickest burst: preemption on a shared machine only adds
    for (auto _ : state) {
        const uint64_t t0 = rte_rdtsc();
        for (unsigned i = 0; i < k_burst; ++i) {
            decode::record_buffer out{staging.data(), 64, 0};
            records += f.decode_one(i, out);
        }
        const uint64_t t1 = rte_rdtsc();
        cyc += t1 - t0;
        best = std::min(best, t1 - t0);
        benchmark::DoNotOptimize(staging.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(int64_t(records));
    state.counters["worker_cyc/rec"] = double(cyc) / double(records ? records : 1);
    state.counters["worker_cyc/rec_min"] = double(best) / double(burst_records);
}

// ---- sink side ----

std::vector<decode::flow_record> sink_records() {
    fixture f;
    std::vector<decode::flow_record> v(std::size_t(k_burst) * 30);
    decode::record_buffer out{v.data(), uint32_t(v.size()), 0};
    for (unsigned i = 0; i < k_burst; ++i) f.decode_one(i, out);
    v.resize(out.size);
    return v;
}

void BM_json_encode_only(benchmark::State& state) {
    const auto recs = sink_records();
    std::vector<char> buf(1 << 20);
    std::size_t at = 0;
    uint64_t n = 0, bytes = 0;
    for (auto _ : state) {
        for (const auto& r : recs) {
            if (buf.size() - at < decode::max_json_size + 1) at = 0;
            const std::size_t len = decode::format_json(r, buf.data() + at, decode::max_json_size);
            buf[at + len] = '\n';
            at += len + 1;
            bytes += len + 1;
        }
        n += recs.size();
        benchmark::DoNotOptimize(buf.data());
    }
    state.SetItemsProcessed(int64_t(n));
    state.SetBytesProcessed(int64_t(bytes));
}

// The sink stage over batches of 256 records (k_sink_burst): outputs given as --output specs.
void run_stage(benchmark::State& state, const std::vector<std::string>& specs, std::size_t chunk = 0,
               const std::function<void()>& every_gib = {}) {
    const auto recs = sink_records();
    std::vector<sinks::output_config> outs;
    for (unsigned i = 0; i < specs.size(); ++i) outs.push_back(sinks::parse_output_spec(specs[i], i));
    if (chunk)
        for (auto& o : outs) o.file.chunk_bytes = chunk;
    // Reference check: the first output written to a file equals format_json's lines.
    {
        char path[] = "/tmp/sluice-bench-XXXXXX";
        const int fd = mkstemp(path);
        if (fd < 0) return state.SkipWithError("mkstemp failed");
        close(fd);
        auto check = outs;
        check.resize(1);
        check[0].file.path = path;
        check[0].filter.clear();
        check[0].sample = 1;
        sinks::sink_context s;
        sinks::add_outputs(s, check, 1, rte_get_tsc_hz());
        sinks::run_outputs(s, recs.data(), unsigned(recs.size()));
        sinks::flush_outputs(s);
        std::string want;
        char line[decode::max_json_size + 1];
        for (const auto& r : recs) want += std::string(line, decode::format_json(r, line, decode::max_json_size)) + "\n";
        std::ifstream in(path);
        std::stringstream got;
        got << in.rdbuf();
        unlink(path);
        if (got.str() != want) return state.SkipWithError("sink stage output differs from format_json");
    }
    sinks::sink_context s;
    sinks::add_outputs(s, outs, 1, rte_get_tsc_hz());
    uint64_t n = 0, next_cleanup = 1ull << 30;
    for (auto _ : state) {
        for (std::size_t at = 0; at < recs.size(); at += sinks::k_sink_burst) {
            const unsigned k = unsigned(std::min<std::size_t>(sinks::k_sink_burst, recs.size() - at));
            sinks::run_outputs(s, recs.data() + at, k);
        }
        n += recs.size();
        if (every_gib && s.outputs[0]->file_counters.get(sinks::file_counter::bytes) >= next_cleanup) {
            state.PauseTiming();
            every_gib();
            state.ResumeTiming();
            next_cleanup += 1ull << 30;
        }
    }
    sinks::flush_outputs(s);
    state.SetItemsProcessed(int64_t(n));
    uint64_t bytes = 0, writes = 0;
    for (const auto& o : s.outputs) {
        bytes += o->file_counters.get(sinks::file_counter::bytes);
        writes += o->file_counters.get(sinks::file_counter::writes);
    }
    state.SetBytesProcessed(int64_t(bytes));
    state.counters["records/write"] = double(n) / double(writes ? writes : 1);
}

void BM_sink_stage_json_devnull(benchmark::State& state) { run_stage(state, {"name=all,path=/dev/null"}); }
// Into a real file (the page cache): the chunk size decides whether the
// buffer stays in cache between the encoder's stores and the kernel's copy.
void BM_sink_stage_json_file(benchmark::State& state) {
    char dir[] = "/tmp/sluice-bench-dir-XXXXXX";
    if (mkdtemp(dir) == nullptr) return state.SkipWithError("mkdtemp failed");
    const std::string path = std::string(dir) + "/out.json";
    // Roll every 256 MiB and remove the rolled files as we go, so the disk never fills.
    run_stage(state, {"name=all,path=" + path + ",roll_bytes=268435456"}, std::size_t(state.range(0)) * 1024,
              [&] { std::filesystem::remove_all(dir); std::filesystem::create_directory(dir); });
    std::filesystem::remove_all(dir);
}
void BM_sink_stage_two_outputs(benchmark::State& state) {
    run_stage(state, {"name=all,path=/dev/null", "name=tcp,path=/dev/null,filter=proto==tcp,sample=4"});
}

}  // namespace

BENCHMARK(BM_decode_only);
BENCHMARK(BM_enqueue_copy);
BENCHMARK(BM_enqueue_zero_copy);
BENCHMARK(BM_enqueue_slab);
BENCHMARK(BM_json_encode_only);
BENCHMARK(BM_sink_stage_json_devnull);
BENCHMARK(BM_sink_stage_two_outputs);
BENCHMARK(BM_sink_stage_json_file)->Arg(8)->Arg(16)->Arg(32)->Arg(64)->Arg(256)->Unit(benchmark::kMicrosecond);

int main(int argc, char** argv) {
    char prefix[64];
    std::snprintf(prefix, sizeof prefix, "--file-prefix=sluice-bench-%d", int(getpid()));
    const char* eal[] = {"record_path_bench", "--no-huge", "-m", "256", "--no-pci", "--no-shconf", "--log-level=warning",
                         prefix, "--lcores=0"};
    if (rte_eal_init(int(sizeof eal / sizeof *eal), const_cast<char**>(eal)) < 0) {
        std::fprintf(stderr, "record_path_bench: EAL init failed\n");
        return 1;
    }
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    rte_eal_cleanup();
    return 0;
}
