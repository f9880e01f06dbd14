// SPDX-License-Identifier: Apache-2.0
// Protobuf wire encoding of flow_record; see protobuf.hpp and sinks/proto/flow.proto.
#include "protobuf.hpp"

#include <cstring>

#include "flow_id.hpp"

namespace sluice::sinks::encode {

namespace {

using decode::flow_record;

// Wire types (protobuf encoding spec).
constexpr uint32_t wt_varint = 0, wt_fixed64 = 1, wt_len = 2;

// A field key (number << 3 | wire type) as varint bytes, computed at compile time.
struct key_bytes {
    uint8_t b[3];
    uint8_t n;
};
constexpr key_bytes make_key(uint32_t field, uint32_t wt) {
    uint32_t v = field << 3 | wt;
    key_bytes k{{0, 0, 0}, 0};
    while (v >= 0x80) {
        k.b[k.n++] = static_cast<uint8_t>(v | 0x80);
        v >>= 7;
    }
    k.b[k.n++] = static_cast<uint8_t>(v);
    return k;
}

inline uint8_t* put_varint(uint8_t* p, uint64_t v) noexcept {
    while (v >= 0x80) {
        *p++ = static_cast<uint8_t>(v | 0x80);
        v >>= 7;
    }
    *p++ = static_cast<uint8_t>(v);
    return p;
}

template <uint32_t F, uint32_t WT>
inline uint8_t* put_key(uint8_t* p) noexcept {
    static constexpr key_bytes k = make_key(F, WT);
    // Copying 3 bytes unconditionally is cheaper than a variable-length copy; the spare bytes are overwritten next.
    std::memcpy(p, k.b, 3);
    return p + k.n;
}

// A varint field, omitted when zero.
template <uint32_t F>
inline uint8_t* u(uint8_t* p, uint64_t v) noexcept {
    if (v == 0) return p;
    p = put_key<F, wt_varint>(p);
    return put_varint(p, v);
}

// A varint field, always written.
template <uint32_t F>
inline uint8_t* u_always(uint8_t* p, uint64_t v) noexcept {
    p = put_key<F, wt_varint>(p);
    return put_varint(p, v);
}

// An address: 4 bytes for IPv4-mapped, 16 otherwise, omitted when zero.
template <uint32_t F>
inline uint8_t* addr(uint8_t* p, const uint8_t a[16]) noexcept {
    if (decode::is_zero_address(a)) return p;
    p = put_key<F, wt_len>(p);
    if (decode::is_ipv4_mapped(a)) {
        *p++ = 4;
        std::memcpy(p, a + 12, 4);
        return p + 4;
    }
    *p++ = 16;
    std::memcpy(p, a, 16);
    return p + 16;
}

inline uint64_t mac_u64(const uint8_t m[6]) noexcept {
    uint64_t v = 0;
    for (int i = 0; i < 6; ++i) v = v << 8 | m[i];
    return v;
}

// Every field but the enriched ones, at p; returns the end.
inline uint8_t* encode_base(const flow_record& r, uint8_t* p) noexcept {
    p = u<1>(p, static_cast<uint8_t>(r.type));
    p = u<3>(p, r.sampling_rate);
    p = u<4>(p, r.sequence_num);
    p = addr<6>(p, r.src_addr);
    p = addr<7>(p, r.dst_addr);
    p = u<9>(p, r.bytes);
    p = u<10>(p, r.packets);
    p = addr<11>(p, r.sampler_address);
    p = addr<12>(p, r.next_hop);
    p = u<13>(p, r.next_hop_as);
    p = u<14>(p, r.src_as);
    p = u<15>(p, r.dst_as);
    p = u<16>(p, r.src_net);
    p = u<17>(p, r.dst_net);
    p = u<18>(p, r.in_if);
    p = u<19>(p, r.out_if);
    p = u<20>(p, r.proto);
    p = u<21>(p, r.src_port);
    p = u<22>(p, r.dst_port);
    p = u<23>(p, r.ip_tos);
    p = u<24>(p, r.forwarding_status);
    p = u<25>(p, r.ip_ttl);
    p = u<26>(p, r.tcp_flags);
    p = u<27>(p, mac_u64(r.src_mac));
    p = u<28>(p, mac_u64(r.dst_mac));
    p = u<29>(p, r.vlan_id);
    p = u<30>(p, r.etype);
    p = u<31>(p, r.icmp_type);
    p = u<32>(p, r.icmp_code);
    p = u<33>(p, r.src_vlan);
    p = u<34>(p, r.dst_vlan);
    p = u<37>(p, r.ipv6_flow_label);
    p = u_always<42>(p, static_cast<uint8_t>(r.direction));
    p = u<70>(p, r.observation_domain_id);
    if (r.mpls_label != 0) {  // packed repeated field of one element
        p = put_key<81, wt_len>(p);
        uint8_t* len = p++;
        uint8_t* e = put_varint(p, r.mpls_label);
        *len = static_cast<uint8_t>(e - p);  // a u32 varint is at most 5 bytes
        p = e;
    }
    p = addr<100>(p, r.bgp_next_hop);
    p = u<110>(p, r.time_received_ns);
    p = u<111>(p, r.time_flow_start_ns);
    p = u<112>(p, r.time_flow_end_ns);

    p = put_key<200, wt_fixed64>(p);
    const uint64_t id = flow_id(r);
    for (int i = 0; i < 8; ++i) *p++ = static_cast<uint8_t>(id >> (8 * i));  // fixed64 is little-endian
    p = u<201>(p, r.record_index);
    p = u<202>(p, static_cast<uint8_t>(r.kind));
    p = u<203>(p, r.export_version);
    p = u<204>(p, (r.flags & decode::record_flags::biflow_reverse) ? 1 : 0);
    p = u<205>(p, (r.flags & decode::record_flags::sampling_overridden) ? 1 : 0);
    p = u<206>(p, (r.flags & decode::record_flags::times_from_export) ? 1 : 0);
    p = u<207>(p, static_cast<uint8_t>(r.in_if_format));
    p = u<208>(p, static_cast<uint8_t>(r.out_if_format));
    p = u<209>(p, r.inner_vlan_id);
    p = u<210>(p, r.flow_end_reason);
    p = addr<211>(p, r.post_nat_src_addr);
    p = addr<212>(p, r.post_nat_dst_addr);
    p = u<213>(p, r.post_nat_src_port);
    p = u<214>(p, r.post_nat_dst_port);
    p = u<220>(p, r.if_speed_mbps);
    p = u<221>(p, r.if_out_bytes);
    p = u<222>(p, r.if_out_packets);
    p = u<223>(p, r.if_in_errors);
    p = u<224>(p, r.if_out_errors);
    p = u<225>(p, r.if_in_discards);
    p = u<226>(p, r.if_out_discards);

    p = u<1000>(p, r.extrapolated_bytes);
    p = u<1001>(p, r.extrapolated_packets);
    p = u<1002>(p, r.signature_tags);
    return p;
}

// ---- enriched fields (enriched.hpp; numbers in sinks/proto/flow.proto) ----

// Per scope: the first field number; the scope's fields follow in fields_of() order, then (src/dst) the prefix,
// then the map of the other keys.
constexpr uint16_t k_scope_base[scope_count] = {1003, 1019, 1035, 1042, 1049};

inline std::size_t varint_size(uint64_t v) noexcept {
    std::size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

// The key of an enriched field: every enriched number is in [16, 2048), so its key is exactly 2 bytes.
inline uint8_t* put_key2(uint8_t* p, uint32_t field, uint32_t wt) noexcept {
    const uint32_t v = field << 3 | wt;
    p[0] = static_cast<uint8_t>(v | 0x80);
    p[1] = static_cast<uint8_t>(v >> 7);
    return p + 2;
}
static_assert(1003 >= 16 && 1055 < 2048);

// A string field, written only when it fits before limit. Returns the new end (p when left out).
inline uint8_t* str_field(uint8_t* p, const uint8_t* limit, uint32_t field, std::string_view v) noexcept {
    const std::size_t room = std::size_t(limit - p);
    if (v.size() < 0x80) [[likely]] {  // the usual value: a one-byte length
        if (3 + v.size() > room) return p;
        p = put_key2(p, field, wt_len);
        *p++ = static_cast<uint8_t>(v.size());
    } else {
        if (2 + varint_size(v.size()) + v.size() > room) return p;
        p = put_key2(p, field, wt_len);
        p = put_varint(p, v.size());
    }
    std::memcpy(p, v.data(), v.size());
    return p + v.size();
}

// One map<string,string> entry (a length-delimited message: key = 1, value = 2).
inline uint8_t* map_entry(uint8_t* p, const uint8_t* limit, uint32_t field, std::string_view k,
                          std::string_view v) noexcept {
    const std::size_t entry = 1 + varint_size(k.size()) + k.size() + 1 + varint_size(v.size()) + v.size();
    if (2 + varint_size(entry) + entry > std::size_t(limit - p)) return p;
    p = put_key2(p, field, wt_len);
    p = put_varint(p, entry);
    *p++ = 1 << 3 | wt_len;
    p = put_varint(p, k.size());
    std::memcpy(p, k.data(), k.size());
    p += k.size();
    *p++ = 2 << 3 | wt_len;
    p = put_varint(p, v.size());
    std::memcpy(p, v.data(), v.size());
    return p + v.size();
}

inline uint8_t* scope_set(uint8_t* p, const uint8_t* limit, enriched_scope s, const uint8_t* blob,
                          const enriched_keys& keys) noexcept {
    const uint32_t base = k_scope_base[s];
    const scope_fields& f = fields_of(s);
    const uint32_t map_field = base + f.n + (s <= scope_dst ? 1 : 0);
    for_each_pair(blob, [&](uint16_t k, std::string_view v) {
        const int slot = field_slot(s, k);
        if (slot >= 0) {
            const uint32_t field = base + uint32_t(slot);
            const auto key = static_cast<enrich::key>(k);
            if (!is_numeric(key)) {
                p = str_field(p, limit, field, v);
                return;
            }
            uint64_t n;
            if (parse_decimal(v, key == enrich::key::asn ? 0xffffffffull : ~0ull, n)) {
                if (2 + varint_size(n) <= std::size_t(limit - p)) {
                    p = put_key2(p, field, wt_varint);
                    p = put_varint(p, n);
                }
                return;
            }
            // not a decimal: kept as text in the map
        }
        const std::string_view name = keys.name(k);
        if (!name.empty()) p = map_entry(p, limit, map_field, name, v);
    });
    return p;
}

inline uint8_t* prefix_field(uint8_t* p, const uint8_t* limit, uint32_t field, const uint8_t a[16],
                             uint8_t match) noexcept {
    char t[k_max_prefix_text];
    const std::size_t n = format_net_prefix(a, match, t);
    return n ? str_field(p, limit, field, std::string_view(t, n)) : p;
}

// The enriched fields after the base ones (at p); at most k_protobuf_enrichment_budget bytes: a field that
// would not fit is left out whole (never cut), the ones after it may still fit.
inline uint8_t* encode_enriched(const flow_record& r, const enrichment& e, uint8_t* p) noexcept {
    if ((r.src_attr_id | r.dst_attr_id | r.exporter_attr_id | r.in_if_attr_id | r.out_if_attr_id |
         r.src_net_match | r.dst_net_match) == 0)
        return p;  // exactly the plain encoding
    const uint8_t* const limit = p + k_protobuf_enrichment_budget;
    const uint8_t* blobs[scope_count] = {};
    if (e.in != nullptr && e.keys != nullptr) fetch_blobs(*e.in, r, blobs);
    for (int s = 0; s < scope_count; ++s) {
        const auto sc = static_cast<enriched_scope>(s);
        if (blobs[s]) p = scope_set(p, limit, sc, blobs[s], *e.keys);
        if (sc == scope_src) p = prefix_field(p, limit, k_scope_base[s] + k_net_fields.n, r.src_addr, r.src_net_match);
        if (sc == scope_dst) p = prefix_field(p, limit, k_scope_base[s] + k_net_fields.n, r.dst_addr, r.dst_net_match);
    }
    return p;
}

// varint(length) + message, the message encoded by enc after a 2-byte gap (the longest length varint: every
// message is shorter than 2^14), the gap closed when the length fits in one byte.
template <typename Enc>
inline std::size_t delimited(uint8_t* out, Enc&& enc) noexcept {
    const std::size_t n = enc(out + 2);
    if (n < 0x80) {
        out[0] = static_cast<uint8_t>(n);
        std::memmove(out + 1, out + 2, n);
        return n + 1;
    }
    out[0] = static_cast<uint8_t>(n | 0x80);
    out[1] = static_cast<uint8_t>(n >> 7);
    return n + 2;
}

}  // namespace

std::size_t protobuf_encode(const flow_record& r, uint8_t* out) noexcept {
    return static_cast<std::size_t>(encode_base(r, out) - out);
}

std::size_t protobuf_encode(const flow_record& r, const enrichment& e, uint8_t* out) noexcept {
    return static_cast<std::size_t>(encode_enriched(r, e, encode_base(r, out)) - out);
}

std::size_t protobuf_encode_delimited(const flow_record& r, uint8_t* out) noexcept {
    return delimited(out, [&](uint8_t* p) { return protobuf_encode(r, p); });
}

std::size_t protobuf_encode_delimited(const flow_record& r, const enrichment& e, uint8_t* out) noexcept {
    return delimited(out, [&](uint8_t* p) { return protobuf_encode(r, e, p); });
}

void protobuf_append_delimited(byte_buffer& b, std::span<const flow_record> recs) {
    uint8_t* const start = b.reserve(recs.size() * k_protobuf_delimited_max);
    uint8_t* p = start;
    for (const flow_record& r : recs) p += protobuf_encode_delimited(r, p);
    b.commit(static_cast<std::size_t>(p - start));
}

void protobuf_append_delimited(byte_buffer& b, std::span<const flow_record> recs, const enrichment& e) {
    uint8_t* const start = b.reserve(recs.size() * k_protobuf_enriched_delimited_max);
    uint8_t* p = start;
    for (const flow_record& r : recs) p += protobuf_encode_delimited(r, e, p);
    b.commit(static_cast<std::size_t>(p - start));
}

}  // namespace sluice::sinks::encode
