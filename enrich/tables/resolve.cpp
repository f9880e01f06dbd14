// SPDX-License-Identifier: Apache-2.0
// Attribute ids to JSON members; see resolve.hpp.
#include "resolve.hpp"

#include <cstring>
#include <string_view>

namespace sluice::enrich {

namespace {

// Akvorado's column suffix per built-in key and scope; empty = the generic Camel-case name.
std::string member(json_names::scope s, key k) {
    const bool net = s == json_names::src || s == json_names::dst;
    const char* p = s == json_names::src ? "Src" : s == json_names::dst ? "Dst" : s == json_names::exporter ? "Exporter"
                  : s == json_names::in_if ? "InIf" : "OutIf";
    std::string base = p;
    switch (k) {
    case key::country: return net ? base + "Country" : base + "Country";
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

constexpr char hex[] = "0123456789abcdef";

// JSON string body of v at p (escaped); returns the end.
char* put_escaped(char* p, std::string_view v) noexcept {
    for (unsigned char c : v) {
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = static_cast<char>(c);
        } else if (c < 0x20) {
            *p++ = '\\';
            *p++ = 'u';
            *p++ = '0';
            *p++ = '0';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        } else {
            *p++ = static_cast<char>(c);
        }
    }
    return p;
}

bool all_digits(std::string_view v) noexcept {
    if (v.empty() || v.size() > 19) return false;
    for (char c : v)
        if (c < '0' || c > '9') return false;
    return true;
}

}  // namespace

json_names::json_names(const key_registry& keys) {
    for (int s = 0; s < scope_count; ++s)
        for (uint16_t k = 0; k < keys.size(); ++k) {
            const std::string m = k < k_builtin_keys
                                      ? member(static_cast<scope>(s), static_cast<key>(k))
                                      : member(static_cast<scope>(s), key::name).substr(0, 0) +
                                            (s == src ? "SrcNet" : s == dst ? "DstNet" : s == exporter ? "Exporter"
                                             : s == in_if ? "InIf" : "OutIf") + camel_custom(keys.name(k));
            _names[s].push_back("\"" + m + "\":");
        }
}

std::size_t append_enriched(const interner& in, const json_names& names, const decode::flow_record& r, char* json,
                            std::size_t len) noexcept {
    const uint32_t ids[json_names::scope_count] = {r.src_attr_id, r.dst_attr_id, r.exporter_attr_id,
                                                   r.in_if_attr_id, r.out_if_attr_id};
    if ((ids[0] | ids[1] | ids[2] | ids[3] | ids[4]) == 0) return len;
    char* p = json + len - 1;  // over the closing brace
    char* const limit = json + len - 1 + max_enriched_json - 1;
    // Three passes so that the five sets' misses overlap: pointer slots, then blobs, then the text.
    for (uint32_t id : ids) in.prefetch(id);
    const uint8_t* blobs[json_names::scope_count];
    for (int s = 0; s < json_names::scope_count; ++s) {
        blobs[s] = in.flat(ids[s]);
        if (blobs[s]) __builtin_prefetch(blobs[s]);
    }
    for (int s = 0; s < json_names::scope_count; ++s) {
        const uint8_t* b = blobs[s];
        if (b == nullptr) continue;
        uint32_t total;
        std::memcpy(&total, b, 4);
        const uint8_t* q = b + 4;
        const uint8_t* const end = b + total;
        while (q < end) {
            const uint16_t k = q[0];
            const std::size_t vl = std::size_t(q[1]) | (std::size_t(q[2]) << 8);
            const std::string_view v(reinterpret_cast<const char*>(q + 3), vl);
            q += 3 + vl;
            if (k >= names.keys()) continue;
            const std::string& n = names.name(static_cast<json_names::scope>(s), k);
            // Worst case of this member: the name, a comma, quotes, every byte escaped to 6.
            if (p + 1 + n.size() + 2 + 6 * v.size() > limit) continue;
            *p++ = ',';
            std::memcpy(p, n.data(), n.size());
            p += n.size();
            if (names.numeric(k) && all_digits(v)) {
                std::memcpy(p, v.data(), v.size());
                p += v.size();
            } else {
                *p++ = '"';
                p = put_escaped(p, v);
                *p++ = '"';
            }
        }
    }
    *p++ = '}';
    return static_cast<std::size_t>(p - json);
}

}  // namespace sluice::enrich
