// SPDX-License-Identifier: Apache-2.0
// The flow_record Avro datum encoder and the avro-c object-container wrapper; see avro.hpp.
#include "avro.hpp"

#include <avro.h>

#include <cstring>

#include "dataplane/decode/record_format.hpp"
#include "flow_schema.hpp"
#include "sinks/encode/flow_id.hpp"

namespace sluice::sinks::avro {

namespace {

// Avro binary encoding (Avro 1.11 spec, "Binary Encoding"): int and long
// are zigzag varints; a union is its branch index (a long) then the value;
// a string is its length (a long) then the bytes.
class out {
public:
    explicit out(uint8_t* p) noexcept : _p(p), _begin(p) {}

    void varint(uint64_t z) noexcept {
        while (z >= 0x80) {
            *_p++ = uint8_t(z | 0x80);
            z >>= 7;
        }
        *_p++ = uint8_t(z);
    }
    // An unsigned value (u8..u64) as an Avro int or long: non-negative, so
    // zigzag is 2n. A u64 at or above 2^63 is written as the long it is in
    // two's complement (negative), as documented in docs/schema.md.
    void num(uint64_t v) noexcept { varint((v << 1) ^ uint64_t(int64_t(v) >> 63)); }
    void null() noexcept { *_p++ = 0; }       // branch 0 of ["null", T]
    void some() noexcept { *_p++ = 2; }       // branch 1, zigzag(1)
    void opt(uint64_t v) noexcept {
        some();
        num(v);
    }
    void boolean(bool v) noexcept {
        some();
        *_p++ = v ? 1 : 0;
    }
    void str(std::string_view s) noexcept {  // s shorter than 64 bytes: a one-byte length
        *_p++ = uint8_t(s.size() << 1);
        std::memcpy(_p, s.data(), s.size());
        _p += s.size();
    }
    // ["null","string"]: null when the address is absent (all zero), as the
    // JSON's "" (docs/record.md).
    void addr(const uint8_t a[16]) noexcept {
        if (decode::is_zero_address(a)) return null();
        some();
        const std::size_t n = decode::format_address(a, reinterpret_cast<char*>(_p + 1));  // <= 39 chars
        *_p = uint8_t(n << 1);
        _p += 1 + n;
    }
    void mac(const uint8_t m[6]) noexcept {
        some();
        *_p = 17 << 1;
        decode::format_mac(m, reinterpret_cast<char*>(_p + 1));
        _p += 1 + 17;
    }
    // A string of any length (enriched values: up to 0xffff bytes).
    void long_str(std::string_view v) noexcept {
        num(v.size());
        std::memcpy(_p, v.data(), v.size());
        _p += v.size();
    }
    uint8_t* pos() noexcept { return _p; }
    void nulls(unsigned n) noexcept {
        std::memset(_p, 0, n);
        _p += n;
    }
    std::size_t size() const noexcept { return std::size_t(_p - _begin); }

private:
    uint8_t* _p;
    uint8_t* _begin;
};

// Flow-only fields between observation_domain_id and export_version, in
// flow.avsc order, as nulls for an interface_counters record: sampling_rate,
// the two flow times, then src_addr .. flow_direction, biflow_reverse,
// sampling_overridden (bytes, packets and in_if sit between them).
constexpr unsigned k_counter_flow_fields_before_bytes = 3;   // sampling_rate, time_flow_start/end
constexpr unsigned k_counter_flow_fields_before_in_if = 7;   // src_addr dst_addr next_hop etype proto src/dst_port
constexpr unsigned k_counter_flow_fields_after_in_if = 31;   // out_if .. sampling_overridden
constexpr unsigned k_counter_fields = 7;                      // if_speed_mbps .. if_out_discards

// ---- the enrichment's fields, after if_out_discards (flow.avsc; encode/enriched.hpp for the lists) ----
constexpr unsigned k_enriched_fields = 3 + 2 * (encode::k_net_fields.n + 2) + (encode::k_exporter_fields.n + 1) +
                                       2 * (encode::k_interface_fields.n + 1);
static_assert(k_enriched_fields == 56);

inline std::size_t zz_size(uint64_t v) noexcept {  // bytes of num(v) for v < 2^62
    v <<= 1;
    std::size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

// One scope's fields: each built-in key with a field, in order (null when the set has none or it does not fit
// the remaining budget), the prefix (src/dst), then the map of the other keys (null when empty).
void scope_fields_out(out& o, std::size_t& budget, encode::enriched_scope s, const uint8_t* blob,
                      const encode::enriched_keys* keys, const uint8_t* addr, uint8_t match) noexcept {
    const encode::scope_fields& f = encode::fields_of(s);
    std::string_view val[encode::k_net_fields.n] = {};
    bool have[encode::k_net_fields.n] = {};
    // The pairs that go to the map (a set holds each key once; at most k_max_keys of them). Left uninitialized
    // (trivial members): only the first n_other are written and read.
    struct pair {
        const char* k;
        std::size_t kl;
        const char* v;
        std::size_t vl;
    };
    pair other[enrich::key_registry::k_max_keys];
    unsigned n_other = 0;
    if (blob) {
        encode::for_each_pair(blob, [&](uint16_t k, std::string_view v) {
            const int i = encode::field_slot(s, k);
            if (i >= 0) {
                const enrich::key key = f.keys[i];
                uint64_t n;
                if (!encode::is_numeric(key) ||
                    encode::parse_decimal(v, key == enrich::key::asn ? 0xffffffffull : (1ull << 62), n)) {  // a long, >= 0
                    val[i] = v;
                    have[i] = true;
                    return;
                }
                // not a decimal: to the map
            }
            const std::string_view name = keys ? keys->name(k) : std::string_view{};
            if (!name.empty() && n_other < enrich::key_registry::k_max_keys)
                other[n_other++] = {name.data(), name.size(), v.data(), v.size()};
        });
    }
    for (uint8_t i = 0; i < f.n; ++i) {
        if (!have[i]) {
            o.null();
            continue;
        }
        if (encode::is_numeric(f.keys[i])) {
            uint64_t n = 0;
            encode::parse_decimal(val[i], ~0ull, n);
            if (zz_size(n) > budget) {
                o.null();
                continue;
            }
            budget -= zz_size(n);
            o.opt(n);
            continue;
        }
        const std::size_t need = zz_size(val[i].size()) + val[i].size();
        if (need > budget) {
            o.null();
            continue;
        }
        budget -= need;
        o.some();
        o.long_str(val[i]);
    }
    if (s <= encode::scope_dst) {
        char t[encode::k_max_prefix_text];
        const std::size_t n = encode::format_net_prefix(addr, match, t);
        if (n == 0 || 1 + n > budget) {
            o.null();
        } else {
            budget -= 1 + n;
            o.some();
            o.long_str(std::string_view(t, n));
        }
    }
    // The map: one block of its entries that fit (count, then key/value strings), then the 0 that ends it.
    unsigned fit = 0;
    std::size_t entries = 0;
    bool fits[enrich::key_registry::k_max_keys];
    for (unsigned i = 0; i < n_other; ++i) {
        const std::size_t e = zz_size(other[i].kl) + other[i].kl + zz_size(other[i].vl) + other[i].vl;
        fits[i] = 3 + entries + e <= budget;  // 3: the count (< 2^7 entries: at most 2 bytes) and the end marker
        if (fits[i]) {
            entries += e;
            ++fit;
        }
    }
    if (fit == 0) {
        o.null();
        return;
    }
    budget -= zz_size(fit) + entries + 1;
    o.some();
    o.num(fit);
    for (unsigned i = 0; i < n_other; ++i)
        if (fits[i]) {
            o.long_str({other[i].k, other[i].kl});
            o.long_str({other[i].v, other[i].vl});
        }
    o.num(0);
}

void enriched_out(out& o, const decode::flow_record& r, const encode::enrichment* e) noexcept {
    if (r.extrapolated_bytes) o.opt(r.extrapolated_bytes);
    else o.null();
    if (r.extrapolated_packets) o.opt(r.extrapolated_packets);
    else o.null();
    if (r.signature_tags) o.opt(r.signature_tags);
    else o.null();
    if (e == nullptr || (r.src_attr_id | r.dst_attr_id | r.exporter_attr_id | r.in_if_attr_id | r.out_if_attr_id |
                         r.src_net_match | r.dst_net_match) == 0) {
        o.nulls(k_enriched_fields - 3);
        return;
    }
    const uint8_t* blobs[encode::scope_count] = {};
    if (e->in) encode::fetch_blobs(*e->in, r, blobs);
    std::size_t budget = k_max_enriched_values;
    scope_fields_out(o, budget, encode::scope_src, blobs[0], e->keys, r.src_addr, r.src_net_match);
    scope_fields_out(o, budget, encode::scope_dst, blobs[1], e->keys, r.dst_addr, r.dst_net_match);
    scope_fields_out(o, budget, encode::scope_exporter, blobs[2], e->keys, nullptr, 0);
    scope_fields_out(o, budget, encode::scope_in_if, blobs[3], e->keys, nullptr, 0);
    scope_fields_out(o, budget, encode::scope_out_if, blobs[4], e->keys, nullptr, 0);
}

// The last two fields (after out_if_custom): the flow id (sinks/encode/flow_id.hpp, the u64's bits as a long) and
// record_index, both kinds.
void ids_out(out& o, const decode::flow_record& r) noexcept {
    o.opt(encode::flow_id(r));
    o.opt(r.record_index);
}

}  // namespace

std::size_t encode_flow(const decode::flow_record& r, uint8_t* buf, const encode::enrichment* e) noexcept {
    out o(buf);
    o.str(decode::flow_type_name(r.type));
    const bool counters = r.kind == decode::record_kind::interface_counters;
    o.str(counters ? std::string_view("interface_counters") : std::string_view("flow"));
    o.num(r.time_received_ns);
    o.num(r.sequence_num);
    o.addr(r.sampler_address);
    o.num(r.observation_domain_id);
    if (counters) {
        o.nulls(k_counter_flow_fields_before_bytes);
        o.num(r.bytes);
        o.num(r.packets);
        o.nulls(k_counter_flow_fields_before_in_if);
        o.num(r.in_if);
        o.nulls(k_counter_flow_fields_after_in_if);
        o.num(r.export_version);
        o.opt(r.if_speed_mbps);
        o.opt(r.if_out_bytes);
        o.opt(r.if_out_packets);
        o.opt(r.if_in_errors);
        o.opt(r.if_out_errors);
        o.opt(r.if_in_discards);
        o.opt(r.if_out_discards);
        enriched_out(o, r, e);
        ids_out(o, r);
        return o.size();
    }
    o.opt(r.sampling_rate);
    o.opt(r.time_flow_start_ns);
    o.opt(r.time_flow_end_ns);
    o.num(r.bytes);
    o.num(r.packets);
    o.addr(r.src_addr);
    o.addr(r.dst_addr);
    o.addr(r.next_hop);
    o.opt(r.etype);
    o.opt(r.proto);
    o.opt(r.src_port);
    o.opt(r.dst_port);
    o.num(r.in_if);
    o.opt(r.out_if);
    o.opt(r.src_as);
    o.opt(r.dst_as);
    o.opt(r.src_net);
    o.opt(r.dst_net);
    o.opt(r.ip_tos);
    o.opt(r.tcp_flags);
    o.opt(r.icmp_type);
    o.opt(r.icmp_code);
    o.opt(r.vlan_id);
    o.opt(r.inner_vlan_id);
    o.opt(r.src_vlan);
    o.opt(r.dst_vlan);
    o.mac(r.src_mac);
    o.mac(r.dst_mac);
    o.opt(r.mpls_label);
    o.opt(r.ip_ttl);
    o.opt(r.ipv6_flow_label);
    o.opt(r.forwarding_status);
    o.opt(r.flow_end_reason);
    o.addr(r.bgp_next_hop);
    o.opt(r.next_hop_as);
    o.addr(r.post_nat_src_addr);
    o.addr(r.post_nat_dst_addr);
    o.opt(r.post_nat_src_port);
    o.opt(r.post_nat_dst_port);
    o.opt(uint8_t(r.in_if_format));
    o.opt(uint8_t(r.out_if_format));
    o.opt(uint8_t(r.direction));
    o.boolean((r.flags & decode::record_flags::biflow_reverse) != 0);
    o.boolean((r.flags & decode::record_flags::sampling_overridden) != 0);
    o.num(r.export_version);
    o.nulls(k_counter_fields);
    enriched_out(o, r, e);
    ids_out(o, r);
    return o.size();
}

std::string_view flow_schema() noexcept { return flow_avsc; }

std::string_view codec_name(codec c) noexcept {
    switch (c) {
    case codec::deflate: return "deflate";
    case codec::snappy: return "snappy";
    case codec::null: break;
    }
    return "null";
}

avro_container::~avro_container() {
    if (_w) avro_file_writer_close(_w);
    if (_schema) avro_schema_decref(_schema);
}

bool avro_container::open(const std::string& path, codec c, std::size_t block_bytes) noexcept {
    if (!_schema) {
        const std::string_view s = flow_schema();
        if (avro_schema_from_json_length(s.data(), s.size(), &_schema) != 0) {
            _error = std::string("flow.avsc: ") + avro_strerror();
            return false;
        }
    }
    const std::string name(codec_name(c));
    if (avro_file_writer_create_with_codec(path.c_str(), _schema, &_w, name.c_str(), block_bytes) != 0) {
        _w = nullptr;
        _error = path + ": " + avro_strerror();
        return false;
    }
    return true;
}

bool avro_container::append(const void* datum, std::size_t len) noexcept {
    if (avro_file_writer_append_encoded(_w, datum, int64_t(len)) != 0) {
        _error = avro_strerror();
        return false;
    }
    return true;
}

bool avro_container::close() noexcept {
    if (!_w) return true;
    const int rc = avro_file_writer_close(_w);
    _w = nullptr;
    if (rc != 0) {
        _error = avro_strerror();
        return false;
    }
    return true;
}

}  // namespace sluice::sinks::avro
