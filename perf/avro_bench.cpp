// SPDX-License-Identifier: Apache-2.0
// Avro to local files per sink core, measured: the hand datum encoder (the sink core's cost), avro-c's generic
// avro_value_t path beside it (what the hand encoder replaces), avro-c's container writer per codec (the writer
// thread's cost), and the whole HDFS writer (sink encode + handoff + writer thread + files) end to end.
//
//   BM_avro_encode                 encode_flow over the fixtures' records into a buffer
//   BM_avro_encode_enriched        encode_flow with the enrichment over the same records with all five attribute
//                                  ids and both prefixes set (perf/enriched_sets.hpp); _noids: the enriched
//                                  encoder over the records without ids (its datums equal the plain ones)
//   BM_avro_generic_value          the same records built as avro_value_t and written with avro_value_write
//   BM_avro_container/<codec>      pre-encoded datums appended to an object-container file (0 null,
//                                  1 deflate, 2 snappy), rolled every 64 MiB of datums
//   BM_hdfs_writer/<codec>         hdfs_writer end to end into a local Hive tree; items = records written
//                                  (records dropped at a full handoff are reported as `dropped`, not items)
//
// Checked first: the hand encoder's bytes equal avro-c's own encoding of the same
// values (avro_value_write) for every record, and a container file of them reads
// back through avro-c's reader with every record's bytes and time fields.
// Items/s = records/s. The machine is shared: compare within one run.
#include <avro.h>
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "dataplane/decode/record_format.hpp"
#include "dataplane/offline/offline_reader.hpp"
#include "sinks/avro/avro.hpp"
#include "sinks/encode/flow_id.hpp"
#include "sinks/hdfs/hdfs.hpp"
#include "enriched_sets.hpp"

using namespace sluice;
namespace fs = std::filesystem;

namespace {

const std::vector<decode::flow_record>& records() {
    static const std::vector<decode::flow_record> recs = [] {
        std::vector<decode::flow_record> v;
        std::vector<fs::path> files;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(SLUICE_FIXTURES_DIR, ec))
            if (e.path().extension() == ".pcap" && e.path().filename().string().rfind("traffic", 0) != 0)
                files.push_back(e.path());
        std::sort(files.begin(), files.end());
        for (const auto& f : files) {
            offline::offline_reader reader({});
            std::string err;
            reader.read_file(
                f.string(), [&](std::span<const decode::flow_record> r) { v.insert(v.end(), r.begin(), r.end()); },
                &err, nullptr);
        }
        // Spread the receive times over one hour so the writer stays in one partition.
        for (std::size_t i = 0; i < v.size(); ++i) v[i].time_received_ns = 1700000000ull * 1000000000ull + i;
        return v;
    }();
    return recs;
}

struct schema_holder {
    avro_schema_t schema = nullptr;
    avro_value_iface_t* iface = nullptr;
    schema_holder() {
        const auto s = sinks::avro::flow_schema();
        if (avro_schema_from_json_length(s.data(), s.size(), &schema) != 0) std::abort();
        iface = avro_generic_class_from_schema(schema);
    }
    ~schema_holder() {
        avro_value_iface_decref(iface);
        avro_schema_decref(schema);
    }
};

