// SPDX-License-Identifier: Apache-2.0
// The aggregating output: bytes and packets (exported and extrapolated) per window and per combination of
// configured dimensions, with bounded memory (the top K rows by bytes plus one "other" row per window).
//
// NetFlash's engineers read traffic as bps per 5 minutes per dimension; this is that, in the sink stage.
//
//   record ─► window of its flow end time ─► key (the configured dimensions) ─► open-addressing table
//              (late: window closed ─► counted)   (table full: folded into "other" ─► counted)
//   clock passes window end + lateness ─► close: top K by bytes (exact over the table), the rest summed
//              into "other" ─► rows to the output's writer ─► published for `top` queries
//
// Exactness: per closed window, the rows plus "other" add up exactly to the bytes, packets, extrapolated
// bytes and packets and records of every flow record the window took. The top K are exact (against a
// brute-force count) as long as the window's distinct keys fit in max_keys; past that, records of new keys
// are folded into "other" (counted in keys_overflow), so totals stay exact and only the ranking can miss a
// key that first appeared after the table filled.
//
// Time: a record belongs to the window of its flow end time (time_flow_end_ns; time_received_ns when the
// exporter sent no times). The window clock is the newest time_received_ns this aggregator has seen, pushed
// on by advance() when no records arrive (the sink core adds the time since the last record), so a replay
// of old captures aggregates in capture time and a live feed in wall time. A window [s, s+W) closes when the
// clock reaches s + W + lateness. A record whose window has closed is counted as `late` and not aggregated;
// one whose end time is ahead of the clock's window (an exporter clock running ahead) is aggregated in the
// clock's window and counted as `future`; one whose end time is more than max_age before its own reception
// (an exporter whose clock is wrong: no router holds a flow that long past its active timeout) is aggregated
// by its reception time and counted as `clock_skew`. Interface-counter records (sFlow counter samples) are not flows:
// counted as `not_flows`, not aggregated.
//
// Extrapolated volumes: the record's extrapolated_bytes/packets when the enrichment stage set them, else
// bytes/packets times the record's sampling rate (0 = unknown counts as 1).
//
// Enrichment dimensions (src_net_site, exporter_name, in_if_boundary, ...: one attribute of one of the record's
// five attribute sets, enrich/attrs; a declared custom key too, src_net_rack: below): keyed by the VALUE, not by
// the set, so two hosts of one site are one src_net_site row. Per aggregator, a value table interns each
// distinct value string once (the string itself stays in the enrichment interner's flat blob of the set, which
// is never freed: the table holds a pointer) and the key holds its 4-byte id; a direct-mapped cache (set id,
// key) -> value id spares the interner walk for the sets seen recently. Both are allocated at start-up; the
// record path never allocates. A window close resolves the ids it emits to strings (closed_window::values), so
// rows and `top` answers never read the aggregator's tables.
// The value table holds max(4 x max_keys, 4096) distinct values at once; a record with a value first seen while
// it is full is folded into "other" (counted values_overflow: totals stay exact).
//
// Reclaiming the value table (enrichment tables change over days: without it the table would fill with values
// no window holds any more, and every new value would go to "other"). A value's id is its index in a dense
// array, not its hash slot, so ids stay put while others are freed:
//
//   window close (rows resolved to strings first) and the table at least half full (the high-water mark):
//     mark: every id the still-open windows' keys hold ─► sweep: every other id to the free list (counted
//     values_reclaimed) ─► rebuild the hash index from the kept ids ─► clear the (set, key) cache
//
// The open windows' keys keep their ids (no key or hash changes), and the closed window's rows already carry
// their strings (closed_window::values). So a value is refused only when the values the open windows hold plus
// those first seen since the last reclaim exceed the table. The work is a pass over the open windows' tables
// and a rebuild of the index: at most once per window close, never on the record path (which pops a free id
// from a preallocated stack: no allocation).
//
// Memory: per open window, a table of max(2 * max_keys, 1024) rounded up to a power of two slots of
// sizeof(entry) (128 bytes): 16 MiB per window at the default 65536 keys; with an enrichment dimension, the value
// table's hash index (2 x max(4 x max_keys, 4096) rounded up x 16 bytes: 8 MiB at the default), its values, free
// list and marks (21 bytes per value: 5.25 MiB at the default) and the 768 KiB cache.
// Allocated once at start-up; a window close sorts in place, so the record path never allocates.
//
// Ownership: one aggregator per (output, sink core), used only by that sink core. Closed windows are
// published to a `window_history` shared by the output's sink cores and read by the control core (`top`
// queries); its mutex is taken once per window close and per query, never per record.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "counters.hpp"
#include "dataplane/decode/flow_record.hpp"
#include "enrich/attrs/attrs.hpp"

