// SPDX-License-Identifier: Apache-2.0
// Formatting of the summary line and the final report.
#include "stats.hpp"

#include <cinttypes>

#include "dataplane/decode/record_format.hpp"

namespace sluice::control {

namespace {

using worker::counter;

uint64_t sink_records(const report& r) {
    uint64_t n = 0;
    for (const auto& s : r.sinks) n += s.counters.get(sinks::stage_counter::records);
    return n;
}

std::string addr_text(const uint8_t a[16]) {
    char t[46];
    const std::size_t n = decode::format_address(a, t);
    return n ? std::string(t, n) : std::string("::");
}

// Decided by the row's kind, never by its position in the table.
bool is_drop(std::size_t i) { return counters::is_loss(worker::counter_table[i].k); }

}  // namespace

worker::counter_block sum_workers(const std::vector<worker_view>& w) {
    worker::counter_block t;
    for (const auto& x : w) t += x.counters;
    return t;
}

std::string summary_line(const report& now, const report* prev, double dt_s) {
    const worker::counter_block t = sum_workers(now.workers);
    const worker::counter_block p = prev ? sum_workers(prev->workers) : worker::counter_block{};
    const double dt = dt_s > 0 ? dt_s : 1;
    uint64_t imissed = 0, nombuf = 0;
    for (const auto& x : now.ports) {
        imissed += x.imissed;
        nombuf += x.rx_nombuf;
    }
    char head[512];
    std::snprintf(head, sizeof head,
                  "stats: rx %" PRIu64 " pkts (%.0f/s) datagrams %" PRIu64 " records %" PRIu64 " (%.0f/s) written %" PRIu64
                  " imissed %" PRIu64 " rx_nombuf %" PRIu64 " | drops:",
                  t.get(counter::rx_packets), double(t.get(counter::rx_packets) - p.get(counter::rx_packets)) / dt,
                  t.get(counter::datagrams), t.get(counter::records),
                  double(t.get(counter::records) - p.get(counter::records)) / dt, sink_records(now), imissed, nombuf);
    std::string s = head;
    bool any = false;
    for (std::size_t i = 0; i < worker::counter_count; ++i) {
        if (!is_drop(i) || t.v[i] == 0) continue;
        s += " " + std::string(worker::counter_table[i].name) + "=" + std::to_string(t.v[i]);
        any = true;
    }
    if (!any) s += " none";
    return s;
}

void write_text(std::FILE* f, const report& r) {
    std::fprintf(f, "=== sluiced final stats (%.3f s) ===\n", r.elapsed_s);
    for (const auto& p : r.ports)
        std::fprintf(f,
                     "port %u %s (%s, %u queue(s)): ipackets %" PRIu64 " ibytes %" PRIu64 " imissed %" PRIu64
                     " ierrors %" PRIu64 " rx_nombuf %" PRIu64 " opackets %" PRIu64 "%s\n",
                     p.id, p.name.c_str(), p.driver.c_str(), p.queues, p.ipackets, p.ibytes, p.imissed, p.ierrors,
                     p.rx_nombuf, p.opackets,
                     p.expected ? (" (file: " + std::to_string(p.expected) + " packets)").c_str() : "");
    for (const auto& w : r.workers) {
        std::fprintf(f, "worker %u (lcore %u, port %u queue %u):", w.id, w.lcore, w.port_id, w.queue_id);
        for (std::size_t i = 0; i < worker::counter_count; ++i)
            if (w.counters.v[i]) std::fprintf(f, " %s=%" PRIu64, worker::counter_table[i].name.data(), w.counters.v[i]);
        std::fputc('\n', f);
        const uint64_t pk = w.counters.get(counter::rx_packets);
        if (pk) {
            std::fprintf(f, "  cycles/packet:");
            for (std::size_t s = 0; s < worker::stage_count; ++s)
                std::fprintf(f, " %s=%.1f", worker::stage_names[s].data(), double(w.counters.cycles[s]) / double(pk));
            std::fputc('\n', f);
        }
        bool exc = false;
        for (std::size_t i = 0; i < exception::outcome_count; ++i) exc |= w.exception_counters.v[i] != 0;
        if (exc) {
            std::fprintf(f, "  exception:");
            for (std::size_t i = 0; i < exception::outcome_count; ++i)
                if (w.exception_counters.v[i])
                    std::fprintf(f, " %s=%" PRIu64, exception::counter_table[i].name.data(), w.exception_counters.v[i]);
            std::fputc('\n', f);
        }
        if (w.exporters) {
            w.exporters->for_each([&](const decode::exporter_state& e) {
                std::fprintf(f, "  exporter %s:", addr_text(e.addr).c_str());
                for (std::size_t i = 0; i < decode::counter_count; ++i)
                    if (e.counters.v[i]) std::fprintf(f, " %s=%" PRIu64, decode::counter_table[i].name.data(), e.counters.v[i]);
                std::fputc('\n', f);
            });
            if (w.exporters->rejected_table_full)
                std::fprintf(f, "  exporters rejected (table full): %" PRIu64 "\n", w.exporters->rejected_table_full);
        }
    }
    for (const auto& s : r.sinks) {
        std::fprintf(f, "sink %u (lcore %u):", s.id, s.lcore);
        for (std::size_t i = 0; i < sinks::stage_counter_count; ++i)
            std::fprintf(f, " %s=%" PRIu64, sinks::stage_counter_table[i].name.data(), s.counters.v[i]);
        std::fputc('\n', f);
        for (const auto& o : s.outputs) {
            std::fprintf(f, "  output %s:", o.name.c_str());
            for (std::size_t i = 0; i < sinks::output_counter_count; ++i)
                std::fprintf(f, " %s=%" PRIu64, sinks::output_counter_table[i].name.data(), o.counters.v[i]);
            for (std::size_t i = 0; i < sinks::file_counter_count; ++i)
                std::fprintf(f, " file_%s=%" PRIu64, sinks::file_counter_table[i].name.data(), o.file_counters.v[i]);
            std::fputc('\n', f);
        }
    }
    std::fprintf(f, "%s\n", summary_line(r, nullptr, r.elapsed_s).c_str());
}

void write_json(std::FILE* f, const report& r) {
    std::fprintf(f, "{\"elapsed_s\":%.6f,\"tsc_hz\":%" PRIu64 ",\"json_out\":\"%s\",\"ports\":[", r.elapsed_s, r.tsc_hz,
                 r.json_out.c_str());
    for (std::size_t k = 0; k < r.ports.size(); ++k) {
        const auto& p = r.ports[k];
        std::fprintf(f,
                     "%s{\"id\":%u,\"name\":\"%s\",\"driver\":\"%s\",\"queues\":%u,\"ipackets\":%" PRIu64
                     ",\"ibytes\":%" PRIu64 ",\"imissed\":%" PRIu64 ",\"ierrors\":%" PRIu64 ",\"rx_nombuf\":%" PRIu64
                     ",\"opackets\":%" PRIu64 ",\"oerrors\":%" PRIu64 ",\"file_packets\":%" PRIu64 "}",
                     k ? "," : "", p.id, p.name.c_str(), p.driver.c_str(), p.queues, p.ipackets, p.ibytes, p.imissed,
                     p.ierrors, p.rx_nombuf, p.opackets, p.oerrors, p.expected);
    }
    auto counters_obj = [&](const worker::counter_block& c) {
        std::fputc('{', f);
        for (std::size_t i = 0; i < worker::counter_count; ++i)
            std::fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", worker::counter_table[i].name.data(), c.v[i]);
        std::fputc('}', f);
    };
    auto cycles_obj = [&](const worker::counter_block& c) {
        const uint64_t pk = c.get(counter::rx_packets);
        std::fputs(",\"cycles\":{", f);
        for (std::size_t s = 0; s < worker::stage_count; ++s)
            std::fprintf(f, "%s\"%s\":%" PRIu64, s ? "," : "", worker::stage_names[s].data(), c.cycles[s]);
        std::fputs("},\"cycles_per_packet\":{", f);
        for (std::size_t s = 0; s < worker::stage_count; ++s)
            std::fprintf(f, "%s\"%s\":%.2f", s ? "," : "", worker::stage_names[s].data(),
                         pk ? double(c.cycles[s]) / double(pk) : 0.0);
        std::fputc('}', f);
    };
    std::fputs("],\"workers\":[", f);
    for (std::size_t k = 0; k < r.workers.size(); ++k) {
        const auto& w = r.workers[k];
        std::fprintf(f, "%s{\"id\":%u,\"lcore\":%u,\"port\":%u,\"queue\":%u,\"counters\":", k ? "," : "", w.id, w.lcore,
                     w.port_id, w.queue_id);
        counters_obj(w.counters);
        cycles_obj(w.counters);
        std::fputs(",\"exception\":{", f);
        for (std::size_t i = 0; i < exception::outcome_count; ++i)
            std::fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", exception::counter_table[i].name.data(),
                         w.exception_counters.v[i]);
        std::fputs("},\"exporters\":{", f);
        if (w.exporters) {
            bool first = true;
            w.exporters->for_each([&](const decode::exporter_state& e) {
                std::fprintf(f, "%s\"%s\":{", first ? "" : ",", addr_text(e.addr).c_str());
                first = false;
                for (std::size_t i = 0; i < decode::counter_count; ++i)
                    std::fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", decode::counter_table[i].name.data(),
                                 e.counters.v[i]);
                std::fputc('}', f);
            });
        }
        std::fprintf(f, "},\"exporters_rejected_table_full\":%" PRIu64 "}",
                     w.exporters ? w.exporters->rejected_table_full : 0);
    }
    std::fputs("],\"sinks\":[", f);
    for (std::size_t k = 0; k < r.sinks.size(); ++k) {
        const auto& s = r.sinks[k];
        std::fprintf(f, "%s{\"id\":%u,\"lcore\":%u", k ? "," : "", s.id, s.lcore);
        for (std::size_t i = 0; i < sinks::stage_counter_count; ++i)
            std::fprintf(f, ",\"%s\":%" PRIu64, sinks::stage_counter_table[i].name.data(), s.counters.v[i]);
        std::fputs(",\"outputs\":{", f);
        for (std::size_t j = 0; j < s.outputs.size(); ++j) {
            const auto& o = s.outputs[j];
            std::fprintf(f, "%s\"%s\":{", j ? "," : "", o.name.c_str());
            for (std::size_t i = 0; i < sinks::output_counter_count; ++i)
                std::fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", sinks::output_counter_table[i].name.data(),
                             o.counters.v[i]);
            std::fputs(",\"file\":{", f);
            for (std::size_t i = 0; i < sinks::file_counter_count; ++i)
                std::fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", sinks::file_counter_table[i].name.data(),
                             o.file_counters.v[i]);
            std::fputs("}}", f);
        }
        std::fputs("}}", f);
    }
    const worker::counter_block t = sum_workers(r.workers);
    std::fputs("],\"totals\":", f);
    counters_obj(t);
    std::fprintf(f, ",\"totals_written\":%" PRIu64, sink_records(r));
    cycles_obj(t);
    std::fputs("}\n", f);
}

}  // namespace sluice::control
