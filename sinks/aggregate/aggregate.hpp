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
// Memory: per open window, a table of max(2 * max_keys, 1024) rounded up to a power of two slots of
// sizeof(entry) (128 bytes): 16 MiB per window at the default 65536 keys. Allocated once at start-up; a
// window close sorts in place, so the record path never allocates.
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
    count_,
};

struct agg_dim_info {
    std::string_view name;
    uint8_t width;  // key bytes
};

inline constexpr std::array<agg_dim_info, std::size_t(agg_dim::count_)> agg_dim_table{{
    {"sampler_address", 16}, {"src_addr", 16}, {"dst_addr", 16}, {"src_net", 17}, {"dst_net", 17},
    {"proto", 1}, {"src_port", 2}, {"dst_port", 2}, {"in_if", 4}, {"out_if", 4}, {"src_as", 4},
    {"dst_as", 4}, {"etype", 2}, {"ip_tos", 1}, {"direction", 1}, {"type", 1},
}};

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

// Parses "dim+dim+..." (names of agg_dim_table, or exporter for sampler_address). Throws std::invalid_argument
// with the allowed names.
std::vector<agg_dim> parse_agg_dims(std::string_view s);

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

// Formats one row's dimensions as JSON members (`"src_addr":"10.0.0.1","proto":6`), no braces. Returns the
// length written (at most k_agg_dims_json bytes).
constexpr std::size_t k_agg_dims_json = 1024;
std::size_t format_dims_json(const std::vector<agg_dim>& dims, const uint8_t* key, char* out) noexcept;

// One JSON line per row: window, dimensions, volumes, rates. Returns the length (no newline).
constexpr std::size_t k_agg_row_json = 2048;
std::size_t format_row_json(const closed_window& w, const agg_row& row, unsigned rank, char* out) noexcept;

class aggregator {
public:
    // Called with each closed window (rows sorted); the callback writes the rows (the sink stage's writer).
    using emit_fn = std::function<void(const closed_window&)>;

    aggregator(const agg_config& c, unsigned sink, std::shared_ptr<window_history> history, emit_fn emit,
               aggregate_counter_block* counters);
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
    void make_key(const decode::flow_record& r, uint8_t* key) const noexcept;
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
};

}  // namespace sluice::sinks
