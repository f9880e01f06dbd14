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
//     offline tool). RSS on the source address keeps one exporter on one
//     worker, so its template state never crosses cores and needs no locks.
//   * The table preallocates max_exporters slots at construction; a slot's
//     address never changes. An exporter gets a slot only after its first
//     datagram validated (it is decoded into a probation state first), and
//     keeps it until it has been idle for exporter_idle_timeout_ns. A full
//     table refuses newcomers (counted, and named in the bounded refused
//     list); established exporters are never evicted to make room.
//   * Protocol state (netflow_state for v9/IPFIX templates, sflow_state) is
//     created lazily by the decoder that needs it and owned by the exporter;
//     it is freed when the slot is retired.
//
// Live reads (the control core, while the worker runs):
//
//   owner (worker)                                  reader (any core)
//   ─────────────                                   ─────────────────
//   counters: relaxed stores ───────────────────►   relaxed loads
//   retire/reuse a slot:                            read_live():
//     epoch.store(odd, release)                       e1 = epoch (acquire), retry if odd
//     slot.generation += 1 (even: free)               walk slots: live ones' addr,
//     retired += slot counters                          times, counters (relaxed)
//     ... reset, reuse (generation odd: live) ...     e2 = epoch (acquire fence)
//     epoch.store(even, release)                      e1 != e2: retry
//
//   A reader sees each live exporter's counters plus the retired totals,
//   never a retired exporter twice or a reused slot under its old address.
//   Only addr, first/last_seen_ns, sampling_override, generation and counters may be read from
//   another core; everything else in exporter_state is owner-only.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <cstring>

#include "counters.hpp"
#include "flow_record.hpp"
#include "sequence.hpp"

