// SPDX-License-Identifier: Apache-2.0
// The per-worker extrapolation table (extrapolate.hpp): set-associative, preallocated.
#include "extrapolate.hpp"

#include <algorithm>
#include <cstring>

namespace sluice::enrich::extrapolate {

struct table::entry {
    uint64_t addr_a = 0, addr_b = 0;  // the exporter's 16 bytes
    uint32_t ifindex = 0;
    uint8_t has_base = 0;
    uint8_t has_factor[2]{};
    uint8_t ever_sampled = 0;  // a record of this interface was seen (any direction)
    uint64_t last_reading_ns = 0;  // LRU within the set
    uint64_t window_start_ns = 0;
    uint64_t base[2]{};     // counter values at the window's start
    uint64_t sampled[2]{};  // sampled-and-scaled octets since
    double factor[2]{1.0, 1.0};
};

// Tags: 0 = empty way, else the high half of the hash with bit 0 set.
struct table::set {
    uint32_t tag[k_ways]{};
};

namespace {

// splitmix64's finaliser: the exporter and ifIndex spread over all sets.
inline uint64_t mix(uint64_t a, uint64_t b, uint32_t ifindex) noexcept {
    uint64_t x = a ^ (b * 0x9e3779b97f4a7c15ull) ^ (uint64_t(ifindex) << 17) ^ ifindex;
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

inline uint32_t tag_of(uint64_t h) noexcept { return uint32_t(h >> 32) | 1u; }

inline void load_addr(const uint8_t a[16], uint64_t& x, uint64_t& y) noexcept {
    std::memcpy(&x, a, 8);
    std::memcpy(&y, a + 8, 8);
}

inline uint64_t sat_mul(uint64_t a, uint64_t b) noexcept {
    uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

inline uint64_t sat_add(uint64_t a, uint64_t b) noexcept {
    uint64_t r;
    return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

// A flow record's interface counts for extrapolation when it names an ifIndex
// (not "discarded", "multiple", the device itself, or 0 = unknown).
inline bool is_ifindex(decode::if_format f, uint32_t v) noexcept { return f == decode::if_format::ifindex && v != 0; }

}  // namespace

uint64_t scale(uint64_t value, double factor) noexcept {
    if (factor == 1.0) return value;
    const double x = double(value) * factor + 0.5;
    if (x >= 18446744073709551615.0) return UINT64_MAX;
    return uint64_t(x);
}

table::table(const config& cfg) : _cfg(cfg) {
    const uint32_t want = std::max<uint32_t>(1, (cfg.max_interfaces + k_ways - 1) / k_ways);
    _nsets = 1;
    while (_nsets < want) _nsets <<= 1;
    _mask = _nsets - 1;
    _sets = std::make_unique<set[]>(_nsets);
    _entries = std::make_unique<entry[]>(std::size_t(_nsets) * k_ways);
}

table::~table() = default;

table::entry* table::lookup(uint64_t a, uint64_t b, uint32_t ifindex, uint64_t h) const noexcept {
    const uint32_t s = uint32_t(h) & _mask;
    const uint32_t t = tag_of(h);
    const set& st = _sets[s];
    for (unsigned w = 0; w < k_ways; ++w) {
        if (st.tag[w] != t) continue;
        entry& e = _entries[std::size_t(s) * k_ways + w];
        if (e.addr_a == a && e.addr_b == b && e.ifindex == ifindex) return &e;
    }
    return nullptr;
}

table::entry* table::insert(uint64_t a, uint64_t b, uint32_t ifindex, uint64_t h, uint64_t t_ns) noexcept {
    const uint32_t s = uint32_t(h) & _mask;
    set& st = _sets[s];
    entry* base = &_entries[std::size_t(s) * k_ways];
    unsigned victim = k_ways;
    for (unsigned w = 0; w < k_ways; ++w) {
        if (st.tag[w] == 0) {
            victim = w;
            break;
        }
    }
    if (victim == k_ways) {
        victim = 0;
        for (unsigned w = 1; w < k_ways; ++w)
            if (base[w].last_reading_ns < base[victim].last_reading_ns) victim = w;
        counters.add(counter::interfaces_evicted);
    }
    st.tag[victim] = tag_of(h);
    entry& e = base[victim];
    e = entry{};
    e.addr_a = a;
    e.addr_b = b;
    e.ifindex = ifindex;
    e.last_reading_ns = t_ns;
    counters.add(counter::interfaces_tracked);
    return &e;
}

void table::reading(const uint8_t exporter[16], uint32_t ifindex, uint64_t in_octets, uint64_t out_octets,
                    uint64_t t_ns) noexcept {
    uint64_t a, b;
    load_addr(exporter, a, b);
    const uint64_t h = mix(a, b, ifindex);
    entry* e = lookup(a, b, ifindex, h);
    if (e == nullptr) e = insert(a, b, ifindex, h, t_ns);
    counters.add(counter::counter_readings);
    e->last_reading_ns = std::max(e->last_reading_ns, t_ns);
    const uint64_t now[2] = {in_octets, out_octets};
    auto rebase = [&] {
        e->has_base = 1;
        e->window_start_ns = t_ns;
        e->base[0] = in_octets;
        e->base[1] = out_octets;
        e->sampled[0] = e->sampled[1] = 0;
    };
    if (!e->has_base) {
        rebase();
        return;
    }
    if (in_octets < e->base[0] || out_octets < e->base[1]) [[unlikely]] {
        counters.add(counter::counter_resets);
        rebase();
        return;
    }
    // Readings inside the window (or from the past: a reordered datagram) leave it open.
    if (t_ns < e->window_start_ns || t_ns - e->window_start_ns < _cfg.window_ns) return;
    for (unsigned d = 0; d < 2; ++d) {
        const uint64_t delta = now[d] - e->base[d];
        const uint64_t s = e->sampled[d];
        if (s == 0) {
            // Only an interface that had sampled records before counts: a worker
            // that never sees the exporter's flows (SNMP readings reach every worker) stays quiet.
            if (delta != 0 && e->ever_sampled) counters.add(counter::windows_unsampled);
            continue;
        }
        double f = double(delta) / double(s);
        if (f < _cfg.min_factor) {
            f = _cfg.min_factor;
            counters.add(counter::factor_clamped);
        } else if (f > _cfg.max_factor) {
            f = _cfg.max_factor;
            counters.add(counter::factor_clamped);
        }
        e->factor[d] = f;
        e->has_factor[d] = 1;
        counters.add(counter::windows_closed);
    }
    rebase();
}

void table::process(decode::flow_record* r, unsigned n) noexcept {
    uint64_t extrapolated = 0, scaled = 0;
    for (unsigned i = 0; i < n; ++i) {
        decode::flow_record& x = r[i];
        if (x.kind == decode::record_kind::interface_counters) [[unlikely]] {
            reading(x.sampler_address, x.in_if, x.bytes, x.if_out_bytes, x.time_received_ns);
            continue;
        }
        const uint64_t rate = x.sampling_rate ? x.sampling_rate : 1;
        const uint64_t sb = sat_mul(x.bytes, rate);
        const uint64_t sp = sat_mul(x.packets, rate);
        uint64_t a, b;
        load_addr(x.sampler_address, a, b);
        entry* in = is_ifindex(x.in_if_format, x.in_if) ? lookup(a, b, x.in_if, mix(a, b, x.in_if)) : nullptr;
        entry* out = is_ifindex(x.out_if_format, x.out_if) ? lookup(a, b, x.out_if, mix(a, b, x.out_if)) : nullptr;
        double f = 1.0;
        bool have = false;
        if (in != nullptr) {
            if (in->has_base) in->sampled[0] = sat_add(in->sampled[0], sb);
            in->ever_sampled = 1;
            if (in->has_factor[0]) {
                f = in->factor[0];
                have = true;
            }
        }
        if (out != nullptr) {
            if (out->has_base) out->sampled[1] = sat_add(out->sampled[1], sb);
            out->ever_sampled = 1;
            if (!have && out->has_factor[1]) {
                f = out->factor[1];
                have = true;
            }
        }
        x.extrapolated_bytes = scale(sb, f);
        x.extrapolated_packets = scale(sp, f);
        ++extrapolated;
        scaled += have;
    }
    if (extrapolated) counters.add(counter::records_extrapolated, extrapolated);
    if (scaled) counters.add(counter::records_scaled, scaled);
}

bool table::find(const uint8_t exporter[16], uint32_t ifindex, factor_view& out) const noexcept {
    uint64_t a, b;
    load_addr(exporter, a, b);
    const entry* e = lookup(a, b, ifindex, mix(a, b, ifindex));
    if (e == nullptr) return false;
    for (unsigned d = 0; d < 2; ++d) {
        out.valid[d] = e->has_factor[d] != 0;
        out.factor[d] = e->factor[d];
        out.base[d] = e->base[d];
        out.sampled[d] = e->sampled[d];
    }
    return true;
}

}  // namespace sluice::enrich::extrapolate
