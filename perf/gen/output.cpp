// SPDX-License-Identifier: Apache-2.0
// sluice-gen's outputs: the pcap file and the truth file (JSON).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "perf/gen/gen.hpp"

namespace sluice::gen {

bool write_pcap(const std::string& path, const capture& cap) {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), std::fclose);
    if (!f) return false;
    struct [[gnu::packed]] { uint32_t magic, ver, zone, sig, snap, link; } gh{0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
    if (std::fwrite(&gh, sizeof gh, 1, f.get()) != 1) return false;
    for (const frame& fr : cap.frames) {
        const uint32_t rh[4] = {uint32_t(fr.ts_ns / 1000000000), uint32_t(fr.ts_ns % 1000000000 / 1000),
                                uint32_t(fr.bytes.size()), uint32_t(fr.bytes.size())};
        if (std::fwrite(rh, sizeof rh, 1, f.get()) != 1) return false;
        if (std::fwrite(fr.bytes.data(), 1, fr.bytes.size(), f.get()) != fr.bytes.size()) return false;
    }
    return std::fflush(f.get()) == 0;
}

namespace {
struct json {
    std::string s;
    bool first = true;
    void key(const std::string& k) {
        if (!first) s += ',';
        first = false;
        s += '"'; s += k; s += "\":";
    }
    void num(const std::string& k, uint64_t v) { key(k); s += std::to_string(v); }
    void str(const std::string& k, const std::string& v) { key(k); s += '"'; s += v; s += '"'; }
    void open(const std::string& k) { key(k); s += '{'; first = true; }
    void close() { s += '}'; first = false; }
};
}  // namespace

std::string truth_json(const config& cfg, const capture& cap) {
    json j;
    j.s += '{';
    j.open("generator");
    j.num("seed", cfg.seed);
    j.num("datagrams_per_exporter", cfg.datagrams);
    j.num("interval_us", cfg.interval_us);
    j.num("template_refresh", cfg.template_refresh);
    j.num("sampling", cfg.sampling);
    j.num("mtu", cfg.mtu);
    j.str("collector", cfg.collector);
    j.close();
    uint64_t flows = 0, counters = 0, datagrams = 0, bytes = 0, packets = 0;
    std::array<uint64_t, malformed_count> mal{};
    for (const auto& t : cap.exporters) {
        auto get = [&](const char* n) { auto it = t.counters.find(n); return it == t.counters.end() ? 0 : it->second; };
        flows += get("flow_records");
        counters += get("counter_records");
        datagrams += get("datagrams");
        bytes += t.bytes;
        packets += t.packets;
        for (std::size_t i = 0; i < malformed_count; ++i) mal[i] += t.malformed[i];
    }
    j.open("totals");
    j.num("frames", cap.frames.size());
    j.num("datagrams_decoded", datagrams);
    j.num("flow_records", flows);
    j.num("counter_records", counters);
    j.num("records", flows + counters);
    j.num("fragments", cap.fragments);
    j.num("fragmented_datagrams", cap.fragmented_datagrams);
    j.num("bad_ipv4_checksum", cap.bad_ip_checksum_frames);  // frames; malformed.bad_ip_checksum counts datagrams
    j.num("bytes", bytes);
    j.num("packets", packets);
    j.open("malformed");
    for (std::size_t i = 0; i < malformed_count; ++i) j.num(malformed_name(malformed(i)), mal[i]);
    j.close();
    j.close();
    j.open("exporters");
    for (const auto& t : cap.exporters) {
        j.open(t.address);
        j.str("version", proto_name(t.version));
        j.num("src_port", t.src_port);
        j.num("dst_port", t.dst_port);
        j.num("sampling_rate", t.sampling_rate);
        j.num("frames", t.frames);
        j.num("fragments", t.fragments);
        j.num("fragmented_datagrams", t.fragmented_datagrams);
        j.num("bytes", t.bytes);
        j.num("packets", t.packets);
        j.num("extrapolated_bytes", t.extrapolated_bytes);
        j.num("extrapolated_packets", t.extrapolated_packets);
        j.open("malformed");
        for (std::size_t i = 0; i < malformed_count; ++i) j.num(malformed_name(malformed(i)), t.malformed[i]);
        j.close();
        j.open("counters");
        for (const auto& [k, v] : t.counters) j.num(k, v);
        j.close();
        j.open("interfaces");
        for (const auto& [i, it] : t.interfaces) {
            j.open(std::to_string(i));
            j.str("name", it.name);
            j.num("records", it.records);
            j.num("bytes", it.bytes);
            j.num("packets", it.packets);
            j.num("extrapolated_bytes", it.extrapolated_bytes);
            j.num("extrapolated_packets", it.extrapolated_packets);
            if (t.version == proto::sflow) {
                j.num("true_bytes", it.true_bytes);
                j.num("true_packets", it.true_packets);
                j.num("counter_samples", it.counter_samples);
                j.num("last_counter_bytes", it.last_counter_bytes);
                j.num("last_counter_packets", it.last_counter_packets);
            }
            j.close();
        }
        j.close();
        j.close();
    }
    j.close();
    j.s += "}\n";
    return j.s;
}

}  // namespace sluice::gen
