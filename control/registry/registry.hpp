// SPDX-License-Identifier: Apache-2.0
// The counter registry: every component's counter table and every instance of it (an lcore's block, a port, an exporter), registered once at start, walked by every output.
//
//   setup ──add_group(stage, component, table)──► group  (one per component table)
//         ──add_block / add_reader / add_visitor──► source (one per lcore, port, or per-exporter table)
//
//   control core ──read(phase)──► snapshot: one series per instance {group, labels, values[]}
//                     ├─► summary line each --stats-interval  (stats.hpp)
//                     ├─► periodic JSON (--stats-json-interval) and the final JSON/text stats
//                     └─► Prometheus text, DPDK telemetry, the control socket's stats (control/metrics/, control/commands/)
//
// Names: a row `r` of group (stage, component) is exported as
// `sluice_<stage>_<component>_<r>_total` (metric_name()). Kinds come from the
// row ({name, help, kind}); no output decides by position what a drop is.
//
// Reading: block sources are read with relaxed loads of the owner's block
// (counters::block), reader sources call a function on the control core
// (rte_eth_stats_get for ports). Visitor sources (per-exporter counters)
// are walked through the component's own visitor, which emits one series per
// entry; a visitor registered with `when::after_join` is only read in the
// final phase, once its owner has stopped. The exporter tables are visited
// live through exporter_table::read_live() (stable preallocated slots, a
// per-slot generation and a table epoch: dataplane/decode/decoder.hpp).
//
// Ownership: the registry borrows every block, reader target and table; they
// must outlive it (the daemon declares the registry after what it reads).
// Registration happens before the lcores launch; read() is called only on
// the control core. No locks: the only writers are the owners' relaxed stores.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/counters/counters.hpp"

namespace sluice::control {

// One key=value of a series (worker=3, port=net_pcap0, exporter=10.0.0.1).
// `number`: the value is numeric (JSON writes it unquoted).
struct label {
    std::string key;
    std::string value;
    bool number = false;
};
using labels = std::vector<label>;

inline label num_label(std::string key, uint64_t v) { return {std::move(key), std::to_string(v), true}; }
inline label str_label(std::string key, std::string v) { return {std::move(key), std::move(v), false}; }

// When a source may be read.
enum class when : uint8_t {
    live,        // any time (relaxed loads of an owner-written block, or a thread-safe reader)
    after_join,  // only once the owner has stopped (phase::final)
};

enum class phase : uint8_t { live, final };

struct group {
    std::string stage, component;
    std::span<const counters::info> rows;
};

// One instance's values, read at one instant (each value atomically).
struct series {
    std::size_t group = 0;
    labels l;
    std::vector<uint64_t> values;  // rows.size()

    const label* find(std::string_view key) const noexcept;
    uint64_t get(std::size_t row) const noexcept { return row < values.size() ? values[row] : 0; }
};

struct snapshot {
    std::vector<group> groups;  // copy of the registry's groups (names, tables)
    std::vector<series> all;    // in registration order; a visitor's entries in its order

    // Index of the group (stage, component), or SIZE_MAX.
    std::size_t find_group(std::string_view stage, std::string_view component) const noexcept;
    // Sum of one row (by name) over every series of a group.
    uint64_t sum(std::size_t group, std::string_view row) const noexcept;
    // Row index by name in a group, or SIZE_MAX.
    std::size_t row(std::size_t group, std::string_view row) const noexcept;
    template <typename F>
    void each(std::size_t group, F&& f) const {
        for (const series& s : all)
            if (s.group == group) f(s);
    }
};

class registry {
public:
    // Fills `out` (one value per row). Runs on the control core.
    using reader = std::function<void(std::span<uint64_t> out)>;
    // Emits one entry's labels (added to the source's) and values (rows.size()).
    using emit = std::function<void(labels extra, std::span<const uint64_t> values)>;
    using visitor = std::function<void(const emit&)>;

    std::size_t add_group(std::string stage, std::string component, std::span<const counters::info> rows);

    // An owner-written block (relaxed stores), read with relaxed loads.
    template <typename E, std::size_t N>
    void add_block(std::size_t g, labels l, const counters::block<E, N>& b) {
        add_values(g, std::move(l), b.v.data(), N);
    }
    // Any array of owner-written uint64_t (relaxed stores), one per row.
    void add_values(std::size_t g, labels l, const uint64_t* values, std::size_t n);
    void add_reader(std::size_t g, labels l, reader r, when w = when::live);
    void add_visitor(std::size_t g, labels l, visitor v, when w);

    snapshot read(phase p) const;

    const std::vector<group>& groups() const noexcept { return _groups; }
    // sluice_<stage>_<component>_<row>_total
    static std::string metric_name(const group& g, std::size_t row);

private:
    struct source {
        std::size_t group;
        labels l;
        when w;
        const uint64_t* values = nullptr;  // block source
        reader read;                       // reader source
        visitor visit;                     // visitor source
    };
    std::vector<group> _groups;
    std::vector<source> _sources;
};

}  // namespace sluice::control
