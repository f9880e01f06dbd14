// SPDX-License-Identifier: Apache-2.0
// The per-record lookup (enrich_records, on the worker) and the interface lookups; see tables.hpp.
//
// Per chunk of 32 records, five passes, ordered so that each pass's misses are in flight during the next:
//   1. addresses gathered by family (branch-free: both arrays written, the right count advanced), the IPv4
//      tbl24 lines prefetched (up to 64 misses in flight); zero addresses get 0.
//   2. exporter (one per datagram, almost always: cached) and the interfaces, dense per exporter
//      (index_interfaces: one array read per interface, no probe): CPU work while pass 1's misses are out.
//   3. lpm4::lookup_bulk_start: the tbl24 entries (arrived), the split /24s' interval lines prefetched.
//   4. lpm6::lookup_bulk over the IPv6 keys (staged: their misses overlap), while pass 3's lines arrive.
//   5. lpm4::lookup_bulk_finish, and the ids and matched prefixes written back.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

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

void table_version::index_interfaces() {
    // Per exporter: its ifIndexes sorted; the dense part is 0..len-1 with len the largest ifIndex + 1 such that
    // the entries up to it hold at least 1 in 16 of its slots (and at least 64 slots are allowed), so memory
    // stays within 64 bytes per entry whatever the ifIndex values (Juniper's 500s, Cisco's SNMP indexes).
    if_dense_of.clear();
    if_dense.clear();
    if_dense_mask = 0;
    std::vector<if_slot> keys;  // every entry, by (exporter, ifIndex)
    keys.reserve(interfaces.size() / 2);
    for (const if_slot& s : interfaces)
        if (s.attr_id != 0) keys.push_back(s);
    std::sort(keys.begin(), keys.end(), [](const if_slot& a, const if_slot& b) {
        return a.exporter != b.exporter ? a.exporter < b.exporter : a.ifindex < b.ifindex;
    });
    std::size_t exporters = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) exporters += (i == 0 || keys[i].exporter != keys[i - 1].exporter);
    std::size_t slots = 16;
    while (slots < exporters * 2) slots <<= 1;
    if_dense_of.assign(exporters ? slots : 0, if_dense_ref{});
    if_dense_mask = slots - 1;
    for (std::size_t i = 0; i < keys.size();) {
        std::size_t j = i;
        while (j < keys.size() && keys[j].exporter == keys[i].exporter) ++j;
        uint64_t len = 0;
        for (std::size_t k = i; k < j; ++k) {
            const uint64_t want = uint64_t(keys[k].ifindex) + 1;
            if (want <= std::max<uint64_t>(64, 16 * (k - i + 1))) len = want;
        }
        if_dense_ref r;
        r.exporter = keys[i].exporter;
        r.off = static_cast<uint32_t>(if_dense.size());
        r.len = static_cast<uint32_t>(len);
        r.present = 1;
        if_dense.resize(if_dense.size() + len, 0);
        for (std::size_t k = i; k < j; ++k) {
            if (keys[k].ifindex < len) if_dense[r.off + keys[k].ifindex] = keys[k].attr_id;
            else ++r.rest;
        }
        for (uint64_t h = detail::if_hash_exporter(r.exporter) & if_dense_mask;; h = (h + 1) & if_dense_mask)
            if (!if_dense_of[h].present) {
                if_dense_of[h] = r;
                break;
            }
        i = j;
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
    const uint32_t* dense = nullptr;  // its interfaces by ifIndex, [0, len)
    uint32_t len = 0;
    bool probe_rest = false;  // ifIndexes >= len may be in the table: probe it
    bool valid = false;
};