// The generic path: every field set through avro_value_t, as flow.avsc says.
void fill(avro_value_t& v, const decode::flow_record& r) {
    std::size_t i = 0;
    avro_value_t f, b;
    char tmp[64];
    const bool counters = r.kind == decode::record_kind::interface_counters;
    // avro-c's avro_value_* are macros that evaluate their value argument
    // more than once: next() is called once, on its own line, each time.
    auto next = [&]() -> avro_value_t* {
        avro_value_get_by_index(&v, i, &f, nullptr);
        ++i;
        return &f;
    };
    auto str = [&](std::string_view s) {
        avro_value_t* x = next();
        avro_value_set_string_len(x, s.data(), s.size() + 1);
    };
    auto lng = [&](uint64_t n) {
        avro_value_t* x = next();
        avro_value_set_long(x, int64_t(n));
    };
    auto null = [&]() {
        avro_value_t* x = next();
        avro_value_set_branch(x, 0, &b);
        avro_value_set_null(&b);
    };
    auto olong = [&](uint64_t val, bool present) {
        if (!present) return null();
        avro_value_t* x = next();
        avro_value_set_branch(x, 1, &b);
        avro_value_set_long(&b, int64_t(val));
    };
    auto oint = [&](uint32_t val, bool present) {
        if (!present) return null();
        avro_value_t* x = next();
        avro_value_set_branch(x, 1, &b);
        avro_value_set_int(&b, int32_t(val));
    };
    auto obool = [&](bool val, bool present) {
        if (!present) return null();
        avro_value_t* x = next();
        avro_value_set_branch(x, 1, &b);
        avro_value_set_boolean(&b, val);
    };
    auto ostr = [&](std::size_t n, bool present) {
        if (!present) return null();
        avro_value_t* x = next();
        avro_value_set_branch(x, 1, &b);
        avro_value_set_string_len(&b, tmp, n + 1);
    };
    auto addr = [&](const uint8_t a[16], bool present) {
        present = present && !decode::is_zero_address(a);
        ostr(present ? decode::format_address(a, tmp) : 0, present);
    };
    const bool fl = !counters;
    str(decode::flow_type_name(r.type));
    str(counters ? "interface_counters" : "flow");
    lng(r.time_received_ns);
    lng(r.sequence_num);
    addr(r.sampler_address, true);
    lng(r.observation_domain_id);
    olong(r.sampling_rate, fl);
    olong(r.time_flow_start_ns, fl);
    olong(r.time_flow_end_ns, fl);
    lng(r.bytes);
    lng(r.packets);
    addr(r.src_addr, fl);
    addr(r.dst_addr, fl);
    addr(r.next_hop, fl);
    oint(r.etype, fl);
    oint(r.proto, fl);
    oint(r.src_port, fl);
    oint(r.dst_port, fl);
    lng(r.in_if);
    olong(r.out_if, fl);
    olong(r.src_as, fl);
    olong(r.dst_as, fl);
    for (uint32_t x : {uint32_t(r.src_net), uint32_t(r.dst_net), uint32_t(r.ip_tos), uint32_t(r.tcp_flags),
                       uint32_t(r.icmp_type), uint32_t(r.icmp_code), uint32_t(r.vlan_id), uint32_t(r.inner_vlan_id),
                       uint32_t(r.src_vlan), uint32_t(r.dst_vlan)})
        oint(x, fl);
    ostr(fl ? decode::format_mac(r.src_mac, tmp) : 0, fl);
    ostr(fl ? decode::format_mac(r.dst_mac, tmp) : 0, fl);
    olong(r.mpls_label, fl);
    oint(r.ip_ttl, fl);
    olong(r.ipv6_flow_label, fl);
    oint(r.forwarding_status, fl);
    oint(r.flow_end_reason, fl);
    addr(r.bgp_next_hop, fl);
    olong(r.next_hop_as, fl);
    addr(r.post_nat_src_addr, fl);
    addr(r.post_nat_dst_addr, fl);
    oint(r.post_nat_src_port, fl);
    oint(r.post_nat_dst_port, fl);
    oint(uint8_t(r.in_if_format), fl);
    oint(uint8_t(r.out_if_format), fl);
    oint(uint8_t(r.direction), fl);
    obool((r.flags & decode::record_flags::biflow_reverse) != 0, fl);
    obool((r.flags & decode::record_flags::sampling_overridden) != 0, fl);
    {
        avro_value_t* x = next();
        avro_value_set_int(x, r.export_version);
    }
    for (uint64_t x : {uint64_t(r.if_speed_mbps), r.if_out_bytes, r.if_out_packets, uint64_t(r.if_in_errors),
                       uint64_t(r.if_out_errors), uint64_t(r.if_in_discards), uint64_t(r.if_out_discards)})
        olong(x, counters);
    // The enrichment's fields: the volumes and tags when set, the attributes null (no ids here).
    for (uint64_t x : {r.extrapolated_bytes, r.extrapolated_packets, uint64_t(r.signature_tags)}) olong(x, x != 0);
    std::size_t fields = 0;
    avro_value_get_size(&v, &fields);
    while (i + 2 < fields) null();
    olong(sinks::encode::flow_id(r), true);  // the last two: flow_id, record_index
    oint(r.record_index, true);
}

