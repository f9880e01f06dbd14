// SPDX-License-Identifier: Apache-2.0
// sluiced: the DPDK dataplane daemon. Command line, bring-up, the control loop on the main lcore, and the shutdown order.
//
//   main lcore (control)      worker lcores (one per port rx queue)        sink lcores
//   ─────────────────────     ─────────────────────────────────────        ───────────
//   parse CLI, EAL, ports,    rx ─► parse ─► reassembly ─► decode ─►  ring[w][s] ─► JSON lines
//   rings, contexts; launch;                        (SPSC, decoded in place)   filter, sample, encode,
//                                                                               write (one file per output
//                                                                               per sink core)
//   1 s summary; replay end;
//   on stop: see shutdown()
//
// Shutdown order (signal handler only sets `g_stop`):
//   1. workers leave their loop after the burst in hand (rx stops), expire
//      incomplete fragment sets, and are joined;
//   2. ports are stopped;
//   3. sinks are told to stop and drain every ring to empty, then joined;
//   4. each sink core flushes its outputs as it leaves its loop;
//   5. template state is written (when --template-state is given);
//   6. final per-port / per-worker / per-exporter stats are printed;
//   7. contexts, rings, ports, pool and EAL are released (RAII, reverse order).
#include <pcap/pcap.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_mbuf_dyn.h>
#include <signal.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "control/stats/stats.hpp"
#include "dataplane/decode/template/template_state_file.hpp"
#include "dataplane/eal/eal.hpp"
#include "dataplane/exception/config.hpp"
#include "dataplane/port/port.hpp"
#include "dataplane/reassembly/config.hpp"
#include "dataplane/ring/record_ring.hpp"
#include "dataplane/worker/worker_context.hpp"
#include "sinks/stage/stage.hpp"

using namespace sluice;

namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

// Set by the control loop when the workers should leave their loop (signal,
// end of replay, --duration). Separate from g_stop so that the end of a
// replay does not cut short a worker waiting for ring room.
std::atomic<bool> g_workers_stop{false};

constexpr const char* usage_text =
    "usage: sluiced [options]\n"
    "Kernel-bypass NetFlow v5/v9, IPFIX and sFlow v5 collector (DPDK).\n"
    "\n"
    "Inputs (at least one):\n"
    "  --pcap FILE              replay FILE through a net_pcap vdev; exits when every file is consumed (repeatable)\n"
    "  --port DEVARGS           a PCI NIC (0000:01:00.0) or a vdev (net_ring0, net_memif0,..., net_pcap0,rx_pcap=F)\n"
    "                           (repeatable)\n"
    "Ports and cores:\n"
    "  --queues N               rx queues (= workers) per port, RSS on IP addresses; 1 without RSS (default 1)\n"
    "  --sink-cores N           sink lcores (default 1, at most 16)\n"
    "  --ring-size N            records per worker->sink ring, power of two (default 4096)\n"
    "  --ring-full drop|wait    full sink ring: drop and count ring_full (default with --port), or wait for\n"
    "                           room (default with only --pcap: a lossless replay)\n"
    "  --eal \"ARGS\"             EAL arguments instead of the defaults\n"
    "                           (--no-huge -m 512 --no-pci --file-prefix sluiced-<pid> --lcores <map>)\n"
    "Decoding:\n"
    "  --port-map PORT=PROTO    decode UDP port PORT as v5|v9|ipfix|sflow|auto, or 'off' to drop it (repeatable;\n"
    "                           defaults: 2055, 9995, 9996 auto; 4739 ipfix; 6343 sflow)\n"
    "  --max-exporters N        exporters per worker (default 4096)\n"
    "  --verify-udp-checksum    verify UDP checksums in software when the NIC gives no verdict (default off)\n"
    "  --frag-timeout-ms N      fragment reassembly timeout (default 30000)\n"
    "  --frag-max-flows N       incomplete datagrams per worker (default 256)\n"
    "  --address IP[/MAC]       a collector address answered by the exception path (ARP, ping, ND) (repeatable)\n"
    "  --template-state FILE    load v9/IPFIX templates and sampling rates from FILE at start; save them there\n"
    "                           periodically and at a clean stop\n"
    "  --template-state-interval S  seconds between periodic saves (default 60; 0 = only at stop)\n"
    "Output:\n"
    "  --output SPEC            an output (repeatable): name=NAME,path=PATH[,format=json][,filter=EXPR]\n"
    "                           [,sample=N][,roll_bytes=N][,flush_ms=N]; e.g. name=tcp,path=/x/tcp.json,\n"
    "                           filter=proto==6,sample=4 (docs/configuration.md; sinks/output/README.md)\n"
    "  --json-out PATH|-        shorthand for --output name=json,path=PATH (default -, stdout, when no --output);\n"
    "                           rolls to PATH.1, PATH.2, ...; with N > 1 sink cores each writes PATH.s<k>\n"
    "  --json-roll-bytes N      roll size of --json-out (default 1073741824; 0 = never)\n"
    "  --sink-discard           sinks drain the rings and discard the records (benchmarks)\n"
    "  --sink-delay-us N        TEST KNOB: the sink sleeps N us after each burst (provokes ring_full)\n"
    "  --stats-interval S       summary line period in seconds (default 1)\n"
    "  --stats-json FILE        write the final stats as JSON to FILE\n"
    "  --duration S             stop after S seconds (benchmarks)\n"
    "  -h, --help               this text\n"
    "\n"
    "Exit status: 0 after a clean stop (SIGINT/SIGTERM or end of replay), 1 on a start-up error, 2 on bad usage.\n";