namespace sluice::decode {

// Bounds on per-exporter state. Defaults suit a large deployment; sluiced's
// and sluice-decode's --decoder-limit NAME=VALUE override them (the names
// are decoder_limit_table's).
struct decoder_limits {
    uint32_t max_exporters = 4096;             // distinct exporter addresses per worker
    uint32_t max_domains_per_exporter = 64;    // v9 source ids / IPFIX observation domains
    uint32_t max_templates_per_domain = 512;   // data + options templates
    uint32_t max_fields_per_template = 128;    // RFC allows 65535; real exporters use < 100
    uint64_t template_timeout_ns = 3600ull * 1000000000ull;  // drop templates not refreshed for 1 h
    // Records one datagram may yield through decode_datagram() (0 = no cap
    // beyond the output buffer). A 9000-byte jumbo IPFIX datagram of the
    // smallest real templates (about 20 bytes) holds ~450 records, v5 30,
    // sFlow a few dozen: 8192 leaves wide room, while a legal template of
    // 1-byte records could otherwise turn one datagram into 131,070.
    uint32_t records_per_datagram = 8192;
    // An exporter (or one of its domains) silent for this long loses its
    // slot (0 = never). One hour: longer than any real export interval or
    // template refresh, short enough that a spoofed sweep does not hold the
    // table for the life of the process.
    uint64_t exporter_idle_timeout_ns = 3600ull * 1000000000ull;
    // Template memory (field lists + decode plans) per exporter and per
    // worker. A large router holds a few domains of ~30 templates of ~30
    // fields: ~40 KiB. 1 MiB per exporter is 25x that; 256 MiB per worker
    // holds 256 such maxed-out exporters. When the worker total is reached,
    // an exporter may still grow up to its fair share (total / exporters
    // holding templates), so one hostile sender cannot starve the rest.
    uint64_t template_bytes_per_exporter = 1ull << 20;
    uint64_t template_bytes_total = 256ull << 20;
};

// Template memory held by one table's exporters (owner thread only).
struct template_accounting {
    uint64_t bytes = 0;    // every exporter's templates
    uint32_t holders = 0;  // exporters with template state
};

// One settable limit: its name (as given to --decoder-limit), help text and
// default (for docs and --help).
struct decoder_limit_info {
    std::string_view name;
    std::string_view help;
};
extern const std::array<decoder_limit_info, 9> decoder_limit_table;

// Parses "NAME=VALUE" into `limits` (VALUE a decimal integer; *_ns limits
// also take a unit suffix s, ms, us or ns, e.g. "exporter_idle_timeout_ns=30s").
// false, with *error set, on an unknown name or a bad value.
bool parse_decoder_limit(std::string_view assignment, decoder_limits& limits, std::string* error);

// What the caller knows about the datagram besides its bytes.
struct datagram_meta {
    uint8_t exporter_addr[16];  // UDP source address, IPv4-mapped for IPv4
    uint16_t exporter_port;     // UDP source port
    uint16_t collector_port;    // UDP destination port
    uint64_t time_received_ns;  // capture or rx timestamp; also the decoders' "now"
    // The IP version of the header the datagram came in: 4 or 6 (0: not
    // known, no check). An IPv4-mapped source in an IPv6 header is refused.
    uint8_t ip_version = 0;
};

// Summary of one datagram. Details are always in the exporter's counters.
enum class decode_status : uint8_t {
    ok,       // every byte accounted for
    partial,  // some records emitted, some bytes rejected (counted)
    dropped,  // nothing emitted: the datagram was rejected (counted)
};

// Caller-provided output. Decoders append; they never allocate.
// The sampled packet header a record was decoded from: a slice of the
// datagram's payload (valid as long as the payload is), empty when none.
struct header_span {
    const uint8_t* data = nullptr;
    uint32_t size = 0;
};

struct record_buffer {
    flow_record* data = nullptr;
    uint32_t capacity = 0;
    uint32_t size = 0;
    // What a record refused for lack of room counts: err_output_full, or
    // err_records_per_datagram while decode_datagram() caps the capacity.
    counter full_cause = counter::err_output_full;
    // Optional, `capacity` entries: headers[i] = the sampled header of
    // data[i] (sFlow raw packet header records, IPFIX/v9
    // dataLinkFrameSection; empty for every other record). nullptr (the
    // default) = not wanted: one predictable branch per record.
    header_span* headers = nullptr;

    // A zeroed record to fill, or nullptr when full (the caller of next()
    // counts full_cause for every record it could not emit).
    flow_record* next() noexcept {
        if (size == capacity) [[unlikely]]
            return nullptr;
        if (headers != nullptr) [[unlikely]]
            headers[size] = header_span{};
        flow_record* r = &data[size++];
        *r = flow_record{};
        return r;
    }
    // A slot the caller must fill completely (every field), for decoders whose
    // records set every field anyway: saves zeroing sizeof(flow_record) (320) bytes per record.
    flow_record* next_uninitialized() noexcept {
        if (size == capacity) [[unlikely]]
            return nullptr;
        if (headers != nullptr) [[unlikely]]
            headers[size] = header_span{};
        return &data[size++];
    }
    void clear() noexcept { size = 0; }
};

// Numbers the records a decoder appended for one datagram, out[first] up to
// out.size, 0, 1, 2, ... in datagram order (record_index, saturating at
// 0xffff), for the flow id (sinks/encode/flow_id.hpp). Every decoder calls it
// once per datagram (NetFlow v5 sets the index as it fills each record).
inline void number_records(record_buffer& out, uint32_t first) noexcept {
    for (uint32_t i = first; i < out.size; ++i) {
        const uint32_t k = i - first;
        out.data[i].record_index = static_cast<uint16_t>(k < 0xffffu ? k : 0xffffu);
    }
}

// The largest number of records one UDP datagram can yield: a 65535-byte
// IPFIX data set of 1-byte records, doubled for biflows. Callers that must
// never hit err_output_full size their buffer to this.
constexpr uint32_t max_records_per_datagram = 2 * 65535;

struct netflow_state;  // v9 / IPFIX templates and options data: template/template_store.hpp
struct exporter_state;
struct saved_template_state;  // a loaded state file: template/template_state_file.hpp
// Applies the saved state of e's address to e; true when there was some.
bool apply_saved_template_state(const saved_template_state& saved, exporter_state& e) noexcept;
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
    alignas(8) uint8_t addr[16]{};  // read by other cores through exporter_table::read_live()
    const decoder_limits* limits = nullptr;
    template_accounting* templates_acct = nullptr;  // the table's, or none (hand-built state)
    uint32_t sampling_override = 0;  // 0 = none; otherwise forced 1-in-N for every record (read live: relaxed)
    uint64_t first_seen_ns = 0;
    uint64_t last_seen_ns = 0;       // relaxed atomic stores (read live)
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
    // Back to a fresh exporter (frees protocol state).
    void reset() noexcept;
};

