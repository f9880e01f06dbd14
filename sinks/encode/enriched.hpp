// SPDX-License-Identifier: Apache-2.0
// What the protobuf and Avro encoders need to write a record's enriched fields (docs/record.md, "Enriched
// fields"; docs/schema.md): the interner the record's *_attr_id point into, a snapshot of the key names, and the
// pieces both encoders share (the five attribute-set blobs, the matched prefix as text, decimal values).
//
// The strings are the interner's flat blobs (enrich/attrs/attrs.hpp: append-only, never freed while the process
// runs), so the sink core needs no table version and no RCU read section, and nothing here allocates per record.
//
// Fields per scope (the same lists in flow.proto and flow.avsc, in key-id order):
//   src, dst   name kind service team role site region tenant group country state city asn as_name
//              + the matched prefix (src_net_match / dst_net_match) + a map of the other keys
//   exporter   name role site region tenant group + map
//   in/out_if  name description speed boundary connectivity provider + map
// A key of the set with no field of its own in the scope (a custom key, `description` on a prefix, an `asn` that
// is not a decimal) goes to the scope's map under its key name (the registry's spelling: `rack`, `as_name`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/decode/flow_record.hpp"
#include "enrich/attrs/attrs.hpp"

namespace sluice::sinks::encode {

// The key names of the registry as it is when made (after the first build: every custom key is declared then).
// Immutable afterwards: the sink cores read it while the builder may still run.
class enriched_keys {
public:
    explicit enriched_keys(const enrich::key_registry& keys) {
        _names.reserve(keys.size());
        for (uint16_t k = 0; k < keys.size(); ++k) _names.emplace_back(keys.name(k));
    }
    // Empty for a key id the snapshot does not know (its pair is then left out, as the JSON does).
    std::string_view name(uint16_t k) const noexcept { return k < _names.size() ? _names[k] : std::string_view{}; }
    std::size_t size() const noexcept { return _names.size(); }

private:
    std::vector<std::string> _names;
};

// Enrichment on: both pointers borrowed from the daemon (they outlive the sinks).
struct enrichment {
    const enrich::interner* in = nullptr;
    const enriched_keys* keys = nullptr;
};

enum enriched_scope : uint8_t { scope_src, scope_dst, scope_exporter, scope_in_if, scope_out_if, scope_count };

// The built-in keys with a field of their own in a scope, in key-id order (the field order of both schemas).
struct scope_fields {
    uint8_t n;
    enrich::key keys[14];
};
inline constexpr scope_fields k_net_fields{14,
                                           {enrich::key::name, enrich::key::kind, enrich::key::service,
                                            enrich::key::team, enrich::key::role, enrich::key::site,
                                            enrich::key::region, enrich::key::tenant, enrich::key::group,
                                            enrich::key::country, enrich::key::state, enrich::key::city,
                                            enrich::key::asn, enrich::key::as_name}};
inline constexpr scope_fields k_exporter_fields{6,
                                                {enrich::key::name, enrich::key::role, enrich::key::site,
                                                 enrich::key::region, enrich::key::tenant, enrich::key::group}};
inline constexpr scope_fields k_interface_fields{6,
                                                 {enrich::key::name, enrich::key::description, enrich::key::speed,
                                                  enrich::key::boundary, enrich::key::connectivity,
                                                  enrich::key::provider}};
inline constexpr const scope_fields& fields_of(enriched_scope s) noexcept {
    return s <= scope_dst ? k_net_fields : s == scope_exporter ? k_exporter_fields : k_interface_fields;
}
// Index of each built-in key in its scope's field list; -1: no field of its own (to the map).
struct field_slots {
    int8_t slot[scope_count][enrich::k_builtin_keys];
};
constexpr field_slots make_field_slots() {
    field_slots t{};
    for (int s = 0; s < scope_count; ++s) {
        for (auto& x : t.slot[s]) x = -1;
        const scope_fields& f = fields_of(static_cast<enriched_scope>(s));
        for (uint8_t i = 0; i < f.n; ++i) t.slot[s][static_cast<uint16_t>(f.keys[i])] = static_cast<int8_t>(i);
    }
    return t;
}
inline constexpr field_slots k_field_slots = make_field_slots();
// The slot of key k in scope s (-1: none, custom keys included).
inline int field_slot(enriched_scope s, uint16_t k) noexcept {
    return k < enrich::k_builtin_keys ? k_field_slots.slot[s][k] : -1;
}

// Numeric keys: asn (u32), speed (Mbit/s, u64). Others are strings.
inline constexpr bool is_numeric(enrich::key k) noexcept { return k == enrich::key::asn || k == enrich::key::speed; }

// The record's five blobs (nullptr: no set), fetched in two passes so the misses overlap.
inline void fetch_blobs(const enrich::interner& in, const decode::flow_record& r,
                        const uint8_t* out[scope_count]) noexcept {
    const uint32_t ids[scope_count] = {r.src_attr_id, r.dst_attr_id, r.exporter_attr_id, r.in_if_attr_id,
                                       r.out_if_attr_id};
    for (uint32_t id : ids) in.prefetch(id);
    for (int s = 0; s < scope_count; ++s) {
        out[s] = in.flat(ids[s]);
        if (out[s]) __builtin_prefetch(out[s]);
    }
}

// Calls f(key, value) for each pair of a flat blob (u32 total, then u8 key, u16 length, bytes), stopping at a
// pair that would run past the blob's total (the blob is the interner's own, but a length is never trusted).
template <typename F>
inline void for_each_pair(const uint8_t* b, F&& f) noexcept {
    uint32_t total;
    std::memcpy(&total, b, 4);
    const uint8_t* q = b + 4;
    const uint8_t* const end = b + total;
    while (end - q >= 3) {
        const uint16_t k = q[0];
        const std::size_t vl = std::size_t(q[1]) | (std::size_t(q[2]) << 8);
        if (std::size_t(end - q - 3) < vl) return;
        f(k, std::string_view(reinterpret_cast<const char*>(q + 3), vl));
        q += 3 + vl;
    }
}

// An unsigned decimal of at most `max` (no sign, no spaces, 1..20 digits); false otherwise.
inline bool parse_decimal(std::string_view v, uint64_t max, uint64_t& out) noexcept {
    if (v.empty() || v.size() > 20) return false;
    uint64_t n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return false;
        const uint64_t d = uint64_t(c - '0');
        if (n > (max - d) / 10) return false;
        n = n * 10 + d;
    }
    out = n;
    return true;
}

// "a.b.c.0/24" / "2001:db8::/32": the address masked to the matched length. match = length + 1 (flow_record):
// 1..33 for an IPv4-mapped address, 1..129 for IPv6. 0 written (nothing) when match is 0, out of range for the
// address family, or the address is absent (all zero).
constexpr std::size_t k_max_prefix_text = 39 + 4;  // the longest RFC 5952 text + "/128"
std::size_t format_net_prefix(const uint8_t addr[16], uint8_t match, char* out) noexcept;

}  // namespace sluice::sinks::encode
