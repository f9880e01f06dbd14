// SPDX-License-Identifier: Apache-2.0
// The control loop and the reports it writes (see control_loop.hpp).
#include "control_loop.hpp"

#include <rte_cycles.h>
#include <rte_log.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "control/daemon/daemon.hpp"
#include "control/log/log_stream.hpp"
#include "control/template_saver/template_saver.hpp"

namespace sluice::control {

report_meta meta_of(const daemon& d) {
    report_meta m;
    m.tsc_hz = d.wcfg.tsc_hz;
    // The first output's current file: its sink core writes that name when
    // it rolls, so it is read only once the sinks joined; before, the
    // configured path.
    const bool any = !d.opt.discard && !d.sinks.empty() && !d.sinks[0]->outputs.empty();
    m.json_out = d.opt.discard   ? "(discarded)"
                 : !any          ? ""
                 : d.sinks_joined ? d.sinks[0]->outputs[0]->writer->current_path()
                                  : d.sinks[0]->outputs[0]->cfg->file.path;
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

    while (!flags().stop.load(std::memory_order_relaxed)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        const auto now = clock::now();
        d.worker_log_lines += d.mail.drain([&](const worker::event& e) { saver.on_ack(e); });
        d.qsbr->tick(now);
        saver.tick(now);
        if (d.enrich) {
            if (flags().reload.exchange(false, std::memory_order_relaxed)) d.enrich->request_reload();
            d.enrich->tick(now);
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