// The exporter's dense interface array (index_interfaces); a version without interfaces has no index and
// nothing to probe.
inline void find_dense(const table_version& t, exporter_ctx& x) noexcept {
    x.dense = nullptr;
    x.len = 0;
    x.probe_rest = false;  // not in the index: no interfaces at all
    if (t.if_dense_of.empty()) return;
    for (uint64_t h = x.hash & t.if_dense_mask;; h = (h + 1) & t.if_dense_mask) {
        const table_version::if_dense_ref& r = t.if_dense_of[h];
        if (!r.present) return;
        if (r.exporter == x.key) {
            x.dense = t.if_dense.data() + r.off;
            x.len = r.len;
            x.probe_rest = r.rest != 0;
            return;
        }
    }
}

inline uint32_t probe(const table_version& t, const exporter_ctx& x, uint32_t ifindex) noexcept {
    if (t.interfaces.empty()) return 0;
    const table_version::if_slot* slots = t.interfaces.data();
    for (uint64_t i = detail::if_hash_finish(x.hash, ifindex) & t.if_mask;; i = (i + 1) & t.if_mask) {
        const table_version::if_slot& s = slots[i];
        if (s.attr_id == 0) return 0;
        if (s.ifindex == ifindex && s.exporter == x.key) return s.attr_id;
    }
}

// The interface's attribute set: the dense array, else the table's probe where it may hold the entry.
inline uint32_t if_id(const table_version& t, const exporter_ctx& x, uint32_t ifindex) noexcept {
    if (ifindex < x.len) [[likely]]
        return x.dense[ifindex];
    return x.probe_rest ? probe(t, x, ifindex) : 0;
}

inline uint32_t if_attr(const table_version& t, const exporter_ctx& x, decode::if_format f, uint32_t value) noexcept {
    if (f == decode::if_format::ifindex && value != 0) [[likely]]
        return if_id(t, x, value);
    // Label unless the table has an entry for the raw value (an operator may name ifIndex 0 of a device).
    if (t.has_interfaces && f == decode::if_format::ifindex) {
        if (const uint32_t id = if_id(t, x, value)) return id;
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
    u128 keys6[2 * k_batch];
    uint32_t words6[2 * k_batch];
    uint8_t slot[2 * k_batch], slot6[2 * k_batch];
    exporter_ctx x;
    for (unsigned base = 0; base < n; base += k_batch) {
        const unsigned m = std::min(k_batch, n - base);
        decode::flow_record* r = recs + base;
        // Pass 1: the addresses, gathered by family without a branch on it (IPv4 and IPv6 mix at random in
        // real traffic: a branch would mispredict); the IPv4 tbl24 lines prefetched (an IPv6 key prefetches
        // the tbl24's first line, which stays cached).
        unsigned nk = 0, nk6 = 0;
        for (unsigned i = 0; i < m; ++i) {
            const uint8_t* a[2] = {r[i].src_addr, r[i].dst_addr};
            for (unsigned s = 0; s < 2; ++s) {
                uint64_t w[2];
                load16(a[s], w);
                const bool is4 = v4_mapped(w);
                const bool zero = (w[0] | w[1]) == 0;
                const uint32_t k = is4 ? v4_of(w) : 0;
                t.v4.prefetch(k);
                const uint8_t sl = static_cast<uint8_t>(2 * i + s);
                keys[nk] = k;
                slot[nk] = sl;
                nk += is4;
                keys6[nk6] = key_of(w);
                slot6[nk6] = sl;
                nk6 += !is4 & !zero;
                if (zero) [[unlikely]]
                    put_address(r[i], s, 0);
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
                find_dense(t, x);
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
        // Passes 3-5: the IPv4 entries (lines prefetched in pass 1), the IPv6 lookups while the split /24s'
        // interval lines arrive, then those resolved.
        t.v4.lookup_bulk_start(keys, words, nk);
        if (nk6 != 0) {
            t.v6.lookup_bulk(keys6, words6, nk6);
            for (unsigned j = 0; j < nk6; ++j) put_address(r[slot6[j] >> 1], slot6[j] & 1, words6[j]);
        }
        t.v4.lookup_bulk_finish(keys, words, nk);
        for (unsigned j = 0; j < nk; ++j) put_address(r[slot[j] >> 1], slot[j] & 1, words[j]);
    }
}

}  // namespace sluice::enrich