struct options {
    std::vector<std::string> pcaps;
    std::vector<std::string> ports;
    unsigned queues = 1;
    unsigned sinks = 1;
    unsigned ring_size = 4096;
    int ring_full_wait = -1;  // -1 = by mode
    std::string eal;
    std::vector<std::pair<uint16_t, int>> port_map;  // proto -1 = off
    uint32_t max_exporters = 4096;
    bool verify_udp = false;
    reassembly::config frag{};
    std::vector<std::string> addresses;
    std::string template_state;
    double template_state_interval = 60.0;  // s between periodic saves; 0 = only at stop
    std::vector<sinks::output_config> outputs;  // --output, in order
    std::string json_out;                       // --json-out ("" = not given)
    uint64_t json_roll_bytes = sinks::file_config{}.roll_bytes;
    sinks::stage_config sink{};                 // outputs resolved by parse_cli
    bool discard = false;
    double stats_interval = 1.0;
    std::string stats_json;
    double duration = 0;
};

[[noreturn]] void usage_error(const std::string& msg) {
    std::fprintf(stderr, "sluiced: %s\n(see sluiced --help)\n", msg.c_str());
    std::exit(2);
}

template <typename T>
T parse_num(std::string_view opt, std::string_view s) {
    T v{};
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size()) usage_error(std::string(opt) + ": bad number '" + std::string(s) + "'");
    return v;
}

int parse_proto(std::string_view s) {
    if (s == "v5") return int(decode::protocol::netflow_v5);
    if (s == "v9") return int(decode::protocol::netflow_v9);
    if (s == "ipfix") return int(decode::protocol::ipfix);
    if (s == "sflow") return int(decode::protocol::sflow_5);
    if (s == "auto") return int(decode::protocol::auto_detect);
    if (s == "off") return -1;
    usage_error("--port-map: unknown protocol '" + std::string(s) + "' (v5|v9|ipfix|sflow|auto|off)");
}

