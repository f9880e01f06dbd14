// SPDX-License-Identifier: Apache-2.0
// The control API in sluiced: command handlers over the daemon, socket and listener set-up, DPDK telemetry (see commands_ctl.hpp).
#include "commands_ctl.hpp"

#include <grp.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_ring.h>
#include <rte_telemetry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "control/commands/json.hpp"
#include "control/commands/templates.hpp"
#include "control/template_saver/template_saver.hpp"
#include "control/control_loop/control_loop.hpp"
#include "control/daemon/daemon.hpp"
#include "control/log/log_stream.hpp"
#include "control/stats/stats.hpp"
#include "dataplane/decode/record_format.hpp"

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "unknown"
#endif

namespace sluice::control {

namespace {

using commands::command;
using commands::error_code;
using commands::outcome;
using commands::request;

// ---- helpers over a registry snapshot ----

uint64_t row_of(const snapshot& s, const series& x, std::string_view name) {
    const std::size_t r = s.row(x.group, name);
    return r == SIZE_MAX ? 0 : x.get(r);
}

std::string label_or(const series& x, std::string_view k, std::string def = {}) {
    const label* l = x.find(k);
    return l ? l->value : def;
}

// Every non-zero row of kind error or drop, as {name: value}.
void losses(json::writer& w, const snapshot& s, const series& x) {
    w.begin_object();
    const auto rows = s.groups[x.group].rows;
    for (std::size_t r = 0; r < rows.size(); ++r)
        if (counters::is_loss(rows[r].k) && x.get(r) != 0) w.key(rows[r].name).num(x.get(r));
    w.end_object();
}

std::string addr_text(const uint8_t a[16]) {
    char t[46];
    const std::size_t n = decode::format_address(a, t);
    return n ? std::string(t, n) : std::string("::");
}

const char* log_level_name(uint32_t l) {
    static const char* const names[] = {"", "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};
    return l < std::size(names) ? names[l] : "?";
}

// ---- handlers ----

outcome do_status(daemon& d, command_context& c) {
    json::writer w;
    w.begin_object();
    w.key("version").str(SLUICE_VERSION);
    w.key("pid").num(uint64_t(getpid()));
    w.key("uptime_s").real(std::chrono::duration<double>(std::chrono::steady_clock::now() - c.started).count());
    // The TOML configuration (issue 9) is not in this build: the command line is the configuration.
    w.key("config_file").null();
    w.key("mode").str(d.opt.ports.empty() ? "replay" : "live");
    w.key("control_socket").str(c.server ? c.server->path() : "");
    w.key("metrics_listen").str(c.metrics_url);
    w.key("cores").begin_array();
    w.begin_object().key("lcore").num(rte_get_main_lcore()).key("role").str("control").end_object();
    for (const auto& wk : d.workers)
        w.begin_object()
            .key("lcore").num(wk->lcore).key("role").str("worker").key("worker").num(wk->id)
            .key("port").num(wk->port_id).key("queue").num(wk->queue_id)
            .end_object();
    for (const auto& s : d.sinks)
        w.begin_object().key("lcore").num(s->lcore).key("role").str("sink").key("sink").num(s->id).end_object();
    w.end_array();
    w.key("ports").begin_array();
    for (const auto& p : d.ports) {
        rte_eth_link link{};
        const int rc = rte_eth_link_get_nowait(p->id(), &link);
        w.begin_object().key("port").num(p->id()).key("name").str(p->name()).key("driver").str(p->driver());
        w.key("queues").num(p->queues());
        if (rc == 0) {
            w.key("link").str(link.link_status ? "up" : "down");
            w.key("speed_mbps").num(link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : link.link_speed);
            w.key("duplex").str(link.link_duplex ? "full" : "half");
        } else {
            w.key("link").str(std::string("unknown: ") + rte_strerror(-rc));
        }
        w.end_object();
    }
    w.end_array();
    w.end_object();
    return outcome::success(w.take());
}

outcome do_stats(daemon& d) {
    const snapshot s = d.counters.read(phase::live);
    json::writer w;
    w.begin_object();
    w.key("elapsed_s").real(meta_of(d).elapsed_s);
    w.key("tsc_hz").num(d.wcfg.tsc_hz);
    const std::size_t g_port = s.find_group("dataplane", groups::port);
    w.key("ports").begin_array();
    s.each(g_port, [&](const series& x) {
        const uint16_t id = uint16_t(std::stoul(label_or(x, "port", "0")));
        w.begin_object().key("port").num(id).key("name").str(label_or(x, "name"));
        w.key("rx").num(row_of(s, x, "ipackets")).key("rx_bytes").num(row_of(s, x, "ibytes"));
        w.key("missed").num(row_of(s, x, "imissed")).key("errors").num(row_of(s, x, "ierrors"));
        w.key("mbuf_failures").num(row_of(s, x, "rx_nombuf"));
        // Per queue: what the PMD reports (RTE_ETHDEV_QUEUE_STAT_CNTRS queues at most).
        rte_eth_stats st{};
        w.key("queues").begin_array();
        if (rte_eth_stats_get(id, &st) == 0) {
            rte_eth_dev_info info{};
            const unsigned nq = rte_eth_dev_info_get(id, &info) == 0 ? info.nb_rx_queues : 0;
            for (unsigned q = 0; q < nq && q < RTE_ETHDEV_QUEUE_STAT_CNTRS; ++q)
                w.begin_object().key("queue").num(q).key("rx").num(st.q_ipackets[q]).key("rx_bytes").num(st.q_ibytes[q])
                    .key("errors").num(st.q_errors[q]).end_object();
        }
        w.end_array();
        w.end_object();
    });
    w.end_array();

    const std::size_t g_worker = s.find_group("dataplane", groups::worker);
    const std::size_t g_cycles = s.find_group("dataplane", groups::worker_cycles);
    std::map<std::string, uint64_t> cycles;
    s.each(g_cycles, [&](const series& x) {
        uint64_t t = 0;
        for (uint64_t v : x.values) t += v;
        cycles[label_or(x, "worker")] = t;
    });
    w.key("workers").begin_array();
    s.each(g_worker, [&](const series& x) {
        const std::string id = label_or(x, "worker");
        const uint64_t rx = row_of(s, x, "rx_packets");
        w.begin_object().key("worker").raw(id).key("lcore").raw(label_or(x, "lcore", "0"));
        w.key("port").raw(label_or(x, "port", "0")).key("queue").raw(label_or(x, "queue", "0"));
        w.key("packets").num(rx).key("datagrams").num(row_of(s, x, "datagrams"));
        w.key("records").num(row_of(s, x, "records")).key("records_enqueued").num(row_of(s, x, "records_enqueued"));
        w.key("cycles").num(cycles[id]);
        w.key("cycles_per_packet").real(rx ? double(cycles[id]) / double(rx) : 0.0);
        w.key("drops");
        losses(w, s, x);
        w.end_object();
    });
    w.end_array();

    w.key("rings").begin_array();
    for (std::size_t wi = 0; wi < d.rings.size(); ++wi)
        for (std::size_t si = 0; si < d.rings[wi].size(); ++si) {
            rte_ring* r = d.rings[wi][si].get();
            w.begin_object().key("worker").num(wi).key("sink").num(si);
            w.key("depth").num(rte_ring_count(r)).key("capacity").num(rte_ring_get_capacity(r));
            w.key("high_water").num(ring::high_water(r));
            w.end_object();
        }
    w.end_array();

    const std::size_t g_out = s.find_group("sinks", groups::sink_output);
    const std::size_t g_file = s.find_group("sinks", groups::sink_file);
    struct out_sum { uint64_t in = 0, filtered = 0, downsampled = 0, encoded = 0, written = 0, failed = 0; };
    std::vector<std::pair<std::string, out_sum>> outs;
    s.each(g_out, [&](const series& x) {
        const std::string name = label_or(x, "output");
        auto it = std::find_if(outs.begin(), outs.end(), [&](const auto& p) { return p.first == name; });
        if (it == outs.end()) {
            outs.emplace_back(name, out_sum{});
            it = outs.end() - 1;
        }
        it->second.in += row_of(s, x, "in");
        it->second.filtered += row_of(s, x, "filtered");
        it->second.downsampled += row_of(s, x, "downsampled");
        it->second.encoded += row_of(s, x, "encoded");
        it->second.written += row_of(s, x, "written");
        it->second.failed += row_of(s, x, "failed");
    });
    (void)g_file;
    w.key("outputs").begin_array();
    for (const auto& [name, o] : outs) {
        const uint64_t done = o.written + o.failed;
        w.begin_object().key("output").str(name).key("offered").num(o.in).key("filtered").num(o.filtered);
        w.key("downsampled").num(o.downsampled).key("queued").num(o.encoded > done ? o.encoded - done : 0);
        w.key("delivered").num(o.written).key("failed").num(o.failed).end_object();
    }
    w.end_array();

    // The sink cores' enrichment member caches, summed over sink cores (0 with enrichment off).
    const std::size_t g_sink = s.find_group("sinks", groups::sink_stage);
    w.key("member_cache").begin_object();
    for (const std::string_view f : {"json", "ecs"})
        for (const std::string_view r : {"hits", "misses"}) {
            const std::string row = "member_cache_" + std::string(f) + "_" + std::string(r);
            w.key(std::string(f) + "_" + std::string(r)).num(g_sink == SIZE_MAX ? 0 : s.sum(g_sink, row));
        }
    w.end_object();

    w.key("totals").begin_object();
    for (const std::string_view r : {"rx_packets", "datagrams", "records", "records_enqueued", "ring_full"})
        w.key(r).num(s.sum(g_worker, r));
    w.end_object();
    w.end_object();
    return outcome::success(w.take());
}

outcome do_exporters(daemon& d) {
    struct agg {
        decode::counter_block c{};
        uint64_t first = UINT64_MAX, last = 0;
        uint32_t forced = 0;
        std::vector<unsigned> workers;
    };
    std::map<std::string, agg> all;
    for (const auto& wk : d.workers)
        wk->exporters->read_live(
            [&](const decode::exporter_view& e) {
                agg& a = all[addr_text(e.addr)];
                a.c += e.counters;
                a.first = std::min(a.first, e.first_seen_ns);
                a.last = std::max(a.last, e.last_seen_ns);
                a.forced = std::max(a.forced, e.sampling_override);  // every worker holds the same entries
                a.workers.push_back(wk->id);
            },
            nullptr);
    auto get = [](const decode::counter_block& b, std::string_view n) -> uint64_t {
        for (std::size_t i = 0; i < decode::counter_table.size(); ++i)
            if (decode::counter_table[i].name == n) return b.v[i];
        return 0;
    };
    json::writer w;
    w.begin_array();
    for (const auto& [addr, a] : all) {
        w.begin_object().key("exporter").str(addr);
        w.key("workers").begin_array();
        for (unsigned x : a.workers) w.num(x);
        w.end_array();
        for (std::string_view n : {"datagrams", "datagram_bytes", "flow_records", "counter_records", "options_records",
                                   "templates_learned", "options_templates_learned", "templates_expired",
                                   "template_withdrawals", "sampling_rates_learned", "sequence_lost", "sequence_resets"})
            w.key(n).num(get(a.c, n));
        uint64_t errors = 0, deviations = 0;
        for (std::size_t i = 0; i < decode::counter_table.size(); ++i) {
            if (decode::counter_table[i].k == counters::kind::error) errors += a.c.v[i];
            if (decode::counter_table[i].k == counters::kind::deviation) deviations += a.c.v[i];
        }
        w.key("errors").num(errors).key("deviations").num(deviations);
        w.key("sampling_override").num(a.forced);
        w.key("first_seen_ns").num(a.first).key("last_seen_ns").num(a.last);
        w.end_object();
    }
    w.end_array();
    return outcome::success(w.take());
}

outcome do_outputs(daemon& d) {
    const snapshot s = d.counters.read(phase::live);
    const std::size_t g_out = s.find_group("sinks", groups::sink_output);
    const std::size_t g_file = s.find_group("sinks", groups::sink_file);
    json::writer w;
    w.begin_array();
    if (!d.opt.discard)
        for (const sinks::output_config& oc : d.opt.sink.outputs) {
            w.begin_object().key("output").str(oc.name).key("format").str("json").key("writer").str("file");
            w.key("path").str(oc.file.path).key("filter").str(oc.filter).key("sample").num(oc.sample);
            w.key("sink_cores").num(d.sinks.size());
            w.key("counters").begin_object();
            const auto orows = s.groups[g_out].rows;
            for (std::size_t r = 0; r < orows.size(); ++r) {
                uint64_t t = 0;
                s.each(g_out, [&](const series& x) {
                    if (label_or(x, "output") == oc.name) t += x.get(r);
                });
                w.key(orows[r].name).num(t);
            }
            const auto frows = s.groups[g_file].rows;
            for (std::size_t r = 0; r < frows.size(); ++r) {
                uint64_t t = 0;
                s.each(g_file, [&](const series& x) {
                    if (label_or(x, "output") == oc.name) t += x.get(r);
                });
                w.key(std::string("file_") + std::string(frows[r].name)).num(t);
            }
            w.end_object();
            w.end_object();
        }
    w.end_array();
    return outcome::success(w.take());
}

outcome do_log_level(const request& rq) {
    if (rq.has("level")) {
        const std::string_view want = rq.arg("level");
        uint32_t lvl = 0;
        for (uint32_t l = RTE_LOG_EMERG; l <= RTE_LOG_DEBUG; ++l)
            if (want == log_level_name(l)) lvl = l;
        if (lvl == 0)
            return outcome::error(error_code::bad_args, "level \"" + std::string(want) +
                                                            "\": one of emerg, alert, crit, err, warning, notice, info, debug");
        rte_log_set_global_level(lvl);
        rte_log_set_level(RTE_LOGTYPE_USER1, lvl);
        RTE_LOG(NOTICE, USER1, "control: log level set to %s\n", log_level_name(lvl));
    }
    json::writer w;
    // The effective level of sluiced's own lines: the lower of the global and the USER1 type's.
    const int type_level = rte_log_get_level(RTE_LOGTYPE_USER1);
    const uint32_t eff = std::min<uint32_t>(rte_log_get_global_level(), type_level < 0 ? RTE_LOG_DEBUG : uint32_t(type_level));
    w.begin_object().key("level").str(log_level_name(eff)).end_object();
    return outcome::success(w.take());
}

outcome do_flush(daemon& d) {
    json::writer w;
    w.begin_object();
    if (!d.opt.stats_json.empty()) {
        const bool ok = write_stats_json(d, d.counters.read(phase::live));
        if (!ok) return outcome::error(error_code::failed, "cannot write " + d.opt.stats_json + " (see the log)");
        w.key("stats_json").str(d.opt.stats_json);
    } else {
        w.key("stats_json").null();
    }
    std::fflush(log::stream());
    w.key("log").str("flushed");
    w.end_object();
    return outcome::success(w.take());
}

outcome do_shutdown() {
    RTE_LOG(NOTICE, USER1, "control: shutdown requested over the control socket\n");
    flags().stop.store(true, std::memory_order_relaxed);
    return outcome::success("{\"stopping\":true}");
}

// The registry's counters plus the ring gauges (depth, sampled high-water mark), which are not counters.
std::string metrics_text(daemon& d, command_context& c) {
    std::string t = metrics::exposition(d.counters.read(phase::live), c.exporters);
    t += "# HELP sluice_dataplane_ring_depth Records in a worker-to-sink ring now.\n"
         "# TYPE sluice_dataplane_ring_depth gauge\n";
    for (std::size_t w = 0; w < d.rings.size(); ++w)
        for (std::size_t s = 0; s < d.rings[w].size(); ++s)
            t += "sluice_dataplane_ring_depth{worker=\"" + std::to_string(w) + "\",sink=\"" + std::to_string(s) + "\"} " +
                 std::to_string(rte_ring_count(d.rings[w][s].get())) + "\n";
    t += "# HELP sluice_dataplane_ring_high_water Highest ring depth after a worker's commit (an upper bound: the "
         "sink's progress during the burst is not subtracted).\n"
         "# TYPE sluice_dataplane_ring_high_water gauge\n";
    for (std::size_t w = 0; w < d.rings.size(); ++w)
        for (std::size_t s = 0; s < d.rings[w].size(); ++s)
            t += "sluice_dataplane_ring_high_water{worker=\"" + std::to_string(w) + "\",sink=\"" + std::to_string(s) +
                 "\"} " + std::to_string(ring::high_water(d.rings[w][s].get())) + "\n";
    return t;
}

outcome do_metrics(daemon& d, command_context& c) {
    const std::string text = metrics_text(d, c);
    json::writer w;
    w.begin_object().key("format").str("prometheus-text-0.0.4").key("text").str(text).end_object();
    return outcome::success(w.take());
}

outcome call_hook(const command_context::hook& h, const request& rq, std::string_view what) {
    if (!h) return outcome::error(error_code::not_configured, "not configured: " + std::string(what));
    return h(rq);
}

// ---- DPDK telemetry ----

// What the telemetry thread reads: process-lifetime (the telemetry thread
// outlives the daemon's contexts until rte_eal_cleanup).
struct tel_store {
    std::mutex m;
    std::vector<command_context::tel_group> groups;
};
tel_store& tel() {
    static tel_store* t = new tel_store;  // never destroyed: a late telemetry call finds it
    return *t;
}

int tel_groups(const char*, const char*, rte_tel_data* out) {
    rte_tel_data_start_array(out, RTE_TEL_STRING_VAL);
    std::lock_guard lk(tel().m);
    for (const auto& g : tel().groups) rte_tel_data_add_array_string(out, g.name.c_str());
    return 0;
}

int tel_counters(const char*, const char* params, rte_tel_data* out) {
    if (params == nullptr || *params == '\0') return -EINVAL;
    std::lock_guard lk(tel().m);
    for (const auto& g : tel().groups) {
        if (g.name != params) continue;
        rte_tel_data_start_dict(out);
        for (const auto& [k, v] : g.rows) rte_tel_data_add_dict_u64(out, k.c_str(), v);
        return 0;
    }
    return -EINVAL;
}

void refresh_telemetry(daemon& d) {
    const snapshot s = d.counters.read(phase::live);
    std::vector<command_context::tel_group> t;
    for (std::size_t g = 0; g < s.groups.size(); ++g) {
        command_context::tel_group x{s.groups[g].stage + "_" + s.groups[g].component, {}};
        // A telemetry dict holds RTE_TEL_MAX_DICT_ENTRIES entries.
        for (std::size_t r = 0; r < s.groups[g].rows.size() && r < RTE_TEL_MAX_DICT_ENTRIES; ++r)
            x.rows.emplace_back(std::string(s.groups[g].rows[r].name), s.sum(g, s.groups[g].rows[r].name));
        t.push_back(std::move(x));
    }
    std::lock_guard lk(tel().m);
    tel().groups = std::move(t);
}

gid_t group_id(const std::string& flag, const std::string& name) {
    if (name.empty()) return gid_t(-1);
    if (name.find_first_not_of("0123456789") == std::string::npos) return gid_t(std::stoul(name));
    const ::group* g = getgrnam(name.c_str());
    if (g == nullptr) throw std::runtime_error(flag + " " + name + ": no such group");
    return g->gr_gid;
}

}  // namespace

void setup_control_api(daemon& d) {
    auto c = std::make_shared<command_context>();
    command_context& ctx = *c;
    d.api = c;
    ctx.exporters.max = d.opt.metrics_max_exporters;

    commands::access_policy pol;
    pol.owner = geteuid();
    pol.read_group = group_id("--control-group", d.opt.control_group);
    pol.admin_group = group_id("--control-admin-group", d.opt.control_admin_group);
    ctx.dispatch = std::make_unique<commands::dispatcher>(
        pol, [](const std::string& m) { RTE_LOG(WARNING, USER1, "%s\n", m.c_str()); });
    commands::dispatcher& disp = *ctx.dispatch;
    disp.bind(command::status, [&d, &ctx](const request&, const sock::peer&) { return do_status(d, ctx); });
    disp.bind(command::stats, [&d](const request&, const sock::peer&) { return do_stats(d); });
    disp.bind(command::exporters, [&d](const request&, const sock::peer&) { return do_exporters(d); });
    disp.bind(command::outputs, [&d](const request&, const sock::peer&) { return do_outputs(d); });
    disp.bind(command::log_level, [](const request& rq, const sock::peer&) { return do_log_level(rq); });
    disp.bind(command::flush, [&d](const request&, const sock::peer&) { return do_flush(d); });
    disp.bind(command::shutdown, [](const request&, const sock::peer&) { return do_shutdown(); });
    disp.bind(command::metrics, [&d, &ctx](const request&, const sock::peer&) { return do_metrics(d, ctx); });
    disp.bind(command::reload, [&ctx](const request& rq, const sock::peer&) {
        return call_hook(ctx.reload, rq, "reload needs the configuration file support (issue 9, Configuration)");
    });
    disp.bind(command::lookup, [&ctx](const request& rq, const sock::peer&) {
        return call_hook(ctx.lookup, rq, "lookup needs the enrichment stage, which this daemon does not run");
    });
    disp.bind(command::top, [&ctx](const request& rq, const sock::peer&) {
        return call_hook(ctx.top, rq, "top needs the sinks' aggregation windows, which this daemon does not run");
    });
    disp.bind(command::templates, [&ctx](const request& rq, const sock::peer&) {
        ctx.templates.waiting.emplace_back(ctx.server->current_client(), std::string(rq.arg("exporter")));
        return outcome::later();  // answered by control_api_tick once every worker acked
    });

    const std::string& path = d.opt.control_socket;
    if (path != "none") {
        sock::config sc;
        sc.path = path;
        sc.group = pol.read_group != gid_t(-1) ? pol.read_group : pol.admin_group;
        try {
            // The default directory: created for root (0755; the socket itself is 0660).
            if (!d.opt.control_socket_given) mkdir("/run/sluice", 0755);
            ctx.server = std::make_unique<sock::server>(
                sc, [&disp](std::string_view line, const sock::peer& p) { return disp.handle(line, p); });
            disp.count_into(&ctx.server->counters());
            RTE_LOG(INFO, USER1, "control socket %s (mode 0660)\n", path.c_str());
        } catch (const std::exception& e) {
            if (d.opt.control_socket_given) throw;
            RTE_LOG(WARNING, USER1, "%s; control socket off (give --control-socket PATH)\n", e.what());
        }
    }
    const std::size_t g_sock = d.counters.add_group("control", "socket", sock::counter_table);
    d.counters.add_block(g_sock, {}, ctx.server ? ctx.server->counters() : ctx.fallback_counters);

    if (!d.opt.metrics_listen.empty()) {
        metrics::listen_address a;
        try {
            a = metrics::parse_listen(d.opt.metrics_listen);
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error("--metrics-listen " + d.opt.metrics_listen + ": " + e.what());
        }
        ctx.http = std::make_unique<metrics::http_listener>(
            a, [&d, &ctx] { return metrics_text(d, ctx); });
        const bool v6 = a.host.find(':') != std::string::npos;
        ctx.metrics_url = "http://" + (v6 ? "[" + a.host + "]" : a.host) + ":" + std::to_string(ctx.http->port()) + "/metrics";
        RTE_LOG(INFO, USER1, "metrics on %s\n", ctx.metrics_url.c_str());
    }

    refresh_telemetry(d);
    rte_telemetry_register_cmd("/sluice/groups", tel_groups, "Counter groups (<stage>_<component>) of sluiced.");
    rte_telemetry_register_cmd("/sluice/counters", tel_counters,
                               "Counters of one group summed over its instances. Parameters: <stage>_<component>");
}

namespace {

void answer_templates(command_context& c, const std::function<std::string(const std::string& filter)>& make) {
    for (const auto& [client, filter] : c.templates.waiting) {
        const std::string line = make(filter);
        const bool ok = line.find("\"ok\":true") != std::string::npos;
        c.server->counters().add(ok ? sock::counter::replies_ok : sock::counter::replies_error);
        c.server->reply(client, line);
    }
    c.templates.waiting.clear();
    c.templates.pending = false;
}

// The `templates` round: ask when neither it nor the saver's is out, answer when every worker acked.
void templates_tick(daemon& d, command_context& c, bool saver_pending) {
    auto& t = c.templates;
    if (!c.server || (t.waiting.empty() && !t.pending)) return;
    const auto now = std::chrono::steady_clock::now();
    if (!t.pending) {
        if (saver_pending) return;
        ++t.round;
        t.answered.assign(d.workers.size(), false);
        t.answers = 0;
        const worker::command cmd{.kind = worker::command_kind::snapshot_template_state, .rate = 0,
                                  .seq = command_context::k_templates_seq | t.round, .addr = {}};
        if (!d.mail.send_all(cmd)) {
            answer_templates(c, [](const std::string&) {
                return commands::error_reply(error_code::busy, "a worker mailbox is full; try again");
            });
            return;
        }
        t.pending = true;
        t.asked = now;
        return;
    }
    if (t.answers == d.workers.size()) {
        // Every worker wrote its snapshot before its ack, and no other
        // snapshot command is out (the saver waits while this round is
        // pending; the mailbox is FIFO): the buffers are stable.
        std::vector<std::span<const uint8_t>> snaps;
        bool empty = false;
        for (const auto& w : d.workers) {
            empty |= w->snapshot.empty();
            snaps.emplace_back(w->snapshot.data(), w->snapshot.size());
        }
        answer_templates(c, [&](const std::string& filter) {
            if (empty) return commands::error_reply(error_code::failed, "a worker could not serialize (out of memory)");
            std::string out, err;
            if (!commands::templates_json(snaps, filter, out, err)) return commands::error_reply(error_code::failed, err);
            return commands::ok_reply(out);
        });
    } else if (now - t.asked >= template_saver::k_answer_timeout) {
        answer_templates(c, [](const std::string&) {
            return commands::error_reply(error_code::failed, "a worker did not answer within 5 s (stuck on a full ring?)");
        });
    }
}

}  // namespace

void control_api_on_event(daemon& d, const worker::event& e) {
    command_context* c = d.api.get();
    if (c == nullptr || !c->templates.pending || e.acked != worker::command_kind::snapshot_template_state ||
        e.seq != (command_context::k_templates_seq | c->templates.round))
        return;
    if (e.worker < c->templates.answered.size() && !c->templates.answered[e.worker]) {
        c->templates.answered[e.worker] = true;
        ++c->templates.answers;
    }
}

bool control_api_snapshot_pending(const daemon& d) noexcept { return d.api && d.api->templates.pending; }

void control_api_tick(daemon& d, bool saver_pending) {
    command_context* c = d.api.get();
    if (c == nullptr) return;
    templates_tick(d, *c, saver_pending);
    const auto now = std::chrono::steady_clock::now();
    if (c->server) c->server->poll(now);
    if (c->http) c->http->poll(now);
    if (now - c->tel_refreshed >= std::chrono::seconds(1)) {
        refresh_telemetry(d);
        c->tel_refreshed = now;
    }
}

}  // namespace sluice::control
