// SPDX-License-Identifier: Apache-2.0
// Decoder throughput from memory, one core: items/s = records/s.
//
//   BM_netflow_v5_full_datagrams  synthetic full (30-record) v5 datagrams
//   BM_netflow_v9_softflowd_template, BM_ipfix_pmacct_template
//                                 synthetic datagrams with real exporters' templates
//   BM_sflow_raw_header_samples   8 flow samples per datagram, 128-byte raw headers
//   BM_netflow_v9_softflowd_template  softflowd-style v9 template, 28-record datagrams
//   BM_ipfix_pmacct_template  pmacct nfprobe-style IPFIX template, 25-record messages
//   BM_ipfix_frame_section    PSAMP-style IPFIX: dataLinkFrameSection (315) parsed per record
//   BM_fixture/<capture>          every UDP payload of a bundled real-exporter
//                                 capture, templates included, decoded in a loop
//   BM_json_encode                decode::format_json over every record of the
//                                 bundled fixtures (checked byte for byte against
//                                 perf/json_reference.hpp first)
//   BM_json_encode_reference      the same records through the reference: the
//                                 previous encoder's method (bounded writer,
//                                 to_chars, inet_ntop), same fields, same run
//   BM_baseline_record_copy       copying the same number of 320-byte records:
//                                 the memory-bound ceiling, measured in the same
//                                 run so ratios survive a noisy machine
//
// Each benchmark first checks its output against a reference (field values for
// the synthetic data, the offline reader's record count for captures) and
// aborts with an error instead of measuring a wrong decoder.
#include <benchmark/benchmark.h>

#include <cstring>
#include <filesystem>
#include <iterator>
#include <string>
#include <vector>

#include "dataplane/decode/decoder.hpp"
#include "dataplane/decode/record_format.hpp"
#include "dataplane/offline/offline_reader.hpp"
#include "json_reference.hpp"

using namespace sluice;

