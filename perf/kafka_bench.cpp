// SPDX-License-Identifier: Apache-2.0
// The Kafka writer per sink core, measured: records from the sink stage's batches (run_outputs over 256-record
// batches, as the sink lcore runs them) through the JSON encoder and rd_kafka_produce to librdkafka's mock cluster
// (in this process, over TCP on loopback), until every record is delivered.
//
// Checks first: 960 records produced, consumed back with kcat, equal format_json's lines. Then measures. Items/s
// = records delivered per second of wall time; `sink_cpu_ns/rec` is the calling thread's CPU time per record (the
// sink core's own cost: librdkafka's broker threads and the mock brokers run on other threads, and on this
// 2-CPU machine they share the CPUs with it). The writer never waits for the brokers on the sink core; the
// benchmark does (it polls while more than 200,000 messages are outstanding), so the rate is what the cluster
// sustains, not how fast a queue fills.
#include <benchmark/benchmark.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "dataplane/decode/decoder.hpp"
#include "dataplane/decode/record_format.hpp"
#include "sinks/stage/stage.hpp"

using namespace sluice;

namespace {

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

// 32 datagrams x 30 records, decoded once (the records a sink reads from its rings).
std::vector<decode::flow_record> records() {
    decode::exporter_table table;
    decode::datagram_meta meta{};
    const uint8_t a[4] = {192, 0, 2, 1};
    decode::set_ipv4(meta.exporter_addr, a);
    meta.time_received_ns = 1700000000ull * 1000000000ull;
    decode::exporter_state* e = table.find_or_create(meta.exporter_addr, 0);
    std::vector<decode::flow_record> v(32 * 30);
    decode::record_buffer out{v.data(), uint32_t(v.size()), 0};
    for (uint32_t i = 0; i < 32; ++i) {
        const auto d = make_v5_datagram(i * 30);
        decode::decode_netflow_v5({d.data(), d.size()}, meta, *e, out);
    }
    v.resize(out.size);
    return v;
}

uint64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

struct mock_cluster {
    rd_kafka_t* rk = nullptr;
    rd_kafka_mock_cluster_t* mc = nullptr;
    std::string bootstraps;
    explicit mock_cluster(int brokers) {
        char err[256];
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err);
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
        mc = rd_kafka_mock_cluster_new(rk, brokers);
        bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
    }
    ~mock_cluster() {
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(rk);
    }
    std::string spec_brokers() const {
        std::string s = bootstraps;
        for (char& c : s)
            if (c == ',') c = ';';
        return s;
    }
};

mock_cluster& cluster() {
    static mock_cluster c(3);
    return c;
}

std::string spool_dir() {
    static std::string d = [] {
        char t[] = "/tmp/sluice-kafka-bench-XXXXXX";
        return std::string(mkdtemp(t));
    }();
    return d;
}

// Runs the records through one Kafka output of a sink context, n times (0 = the check).
bool check_output(const std::vector<decode::flow_record>& recs, const std::string& extra) {
    mock_cluster& mc = cluster();
    rd_kafka_mock_topic_create(mc.mc, "check", 1, 1);
    std::vector<sinks::output_config> outs{sinks::parse_output_spec(
        "name=check,kafka=" + mc.spec_brokers() + ",topic=check,spool=" + spool_dir() + extra, 0)};
    {
        sinks::sink_context s;
        sinks::add_outputs(s, outs, 1, 1000000000ull);
        sinks::run_outputs(s, recs.data(), unsigned(recs.size()));
        sinks::flush_outputs(s);
        if (s.outputs[0]->kafka_counters.get(sinks::kafka_counter::delivered) != recs.size()) return false;
    }
    std::string want;
    char line[decode::max_json_size];
    for (const auto& r : recs) want += std::string(line, decode::format_json(r, line, sizeof line)) + "\n";
    const std::string cmd = "kcat -C -q -e -b " + mc.bootstraps + " -t check -o beginning 2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return false;
    std::string got;
    char buf[65536];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) got.append(buf, n);
    pclose(p);
    return got == want;
}

