// SPDX-License-Identifier: Apache-2.0
// The per-record lookup (enrich_records, on the worker) and the interface lookups; see tables.hpp.
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

inline uint32_t if_attr(const table_version& t, u128 exporter, decode::if_format f, uint32_t value) noexcept {
    if (f == decode::if_format::ifindex && value != 0) {
        const uint32_t id = t.interface_attr(exporter, value);
        if (id) return id;
        return 0;
    }
    // Label unless the table has an entry for the raw value (an operator may name ifIndex 0 of a device).
    if (t.has_interfaces && f == decode::if_format::ifindex) {
        if (const uint32_t id = t.interface_attr(exporter, value)) return id;
    }
    return interface_label(t, f, value);
}

inline uint32_t v4_of(const uint8_t a[16]) noexcept {
    return (uint32_t(a[12]) << 24) | (uint32_t(a[13]) << 16) | (uint32_t(a[14]) << 8) | a[15];
}

// Records per lookup batch: 2 addresses each, so 64 tbl24 prefetches in flight, about what a core's
// line-fill buffers and L2 miss queue hold.
constexpr unsigned k_batch = 32;

}  // namespace

void enrich_records(const table_version& t, decode::flow_record* recs, unsigned n) noexcept {
    uint32_t keys[2 * k_batch], vals[2 * k_batch];
    uint16_t slot[2 * k_batch];
    uint8_t last_exp[16] = {};
    const exporter_entry* last_e = nullptr;
    u128 last_key = 0;
    bool have_last = false;
    for (unsigned base = 0; base < n; base += k_batch) {
        const unsigned m = std::min(k_batch, n - base);
        decode::flow_record* r = recs + base;
        // Pass 1: gather the IPv4 keys; IPv6 (rarer) resolved here.
        unsigned nk = 0;
        for (unsigned i = 0; i < m; ++i) {
            const uint8_t* a[2] = {r[i].src_addr, r[i].dst_addr};
            uint32_t* out[2] = {&r[i].src_attr_id, &r[i].dst_attr_id};
            for (int s = 0; s < 2; ++s) {
                if (decode::is_ipv4_mapped(a[s])) {
                    keys[nk] = v4_of(a[s]);
                    slot[nk++] = static_cast<uint16_t>(2 * i + s);
                } else {
                    *out[s] = decode::is_zero_address(a[s]) ? 0 : t.v6.lookup(to_u128(a[s]));
                }
            }
        }
        // Pass 2: the batched IPv4 lookups.
        t.v4.lookup_bulk(keys, vals, nk);
        for (unsigned j = 0; j < nk; ++j) {
            decode::flow_record& x = r[slot[j] >> 1];
            (slot[j] & 1 ? x.dst_attr_id : x.src_attr_id) = vals[j];
        }
        // Pass 3: exporter (one per datagram, almost always: cached) and interfaces.
        for (unsigned i = 0; i < m; ++i) {
            decode::flow_record& x = r[i];
            if (!have_last || std::memcmp(last_exp, x.sampler_address, 16) != 0) [[unlikely]] {
                std::memcpy(last_exp, x.sampler_address, 16);
                last_key = to_u128(x.sampler_address);
                last_e = t.exporter(x.sampler_address);
                have_last = true;
            }
            x.exporter_attr_id = last_e ? last_e->attr_id : 0;
            if (last_e && last_e->sampling_rate && !last_e->force && x.sampling_rate == 0) {
                x.sampling_rate = last_e->sampling_rate;
                x.flags |= decode::record_flags::sampling_overridden;
            }
            if (x.kind == decode::record_kind::interface_counters) {
                x.in_if_attr_id = if_attr(t, last_key, decode::if_format::ifindex, x.in_if);
                x.out_if_attr_id = 0;
            } else {
                x.in_if_attr_id = if_attr(t, last_key, x.in_if_format, x.in_if);
                x.out_if_attr_id = if_attr(t, last_key, x.out_if_format, x.out_if);
            }
        }
    }
}

}  // namespace sluice::enrich