namespace sluice::sinks {

// The dimensions a window can be keyed by. Names as in the JSON record (docs/record.md).
enum class agg_dim : uint8_t {
    exporter,  // sampler_address
    src_addr,
    dst_addr,
    src_net,   // src_addr masked to its exported prefix length (src_net), as "addr/len"
    dst_net,
    proto,
    src_port,
    dst_port,
    in_if,
    out_if,
    src_as,
    dst_as,
    etype,
    ip_tos,
    direction,
    type,
    // The enrichment's attributes (sluiced --enrich-*): the JSON record's member names in snake_case
    // (SrcNetSite -> src_net_site), SrcAS -> src_asn (src_as is the exported field). docs/record.md.
    src_net_name, src_net_role, src_net_site, src_net_region, src_net_tenant, src_net_kind, src_net_service,
    src_net_team, src_net_group, src_country, src_geo_state, src_geo_city, src_asn, src_as_name,
    dst_net_name, dst_net_role, dst_net_site, dst_net_region, dst_net_tenant, dst_net_kind, dst_net_service,
    dst_net_team, dst_net_group, dst_country, dst_geo_state, dst_geo_city, dst_asn, dst_as_name,
    exporter_name, exporter_group, exporter_role, exporter_site, exporter_region, exporter_tenant,
    in_if_name, in_if_description, in_if_speed, in_if_boundary, in_if_connectivity, in_if_provider,
    out_if_name, out_if_description, out_if_speed, out_if_boundary, out_if_connectivity, out_if_provider,
    count_,
};

// Which of the record's attribute sets an enrichment dimension reads (none: a record field).
enum class agg_scope : uint8_t { none, src, dst, exporter, in_if, out_if };

struct agg_dim_info {
    std::string_view name;
    uint8_t width;                  // key bytes
    agg_scope scope = agg_scope::none;
    enrich::key attr = enrich::key::name;  // the attribute (scope != none)
    bool numeric = false;           // printed as a JSON number when the value is digits (asn, speed)
};

namespace detail {
using K = enrich::key;
using S = agg_scope;
constexpr agg_dim_info e(std::string_view n, S s, K k) { return {n, 4, s, k, k == K::asn || k == K::speed}; }
}  // namespace detail

inline constexpr std::array<agg_dim_info, std::size_t(agg_dim::count_)> agg_dim_table{{
    {"sampler_address", 16}, {"src_addr", 16}, {"dst_addr", 16}, {"src_net", 17}, {"dst_net", 17},
    {"proto", 1}, {"src_port", 2}, {"dst_port", 2}, {"in_if", 4}, {"out_if", 4}, {"src_as", 4},
    {"dst_as", 4}, {"etype", 2}, {"ip_tos", 1}, {"direction", 1}, {"type", 1},
    detail::e("src_net_name", detail::S::src, detail::K::name),
    detail::e("src_net_role", detail::S::src, detail::K::role),
    detail::e("src_net_site", detail::S::src, detail::K::site),
    detail::e("src_net_region", detail::S::src, detail::K::region),
    detail::e("src_net_tenant", detail::S::src, detail::K::tenant),
    detail::e("src_net_kind", detail::S::src, detail::K::kind),
    detail::e("src_net_service", detail::S::src, detail::K::service),
    detail::e("src_net_team", detail::S::src, detail::K::team),
    detail::e("src_net_group", detail::S::src, detail::K::group),
    detail::e("src_country", detail::S::src, detail::K::country),
    detail::e("src_geo_state", detail::S::src, detail::K::state),
    detail::e("src_geo_city", detail::S::src, detail::K::city),
    detail::e("src_asn", detail::S::src, detail::K::asn),
    detail::e("src_as_name", detail::S::src, detail::K::as_name),
    detail::e("dst_net_name", detail::S::dst, detail::K::name),
    detail::e("dst_net_role", detail::S::dst, detail::K::role),
    detail::e("dst_net_site", detail::S::dst, detail::K::site),
    detail::e("dst_net_region", detail::S::dst, detail::K::region),
    detail::e("dst_net_tenant", detail::S::dst, detail::K::tenant),
    detail::e("dst_net_kind", detail::S::dst, detail::K::kind),
    detail::e("dst_net_service", detail::S::dst, detail::K::service),
    detail::e("dst_net_team", detail::S::dst, detail::K::team),
    detail::e("dst_net_group", detail::S::dst, detail::K::group),
    detail::e("dst_country", detail::S::dst, detail::K::country),
    detail::e("dst_geo_state", detail::S::dst, detail::K::state),
    detail::e("dst_geo_city", detail::S::dst, detail::K::city),
    detail::e("dst_asn", detail::S::dst, detail::K::asn),
    detail::e("dst_as_name", detail::S::dst, detail::K::as_name),
    detail::e("exporter_name", detail::S::exporter, detail::K::name),
    detail::e("exporter_group", detail::S::exporter, detail::K::group),
    detail::e("exporter_role", detail::S::exporter, detail::K::role),
    detail::e("exporter_site", detail::S::exporter, detail::K::site),
    detail::e("exporter_region", detail::S::exporter, detail::K::region),
    detail::e("exporter_tenant", detail::S::exporter, detail::K::tenant),
    detail::e("in_if_name", detail::S::in_if, detail::K::name),
    detail::e("in_if_description", detail::S::in_if, detail::K::description),
    detail::e("in_if_speed", detail::S::in_if, detail::K::speed),
    detail::e("in_if_boundary", detail::S::in_if, detail::K::boundary),
    detail::e("in_if_connectivity", detail::S::in_if, detail::K::connectivity),
    detail::e("in_if_provider", detail::S::in_if, detail::K::provider),
    detail::e("out_if_name", detail::S::out_if, detail::K::name),
    detail::e("out_if_description", detail::S::out_if, detail::K::description),
    detail::e("out_if_speed", detail::S::out_if, detail::K::speed),
    detail::e("out_if_boundary", detail::S::out_if, detail::K::boundary),
    detail::e("out_if_connectivity", detail::S::out_if, detail::K::connectivity),
    detail::e("out_if_provider", detail::S::out_if, detail::K::provider),
}};
static_assert(agg_dim_table.back().name == "out_if_provider", "agg_dim_table lists every agg_dim, in order");

// Custom-key dimensions: the custom keys declared in the config (--enrich-key, [enrich] keys; enrich/attrs) as
// src_net_<key>, dst_net_<key>, exporter_<key>, in_if_<key>, out_if_<key>, as the JSON names them (SrcNetRack
// = src_net_rack: the key in snake case; src_<key> = src_net_<key> as for the built-in ones). Their agg_dim
// values follow the built-in ones (agg_dim::count_ + i). parse_agg_dims registers each new name in one
// process-wide table (at most k_agg_custom_dims, names at most k_agg_custom_name bytes after the scope), the
// same name being one dimension for every output; resolve_agg_dims gives each its key id at start-up, once the
// keys are declared, and refuses a key that is not declared. Entries are written on the main thread only: at
// start-up, before the lcores launch, and by a config reload's parse, which may only append a new name (an
// aggregation change needs a restart: a running output's dimensions are never re-resolved); an entry never
// moves and is not written again once resolved, so sink cores read theirs without a lock.
constexpr std::size_t k_agg_custom_dims = 64;
constexpr std::size_t k_agg_custom_name = 24;
static_assert(std::size_t(agg_dim::count_) + k_agg_custom_dims <= 256, "agg_dim is a uint8_t");

// The dimension's row (agg_dim_table's, or a custom-key dimension's).
const agg_dim_info& agg_dim_of(agg_dim d) noexcept;
inline bool is_custom_dim(agg_dim d) noexcept { return std::size_t(d) >= std::size_t(agg_dim::count_); }
inline bool is_enrich_dim(agg_dim d) noexcept { return agg_dim_of(d).scope != agg_scope::none; }
// true once resolve_agg_dims gave the custom-key dimension d its key.
bool custom_dim_resolved(agg_dim d) noexcept;

// A value string of an enrichment dimension is printed as at most this many bytes of JSON string content
// (escaped; cut at a character boundary): a row stays within the file writer's line.
constexpr std::size_t k_agg_value_json = 120;

// Key bytes per window entry: the sum of the configured dimensions' widths must fit.
constexpr std::size_t k_agg_key_bytes = 72;

struct agg_config {
    std::vector<agg_dim> dims;     // at least one; key bytes <= k_agg_key_bytes
    uint32_t window_s = 300;       // window length, aligned to the Unix epoch (so to the clock's minutes)
    uint32_t lateness_s = 60;      // a window closes this long after its end; <= 4 windows
    uint32_t top_k = 1000;         // rows per window besides "other"
    uint32_t max_keys = 65536;     // distinct keys tracked exactly per window
    uint32_t history = 12;         // closed windows kept for `top` queries (per output)
    uint32_t max_age_s = 3600;     // a flow end older than this before its reception: the exporter's clock is wrong
};

// Parses "dim+dim+..." (names of agg_dim_table, or exporter for sampler_address; src_site for src_net_site and
// the like: an address scope's src_net_X / dst_net_X may be given as src_X / dst_X; a scope's name that is not
// built-in is a custom-key dimension, registered when `declare_custom`, else unknown). Throws
// std::invalid_argument with the allowed names.
std::vector<agg_dim> parse_agg_dims(std::string_view s, bool declare_custom = true);

// At start-up, once the custom keys are declared: gives every custom-key dimension of `c` its key id in `keys`;
// throws std::invalid_argument naming the dimension and the declared custom keys when one is not declared.
void resolve_agg_dims(const agg_config& c, const enrich::key_registry& keys);

// Checks a config (dims, sizes); throws std::invalid_argument saying what is allowed.
void check_agg_config(const agg_config& c);

// One row of a closed window.
struct agg_row {
    std::array<uint8_t, k_agg_key_bytes> key{};
    uint64_t bytes = 0, packets = 0, ext_bytes = 0, ext_packets = 0, records = 0;
    uint64_t keys = 1;  // keys folded into this row (the "other" row: how many)
    bool other = false;
};

struct closed_window {
    uint64_t start_ns = 0;
    uint32_t window_s = 0;
    unsigned sink = 0;
    std::vector<agg_dim> dims;
    std::vector<agg_row> rows;  // top K by bytes, descending; then the "other" row (always present)
    // The strings of the enrichment dimensions' keys: a key's 4-byte value v > 0 is values[v] (0 = no value,
    // printed null). values[0] is unused.
    std::vector<std::string> values;
};

// Closed windows of one output (all its sink cores), newest last, for `top` queries.
class window_history {
public:
    explicit window_history(uint32_t keep) : _keep(keep) {}
    void publish(std::shared_ptr<const closed_window> w);
    std::vector<std::shared_ptr<const closed_window>> all() const;

private:
    mutable std::mutex _m;
    uint32_t _keep;
    std::deque<std::shared_ptr<const closed_window>> _w;
};

// A `top` answer: rows of the windows starting at `start_ns` (every sink core's, merged), re-grouped by
// `by` (a subset of the output's dims; empty = all), top `limit` by bytes plus "other".
struct top_query {
    std::vector<agg_dim> by;
    uint64_t start_ns = 0;   // 0 = the newest closed window
    uint32_t limit = 10;
};
struct top_answer {
    uint64_t start_ns = 0;
    uint32_t window_s = 0;
    std::vector<agg_dim> dims;
    std::vector<agg_row> rows;  // keys re-encoded over `dims`
    std::vector<std::string> values;  // as closed_window::values, over the merged windows (equal strings: one id)
    bool found = false;
};
// Throws std::invalid_argument when `by` names a dimension the output does not keep.
top_answer query_top(const window_history& h, const std::vector<agg_dim>& output_dims, const top_query& q);

// The answer as one JSON object (the control socket's `top` result):
//   {"found":true,"window_start":"...Z","window_start_ns":N,"window_seconds":300,"by":["dst_port"],
//    "rows":[{"rank":1,"dst_port":443,"records":..,"bytes":..,"packets":..,"extrapolated_bytes":..,
//             "extrapolated_packets":..,"bps":..,"extrapolated_bps":..},...],
//    "other":{"keys":N,"records":..,"bytes":..,...}}
std::string format_top_json(const top_answer& a);

// Formats one row's dimensions as JSON members (`"src_addr":"10.0.0.1","proto":6,"src_net_site":"par1"`), no
// braces; an enrichment dimension's value v is values[v] (null when 0 or out of range). Returns the length
// written (at most k_agg_dims_json bytes: 18 enrichment dimensions of k_agg_value_json bytes fit).
constexpr std::size_t k_agg_dims_json = 3072;
std::size_t format_dims_json(const std::vector<agg_dim>& dims, const uint8_t* key, char* out,
                             const std::vector<std::string>* values = nullptr) noexcept;

// One JSON line per row: window, dimensions, volumes, rates. Returns the length (no newline). At most
// k_agg_row_json bytes: within the file writer's line (k_max_line, sinks/file/file.hpp).
constexpr std::size_t k_agg_row_json = 4000;
std::size_t format_row_json(const closed_window& w, const agg_row& row, unsigned rank, char* out) noexcept;

class aggregator {
public:
    // Called with each closed window (rows sorted); the callback writes the rows (the sink stage's writer).
    using emit_fn = std::function<void(const closed_window&)>;

