// SPDX-License-Identifier: Apache-2.0
// Attribute ids to the encoders' members; see resolve.hpp.
#include "resolve.hpp"

#include <cstring>
#include <string_view>

#include "dataplane/decode/record_format.hpp"
#include "enrich/attrs/json_string.hpp"

namespace sluice::enrich {

namespace {

// Akvorado's column suffix per built-in key and scope; empty = the generic Camel-case name.
std::string member(json_names::scope s, key k) {
    const bool net = s == json_names::src || s == json_names::dst;
    const char* p = s == json_names::src ? "Src" : s == json_names::dst ? "Dst" : s == json_names::exporter ? "Exporter"
                  : s == json_names::in_if ? "InIf" : "OutIf";
    std::string base = p;
    switch (k) {
    case key::country: return base + "Country";
    case key::state: return net ? base + "GeoState" : base + "State";
    case key::city: return net ? base + "GeoCity" : base + "City";
    case key::asn: return base + "AS";
    case key::as_name: return base + "ASName";
    default: break;
    }
    std::string_view n = builtin_key_name(k);
    std::string camel;
    bool up = true;
    for (char c : n) {
        if (c == '_') {
            up = true;
            continue;
        }
        camel.push_back(up && c >= 'a' && c <= 'z' ? char(c - 32) : c);
        up = false;
    }
    return net ? base + "Net" + camel : base + camel;
}

std::string camel_custom(std::string_view n) {
    std::string camel;
    bool up = true;
    for (char c : n) {
        if (c == '_' || c == '-' || c == '.') {
            up = true;
            continue;
        }
        camel.push_back(up && c >= 'a' && c <= 'z' ? char(c - 32) : c);
        up = false;
    }
    return camel;
}

std::string quoted(std::string_view v) {
    std::string s(json_escaped_len(v) + 3, '\0');
    s[0] = '"';
    char* e = put_json_escaped(s.data() + 1, v);
    *e++ = '"';
    *e = ':';
    return s;
}

bool all_digits(std::string_view v) noexcept {
    if (v.empty() || v.size() > 19) return false;
    for (char c : v)
        if (c < '0' || c > '9') return false;
    return true;
}

// A decimal that fits an Elasticsearch long (at most 2^63 - 1), for the ECS numbers.
bool decimal_long(std::string_view v, uint64_t& out) noexcept {
    if (!all_digits(v)) return false;
    uint64_t x = 0;
    for (char c : v) x = x * 10 + uint64_t(c - '0');  // 19 digits: no u64 overflow
    if (x > 0x7fffffffffffffffull) return false;
    out = x;
    return true;
}

// One blob pair: key, value. The blob layout is the interner's (attrs.hpp): u32 total, then u8 key, u16 length.
struct blob_reader {
    const uint8_t* q;
    const uint8_t* end;
    explicit blob_reader(const uint8_t* b) noexcept {
        uint32_t total;
        std::memcpy(&total, b, 4);
        q = b + 4;
        end = b + total;
    }
    bool next(uint16_t& k, std::string_view& v) noexcept {
        if (end - q < 3) return false;
        k = q[0];
        const std::size_t vl = std::size_t(q[1]) | (std::size_t(q[2]) << 8);
        if (std::size_t(end - q) - 3 < vl) return false;
        v = std::string_view(reinterpret_cast<const char*>(q + 3), vl);
        q += 3 + vl;
        return true;
    }
};

// The `json` members of one set: ,"Name":value per pair that fits before `limit` (exact sizes; a member that does
// not fit is left out whole, the next ones still tried). Sets *left when one was.
char* render_json(const json_names& names, json_names::scope s, const uint8_t* blob, char* p, const char* limit,
                  bool* left = nullptr) noexcept {
    blob_reader br(blob);
    uint16_t k;
    std::string_view v;
    while (br.next(k, v)) {
        if (k >= names.keys()) continue;
        const std::string& n = names.name(s, k);
        const bool num = names.numeric(k) && all_digits(v);
        const std::size_t need = 1 + n.size() + (num ? v.size() : 2 + json_escaped_len(v));
        if (need > std::size_t(limit - p)) {
            if (left) *left = true;
            continue;
        }
        *p++ = ',';
        std::memcpy(p, n.data(), n.size());
        p += n.size();
        if (num) {
            std::memcpy(p, v.data(), v.size());
            p += v.size();
        } else {
            *p++ = '"';
            p = put_json_escaped(p, v);
            *p++ = '"';
        }
    }
    return p;
}

// ,"SrcNetPrefix":"10.1.0.0/16" when the record matched a prefix and it fits.
char* put_prefix(char* p, const char* limit, std::string_view name, const uint8_t addr[16], uint8_t match) noexcept {
    if (match == 0) return p;
    char t[max_net_prefix];
    const std::size_t n = format_net_prefix(addr, match, t);
    if (n == 0 || 1 + name.size() + 2 + n > std::size_t(limit - p)) return p;
    *p++ = ',';
    std::memcpy(p, name.data(), name.size());
    p += name.size();
    *p++ = '"';
    std::memcpy(p, t, n);
    p += n;
    *p++ = '"';
    return p;
}

constexpr std::string_view k_src_prefix = "\"SrcNetPrefix\":", k_dst_prefix = "\"DstNetPrefix\":";

// Both ways share this: `frag(s, id, p, limit)` writes scope s's members and returns the new end.
template <typename Frag>
std::size_t append_members(const decode::flow_record& r, char* json, std::size_t len, Frag&& frag) noexcept {
    const uint32_t ids[json_names::scope_count] = {r.src_attr_id, r.dst_attr_id, r.exporter_attr_id,
                                                   r.in_if_attr_id, r.out_if_attr_id};
    if ((ids[0] | ids[1] | ids[2] | ids[3] | ids[4] | r.src_net_match | r.dst_net_match) == 0) return len;
    char* p = json + len - 1;  // over the closing brace
    const char* const limit = json + len - 1 + max_enriched_json - 1;
    for (int s = 0; s < json_names::scope_count; ++s) {
        if (ids[s]) p = frag(static_cast<json_names::scope>(s), ids[s], p, limit);
        if (s == json_names::src) p = put_prefix(p, limit, k_src_prefix, r.src_addr, r.src_net_match);
        if (s == json_names::dst) p = put_prefix(p, limit, k_dst_prefix, r.dst_addr, r.dst_net_match);
    }
    *p++ = '}';
    return static_cast<std::size_t>(p - json);
}

// ---- ECS parts of one set ----

enum class set_class : uint8_t { net, exporter, iface };

set_class class_of(unsigned scope) noexcept {
    return scope <= json_names::dst ? set_class::net : scope == json_names::exporter ? set_class::exporter
                                                                                      : set_class::iface;
}

// A bounded text being built: whole members only, within a shared budget.
struct budget_buf {
    char b[member_cache::k_fragment_max];
    std::size_t n = 0;
};

struct ecs_render {
    std::size_t budget = member_cache::k_fragment_max;
    bool left = false;
    // Appends ,"name":"v" (quoted, escaped) or ,"name":v (num) to `to`; `extra` more bytes of wrapper are needed
    // when this is the first member of a wrapped object.
    bool put(budget_buf& to, std::string_view name, std::string_view v, bool num, std::size_t extra = 0) noexcept {
        const std::size_t need = 1 + name.size() + (num ? v.size() : 2 + json_escaped_len(v)) + extra;
        if (need > budget) {
            left = true;
            return false;
        }
        budget -= need;
        char* p = to.b + to.n;
        *p++ = ',';
        std::memcpy(p, name.data(), name.size());
        p += name.size();
        if (num) {
            std::memcpy(p, v.data(), v.size());
            p += v.size();
        } else {
            *p++ = '"';
            p = put_json_escaped(p, v);
            *p++ = '"';
        }
        to.n = std::size_t(p - to.b);
        return true;
    }
};

bool region_code(std::string_view v) noexcept {
    if (v.empty() || v.size() > 3) return false;
    for (char c : v)
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
    return true;
}

bool country_code(std::string_view v) noexcept {
    return v.size() == 2 && v[0] >= 'A' && v[0] <= 'Z' && v[1] >= 'A' && v[1] <= 'Z';
}

// Renders the ECS parts of a set at `out` (16-byte header then the parts); returns the payload length.
// Parts: 0 = members of the ECS object (source: geo; observer: name, geo; interface: name, alias),
// 1 = source.as.organization, 2 = members of the sluice.* object, 3 unused.
std::size_t render_ecs(const json_names& names, set_class cls, const uint8_t* blob, char* out, bool& left) noexcept {
    budget_buf ecs, geo, org, sl;
    ecs_render w;
    uint64_t asn = 0;
    std::string_view country;
    blob_reader br(blob);
    uint16_t k;
    std::string_view v;
    while (br.next(k, v)) {
        if (k >= names.keys()) continue;
        const key bk = k < k_builtin_keys ? static_cast<key>(k) : key::builtin_count_;
        const bool geo_key = bk == key::country || bk == key::state || bk == key::city;
        if (cls != set_class::iface && geo_key) {
            const std::size_t wrap = geo.n == 0 ? 9 : 0;  // ,"geo":{ }
            if (bk == key::country) {
                if (w.put(geo, "\"country_iso_code\":", v, false, wrap)) country = v;
            } else if (bk == key::state) {
                if (region_code(v) && country_code(country)) {
                    char code[8];
                    std::memcpy(code, country.data(), 2);
                    code[2] = '-';
                    std::memcpy(code + 3, v.data(), v.size());
                    w.put(geo, "\"region_iso_code\":", std::string_view(code, 3 + v.size()), false, wrap);
                } else {
                    w.put(geo, "\"region_name\":", v, false, wrap);
                }
            } else {
                w.put(geo, "\"city_name\":", v, false, wrap);
            }
            continue;
        }
        if (cls == set_class::net && bk == key::asn) {
            uint64_t x;
            if (!decimal_long(v, x)) continue;  // not a number: left out (docs/schema.md)
            if (w.budget < 24) {  // the number and its wrapper, at most
                w.left = true;
                continue;
            }
            w.budget -= 24;
            asn = x;
            continue;
        }
        if (cls == set_class::net && bk == key::as_name) {
            w.put(org, "\"organization\":{\"name\":", v, false, 1);
            continue;
        }
        if (cls != set_class::net && bk == key::name) {
            w.put(ecs, "\"name\":", v, false);
            continue;
        }
        if (cls == set_class::iface && bk == key::description) {
            w.put(ecs, "\"alias\":", v, false);
            continue;
        }
        if (bk == key::speed || bk == key::asn) {
            uint64_t x;
            if (decimal_long(v, x)) w.put(sl, names.ecs_name(k), v, true);
            continue;
        }
        w.put(sl, names.ecs_name(k), v, false);
    }
    left = w.left;
    // Assemble: header, part 0 (ECS members, then the geo object), part 1, part 2.
    char* p = out + 16;
    std::memcpy(p, ecs.b, ecs.n);
    p += ecs.n;
    if (geo.n) {
        std::memcpy(p, ",\"geo\":{", 8);
        p += 8;
        std::memcpy(p, geo.b + 1, geo.n - 1);
        p += geo.n - 1;
        *p++ = '}';
    }
    const auto p0 = uint16_t(p - (out + 16));
    if (org.n) {
        std::memcpy(p, org.b, org.n);
        p += org.n;
        *p++ = '}';
    }
    const auto p1 = uint16_t(p - (out + 16) - p0);
    std::memcpy(p, sl.b, sl.n);
    p += sl.n;
    const auto p2 = uint16_t(sl.n);
    const uint16_t parts[4] = {p0, p1, p2, 0};
    std::memcpy(out, &asn, 8);
    std::memcpy(out + 8, parts, 8);
    return std::size_t(p - (out + 16));
}

}  // namespace

std::size_t format_net_prefix(const uint8_t addr[16], uint8_t match, char* out) noexcept {
    if (match == 0) return 0;
    const unsigned bits = match - 1u;
    const bool v4 = decode::is_ipv4_mapped(addr);
    if (bits > (v4 ? 32u : 128u)) return 0;
    uint8_t a[16];
    std::memcpy(a, addr, 16);
    const unsigned first = v4 ? 96 + bits : bits;  // the first host bit in the 128-bit form
    for (unsigned i = first; i < 128; ++i) a[i >> 3] &= uint8_t(~(0x80u >> (i & 7)));
    std::size_t n = decode::format_address(a, out);
    if (n == 0) {  // the zero IPv6 address
        out[0] = out[1] = ':';
        n = 2;
    }
    out[n++] = '/';
    if (bits >= 100) out[n++] = char('0' + bits / 100);
    if (bits >= 10) out[n++] = char('0' + bits / 10 % 10);
    out[n++] = char('0' + bits % 10);
    return n;
}

json_names::json_names(const key_registry& keys) {
    for (int s = 0; s < scope_count; ++s)
        for (uint16_t k = 0; k < keys.size(); ++k) {
            const char* p = s == src ? "SrcNet" : s == dst ? "DstNet" : s == exporter ? "Exporter"
                          : s == in_if ? "InIf" : "OutIf";
            const std::string m = k < k_builtin_keys ? member(static_cast<scope>(s), static_cast<key>(k))
                                                     : p + camel_custom(keys.name(k));
            _names[s].push_back("\"" + m + "\":");
        }
    for (uint16_t k = 0; k < keys.size(); ++k) _ecs.push_back(quoted(keys.name(k)));
}

std::size_t append_enriched(const interner& in, const json_names& names, const decode::flow_record& r, char* json,
                            std::size_t len) noexcept {
    // Prefetch the five sets' pointer slots, then their blobs, so that the misses overlap.
    const uint32_t ids[json_names::scope_count] = {r.src_attr_id, r.dst_attr_id, r.exporter_attr_id,
                                                   r.in_if_attr_id, r.out_if_attr_id};
    for (uint32_t id : ids) in.prefetch(id);
    for (uint32_t id : ids)
        if (const uint8_t* b = in.flat(id)) __builtin_prefetch(b);
    return append_members(r, json, len, [&](json_names::scope s, uint32_t id, char* p, const char* limit) {
        const uint8_t* b = in.flat(id);
        return b ? render_json(names, s, b, p, limit) : p;
    });
}

// ---- member_cache ----

member_cache::member_cache(const interner& in, const json_names& names, style s, std::size_t arena_bytes,
                           unsigned bucket_bits)
    : _in(in), _names(names), _style(s), _arena_size(arena_bytes < (std::size_t(1) << 20) ? std::size_t(1) << 20 : arena_bytes),
      _bucket_bits(bucket_bits < 8 ? 8 : bucket_bits > 24 ? 24 : bucket_bits) {
    _arena_owned = std::make_unique<char[]>(_arena_size + 64);
    _arena = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(_arena_owned.get()) + 63) & ~uintptr_t(63));
    _buckets = std::make_unique<bucket[]>(std::size_t(1) << _bucket_bits);
    std::memset(static_cast<void*>(_buckets.get()), 0, sizeof(bucket) << _bucket_bits);
    _head = _arena_size;  // positions start one arena in: pos + size >= head holds for no entry yet
}