options parse_cli(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto val = [&]() -> std::string {
            if (i + 1 >= argc) usage_error(std::string(a) + " needs a value");
            return argv[++i];
        };
        if (a == "-h" || a == "--help") {
            std::fputs(usage_text, stdout);
            std::exit(0);
        } else if (a == "--pcap") o.pcaps.push_back(val());
        else if (a == "--port") o.ports.push_back(val());
        else if (a == "--queues") o.queues = parse_num<unsigned>(a, val());
        else if (a == "--sink-cores") o.sinks = parse_num<unsigned>(a, val());
        else if (a == "--ring-size") o.ring_size = parse_num<unsigned>(a, val());
        else if (a == "--eal") o.eal = val();
        else if (a == "--ring-full") {
            const std::string v = val();
            if (v != "drop" && v != "wait") usage_error("--ring-full: drop or wait");
            o.ring_full_wait = v == "wait";
        }
        else if (a == "--port-map") {
            const std::string v = val();
            const auto eq = v.find('=');
            if (eq == std::string::npos) usage_error("--port-map: want PORT=PROTO, got '" + v + "'");
            o.port_map.emplace_back(parse_num<uint16_t>(a, std::string_view(v).substr(0, eq)),
                                    parse_proto(std::string_view(v).substr(eq + 1)));
        } else if (a == "--max-exporters") o.max_exporters = parse_num<uint32_t>(a, val());
        else if (a == "--verify-udp-checksum") o.verify_udp = true;
        else if (a == "--frag-timeout-ms") o.frag.timeout_ms = parse_num<uint32_t>(a, val());
        else if (a == "--frag-max-flows") o.frag.max_flows = parse_num<uint32_t>(a, val());
        else if (a == "--address") o.addresses.push_back(val());
        else if (a == "--template-state") o.template_state = val();
        else if (a == "--template-state-interval") o.template_state_interval = std::stod(val());
        else if (a == "--output") {
            const std::string v = val();
            try {
                o.outputs.push_back(sinks::parse_output_spec(v, unsigned(o.outputs.size())));
            } catch (const sinks::spec_error& e) {
                usage_error(e.what());
            }
        }
        else if (a == "--json-out") o.json_out = val();
        else if (a == "--json-roll-bytes") o.json_roll_bytes = parse_num<uint64_t>(a, val());
        else if (a == "--sink-discard") o.discard = true;
        else if (a == "--sink-delay-us") o.sink.delay_us = parse_num<uint32_t>(a, val());
        else if (a == "--stats-interval") o.stats_interval = std::stod(val());
        else if (a == "--stats-json") o.stats_json = val();
        else if (a == "--duration") o.duration = std::stod(val());
        else usage_error("unknown option '" + std::string(a) + "'");
    }
    if (o.pcaps.empty() && o.ports.empty()) usage_error("no input: give --pcap FILE or --port DEVARGS");
    if (!o.discard) {
        // --json-out PATH = one unfiltered JSON output; stdout when no output is given.
        if (!o.json_out.empty() || o.outputs.empty()) {
            sinks::output_config j;
            j.name = "json";
            j.file.path = o.json_out.empty() ? "-" : o.json_out;
            j.file.roll_bytes = o.json_roll_bytes;
            o.outputs.insert(o.outputs.begin(), j);
        }
        o.sink.outputs = o.outputs;
        try {
            sinks::check_outputs(o.sink.outputs);
        } catch (const sinks::spec_error& e) {
            usage_error(e.what());
        }
    }
    if (o.queues == 0 || o.queues > 64) usage_error("--queues: 1..64");
    if (o.sinks == 0 || o.sinks > worker::k_max_sinks) usage_error("--sink-cores: 1..16");
    if (o.ring_size < 64 || (o.ring_size & (o.ring_size - 1))) usage_error("--ring-size: a power of two >= 64");
    if (o.frag.max_flows < o.frag.bucket_entries) usage_error("--frag-max-flows: at least 8");
    if (o.stats_interval <= 0) usage_error("--stats-interval: > 0");
    if (o.template_state_interval < 0) usage_error("--template-state-interval: >= 0");
    if (o.max_exporters == 0) usage_error("--max-exporters: > 0");
    for (const auto& p : o.pcaps)
        if (p.find(',') != std::string::npos) usage_error("--pcap: file names with ',' cannot be passed to net_pcap");
    return o;
}

// Packets in a capture and, when any has a sub-microsecond part, every time
// in ns (net_pcap only hands over microseconds).
struct capture_info {
    uint64_t packets = 0;
    std::vector<uint64_t> ns;
};

capture_info count_capture(const std::string& path) {
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
    if (p == nullptr) throw std::runtime_error("--pcap " + path + ": " + err);
    capture_info ci;
    std::vector<uint64_t> times;
    bool sub_us = false;
    pcap_pkthdr* h;
    const u_char* d;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
        ++ci.packets;
        const uint64_t ns = uint64_t(h->ts.tv_sec) * 1000000000ull + uint64_t(h->ts.tv_usec);
        sub_us |= ns % 1000 != 0;
        times.push_back(ns);
    }
    pcap_close(p);
    if (sub_us) ci.ns = std::move(times);
    return ci;
}

