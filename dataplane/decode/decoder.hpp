// SPDX-License-Identifier: Apache-2.0
// The decoder contract shared by NetFlow v5, NetFlow v9, IPFIX and sFlow v5,
// and the per-exporter state they work on.
//
// Decoders are pure code over bytes: no DPDK types, no I/O, no exceptions,
// no allocation per record. Tests, fuzzers, benchmarks, `sluice-decode` and
// the `sluiced` workers call them directly.
//
//   UDP payload ──► decode_datagram() ──► decode_<proto>() ──► record_buffer
//                         │                      │
//                         ▼                      ▼
//                  exporter_table ──owns──► exporter_state (counters,
//                  (one per worker)          sequence trackers, templates,
//                                            sampling rates, sFlow state)
//
// Ownership and lifetime:
//   * An exporter_table belongs to exactly one thread (a worker lcore, or the
//     offline tool). RSS on IP addresses keeps one exporter on one worker, so
//     its template state never crosses cores and needs no locks.
//   * exporter_state objects are created on the first datagram from a new
//     exporter address (bounded by decoder_limits::max_exporters; beyond that
//     datagrams are dropped and counted in exporter_table::rejected_*). They
//     live until the table is destroyed.
//   * Protocol state (netflow_state for v9/IPFIX templates, sflow_state) is
//     created lazily by the decoder that needs it and owned by the exporter.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "counters.hpp"
#include "flow_record.hpp"
#include "sequence.hpp"

namespace sluice::decode {

// Bounds on per-exporter state. Defaults suit a large deployment; the config
// file overrides them.
struct decoder_limits {
    uint32_t max_exporters = 4096;             // distinct exporter addresses per worker
    uint32_t max_domains_per_exporter = 64;    // v9 source ids / IPFIX observation domains
    uint32_t max_templates_per_domain = 512;   // data + options templates
    uint32_t max_fields_per_template = 128;    // RFC allows 65535; real exporters use < 100
    uint64_t template_timeout_ns = 3600ull * 1000000000ull;  // drop templates not refreshed for 1 h
};

// What the caller knows about the datagram besides its bytes.
struct datagram_meta {
    uint8_t exporter_addr[16];  // UDP source address, IPv4-mapped for IPv4
    uint16_t exporter_port;     // UDP source port
    uint16_t collector_port;    // UDP destination port
    uint64_t time_received_ns;  // capture or rx timestamp; also the decoders' "now"
};

// Summary of one datagram. Details are always in the exporter's counters.
enum class decode_status : uint8_t {
    ok,       // every byte accounted for
    partial,  // some records emitted, some bytes rejected (counted)
    dropped,  // nothing emitted: the datagram was rejected (counted)
};

// Caller-provided output. Decoders append; they never allocate.
struct record_buffer {
    flow_record* data = nullptr;
    uint32_t capacity = 0;
    uint32_t size = 0;

    // A zeroed record to fill, or nullptr when full (the caller of next()
    // counts err_output_full for every record it could not emit).
    flow_record* next() noexcept {
        if (size == capacity) [[unlikely]]
            return nullptr;
        flow_record* r = &data[size++];
        *r = flow_record{};
        return r;
    }
    // A slot the caller must fill completely (every field), for decoders whose
    // records set every field anyway: saves zeroing 192 bytes per record.
    flow_record* next_uninitialized() noexcept {
        if (size == capacity) [[unlikely]]
            return nullptr;
        return &data[size++];
    }
    void clear() noexcept { size = 0; }
};

// The largest number of records one UDP datagram can yield: a 65535-byte
// IPFIX data set of 1-byte records, doubled for biflows. Callers that must
// never hit err_output_full size their buffer to this.
constexpr uint32_t max_records_per_datagram = 2 * 65535;

struct netflow_state;  // v9 / IPFIX templates and options data: template/template_store.hpp
struct sflow_state;    // sFlow agents and sources: sflow/sflow.hpp

struct netflow_state_deleter {
    void operator()(netflow_state*) const noexcept;
};
struct sflow_state_deleter {
    void operator()(sflow_state*) const noexcept;
};

// NetFlow v5 streams are told apart by (engine_type, engine_id).
struct v5_stream {
    uint16_t engine = 0;  // engine_type << 8 | engine_id
    bool used = false;
    sequence_tracker seq;
};

struct exporter_state {
    uint8_t addr[16]{};
    const decoder_limits* limits = nullptr;
    uint32_t sampling_override = 0;  // 0 = none; otherwise forced 1-in-N for every record
    uint64_t first_seen_ns = 0;
    uint64_t last_seen_ns = 0;
    counter_block counters;

