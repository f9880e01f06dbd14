// SPDX-License-Identifier: Apache-2.0
// The per-record lookup (enrich_records, on the worker) and the interface lookups; see tables.hpp.
//
// Per chunk of 32 records, three passes:
//   1. addresses: IPv4 keys gathered and their tbl24 lines prefetched (up to 64 misses in flight); IPv6
//      (rarer) looked up here; zero addresses get 0.
//   2. exporter (one per datagram, almost always: cached, hashed once for the interface table) and the
//      interfaces: CPU work that runs while pass 1's misses are outstanding.
//   3. lpm4::lookup_bulk over the gathered keys (their lines mostly arrived), the ids and matched prefixes
//      written back.
#include <cstddef>
#include <cstring>

#include "tables.hpp"

namespace sluice::enrich {

uint32_t table_version::interface_attr(u128 exporter, uint32_t ifindex) const noexcept {
    if (interfaces.empty()) return 0;
    for (uint64_t i = detail::if_hash(exporter, ifindex) & if_mask;; i = (i + 1) & if_mask) {
        const if_slot& s = interfaces[i];
        if (s.attr_id == 0) return 0;
        if (s.exporter == exporter && s.ifindex == ifindex) return s.attr_id;
    }
}

uint32_t interface_label(const table_version& t, decode::if_format f, uint32_t value) noexcept {
    switch (f) {
    case decode::if_format::local: return t.label.local;
    case decode::if_format::discarded: return t.label.discarded;
    case decode::if_format::multiple: return t.label.multiple;
    case decode::if_format::ifindex: return value == 0 ? t.label.none : 0;
    }
    return 0;
}

namespace {

// The exporter of the records being enriched: its table entry and its part of the interface hash.
struct exporter_ctx {
    uint64_t w[2] = {0, 0};  // the 16 address bytes as loaded (the cache key)
    u128 key = 0;
    uint64_t hash = 0;
    const exporter_entry* e = nullptr;
    bool valid = false;
};

inline uint32_t probe(const table_version& t, const exporter_ctx& x, uint32_t ifindex) noexcept {
    if (t.interfaces.empty()) return 0;
    const table_version::if_slot* slots = t.interfaces.data();
    for (uint64_t i = detail::if_hash_finish(x.hash, ifindex) & t.if_mask;; i = (i + 1) & t.if_mask) {
        const table_version::if_slot& s = slots[i];
        if (s.attr_id == 0) return 0;
        if (s.ifindex == ifindex && s.exporter == x.key) return s.attr_id;
    }
}

inline uint32_t if_attr(const table_version& t, const exporter_ctx& x, decode::if_format f, uint32_t value) noexcept {
    if (f == decode::if_format::ifindex && value != 0) return probe(t, x, value);
    // Label unless the table has an entry for the raw value (an operator may name ifIndex 0 of a device).
    if (t.has_interfaces && f == decode::if_format::ifindex) {
        if (const uint32_t id = probe(t, x, value)) return id;
    }
    return interface_label(t, f, value);
}

// The address as two 64-bit words in memory order (little-endian loads: bytes 0..7, 8..15).
inline void load16(const uint8_t a[16], uint64_t w[2]) noexcept { std::memcpy(w, a, 16); }
inline bool v4_mapped(const uint64_t w[2]) noexcept {
    return w[0] == 0 && static_cast<uint32_t>(w[1]) == 0xffff0000u;  // bytes 8..11 = 00 00 ff ff
}
inline uint32_t v4_of(const uint64_t w[2]) noexcept { return __builtin_bswap32(static_cast<uint32_t>(w[1] >> 32)); }
inline u128 key_of(const uint64_t w[2]) noexcept {
    return (u128(__builtin_bswap64(w[0])) << 64) | __builtin_bswap64(w[1]);
}

// Records per chunk: 2 addresses each, so up to 64 tbl24 prefetches in flight.
constexpr unsigned k_batch = 32;

// Where a gathered IPv4 key's answer goes: the record, and 0 = source / 1 = destination.
inline void put_address(decode::flow_record& r, unsigned dst, uint32_t word) noexcept {
    const uint32_t v = lpm_value(word);
    const uint8_t m = lpm_match(word);
    if (dst) {
        r.dst_attr_id = v;
        r.dst_net_match = m;
    } else {
        r.src_attr_id = v;
        r.src_net_match = m;
    }
}

}  // namespace

void enrich_records(const table_version& t, decode::flow_record* recs, unsigned n) noexcept {
    uint32_t keys[2 * k_batch], words[2 * k_batch];
    uint8_t slot[2 * k_batch];
    exporter_ctx x;
    for (unsigned base = 0; base < n; base += k_batch) {
        const unsigned m = std::min(k_batch, n - base);
        decode::flow_record* r = recs + base;
        // Pass 1: the addresses.
        unsigned nk = 0;
        for (unsigned i = 0; i < m; ++i) {
            const uint8_t* a[2] = {r[i].src_addr, r[i].dst_addr};
            for (unsigned s = 0; s < 2; ++s) {
                uint64_t w[2];
                load16(a[s], w);
                if (v4_mapped(w)) [[likely]] {
                    const uint32_t k = v4_of(w);
                    t.v4.prefetch(k);
                    keys[nk] = k;
                    slot[nk++] = static_cast<uint8_t>(2 * i + s);
                } else {
                    put_address(r[i], s, (w[0] | w[1]) == 0 ? 0 : t.v6.lookup_word(key_of(w)));
                }
            }
        }
        // Pass 2: exporter and interfaces.
        for (unsigned i = 0; i < m; ++i) {
            decode::flow_record& rec = r[i];
            uint64_t w[2];
            load16(rec.sampler_address, w);
            if (!x.valid || w[0] != x.w[0] || w[1] != x.w[1]) [[unlikely]] {
                x.w[0] = w[0];
                x.w[1] = w[1];
                x.key = key_of(w);
                x.hash = detail::if_hash_exporter(x.key);
                x.e = t.exporter(rec.sampler_address);
                x.valid = true;
            }
            rec.exporter_attr_id = x.e ? x.e->attr_id : 0;
            if (x.e && x.e->sampling_rate && !x.e->force && rec.sampling_rate == 0) {
                rec.sampling_rate = x.e->sampling_rate;
                rec.flags |= decode::record_flags::sampling_overridden;
            }
            if (rec.kind == decode::record_kind::interface_counters) {
                rec.in_if_attr_id = if_attr(t, x, decode::if_format::ifindex, rec.in_if);
                rec.out_if_attr_id = 0;
            } else {
                rec.in_if_attr_id = if_attr(t, x, rec.in_if_format, rec.in_if);
                rec.out_if_attr_id = if_attr(t, x, rec.out_if_format, rec.out_if);
            }
        }
        // Pass 3: the IPv4 lookups, their lines prefetched in pass 1.
        t.v4.lookup_bulk(keys, words, nk);
        for (unsigned j = 0; j < nk; ++j) put_address(r[slot[j] >> 1], slot[j] & 1, words[j]);
    }
}

}  // namespace sluice::enrich