namespace {

std::vector<uint8_t> make_v5_datagram(uint32_t seq) {
    std::vector<uint8_t> b;
    auto u8 = [&](uint8_t v) { b.push_back(v); };
    auto u16 = [&](uint16_t v) { u8(uint8_t(v >> 8)); u8(uint8_t(v)); };
    auto u32 = [&](uint32_t v) { u16(uint16_t(v >> 16)); u16(uint16_t(v)); };
    u16(5); u16(30); u32(3600000); u32(1700000000); u32(0); u32(seq); u8(0); u8(0); u16(0);
    for (uint32_t i = 0; i < 30; ++i) {
        u32(0x0a000000 + i); u32(0xc0a80000 + i); u32(0x0a0000fe); u16(1); u16(2); u32(10 + i); u32(1500 * (10 + i));
        u32(3500000); u32(3599000); u16(uint16_t(40000 + i)); u16(443); u8(0); u8(0x1b); u8(6); u8(0);
        u16(64512); u16(64513); u8(24); u8(24); u16(0);
    }
    return b;
}

decode::datagram_meta bench_meta() {
    decode::datagram_meta m{};
    const uint8_t a[4] = {192, 0, 2, 1};
    decode::set_ipv4(m.exporter_addr, a);
    m.time_received_ns = 1700000000ull * 1000000000ull;
    return m;
}

void BM_netflow_v5_full_datagrams(benchmark::State& state) {
    constexpr int n_datagrams = 64;
    std::vector<std::vector<uint8_t>> dgrams;
    for (int i = 0; i < n_datagrams; ++i) dgrams.push_back(make_v5_datagram(uint32_t(i * 30)));
    std::vector<decode::flow_record> buf(64);
    decode::exporter_table table;
    const auto meta = bench_meta();
    decode::exporter_state* e = table.find_or_create(meta.exporter_addr, 0);

    // Reference check.
    decode::record_buffer check{buf.data(), 64, 0};
    decode::decode_netflow_v5({dgrams[0].data(), dgrams[0].size()}, meta, *e, check);
    if (check.size != 30 || buf[29].bytes != 1500 * 39 || buf[29].src_port != 40029 || buf[0].dst_as != 64513) {
        state.SkipWithError("v5 decoder output does not match the reference");
        return;
    }
    uint64_t records = 0;
    for (auto _ : state) {
        for (const auto& d : dgrams) {
            decode::record_buffer out{buf.data(), 64, 0};
            decode::decode_netflow_v5({d.data(), d.size()}, meta, *e, out);
            records += out.size;
        }
        benchmark::DoNotOptimize(buf.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(int64_t(records));
    state.SetBytesProcessed(int64_t(state.iterations()) * n_datagrams * int64_t(dgrams[0].size()));
}
BENCHMARK(BM_netflow_v5_full_datagrams);

// --- template-based protocols: realistic exporter templates ---------------
//
// Byte writer shared by the synthetic NetFlow v9 / IPFIX datagrams below.
struct be_writer {
    std::vector<uint8_t> b;
    void u8(uint8_t v) { b.push_back(v); }
    void u16(uint16_t v) { u8(uint8_t(v >> 8)); u8(uint8_t(v)); }
    void u32(uint32_t v) { u16(uint16_t(v >> 16)); u16(uint16_t(v)); }
    void u64(uint64_t v) { u32(uint32_t(v >> 32)); u32(uint32_t(v)); }
    void put16(std::size_t at, uint16_t v) { b[at] = uint8_t(v >> 8); b[at + 1] = uint8_t(v); }
};

constexpr uint32_t bench_export_s = 1700000000;
constexpr uint32_t bench_uptime_ms = 3600000;
constexpr uint32_t bench_datagrams = 64;
constexpr uint32_t template_every = 16;  // exporters re-send templates every few packets

// softflowd's NetFlow v9 IPv4 template (netflow9.c), with the AS and mask
// fields a router-style exporter adds: 18 fields, 50-byte records.
constexpr uint16_t sfd_fields[][2] = {
    {8, 4}, {12, 4}, {21, 4}, {22, 4}, {1, 4}, {2, 4}, {10, 4}, {14, 4}, {7, 2},
    {11, 2}, {6, 1}, {4, 1}, {5, 1}, {60, 1}, {16, 4}, {17, 4}, {9, 1}, {13, 1},
};
constexpr uint32_t sfd_records = 28;  // 28 * 50 + headers: one 1500-byte MTU

std::vector<uint8_t> make_v9_softflowd_datagram(uint32_t seq, bool with_template) {
    be_writer w;
    w.u16(9); w.u16(0); w.u32(bench_uptime_ms); w.u32(bench_export_s); w.u32(seq); w.u32(7);
    uint16_t count = 0;
    if (with_template) {
        const std::size_t at = w.b.size();
        w.u16(0); w.u16(0); w.u16(1024); w.u16(uint16_t(std::size(sfd_fields)));
        for (const auto& f : sfd_fields) { w.u16(f[0]); w.u16(f[1]); }
        w.put16(at + 2, uint16_t(w.b.size() - at));
        ++count;
    }
    const std::size_t at = w.b.size();
    w.u16(1024); w.u16(0);
    for (uint32_t i = 0; i < sfd_records; ++i) {
        w.u32(0x0a000000 + i); w.u32(0xc0a80000 + i);
        w.u32(bench_uptime_ms - 1000); w.u32(bench_uptime_ms - 60000 - i);  // LAST, FIRST
        w.u32(1500 * (10 + i)); w.u32(10 + i); w.u32(3); w.u32(4);
        w.u16(uint16_t(40000 + i)); w.u16(443); w.u8(0x1b); w.u8(6); w.u8(0); w.u8(4);
        w.u32(64512); w.u32(64513 + i); w.u8(24); w.u8(16);
    }
    w.put16(at + 2, uint16_t(w.b.size() - at));
    count = uint16_t(count + sfd_records);
    w.put16(2, count);
    return w.b;
}

bool check_v9_softflowd(const decode::flow_record& r, uint32_t i) {
    const uint64_t export_ns = uint64_t(bench_export_s) * 1000000000ull;
    uint8_t src[16], dst[16];
    decode::set_ipv4_host(src, 0x0a000000 + i);
    decode::set_ipv4_host(dst, 0xc0a80000 + i);
    return std::memcmp(r.src_addr, src, 16) == 0 && std::memcmp(r.dst_addr, dst, 16) == 0 &&
           r.bytes == 1500 * (10 + i) && r.packets == 10 + i &&
           r.time_flow_start_ns == export_ns - (60000ull + i) * 1000000ull &&
           r.time_flow_end_ns == export_ns - 1000ull * 1000000ull && r.in_if == 3 && r.out_if == 4 &&
           r.src_port == 40000 + i && r.dst_port == 443 && r.tcp_flags == 0x1b && r.proto == 6 && r.ip_tos == 0 &&
           r.src_as == 64512 && r.dst_as == 64513 + i && r.src_net == 24 && r.dst_net == 16 && r.etype == 0x0800 &&
           r.type == decode::flow_type::netflow_v9 && r.export_version == 9 && r.observation_domain_id == 7 &&
           r.flags == 0 && r.direction == decode::flow_direction::unknown;
}

// pmacct nfprobe's IPFIX template: 13 fields, 64-bit counters,
// flowStart/EndMilliseconds, 55-byte records.
constexpr uint16_t pm_fields[][2] = {
    {8, 4}, {12, 4}, {7, 2}, {11, 2}, {4, 1}, {6, 1}, {5, 1}, {1, 8}, {2, 8}, {152, 8}, {153, 8}, {10, 4}, {14, 4},
};
constexpr uint32_t pm_records = 25;  // 25 * 55 + headers: one 1500-byte MTU
constexpr uint64_t pm_start_ms = uint64_t(bench_export_s) * 1000 - 60000;

std::vector<uint8_t> make_ipfix_pmacct_datagram(uint32_t seq, bool with_template) {
    be_writer w;
    w.u16(10); w.u16(0); w.u32(bench_export_s); w.u32(seq); w.u32(5);
    if (with_template) {
        const std::size_t at = w.b.size();
        w.u16(2); w.u16(0); w.u16(1025); w.u16(uint16_t(std::size(pm_fields)));
        for (const auto& f : pm_fields) { w.u16(f[0]); w.u16(f[1]); }
        w.put16(at + 2, uint16_t(w.b.size() - at));
    }
    const std::size_t at = w.b.size();
    w.u16(1025); w.u16(0);
    for (uint32_t i = 0; i < pm_records; ++i) {
        w.u32(0x0a000000 + i); w.u32(0xc0a80000 + i); w.u16(uint16_t(40000 + i)); w.u16(443);
        w.u8(17); w.u8(0); w.u8(0x20);
        w.u64(1500ull * (10 + i)); w.u64(10 + i); w.u64(pm_start_ms + i); w.u64(pm_start_ms + 59000);
        w.u32(3); w.u32(4);
    }
    w.put16(at + 2, uint16_t(w.b.size() - at));
    w.put16(2, uint16_t(w.b.size()));
    return w.b;
}

bool check_ipfix_pmacct(const decode::flow_record& r, uint32_t i) {
    uint8_t src[16], dst[16];
    decode::set_ipv4_host(src, 0x0a000000 + i);
    decode::set_ipv4_host(dst, 0xc0a80000 + i);
    return std::memcmp(r.src_addr, src, 16) == 0 && std::memcmp(r.dst_addr, dst, 16) == 0 &&
           r.bytes == 1500ull * (10 + i) && r.packets == 10 + i &&
           r.time_flow_start_ns == (pm_start_ms + i) * 1000000ull &&
           r.time_flow_end_ns == (pm_start_ms + 59000) * 1000000ull && r.in_if == 3 && r.out_if == 4 &&
           r.src_port == 40000 + i && r.dst_port == 443 && r.proto == 17 && r.tcp_flags == 0 && r.ip_tos == 0x20 &&
           r.src_as == 0 && r.dst_as == 0 && r.etype == 0x0800 && r.type == decode::flow_type::ipfix &&
           r.export_version == 10 && r.observation_domain_id == 5 && r.flags == 0;
}

using decode_fn = decode::decode_status (*)(std::span<const uint8_t>, const decode::datagram_meta&,
                                            decode::exporter_state&, decode::record_buffer&);

// Decodes `dgrams` (templates in some of them) in a loop after checking every
// record of the first datagram with `check`.
void run_template_bench(benchmark::State& state, const std::vector<std::vector<uint8_t>>& dgrams, decode_fn fn,
                        uint32_t per_datagram, bool (*check)(const decode::flow_record&, uint32_t)) {
    std::vector<decode::flow_record> buf(64);
    decode::exporter_table table;
    const auto meta = bench_meta();
    decode::exporter_state* e = table.find_or_create(meta.exporter_addr, 0);
    decode::record_buffer first{buf.data(), 64, 0};
    const auto st = fn({dgrams[0].data(), dgrams[0].size()}, meta, *e, first);
    bool ok = st == decode::decode_status::ok && first.size == per_datagram;
    for (uint32_t i = 0; ok && i < first.size; ++i) ok = check(buf[i], i);
    if (!ok) {
        state.SkipWithError("decoder output does not match the reference");
        return;
    }
    uint64_t records = 0, bytes = 0;
    for (auto _ : state) {
        for (const auto& d : dgrams) {
            decode::record_buffer out{buf.data(), 64, 0};
            fn({d.data(), d.size()}, meta, *e, out);
            records += out.size;
            bytes += d.size();
        }
        benchmark::DoNotOptimize(buf.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(int64_t(records));
    state.SetBytesProcessed(int64_t(bytes));
}

void BM_netflow_v9_softflowd_template(benchmark::State& state) {
    std::vector<std::vector<uint8_t>> dgrams;
    for (uint32_t i = 0; i < bench_datagrams; ++i) dgrams.push_back(make_v9_softflowd_datagram(i, i % template_every == 0));
    run_template_bench(state, dgrams, decode::decode_netflow_v9, sfd_records, check_v9_softflowd);
}
BENCHMARK(BM_netflow_v9_softflowd_template);

void BM_ipfix_pmacct_template(benchmark::State& state) {
    std::vector<std::vector<uint8_t>> dgrams;
    for (uint32_t i = 0; i < bench_datagrams; ++i)
        dgrams.push_back(make_ipfix_pmacct_datagram(i * pm_records, i % template_every == 0));
    run_template_bench(state, dgrams, decode::decode_ipfix, pm_records, check_ipfix_pmacct);
}
BENCHMARK(BM_ipfix_pmacct_template);

// PSAMP-style IPFIX (Juniper inline monitoring and the like): only the
// interfaces, dataLinkFrameSize and a variable-length dataLinkFrameSection
// (315) holding the first 128 bytes of an Ethernet/802.1Q/IPv4/TCP frame;
// 10 records per message. Every record's frame is parsed.
constexpr uint32_t fs_records = 10;
constexpr uint32_t fs_section = 128;

std::vector<uint8_t> make_ipfix_frame_datagram(uint32_t seq, bool with_template) {
    be_writer w;
    w.u16(10); w.u16(0); w.u32(bench_export_s); w.u32(seq); w.u32(6);
    if (with_template) {
        const std::size_t at = w.b.size();
        w.u16(2); w.u16(0); w.u16(1026); w.u16(4);
        w.u16(10); w.u16(4); w.u16(14); w.u16(4); w.u16(312); w.u16(2); w.u16(315); w.u16(65535);
        w.put16(at + 2, uint16_t(w.b.size() - at));
    }
    const std::size_t at = w.b.size();
    w.u16(1026); w.u16(0);
    for (uint32_t i = 0; i < fs_records; ++i) {
        w.u32(3); w.u32(4); w.u16(1514); w.u8(fs_section);
        const std::size_t f = w.b.size();
        // Ethernet, 802.1Q VLAN 100, IPv4 (TTL 64, ToS 0x20), TCP ACK, payload
        for (int k = 0; k < 6; ++k) w.u8(0x02);
        for (int k = 0; k < 6; ++k) w.u8(uint8_t(0x10 + k));
        w.u16(0x8100); w.u16(100); w.u16(0x0800);
        w.u8(0x45); w.u8(0x20); w.u16(1500); w.u32(0); w.u8(64); w.u8(6); w.u16(0);
        w.u32(0x0a000000 + i); w.u32(0xc0a80000 + i);
        w.u16(uint16_t(40000 + i)); w.u16(443); w.u32(1); w.u32(0); w.u8(0x50); w.u8(0x10); w.u16(0); w.u32(0);
        while (w.b.size() - f < fs_section) w.u8(0xab);
    }
    w.put16(at + 2, uint16_t(w.b.size() - at));
    w.put16(2, uint16_t(w.b.size()));
    return w.b;
}

bool check_ipfix_frame(const decode::flow_record& r, uint32_t i) {
    uint8_t src[16], dst[16];
    decode::set_ipv4_host(src, 0x0a000000 + i);
    decode::set_ipv4_host(dst, 0xc0a80000 + i);
    return std::memcmp(r.src_addr, src, 16) == 0 && std::memcmp(r.dst_addr, dst, 16) == 0 && r.bytes == 1514 &&
           r.packets == 1 && r.in_if == 3 && r.out_if == 4 && r.src_port == 40000 + i && r.dst_port == 443 &&
           r.proto == 6 && r.tcp_flags == 0x10 && r.ip_tos == 0x20 && r.ip_ttl == 64 && r.vlan_id == 100 &&
           r.src_mac[5] == 0x15 && r.dst_mac[0] == 0x02 && r.etype == 0x0800 && r.type == decode::flow_type::ipfix;
}

void BM_ipfix_frame_section(benchmark::State& state) {
    std::vector<std::vector<uint8_t>> dgrams;
    for (uint32_t i = 0; i < bench_datagrams; ++i)
        dgrams.push_back(make_ipfix_frame_datagram(i * fs_records, i % template_every == 0));
    run_template_bench(state, dgrams, decode::decode_ipfix, fs_records, check_ipfix_frame);
}
BENCHMARK(BM_ipfix_frame_section);

// An sFlow v5 datagram: `samples` flow samples, each with one raw packet
// header record of 128 bytes (Ethernet + IPv4 + TCP + payload), as a switch
// sampling 1 in 1024 would send.
std::vector<uint8_t> make_sflow_datagram(uint32_t seq, uint32_t samples) {
    std::vector<uint8_t> b;
    auto u8 = [&](uint8_t v) { b.push_back(v); };
    auto u16 = [&](uint16_t v) { u8(uint8_t(v >> 8)); u8(uint8_t(v)); };
    auto u32 = [&](uint32_t v) { u16(uint16_t(v >> 16)); u16(uint16_t(v)); };
    constexpr uint32_t header_len = 128;
    u32(5); u32(1); u32(0xc0000201); u32(0); u32(seq); u32(3600000); u32(samples);
    for (uint32_t i = 0; i < samples; ++i) {
        const std::size_t sample_at = b.size();
        u32(1); u32(0);  // flow sample, length patched below
        u32(seq * samples + i); u32(7); u32(1024); u32(1024 * (seq * samples + i)); u32(0); u32(3); u32(4); u32(1);
        u32(1); u32(16 + header_len);  // raw packet header record
        u32(1); u32(1500); u32(4); u32(header_len);
        const std::size_t frame = b.size();
        for (int k = 0; k < 6; ++k) u8(0x02);
        for (int k = 0; k < 6; ++k) u8(0x04);
        u16(0x0800);
        u8(0x45); u8(0); u16(1486); u16(1); u16(0x4000); u8(64); u8(6); u16(0);
        u32(0x0a000000 + i); u32(0xc0a80001);
        u16(uint16_t(40000 + i)); u16(443); u32(1); u32(0); u8(0x50); u8(0x18); u16(65535); u16(0); u16(0);
        while (b.size() - frame < header_len) u8(0xaa);
        const uint32_t len = uint32_t(b.size() - sample_at - 8);
        for (int k = 0; k < 4; ++k) b[sample_at + 4 + k] = uint8_t(len >> (24 - 8 * k));
    }
    return b;
}

void BM_sflow_raw_header_samples(benchmark::State& state) {
    constexpr int n_datagrams = 64;
    constexpr uint32_t samples = 8;
    std::vector<std::vector<uint8_t>> dgrams;
    for (int i = 0; i < n_datagrams; ++i) dgrams.push_back(make_sflow_datagram(uint32_t(i), samples));
    std::vector<decode::flow_record> buf(64);
    decode::exporter_table table;
    const auto meta = bench_meta();
    decode::exporter_state* e = table.find_or_create(meta.exporter_addr, 0);

    decode::record_buffer check{buf.data(), 64, 0};
    decode::decode_sflow({dgrams[0].data(), dgrams[0].size()}, meta, *e, check);
    const decode::flow_record& r = buf[7];
    if (check.size != samples || r.bytes != 1500 || r.packets != 1 || r.sampling_rate != 1024 || r.src_port != 40007 ||
        r.dst_port != 443 || r.proto != 6 || r.src_addr[15] != 7 || r.in_if != 3 || r.out_if != 4 ||
        e->counters.errors() != 0) {
        state.SkipWithError("sFlow decoder output does not match the reference");
        return;
    }
    uint64_t records = 0;
    for (auto _ : state) {
        for (const auto& d : dgrams) {
            decode::record_buffer out{buf.data(), 64, 0};
            decode::decode_sflow({d.data(), d.size()}, meta, *e, out);
            records += out.size;
        }
        benchmark::DoNotOptimize(buf.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(int64_t(records));
    state.SetBytesProcessed(int64_t(state.iterations()) * n_datagrams * int64_t(dgrams[0].size()));
}
BENCHMARK(BM_sflow_raw_header_samples);

struct capture {
    std::vector<std::vector<uint8_t>> payloads;
    std::vector<decode::datagram_meta> metas;
    uint64_t reference_records = 0;
};

capture load_capture(const std::string& path) {
    capture c;
    offline::offline_reader reader({});
    std::string err;
    reader.read_file(path, [&](std::span<const decode::flow_record> r) { c.reference_records += r.size(); }, &err,
                     [&](std::span<const uint8_t> p) { c.payloads.emplace_back(p.begin(), p.end()); });
    // The meta (exporter address) is not exposed per payload by the reader; one
    // exporter per capture holds for the bundled fixtures.
    c.metas.assign(c.payloads.size(), bench_meta());
    return c;
}

void BM_fixture(benchmark::State& state, std::string path) {
    const capture c = load_capture(path);
    if (c.payloads.empty()) {
        state.SkipWithError("capture holds no UDP payloads");
        return;
    }
    std::vector<decode::flow_record> buf(decode::max_records_per_datagram);
    // Reference: the same payloads through decode_datagram yield the reader's count.
    {
        decode::exporter_table t;
        uint64_t n = 0;
        for (std::size_t i = 0; i < c.payloads.size(); ++i) {
            decode::record_buffer out{buf.data(), uint32_t(buf.size()), 0};
            decode::decode_datagram({c.payloads[i].data(), c.payloads[i].size()}, c.metas[i],
                                    decode::protocol::auto_detect, t, out);
            n += out.size;
        }
        if (n != c.reference_records || n == 0) {
            state.SkipWithError("decoder output does not match the offline reader's record count");
            return;
        }
    }
    decode::exporter_table table;
    uint64_t records = 0, bytes = 0;
    for (auto _ : state) {
        for (std::size_t i = 0; i < c.payloads.size(); ++i) {
            decode::record_buffer out{buf.data(), uint32_t(buf.size()), 0};
            decode::decode_datagram({c.payloads[i].data(), c.payloads[i].size()}, c.metas[i],
                                    decode::protocol::auto_detect, table, out);
            records += out.size;
            bytes += c.payloads[i].size();
        }
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(int64_t(records));
    state.SetBytesProcessed(int64_t(bytes));
}

void BM_baseline_record_copy(benchmark::State& state) {
    std::vector<decode::flow_record> src(30 * 64), dst(64);
    uint64_t records = 0;
    for (auto _ : state) {
        for (std::size_t i = 0; i < src.size(); ++i) {
            dst[i & 63] = src[i];
            benchmark::DoNotOptimize(dst.data());
        }
        records += src.size();
    }
    state.SetItemsProcessed(int64_t(records));
}
BENCHMARK(BM_baseline_record_copy);

// Every record of the bundled real-exporter fixtures, plus synthetic records
// with every new field set (MACs, VLANs, IPv6 BGP next hop, post-NAT), so
// every branch of the encoder is exercised and checked.
const std::vector<decode::flow_record>& json_records() {
    static const std::vector<decode::flow_record> recs = [] {
        namespace fs = std::filesystem;
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
            reader.read_file(f.string(), [&](std::span<const decode::flow_record> r) { v.insert(v.end(), r.begin(), r.end()); },
                             &err, nullptr);
        }
        decode::flow_record x{};
        x.type = decode::flow_type::ipfix;
        const uint8_t mac[6] = {0x02, 0x42, 0xac, 0x11, 0x00, 0x02};
        std::memcpy(x.src_mac, mac, 6);
        std::memcpy(x.dst_mac, mac, 6);
        const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0, 0, 0, 0, 0, 0xab, 0, 0, 0, 1};
        decode::set_ipv6(x.bgp_next_hop, v6);
        decode::set_ipv6(x.src_addr, v6);
        decode::set_ipv4_host(x.post_nat_src_addr, 0xcb007105);
        x.vlan_id = 100;
        x.inner_vlan_id = 4094;
        x.bytes = 123456789012ull;
        for (int i = 0; i < 16; ++i) {
            x.src_port = uint16_t(i * 4099);
            v.push_back(x);
        }
        return v;
    }();
    return recs;
}

template <std::size_t (*Encode)(const decode::flow_record&, char*, std::size_t)>
void run_json_bench(benchmark::State& state) {
    const auto& recs = json_records();
    std::vector<char> a(decode::max_json_size), b(decode::max_json_size);
    bool ok = !recs.empty();
    for (const auto& r : recs) {
        const std::size_t n = decode::format_json(r, a.data(), a.size());
        const std::size_t m = perf::reference_json(r, b.data(), b.size());
        if (n == 0 || n != m || std::memcmp(a.data(), b.data(), n) != 0) ok = false;
    }
    if (!ok) {
        state.SkipWithError("format_json does not match the reference encoder");
        return;
    }
    std::vector<char> out(decode::max_json_size * 64);
    uint64_t records = 0;
    for (auto _ : state) {
        std::size_t off = 0;
        for (std::size_t i = 0; i < recs.size(); ++i) {
            if (off + decode::max_json_size > out.size()) off = 0;
            off += Encode(recs[i], out.data() + off, decode::max_json_size);
        }
        benchmark::DoNotOptimize(out.data());
        records += recs.size();
    }
    uint64_t text = 0;
    for (const auto& r : recs) text += decode::format_json(r, a.data(), a.size());
    const uint64_t bytes = text * (records / recs.size());
    state.SetItemsProcessed(int64_t(records));
    state.SetBytesProcessed(int64_t(bytes));
}
void BM_json_encode(benchmark::State& state) { run_json_bench<decode::format_json>(state); }
void BM_json_encode_reference(benchmark::State& state) { run_json_bench<perf::reference_json>(state); }
BENCHMARK(BM_json_encode);
BENCHMARK(BM_json_encode_reference);

const int registered = [] {
    namespace fs = std::filesystem;
    std::vector<fs::path> files;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(SLUICE_FIXTURES_DIR, ec)) {
        const auto name = e.path().filename().string();
        if (e.path().extension() == ".pcap" && name.rfind("traffic", 0) != 0 && name.rfind("bad", 0) != 0)
            files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files)
        benchmark::RegisterBenchmark(("BM_fixture/" + f.stem().string()).c_str(), BM_fixture, f.string());
    return 0;
}();

}  // namespace

BENCHMARK_MAIN();
