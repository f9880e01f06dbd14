// SPDX-License-Identifier: Apache-2.0
// sluice-gen: synthesise NetFlow v5, v9, IPFIX and sFlow v5 exports from a flow
// model; write a pcap and a truth file, and/or transmit through a DPDK port.
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

#include "perf/gen/gen.hpp"
#ifdef SLUICE_GEN_DPDK
#include "perf/gen/tx.hpp"
#endif

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

void usage(FILE* f) {
    std::fputs(
        "usage: sluice-gen [options]\n"
        "Synthesise NetFlow v5/v9, IPFIX and sFlow v5 exports from a flow model (deterministic for a seed).\n\n"
        "Model:\n"
        "  --seed N                 random seed (default 1)\n"
        "  --v5 N --v9 N --ipfix N --sflow N   exporters per protocol (default 2 each)\n"
        "  --datagrams N            export datagrams per exporter (default 200)\n"
        "  --interval-us N          capture time between one exporter's datagrams (default 2000)\n"
        "  --template-refresh N     v9/IPFIX templates and options every N datagrams (default 20)\n"
        "  --sampling N             1-in-N on sampled exporters: every sFlow agent, odd-numbered NetFlow ones (default 100)\n"
        "  --ipv6-share F           share of IPv6 flows on v9/IPFIX/sFlow (default 0.3)\n"
        "  --fragment-share F       share of v9/IPFIX data datagrams sent as IPv4 fragments (default 0.05)\n"
        "  --malformed-share F      share of datagrams that are malformed (default 0.05)\n"
        "  --bad-checksum-share F   share of frames with a wrong IPv4 header checksum (default 0.01)\n"
        "  --clean                  no fragments, malformed datagrams or bad checksums (line-rate runs)\n"
        "  --mtu N                  IP MTU (default 1500)\n"
        "  --interfaces N           interfaces per NetFlow exporter (default 8)\n"
        "  --sflow-interfaces N     interfaces per sFlow agent (default 4)\n"
        "  --sflow-counter-every N  sFlow counter samples every N datagrams (default 10)\n"
        "  --start S                capture start, unix seconds (default 1767225600)\n"
        "Collector:\n"
        "  --collector IP           destination address (default 10.255.0.1)\n"
        "  --collector-mac MAC      destination MAC (default 02:00:00:00:00:01; on a NIC: sluiced's port's MAC)\n"
        "  --port PROTO=PORT        destination UDP port of v5|v9|ipfix|sflow (defaults 2055, 9995, 4739, 6343)\n"
        "Output:\n"
        "  --pcap FILE              write the frames (classic pcap, Ethernet)\n"
        "  --truth FILE             write what a collector must count (JSON)\n"
        "Transmit (DPDK):\n"
        "  --tx                     send the frames through a DPDK port\n"
        "  --eal \"ARGS\"             EAL arguments, e.g. \"--no-huge -m 256 --no-pci --file-prefix g --vdev net_memif0,role=client,socket=/tmp/m.sock\"\n"
        "  --tx-port N              port id (default 0)\n"
        "  --rate-pps R | --rate-gbps G   target rate, TSC-paced (default: as fast as the port takes)\n"
        "  --duration S             stop after S seconds\n"
        "  --loops N                passes over the capture (default 1; 0 = until --duration or a signal)\n"
        "  --tx-drop                drop (and count) frames the port does not take at once, as a wire would;\n"
        "                           default: retry (memif and net_ring push back on the sender)\n"
        "  --wait-link S            wait up to S seconds for the link / memif peer (default 10)\n"
        "  --linger S               keep the port up S seconds after the last frame, for the peer to drain (default 1)\n"
        "  --tx-json FILE           write what was sent (frames, bytes, records, seconds) as JSON\n"
        "  -h, --help               this text\n\n"
        "Exit status: 0 on success, 1 on an I/O or DPDK error, 2 on bad usage.\n",
        f);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace sluice::gen;
    config cfg;
    std::string pcap, truth, tx_json;
    bool tx = false;
#ifdef SLUICE_GEN_DPDK
    tx_config tc;
#endif
    try {
        for (int i = 1; i < argc; ++i) {
            const std::string a = argv[i];
            auto val = [&]() -> std::string {
                if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
                return argv[++i];
            };
            auto u64 = [&]() { const std::string v = val(); std::size_t n = 0; const unsigned long long x = std::stoull(v, &n); if (n != v.size()) throw std::invalid_argument(a + ": not a number: " + v); return uint64_t(x); };
            auto u32 = [&]() { const uint64_t x = u64(); if (x > UINT32_MAX) throw std::invalid_argument(a + ": too large"); return uint32_t(x); };
            auto share = [&]() { const double x = std::stod(val()); if (x < 0 || x > 1) throw std::invalid_argument(a + " must be 0..1"); return x; };
            if (a == "-h" || a == "--help") { usage(stdout); return 0; }
            else if (a == "--seed") cfg.seed = u64();
            else if (a == "--v5") cfg.v5_exporters = u32();
            else if (a == "--v9") cfg.v9_exporters = u32();
            else if (a == "--ipfix") cfg.ipfix_exporters = u32();
            else if (a == "--sflow") cfg.sflow_exporters = u32();
            else if (a == "--datagrams") cfg.datagrams = u32();
            else if (a == "--interval-us") cfg.interval_us = u64();
            else if (a == "--template-refresh") cfg.template_refresh = u32();
            else if (a == "--sampling") cfg.sampling = u32();
            else if (a == "--ipv6-share") cfg.ipv6_share = share();
            else if (a == "--fragment-share") cfg.fragment_share = share();
            else if (a == "--malformed-share") cfg.malformed_share = share();
            else if (a == "--bad-checksum-share") cfg.bad_checksum_share = share();
            else if (a == "--clean") cfg.fragment_share = cfg.malformed_share = cfg.bad_checksum_share = 0;
            else if (a == "--mtu") cfg.mtu = u32();
            else if (a == "--interfaces") cfg.interfaces = u32();
            else if (a == "--sflow-interfaces") cfg.sflow_interfaces = u32();
            else if (a == "--sflow-counter-every") { cfg.sflow_counter_every = u32(); if (cfg.sflow_counter_every == 0) throw std::invalid_argument("--sflow-counter-every must be at least 1"); }
            else if (a == "--start") cfg.start_unix_s = u64();
            else if (a == "--collector") cfg.collector = val();
            else if (a == "--collector-mac") {
                const std::string v = val();
                unsigned m[6];
                char extra;
                if (std::sscanf(v.c_str(), "%x:%x:%x:%x:%x:%x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5], &extra) != 6)
                    throw std::invalid_argument("--collector-mac: not a MAC address: " + v);
                for (int k = 0; k < 6; ++k) {
                    if (m[k] > 255) throw std::invalid_argument("--collector-mac: not a MAC address: " + v);
                    cfg.collector_mac[std::size_t(k)] = uint8_t(m[k]);
                }
            }
            else if (a == "--port") {
                const std::string v = val();
                const auto eq = v.find('=');
                if (eq == std::string::npos) throw std::invalid_argument("--port PROTO=PORT");
                const unsigned long p = std::stoul(v.substr(eq + 1));
                if (p == 0 || p > 65535) throw std::invalid_argument("--port: bad port " + v);
                const std::string k = v.substr(0, eq);
                if (k == "v5") cfg.port_v5 = uint16_t(p);
                else if (k == "v9") cfg.port_v9 = uint16_t(p);
                else if (k == "ipfix") cfg.port_ipfix = uint16_t(p);
                else if (k == "sflow") cfg.port_sflow = uint16_t(p);
                else throw std::invalid_argument("--port: unknown protocol " + k);
            }
            else if (a == "--pcap") pcap = val();
            else if (a == "--truth") truth = val();
            else if (a == "--tx-json") tx_json = val();
#ifdef SLUICE_GEN_DPDK
            else if (a == "--tx") tx = true;
            else if (a == "--eal") tc.eal = val();
            else if (a == "--tx-port") tc.port = uint16_t(u32());
            else if (a == "--rate-pps") tc.rate_pps = std::stod(val());
            else if (a == "--rate-gbps") tc.rate_gbps = std::stod(val());
            else if (a == "--duration") tc.duration_s = std::stod(val());
            else if (a == "--loops") tc.loops = u64();
            else if (a == "--tx-drop") tc.drop_on_full = true;
            else if (a == "--wait-link") tc.wait_link_s = std::stod(val());
            else if (a == "--linger") tc.linger_s = std::stod(val());
#else
            else if (a == "--tx" || a == "--eal" || a == "--tx-port" || a == "--rate-pps" || a == "--rate-gbps" ||
                     a == "--duration" || a == "--loops" || a == "--tx-drop" || a == "--wait-link" || a == "--linger")
                throw std::invalid_argument(a + ": this sluice-gen was built without DPDK");
#endif
            else throw std::invalid_argument("unknown option " + a);
        }
        if (pcap.empty() && truth.empty() && !tx) throw std::invalid_argument("nothing to do: give --pcap, --truth or --tx");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "sluice-gen: %s\n", e.what());
        usage(stderr);
        return 2;
    }
    capture cap;
    try {
        cap = generate(cfg);
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "sluice-gen: %s\n", e.what());
        return 2;
    }
    if (!pcap.empty() && !write_pcap(pcap, cap)) {
        std::fprintf(stderr, "sluice-gen: %s: %s\n", pcap.c_str(), std::strerror(errno));
        return 1;
    }
    if (!truth.empty()) {
        std::ofstream f(truth);
        f << truth_json(cfg, cap);
        if (!f) { std::fprintf(stderr, "sluice-gen: %s: write failed\n", truth.c_str()); return 1; }
    }
#ifdef SLUICE_GEN_DPDK
    if (tx) {
        std::signal(SIGINT, on_signal);
        std::signal(SIGTERM, on_signal);
        tx_result r;
        std::string err;
        if (!transmit(cap, tc, g_stop, r, err)) { std::fprintf(stderr, "sluice-gen: %s\n", err.c_str()); return 1; }
        char j[768];
        std::snprintf(j, sizeof j,
                      "{\"frames_sent\":%llu,\"bytes_sent\":%llu,\"records_sent\":%llu,\"loops_done\":%llu,"
                      "\"tx_full_retries\":%llu,\"frames_dropped\":%llu,\"records_dropped\":%llu,"
                      "\"seconds\":%.6f,\"tsc_hz\":%llu,\"capture_frames\":%zu}\n",
                      (unsigned long long)r.frames_sent, (unsigned long long)r.bytes_sent, (unsigned long long)r.records_sent,
                      (unsigned long long)r.loops_done, (unsigned long long)r.tx_full_retries,
                      (unsigned long long)r.frames_dropped, (unsigned long long)r.records_dropped, r.seconds,
                      (unsigned long long)r.tsc_hz, cap.frames.size());
        std::fputs(j, stderr);
        if (!tx_json.empty()) { std::ofstream f(tx_json); f << j; }
    }
#else
    (void)tx;
    (void)on_signal;
#endif
    return 0;
}
