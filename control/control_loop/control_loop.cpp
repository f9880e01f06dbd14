// SPDX-License-Identifier: Apache-2.0
// The control loop and the reports it prints (see control_loop.hpp).
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

report take_report(const daemon& d, bool with_exporters) {
    report r;
    r.tsc_hz = d.wcfg.tsc_hz;
    // current_path() takes the writer's mutex, which a sink holds across a
    // write(2) that may never return (a stalled pipe): only once they joined.
    r.json_out = d.opt.discard ? "(discarded)"
                 : !d.writer   ? ""
                 : d.sinks_joined ? d.writer->current_path()
                                  : d.opt.json.path;
    r.elapsed_s = double(rte_rdtsc() - d.start_tsc) / double(d.wcfg.tsc_hz);
    for (std::size_t i = 0; i < d.ports.size(); ++i) {
        const auto& p = *d.ports[i];
        const port::port_stats s = p.stats();
        r.ports.push_back({.name = p.name(), .driver = p.driver(), .id = p.id(), .queues = p.queues(),
                           .ipackets = s.ipackets, .ibytes = s.ibytes, .imissed = s.imissed, .ierrors = s.ierrors,
                           .rx_nombuf = s.rx_nombuf, .opackets = s.opackets, .oerrors = s.oerrors,
                           .expected = d.expected[i]});
    }
    for (const auto& w : d.workers) {
        worker_view v{.id = w->id, .lcore = w->lcore, .port_id = w->port_id, .queue_id = w->queue_id,
                               .counters = w->counters.snapshot()};
        for (std::size_t i = 0; i < exception::outcome_count; ++i)
            v.exception_counters.v[i] = worker::relaxed_get(w->exception_counters.v[i]);
        if (with_exporters) v.exporters = w->exporters.get();
        r.workers.push_back(v);
    }
    for (const auto& s : d.sinks) {
        sink_view v{.id = s->id, .lcore = s->lcore};
        for (std::size_t i = 0; i < sinks::sink_counter_count; ++i)
            v.counters.v[i] = s->counters.get(static_cast<sinks::sink_counter>(i));
        r.sinks.push_back(v);
    }
    return r;
}

namespace {

// End of replay: every packet of every file was received or lost by the PMD.
bool replay_done(const daemon& d, const report& r) {
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

}  // namespace

void control_loop(daemon& d) {
    using clock = std::chrono::steady_clock;
    const bool replay = d.opt.ports.empty();
    auto last = clock::now();
    const auto start = last;
    auto last_progress = last;
    report prev = take_report(d, false);
    uint64_t last_seen = 0;
    // Replay stall guard: net_pcap gave nothing for this long although the
    // file count says more should come (a truncated capture): stop anyway.
    constexpr auto k_replay_stall = std::chrono::seconds(5);
    template_saver saver(d);

    while (!flags().stop.load(std::memory_order_relaxed)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        const auto now = clock::now();
        saver.tick(now);
        if (replay) {
            const report r = take_report(d, false);
            if (replay_done(d, r)) {
                RTE_LOG(INFO, USER1, "replay: every packet of every file received; stopping\n");
                break;
            }
            const uint64_t seen = sum_workers(r.workers).get(worker::counter::rx_packets);
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
            report r = take_report(d, false);
            RTE_LOG(INFO, USER1, "%s\n", summary_line(r, &prev, dt).c_str());
            prev = std::move(r);
            last = now;
        }
    }
}


void write_final_stats(const daemon& d) {
    const report r = take_report(d, true);
    write_text(log::stream(), r);
    std::fflush(log::stream());
    if (!d.opt.stats_json.empty()) {
        FILE* f = std::fopen(d.opt.stats_json.c_str(), "w");
        if (f == nullptr) {
            std::fprintf(log::stream(), "sluiced: cannot write %s: %s\n", d.opt.stats_json.c_str(), std::strerror(errno));
        } else {
            write_json(f, r);
            std::fclose(f);
        }
    }
}

}  // namespace sluice::control
