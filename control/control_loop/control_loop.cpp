// SPDX-License-Identifier: Apache-2.0
// The control loop and the reports it writes (see control_loop.hpp).
#include "control_loop.hpp"

#include <rte_cycles.h>
#include <rte_log.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "control/commands/commands_ctl.hpp"
#include "control/daemon/daemon.hpp"
#include "control/log/log_stream.hpp"
#include "control/template_saver/template_saver.hpp"
#include "enrich/extrapolate/reading.hpp"

namespace sluice::control {

report_meta meta_of(const daemon& d) {
    report_meta m;
    m.tsc_hz = d.wcfg.tsc_hz;
    // The first output's current file: its sink core writes that name when
    // it rolls, so it is read only once the sinks joined; before, the
    // configured path.
    const bool any = !d.opt.discard && !d.sinks.empty() && !d.sinks[0]->outputs.empty();
    // A Kafka output names its brokers and topic instead (kafka://BROKERS/TOPIC), an hdfs output its destination.
    const sinks::output_slot* first = any ? d.sinks[0]->outputs[0].get() : nullptr;
    m.json_out = d.opt.discard          ? "(discarded)"
                 : !any                 ? ""
                 : first->kafka         ? "kafka://" + first->cfg->kafka.brokers + "/" + first->cfg->kafka.topic
                 : first->hdfs          ? first->cfg->hdfs.dest
                 : d.sinks_joined       ? first->writer->current_path()
                                        : first->cfg->file.path;
    m.elapsed_s = double(rte_rdtsc() - d.start_tsc) / double(d.wcfg.tsc_hz);
    return m;
}

bool write_stats_json(const daemon& d, const snapshot& s) {
    const std::string tmp = d.opt.stats_json + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr) {
        RTE_LOG(ERR, USER1, "cannot write %s: %s\n", tmp.c_str(), std::strerror(errno));
        return false;
    }
    write_json(f, s, meta_of(d));
    const bool ok = std::fflush(f) == 0 && !std::ferror(f);
    std::fclose(f);
    if (!ok || std::rename(tmp.c_str(), d.opt.stats_json.c_str()) != 0) {
        RTE_LOG(ERR, USER1, "cannot write %s: %s\n", d.opt.stats_json.c_str(), std::strerror(errno));
        std::remove(tmp.c_str());
        return false;
    }
    return true;
}

namespace {

// End of replay: every packet of every file was received or lost by the PMD.
bool replay_done(const daemon& d, const snapshot& s) {
    const std::size_t g_port = s.find_group("dataplane", groups::port);
    const std::size_t g_worker = s.find_group("dataplane", groups::worker);
    const std::size_t rx = s.row(g_worker, "rx_packets");
    const std::size_t nombuf = s.row(g_port, "rx_nombuf"), ierrors = s.row(g_port, "ierrors");
    bool any = false;
    for (std::size_t i = 0; i < d.ports.size(); ++i) {
        if (d.expected[i] == 0) {
            if (i < d.opt.pcaps.size()) continue;  // an empty capture is done at once
            return false;                          // a live port: never done
        }
        any = true;
        const std::string id = std::to_string(d.ports[i]->id());
        uint64_t seen = 0;
        s.each(g_port, [&](const series& p) {
            if (p.find("port")->value == id) seen += p.get(nombuf) + p.get(ierrors);
        });
        s.each(g_worker, [&](const series& w) {
            if (w.find("port")->value == id) seen += w.get(rx);
        });
        if (seen < d.expected[i]) return false;
    }
    return any || !d.opt.pcaps.empty();
}

}  // namespace

// Rows of a new SNMP snapshot that a poll has just read, to every worker's
// reading ring (enrich/extrapolate/reading.hpp). Never blocks: a full ring
// drops the reading, counted.
static void feed_snmp(daemon& d) {
    const std::shared_ptr<const enrich::snmp::snapshot> s = d.snmp->current();
    if (s->generation == d.feed.generation) return;
    d.feed.generation = s->generation;
    uint64_t newest = d.feed.polled_at_ns;
    for (const enrich::snmp::interface_info& i : s->interfaces) {
        constexpr uint8_t both = enrich::snmp::have::in_octets | enrich::snmp::have::out_octets;
        if ((i.have & both) != both || i.polled_at_ns <= d.feed.polled_at_ns) continue;
        newest = std::max(newest, i.polled_at_ns);
        enrich::extrapolate::reading r{};
        std::memcpy(r.exporter, i.exporter.data(), 16);
        r.ifindex = i.ifindex;
        r.in_octets = i.in_octets;
        r.out_octets = i.out_octets;
        r.t_ns = i.polled_at_ns;
        for (const auto& ring : d.reading_rings)
            d.feed.counters.add(rte_ring_sp_enqueue_elem(ring.get(), &r, sizeof r) == 0
                                    ? enrich::snmp::feed_counter::readings_sent
                                    : enrich::snmp::feed_counter::readings_dropped);
    }
    d.feed.polled_at_ns = newest;
}