struct tmpdir {
    std::string path;
    tmpdir() {
        char t[] = "/tmp/sluice-avro-bench-XXXXXX";
        path = mkdtemp(t);
    }
    ~tmpdir() { fs::remove_all(path); }
};

// The reference check, once: hand bytes == avro-c's bytes; a file reads back.
bool checked(benchmark::State& state) {
    static const std::string error = [] {
        const auto& recs = records();
        if (recs.size() < 100) return std::string("fixtures: too few records");
        schema_holder h;
        avro_value_t v;
        avro_generic_value_new(h.iface, &v);
        std::vector<char> want(4096);
        uint8_t got[sinks::avro::k_max_datum];
        for (std::size_t i = 0; i < recs.size(); ++i) {
            fill(v, recs[i]);
            avro_writer_t w = avro_writer_memory(want.data(), int64_t(want.size()));
            avro_value_write(w, &v);
            const std::size_t n = std::size_t(avro_writer_tell(w));
            avro_writer_free(w);
            const std::size_t m = sinks::avro::encode_flow(recs[i], got);
            if (n != m || std::memcmp(want.data(), got, n) != 0)
                return "record " + std::to_string(i) + ": the hand encoding differs from avro_value_write's";
        }
        avro_value_decref(&v);
        tmpdir d;
        const std::string f = d.path + "/c.avro";
        sinks::avro::avro_container c;
        if (!c.open(f, sinks::avro::codec::deflate)) return c.error();
        for (const auto& r : recs) c.append(got, sinks::avro::encode_flow(r, got));
        if (!c.close()) return c.error();
        avro_file_reader_t rd;
        if (avro_file_reader(f.c_str(), &rd) != 0) return std::string(avro_strerror());
        avro_value_t x;
        avro_generic_value_new(h.iface, &x);
        std::size_t n = 0;
        std::string err;
        while (avro_file_reader_read_value(rd, &x) == 0) {
            avro_value_t fb;
            int64_t bytes = 0, t = 0;
            avro_value_get_by_name(&x, "bytes", &fb, nullptr);
            avro_value_get_long(&fb, &bytes);
            avro_value_get_by_name(&x, "time_received_ns", &fb, nullptr);
            avro_value_get_long(&fb, &t);
            if (n >= recs.size() || uint64_t(bytes) != recs[n].bytes || uint64_t(t) != recs[n].time_received_ns)
                err = "read back: record " + std::to_string(n) + " differs";
            ++n;
        }
        avro_value_decref(&x);
        avro_file_reader_close(rd);
        if (err.empty() && n != recs.size()) err = "read back " + std::to_string(n) + " records";
        return err;
    }();
    if (!error.empty()) state.SkipWithError(error.c_str());
    return error.empty();
}

void BM_avro_encode(benchmark::State& state) {
    if (!checked(state)) return;
    const auto& recs = records();
    std::vector<uint8_t> buf(sinks::avro::k_max_datum * 2);
    uint64_t bytes = 0;
    for (auto _ : state) {
        for (const auto& r : recs) {
            bytes += sinks::avro::encode_flow(r, buf.data());
            benchmark::DoNotOptimize(buf.data());
        }
    }
    state.SetItemsProcessed(int64_t(state.iterations() * recs.size()));
    state.SetBytesProcessed(int64_t(bytes));
    state.counters["datum_B"] = double(bytes) / double(state.iterations() * recs.size());
}