// The rx_pcap file of an infinite_rx net_pcap devargs (its packets stay in mbufs).
std::string preloaded_pcap(const std::string& devargs) {
    if (devargs.rfind("net_pcap", 0) != 0 || devargs.find("infinite_rx=1") == std::string::npos) return {};
    const auto k = devargs.find("rx_pcap=");
    if (k == std::string::npos) return {};
    const auto e = devargs.find(',', k);
    return devargs.substr(k + 8, e == std::string::npos ? std::string::npos : e - k - 8);
}

struct worker_deleter {
    void operator()(worker::context* c) const noexcept {
        c->~context();
        rte_free(c);
    }
};
using worker_ptr = std::unique_ptr<worker::context, worker_deleter>;

struct sink_deleter {
    void operator()(sinks::sink_context* s) const noexcept {
        s->~sink_context();
        rte_free(s);
    }
};
using sink_ptr = std::unique_ptr<sinks::sink_context, sink_deleter>;

template <typename T, typename D>
std::unique_ptr<T, D> make_on_socket(const char* what, int socket) {
    void* mem = rte_zmalloc_socket(what, sizeof(T), alignof(T), socket);
    if (mem == nullptr) throw std::runtime_error(std::string(what) + ": rte_zmalloc_socket failed (raise -m)");
    return std::unique_ptr<T, D>(new (mem) T());
}

// Everything the daemon owns, in construction order (destroyed in reverse).
struct daemon {
    options opt;
    std::unique_ptr<eal::eal_session> eal;
    std::unique_ptr<port::mbuf_pool> pool;
    std::vector<std::unique_ptr<port::eth_port>> ports;
    std::vector<uint64_t> expected;  // per port: packets in the replayed file, 0 = live
    std::vector<std::unique_ptr<worker::replay_clock>> clocks;
    std::vector<exception::address_config> addresses;  // per port
    worker::config wcfg;
    std::vector<std::vector<ring::record_ring>> rings;  // [worker][sink]
    std::vector<worker_ptr> workers;
    std::vector<sink_ptr> sinks;
    std::atomic<bool> sinks_stop{false};
    uint64_t start_tsc = 0;

    control::report snapshot(bool with_exporters) const {
        control::report r;
        r.tsc_hz = wcfg.tsc_hz;
        r.json_out = opt.discard ? "(discarded)" : "";
        if (!opt.discard && !sinks.empty() && !sinks[0]->outputs.empty())
            r.json_out = sinks[0]->outputs[0]->writer->current_path();
        r.elapsed_s = double(rte_rdtsc() - start_tsc) / double(wcfg.tsc_hz);
        for (std::size_t i = 0; i < ports.size(); ++i) {
            const auto& p = *ports[i];
            const port::port_stats s = p.stats();
            r.ports.push_back({.name = p.name(), .driver = p.driver(), .id = p.id(), .queues = p.queues(),
                               .ipackets = s.ipackets, .ibytes = s.ibytes, .imissed = s.imissed, .ierrors = s.ierrors,
                               .rx_nombuf = s.rx_nombuf, .opackets = s.opackets, .oerrors = s.oerrors,
                               .expected = expected[i]});
        }
        for (const auto& w : workers) {
            control::worker_view v{.id = w->id, .lcore = w->lcore, .port_id = w->port_id, .queue_id = w->queue_id,
                                   .counters = w->counters.snapshot()};
            for (std::size_t i = 0; i < exception::outcome_count; ++i)
                v.exception_counters.v[i] = worker::relaxed_get(w->exception_counters.v[i]);
            if (with_exporters) v.exporters = w->exporters.get();
            r.workers.push_back(v);
        }
        for (const auto& s : sinks) {
            control::sink_view v{.id = s->id, .lcore = s->lcore, .counters = s->counters.snapshot()};
            for (const auto& o : s->outputs)
                v.outputs.push_back({.name = o->cfg->name, .counters = o->counters.snapshot(),
                                     .file_counters = o->file_counters.snapshot()});
            r.sinks.push_back(std::move(v));
        }
        return r;
    }
};