    static constexpr int max_v5_streams = 8;  // engines per exporter address seen in practice: 1-2
    v5_stream v5[max_v5_streams];

    std::unique_ptr<netflow_state, netflow_state_deleter> netflow;
    std::unique_ptr<sflow_state, sflow_state_deleter> sflow;

    // Applies the per-exporter override to a record's rate.
    void apply_sampling(flow_record& r) const noexcept {
        if (sampling_override != 0) {
            r.sampling_rate = sampling_override;
            r.flags |= record_flags::sampling_overridden;
        }
    }
};

// Per-worker table of exporters: open addressing over a fixed slot array,
// sized at construction so lookups never allocate.
class exporter_table {
public:
    explicit exporter_table(decoder_limits limits = {});
    ~exporter_table();
    exporter_table(const exporter_table&) = delete;
    exporter_table& operator=(const exporter_table&) = delete;

    // The exporter's state, created on first sight; nullptr when the table
    // is full (counted in rejected_table_full).
    exporter_state* find_or_create(const uint8_t addr[16], uint64_t now_ns) noexcept;
    exporter_state* find(const uint8_t addr[16]) const noexcept;

    // Forces 1-in-N sampling for one exporter (rate 0 removes the override).
    // Applies now and to an exporter first seen later.
    void set_sampling_override(const uint8_t addr[16], uint32_t rate);

    const decoder_limits& limits() const noexcept { return _limits; }
    std::size_t size() const noexcept { return _exporters.size(); }

    template <typename F>
    void for_each(F&& f) const {
        for (const auto& e : _exporters) f(*e);
    }
    template <typename F>
    void for_each(F&& f) {
        for (auto& e : _exporters) f(*e);
    }

    uint64_t rejected_table_full = 0;  // datagrams dropped: max_exporters reached

private:
    decoder_limits _limits;
    std::vector<std::unique_ptr<exporter_state>> _exporters;  // creation order
    std::vector<exporter_state*> _slots;                      // open addressing, power of 2
    std::vector<std::pair<std::array<uint8_t, 16>, uint32_t>> _overrides;
    exporter_state* _last = nullptr;  // one-entry cache: bursts come from one exporter
};

// Which decoder a port feeds, or auto-detection from the version field.
enum class protocol : uint8_t { auto_detect, netflow_v5, netflow_v9, ipfix, sflow_5 };

// Each protocol decoder: appends records for one datagram, updates the
// exporter's counters, templates and sequence state.
decode_status decode_netflow_v5(std::span<const uint8_t> payload, const datagram_meta& meta,
                                exporter_state& exporter, record_buffer& out) noexcept;
decode_status decode_netflow_v9(std::span<const uint8_t> payload, const datagram_meta& meta,
                                exporter_state& exporter, record_buffer& out) noexcept;
decode_status decode_ipfix(std::span<const uint8_t> payload, const datagram_meta& meta,
                           exporter_state& exporter, record_buffer& out) noexcept;
decode_status decode_sflow(std::span<const uint8_t> payload, const datagram_meta& meta,
                           exporter_state& exporter, record_buffer& out) noexcept;

// Entry point for callers: finds the exporter, picks the decoder (by `proto`,
// or from the version field when auto_detect) and decodes.
decode_status decode_datagram(std::span<const uint8_t> payload, const datagram_meta& meta, protocol proto,
                              exporter_table& exporters, record_buffer& out) noexcept;

// Version detection alone: netflow_v5 / netflow_v9 / ipfix / sflow_5, or
// auto_detect when the bytes match none.
protocol detect_protocol(std::span<const uint8_t> payload) noexcept;

}  // namespace sluice::decode