member_cache::view member_cache::get(unsigned scope, uint32_t id) noexcept {
    view v;
    if (id >= interner::k_max_sets) return v;  // no such id (the key below has 22 bits of it)
    const unsigned sk = scope_key(scope);
    const uint32_t key = (id << 3) | (sk + 1);
    auto* b = const_cast<bucket*>(bucket_of(id, sk));
    entry* victim = &b->e[0];
    for (entry& e : b->e) {
        if (e.key == key && valid(e)) {
            ++_counts.hits;
            const char* h = _arena + e.pos % _arena_size;
            std::memcpy(&v.asn, h, 8);
            std::memcpy(v.part, h + 8, 8);
            v.data = h + 16;
            v.oversize = (e.flags & k_oversize) != 0;
            v.found = true;
            return v;
        }
        if (!valid(e)) victim = &e;
        else if (valid(*victim) && e.pos < victim->pos) victim = &e;
    }
    const uint8_t* blob = _in.flat(id);
    if (blob == nullptr) return v;
    // Render at the head (skipping to the arena's start when a rendering might not fit before its end).
    if (_head % _arena_size + k_slot_max > _arena_size) _head += _arena_size - _head % _arena_size;
    char* h = _arena + _head % _arena_size;
    bool left = false;
    std::size_t n;
    if (_style == style::json) {
        char* e = render_json(_names, static_cast<json_names::scope>(scope), blob, h + 16, h + 16 + k_fragment_max, &left);
        n = std::size_t(e - (h + 16));
        const uint64_t zero = 0;
        const uint16_t parts[4] = {uint16_t(n), 0, 0, 0};
        std::memcpy(h, &zero, 8);
        std::memcpy(h + 8, parts, 8);
    } else {
        n = render_ecs(_names, class_of(scope), blob, h, left);
    }
    ++_counts.fills;
    if (left) ++_counts.oversize;
    victim->key = key;
    victim->len = uint16_t(n);
    victim->flags = left ? k_oversize : 0;
    victim->pos = _head;
    _head += (16 + n + 15) & ~std::size_t(15);
    std::memcpy(&v.asn, h, 8);
    std::memcpy(v.part, h + 8, 8);
    v.data = h + 16;
    v.oversize = left;
    v.found = true;
    return v;
}