void setup(daemon& d, int argc, char** argv) {
    options& o = d.opt;

    // Inputs: pcap files become net_pcap vdevs.
    std::vector<port::config> pcfg;
    eal::eal_request req;
    req.user_args = o.eal;
    uint32_t preloaded = 0;
    std::vector<capture_info> captures;
    for (std::size_t i = 0; i < o.pcaps.size(); ++i) {
        captures.push_back(count_capture(o.pcaps[i]));
        pcfg.push_back({.devargs = "net_pcap" + std::to_string(i) + ",rx_pcap=" + o.pcaps[i], .queues = 1});
        RTE_LOG(INFO, USER1, "replay %s: %lu packets%s\n", o.pcaps[i].c_str(), (unsigned long)captures.back().packets,
                captures.back().ns.empty() ? "" : " (ns timestamps kept)");
    }
    for (const auto& p : o.ports) {
        pcfg.push_back({.devargs = p, .queues = uint16_t(o.queues)});
        if (const std::string f = preloaded_pcap(p); !f.empty()) preloaded += uint32_t(count_capture(f).packets);
    }
    for (const auto& c : pcfg) (port::is_pci_address(c.devargs) ? req.pci : req.vdevs).push_back(c.devargs);
    unsigned want_workers = 0;
    for (const auto& c : pcfg) want_workers += c.queues;
    req.lcores = 1 + want_workers + o.sinks;

    // Logs go to stderr: stdout may carry the JSON records.
    rte_openlog_stream(stderr);
    d.eal = std::make_unique<eal::eal_session>(eal::build_args(req));
    (void)argc;
    (void)argv;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);

    if (rte_lcore_count() < 1 + want_workers + o.sinks)
        throw std::runtime_error("EAL: " + std::to_string(rte_lcore_count()) + " lcores, need " +
                                 std::to_string(1 + want_workers + o.sinks) + " (main + " +
                                 std::to_string(want_workers) + " workers + " + std::to_string(o.sinks) + " sinks)");

    const int socket = int(rte_socket_id());
    port::pool_sizing ps{.rx_desc_total = 0,
                         .workers = want_workers,
                         .burst = worker::k_burst,
                         .frag_mbufs_per_worker = o.frag.max_flows * RTE_LIBRTE_IP_FRAG_MAX_FRAG,
                         .lcores = 1 + want_workers + o.sinks,
                         .cache = 256,
                         .preloaded = preloaded};
    for (const auto& c : pcfg) ps.rx_desc_total += uint32_t(c.queues) * (c.rx_desc + c.tx_desc);
    const uint32_t nmbufs = ps.count();
    RTE_LOG(INFO, USER1, "mempool: %u mbufs (formula in dataplane/port/port.hpp)\n", nmbufs);
    d.pool = std::make_unique<port::mbuf_pool>("sluiced_mbufs", nmbufs, ps.cache, socket);

    for (std::size_t i = 0; i < pcfg.size(); ++i) {
        d.ports.push_back(std::make_unique<port::eth_port>(pcfg[i], d.pool->get()));
        d.expected.push_back(i < captures.size() ? captures[i].packets : 0);
        auto clk = std::make_unique<worker::replay_clock>();
        if (i < captures.size()) clk->ns = std::move(captures[i].ns);
        d.clocks.push_back(std::move(clk));
        exception::address_config ac;
        const rte_ether_addr& mac = d.ports.back()->mac();
        uint8_t m[6];
        std::memcpy(m, mac.addr_bytes, 6);
        ac.set_mac(m);
        for (const auto& a : o.addresses) {
            const auto slash = a.find('/');
            if (!ac.add(std::string_view(a).substr(0, slash)))
                throw std::runtime_error("--address " + a + ": not a unicast IPv4/IPv6 address, or too many");
            if (slash != std::string::npos && !ac.set_mac(std::string_view(a).substr(slash + 1)))
                throw std::runtime_error("--address " + a + ": bad MAC");
        }
        d.addresses.push_back(ac);
    }

    // The mbuf timestamp dynfield (net_pcap registers it when it starts).
    const int ts_offset = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, nullptr);
    const int ts_bit = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME, nullptr);

    // Shared worker config.
    worker::config& w = d.wcfg;
    w.set_default_ports();
    for (const auto& [port, proto] : o.port_map) {
        if (proto < 0) w.port_map[port] = 0;
        else w.map_port(port, static_cast<decode::protocol>(proto));
    }
    w.verify_udp_checksum = o.verify_udp;
    w.ring_full_wait = o.ring_full_wait >= 0 ? o.ring_full_wait == 1 : o.ports.empty();
    w.nb_sinks = o.sinks;
    w.limits.max_exporters = o.max_exporters;
    w.tsc_hz = rte_get_tsc_hz();
    w.tsc_base = rte_rdtsc();
    w.stats_interval_tsc = uint64_t(o.stats_interval * double(w.tsc_hz));
    // Sweep 10x per timeout, at most every 10 ms: cheap (walks only the LRU head).
    w.sweep_interval_tsc = std::max<uint64_t>(w.tsc_hz / 100, w.tsc_hz / 1000 * o.frag.timeout_ms / 10);
    d.start_tsc = w.tsc_base;

    // Workers: one per port rx queue, on the worker lcores in order.
    unsigned lcore = rte_get_next_lcore(-1, 1, 0);
    unsigned wid = 0;
    for (std::size_t pi = 0; pi < d.ports.size(); ++pi) {
        const port::eth_port& p = *d.ports[pi];
        for (uint16_t q = 0; q < p.queues(); ++q, ++wid) {
            auto c = make_on_socket<worker::context, worker_deleter>("worker_ctx", int(rte_lcore_to_socket_id(lcore)));
            c->id = wid;
            c->lcore = lcore;
            c->port_id = p.id();
            c->queue_id = q;
            c->nic_cksum = p.rx_checksum_offload();
            c->pcap_timestamps = p.timestamp_is_pcap_us() && ts_offset >= 0 && ts_bit >= 0;
            c->ts_offset = ts_offset;
            c->ts_flag = ts_bit >= 0 ? (1ull << ts_bit) : 0;
            c->pool = d.pool->get();
            c->cfg = &d.wcfg;
            c->stop = &g_workers_stop;
            c->abort = &g_stop;
            c->addresses = &d.addresses[pi];
            c->replay = d.clocks[pi]->ns.empty() ? nullptr : d.clocks[pi].get();
            c->exporters = std::make_unique<decode::exporter_table>(w.limits);
            c->frags = std::make_unique<reassembly::frag_table>(o.frag, wid, int(rte_lcore_to_socket_id(lcore)), w.tsc_hz);
            c->record_storage.reset(new decode::flow_record[decode::max_records_per_datagram]);
            c->scratch.reset(new uint8_t[std::size_t(worker::k_scratch_slots) * worker::k_scratch_slot]);
            std::vector<ring::record_ring> rs;
            for (unsigned s = 0; s < o.sinks; ++s) {
                rs.emplace_back("rec_w" + std::to_string(wid) + "_s" + std::to_string(s), o.ring_size,
                                int(rte_lcore_to_socket_id(lcore)));
                c->rings[s] = rs.back().get();
                c->ring_capacity = rte_ring_get_capacity(rs.back().get());
            }
            d.rings.push_back(std::move(rs));
            d.workers.push_back(std::move(c));
            lcore = rte_get_next_lcore(lcore, 1, 0);
        }
    }

    // Template state: every worker gets the saved templates, since which
    // worker an exporter lands on is up to RSS (or to the replayed file).
    if (!o.template_state.empty()) {
        for (auto& c : d.workers) {
            std::string err;
            if (!decode::load_template_state(*c->exporters, o.template_state, &err)) {
                RTE_LOG(WARNING, USER1, "template state %s not restored (templates will be re-learned): %s\n",
                        o.template_state.c_str(), err.c_str());
                break;
            }
        }
    }

    // Sinks: each sink core runs every output, writing its own files (no lock between sink cores).
    for (unsigned s = 0; s < o.sinks; ++s) {
        auto k = make_on_socket<sinks::sink_context, sink_deleter>("sink_ctx", int(rte_lcore_to_socket_id(lcore)));
        k->id = s;
        k->lcore = lcore;
        for (const auto& rs : d.rings) k->rings.push_back(rs[s].get());
        sinks::add_outputs(*k, o.sink.outputs, o.sinks, w.tsc_hz);
        k->stop = &d.sinks_stop;
        k->delay_us = o.sink.delay_us;
        d.sinks.push_back(std::move(k));
        lcore = rte_get_next_lcore(lcore, 1, 0);
    }
}

