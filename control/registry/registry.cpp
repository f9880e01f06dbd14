// SPDX-License-Identifier: Apache-2.0
// The counter registry (see registry.hpp).
#include "registry.hpp"

#include <stdexcept>

namespace sluice::control {

const label* series::find(std::string_view key) const noexcept {
    for (const label& x : l)
        if (x.key == key) return &x;
    return nullptr;
}

std::size_t snapshot::find_group(std::string_view stage, std::string_view component) const noexcept {
    for (std::size_t i = 0; i < groups.size(); ++i)
        if (groups[i].stage == stage && groups[i].component == component) return i;
    return SIZE_MAX;
}

std::size_t snapshot::row(std::size_t g, std::string_view name) const noexcept {
    if (g >= groups.size()) return SIZE_MAX;
    const auto rows = groups[g].rows;
    for (std::size_t i = 0; i < rows.size(); ++i)
        if (rows[i].name == name) return i;
    return SIZE_MAX;
}

uint64_t snapshot::sum(std::size_t g, std::string_view name) const noexcept {
    const std::size_t r = row(g, name);
    if (r == SIZE_MAX) return 0;
    uint64_t t = 0;
    each(g, [&](const series& s) { t += s.get(r); });
    return t;
}

std::size_t registry::add_group(std::string stage, std::string component, std::span<const counters::info> rows) {
    for (const group& g : _groups)
        if (g.stage == stage && g.component == component)
            throw std::logic_error("counter registry: " + stage + "/" + component + " registered twice");
    _groups.push_back({std::move(stage), std::move(component), rows});
    return _groups.size() - 1;
}

void registry::add_values(std::size_t g, labels l, const uint64_t* values, std::size_t n) {
    if (g >= _groups.size() || n != _groups[g].rows.size())
        throw std::logic_error("counter registry: block size does not match its table");
    _sources.push_back({.group = g, .l = std::move(l), .w = when::live, .values = values});
}

void registry::add_reader(std::size_t g, labels l, reader r, when w) {
    _sources.push_back({.group = g, .l = std::move(l), .w = w, .read = std::move(r)});
}

void registry::add_visitor(std::size_t g, labels l, visitor v, when w) {
    _sources.push_back({.group = g, .l = std::move(l), .w = w, .visit = std::move(v)});
}

snapshot registry::read(phase p) const {
    snapshot s;
    s.groups = _groups;
    for (const source& src : _sources) {
        if (src.w == when::after_join && p != phase::final) continue;
        const std::size_t n = _groups[src.group].rows.size();
        if (src.visit) {
            src.visit([&](labels extra, std::span<const uint64_t> values) {
                series x{.group = src.group, .l = src.l, .values = {}};
                for (label& e : extra) x.l.push_back(std::move(e));
                x.values.assign(values.begin(), values.begin() + std::min(values.size(), n));
                x.values.resize(n, 0);
                s.all.push_back(std::move(x));
            });
            continue;
        }
        series x{.group = src.group, .l = src.l, .values = std::vector<uint64_t>(n, 0)};
        if (src.values != nullptr) {
            for (std::size_t i = 0; i < n; ++i) x.values[i] = counters::relaxed_get(src.values[i]);
        } else if (src.read) {
            src.read(x.values);
        }
        s.all.push_back(std::move(x));
    }
    return s;
}

std::string registry::metric_name(const group& g, std::size_t row) {
    return "sluice_" + g.stage + "_" + g.component + "_" + std::string(g.rows[row].name) + "_total";
}

}  // namespace sluice::control
