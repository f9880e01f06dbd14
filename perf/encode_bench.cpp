// SPDX-License-Identifier: Apache-2.0
// The sink encoders alone, one core, from memory: protobuf (one message per record, as goflow2's framing ships
// them; varint-delimited batches, the throughput path), ECS JSON (one object per record; newline-delimited
// batches), the flow id alone, and the plain JSON encoder as the baseline measured in the same run. Protobuf with
// the enriched fields too (perf/enriched_sets.hpp: all five attribute ids and both matched prefixes set on every
// record, sets of realistic size spread over 5,000 ids): `_enriched` beside the plain one, and `_enriched_noids`
// (the enriched encoder on records without ids: the price of enrichment being on for a record it found nothing for).
//
// Input: every record of the bundled captures (v5, v9, IPFIX with biflows, sFlow with counters), repeated into a
// batch of k_batch records, encoded batch after batch into a reused byte_buffer (as a sink output would). Every
// benchmark first checks its output (messages decode back to the records' values, batches equal the single
// encodings concatenated), then measures. With DPDK (the sink stage library), also the sink stage itself with one
// ecs_json or protobuf_delimited output to /dev/null. Items/s = records/s; bytes/s = encoded bytes; `cyc/rec` = TSC cycles
// per record.
#include <benchmark/benchmark.h>
#include <x86intrin.h>

#include <cstring>
#include <string>
#include <vector>

#include "dataplane/decode/record_format.hpp"
#include "dataplane/offline/offline_reader.hpp"
#include "sinks/encode/ecs_json.hpp"
#include "sinks/encode/flow_id.hpp"
#include "sinks/encode/protobuf.hpp"
#include "enriched_sets.hpp"
#ifdef SLUICE_HAVE_STAGE
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "sinks/stage/stage.hpp"
#endif

using namespace sluice;
using namespace sluice::sinks::encode;
using decode::flow_record;