void run_kafka(benchmark::State& state, const std::string& extra, bool json = true) {
    static const auto recs = records();
    static bool checked = false;
    if (json && !checked) {
        if (!check_output(recs, extra)) return state.SkipWithError("records read back with kcat differ from format_json");
        checked = true;
    }
    mock_cluster& mc = cluster();
    std::vector<sinks::output_config> outs{sinks::parse_output_spec(
        "name=bench,kafka=" + mc.spec_brokers() + ",topic=bench,spool=" + spool_dir() +
            ",rdkafka.queue.buffering.max.messages=1000000" + extra,
        0)};
    sinks::sink_context s;
    sinks::add_outputs(s, outs, 1, 1000000000ull);
    sinks::output_slot& o = *s.outputs[0];
    uint64_t n = 0, cpu = 0;
    auto outstanding = [&] {
        const auto& c = o.kafka_counters;
        return c.get(sinks::kafka_counter::produced) - c.get(sinks::kafka_counter::delivered);
    };
    for (auto _ : state) {
        const uint64_t c0 = thread_cpu_ns();
        for (std::size_t at = 0; at < recs.size(); at += sinks::k_sink_burst) {
            const unsigned k = unsigned(std::min<std::size_t>(sinks::k_sink_burst, recs.size() - at));
            sinks::run_outputs(s, recs.data() + at, k);
            o.kafka->poll();
        }
        cpu += thread_cpu_ns() - c0;
        n += recs.size();
        while (outstanding() > 200000) {
            o.kafka->poll();
            usleep(200);
        }
    }
    const uint64_t c0 = thread_cpu_ns();
    sinks::flush_outputs(s);  // every record delivered (or spooled) before the clock stops
    cpu += thread_cpu_ns() - c0;
    const auto& c = o.kafka_counters;
    state.SetItemsProcessed(int64_t(n));
    state.SetBytesProcessed(int64_t(c.get(sinks::kafka_counter::delivered_bytes)));
    state.counters["sink_cpu_ns/rec"] = n ? double(cpu) / double(n) : 0;
    state.counters["delivered"] = double(c.get(sinks::kafka_counter::delivered));
    state.counters["spooled"] = double(c.get(sinks::kafka_counter::spooled));
}

void BM_kafka_json_lz4(benchmark::State& state) { run_kafka(state, ""); }
void BM_kafka_json_zstd(benchmark::State& state) { run_kafka(state, ",compression=zstd"); }
void BM_kafka_json_none(benchmark::State& state) { run_kafka(state, ",compression=none"); }
// librdkafka's default batching (linger 5 ms, 10000 messages) against bigger batches.
void BM_kafka_json_lz4_linger50(benchmark::State& state) { run_kafka(state, ",linger_ms=50,batch=100000"); }
// Batched protobuf (varint-delimited FlowMessages, one Kafka message per sink batch of 256 records): the
// throughput framing. The encoder's output is checked by sinks_encode and proto_compat; here `delivered`
// counts Kafka messages (batches), items/s counts records.
void BM_kafka_protobuf_delimited_lz4(benchmark::State& state) {
    run_kafka(state, ",format=protobuf_delimited,key=none", false);
}
// ECS JSON, one record per Kafka message (the 2 M/s case); its encoder is checked by ecs_fields.
void BM_kafka_ecs_json_lz4(benchmark::State& state) { run_kafka(state, ",format=ecs_json", false); }
// One unframed FlowMessage per Kafka message (what goflow2's consumers read).
void BM_kafka_protobuf_lz4(benchmark::State& state) { run_kafka(state, ",format=protobuf", false); }

}  // namespace

BENCHMARK(BM_kafka_json_lz4)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_kafka_json_zstd)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_kafka_json_none)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_kafka_json_lz4_linger50)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_kafka_protobuf_delimited_lz4)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_kafka_protobuf_lz4)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_kafka_ecs_json_lz4)->UseRealTime()->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    std::filesystem::remove_all(spool_dir());
    return 0;
}
