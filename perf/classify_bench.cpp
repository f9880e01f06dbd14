// SPDX-License-Identifier: Apache-2.0
// Hyperscan payload rules on sampled headers, one core: the scan rate (bytes/s) and the cost per record.
//
//   BM_scan_fixture_headers   the 46 raw packet headers of the pmacct sFlow fixture
//                             (tests/fixtures), scanned by the example payload rules
//                             (enrich/classify/testdata/rules.conf); items = headers
//   BM_scan_128B_headers      synthetic 128-byte Ethernet/IPv4/UDP headers (the usual
//                             sFlow header size), none matching; items = headers
//   BM_decode_sflow           decoding the fixture's datagrams without header spans
//   BM_decode_sflow_and_scan  the same with spans and the payload scan of every header:
//                             the difference is what --rules costs per record on the worker
//
// Checks first: the fixture's headers must carry the tags the decoded fields
// predict (DNS responses over IPv4: bit 1), else the benchmark errors out.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "dataplane/decode/decoder.hpp"
#include "dataplane/offline/offline_reader.hpp"
#include "enrich/classify/classify.hpp"

#include <hs/hs.h>

using namespace sluice;

namespace {

struct fixture {
    std::vector<std::vector<uint8_t>> payloads;
    std::vector<std::vector<uint8_t>> headers;
    std::unique_ptr<enrich::classify::database> db;
    hs_scratch* scratch = nullptr;
    std::string error;
    unsigned expected_tagged = 0;
};

decode::datagram_meta meta() {
    decode::datagram_meta m{};
    const uint8_t a[4] = {127, 0, 0, 1};
    decode::set_ipv4(m.exporter_addr, a);
    m.ip_version = 4;
    return m;
}

const fixture& get() {
    static fixture f = [] {
        fixture x;
        enrich::classify::rule_set rs;
        if (!enrich::classify::load_rules(SLUICE_SOURCE_DIR "/enrich/classify/testdata/rules.conf", rs, &x.error))
            return x;
        x.db = enrich::classify::database::build(std::move(rs), &x.error);
        if (x.db == nullptr) return x;
        x.scratch = x.db->alloc_scratch();
        offline::offline_reader r(offline::reader_options{});
        if (!r.read_file(SLUICE_SOURCE_DIR "/tests/fixtures/pmacct-sfprobe-sflow.pcap",
                         [](std::span<const decode::flow_record>) {}, &x.error,
                         [&](std::span<const uint8_t> p) { x.payloads.emplace_back(p.begin(), p.end()); }))
            return x;
        decode::exporter_table t(decode::decoder_limits{});
        std::vector<decode::flow_record> rec(256);
        std::vector<decode::header_span> hdr(256);
        for (const auto& p : x.payloads) {
            decode::record_buffer b{rec.data(), 256, 0};
            b.headers = hdr.data();
            decode::decode_datagram(p, meta(), decode::protocol::sflow_5, t, b);
            for (uint32_t i = 0; i < b.size; ++i) {
                if (hdr[i].size == 0) continue;
                x.headers.emplace_back(hdr[i].data, hdr[i].data + hdr[i].size);
                const decode::flow_record& f = rec[i];
                const bool dns = f.proto == 17 && f.src_port == 53 && f.vlan_id == 0;
                const uint32_t want = !dns ? 0 : f.etype == 0x0800 ? 2u : 4u;
                if (x.db->scan(hdr[i].data, hdr[i].size, x.scratch) != want) {
                    x.error = "scan result differs from the decoded fields";
                    return x;
                }
                x.expected_tagged += want != 0;
            }
        }
        if (x.headers.size() != 46) x.error = "expected 46 headers, got " + std::to_string(x.headers.size());
        return x;
    }();
    return f;
}

void BM_scan_fixture_headers(benchmark::State& st) {
    const fixture& f = get();
    if (!f.error.empty()) return st.SkipWithError(f.error.c_str());
    uint64_t bytes = 0;
    for (const auto& h : f.headers) bytes += h.size();
    for (auto _ : st) {
        uint32_t acc = 0;
        for (const auto& h : f.headers) acc += f.db->scan(h.data(), uint32_t(h.size()), f.scratch);
        benchmark::DoNotOptimize(acc);
    }
    st.SetItemsProcessed(int64_t(st.iterations() * f.headers.size()));
    st.SetBytesProcessed(int64_t(st.iterations() * bytes));
}
BENCHMARK(BM_scan_fixture_headers);

void BM_scan_128B_headers(benchmark::State& st) {
    const fixture& f = get();
    if (!f.error.empty()) return st.SkipWithError(f.error.c_str());
    std::vector<std::vector<uint8_t>> hs;
    for (unsigned i = 0; i < 64; ++i) {
        std::vector<uint8_t> h(128, uint8_t(i));
        const uint8_t l2[14] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00};
        std::memcpy(h.data(), l2, 14);
        h[14] = 0x45;
        h[23] = 17;
        h[34] = 0x9c;  // source port 40000 + i
        h[35] = uint8_t(0x40 + i);
        hs.push_back(std::move(h));
    }
    for (const auto& h : hs)
        if (f.db->scan(h.data(), 128, f.scratch) != 0) return st.SkipWithError("a synthetic header matched");
    for (auto _ : st) {
        uint32_t acc = 0;
        for (const auto& h : hs) acc += f.db->scan(h.data(), 128, f.scratch);
        benchmark::DoNotOptimize(acc);
    }
    st.SetItemsProcessed(int64_t(st.iterations() * hs.size()));
    st.SetBytesProcessed(int64_t(st.iterations() * hs.size() * 128));
}
BENCHMARK(BM_scan_128B_headers);

void decode_loop(benchmark::State& st, bool scan) {
    const fixture& f = get();
    if (!f.error.empty()) return st.SkipWithError(f.error.c_str());
    decode::exporter_table t(decode::decoder_limits{});
    std::vector<decode::flow_record> rec(256);
    std::vector<decode::header_span> hdr(256);
    const decode::datagram_meta m = meta();
    uint64_t records = 0;
    for (auto _ : st) {
        for (const auto& p : f.payloads) {
            decode::record_buffer b{rec.data(), 256, 0};
            if (scan) b.headers = hdr.data();
            decode::decode_datagram(p, m, decode::protocol::sflow_5, t, b);
            if (scan)
                for (uint32_t i = 0; i < b.size; ++i)
                    if (hdr[i].size) rec[i].signature_tags = f.db->scan(hdr[i].data, hdr[i].size, f.scratch);
            records += b.size;
            benchmark::DoNotOptimize(rec.data());
        }
    }
    st.SetItemsProcessed(int64_t(records));
}
void BM_decode_sflow(benchmark::State& st) { decode_loop(st, false); }
void BM_decode_sflow_and_scan(benchmark::State& st) { decode_loop(st, true); }
BENCHMARK(BM_decode_sflow);
BENCHMARK(BM_decode_sflow_and_scan);

}  // namespace

BENCHMARK_MAIN();