    // `in`: the enrichment interner the records' attribute ids refer to (sink_context::enrich_interner);
    // nullptr: every enrichment dimension is null. Throws std::invalid_argument for a custom-key dimension not
    // resolved (resolve_agg_dims).
    aggregator(const agg_config& c, unsigned sink, std::shared_ptr<window_history> history, emit_fn emit,
               aggregate_counter_block* counters, const enrich::interner* in = nullptr);
    aggregator(const aggregator&) = delete;
    aggregator& operator=(const aggregator&) = delete;

    // Folds one record in. `scale` multiplies the extrapolated volumes (an output's 1-in-N downsampling).
    void add(const decode::flow_record& r, uint32_t scale = 1) noexcept;
    // The same over n records (the sink stage's path): keys built and table slots prefetched a group ahead.
    void add_burst(const decode::flow_record* recs, unsigned n, uint32_t scale = 1) noexcept;
    // The clock moves on without records (ns since the newest record's time_received); closes windows.
    void advance(uint64_t idle_ns) noexcept;
    // Closes and emits every open window (at stop).
    void close_all() noexcept;

    uint64_t memory_bytes() const noexcept { return _mem; }
    const agg_config& config() const noexcept { return _c; }

    struct entry {
        uint64_t hash;  // 0 = empty slot
        uint64_t bytes, packets, ext_bytes, ext_packets, records;
        std::array<uint8_t, k_agg_key_bytes> key;
        uint8_t pad_[8];
    };
    static_assert(sizeof(entry) == 128);

private:
    struct window {
        uint64_t start_ns = 0;
        bool open = false;
        uint32_t used = 0;
        std::unique_ptr<entry[]> slots;
        agg_row other;
    };
    window* window_for(uint64_t start_ns) noexcept;
    void close_until(uint64_t clock_ns) noexcept;
    void close(window& w) noexcept;
    void make_key(const decode::flow_record& r, uint8_t* key) const noexcept;  // record fields only
    // Any dimensions; false when an enrichment value could not get an id (the value table is full).
    bool make_key_enrich(const decode::flow_record& r, uint8_t* key) noexcept;
    uint32_t value_id(uint32_t set, enrich::key k) noexcept;  // 0 = no value; UINT32_MAX = table full
    // Frees every value id no open window's key holds and rebuilds the index (at a window close).
    void reclaim_values() noexcept;
    void insert(window& w, const uint8_t* key, uint64_t h, const decode::flow_record& r, uint64_t eb,
                uint64_t ep) noexcept;

