// SPDX-License-Identifier: Apache-2.0
// The daemon's composition (see daemon.hpp): set-up, launch, and the bounded shutdown.
#include "daemon.hpp"

#include <pcap/pcap.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf_dyn.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "control/commands/commands_ctl.hpp"
#include "control/control_loop/control_loop.hpp"
#include "control/config/counters.hpp"
#include "control/log/counters.hpp"
#include "control/log/log_stream.hpp"
#include "control/stats/stats.hpp"
#include "dataplane/decode/record_format.hpp"
#include "dataplane/decode/template/template_state_file.hpp"
#include "dataplane/port/counters.hpp"
#include "enrich/extrapolate/reading.hpp"

namespace sluice::control {

stop_flags& flags() noexcept {
    static stop_flags f;
    return f;
}

namespace {

// Only sets flags (async-signal-safe: lock-free atomics).
extern "C" void on_sighup(int) { flags().reload.store(true, std::memory_order_relaxed); }

extern "C" void on_signal(int) {
    stop_flags& f = flags();
    f.signals.fetch_add(1, std::memory_order_relaxed);
    f.stop.store(true, std::memory_order_relaxed);
}

// SIGHUP: only sets the flag; the control loop reloads the config file.
extern "C" void on_hup(int) { flags().reload.store(true, std::memory_order_relaxed); }

// From the start of set-up: a SIGHUP while EAL starts is kept for the control loop, not fatal.
void install_hup_handler() {
    struct sigaction hup{};
    hup.sa_handler = on_hup;
    sigemptyset(&hup.sa_mask);
    sigaction(SIGHUP, &hup, nullptr);
}

void install_signal_handlers() {
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    struct sigaction hup{};
    hup.sa_handler = on_sighup;
    sigemptyset(&hup.sa_mask);
    hup.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &hup, nullptr);
    signal(SIGPIPE, SIG_IGN);
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

}  // namespace

int64_t file_mtime_ns(const std::string& path) noexcept {
    std::error_code ec;
    const auto t = std::filesystem::last_write_time(path, ec);
    return ec ? 0 : int64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

namespace {

template <typename T, typename D>
std::unique_ptr<T, D> make_on_socket(const char* what, int socket) {
    void* mem = rte_zmalloc_socket(what, sizeof(T), alignof(T), socket);
    if (mem == nullptr) throw std::runtime_error(std::string(what) + ": rte_zmalloc_socket failed (raise -m)");
    return std::unique_ptr<T, D>(new (mem) T());
}

// The sink stage: one sink context per sink lcore, starting at `lcore`. Each
// sink core runs every output and writes its own files (no lock between sink
// cores: sinks/stage/stage.hpp).
void create_sinks(daemon& d, unsigned lcore) {
    const cli::options& o = d.opt;
    for (unsigned s = 0; s < o.sinks; ++s) {
        auto k = make_on_socket<sinks::sink_context, sink_deleter>("sink_ctx", int(rte_lcore_to_socket_id(lcore)));
        k->id = s;
        k->lcore = lcore;
        for (const auto& rs : d.rings) k->rings.push_back(rs[s].get());
        k->enrich_interner = d.enrich_interner.get();  // before the outputs: the aggregators keep it
        k->enrich_names = d.enrich_names.get();
        k->enrich_keys = d.enrich_keys.get();
        if (d.classifier) k->signature_labels = &d.classifier->labels();
        sinks::add_outputs(*k, o.sink.outputs, o.sinks, d.wcfg.tsc_hz);
        k->stop = &flags().sinks_stop;
        k->delay_us = o.sink.delay_us;
        if (d.enrich_interner) {  // a member cache per format that has an output (18 MiB each, made here, once)
            using enrich::member_cache;
            for (const auto& out : o.sink.outputs) {
                if (out.aggregate) continue;
                if (out.fmt == sinks::format::json && !k->enrich_json_cache)
                    k->enrich_json_cache = std::make_unique<member_cache>(*d.enrich_interner, *d.enrich_names,
                                                                          member_cache::style::json);
                if (out.fmt == sinks::format::ecs_json && !k->enrich_ecs_cache)
                    k->enrich_ecs_cache = std::make_unique<member_cache>(*d.enrich_interner, *d.enrich_names,
                                                                         member_cache::style::ecs);
            }
        }
        d.sinks.push_back(std::move(k));
        lcore = rte_get_next_lcore(lcore, 1, 0);
    }
}

// Every component's table and every instance, once (control/registry/registry.hpp).
void register_counters(daemon& d) {
    registry& r = d.counters;
    const std::size_t g_port = r.add_group("dataplane", std::string(groups::port), port::counter_table);
    for (std::size_t i = 0; i < d.ports.size(); ++i) {
        const port::eth_port* p = d.ports[i].get();
        r.add_reader(g_port,
                     {num_label("port", p->id()), str_label("name", p->name()), str_label("driver", p->driver()),
                      num_label("queues", p->queues()), num_label("file_packets", d.expected[i])},
                     [p](std::span<uint64_t> out) {
                         const port::port_stats s = p->stats();
                         const uint64_t v[] = {s.ipackets, s.ibytes, s.imissed, s.ierrors, s.rx_nombuf, s.opackets, s.oerrors};
                         static_assert(std::size(v) == port::counter_count);
                         std::copy(std::begin(v), std::end(v), out.begin());
                     });
    }
    const std::size_t g_worker = r.add_group("dataplane", std::string(groups::worker), worker::counter_table);
    const std::size_t g_cycles = r.add_group("dataplane", std::string(groups::worker_cycles), worker::cycle_table);
    const std::size_t g_exc = r.add_group("dataplane", std::string(groups::exception), exception::counter_table);
    const std::size_t g_decode = r.add_group("dataplane", std::string(groups::decode), decode::counter_table);
    const std::size_t g_table =
        r.add_group("dataplane", std::string(groups::exporter_table), decode::table_counter_table);
    const std::size_t g_retired = r.add_group("dataplane", std::string(groups::exporters_retired), decode::counter_table);
    static constexpr std::array<counters::info, 1> refused_rows{{
        {"datagrams",
         "Datagrams refused from this sender (the bounded refused list keeps the heaviest; an upper bound once entries "
         "were replaced). The `cause` label is the latest exporter_table reason.",
         counters::kind::drop},
    }};
    const std::size_t g_refused = r.add_group("dataplane", std::string(groups::exporters_refused), refused_rows);
    for (const auto& w : d.workers) {
        const worker::context* c = w.get();
        const labels wl{num_label("worker", c->id), num_label("lcore", c->lcore), num_label("port", c->port_id),
                        num_label("queue", c->queue_id)};
        r.add_block(g_worker, wl, c->counters);
        r.add_values(g_cycles, {num_label("worker", c->id)}, c->counters.cycles.data(), worker::stage_count);
        r.add_block(g_exc, {num_label("worker", c->id)}, c->exception_counters);
        // Per-exporter counters: the exporter table's slots are preallocated
        // and stable, and read_live() walks them from any core with a
        // consistent-walk protocol (dataplane/decode/decoder.hpp), so these
        // are live reads like every other block.
        r.add_visitor(g_decode, {num_label("worker", c->id)},
                      [c](const registry::emit& emit) {
                          c->exporters->read_live(
                              [&](const decode::exporter_view& e) {
                                  char t[46];
                                  const std::size_t n = decode::format_address(e.addr, t);
                                  emit({str_label("exporter", n ? std::string(t, n) : std::string("::"))}, e.counters.v);
                              },
                              nullptr);
                      },
                      when::live);
        r.add_reader(g_table, {num_label("worker", c->id)}, [c](std::span<uint64_t> out) {
            const decode::table_counter_block t = c->exporters->table_counters();
            std::copy(t.v.begin(), t.v.end(), out.begin());
        });
        // Counters of exporters that expired (idle) and whose slots were reused.
        r.add_reader(g_retired, {num_label("worker", c->id)}, [c](std::span<uint64_t> out) {
            decode::counter_block retired{};
            c->exporters->read_live([](const decode::exporter_view&) {}, &retired);
            std::copy(retired.v.begin(), retired.v.end(), out.begin());
        });
        r.add_visitor(g_refused, {num_label("worker", c->id)},
                      [c](const registry::emit& emit) {
                          for (const decode::refused_view& v : c->exporters->refused()) {
                              char t[46];
                              const std::size_t n = decode::format_address(v.addr, t);
                              const uint64_t dg[1] = {v.datagrams};
                              emit({str_label("exporter", n ? std::string(t, n) : std::string("::")),
                                    str_label("cause", std::string(decode::table_counter_table[std::size_t(v.cause)].name))},
                                   dg);
                          }
                      },
                      when::live);
    }
    // The sink stage: the stage's table per sink lcore, the output's and the
    // file writer's per (sink lcore, output).
    const std::size_t g_sink = r.add_group("sinks", std::string(groups::sink_stage), sinks::stage_counter_table);
    const std::size_t g_out = r.add_group("sinks", std::string(groups::sink_output), sinks::output_counter_table);
    const std::size_t g_file = r.add_group("sinks", std::string(groups::sink_file), sinks::file_counter_table);
    const std::size_t g_agg = r.add_group("sinks", std::string(groups::sink_aggregate), sinks::aggregate_counter_table);
    // Kafka outputs: the writer's table and its spool's, per (sink lcore, output).
    bool any_kafka = false;
    for (const auto& s : d.sinks)
        for (const auto& o : s->outputs) any_kafka |= o->kafka != nullptr;
    const std::size_t g_kafka = any_kafka ? r.add_group("sinks", "kafka", sinks::kafka_counter_table) : 0;
    const std::size_t g_spool = any_kafka ? r.add_group("sinks", "spool", sinks::spool_counter_table) : 0;
    const std::size_t g_handoff = r.add_group("sinks", "hdfs_handoff", sinks::hdfs::handoff_counter_table);
    const std::size_t g_hdfs = r.add_group("sinks", "hdfs", sinks::hdfs::writer_counter_table);
    const std::size_t g_webhdfs = r.add_group("sinks", "webhdfs", sinks::hdfs::upload_counter_table);
    for (const auto& s : d.sinks) {
        r.add_block(g_sink, {num_label("sink", s->id), num_label("lcore", s->lcore)}, s->counters);
        for (const auto& o : s->outputs) {
            const labels ol{num_label("sink", s->id), str_label("output", o->cfg->name)};
            r.add_block(g_out, ol, o->counters);
            if (o->kafka) {
                r.add_block(g_kafka, ol, o->kafka_counters);
                r.add_block(g_spool, ol, o->spool_counters);
            } else if (o->hdfs) {  // the HDFS writer's three owners: sink lcore, writer thread, uploader
                r.add_block(g_handoff, ol, o->handoff_counters);
                r.add_block(g_hdfs, ol, o->hdfs->writer_counters);
                if (o->cfg->hdfs.webhdfs) r.add_block(g_webhdfs, ol, o->hdfs->upload_counters);
            } else {
                r.add_block(g_file, ol, o->file_counters);
            }
            if (o->agg) r.add_block(g_agg, ol, o->agg_counters);
        }
    }
    if (d.opt.extrapolate.enabled) {
        const std::size_t g_ex = r.add_group("enrich", "extrapolate", enrich::extrapolate::counter_table);
        for (const auto& w : d.workers) r.add_block(g_ex, {num_label("worker", w->id)}, w->extrapolator->counters);
    }
    if (d.classifier) {
        const std::size_t g_cl = r.add_group("enrich", "classify", enrich::classify::counter_table);
        r.add_block(g_cl, {}, d.classifier->counters());
        const std::size_t g_scan = r.add_group("enrich", "classify_scan", enrich::classify::scan_counter_table);
        for (const auto& w : d.workers) r.add_block(g_scan, {num_label("worker", w->id)}, w->classify_counters);
    }
    if (d.snmp) {
        const std::size_t g_snmp = r.add_group("enrich", "snmp", enrich::snmp::counter_table);
        r.add_block(g_snmp, {}, d.snmp->counters());
        const std::size_t g_feed = r.add_group("enrich", "snmp_feed", enrich::snmp::feed_counter_table);
        r.add_block(g_feed, {}, d.feed.counters);
    }
    if (d.enrich) {
        r.add_block(r.add_group("enrich", "tables", enrich::runtime_counter_table), {}, d.enrich->counters());
        // The control core publishes and frees versions itself, so reading the live one here is safe.
        r.add_reader(r.add_group("enrich", "table_size", enrich::size_table), {},
                     [p = d.enrich.get()](std::span<uint64_t> out) {
                         const enrich::table_version* v = p->version();
                         if (v == nullptr) return;
                         const auto& s = v->stats;
                         const uint64_t vals[] = {v->version, s.prefixes, s.intervals_v4, s.intervals_v6, s.exporters,
                                                  s.interfaces, s.interned_sets, s.bytes, s.build_ns};
                         static_assert(std::size(vals) == enrich::size_row_count);
                         std::copy(std::begin(vals), std::end(vals), out.begin());
                     });
    }
    const std::size_t g_qsbr = r.add_group("control", "qsbr", qsbr_counter_table);
    r.add_block(g_qsbr, {}, d.qsbr->counters());
    const std::size_t g_log = r.add_group("control", "log", log::counter_table);
    r.add_reader(g_log, {}, [&d](std::span<uint64_t> out) {
        out[size_t(log::counter::stderr_dropped_bytes)] = log::dropped_bytes();
        out[size_t(log::counter::stderr_dropped_writes)] = log::dropped_writes();
        out[size_t(log::counter::worker_lines)] = d.worker_log_lines;
    });
    const std::size_t g_config = r.add_group("control", "config", config::counter_table);
    r.add_reader(g_config, {}, [&d](std::span<uint64_t> out) {
        out[size_t(config::counter::reloads)] = d.config.reloads;
        out[size_t(config::counter::reload_failures)] = d.config.failed;
        out[size_t(config::counter::params_retired)] = d.config.retired_total;
        out[size_t(config::counter::params_freed)] = d.config.freed_total;
    });
}

}  // namespace

void resolve_aggregate_keys(const cli::options& o) {
    // The registry a table build declares: the built-in keys, then --enrich-key in order (tables.cpp).
    enrich::key_registry keys;
    if (o.enrich_enabled()) {
        try {
            for (const std::string& k : o.enrich.custom_keys) keys.add(k);
        } catch (const std::exception& e) {
            throw std::runtime_error(std::string("--enrich-key: ") + e.what());
        }
    }
    for (const sinks::output_config& out : o.sink.outputs) {
        if (!out.aggregate) continue;
        try {
            sinks::resolve_agg_dims(out.agg, keys);
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error("--output " + out.name + ": aggregate: " + e.what());
        }
    }
}

void setup(daemon& d) {
    const cli::options& o = d.opt;
    // Logs go to stderr (stdout may carry the JSON records), through a stream
    // that never blocks (control/log/log_stream.hpp). First: everything below logs.
    rte_openlog_stream(log::stream());
    install_hup_handler();

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

    d.eal = std::make_unique<eal::eal_session>(eal::build_args(req));
    install_signal_handlers();
    if (!o.log_level.empty()) rte_log_set_global_level(cli::log_level_value(o.log_level));

    if (rte_lcore_count() < 1 + want_workers + o.sinks)
        throw std::runtime_error("EAL: " + std::to_string(rte_lcore_count()) + " lcores, need " +
                                 std::to_string(1 + want_workers + o.sinks) + " (main + " +
                                 std::to_string(want_workers) + " workers + " + std::to_string(o.sinks) + " sinks)");

    const int socket = int(rte_socket_id());
    port::pool_sizing ps{.rx_desc_total = 0,
                         .workers = want_workers,
                         .burst = worker::k_burst,
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
    w.limits = o.limits;
    w.limits.max_exporters = o.max_exporters;
    w.tsc_hz = rte_get_tsc_hz();
    w.tsc_base = rte_rdtsc();
    w.stats_interval_tsc = uint64_t(o.stats_interval * double(w.tsc_hz));
    // Sweep 10x per timeout, at most every 10 ms: cheap (walks only the LRU head).
    w.sweep_interval_tsc = std::max<uint64_t>(w.tsc_hz / 100, w.tsc_hz / 1000 * o.frag.timeout_ms / 10);
    d.start_tsc = w.tsc_base;

    d.qsbr = std::make_unique<qsbr_domain>(want_workers);
    if (!o.rules.empty()) {
        rte_rcu_qsbr* q = d.qsbr->get();
        d.classifier = std::make_unique<enrich::classify::live>(
            want_workers, enrich::classify::grace_period{
                              [q] { return rte_rcu_qsbr_start(q); },
                              [q](uint64_t t) { return rte_rcu_qsbr_check(q, t, false) == 1; }});
        d.rules_mtime_ns = file_mtime_ns(o.rules);
        std::string err;
        if (!d.classifier->reload(o.rules, &err)) throw std::runtime_error("--rules: " + err);
        RTE_LOG(INFO, USER1, "rules %s: %zu rules, %zu payload rules\n", o.rules.c_str(),
                d.classifier->acquire()->db->rules().rules.size(), d.classifier->acquire()->db->payload_rules().size());
        wire_tag_filter(d);
    }
    if (o.enrich_enabled()) {
        wire_enrich_sources(d);  // SNMP interface rows, --rules attribute rules (before the publisher copies opt.enrich)
        // The first version is built here, synchronously: a source that fails stops the start-up.
        d.enrich_interner = std::make_unique<enrich::interner>();
        // The first build runs before the lcores are launched: on every CPU the process had before rte_eal_init
        // pinned this thread (and all it starts) to the main lcore's; the later ones on the CPUs no polling
        // lcore uses.
        enrich::build_config first = o.enrich;
        first.cpus = d.eal->cpus_before_init();
        d.enrich = std::make_unique<enrich::publisher>(std::move(first), *d.enrich_interner, d.qsbr->get(), o.enrich_refresh,
                                                       [](const std::string& m) {
                                                           RTE_LOG(INFO, USER1, "%s\n", m.c_str());
                                                       });
        d.enrich->build_initial();
        d.enrich->set_build_cpus(d.eal->control_cpus());
        d.enrich_names = std::make_unique<enrich::json_names>(d.enrich->table_builder().keys());
        d.enrich_keys = std::make_unique<sinks::encode::enriched_keys>(d.enrich->table_builder().keys());
        wire_group_filter(d);
    }
    // Aggregation by custom keys: each dimension's key, now that every key is declared (none with enrichment off).
    resolve_aggregate_keys(o);

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
            c->tx_queue_id = p.tx_queue_of(q);
            if (c->tx_queue_id < 0)
                RTE_LOG(WARNING, USER1, "port %s: %u tx queue(s) for %u rx queues: worker %u (rx queue %u) cannot send "
                        "exception replies (counted exception_no_tx_queue)\n", p.name().c_str(), p.tx_queues(),
                        p.queues(), wid, q);
            c->nic_cksum = p.rx_checksum_offload();
            c->pcap_timestamps = p.timestamp_is_pcap_us() && ts_offset >= 0 && ts_bit >= 0;
            c->ts_offset = ts_offset;
            c->ts_flag = ts_bit >= 0 ? (1ull << ts_bit) : 0;
            c->pool = d.pool->get();
            c->cfg = &d.wcfg;
            c->stop = &flags().workers_stop;
            c->abort = &flags().stop;
            c->addresses = &d.addresses[pi];
            c->replay = d.clocks[pi]->ns.empty() ? nullptr : d.clocks[pi].get();
            c->exporters = std::make_unique<decode::exporter_table>(w.limits);
            // The decode-error log's per-slot baseline, sized here so the worker never allocates it.
            c->logged.resize(c->exporters->capacity());
            c->logged_generation.resize(c->exporters->capacity());
            d.mail.create(wid, int(rte_lcore_to_socket_id(lcore)));
            c->mailbox_in = d.mail.in(wid);
            c->mailbox_out = d.mail.out(wid);
            c->qsbr = d.qsbr->get();
            c->enrich_tables = d.enrich ? d.enrich->current() : nullptr;
            // A replayed file's fragments time out by capture time, as in sluice-decode; live ports by the TSC.
            c->frag_capture_clock = d.expected[pi] != 0 && c->pcap_timestamps;
            c->frags = std::make_unique<reassembly::reassembler>(o.frag, c->frag_capture_clock ? 1000000000ull : w.tsc_hz,
                                                                 c->counters.frag_counters());
            if (o.extrapolate.enabled) c->extrapolator = std::make_unique<enrich::extrapolate::table>(o.extrapolate);
            if (o.extrapolate.enabled && !o.snmp.agents.empty()) {
                const std::string rn = "snmp_rd_w" + std::to_string(wid);
                rte_ring* rr = rte_ring_create_elem(rn.c_str(), sizeof(enrich::extrapolate::reading),
                                                    enrich::extrapolate::k_reading_ring,
                                                    int(rte_lcore_to_socket_id(lcore)), RING_F_SP_ENQ | RING_F_SC_DEQ);
                if (rr == nullptr) throw std::runtime_error(rn + ": rte_ring_create_elem: " + rte_strerror(rte_errno));
                d.reading_rings.emplace_back(rr);
                c->readings = rr;
            }
            c->record_storage.reset(new decode::flow_record[decode::max_records_per_datagram]);
            if (d.classifier) {
                c->classifier = d.classifier.get();
                c->header_spans.reset(new decode::header_span[std::max<std::size_t>(
                    decode::max_records_per_datagram, std::size_t(o.ring_size) + ring::k_ring_slack)]);
            }
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

    // Template state: read and validated once, shared read-only by every
    // worker, and applied lazily: an exporter's saved templates land on the
    // worker its first datagram reaches (RSS, or the replayed file decides),
    // before that datagram decodes. Saves keep saved exporters not seen yet.
    // A file that cannot be loaded is kept aside, never overwritten.
    if (!o.template_state.empty()) {
        std::string err;
        auto saved = decode::load_saved_template_state(o.template_state, w.limits, &err);
        if (saved == nullptr) {
            RTE_LOG(WARNING, USER1, "template state %s not restored (templates will be re-learned): %s\n",
                    o.template_state.c_str(), err.c_str());
        } else {
            for (auto& c : d.workers) c->exporters->set_saved_state(saved);
            RTE_LOG(INFO, USER1, "template state %s: %zu exporters, applied on each one's first datagram\n",
                    o.template_state.c_str(), decode::saved_exporter_count(*saved));
        }
    }

    // Sampling overrides go through the mailbox, before launch: each worker
    // applies them at its first loop top, before its first packet (the same
    // command a live API will send).
    uint64_t seq = 0;
    for (const auto& so : o.sampling_overrides) {
        worker::command cmd{.kind = worker::command_kind::set_sampling_override, .rate = so.rate, .seq = ++seq, .addr = {}};
        std::memcpy(cmd.addr, so.addr.data(), 16);
        if (!d.mail.send_all(cmd)) throw std::runtime_error("--sampling-override: more overrides than a worker mailbox holds (" +
                                                             std::to_string(worker::k_command_ring - 1) + ")");
    }

    // SNMP: the poller is built here (net-snmp initialised once), its thread started with the workers.
    if (!o.snmp.agents.empty()) d.snmp = std::make_unique<enrich::snmp::poller>(o.snmp);
    // The exporter table's forced sampling rates take the same path (and again after each rebuild).
    if (d.enrich) {
        d.enrich->set_override_sink([&d, seq](const uint8_t addr[16], unsigned len, uint32_t rate, bool clear) mutable {
            worker::command cmd{.kind = clear ? worker::command_kind::clear_sampling_override_prefix
                                              : worker::command_kind::set_sampling_override_prefix,
                                .prefix_len = uint8_t(len), .reserved = 0, .rate = rate, .seq = ++seq, .addr = {}};
            std::memcpy(cmd.addr, addr, 16);
            return d.mail.send_all(cmd);
        });
        d.enrich->send_overrides();
    }

    create_sinks(d, lcore);
    register_counters(d);
    setup_control_api(d);
    wire_control_hooks(d);  // reload, top (control/daemon/hooks_ctl.cpp)
}

bool save_templates(const daemon& d) {
    std::string err;
    std::vector<const decode::exporter_table*> tables;
    for (const auto& w : d.workers) tables.push_back(w->exporters.get());
    // An exporter present on several workers (the state is restored into all
    // at start) is saved from the worker that saw it most recently.
    const bool ok = decode::save_template_state(tables, d.opt.template_state, &err);
    if (ok) RTE_LOG(INFO, USER1, "template state saved to %s\n", d.opt.template_state.c_str());
    else RTE_LOG(ERR, USER1, "template state not saved: %s\n", err.c_str());
    return ok;
}

namespace {

// A launch failed: stop and join whatever already runs before the contexts go away.
void abort_launched() {
    flags().stop.store(true);
    flags().workers_stop.store(true);
    flags().sinks_stop.store(true);
    rte_eal_mp_wait_lcore();
}

enum class join_result { joined, timed_out, second_signal };

// Waits for `lcore` to finish, at most until `deadline`; a second signal ends the wait.
join_result join_lcore(unsigned lcore, std::chrono::steady_clock::time_point deadline) {
    while (rte_eal_get_lcore_state(lcore) != WAIT) {
        if (flags().signals.load(std::memory_order_relaxed) >= 2) return join_result::second_signal;
        if (std::chrono::steady_clock::now() >= deadline) return join_result::timed_out;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    rte_eal_wait_lcore(lcore);
    return join_result::joined;
}

// The forced exit: a second signal or a join past --shutdown-timeout. Saves
// the template state when the workers have joined (their tables are then
// quiescent), says what happened, and leaves without running destructors
// (an lcore may still be inside write(2) on a context we would free).
[[noreturn]] void exit_now(const daemon& d, join_result why, const char* what, unsigned id) {
    RTE_LOG(ERR, USER1, "shutdown: %s %u %s; exiting now\n", what, id,
            why == join_result::second_signal ? "not joined at the second signal"
                                              : "did not stop within --shutdown-timeout");
    if (!d.opt.template_state.empty()) {
        if (d.workers_joined) save_templates(d);
        else RTE_LOG(ERR, USER1, "template state not saved: the workers have not stopped\n");
    }
    std::fflush(log::stream());  // not stdout: it may be the stalled output
    std::_Exit(1);
}

}  // namespace

int run(daemon& d) {
    for (auto& w : d.workers) {
        const int ret = rte_eal_remote_launch(worker::worker_main, w.get(), w->lcore);
        if (ret != 0) abort_launched();
        if (ret != 0) throw std::runtime_error("worker " + std::to_string(w->id) + ": launch on lcore " +
                                               std::to_string(w->lcore) + " failed: " + rte_strerror(-ret));
    }
    for (auto& s : d.sinks) {
        const int ret = rte_eal_remote_launch(sinks::sink_main, s.get(), s->lcore);
        if (ret != 0) abort_launched();
        if (ret != 0) throw std::runtime_error("sink " + std::to_string(s->id) + ": launch on lcore " +
                                               std::to_string(s->lcore) + " failed: " + rte_strerror(-ret));
    }

    if (d.snmp) d.snmp->start();
    control_loop(d);
    if (d.snmp) d.snmp->stop();  // joins the polling thread: at most timeout x (retries + 1) of a poll in flight

    using clock = std::chrono::steady_clock;
    const auto bound = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(d.opt.shutdown_timeout));
    // 1. workers: stop rx, finish the burst in hand, expire fragments; join.
    flags().workers_stop.store(true, std::memory_order_relaxed);
    auto deadline = clock::now() + bound;
    for (auto& w : d.workers) {
        join_result j = join_lcore(w->lcore, deadline);
        if (j == join_result::timed_out && !flags().stop.load(std::memory_order_relaxed)) {
            // End of replay or --duration with a worker still waiting for ring
            // room (a stalled sink): end the wait as a signal would (the
            // records left are counted ring_full), then give it a moment.
            RTE_LOG(WARNING, USER1, "shutdown: worker %u still waiting for ring room after --shutdown-timeout; "
                    "dropping what is left (counted ring_full)\n", w->id);
            flags().stop.store(true, std::memory_order_relaxed);
            j = join_lcore(w->lcore, clock::now() + std::chrono::seconds(1));
        }
        if (j != join_result::joined) exit_now(d, j, "worker", w->id);
    }
    d.workers_joined = true;
    d.worker_log_lines += d.mail.drain({});  // the workers' last lines
    // 2. ports
    for (auto& p : d.ports) p->stop();
    // 3. template state
    if (!d.opt.template_state.empty()) save_templates(d);
    if (flags().signals.load(std::memory_order_relaxed) >= 2) {
        d.opt.template_state.clear();  // saved just above
        exit_now(d, join_result::second_signal, "sink", 0);
    }
    // 4. sinks: drain every ring, then join.
    flags().sinks_stop.store(true, std::memory_order_release);
    deadline = clock::now() + bound;
    for (auto& s : d.sinks)
        if (const join_result j = join_lcore(s->lcore, deadline); j != join_result::joined) {
            // Saved above already: do not write the file twice.
            d.opt.template_state.clear();
            exit_now(d, j, "sink", s->id);
        }
    d.sinks_joined = true;
    reclaim(d);  // the blocks a reload retired: no sink core can hold one now
    // 5. flush: each sink core flushed its own outputs before it returned.
    // 6. final stats
    write_final_stats(d);
    return 0;
}

}  // namespace sluice::control