// Owner-side stores of values other cores read (last_seen_ns, addr words).
inline void store_relaxed(uint64_t& v, uint64_t x) noexcept {
    std::atomic_ref<uint64_t>(v).store(x, std::memory_order_relaxed);
}

// What read_live() reports for one live exporter.
struct exporter_view {
    uint8_t addr[16];
    uint32_t slot;        // index in the slot array: stable for the exporter's life
    uint32_t generation;  // changes when the slot is retired or reused
    uint64_t first_seen_ns, last_seen_ns;
    counter_block counters;  // a snapshot
    uint32_t sampling_override;  // the forced 1-in-N its records get (exporter_table overrides), 0 = none
};

// One entry of the bounded list of refused senders.
struct refused_view {
    uint8_t addr[16];
    uint64_t datagrams;  // refused datagrams counted for this address (an upper bound once entries were replaced)
    uint64_t last_ns;
    table_counter cause; // the latest cause
};

// Per-worker table of exporters: a preallocated, stable slot array with an
// open-addressing index, so lookups never allocate and another core can walk
// the slots (read_live) while the owner runs.
class exporter_table {
public:
    // Refused senders remembered, heaviest first (space-saving: a newcomer
    // replaces the lightest entry and inherits its count + 1, so a heavy
    // sender is never pushed out by a sweep of one-datagram spoofs).
    static constexpr std::size_t refused_list_size = 32;

    explicit exporter_table(decoder_limits limits = {});
    ~exporter_table();
    exporter_table(const exporter_table&) = delete;
    exporter_table& operator=(const exporter_table&) = delete;

    // ---- owner thread only ----

    // The exporter's state, created on first sight without validation (state
    // restore, tests); nullptr when the table is full (counted
    // refused_table_full).
    exporter_state* find_or_create(const uint8_t addr[16], uint64_t now_ns) noexcept;
    exporter_state* find(const uint8_t addr[16]) const noexcept;

    // decode_datagram()'s path: a known exporter, or nullptr with `probe`
    // set to a reset probation state to decode a newcomer's first datagram
    // into (then admit() or refuse()); nullptr and no probe when the table is
    // full (counted, listed).
    exporter_state* lookup_for_decode(const uint8_t addr[16], uint64_t now_ns, exporter_state*& probe) noexcept;
    // The probe validated: it moves into a slot. Returns the slot's state.
    exporter_state* admit(uint64_t now_ns) noexcept;
    // Counts a refused datagram (table-level counter + the refused list).
    void refuse(const uint8_t addr[16], table_counter cause, uint64_t now_ns) noexcept;

    // Frees the slots of exporters idle for longer than
    // limits().exporter_idle_timeout_ns (their counters go to the retired
    // totals). Runs by itself when the table is full and, a few slots per
    // call, from decode_datagram(); a caller with a timer may call it too.
    // Returns the number expired.
    uint32_t expire(uint64_t now_ns) noexcept;