// End of replay: every packet of every file was received or lost by the PMD.
bool replay_done(const daemon& d, const control::report& r) {
    bool any = false;
    for (std::size_t i = 0; i < d.ports.size(); ++i) {
        if (d.expected[i] == 0) {
            if (i < d.opt.pcaps.size()) continue;  // an empty capture is done at once
            return false;                          // a live port: never done
        }
        any = true;
        uint64_t seen = r.ports[i].rx_nombuf + r.ports[i].ierrors;
        for (const auto& w : r.workers)
            if (w.port_id == d.ports[i]->id()) seen += w.counters.get(worker::counter::rx_packets);
        if (seen < d.expected[i]) return false;
    }
    return any || !d.opt.pcaps.empty();
}

// The periodic template-state save, driven by the control loop. Each round
// asks every worker for a snapshot of its own exporter table (see
// worker_context.hpp), waits for the answers without blocking the loop, then
// merges them (freshest copy of each exporter) and writes the file atomically.
class template_saver {
public:
    using clock = std::chrono::steady_clock;
    // A worker that does not answer in this long (stuck waiting on a full
    // ring in a lossless replay) makes the round be skipped, not waited for.
    static constexpr auto k_answer_timeout = std::chrono::seconds(5);

    explicit template_saver(daemon& d)
        : _d(d), _interval(std::chrono::duration_cast<clock::duration>(
                     std::chrono::duration<double>(d.opt.template_state_interval))),
          _next(clock::now() + _interval) {}