// --rules changed on disk: compile and publish (here, off the workers); a
// file that fails keeps the current rules, logged with file, line and rule.
static void reload_rules_if_changed(daemon& d) {
    const int64_t m = file_mtime_ns(d.opt.rules);
    if (m == d.rules_mtime_ns) return;
    d.rules_mtime_ns = m;
    std::string err;
    if (d.enrich && compile_derive_rules(d, &err)) d.enrich->request_reload();  // attribute rules: rebuild the tables
    if (d.classifier->reload(d.opt.rules, &err))
        RTE_LOG(INFO, USER1, "rules %s reloaded: generation %lu\n", d.opt.rules.c_str(),
                (unsigned long)d.classifier->acquire()->generation);
    else
        RTE_LOG(ERR, USER1, "rules not reloaded, the previous ones stay: %s\n", err.c_str());
}

void control_loop(daemon& d) {
    using clock = std::chrono::steady_clock;
    const bool replay = d.opt.ports.empty();
    auto last = clock::now();
    const auto start = last;
    auto last_progress = last;
    auto last_json = last;
    snapshot prev = d.counters.read(phase::live);
    const std::size_t g_worker = prev.find_group("dataplane", groups::worker);
    uint64_t last_seen = 0;
    // Replay stall guard: net_pcap gave nothing for this long although the
    // file count says more should come (a truncated capture): stop anyway.
    constexpr auto k_replay_stall = std::chrono::seconds(5);
    template_saver saver(d);
    auto last_rules_check = last;

    while (!flags().stop.load(std::memory_order_relaxed)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        const auto now = clock::now();
        d.worker_log_lines += d.mail.drain([&](const worker::event& e) {
            saver.on_ack(e);
            control_api_on_event(d, e);
        });
        d.qsbr->tick(now);
        // The template saver and the control API's `templates` share the
        // workers' snapshot buffers: one round at a time.
        if (!control_api_snapshot_pending(d)) saver.tick(now);
        control_api_tick(d, saver.pending());
        if (flags().reload.exchange(false, std::memory_order_relaxed)) {  // SIGHUP
            if (!d.config.file.empty()) reload_config(d);
            if (d.enrich) d.enrich->request_reload();
        }
        enrich_tick(d);  // a new SNMP snapshot rebuilds the tables
        if (d.enrich) d.enrich->tick(now);
        reclaim(d);
        if (d.snmp && !d.reading_rings.empty()) feed_snmp(d);
        if (d.classifier) {
            d.classifier->reclaim();
            if (now - last_rules_check >= std::chrono::seconds(1)) {
                last_rules_check = now;
                reload_rules_if_changed(d);
            }
        }
        if (replay) {
            const snapshot r = d.counters.read(phase::live);
            if (replay_done(d, r)) {
                RTE_LOG(INFO, USER1, "replay: every packet of every file received; stopping\n");
                break;
            }
            const uint64_t seen = r.sum(g_worker, "rx_packets");
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
            snapshot r = d.counters.read(phase::live);
            RTE_LOG(INFO, USER1, "%s\n", summary_line(r, &prev, dt).c_str());
            prev = std::move(r);
            last = now;
        }
        if (d.opt.stats_json_interval > 0 &&
            std::chrono::duration<double>(now - last_json).count() >= d.opt.stats_json_interval) {
            write_stats_json(d, d.counters.read(phase::live));
            last_json = now;
        }
    }
}

void write_final_stats(const daemon& d) {
    const snapshot s = d.counters.read(phase::final);
    write_text(log::stream(), s, meta_of(d));
    std::fflush(log::stream());
    if (!d.opt.stats_json.empty()) write_stats_json(d, s);
}

}  // namespace sluice::control