void member_cache::prefetch_index(const decode::flow_record& r) const noexcept {
    const uint32_t ids[json_names::scope_count] = {r.src_attr_id, r.dst_attr_id, r.exporter_attr_id,
                                                   r.in_if_attr_id, r.out_if_attr_id};
    for (unsigned s = 0; s < json_names::scope_count; ++s)
        if (ids[s] && ids[s] < interner::k_max_sets) __builtin_prefetch(bucket_of(ids[s], scope_key(s)));
}

void member_cache::prefetch_data(const decode::flow_record& r) const noexcept {
    const uint32_t ids[json_names::scope_count] = {r.src_attr_id, r.dst_attr_id, r.exporter_attr_id,
                                                   r.in_if_attr_id, r.out_if_attr_id};
    for (unsigned s = 0; s < json_names::scope_count; ++s) {
        if (!ids[s] || ids[s] >= interner::k_max_sets) continue;
        if (const entry* e = find(ids[s], scope_key(s))) {
            const char* h = _arena + e->pos % _arena_size;
            for (std::size_t off = 0; off < 16u + e->len; off += 64) __builtin_prefetch(h + off);
        } else {
            _in.prefetch(ids[s]);
        }
    }
}

void member_cache::prefetch_blobs(const decode::flow_record& r) const noexcept {
    const uint32_t ids[json_names::scope_count] = {r.src_attr_id, r.dst_attr_id, r.exporter_attr_id,
                                                   r.in_if_attr_id, r.out_if_attr_id};
    for (unsigned s = 0; s < json_names::scope_count; ++s) {
        if (!ids[s] || ids[s] >= interner::k_max_sets || find(ids[s], scope_key(s))) continue;
        if (const uint8_t* b = _in.flat(ids[s])) {
            __builtin_prefetch(b);
            __builtin_prefetch(b + 64);
            __builtin_prefetch(b + 128);
        }
    }
}