    agg_config _c;
    unsigned _sink;
    std::shared_ptr<window_history> _history;
    emit_fn _emit;
    aggregate_counter_block* _counters;
    uint64_t _window_ns, _lateness_ns, _max_age_ns;
    uint32_t _mask;
    std::size_t _key_len = 0;
    std::vector<window> _w;  // ring of open windows, by (start / W) % size
    uint64_t _clock_ns = 0;  // newest time_received seen, plus advance()
    uint64_t _last_record_clock = 0;
    uint64_t _mem = 0;

    // Enrichment dimensions (allocated only when the config has one).
    const enrich::interner* _in = nullptr;
    bool _enrich = false;
    struct value_ref {
        uint64_t h;             // the string's hash
        const uint8_t* v;       // in the interner's flat blob (never freed while the process runs): u16 length,
                                // bytes; nullptr = a free id
    };
    static std::string_view ref_value(const value_ref& s) noexcept {
        return {reinterpret_cast<const char*>(s.v + 2), std::size_t(s.v[0] | (s.v[1] << 8))};
    }
    struct index_slot {
        uint64_t h;
        uint32_t id;  // 0 = empty
        uint32_t pad_;
    };
    std::unique_ptr<index_slot[]> _vindex;  // open addressing over the ids, by the string's hash
    std::unique_ptr<value_ref[]> _vals;     // a value's id = its index + 1 (1.._vmax)
    std::unique_ptr<uint32_t[]> _vfree;     // the free ids (a stack: the next one at _vfree[_vfree_n - 1])
    std::unique_ptr<uint8_t[]> _vmark;      // reclaim_values' marks, one per id
    std::vector<std::size_t> _enrich_off;   // key offsets of the enrichment dimensions
    uint32_t _vmask = 0, _vmax = 0, _vfree_n = 0;
    struct cache_slot {
        uint32_t set;   // 0 = empty
        uint16_t key;
        uint16_t pad_;
        uint32_t value;
    };
    static constexpr uint32_t k_cache_bits = 16;
    static constexpr uint32_t k_cache = 1u << k_cache_bits;  // (set, key) pairs: 768 KiB
    std::unique_ptr<cache_slot[]> _cache;
    static uint32_t cache_index(uint32_t set, uint16_t key) noexcept {
        return (set * 0x9E3779B1u + key * 0x85EBCA77u) >> (32 - k_cache_bits);
    }
};

}  // namespace sluice::sinks