const perf::enriched_sets& sets() {
    static const perf::enriched_sets s;
    return s;
}

// One string field of a datum read back by avro-c ("" when null).
std::string read_string(avro_value_t& rec, const char* name) {
    avro_value_t f, b;
    int disc = 0;
    avro_value_get_by_name(&rec, name, &f, nullptr);
    avro_value_get_discriminant(&f, &disc);
    if (disc != 1) return "";
    avro_value_get_current_branch(&f, &b);
    const char* p = nullptr;
    size_t len = 0;
    avro_value_get_string(&b, &p, &len);
    return std::string(p, len - 1);
}

// The enriched encoder: with ids, a container of the datums reads back through avro-c with each record's source
// name and prefix; without, every datum equals the plain one.
void run_enriched(benchmark::State& state, bool with_ids) {
    if (!checked(state)) return;
    const auto& en = sets().en;
    static const std::vector<decode::flow_record> enriched = sets().enrich(records());
    const auto& recs = with_ids ? enriched : records();
    {
        std::vector<uint8_t> a(sinks::avro::k_max_datum), b(sinks::avro::k_max_datum);
        tmpdir d;
        sinks::avro::avro_container c;
        if (!c.open(d.path + "/e.avro", sinks::avro::codec::null)) return state.SkipWithError(c.error().c_str());
        for (const auto& r : recs) {
            const std::size_t n = sinks::avro::encode_flow(r, a.data(), &en);
            if (!with_ids && (n != sinks::avro::encode_flow(r, b.data()) || std::memcmp(a.data(), b.data(), n) != 0))
                return state.SkipWithError("the enriched encoder without ids differs from the plain one");
            c.append(a.data(), n);
        }
        if (!c.close()) return state.SkipWithError(c.error().c_str());
        schema_holder h;
        avro_file_reader_t rd;
        if (avro_file_reader((d.path + "/e.avro").c_str(), &rd) != 0) return state.SkipWithError(avro_strerror());
        avro_value_t x;
        avro_generic_value_new(h.iface, &x);
        std::size_t n = 0;
        bool ok = true;
        while (avro_file_reader_read_value(rd, &x) == 0 && n < recs.size()) {
            const auto* set = sets().in.get(recs[n].src_attr_id);
            const std::string want = set ? *set->get(enrich::key::name) : "";
            const bool prefix = with_ids && !decode::is_zero_address(recs[n].src_addr);
            ok = ok && read_string(x, "src_net_name") == want && prefix == !read_string(x, "src_net_prefix").empty();
            ++n;
        }
        avro_value_decref(&x);
        avro_file_reader_close(rd);
        if (!ok || n != recs.size()) return state.SkipWithError("enriched datums read back wrong");
    }
    std::vector<uint8_t> buf(sinks::avro::k_max_datum * 2);
    uint64_t bytes = 0;
    for (auto _ : state) {
        for (const auto& r : recs) {
            bytes += sinks::avro::encode_flow(r, buf.data(), &en);
            benchmark::DoNotOptimize(buf.data());
        }
    }
    state.SetItemsProcessed(int64_t(state.iterations() * recs.size()));
    state.SetBytesProcessed(int64_t(bytes));
    state.counters["datum_B"] = double(bytes) / double(state.iterations() * recs.size());
}
void BM_avro_encode_enriched(benchmark::State& state) { run_enriched(state, true); }
void BM_avro_encode_enriched_noids(benchmark::State& state) { run_enriched(state, false); }