    // Forces 1-in-N sampling for one exporter (rate 0 removes the override).
    // Applies now and to an exporter first seen later.
    void set_sampling_override(const uint8_t addr[16], uint32_t rate);
    // The same for every exporter inside addr/len (len 0..128 over the 16-byte form: IPv4-mapped
    // a.b.c.d/N is len 96 + N; 128 = one exporter, the entry the form above sets). An exporter takes the
    // rate of the longest entry that contains it; an entry with rate 0 forces nothing, so a more specific
    // entry inside a forced subnet can exempt its exporters. Applies now and to exporters first seen later.
    void set_sampling_override(const uint8_t addr[16], unsigned len, uint32_t rate);
    // Removes the entry addr/len: its exporters fall back to the next longest entry, or to none.
    void clear_sampling_override(const uint8_t addr[16], unsigned len);
    // The forced rate the entries give addr (0 = none).
    uint32_t sampling_override_for(const uint8_t addr[16]) const noexcept;

    // Saved template state (template/template_state_file.hpp), applied to a
    // newcomer before its first datagram decodes (counted
    // exporters_restored_lazily once it is admitted) and by find_or_create
    // to a new slot. Shared read-only by every worker's table.
    void set_saved_state(std::shared_ptr<const saved_template_state> s) noexcept { _saved = std::move(s); }
    const saved_template_state* saved_state() const noexcept { return _saved.get(); }

    const decoder_limits& limits() const noexcept { return _limits; }
    std::size_t size() const noexcept { return _live; }
    const template_accounting& template_memory() const noexcept { return _templates_acct; }

    // Live exporters in slot order (owner thread, or after the owner stopped).
    template <typename F>
    void for_each(F&& f) const {
        for (uint32_t i = 0; i < _capacity; ++i)
            if (_slots[i].live()) f(_slots[i].state);
    }
    template <typename F>
    void for_each(F&& f) {
        for (uint32_t i = 0; i < _capacity; ++i)
            if (_slots[i].live()) f(_slots[i].state);
    }

    // Live exporters with their slot index and generation (owner thread):
    // per-exporter state kept outside the table (e.g. the worker's "already
    // logged" counters) should be indexed by slot and reset when the
    // generation changes, since an expired exporter's slot is reused.
    template <typename F>
    void for_each_slot(F&& f) const {
        for (uint32_t i = 0; i < _capacity; ++i)
            if (_slots[i].live()) f(i, _slots[i].generation.load(std::memory_order_relaxed), _slots[i].state);
    }
    uint32_t capacity() const noexcept { return _capacity; }

    // ---- any thread ----

    // Walks the live exporters (f(const exporter_view&)), then sets *retired
    // to the summed counters of expired exporters, consistently: retries
    // while the owner retires or reuses a slot. false when it could not get a
    // consistent walk in `attempts` tries (only under constant churn).
    template <typename F>
    bool read_live(F&& f, counter_block* retired, int attempts = 8) const;
    table_counter_block table_counters() const noexcept { return _tcounters.snapshot(); }
    // The refused list (owner or any thread; entries being replaced are skipped).
    std::vector<refused_view> refused() const;

    // Datagrams refused because the table was full (kept for callers that
    // test it per datagram; equals table_counters().get(refused_table_full)).
    uint64_t rejected_table_full = 0;

private:
    struct alignas(64) slot {
        std::atomic<uint32_t> generation{0};  // odd: live
        exporter_state state;
        bool live() const noexcept { return generation.load(std::memory_order_relaxed) & 1u; }
    };
    struct refused_entry {
        std::atomic<uint32_t> seq{0};  // odd while the owner rewrites the entry
        std::atomic<uint64_t> addr_hi{0}, addr_lo{0};
        std::atomic<uint64_t> datagrams{0}, last_ns{0};
        std::atomic<uint8_t> cause{0};
    };

