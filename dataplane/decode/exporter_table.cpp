// SPDX-License-Identifier: Apache-2.0
// exporter_table: per-worker exporter slots (preallocated, validated before
// admission, expired when idle, readable live), the decoder limits' names,
// and decode_datagram(): the one entry point that routes a UDP payload to
// its protocol decoder.
#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>

#include "decoder.hpp"
#include "template/template_store.hpp"
#include "wire.hpp"

namespace sluice::decode {

namespace {

uint64_t hash_addr(const uint8_t a[16]) noexcept {
    uint64_t w[2];
    std::memcpy(w, a, 16);
    // Fibonacci-style mixing; exporter addresses are few and well spread.
    uint64_t h = (w[0] ^ (w[1] * 0x9e3779b97f4a7c15ull));
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return h;
}

bool idle(const exporter_state& e, uint64_t now_ns, uint64_t timeout_ns) noexcept {
    return timeout_ns != 0 && now_ns > e.last_seen_ns && now_ns - e.last_seen_ns > timeout_ns;
}

// Slots checked per decode_datagram() call by the incremental sweep: with
// the default 4096 slots, every slot is looked at every 4096 / 2 datagrams.
constexpr uint32_t k_sweep_per_datagram = 2;

}  // namespace

void exporter_state::reset() noexcept {
    netflow.reset();
    sflow.reset();
    for (auto& s : v5) s = v5_stream{};
    counters = counter_block{};
    sampling_override = 0;
    store_relaxed(first_seen_ns, 0);
    store_relaxed(last_seen_ns, 0);
}

const std::array<decoder_limit_info, 9> decoder_limit_table{{
    {"max_exporters", "exporters per worker (default 4096); a full table refuses newcomers: refused_table_full"},
    {"max_domains_per_exporter", "v9 source ids / IPFIX domains per exporter (default 64): err_domain_table_full"},
    {"max_templates_per_domain", "templates per domain (default 512): err_template_limit"},
    {"max_fields_per_template", "fields per template (default 128): err_template_too_many_fields"},
    {"template_timeout_ns", "drop templates not refreshed for this long (default 1 h, 0 = never): templates_expired"},
    {"records_per_datagram", "records one datagram may yield (default 8192, 0 = no cap): err_records_per_datagram"},
    {"exporter_idle_timeout_ns", "free exporters and domains idle this long (default 1 h, 0 = never): exporters_expired"},
    {"template_bytes_per_exporter", "template memory per exporter (default 1 MiB): err_template_memory"},
    {"template_bytes_total", "template memory per worker, fair shares when reached (default 256 MiB): err_template_memory"},
}};

bool parse_decoder_limit(std::string_view a, decoder_limits& l, std::string* error) {
    auto fail = [&](const std::string& m) {
        if (error != nullptr) *error = m;
        return false;
    };
    const auto eq = a.find('=');
    if (eq == std::string_view::npos) return fail("want NAME=VALUE, got '" + std::string(a) + "'");
    const std::string_view name = a.substr(0, eq);
    std::string_view val = a.substr(eq + 1);
    uint64_t mult = 1;
    const bool ns = name.ends_with("_ns");
    if (ns) {
        struct unit {
            std::string_view suffix;
            uint64_t ns;
        };
        for (const unit u : {unit{"ms", 1000000ull}, unit{"us", 1000ull}, unit{"ns", 1ull}, unit{"s", 1000000000ull}})
            if (val.ends_with(u.suffix)) {
                val.remove_suffix(u.suffix.size());
                mult = u.ns;
                break;
            }
    }
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(val.data(), val.data() + val.size(), v);
    if (ec != std::errc{} || p != val.data() + val.size() || val.empty())
        return fail(std::string(name) + ": bad value '" + std::string(a.substr(eq + 1)) + "'");
    if (v > UINT64_MAX / mult) return fail(std::string(name) + ": value too large");
    v *= mult;
    auto u32 = [&](uint32_t& dst, uint64_t min) {
        if (v < min || v > UINT32_MAX)
            return fail(std::string(name) + ": " + std::to_string(min) + ".." + std::to_string(UINT32_MAX));
        dst = static_cast<uint32_t>(v);
        return true;
    };
    if (name == "max_exporters") return u32(l.max_exporters, 1);
    if (name == "max_domains_per_exporter") return u32(l.max_domains_per_exporter, 1);
    if (name == "max_templates_per_domain") return u32(l.max_templates_per_domain, 1);
    if (name == "max_fields_per_template") return u32(l.max_fields_per_template, 1);
    if (name == "records_per_datagram") return u32(l.records_per_datagram, 0);
    if (name == "template_timeout_ns") return l.template_timeout_ns = v, true;
    if (name == "exporter_idle_timeout_ns") return l.exporter_idle_timeout_ns = v, true;
    if (name == "template_bytes_per_exporter") return l.template_bytes_per_exporter = v, true;
    if (name == "template_bytes_total") return l.template_bytes_total = v, true;
    std::string names;
    for (const auto& r : decoder_limit_table) names += (names.empty() ? "" : ", ") + std::string(r.name);
    return fail("unknown decoder limit '" + std::string(name) + "' (" + names + ")");
}

exporter_table::exporter_table(decoder_limits limits) : _limits(limits) {
    _capacity = std::max<uint32_t>(1, limits.max_exporters);
    _limits.max_exporters = _capacity;
    // The one allocation of slots: they never move, so another core can
    // walk them while this one runs.
    _slots.reset(new slot[_capacity]);
    _free.reserve(_capacity);
    for (uint32_t i = _capacity; i-- > 0;) _free.push_back(i);
    const std::size_t n = std::bit_ceil(std::max<std::size_t>(16, std::size_t(_capacity) * 2));
    _index.assign(n, 0);
    _probe.limits = &_limits;
    _probe.templates_acct = &_templates_acct;
}

exporter_table::~exporter_table() {
    // Protocol state first: it settles its template memory with
    // _templates_acct, which is destroyed before _slots would be.
    for (uint32_t i = 0; i < _capacity; ++i) _slots[i].state.reset();
    _probe.reset();
}

uint32_t exporter_table::index_of(const uint8_t addr[16]) const noexcept {
    const std::size_t mask = _index.size() - 1;
    for (std::size_t i = hash_addr(addr) & mask;; i = (i + 1) & mask) {
        const uint32_t v = _index[i];
        if (v == 0) return 0;
        if (std::memcmp(_slots[v - 1].state.addr, addr, 16) == 0) return v;
    }
}

void exporter_table::index_insert(uint32_t s) noexcept {
    const std::size_t mask = _index.size() - 1;
    std::size_t i = hash_addr(_slots[s].state.addr) & mask;
    while (_index[i] != 0) i = (i + 1) & mask;  // terminates: load factor <= 1/2
    _index[i] = s + 1;
}

void exporter_table::index_erase(uint32_t s) noexcept {
    // Linear probing with backward-shift deletion: no tombstones.
    const std::size_t mask = _index.size() - 1;
    std::size_t i = hash_addr(_slots[s].state.addr) & mask;
    while (_index[i] != s + 1) i = (i + 1) & mask;
    for (std::size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
        const uint32_t v = _index[j];
        if (v == 0) break;
        const std::size_t home = hash_addr(_slots[v - 1].state.addr) & mask;
        // Move v into the hole at i when its home is not in (i, j].
        if (((j - home) & mask) >= ((j - i) & mask)) {
            _index[i] = v;
            i = j;
        }
    }
    _index[i] = 0;
}

exporter_state* exporter_table::find(const uint8_t addr[16]) const noexcept {
    if (_last && std::memcmp(_last->addr, addr, 16) == 0) return _last;
    const uint32_t v = index_of(addr);
    return v != 0 ? &_slots[v - 1].state : nullptr;
}

void exporter_table::init_state(exporter_state& e, const uint8_t addr[16], uint64_t now_ns) const noexcept {
    uint64_t w[2];
    std::memcpy(w, addr, 16);
    auto* dst = reinterpret_cast<uint64_t*>(e.addr);
    store_relaxed(dst[0], w[0]);
    store_relaxed(dst[1], w[1]);
    e.limits = &_limits;
    e.templates_acct = const_cast<template_accounting*>(&_templates_acct);
    store_relaxed(e.first_seen_ns, now_ns);
    store_relaxed(e.last_seen_ns, now_ns);
    e.sampling_override = sampling_override_for(addr);
}

exporter_state* exporter_table::take_slot(const uint8_t addr[16], uint64_t now_ns) noexcept {
    if (_free.empty()) expire(now_ns);
    if (_free.empty()) [[unlikely]]
        return nullptr;
    const uint32_t s = _free.back();
    _free.pop_back();
    slot& sl = _slots[s];
    _epoch.fetch_add(1, std::memory_order_acq_rel);  // odd: readers retry
    sl.state.reset();
    init_state(sl.state, addr, now_ns);
    sl.generation.store(sl.generation.load(std::memory_order_relaxed) + 1, std::memory_order_release);  // live
    _epoch.fetch_add(1, std::memory_order_release);
    index_insert(s);
    ++_live;
    _tcounters.add(table_counter::exporters_created);
    if (sl.state.sampling_override != 0) _tcounters.add(table_counter::sampling_forced);
    return &sl.state;
}

void exporter_table::retire(uint32_t s) noexcept {
    slot& sl = _slots[s];
    index_erase(s);
    if (_last == &sl.state) _last = nullptr;
    _epoch.fetch_add(1, std::memory_order_acq_rel);  // odd: readers retry
    sl.generation.store(sl.generation.load(std::memory_order_relaxed) + 1, std::memory_order_release);  // free
    for (std::size_t i = 0; i < counter_count; ++i) counters::relaxed_add(_retired.v[i], sl.state.counters.at(i));
    sl.state.reset();
    _epoch.fetch_add(1, std::memory_order_release);
    _free.push_back(s);
    --_live;
    _tcounters.add(table_counter::exporters_expired);
}

uint32_t exporter_table::expire(uint64_t now_ns) noexcept {
    const uint64_t timeout = _limits.exporter_idle_timeout_ns;
    if (timeout == 0) return 0;
    uint32_t n = 0;
    for (uint32_t i = 0; i < _capacity; ++i)
        if (_slots[i].live() && idle(_slots[i].state, now_ns, timeout)) {
            retire(i);
            ++n;
        }
    return n;
}

exporter_state* exporter_table::find_or_create(const uint8_t addr[16], uint64_t now_ns) noexcept {
    if (exporter_state* e = find(addr)) {
        store_relaxed(e->last_seen_ns, now_ns);
        _last = e;
        return e;
    }
    exporter_state* e = take_slot(addr, now_ns);
    if (e == nullptr) [[unlikely]] {
        refuse(addr, table_counter::refused_table_full, now_ns);
        return nullptr;
    }
    _last = e;
    if (_saved != nullptr && apply_saved_template_state(*_saved, *e))
        _tcounters.add(table_counter::exporters_restored_lazily);
    return e;
}

exporter_state* exporter_table::lookup_for_decode(const uint8_t addr[16], uint64_t now_ns,
                                                  exporter_state*& probe) noexcept {
    probe = nullptr;
    if (_last && std::memcmp(_last->addr, addr, 16) == 0) [[likely]] {
        store_relaxed(_last->last_seen_ns, now_ns);
        return _last;
    }
    // The incremental sweep: a few slots per new lookup keep idle exporters
    // from holding slots on a table that never fills.
    if (_limits.exporter_idle_timeout_ns != 0) {
        for (uint32_t k = 0; k < k_sweep_per_datagram; ++k) {
            const uint32_t i = _sweep_cursor;
            _sweep_cursor = _sweep_cursor + 1 == _capacity ? 0 : _sweep_cursor + 1;
            if (!_slots[i].live()) continue;
            exporter_state& e = _slots[i].state;
            if (idle(e, now_ns, _limits.exporter_idle_timeout_ns)) {
                if (std::memcmp(e.addr, addr, 16) != 0) retire(i);
            } else if (e.netflow) {
                // An active exporter's own idle sessions (an old source port, an abandoned domain).
                if (const uint32_t n = e.netflow->expire_idle(now_ns, _limits.exporter_idle_timeout_ns))
                    e.counters.add(counter::sessions_expired, n);
            }
        }
    }
    if (const uint32_t v = index_of(addr)) {
        exporter_state* e = &_slots[v - 1].state;
        store_relaxed(e->last_seen_ns, now_ns);
        _last = e;
        return e;
    }
    if (_free.empty()) expire(now_ns);
    if (_free.empty()) [[unlikely]] {
        refuse(addr, table_counter::refused_table_full, now_ns);
        return nullptr;
    }
    _probe.reset();
    init_state(_probe, addr, now_ns);
    // Saved state applies before the first datagram decodes, so that one
    // finds its templates; kept only if the probe is admitted.
    _probe_restored = _saved != nullptr && apply_saved_template_state(*_saved, _probe);
    probe = &_probe;
    return nullptr;
}

exporter_state* exporter_table::admit(uint64_t now_ns) noexcept {
    uint8_t addr[16];
    std::memcpy(addr, _probe.addr, 16);
    exporter_state* e = take_slot(addr, now_ns);
    if (e == nullptr) [[unlikely]] {  // cannot happen: lookup_for_decode() checked for a free slot
        refuse(addr, table_counter::refused_table_full, now_ns);
        _probe.reset();
        return nullptr;
    }
    // Move the probe's learned state in. The slot is live already; its
    // counters were zero, so adding keeps the owner-only relaxed stores.
    for (std::size_t i = 0; i < counter_count; ++i) counters::relaxed_add(e->counters.v[i], _probe.counters.at(i));
    std::copy(std::begin(_probe.v5), std::end(_probe.v5), std::begin(e->v5));
    e->netflow = std::move(_probe.netflow);
    e->sflow = std::move(_probe.sflow);
    if (_probe.first_seen_ns < e->first_seen_ns) store_relaxed(e->first_seen_ns, _probe.first_seen_ns);
    if (_probe_restored) _tcounters.add(table_counter::exporters_restored_lazily);
    _probe_restored = false;
    _probe.reset();
    _last = e;
    return e;
}

void exporter_table::refuse(const uint8_t addr[16], table_counter cause, uint64_t now_ns) noexcept {
    _tcounters.add(cause);
    if (cause == table_counter::refused_table_full) counters::relaxed_add(rejected_table_full, 1);
    uint64_t hi, lo;
    std::memcpy(&hi, addr, 8);
    std::memcpy(&lo, addr + 8, 8);
    refused_entry* lightest = &_refused[0];
    for (auto& r : _refused) {
        const uint64_t n = r.datagrams.load(std::memory_order_relaxed);
        if (n != 0 && r.addr_hi.load(std::memory_order_relaxed) == hi && r.addr_lo.load(std::memory_order_relaxed) == lo) {
            r.datagrams.store(n + 1, std::memory_order_relaxed);
            r.last_ns.store(now_ns, std::memory_order_relaxed);
            r.cause.store(static_cast<uint8_t>(cause), std::memory_order_relaxed);
            return;
        }
        if (n < lightest->datagrams.load(std::memory_order_relaxed)) lightest = &r;
    }
    // Space-saving replacement of the lightest entry (a free one has 0).
    refused_entry& r = *lightest;
    const uint32_t q = r.seq.load(std::memory_order_relaxed);
    r.seq.store(q + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    r.addr_hi.store(hi, std::memory_order_relaxed);
    r.addr_lo.store(lo, std::memory_order_relaxed);
    r.datagrams.store(r.datagrams.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    r.last_ns.store(now_ns, std::memory_order_relaxed);
    r.cause.store(static_cast<uint8_t>(cause), std::memory_order_relaxed);
    r.seq.store(q + 2, std::memory_order_release);
}

std::vector<refused_view> exporter_table::refused() const {
    std::vector<refused_view> out;
    for (const auto& r : _refused) {
        const uint32_t q1 = r.seq.load(std::memory_order_acquire);
        if (q1 & 1u) continue;
        refused_view v;
        const uint64_t hi = r.addr_hi.load(std::memory_order_relaxed), lo = r.addr_lo.load(std::memory_order_relaxed);
        v.datagrams = r.datagrams.load(std::memory_order_relaxed);
        v.last_ns = r.last_ns.load(std::memory_order_relaxed);
        v.cause = static_cast<table_counter>(r.cause.load(std::memory_order_relaxed));
        std::atomic_thread_fence(std::memory_order_acquire);
        if (r.seq.load(std::memory_order_relaxed) != q1 || v.datagrams == 0) continue;
        std::memcpy(v.addr, &hi, 8);
        std::memcpy(v.addr + 8, &lo, 8);
        out.push_back(v);
    }
    std::sort(out.begin(), out.end(), [](const refused_view& a, const refused_view& b) {
        return a.datagrams != b.datagrams ? a.datagrams > b.datagrams : std::memcmp(a.addr, b.addr, 16) < 0;
    });
    return out;
}

namespace {

// addr inside the prefix p/len (p masked).
bool in_prefix(const uint8_t addr[16], const uint8_t p[16], unsigned len) noexcept {
    const unsigned whole = len / 8, bits = len % 8;
    if (std::memcmp(addr, p, whole) != 0) return false;
    return bits == 0 || ((addr[whole] ^ p[whole]) & uint8_t(0xff << (8 - bits))) == 0;
}

std::array<uint8_t, 16> masked(const uint8_t addr[16], unsigned len) noexcept {
    std::array<uint8_t, 16> k{};
    for (unsigned i = 0; i < 16; ++i) {
        const unsigned bits = len >= 8 * (i + 1) ? 8 : (len > 8 * i ? len - 8 * i : 0);
        k[i] = bits == 0 ? 0 : uint8_t(addr[i] & uint8_t(0xff << (8 - bits)));
    }
    return k;
}

}  // namespace

uint32_t exporter_table::sampling_override_for(const uint8_t addr[16]) const noexcept {
    int best = -1;
    uint32_t rate = 0;
    for (const override_entry& o : _overrides)
        if (int(o.len) > best && in_prefix(addr, o.addr.data(), o.len)) {
            best = o.len;
            rate = o.rate;
        }
    return rate;
}

void exporter_table::reapply_overrides(const uint8_t addr[16], unsigned len) noexcept {
    const auto p = masked(addr, len);
    for_each([&](exporter_state& e) {
        if (!in_prefix(e.addr, p.data(), len)) return;
        const uint32_t r = sampling_override_for(e.addr);
        if (r == e.sampling_override) return;
        __atomic_store_n(&e.sampling_override, r, __ATOMIC_RELAXED);  // read live (read_live)
        _tcounters.add(table_counter::sampling_forced);
    });
}

void exporter_table::set_sampling_override(const uint8_t addr[16], uint32_t rate) {
    if (rate == 0) clear_sampling_override(addr, 128);
    else set_sampling_override(addr, 128, rate);
}

void exporter_table::set_sampling_override(const uint8_t addr[16], unsigned len, uint32_t rate) {
    if (len > 128) len = 128;
    const auto key = masked(addr, len);
    auto it = std::find_if(_overrides.begin(), _overrides.end(),
                           [&](const override_entry& o) { return o.len == len && o.addr == key; });
    if (it != _overrides.end()) it->rate = rate;
    else _overrides.push_back({key, uint8_t(len), rate});
    reapply_overrides(addr, len);
}

void exporter_table::clear_sampling_override(const uint8_t addr[16], unsigned len) {
    if (len > 128) len = 128;
    const auto key = masked(addr, len);
    std::erase_if(_overrides, [&](const override_entry& o) { return o.len == len && o.addr == key; });
    reapply_overrides(addr, len);
}

protocol detect_protocol(std::span<const uint8_t> payload) noexcept {
    if (payload.size() < 4) return protocol::auto_detect;
    const uint16_t v16 = wire::be16(payload.data());
    switch (v16) {
        case 5: return protocol::netflow_v5;
        case 9: return protocol::netflow_v9;
        case 10: return protocol::ipfix;
        case 0:
            if (wire::be32(payload.data()) == 5) return protocol::sflow_5;
            break;
        default: break;
    }
    return protocol::auto_detect;
}

namespace {

decode_status decode_one(std::span<const uint8_t> payload, const datagram_meta& meta, protocol proto,
                         const decoder_limits& lim, exporter_state& exporter, record_buffer& out) noexcept {
    if (proto == protocol::auto_detect) proto = detect_protocol(payload);
    if (proto == protocol::auto_detect) [[unlikely]] {
        exporter.counters.add(counter::datagrams);
        exporter.counters.add(counter::datagram_bytes, payload.size());
        exporter.counters.add(payload.size() < 4 ? counter::err_truncated_header : counter::err_unknown_version);
        return decode_status::dropped;
    }
    // The per-datagram record cap: a narrower buffer whose overflow counts
    // its own cause.
    const uint32_t cap = lim.records_per_datagram;
    const uint32_t capacity = out.capacity;
    if (cap != 0 && out.capacity - out.size > cap) [[unlikely]] {
        out.capacity = out.size + cap;
        out.full_cause = counter::err_records_per_datagram;
    }
    decode_status st = decode_status::dropped;
    switch (proto) {
        case protocol::netflow_v5: st = decode_netflow_v5(payload, meta, exporter, out); break;
        case protocol::netflow_v9: st = decode_netflow_v9(payload, meta, exporter, out); break;
        case protocol::ipfix: st = decode_ipfix(payload, meta, exporter, out); break;
        case protocol::sflow_5: st = decode_sflow(payload, meta, exporter, out); break;
        case protocol::auto_detect: break;
    }
    out.capacity = capacity;
    out.full_cause = counter::err_output_full;
    return st;
}

}  // namespace

decode_status decode_datagram(std::span<const uint8_t> payload, const datagram_meta& meta, protocol proto,
                              exporter_table& exporters, record_buffer& out) noexcept {
    if (meta.ip_version == 6 && is_ipv4_mapped(meta.exporter_addr)) [[unlikely]] {
        exporters.refuse(meta.exporter_addr, table_counter::refused_ipv4_mapped_ipv6_source, meta.time_received_ns);
        return decode_status::dropped;
    }
    exporter_state* probe = nullptr;
    exporter_state* exporter = exporters.lookup_for_decode(meta.exporter_addr, meta.time_received_ns, probe);
    if (exporter != nullptr) [[likely]]
        return decode_one(payload, meta, proto, exporters.limits(), *exporter, out);
    if (probe == nullptr) [[unlikely]]
        return decode_status::dropped;  // table full: counted
    // A newcomer: its first datagram decodes into the probation state. It
    // validates when something in it was sound, or when its only fault was
    // data for templates not yet known (a restarted collector).
    const uint32_t size_before = out.size;
    const decode_status st = decode_one(payload, meta, proto, exporters.limits(), *probe, out);
    const uint64_t errors = probe->counters.errors();
    const uint64_t waiting = probe->counters.get(counter::err_data_before_template);
    if (st == decode_status::dropped && errors != waiting) [[unlikely]] {
        out.size = size_before;
        exporters.refuse(meta.exporter_addr, table_counter::refused_invalid_first_datagram, meta.time_received_ns);
        return st;
    }
    exporters.admit(meta.time_received_ns);
    return st;
}

}  // namespace sluice::decode