    void tick(clock::time_point now) {
        if (_d.opt.template_state.empty() || _interval.count() == 0) return;
        if (!_pending) {
            if (now < _next) return;
            ++_round;
            for (auto& w : _d.workers) w->snapshot_requested.store(_round, std::memory_order_relaxed);
            _asked = now;
            _pending = true;
            return;
        }
        bool all = true;
        for (const auto& w : _d.workers)
            all = all && w->snapshot_done.load(std::memory_order_acquire) == _round;
        if (all) {
            write();
        } else if (now - _asked < k_answer_timeout) {
            return;
        } else {
            RTE_LOG(WARNING, USER1, "template state: a worker did not answer within 5 s; periodic save skipped\n");
        }
        _pending = false;
        _next = now + _interval;
    }

private:
    void write() {
        std::vector<std::unique_ptr<decode::exporter_table>> tables;
        std::vector<const decode::exporter_table*> views;
        std::string err;
        for (const auto& w : _d.workers) {
            if (w->snapshot.empty()) {
                RTE_LOG(WARNING, USER1, "template state: worker %u could not serialize (out of memory); save skipped\n", w->id);
                return;
            }
            tables.push_back(std::make_unique<decode::exporter_table>(_d.wcfg.limits));
            if (!decode::restore_template_state(*tables.back(), w->snapshot, &err)) {
                RTE_LOG(ERR, USER1, "template state: worker %u snapshot unreadable: %s\n", w->id, err.c_str());
                return;
            }
            views.push_back(tables.back().get());
        }
        if (decode::save_template_state(views, _d.opt.template_state, &err))
            RTE_LOG(DEBUG, USER1, "template state saved to %s (periodic)\n", _d.opt.template_state.c_str());
        else
            RTE_LOG(ERR, USER1, "template state not saved: %s\n", err.c_str());
    }

    daemon& _d;
    clock::duration _interval;
    clock::time_point _next;
    clock::time_point _asked{};
    uint64_t _round = 0;
    bool _pending = false;
};

