// SPDX-License-Identifier: Apache-2.0
// The summary line and the final report, by walking a registry snapshot.
#include "stats.hpp"

#include <cinttypes>
#include <map>

namespace sluice::control {

namespace {

constexpr std::string_view k_dataplane = "dataplane";
constexpr std::string_view k_sinks = "sinks";

struct lookup {
    const snapshot& s;
    std::size_t port, worker, cycles, exception, decode, table, retired, refused, sink, output, file;
    explicit lookup(const snapshot& x)
        : s(x),
          port(x.find_group(k_dataplane, groups::port)),
          worker(x.find_group(k_dataplane, groups::worker)),
          cycles(x.find_group(k_dataplane, groups::worker_cycles)),
          exception(x.find_group(k_dataplane, groups::exception)),
          decode(x.find_group(k_dataplane, groups::decode)),
          table(x.find_group(k_dataplane, groups::exporter_table)),
          retired(x.find_group(k_dataplane, groups::exporters_retired)),
          refused(x.find_group(k_dataplane, groups::exporters_refused)),
          sink(x.find_group(k_sinks, groups::sink_stage)),
          output(x.find_group(k_sinks, groups::sink_output)),
          file(x.find_group(k_sinks, groups::sink_file)) {}
};

std::string label_of(const series& x, std::string_view key) {
    const label* l = x.find(key);
    return l ? l->value : std::string();
}

// The series of group `g` whose label `key` equals `value` (nullptr if none).
const series* match(const snapshot& s, std::size_t g, std::string_view key, const std::string& value) {
    for (const series& x : s.all)
        if (x.group == g && label_of(x, key) == value) return &x;
    return nullptr;
}

// Sum of every sink group's `records` row (stage "sinks").
uint64_t written(const snapshot& s) {
    uint64_t n = 0;
    for (std::size_t g = 0; g < s.groups.size(); ++g)
        if (s.groups[g].stage == k_sinks && s.groups[g].component == groups::sink_stage) n += s.sum(g, "records");
    return n;
}

uint64_t sum_row(const snapshot& s, std::size_t g, std::string_view row) { return g == SIZE_MAX ? 0 : s.sum(g, row); }

// Per-row totals of group g.
std::vector<uint64_t> totals(const snapshot& s, std::size_t g) {
    std::vector<uint64_t> t(g == SIZE_MAX ? 0 : s.groups[g].rows.size(), 0);
    if (g == SIZE_MAX) return t;
    s.each(g, [&](const series& x) {
        for (std::size_t i = 0; i < t.size(); ++i) t[i] += x.get(i);
    });
    return t;
}

void json_string(std::FILE* f, const std::string& v) {
    std::fputc('"', f);
    for (const char ch : v) {
        if (ch == '"' || ch == '\\') std::fputc('\\', f);
        if (static_cast<unsigned char>(ch) < 0x20) {
            std::fprintf(f, "\\u%04x", ch);
            continue;
        }
        std::fputc(ch, f);
    }
    std::fputc('"', f);
}

// "key":value pairs of a series' labels (first = no leading comma).
void json_labels(std::FILE* f, const series& x, bool& first, std::initializer_list<std::pair<std::string_view, std::string_view>> rename) {
    for (const label& l : x.l) {
        std::string_view key = l.key;
        for (const auto& [from, to] : rename)
            if (key == from) key = to;
        std::fprintf(f, "%s\"%.*s\":", first ? "" : ",", int(key.size()), key.data());
        first = false;
        if (l.number) std::fputs(l.value.c_str(), f);
        else json_string(f, l.value);
    }
}

void json_rows(std::FILE* f, const group& g, const std::vector<uint64_t>& v, bool& first) {
    for (std::size_t i = 0; i < g.rows.size(); ++i) {
        std::fprintf(f, "%s\"%s\":%" PRIu64, first ? "" : ",", g.rows[i].name.data(), i < v.size() ? v[i] : 0);
        first = false;
    }
}

void json_rows_obj(std::FILE* f, const group& g, const std::vector<uint64_t>& v) {
    std::fputc('{', f);
    bool first = true;
    json_rows(f, g, v, first);
    std::fputc('}', f);
}

void json_cycles(std::FILE* f, const snapshot& s, std::size_t g, const std::vector<uint64_t>& cycles, uint64_t packets) {
    std::fputs(",\"cycles\":", f);
    if (g == SIZE_MAX) {
        std::fputs("{},\"cycles_per_packet\":{}", f);
        return;
    }
    json_rows_obj(f, s.groups[g], cycles);
    std::fputs(",\"cycles_per_packet\":{", f);
    const auto rows = s.groups[g].rows;
    for (std::size_t i = 0; i < rows.size(); ++i)
        std::fprintf(f, "%s\"%s\":%.2f", i ? "," : "", rows[i].name.data(),
                     packets ? double(cycles[i]) / double(packets) : 0.0);
    std::fputc('}', f);
}

}  // namespace

std::string summary_line(const snapshot& now, const snapshot* prev, double dt_s) {
    const lookup n(now);
    const double dt = dt_s > 0 ? dt_s : 1;
    auto prev_sum = [&](std::string_view row) {
        if (prev == nullptr) return uint64_t(0);
        return sum_row(*prev, prev->find_group(k_dataplane, groups::worker), row);
    };
    const uint64_t rx = sum_row(now, n.worker, "rx_packets"), records = sum_row(now, n.worker, "records");
    char head[512];
    std::snprintf(head, sizeof head,
                  "stats: rx %" PRIu64 " pkts (%.0f/s) datagrams %" PRIu64 " records %" PRIu64 " (%.0f/s) written %" PRIu64
                  " imissed %" PRIu64 " rx_nombuf %" PRIu64 " | drops:",
                  rx, double(rx - prev_sum("rx_packets")) / dt, sum_row(now, n.worker, "datagrams"), records,
                  double(records - prev_sum("records")) / dt, written(now), sum_row(now, n.port, "imissed"),
                  sum_row(now, n.port, "rx_nombuf"));
    std::string s = head;
    bool any = false;
    if (n.worker != SIZE_MAX) {
        const std::vector<uint64_t> t = totals(now, n.worker);
        const auto rows = now.groups[n.worker].rows;
        // Decided by the row's kind, never by its position in the table.
        for (std::size_t i = 0; i < rows.size(); ++i) {
            if (!counters::is_loss(rows[i].k) || t[i] == 0) continue;
            s += " " + std::string(rows[i].name) + "=" + std::to_string(t[i]);
            any = true;
        }
    }
    // The sink stage's losses too (an output that failed its writes), named
    // by component, summed over sink cores and outputs.
    for (std::size_t g = 0; g < now.groups.size(); ++g) {
        if (now.groups[g].stage != k_sinks) continue;
        const std::vector<uint64_t> t = totals(now, g);
        const auto rows = now.groups[g].rows;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            if (!counters::is_loss(rows[i].k) || t[i] == 0) continue;
            s += " " + now.groups[g].component + "_" + std::string(rows[i].name) + "=" + std::to_string(t[i]);
            any = true;
        }
    }
    if (!any) s += " none";
    return s;
}