void BM_avro_generic_value(benchmark::State& state) {
    if (!checked(state)) return;
    const auto& recs = records();
    schema_holder h;
    avro_value_t v;
    avro_generic_value_new(h.iface, &v);
    std::vector<char> out(4096);
    for (auto _ : state) {
        for (const auto& r : recs) {
            fill(v, r);
            avro_writer_t w = avro_writer_memory(out.data(), int64_t(out.size()));
            avro_value_write(w, &v);
            avro_writer_free(w);
        }
    }
    avro_value_decref(&v);
    state.SetItemsProcessed(int64_t(state.iterations() * recs.size()));
}

const sinks::avro::codec k_codecs[] = {sinks::avro::codec::null, sinks::avro::codec::deflate,
                                       sinks::avro::codec::snappy};

void BM_avro_container(benchmark::State& state) {
    if (!checked(state)) return;
    const auto& recs = records();
    const auto codec = k_codecs[state.range(0)];
    state.SetLabel(std::string(sinks::avro::codec_name(codec)));
    std::vector<uint8_t> data;
    std::vector<uint16_t> lens;
    uint8_t tmp[sinks::avro::k_max_datum];
    for (const auto& r : recs) {
        const std::size_t n = sinks::avro::encode_flow(r, tmp);
        data.insert(data.end(), tmp, tmp + n);
        lens.push_back(uint16_t(n));
    }
    tmpdir d;
    sinks::avro::avro_container c;
    uint64_t in_file = 0, total = 0, files = 0;
    auto open = [&] {
        c.open(d.path + "/f" + std::to_string(files++ % 4) + ".avro", codec);
        in_file = 0;
    };
    open();
    for (auto _ : state) {
        const uint8_t* p = data.data();
        for (uint16_t n : lens) {
            c.append(p, n);
            p += n;
        }
        in_file += data.size();
        total += data.size();
        if (in_file >= (64u << 20)) {  // roll as the writer does
            c.close();
            open();
        }
    }
    c.close();
    state.SetItemsProcessed(int64_t(state.iterations() * recs.size()));
    state.SetBytesProcessed(int64_t(total));
}

void BM_hdfs_writer(benchmark::State& state) {
    if (!checked(state)) return;
    const auto& recs = records();
    const auto codec = k_codecs[state.range(0)];
    state.SetLabel(std::string(sinks::avro::codec_name(codec)));
    constexpr std::size_t k_records = 2000000;  // per iteration: ~300 MB of datums, the writer's steady state
    uint64_t written = 0, dropped = 0;
    tmpdir d;
    for (auto _ : state) {
        sinks::hdfs::hdfs_config c;
        c.root = d.path + "/run";
        c.codec = codec;
        c.host = "bench";
        sinks::output_counter_block out{};
        sinks::hdfs::handoff_counter_block hc{};
        {
            sinks::hdfs::hdfs_writer w(c, "bench", 0, 1, &out, &hc);
            for (std::size_t i = 0; i < k_records;) {
                for (const auto& r : recs) {
                    w.commit(sinks::avro::encode_flow(r, w.reserve(r.time_received_ns)));
                    if (++i == k_records) break;
                }
            }
            w.finish();
        }
        written += out.get(sinks::output_counter::written);
        dropped += hc.get(sinks::hdfs::handoff_counter::handoff_full_records);
        state.PauseTiming();
        fs::remove_all(c.root);  // unlinking ~300 MB is not the writer's cost
        state.ResumeTiming();
    }
    state.SetItemsProcessed(int64_t(written));
    state.counters["dropped"] = double(dropped);
    state.counters["written"] = double(written);
}

}  // namespace

BENCHMARK(BM_avro_encode);
BENCHMARK(BM_avro_encode_enriched_noids);
BENCHMARK(BM_avro_encode_enriched);
BENCHMARK(BM_avro_generic_value);
BENCHMARK(BM_avro_container)->Arg(0)->Arg(1)->Arg(2);
BENCHMARK(BM_hdfs_writer)->Arg(0)->Arg(1)->Arg(2)->Iterations(2)->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