void control_loop(daemon& d) {
    using clock = std::chrono::steady_clock;
    const bool replay = d.opt.ports.empty();
    auto last = clock::now();
    const auto start = last;
    auto last_progress = last;
    control::report prev = d.snapshot(false);
    uint64_t last_seen = 0;
    // Replay stall guard: net_pcap gave nothing for this long although the
    // file count says more should come (a truncated capture): stop anyway.
    constexpr auto k_replay_stall = std::chrono::seconds(5);
    template_saver saver(d);

    while (!g_stop.load(std::memory_order_relaxed)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        const auto now = clock::now();
        saver.tick(now);
        if (replay) {
            const control::report r = d.snapshot(false);
            if (replay_done(d, r)) {
                RTE_LOG(INFO, USER1, "replay: every packet of every file received; stopping\n");
                break;
            }
            const uint64_t seen = control::sum_workers(r.workers).get(worker::counter::rx_packets);
            if (seen != last_seen) {
                last_seen = seen;
                last_progress = now;
            } else if (now - last_progress > k_replay_stall) {
                RTE_LOG(WARNING, USER1, "replay: no packet for 5 s before the file counts were reached; stopping\n");
                break;
            }
        }
        if (d.opt.duration > 0 && std::chrono::duration<double>(now - start).count() >= d.opt.duration) break;
        const double dt = std::chrono::duration<double>(now - last).count();
        if (dt >= d.opt.stats_interval) {
            control::report r = d.snapshot(false);
            RTE_LOG(INFO, USER1, "%s\n", control::summary_line(r, &prev, dt).c_str());
            prev = std::move(r);
            last = now;
        }
    }
    g_workers_stop.store(true, std::memory_order_relaxed);
}

// Writes every worker's templates into one file. An exporter present on
// several workers (the state is restored into all at start) is saved from the
// worker that saw it most recently: the one RSS steers it to.
void save_templates(const daemon& d) {
    std::string err;
    std::vector<const decode::exporter_table*> tables;
    for (const auto& w : d.workers) tables.push_back(w->exporters.get());
    const bool ok = decode::save_template_state(tables, d.opt.template_state, &err);
    if (ok) RTE_LOG(INFO, USER1, "template state saved to %s\n", d.opt.template_state.c_str());
    else RTE_LOG(ERR, USER1, "template state not saved: %s\n", err.c_str());
}

// A launch failed: stop and join whatever already runs before the contexts go away.
void abort_launched(daemon& d) {
    g_stop.store(true);
    g_workers_stop.store(true);
    d.sinks_stop.store(true);
    rte_eal_mp_wait_lcore();
}

int run(int argc, char** argv) {
    daemon d;
    d.opt = parse_cli(argc, argv);
    setup(d, argc, argv);

    for (auto& w : d.workers) {
        const int ret = rte_eal_remote_launch(worker::worker_main, w.get(), w->lcore);
        if (ret != 0) abort_launched(d);
        if (ret != 0) throw std::runtime_error("worker " + std::to_string(w->id) + ": launch on lcore " +
                                               std::to_string(w->lcore) + " failed: " + rte_strerror(-ret));
    }
    for (auto& s : d.sinks) {
        const int ret = rte_eal_remote_launch(sinks::sink_main, s.get(), s->lcore);
        if (ret != 0) abort_launched(d);
        if (ret != 0) throw std::runtime_error("sink " + std::to_string(s->id) + ": launch on lcore " +
                                               std::to_string(s->lcore) + " failed: " + rte_strerror(-ret));
    }

    control_loop(d);

    // 1. workers: stop rx, finish the burst in hand, expire fragments; join.
    for (auto& w : d.workers) rte_eal_wait_lcore(w->lcore);
    // 2. ports
    for (auto& p : d.ports) p->stop();
    // 3. sinks: drain every ring, then join.
    d.sinks_stop.store(true, std::memory_order_release);
    for (auto& s : d.sinks) rte_eal_wait_lcore(s->lcore);
    // 4. flush: each sink core flushed its own outputs before it returned.
    // 5. template state
    if (!d.opt.template_state.empty()) save_templates(d);
    // 6. final stats
    const control::report r = d.snapshot(true);
    control::write_text(stderr, r);
    if (!d.opt.stats_json.empty()) {
        FILE* f = std::fopen(d.opt.stats_json.c_str(), "w");
        if (f == nullptr) {
            std::fprintf(stderr, "sluiced: cannot write %s: %s\n", d.opt.stats_json.c_str(), std::strerror(errno));
        } else {
            control::write_json(f, r);
            std::fclose(f);
        }
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "sluiced: %s\n", e.what());
        return 1;
    }
}