void write_text(std::FILE* f, const snapshot& s, const report_meta& m) {
    const lookup n(s);
    std::fprintf(f, "=== sluiced final stats (%.3f s) ===\n", m.elapsed_s);
    if (n.port != SIZE_MAX)
        s.each(n.port, [&](const series& p) {
            const std::string file = label_of(p, "file_packets");
            std::fprintf(f, "port %s %s (%s, %s queue(s)):", label_of(p, "port").c_str(), label_of(p, "name").c_str(),
                         label_of(p, "driver").c_str(), label_of(p, "queues").c_str());
            for (std::size_t i = 0; i < s.groups[n.port].rows.size(); ++i)
                std::fprintf(f, " %s %" PRIu64, s.groups[n.port].rows[i].name.data(), p.get(i));
            if (!file.empty() && file != "0") std::fprintf(f, " (file: %s packets)", file.c_str());
            std::fputc('\n', f);
        });
    if (n.worker != SIZE_MAX)
        s.each(n.worker, [&](const series& w) {
            const std::string id = label_of(w, "worker");
            std::fprintf(f, "worker %s (lcore %s, port %s queue %s):", id.c_str(), label_of(w, "lcore").c_str(),
                         label_of(w, "port").c_str(), label_of(w, "queue").c_str());
            const auto rows = s.groups[n.worker].rows;
            for (std::size_t i = 0; i < rows.size(); ++i)
                if (w.get(i)) std::fprintf(f, " %s=%" PRIu64, rows[i].name.data(), w.get(i));
            std::fputc('\n', f);
            const uint64_t pk = w.get(s.row(n.worker, "rx_packets"));
            if (const series* c = n.cycles == SIZE_MAX ? nullptr : match(s, n.cycles, "worker", id); c && pk) {
                std::fprintf(f, "  cycles/packet:");
                for (std::size_t i = 0; i < s.groups[n.cycles].rows.size(); ++i)
                    std::fprintf(f, " %s=%.1f", s.groups[n.cycles].rows[i].name.data(), double(c->get(i)) / double(pk));
                std::fputc('\n', f);
            }
            if (const series* e = n.exception == SIZE_MAX ? nullptr : match(s, n.exception, "worker", id)) {
                bool any = false;
                for (uint64_t v : e->values) any |= v != 0;
                if (any) {
                    std::fprintf(f, "  exception:");
                    for (std::size_t i = 0; i < e->values.size(); ++i)
                        if (e->get(i))
                            std::fprintf(f, " %s=%" PRIu64, s.groups[n.exception].rows[i].name.data(), e->get(i));
                    std::fputc('\n', f);
                }
            }
            if (n.decode != SIZE_MAX)
                s.each(n.decode, [&](const series& e) {
                    if (label_of(e, "worker") != id) return;
                    std::fprintf(f, "  exporter %s:", label_of(e, "exporter").c_str());
                    for (std::size_t i = 0; i < e.values.size(); ++i)
                        if (e.get(i)) std::fprintf(f, " %s=%" PRIu64, s.groups[n.decode].rows[i].name.data(), e.get(i));
                    std::fputc('\n', f);
                });
            if (const series* t = n.table == SIZE_MAX ? nullptr : match(s, n.table, "worker", id)) {
                const std::size_t full = s.row(n.table, "refused_table_full");
                if (t->get(full)) std::fprintf(f, "  exporters rejected (table full): %" PRIu64 "\n", t->get(full));
                for (std::size_t i = 0; i < t->values.size(); ++i)
                    if (t->get(i))
                        std::fprintf(f, "  exporter table %s=%" PRIu64 "\n", s.groups[n.table].rows[i].name.data(), t->get(i));
            }
            if (n.refused != SIZE_MAX)
                s.each(n.refused, [&](const series& r) {
                    if (label_of(r, "worker") != id) return;
                    std::fprintf(f, "  refused %s: datagrams=%" PRIu64 " (%s)\n", label_of(r, "exporter").c_str(), r.get(0),
                                 label_of(r, "cause").c_str());
                });
        });
    if (n.sink != SIZE_MAX)
        s.each(n.sink, [&](const series& k) {
            const std::string id = label_of(k, "sink");
            std::fprintf(f, "sink %s (lcore %s):", id.c_str(), label_of(k, "lcore").c_str());
            for (std::size_t i = 0; i < s.groups[n.sink].rows.size(); ++i)
                std::fprintf(f, " %s=%" PRIu64, s.groups[n.sink].rows[i].name.data(), k.get(i));
            std::fputc('\n', f);
            if (n.output == SIZE_MAX) return;
            s.each(n.output, [&](const series& o) {
                if (label_of(o, "sink") != id) return;
                const std::string name = label_of(o, "output");
                std::fprintf(f, "  output %s:", name.c_str());
                for (std::size_t i = 0; i < s.groups[n.output].rows.size(); ++i)
                    std::fprintf(f, " %s=%" PRIu64, s.groups[n.output].rows[i].name.data(), o.get(i));
                if (n.file != SIZE_MAX)
                    s.each(n.file, [&](const series& w) {
                        if (label_of(w, "sink") != id || label_of(w, "output") != name) return;
                        for (std::size_t i = 0; i < s.groups[n.file].rows.size(); ++i)
                            std::fprintf(f, " file_%s=%" PRIu64, s.groups[n.file].rows[i].name.data(), w.get(i));
                    });
                for (std::size_t g = 0; g < s.groups.size(); ++g) {  // a writer's own tables (hdfs_handoff, hdfs, webhdfs)
                    if (s.groups[g].stage != k_sinks || g == n.sink || g == n.output || g == n.file) continue;
                    s.each(g, [&](const series& w) {
                        if (label_of(w, "sink") != id || label_of(w, "output") != name) return;
                        for (std::size_t i = 0; i < s.groups[g].rows.size(); ++i)
                            std::fprintf(f, " %s_%s=%" PRIu64, s.groups[g].component.c_str(),
                                         s.groups[g].rows[i].name.data(), w.get(i));
                    });
                }
                std::fputc('\n', f);
            });
        });
    for (std::size_t g = 0; g < s.groups.size(); ++g) {
        if (s.groups[g].stage != "control") continue;
        const std::vector<uint64_t> t = totals(s, g);
        std::fprintf(f, "control %s:", s.groups[g].component.c_str());
        for (std::size_t i = 0; i < t.size(); ++i) std::fprintf(f, " %s=%" PRIu64, s.groups[g].rows[i].name.data(), t[i]);
        std::fputc('\n', f);
    }
    std::fprintf(f, "%s\n", summary_line(s, nullptr, m.elapsed_s).c_str());
}

