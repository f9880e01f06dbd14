// SPDX-License-Identifier: Apache-2.0
// The Prometheus text exposition (see prometheus.hpp).
#include "prometheus.hpp"

#include <cstdio>
#include <map>
#include <vector>

namespace sluice::control::metrics {

std::string escape_label(std::string_view v) {
    std::string o;
    o.reserve(v.size());
    for (const char c : v) {
        if (c == '\\') o += "\\\\";
        else if (c == '"') o += "\\\"";
        else if (c == '\n') o += "\\n";
        else o.push_back(c);
    }
    return o;
}

namespace {

std::string escape_help(std::string_view v) {
    std::string o;
    for (const char c : v) {
        if (c == '\\') o += "\\\\";
        else if (c == '\n') o += "\\n";
        else o.push_back(c);
    }
    return o;
}

// Labels that describe a port rather than identify a series.
bool info_label(std::string_view group, std::string_view key) {
    return group == "port" && (key == "name" || key == "driver" || key == "queues" || key == "file_packets");
}

bool valid_name_char(char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

std::string label_name(std::string_view k) {
    if (k == "lcore") return "core";
    std::string o;
    for (std::size_t i = 0; i < k.size(); ++i) o.push_back(valid_name_char(k[i], i == 0) ? k[i] : '_');
    return o;
}

// Three registry rows whose names Prometheus' naming rules (promtool check
// metrics) reject: "us" reads as microseconds, "_counter_" as the metric
// type, "ns" is not a base unit. The exposition renames them, and exposes
// cpu_ns in seconds; the registry, the stats JSON and telemetry keep the
// registry's names. Documented in docs/control-api.md (Metrics).
struct rename {
    std::string_view row, name;
    double scale;
};
constexpr rename k_renames[] = {
    {"not_for_us", "not_for_this_host", 1},
    {"counter_records", "counters_records", 1},
    {"cpu_ns", "cpu_seconds", 1e-9},
};

const rename* renamed(std::string_view row) {
    for (const rename& r : k_renames)
        if (r.row == row) return &r;
    return nullptr;
}

std::string value_text(uint64_t v, const rename* r) {
    if (r == nullptr || r->scale == 1) return std::to_string(v);
    char b[40];
    std::snprintf(b, sizeof b, "%.9f", double(v) * r->scale);
    return b;
}

// series::find without registry.cpp: this library is linked where the registry is not (sluicectl, unit tests).
const label* find(const series& x, std::string_view key) {
    for (const label& l : x.l)
        if (l.key == key) return &l;
    return nullptr;
}

}  // namespace

std::string exposition(const snapshot& s, exporter_labels& ex) {
    std::string out;
    out.reserve(64 * 1024);
    // Exporters gone from every table give their place up; newcomers are
    // admitted in snapshot order (each table's slot order) while there is room.
    // The refused list is bounded on its own (32 per worker) and must not
    // take places from accepted exporters: it is left out of admission.
    auto refused = [&](const series& x) {
        return x.group < s.groups.size() && s.groups[x.group].component == "exporters_refused";
    };
    std::set<std::string> present;
    for (const series& x : s.all)
        if (const label* e = find(x, "exporter"); e != nullptr && !refused(x)) present.insert(e->value);
    std::erase_if(ex.admitted, [&](const std::string& a) { return !present.contains(a); });
    for (const series& x : s.all)
        if (const label* e = find(x, "exporter"); e != nullptr && !refused(x) && ex.admitted.size() < ex.max)
            ex.admitted.insert(e->value);

    for (std::size_t g = 0; g < s.groups.size(); ++g) {
        const group& gr = s.groups[g];
        // label set (encoded) -> values, in first-seen order
        std::vector<std::string> order;
        std::map<std::string, std::vector<uint64_t>> sums;
        for (const series& x : s.all) {
            if (x.group != g) continue;
            const bool per_exporter = find(x, "exporter") != nullptr;
            std::string ls;
            for (const label& l : x.l) {
                if (info_label(gr.component, l.key)) continue;
                if (per_exporter && l.key == "worker") continue;
                std::string v = l.value;
                if (l.key == "exporter" && !refused(x) && !ex.admitted.contains(v)) v = "_other";
                if (!ls.empty()) ls.push_back(',');
                ls += label_name(l.key) + "=\"" + escape_label(v) + "\"";
            }
            auto [it, fresh] = sums.try_emplace(ls, std::vector<uint64_t>(gr.rows.size(), 0));
            if (fresh) order.push_back(ls);
            for (std::size_t r = 0; r < gr.rows.size(); ++r) it->second[r] += x.get(r);
        }
        if (order.empty()) continue;
        for (std::size_t r = 0; r < gr.rows.size(); ++r) {
            const rename* rn = renamed(gr.rows[r].name);
            const std::string name = "sluice_" + gr.stage + "_" + gr.component + "_" +
                                     std::string(rn ? rn->name : gr.rows[r].name) + "_total";
            out += "# HELP " + name + " " + escape_help(gr.rows[r].help) + "\n";
            out += "# TYPE " + name + " counter\n";
            for (const std::string& ls : order) {
                out += name;
                if (!ls.empty()) out += "{" + ls + "}";
                out += " " + value_text(sums[ls][r], rn) + "\n";
            }
        }
    }
    // Port identity, once per port.
    bool head = false;
    for (const series& x : s.all) {
        if (x.group >= s.groups.size() || s.groups[x.group].component != "port" || find(x, "port") == nullptr) continue;
        if (!head) {
            out += "# HELP sluice_port_info A port's name, driver and rx queue count (value always 1).\n";
            out += "# TYPE sluice_port_info gauge\n";
            head = true;
        }
        out += "sluice_port_info{";
        bool first = true;
        for (const label& l : x.l) {
            if (l.key == "file_packets") continue;
            if (!first) out.push_back(',');
            first = false;
            out += label_name(l.key) + "=\"" + escape_label(l.value) + "\"";
        }
        out += "} 1\n";
    }
    out += "# HELP sluice_metrics_exporters_admitted Exporters with series of their own (the rest are exporter=\"_other\").\n";
    out += "# TYPE sluice_metrics_exporters_admitted gauge\n";
    out += "sluice_metrics_exporters_admitted " + std::to_string(ex.admitted.size()) + "\n";
    return out;
}

}  // namespace sluice::control::metrics