    uint32_t index_of(const uint8_t addr[16]) const noexcept;  // slot + 1, 0 = absent
    void index_insert(uint32_t slot) noexcept;
    void index_erase(uint32_t slot) noexcept;
    exporter_state* take_slot(const uint8_t addr[16], uint64_t now_ns) noexcept;
    void retire(uint32_t slot) noexcept;
    void init_state(exporter_state& e, const uint8_t addr[16], uint64_t now_ns) const noexcept;

    decoder_limits _limits;
    uint32_t _capacity = 0;
    std::unique_ptr<slot[]> _slots;       // max_exporters, never moves
    std::vector<uint32_t> _free;          // free slot numbers (stack)
    std::vector<uint32_t> _index;         // open addressing, power of 2: slot + 1, 0 = empty
    uint32_t _live = 0;
    uint32_t _sweep_cursor = 0;
    std::atomic<uint32_t> _epoch{0};      // odd while a slot is retired or reused
    counter_block _retired;               // counters of expired exporters
    table_counter_block _tcounters;
    std::array<refused_entry, refused_list_size> _refused{};
    template_accounting _templates_acct;
    exporter_state _probe;                // a newcomer's first datagram decodes here
    struct override_entry {
        std::array<uint8_t, 16> addr;  // masked to len
        uint8_t len;                   // 0..128
        uint32_t rate;                 // 0: an exemption (forces nothing)
    };
    std::vector<override_entry> _overrides;  // few (one per forced address or subnet); not per packet
    void reapply_overrides(const uint8_t addr[16], unsigned len) noexcept;
    exporter_state* _last = nullptr;      // one-entry cache: bursts come from one exporter
    std::shared_ptr<const saved_template_state> _saved;
    bool _probe_restored = false;
};

template <typename F>
bool exporter_table::read_live(F&& f, counter_block* retired, int attempts) const {
    // Buffered so that f() only ever sees a consistent walk.
    std::vector<exporter_view> views;
    for (int a = 0; a < attempts; ++a) {
        const uint32_t e1 = _epoch.load(std::memory_order_acquire);
        if (e1 & 1u) continue;
        views.clear();
        for (uint32_t i = 0; i < _capacity; ++i) {
            const slot& s = _slots[i];
            const uint32_t g = s.generation.load(std::memory_order_acquire);
            if (!(g & 1u)) continue;
            exporter_view v;
            const uint64_t* w = reinterpret_cast<const uint64_t*>(s.state.addr);
            const uint64_t hi = counters::relaxed_get(w[0]);
            const uint64_t lo = counters::relaxed_get(w[1]);
            std::memcpy(v.addr, &hi, 8);
            std::memcpy(v.addr + 8, &lo, 8);
            v.slot = i;
            v.generation = g;
            v.first_seen_ns = counters::relaxed_get(s.state.first_seen_ns);
            v.last_seen_ns = counters::relaxed_get(s.state.last_seen_ns);
            v.counters = s.state.counters.snapshot();
            v.sampling_override = __atomic_load_n(&s.state.sampling_override, __ATOMIC_RELAXED);
            views.push_back(v);
        }
        counter_block r = _retired.snapshot();
        std::atomic_thread_fence(std::memory_order_acquire);
        if (_epoch.load(std::memory_order_relaxed) != e1) continue;
        for (const exporter_view& v : views) f(v);
        if (retired != nullptr) *retired = r;
        return true;
    }
    return false;
}

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
// or from the version field when auto_detect) and decodes. At most
// decoder_limits::records_per_datagram records are appended; the rest count
// err_records_per_datagram.
decode_status decode_datagram(std::span<const uint8_t> payload, const datagram_meta& meta, protocol proto,
                              exporter_table& exporters, record_buffer& out) noexcept;

// Version detection alone: netflow_v5 / netflow_v9 / ipfix / sflow_5, or
// auto_detect when the bytes match none.
protocol detect_protocol(std::span<const uint8_t> payload) noexcept;

}  // namespace sluice::decode