void write_json(std::FILE* f, const snapshot& s, const report_meta& m) {
    const lookup n(s);
    std::fprintf(f, "{\"elapsed_s\":%.6f,\"tsc_hz\":%" PRIu64 ",\"json_out\":", m.elapsed_s, m.tsc_hz);
    json_string(f, m.json_out);
    std::fputs(",\"ports\":[", f);
    bool first_port = true;
    if (n.port != SIZE_MAX)
        s.each(n.port, [&](const series& p) {
            std::fputs(first_port ? "{" : ",{", f);
            first_port = false;
            bool first = true;
            json_labels(f, p, first, {{"port", "id"}});
            json_rows(f, s.groups[n.port], p.values, first);
            std::fputc('}', f);
        });
    std::fputs("],\"workers\":[", f);
    bool first_worker = true;
    if (n.worker != SIZE_MAX)
        s.each(n.worker, [&](const series& w) {
            const std::string id = label_of(w, "worker");
            std::fputs(first_worker ? "{" : ",{", f);
            first_worker = false;
            bool first = true;
            json_labels(f, w, first, {{"worker", "id"}});
            std::fputs(",\"counters\":", f);
            json_rows_obj(f, s.groups[n.worker], w.values);
            const series* c = n.cycles == SIZE_MAX ? nullptr : match(s, n.cycles, "worker", id);
            json_cycles(f, s, c ? n.cycles : SIZE_MAX, c ? c->values : std::vector<uint64_t>{},
                        w.get(s.row(n.worker, "rx_packets")));
            std::fputs(",\"exception\":", f);
            if (const series* e = n.exception == SIZE_MAX ? nullptr : match(s, n.exception, "worker", id))
                json_rows_obj(f, s.groups[n.exception], e->values);
            else
                std::fputs("{}", f);
            std::fputs(",\"exporters\":{", f);
            bool first_exporter = true;
            if (n.decode != SIZE_MAX)
                s.each(n.decode, [&](const series& e) {
                    if (label_of(e, "worker") != id) return;
                    if (!first_exporter) std::fputc(',', f);
                    first_exporter = false;
                    json_string(f, label_of(e, "exporter"));
                    std::fputc(':', f);
                    json_rows_obj(f, s.groups[n.decode], e.values);
                });
            const series* t = n.table == SIZE_MAX ? nullptr : match(s, n.table, "worker", id);
            std::fprintf(f, "},\"exporters_rejected_table_full\":%" PRIu64,
                         t ? t->get(s.row(n.table, "refused_table_full")) : 0);
            std::fputs(",\"exporter_table\":", f);
            if (t) json_rows_obj(f, s.groups[n.table], t->values);
            else std::fputs("{}", f);
            std::fputs(",\"exporters_retired\":", f);
            if (const series* r = n.retired == SIZE_MAX ? nullptr : match(s, n.retired, "worker", id))
                json_rows_obj(f, s.groups[n.retired], r->values);
            else
                std::fputs("{}", f);
            std::fputs(",\"refused\":[", f);
            bool first_refused = true;
            if (n.refused != SIZE_MAX)
                s.each(n.refused, [&](const series& r) {
                    if (label_of(r, "worker") != id) return;
                    std::fputs(first_refused ? "{\"exporter\":" : ",{\"exporter\":", f);
                    first_refused = false;
                    json_string(f, label_of(r, "exporter"));
                    std::fprintf(f, ",\"datagrams\":%" PRIu64 ",\"cause\":", r.get(0));
                    json_string(f, label_of(r, "cause"));
                    std::fputc('}', f);
                });
            std::fputs("]}", f);
        });
    std::fputs("],\"sinks\":[", f);
    bool first_sink = true;
    if (n.sink != SIZE_MAX)
        s.each(n.sink, [&](const series& k) {
            const std::string id = label_of(k, "sink");
            std::fputs(first_sink ? "{" : ",{", f);
            first_sink = false;
            bool first = true;
            json_labels(f, k, first, {{"sink", "id"}});
            json_rows(f, s.groups[n.sink], k.values, first);
            std::fputs(",\"outputs\":{", f);
            bool first_output = true;
            if (n.output != SIZE_MAX)
                s.each(n.output, [&](const series& o) {
                    if (label_of(o, "sink") != id) return;
                    const std::string name = label_of(o, "output");
                    if (!first_output) std::fputc(',', f);
                    first_output = false;
                    json_string(f, name);
                    std::fputc(':', f);
                    bool first_row = true;
                    std::fputc('{', f);
                    json_rows(f, s.groups[n.output], o.values, first_row);
                    std::fputs(",\"file\":", f);
                    const series* w = nullptr;
                    if (n.file != SIZE_MAX)
                        s.each(n.file, [&](const series& x) {
                            if (label_of(x, "sink") == id && label_of(x, "output") == name) w = &x;
                        });
                    if (w) json_rows_obj(f, s.groups[n.file], w->values);
                    else std::fputs("{}", f);
                    // Every other sinks group with a series of this (sink, output):
                    // a writer's own tables (hdfs_handoff, hdfs, webhdfs), as "COMPONENT":{...}.
                    for (std::size_t g = 0; g < s.groups.size(); ++g) {
                        if (s.groups[g].stage != k_sinks || g == n.sink || g == n.output || g == n.file) continue;
                        s.each(g, [&](const series& x) {
                            if (label_of(x, "sink") != id || label_of(x, "output") != name) return;
                            std::fprintf(f, ",\"%s\":", s.groups[g].component.c_str());
                            json_rows_obj(f, s.groups[g], x.values);
                        });
                    }
                    std::fputc('}', f);
                });
            std::fputs("}}", f);
        });
    std::fputs("],\"totals\":", f);
    const std::vector<uint64_t> wt = totals(s, n.worker);
    if (n.worker != SIZE_MAX) json_rows_obj(f, s.groups[n.worker], wt);
    else std::fputs("{}", f);
    std::fprintf(f, ",\"totals_written\":%" PRIu64, written(s));
    json_cycles(f, s, n.cycles, totals(s, n.cycles), sum_row(s, n.worker, "rx_packets"));
    std::fputs(",\"control\":{", f);
    bool first_control = true;
    for (std::size_t g = 0; g < s.groups.size(); ++g) {
        if (s.groups[g].stage != "control") continue;
        std::fprintf(f, "%s\"%s\":", first_control ? "" : ",", s.groups[g].component.c_str());
        first_control = false;
        json_rows_obj(f, s.groups[g], totals(s, g));
    }
    std::fputs("},\"metrics\":{", f);
    bool first_metric = true;
    for (std::size_t g = 0; g < s.groups.size(); ++g) {
        const std::vector<uint64_t> t = totals(s, g);
        for (std::size_t i = 0; i < t.size(); ++i) {
            std::fprintf(f, "%s\"%s\":%" PRIu64, first_metric ? "" : ",",
                         registry::metric_name(s.groups[g], i).c_str(), t[i]);
            first_metric = false;
        }
    }
    std::fputs("}}\n", f);
}

}  // namespace sluice::control