std::size_t member_cache::append_json(const decode::flow_record& r, char* json, std::size_t len) noexcept {
    return append_members(r, json, len, [this](json_names::scope s, uint32_t id, char* p, const char* limit) {
        const view v = get(s, id);
        if (!v.found) return p;
        if (!v.oversize && v.part[0] <= std::size_t(limit - p)) {
            std::memcpy(p, v.data, v.part[0]);
            return p + v.part[0];
        }
        return render_json(_names, s, _in.flat(id), p, limit);  // the members that fit, one by one
    });
}

void member_cache::ecs(const decode::flow_record& r, ecs_parts& out) noexcept {
    out.src = {};
    out.dst = {};
    out.observer = out.exporter = out.in_if = out.out_if = out.in_if_sluice = out.out_if_sluice = {};
    const uint32_t ids[json_names::scope_count] = {r.src_attr_id, r.dst_attr_id, r.exporter_attr_id,
                                                   r.in_if_attr_id, r.out_if_attr_id};
    std::size_t room = max_enriched_ecs;
    for (unsigned s = 0; s < json_names::scope_count; ++s) {
        if (!ids[s]) continue;
        const view v = get(s, ids[s]);
        if (!v.found) continue;
        const std::size_t total = std::size_t(v.part[0]) + v.part[1] + v.part[2] + (v.asn ? 24 : 0);
        if (total > room) continue;  // left out whole
        room -= total;
        const std::string_view p0(v.data, v.part[0]), p1(v.data + v.part[0], v.part[1]),
            p2(v.data + v.part[0] + v.part[1], v.part[2]);
        switch (s) {
        case json_names::src:
        case json_names::dst: {
            ecs_parts::side& d = s == json_names::src ? out.src : out.dst;
            d.geo = p0;
            d.as_org = p1;
            d.net = p2;
            d.asn = v.asn;
            break;
        }
        case json_names::exporter:
            out.observer = p0;
            out.exporter = p2;
            break;
        case json_names::in_if:
            out.in_if = p0;
            out.in_if_sluice = p2;
            break;
        default:
            out.out_if = p0;
            out.out_if_sluice = p2;
            break;
        }
    }
    if (std::size_t n = format_net_prefix(r.src_addr, r.src_net_match, out.src.prefix_buf))
        out.src.prefix = std::string_view(out.src.prefix_buf, n);
    if (std::size_t n = format_net_prefix(r.dst_addr, r.dst_net_match, out.dst.prefix_buf))
        out.dst.prefix = std::string_view(out.dst.prefix_buf, n);
}

}  // namespace sluice::enrich