namespace {

// A sink's ring peek hands over up to this many records (sinks/stage k_sink_burst is of this order); a Kafka
// message of a delimited batch holds about as many.
constexpr std::size_t k_batch = 512;

const std::vector<flow_record>& batch() {
    static const std::vector<flow_record> b = [] {
        std::vector<flow_record> all;
        for (const char* f : {"softflowd-v5-ipv4.pcap", "fprobe-v5-ipv4.pcap", "softflowd-v9-ipv4.pcap",
                              "softflowd-v9-ipv6.pcap", "pmacct-nfprobe-v9.pcap", "softflowd-ipfix-ipv4.pcap",
                              "softflowd-ipfix-ipv6.pcap", "softflowd-ipfix-biflow-ipv4.pcap",
                              "pmacct-nfprobe-ipfix.pcap", "pmacct-sfprobe-sflow.pcap"}) {
            offline::offline_reader rd(offline::reader_options{});
            std::string err;
            rd.read_file(std::string(SLUICE_FIXTURES_DIR) + "/" + f,
                         [&](std::span<const flow_record> r) { all.insert(all.end(), r.begin(), r.end()); }, &err);
        }
        std::vector<flow_record> out;
        for (std::size_t i = 0; out.size() < k_batch; ++i) out.push_back(all[i % all.size()]);
        return out;
    }();
    return b;
}

uint64_t varint(const uint8_t*& p) {
    uint64_t v = 0;
    for (int s = 0;; s += 7) {
        const uint8_t b = *p++;
        v |= uint64_t(b & 0x7f) << s;
        if (!(b & 0x80)) return v;
    }
}

// Field 9 (bytes), 10 (packets) and 200 (flow id) of one message, by a minimal wire reader.
bool message_matches(const uint8_t* p, std::size_t n, const flow_record& r) {
    const uint8_t* e = p + n;
    uint64_t bytes = 0, packets = 0, id = 0;
    while (p < e) {
        const uint64_t key = varint(p);
        switch (key & 7) {
            case 0: {
                const uint64_t v = varint(p);
                if ((key >> 3) == 9) bytes = v;
                if ((key >> 3) == 10) packets = v;
                break;
            }
            case 1:
                std::memcpy(&id, p, 8);
                p += 8;
                break;
            case 2: p += varint(p); break;
            default: return false;
        }
    }
    return p == e && bytes == r.bytes && packets == r.packets && id == flow_id(r);
}

void report(benchmark::State& state, uint64_t cycles, uint64_t bytes) {
    const double recs = double(state.iterations()) * k_batch;
    state.SetItemsProcessed(int64_t(recs));
    state.SetBytesProcessed(int64_t(bytes));
    state.counters["cyc/rec"] = double(cycles) / recs;
    state.counters["B/rec"] = double(bytes) / recs;
}

void BM_protobuf_single(benchmark::State& state) {
    const auto& recs = batch();
    byte_buffer buf;
    std::vector<uint32_t> lens(k_batch);
    {  // check: each message decodes to its record's values
        for (std::size_t i = 0; i < k_batch; ++i) lens[i] = uint32_t(protobuf_append(buf, recs[i]));
        const uint8_t* p = buf.data();
        for (std::size_t i = 0; i < k_batch; p += lens[i], ++i)
            if (!message_matches(p, lens[i], recs[i])) return state.SkipWithError("protobuf message differs");
    }
    uint64_t cycles = 0, bytes = 0;
    for (auto _ : state) {
        buf.clear();
        const uint64_t t0 = __rdtsc();
        for (std::size_t i = 0; i < k_batch; ++i) lens[i] = uint32_t(protobuf_append(buf, recs[i]));
        cycles += __rdtsc() - t0;
        bytes += buf.size();
        benchmark::DoNotOptimize(buf.data());
    }
    report(state, cycles, bytes);
}

void BM_protobuf_delimited_batch(benchmark::State& state) {
    const auto& recs = batch();
    byte_buffer buf;
    {  // check: the batch is the delimited messages, each decoding to its record
        protobuf_append_delimited(buf, recs);
        const uint8_t* p = buf.data();
        for (std::size_t i = 0; i < k_batch; ++i) {
            const uint64_t n = varint(p);
            if (!message_matches(p, n, recs[i])) return state.SkipWithError("delimited message differs");
            p += n;
        }
        if (p != buf.data() + buf.size()) return state.SkipWithError("trailing bytes");
    }
    uint64_t cycles = 0, bytes = 0;
    for (auto _ : state) {
        buf.clear();
        const uint64_t t0 = __rdtsc();
        protobuf_append_delimited(buf, recs);
        cycles += __rdtsc() - t0;
        bytes += buf.size();
        benchmark::DoNotOptimize(buf.data());
    }
    report(state, cycles, bytes);
}

const perf::enriched_sets& sets() {
    static const perf::enriched_sets s;
    return s;
}
const std::vector<flow_record>& enriched_batch() {
    static const std::vector<flow_record> b = sets().enrich(batch());
    return b;
}

// Delimited batches with the enrichment: each message decodes to its record; with ids, it carries the enriched
// fields (longer than the plain message); without, it is the plain batch byte for byte.
void run_delimited_enriched(benchmark::State& state, const std::vector<flow_record>& recs, bool with_ids) {
    const auto& en = sets().en;
    byte_buffer buf, plain;
    {
        protobuf_append_delimited(buf, recs, en);
        protobuf_append_delimited(plain, recs);
        if (!with_ids && (buf.size() != plain.size() || std::memcmp(buf.data(), plain.data(), buf.size()) != 0))
            return state.SkipWithError("enriched encoder without ids differs from the plain one");
        if (with_ids && buf.size() < plain.size() + k_batch * 200)
            return state.SkipWithError("enriched fields missing");
        const uint8_t* p = buf.data();
        for (std::size_t i = 0; i < k_batch; ++i) {
            const uint64_t n = varint(p);
            if (!message_matches(p, n, recs[i])) return state.SkipWithError("enriched message differs");
            p += n;
        }
        if (p != buf.data() + buf.size()) return state.SkipWithError("trailing bytes");
    }
    uint64_t cycles = 0, bytes = 0;
    for (auto _ : state) {
        buf.clear();
        const uint64_t t0 = __rdtsc();
        protobuf_append_delimited(buf, recs, en);
        cycles += __rdtsc() - t0;
        bytes += buf.size();
        benchmark::DoNotOptimize(buf.data());
    }
    report(state, cycles, bytes);
}
void BM_protobuf_delimited_batch_enriched(benchmark::State& state) {
    run_delimited_enriched(state, enriched_batch(), true);
}
void BM_protobuf_delimited_batch_enriched_noids(benchmark::State& state) {
    run_delimited_enriched(state, batch(), false);
}

bool ecs_matches(std::string_view line, const flow_record& r) {
    char id[20];
    const uint64_t v = flow_id(r);
    for (int i = 0; i < 16; ++i) id[i] = "0123456789abcdef"[(v >> (4 * (15 - i))) & 0xf];
    if (line.find(std::string_view(id, 16)) == std::string_view::npos) return false;
    if (r.kind == decode::record_kind::flow)
        return line.find(",\"bytes\":" + std::to_string(r.bytes) + ",") != std::string_view::npos;
    return line.find("\"in_bytes\":" + std::to_string(r.bytes) + ",") != std::string_view::npos;
}

void BM_ecs_json_single(benchmark::State& state) {
    const auto& recs = batch();
    byte_buffer buf;
    std::vector<uint32_t> lens(k_batch);
    {
        for (std::size_t i = 0; i < k_batch; ++i) lens[i] = uint32_t(ecs_json_append(buf, recs[i]));
        const char* p = reinterpret_cast<const char*>(buf.data());
        for (std::size_t i = 0; i < k_batch; p += lens[i], ++i)
            if (!ecs_matches({p, lens[i]}, recs[i])) return state.SkipWithError("ECS JSON differs");
    }
    uint64_t cycles = 0, bytes = 0;
    for (auto _ : state) {
        buf.clear();
        const uint64_t t0 = __rdtsc();
        for (std::size_t i = 0; i < k_batch; ++i) lens[i] = uint32_t(ecs_json_append(buf, recs[i]));
        cycles += __rdtsc() - t0;
        bytes += buf.size();
        benchmark::DoNotOptimize(buf.data());
    }
    report(state, cycles, bytes);
}

void BM_ecs_json_lines_batch(benchmark::State& state) {
    const auto& recs = batch();
    byte_buffer buf;
    {
        ecs_json_append_lines(buf, recs);
        std::string_view all(reinterpret_cast<const char*>(buf.data()), buf.size());
        for (std::size_t i = 0; i < k_batch; ++i) {
            const std::size_t nl = all.find('\n');
            if (nl == std::string_view::npos || !ecs_matches(all.substr(0, nl), recs[i]))
                return state.SkipWithError("ECS JSON line differs");
            all.remove_prefix(nl + 1);
        }
    }
    uint64_t cycles = 0, bytes = 0;
    for (auto _ : state) {
        buf.clear();
        const uint64_t t0 = __rdtsc();
        ecs_json_append_lines(buf, recs);
        cycles += __rdtsc() - t0;
        bytes += buf.size();
        benchmark::DoNotOptimize(buf.data());
    }
    report(state, cycles, bytes);
}

// Baseline in the same run: the plain JSON encoder (format_json), as the file sink calls it.
void BM_json_baseline(benchmark::State& state) {
    const auto& recs = batch();
    byte_buffer buf;
    uint64_t cycles = 0, bytes = 0;
    for (auto _ : state) {
        buf.clear();
        const uint64_t t0 = __rdtsc();
        char* const start = reinterpret_cast<char*>(buf.reserve(k_batch * (decode::max_json_size + 1)));
        char* p = start;
        for (const auto& r : recs) {
            p += decode::format_json(r, p, decode::max_json_size);
            *p++ = '\n';
        }
        buf.commit(std::size_t(p - start));
        cycles += __rdtsc() - t0;
        bytes += buf.size();
        benchmark::DoNotOptimize(buf.data());
    }
    report(state, cycles, bytes);
}

void BM_flow_id(benchmark::State& state) {
    const auto& recs = batch();
    uint64_t cycles = 0;
    for (auto _ : state) {
        uint64_t x = 0;
        const uint64_t t0 = __rdtsc();
        for (const auto& r : recs) x ^= flow_id(r);
        cycles += __rdtsc() - t0;
        benchmark::DoNotOptimize(x);
    }
    report(state, cycles, 0);
}

#ifdef SLUICE_HAVE_STAGE
// The sink stage over the same records, batches of k_sink_burst read in place (as from a ring slot), one output of
// the given format writing to /dev/null: filter check, encode into the file writer's buffer, writev. First checks
// that the stage's file bytes equal the encoder's own output.
void run_stage(benchmark::State& state, const char* fmt, bool enriched = false) {
    const auto& recs = enriched ? enriched_batch() : batch();
    const std::string f(fmt);
    auto enrich_on = [&](sinks::sink_context& s) {
        if (!enriched) return;
        s.enrich_interner = &sets().in;
        s.enrich_keys = sets().names;
    };
    {
        char path[] = "/tmp/sluice-encode-bench-XXXXXX";
        const int fd = mkstemp(path);
        if (fd < 0) return state.SkipWithError("mkstemp failed");
        close(fd);
        std::vector<sinks::output_config> outs{sinks::parse_output_spec("name=o,format=" + f + ",path=" + path, 0)};
        sinks::sink_context s;
        sinks::add_outputs(s, outs, 1, 1000000000ull);
        enrich_on(s);
        sinks::run_outputs(s, recs.data(), unsigned(recs.size()));
        sinks::flush_outputs(s);
        byte_buffer want;
        if (f == "ecs_json")
            ecs_json_append_lines(want, recs);
        else if (enriched)
            protobuf_append_delimited(want, recs, sets().en);
        else
            protobuf_append_delimited(want, recs);
        std::ifstream in(path);
        std::stringstream got;
        got << in.rdbuf();
        unlink(path);
        if (got.str() != std::string(reinterpret_cast<const char*>(want.data()), want.size()))
            return state.SkipWithError("sink stage output differs from the encoder's");
    }
    std::vector<sinks::output_config> outs{sinks::parse_output_spec("name=o,format=" + f + ",path=/dev/null", 0)};
    sinks::sink_context s;
    sinks::add_outputs(s, outs, 1, 1000000000ull);
    enrich_on(s);
    uint64_t cycles = 0;
    for (auto _ : state) {
        const uint64_t t0 = __rdtsc();
        for (std::size_t at = 0; at < recs.size(); at += sinks::k_sink_burst) {
            const unsigned k = unsigned(std::min<std::size_t>(sinks::k_sink_burst, recs.size() - at));
            sinks::run_outputs(s, recs.data() + at, k);
        }
        cycles += __rdtsc() - t0;
    }
    sinks::flush_outputs(s);
    report(state, cycles, s.outputs[0]->file_counters.get(sinks::file_counter::bytes));
}
void BM_sink_stage_ecs_json_devnull(benchmark::State& state) { run_stage(state, "ecs_json"); }
void BM_sink_stage_protobuf_delimited_devnull(benchmark::State& state) { run_stage(state, "protobuf_delimited"); }
BENCHMARK(BM_sink_stage_ecs_json_devnull);
BENCHMARK(BM_sink_stage_protobuf_delimited_devnull);
void BM_sink_stage_protobuf_delimited_enriched_devnull(benchmark::State& state) {
    run_stage(state, "protobuf_delimited", true);
}
BENCHMARK(BM_sink_stage_protobuf_delimited_enriched_devnull);
#endif

}  // namespace

BENCHMARK(BM_json_baseline);
BENCHMARK(BM_protobuf_single);
BENCHMARK(BM_protobuf_delimited_batch);
BENCHMARK(BM_protobuf_delimited_batch_enriched_noids);
BENCHMARK(BM_protobuf_delimited_batch_enriched);
BENCHMARK(BM_ecs_json_single);
BENCHMARK(BM_ecs_json_lines_batch);
BENCHMARK(BM_flow_id);
BENCHMARK_MAIN();
