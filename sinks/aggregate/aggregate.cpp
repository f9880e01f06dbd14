// SPDX-License-Identifier: Apache-2.0
// Windows, keys, the top-K close and the `top` query of the aggregating output.
#include "aggregate.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <optional>
#include <unordered_map>

#include "dataplane/decode/record_format.hpp"

namespace sluice::sinks {

namespace {

constexpr uint64_t k_ns = 1000000000ull;

inline uint64_t load64(const uint8_t* p) noexcept {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

// Multiply-xorshift over the key's 8-byte words (the key is zero-padded to a multiple of 8).
inline uint64_t hash_key(const uint8_t* k, std::size_t words) noexcept {
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (std::size_t i = 0; i < words; ++i) {
        h ^= load64(k + 8 * i);
        h *= 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
    }
    h *= 0x94D049BB133111EBull;
    h ^= h >> 29;
    return h == 0 ? 1 : h;
}

void mask_prefix(uint8_t* out, const uint8_t a[16], unsigned len) noexcept {
    for (unsigned i = 0; i < 16; ++i) {
        const unsigned bits = len >= 8 * (i + 1) ? 8 : (len > 8 * i ? len - 8 * i : 0);
        out[i] = bits == 0 ? 0 : uint8_t(a[i] & uint8_t(0xff << (8 - bits)));
    }
}

// Rows by bytes, descending; ties by key bytes so the ranking is deterministic.
inline bool row_before(const agg_row& a, const agg_row& b) noexcept {
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    return std::memcmp(a.key.data(), b.key.data(), a.key.size()) < 0;
}

std::vector<std::size_t> dim_offsets(const std::vector<agg_dim>& dims) {
    std::vector<std::size_t> off;
    std::size_t at = 0;
    for (agg_dim d : dims) {
        off.push_back(at);
        at += agg_dim_of(d).width;
    }
    return off;
}

std::string dim_names() {
    std::string s;
    for (const auto& d : agg_dim_table)
        if (d.scope == agg_scope::none) s += (s.empty() ? "" : ", ") + std::string(d.name);
    s += " (exporter = sampler_address); enrichment: ";
    // Grouped by scope: "src_|dst_{net_name,...}", "exporter_{...}", "in_if_|out_if_{...}".
    auto group = [](agg_scope sc, std::string_view prefix, std::string_view shown) {
        std::string g = std::string(shown) + "{";
        bool first = true;
        for (const auto& d : agg_dim_table)
            if (d.scope == sc) {
                g += (first ? "" : ",") + std::string(d.name.substr(prefix.size()));
                first = false;
            }
        return g + "}";
    };
    return s + group(agg_scope::src, "src_", "src_|dst_") + ", " + group(agg_scope::exporter, "exporter_", "exporter_") +
           ", " + group(agg_scope::in_if, "in_if_", "in_if_|out_if_") +
           " (src_X = src_net_X); custom keys: src_net_|dst_net_|exporter_|in_if_|out_if_<key>";
}

// ---- custom-key dimensions (aggregate.hpp) ----

struct custom_dim {
    std::string name;  // "src_net_rack"
    std::string key;   // "rack": the key's name in snake case
    agg_dim_info info;
    bool resolved = false;
};
// Written on the main thread before the lcores launch (parse, resolve), never moved: read by any core after.
std::array<custom_dim, k_agg_custom_dims> g_custom;
std::size_t g_custom_n = 0;

constexpr struct {
    std::string_view prefix;
    agg_scope scope;
} k_custom_scopes[] = {{"src_net_", agg_scope::src},     {"dst_net_", agg_scope::dst},
                       {"exporter_", agg_scope::exporter}, {"in_if_", agg_scope::in_if},
                       {"out_if_", agg_scope::out_if}};

// A key's name as a dimension's suffix: the JSON's member name (SrcNet + the key camel-cased at '_', '-', '.')
// in snake case: rack, cost_center (cost_center, cost-center and costCenter alike).
std::string snake_key(std::string_view k) {
    std::string o;
    bool boundary = false;
    for (char ch : k) {
        if (ch == '_' || ch == '-' || ch == '.') {
            boundary = true;
            continue;
        }
        if (ch >= 'A' && ch <= 'Z') {
            boundary = true;
            ch = char(ch + 32);
        }
        if (boundary && !o.empty()) o.push_back('_');
        boundary = false;
        o.push_back(ch);
    }
    return o;
}

// The custom-key dimension of `n` (a scope prefix and a suffix of [a-z0-9_]), registered if new and `declare`;
// none when `n` is not one.
std::optional<agg_dim> custom_dim_of(std::string_view n, bool declare) {
    for (const auto& sc : k_custom_scopes) {
        if (!n.starts_with(sc.prefix)) continue;
        const std::string_view key = n.substr(sc.prefix.size());
        if (key.empty() || key.size() > k_agg_custom_name || key.front() == '_' || key.back() == '_' ||
            !std::all_of(key.begin(), key.end(),
                         [](char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'; }))
            return std::nullopt;
        for (std::size_t i = 0; i < g_custom_n; ++i)
            if (g_custom[i].name == n) return agg_dim(std::size_t(agg_dim::count_) + i);
        if (!declare) return std::nullopt;
        if (g_custom_n == k_agg_custom_dims)
            throw std::invalid_argument("more than " + std::to_string(k_agg_custom_dims) +
                                        " custom-key dimensions in all outputs");
        custom_dim& c = g_custom[g_custom_n];
        c.name = std::string(n);
        c.key = std::string(key);
        c.info = {c.name, 4, sc.scope, enrich::key::name, false};  // the key: resolve_agg_dims
        return agg_dim(std::size_t(agg_dim::count_) + g_custom_n++);
    }
    return std::nullopt;
}

inline uint64_t hash_string(std::string_view v) noexcept {
    uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a, then a finaliser
    for (unsigned char ch : v) {
        h ^= ch;
        h *= 0x100000001B3ull;
    }
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    return h == 0 ? 1 : h;
}

inline uint32_t attr_of(const decode::flow_record& r, agg_scope s) noexcept {
    switch (s) {
    case agg_scope::src: return r.src_attr_id;
    case agg_scope::dst: return r.dst_attr_id;
    case agg_scope::exporter: return r.exporter_attr_id;
    case agg_scope::in_if: return r.in_if_attr_id;
    case agg_scope::out_if: return r.out_if_attr_id;
    case agg_scope::none: break;
    }
    return 0;
}

inline uint32_t load32(const uint8_t* p) noexcept {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// A JSON string's content: escaped, at most `cap` bytes, cut before a character that would not fit.
std::size_t put_json_string(char* out, std::string_view v, std::size_t cap) noexcept {
    static const char* hex = "0123456789abcdef";
    std::size_t n = 0;
    for (std::size_t i = 0; i < v.size();) {
        const unsigned char ch = static_cast<unsigned char>(v[i]);
        // One character: an escape, an ASCII byte, or a whole UTF-8 sequence.
        std::size_t len = 1;
        if (ch >= 0xC0) len = ch >= 0xF0 ? 4 : ch >= 0xE0 ? 3 : 2;
        if (i + len > v.size()) len = v.size() - i;
        const std::size_t need = ch < 0x20 ? 6 : (ch == '"' || ch == '\\') ? 2 : len;
        if (n + need > cap) break;
        if (ch < 0x20) {
            std::memcpy(out + n, "\\u00", 4);
            out[n + 4] = hex[ch >> 4];
            out[n + 5] = hex[ch & 15];
        } else if (ch == '"' || ch == '\\') {
            out[n] = '\\';
            out[n + 1] = char(ch);
        } else {
            std::memcpy(out + n, v.data() + i, len);
        }
        n += need;
        i += len;
    }
    return n;
}

}  // namespace

const agg_dim_info& agg_dim_of(agg_dim d) noexcept {
    const std::size_t i = std::size_t(d);
    return i < agg_dim_table.size() ? agg_dim_table[i] : g_custom[i - agg_dim_table.size()].info;
}

bool custom_dim_resolved(agg_dim d) noexcept {
    return !is_custom_dim(d) || g_custom[std::size_t(d) - agg_dim_table.size()].resolved;
}

void resolve_agg_dims(const agg_config& c, const enrich::key_registry& keys) {
    for (agg_dim d : c.dims) {
        if (!is_custom_dim(d)) continue;
        custom_dim& x = g_custom[std::size_t(d) - agg_dim_table.size()];
        int id = -1;
        std::string declared;
        for (uint16_t k = enrich::k_builtin_keys; k < keys.size(); ++k) {
            declared += (declared.empty() ? "" : ", ") + std::string(keys.name(k));
            if (snake_key(keys.name(k)) == x.key) id = k;
        }
        if (id < 0)
            throw std::invalid_argument("dimension '" + x.name + "': no custom key '" + x.key +
                                        "' is declared (declared: " + (declared.empty() ? "none" : declared) +
                                        "; --enrich-key NAME, with enrichment on); the dimensions are " + dim_names());
        x.info.attr = enrich::key(uint16_t(id));
        x.resolved = true;
    }
}

std::vector<agg_dim> parse_agg_dims(std::string_view s, bool declare_custom) {
    std::vector<agg_dim> out;
    std::size_t at = 0;
    for (;;) {
        const std::size_t k = s.find('+', at);
        const std::string_view n = s.substr(at, k == std::string_view::npos ? std::string_view::npos : k - at);
        bool found = false;
        // src_site = src_net_site (the address scopes' network attributes without "net_").
        std::string alias;
        if ((n.starts_with("src_") || n.starts_with("dst_")) && !n.substr(4).starts_with("net"))
            alias = std::string(n.substr(0, 4)) + "net_" + std::string(n.substr(4));
        for (std::size_t i = 0; i < agg_dim_table.size(); ++i)
            if (n == agg_dim_table[i].name || (n == "exporter" && i == std::size_t(agg_dim::exporter)) ||
                (!alias.empty() && is_enrich_dim(agg_dim(i)) && alias == agg_dim_table[i].name)) {
                if (std::find(out.begin(), out.end(), agg_dim(i)) != out.end())
                    throw std::invalid_argument("dimension '" + std::string(n) + "' given twice");
                out.push_back(agg_dim(i));
                found = true;
            }
        if (!found) {  // a scope's custom key (src_X = src_net_X too)
            if (const auto d = custom_dim_of(alias.empty() ? n : std::string_view(alias), declare_custom)) {
                if (std::find(out.begin(), out.end(), *d) != out.end())
                    throw std::invalid_argument("dimension '" + std::string(n) + "' given twice");
                out.push_back(*d);
                found = true;
            }
        }
        if (!found)
            throw std::invalid_argument("unknown dimension '" + std::string(n) + "' (want DIM+DIM+... of " +
                                        dim_names() + ")");
        if (k == std::string_view::npos) return out;
        at = k + 1;
    }
}

void check_agg_config(const agg_config& c) {
    if (c.dims.empty()) throw std::invalid_argument("no dimensions (want DIM+DIM+... of " + dim_names() + ")");
    std::size_t bytes = 0;
    for (agg_dim d : c.dims) bytes += agg_dim_of(d).width;
    if (bytes > k_agg_key_bytes)
        throw std::invalid_argument("dimensions take " + std::to_string(bytes) + " key bytes, at most " +
                                    std::to_string(k_agg_key_bytes) + " (each address 16, a prefix 17)");
    if (c.window_s < 1 || c.window_s > 86400) throw std::invalid_argument("window: 1..86400 seconds");
    if (86400 % c.window_s != 0 && c.window_s % 60 != 0)
        throw std::invalid_argument("window: a divisor of a day or a whole number of minutes, so windows align "
                                    "to the clock");
    if (c.lateness_s > 4ull * c.window_s) throw std::invalid_argument("lateness: at most 4 windows");
    if (c.top_k < 1 || c.top_k > 1000000) throw std::invalid_argument("top: 1..1000000 rows");
    if (c.max_keys < c.top_k || c.max_keys > (1u << 24))
        throw std::invalid_argument("max_keys: top..16777216 distinct keys per window");
    if (c.history < 1 || c.history > 10000) throw std::invalid_argument("history: 1..10000 windows");
    if (c.max_age_s < c.window_s) throw std::invalid_argument("max_age: at least one window");
}

void window_history::publish(std::shared_ptr<const closed_window> w) {
    std::lock_guard g(_m);
    _w.push_back(std::move(w));
    // Every sink core publishes its own part of a window: keep `keep` distinct windows.
    auto distinct = [&] {
        std::vector<uint64_t> s;
        for (const auto& x : _w)
            if (std::find(s.begin(), s.end(), x->start_ns) == s.end()) s.push_back(x->start_ns);
        return s;
    };
    for (auto s = distinct(); s.size() > _keep; s = distinct()) {
        const uint64_t oldest = *std::min_element(s.begin(), s.end());
        std::erase_if(_w, [&](const auto& x) { return x->start_ns == oldest; });
    }
}

std::vector<std::shared_ptr<const closed_window>> window_history::all() const {
    std::lock_guard g(_m);
    return {_w.begin(), _w.end()};
}

top_answer query_top(const window_history& h, const std::vector<agg_dim>& output_dims, const top_query& q) {
    top_answer a;
    a.dims = q.by.empty() ? output_dims : q.by;
    std::vector<std::size_t> from;  // offset of each answer dim in the output's key
    const auto off = dim_offsets(output_dims);
    for (agg_dim d : a.dims) {
        const auto it = std::find(output_dims.begin(), output_dims.end(), d);
        if (it == output_dims.end())
            throw std::invalid_argument("the output does not aggregate by '" +
                                        std::string(agg_dim_of(d).name) + "'");
        from.push_back(off[std::size_t(it - output_dims.begin())]);
    }
    const auto ws = h.all();
    uint64_t start = q.start_ns;
    if (start == 0)
        for (const auto& w : ws) start = std::max(start, w->start_ns);
    std::map<std::array<uint8_t, k_agg_key_bytes>, agg_row> by;
    std::map<std::string, uint32_t> value_ids;  // equal strings from any window (any sink core): one id
    a.values.assign(1, std::string());
    agg_row other;
    other.other = true;
    other.keys = 0;
    for (const auto& w : ws) {
        if (w->start_ns != start) continue;
        a.found = true;
        a.window_s = w->window_s;
        for (const agg_row& r : w->rows) {
            if (r.other) {
                other.bytes += r.bytes;
                other.packets += r.packets;
                other.ext_bytes += r.ext_bytes;
                other.ext_packets += r.ext_packets;
                other.records += r.records;
                other.keys += r.keys;
                continue;
            }
            std::array<uint8_t, k_agg_key_bytes> k{};
            std::size_t at = 0;
            for (std::size_t i = 0; i < a.dims.size(); ++i) {
                const std::size_t wd = agg_dim_of(a.dims[i]).width;
                if (is_enrich_dim(a.dims[i])) {
                    const uint32_t v = load32(r.key.data() + from[i]);
                    uint32_t g = 0;
                    if (v != 0 && v < w->values.size()) {
                        auto [it, fresh] = value_ids.emplace(w->values[v], uint32_t(a.values.size()));
                        if (fresh) a.values.push_back(w->values[v]);
                        g = it->second;
                    }
                    std::memcpy(k.data() + at, &g, 4);
                } else {
                    std::memcpy(k.data() + at, r.key.data() + from[i], wd);
                }
                at += wd;
            }
            agg_row& t = by[k];
            t.key = k;
            t.bytes += r.bytes;
            t.packets += r.packets;
            t.ext_bytes += r.ext_bytes;
            t.ext_packets += r.ext_packets;
            t.records += r.records;
            t.keys = 1;
        }
    }
    a.start_ns = a.found ? start : 0;
    std::vector<agg_row> rows;
    rows.reserve(by.size());
    for (auto& [k, r] : by) rows.push_back(r);
    std::sort(rows.begin(), rows.end(), row_before);
    for (std::size_t i = q.limit; i < rows.size(); ++i) {
        other.bytes += rows[i].bytes;
        other.packets += rows[i].packets;
        other.ext_bytes += rows[i].ext_bytes;
        other.ext_packets += rows[i].ext_packets;
        other.records += rows[i].records;
        other.keys += 1;
    }
    if (rows.size() > q.limit) rows.resize(q.limit);
    a.rows = std::move(rows);
    if (a.found) a.rows.push_back(other);
    return a;
}

std::size_t format_dims_json(const std::vector<agg_dim>& dims, const uint8_t* key, char* out,
                             const std::vector<std::string>* values) noexcept {
    char* p = out;
    std::size_t at = 0;
    bool first = true;
    for (agg_dim d : dims) {
        const auto& info = agg_dim_of(d);
        const uint8_t* k = key + at;
        at += info.width;
        if (!first) *p++ = ',';
        first = false;
        *p++ = '"';
        std::memcpy(p, info.name.data(), info.name.size());
        p += info.name.size();
        *p++ = '"';
        *p++ = ':';
        auto num = [&](uint64_t v) { p += std::snprintf(p, 24, "%" PRIu64, v); };
        if (info.scope != agg_scope::none) {
            const uint32_t v = load32(k);
            if (values == nullptr || v == 0 || v >= values->size()) {
                std::memcpy(p, "null", 4);
                p += 4;
                continue;
            }
            const std::string& str = (*values)[v];
            const bool digits = info.numeric && !str.empty() && str.size() <= 19 &&
                                std::all_of(str.begin(), str.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
            if (digits) {
                std::memcpy(p, str.data(), str.size());
                p += str.size();
            } else {
                *p++ = '"';
                p += put_json_string(p, str, k_agg_value_json);
                *p++ = '"';
            }
            continue;
        }
        switch (d) {
        case agg_dim::exporter:
        case agg_dim::src_addr:
        case agg_dim::dst_addr: {
            *p++ = '"';
            p += decode::format_address(k, p);
            *p++ = '"';
            break;
        }
        case agg_dim::src_net:
        case agg_dim::dst_net: {
            *p++ = '"';
            p += decode::format_address(k, p);
            const unsigned len = k[16];
            p += std::snprintf(p, 8, "/%u", decode::is_ipv4_mapped(k) ? (len >= 96 ? len - 96 : 0) : len);
            *p++ = '"';
            break;
        }
        case agg_dim::proto:
        case agg_dim::ip_tos:
        case agg_dim::type: num(k[0]); break;
        case agg_dim::direction:
            if (k[0] == 0xff) {
                std::memcpy(p, "null", 4);
                p += 4;
            } else {
                num(k[0]);
            }
            break;
        case agg_dim::src_port:
        case agg_dim::dst_port:
        case agg_dim::etype: {
            uint16_t v;
            std::memcpy(&v, k, 2);
            num(v);
            break;
        }
        case agg_dim::in_if:
        case agg_dim::out_if:
        case agg_dim::src_as:
        case agg_dim::dst_as: {
            uint32_t v;
            std::memcpy(&v, k, 4);
            num(v);
            break;
        }
        default: break;  // the enrichment dimensions, above
        }
    }
    return std::size_t(p - out);
}

std::size_t format_row_json(const closed_window& w, const agg_row& row, unsigned rank, char* out) noexcept {
    char* p = out;
    const time_t t = time_t(w.start_ns / k_ns);
    tm g{};
    gmtime_r(&t, &g);
    char ts[32];
    std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &g);
    p += std::snprintf(p, 256, "{\"window_start\":\"%s\",\"window_start_ns\":%" PRIu64 ",\"window_seconds\":%u,"
                               "\"sink\":%u,\"rank\":%u,\"other\":%s,",
                       ts, w.start_ns, w.window_s, w.sink, rank, row.other ? "true" : "false");
    if (!row.other) {
        p += format_dims_json(w.dims, row.key.data(), p, &w.values);
        *p++ = ',';
    }
    const double sec = double(w.window_s);
    p += std::snprintf(p, 512,
                       "\"records\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"packets\":%" PRIu64
                       ",\"extrapolated_bytes\":%" PRIu64 ",\"extrapolated_packets\":%" PRIu64
                       ",\"keys\":%" PRIu64 ",\"bps\":%.3f,\"pps\":%.3f,\"extrapolated_bps\":%.3f,"
                       "\"extrapolated_pps\":%.3f}",
                       row.records, row.bytes, row.packets, row.ext_bytes, row.ext_packets, row.keys,
                       double(row.bytes) * 8 / sec, double(row.packets) / sec, double(row.ext_bytes) * 8 / sec,
                       double(row.ext_packets) / sec);
    return std::size_t(p - out);
}

std::string format_top_json(const top_answer& a) {
    std::string s = "{\"found\":";
    s += a.found ? "true" : "false";
    if (!a.found) return s + ",\"rows\":[]}";
    closed_window w;
    w.start_ns = a.start_ns;
    w.window_s = a.window_s;
    w.dims = a.dims;
    char buf[k_agg_row_json];
    const time_t t = time_t(a.start_ns / k_ns);
    tm g{};
    gmtime_r(&t, &g);
    char ts[32];
    std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &g);
    s += ",\"window_start\":\"" + std::string(ts) + "\",\"window_start_ns\":" + std::to_string(a.start_ns) +
         ",\"window_seconds\":" + std::to_string(a.window_s) + ",\"by\":[";
    for (std::size_t i = 0; i < a.dims.size(); ++i)
        s += (i ? ",\"" : "\"") + std::string(agg_dim_of(a.dims[i]).name) + "\"";
    s += "],\"rows\":[";
    bool first = true;
    unsigned rank = 0;
    for (const agg_row& r : a.rows) {
        const double sec = double(a.window_s);
        auto vols = [&](char* p) {
            return std::snprintf(p, 512,
                                 "\"records\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"packets\":%" PRIu64
                                 ",\"extrapolated_bytes\":%" PRIu64 ",\"extrapolated_packets\":%" PRIu64
                                 ",\"bps\":%.3f,\"extrapolated_bps\":%.3f}",
                                 r.records, r.bytes, r.packets, r.ext_bytes, r.ext_packets, double(r.bytes) * 8 / sec,
                                 double(r.ext_bytes) * 8 / sec);
        };
        if (r.other) {
            s += "],\"other\":{\"keys\":" + std::to_string(r.keys) + ",";
            s.append(buf, std::size_t(vols(buf)));
            continue;
        }
        if (!first) s += ',';
        first = false;
        s += "{\"rank\":" + std::to_string(++rank) + ",";
        s.append(buf, format_dims_json(a.dims, r.key.data(), buf, &a.values));
        s += ',';
        s.append(buf, std::size_t(vols(buf)));
    }
    return s + "}";
}

aggregator::aggregator(const agg_config& c, unsigned sink, std::shared_ptr<window_history> history, emit_fn emit,
                       aggregate_counter_block* counters, const enrich::interner* in)
    : _c(c), _sink(sink), _history(std::move(history)), _emit(std::move(emit)), _counters(counters), _in(in) {
    check_agg_config(_c);
    for (agg_dim d : _c.dims)
        if (!custom_dim_resolved(d))
            throw std::invalid_argument("dimension '" + std::string(agg_dim_of(d).name) +
                                        "': its custom key was not resolved (resolve_agg_dims)");
    _window_ns = uint64_t(_c.window_s) * k_ns;
    _lateness_ns = uint64_t(_c.lateness_s) * k_ns;
    _max_age_ns = uint64_t(_c.max_age_s) * k_ns;
    for (agg_dim d : _c.dims) _key_len += agg_dim_of(d).width;
    uint32_t cap = 1024;
    while (cap < 2ull * _c.max_keys) cap <<= 1;
    _mask = cap - 1;
    // Open at once: the clock's window and every earlier one still within lateness.
    const std::size_t nwin = std::size_t((_lateness_ns + _window_ns - 1) / _window_ns) + 1;
    _w.resize(nwin);
    for (window& w : _w) {
        w.slots = std::make_unique<entry[]>(cap);  // value-initialised: every hash 0 (empty)
        w.other.other = true;
        w.other.keys = 0;
    }
    _mem = uint64_t(nwin) * cap * sizeof(entry);
    _enrich = std::any_of(_c.dims.begin(), _c.dims.end(), is_enrich_dim);
    if (_enrich) {
        _vmax = std::max<uint32_t>(4 * _c.max_keys, 4096);
        uint32_t vcap = 1024;
        while (vcap < 2ull * _vmax) vcap <<= 1;
        _vmask = vcap - 1;
        _vindex = std::make_unique<index_slot[]>(vcap);  // every id 0 (empty)
        _vals = std::make_unique<value_ref[]>(_vmax);
        _vfree = std::make_unique<uint32_t[]>(_vmax);
        _vmark = std::make_unique<uint8_t[]>(_vmax);
        for (uint32_t i = 0; i < _vmax; ++i) _vfree[i] = _vmax - i;  // ids 1, 2, ... popped first
        _vfree_n = _vmax;
        const auto off = dim_offsets(_c.dims);
        for (std::size_t i = 0; i < _c.dims.size(); ++i)
            if (is_enrich_dim(_c.dims[i])) _enrich_off.push_back(off[i]);
        _cache = std::make_unique<cache_slot[]>(k_cache);
        _mem += uint64_t(vcap) * sizeof(index_slot) + uint64_t(_vmax) * (sizeof(value_ref) + 4 + 1) +
                uint64_t(k_cache) * sizeof(cache_slot);
    }
}

// The id of set `set`'s value for `k` in this aggregator's value table: equal strings (of any set) get one id.
uint32_t aggregator::value_id(uint32_t set, enrich::key k) noexcept {
    if (set == 0 || _in == nullptr) return 0;
    const uint16_t kk = uint16_t(k);
    cache_slot& c = _cache[cache_index(set, kk)];
    if (c.set == set && c.key == kk) return c.value;
    // The set's flat blob (one contiguous read): u32 total, then per pair u8 key, u16 length, the bytes.
    uint32_t id = 0;
    if (const uint8_t* f = _in->flat(set)) {
        uint32_t total;
        std::memcpy(&total, f, 4);
        const uint8_t* v = nullptr;
        uint16_t len = 0;
        for (uint32_t at = 4; at + 3 <= total;) {
            const uint16_t l = uint16_t(f[at + 1] | (f[at + 2] << 8));
            if (at + 3 + l > total) break;  // never past the blob
            if (f[at] == kk) {
                v = f + at + 1;
                len = l;
                break;
            }
            at += 3 + l;
        }
        if (v != nullptr && len != 0) {
            const std::string_view sv(reinterpret_cast<const char*>(v + 2), len);
            const uint64_t h = hash_string(sv);
            for (uint32_t i = uint32_t(h) & _vmask;; i = (i + 1) & _vmask) {
                index_slot& s = _vindex[i];
                if (s.id == 0) {
                    if (_vfree_n == 0) [[unlikely]]
                        return UINT32_MAX;  // not cached: a later record retries (and is counted again)
                    id = _vfree[--_vfree_n];
                    s.h = h;
                    s.id = id;
                    _vals[id - 1] = {h, v};
                    break;
                }
                if (s.h == h && ref_value(_vals[s.id - 1]) == sv) {
                    id = s.id;
                    break;
                }
            }
        }
    }
    c.set = set;
    c.key = kk;
    c.value = id;
    return id;
}

namespace {

// A record field's key bytes (not an enrichment dimension).
inline void field_key(agg_dim d, const decode::flow_record& r, uint8_t* k) noexcept {
    switch (d) {
    case agg_dim::exporter: std::memcpy(k, r.sampler_address, 16); break;
    case agg_dim::src_addr: std::memcpy(k, r.src_addr, 16); break;
    case agg_dim::dst_addr: std::memcpy(k, r.dst_addr, 16); break;
    case agg_dim::src_net:
    case agg_dim::dst_net: {
        const uint8_t* a = d == agg_dim::src_net ? r.src_addr : r.dst_addr;
        const unsigned exported = d == agg_dim::src_net ? r.src_net : r.dst_net;
        const bool v4 = decode::is_ipv4_mapped(a);
        const unsigned len = v4 ? 96 + std::min(exported, 32u) : std::min(exported, 128u);
        mask_prefix(k, a, len);
        k[16] = uint8_t(len);
        break;
    }
    case agg_dim::proto: k[0] = r.proto; break;
    case agg_dim::src_port: std::memcpy(k, &r.src_port, 2); break;
    case agg_dim::dst_port: std::memcpy(k, &r.dst_port, 2); break;
    case agg_dim::in_if: std::memcpy(k, &r.in_if, 4); break;
    case agg_dim::out_if: std::memcpy(k, &r.out_if, 4); break;
    case agg_dim::src_as: std::memcpy(k, &r.src_as, 4); break;
    case agg_dim::dst_as: std::memcpy(k, &r.dst_as, 4); break;
    case agg_dim::etype: std::memcpy(k, &r.etype, 2); break;
    case agg_dim::ip_tos: k[0] = r.ip_tos; break;
    case agg_dim::direction: k[0] = uint8_t(r.direction); break;
    case agg_dim::type: k[0] = uint8_t(r.type); break;
    default: break;  // the enrichment dimensions: make_key_enrich
    }
}

}  // namespace

void aggregator::make_key(const decode::flow_record& r, uint8_t* key) const noexcept {
    std::size_t at = 0;
    for (agg_dim d : _c.dims) {
        field_key(d, r, key + at);
        at += agg_dim_of(d).width;
    }
}

bool aggregator::make_key_enrich(const decode::flow_record& r, uint8_t* key) noexcept {
    std::size_t at = 0;
    bool ok = true;
    for (agg_dim d : _c.dims) {
        uint8_t* k = key + at;
        const agg_dim_info& info = agg_dim_of(d);
        at += info.width;
        if (info.scope == agg_scope::none) {
            field_key(d, r, k);
            continue;
        }
        uint32_t v = value_id(attr_of(r, info.scope), info.attr);
        if (v == UINT32_MAX) [[unlikely]] {
            ok = false;
            v = 0;
        }
        std::memcpy(k, &v, 4);
    }
    return ok;
}

aggregator::window* aggregator::window_for(uint64_t start_ns) noexcept {
    window& w = _w[std::size_t((start_ns / _window_ns) % _w.size())];
    if (w.open && w.start_ns == start_ns) return &w;
    if (w.open) close(w);  // an older window sharing the slot: past its close time by construction
    w.open = true;
    w.start_ns = start_ns;
    return &w;
}

void aggregator::add(const decode::flow_record& r, uint32_t scale) noexcept { add_burst(&r, 1, scale); }

// Two passes over groups of k_group records: the first checks times, picks the window, builds the key and
// prefetches its table slot; the second probes and adds, by then (mostly) from cache. A window the group
// needs to recycle (an older one sharing its ring slot) first flushes the pending group, and windows the
// burst's clock closes are closed after the burst, so no pending record ever points at a recycled window.
void aggregator::add_burst(const decode::flow_record* recs, unsigned n, uint32_t scale) noexcept {
    struct pending {
        alignas(8) uint8_t key[k_agg_key_bytes];
        uint64_t h, eb, ep;
        const decode::flow_record* r;
        window* w;
    };
    constexpr unsigned k_group = 16;
    pending p[k_group];
    unsigned np = 0;
    const std::size_t words = (_key_len + 7) / 8;
    auto flush = [&] {
        for (unsigned j = 0; j < np; ++j) insert(*p[j].w, p[j].key, p[j].h, *p[j].r, p[j].eb, p[j].ep);
        np = 0;
    };
    uint64_t clock = _clock_ns;
    uint64_t records = 0, not_flows = 0, late = 0, future = 0, skew = 0;
    for (unsigned i = 0; i < n; ++i) {
        const decode::flow_record& r = recs[i];
        if (r.kind != decode::record_kind::flow) {
            ++not_flows;
            continue;
        }
        if (r.time_received_ns > clock) clock = r.time_received_ns;
        uint64_t t = r.time_flow_end_ns != 0 ? r.time_flow_end_ns : r.time_received_ns;
        if (t + _max_age_ns < r.time_received_ns) [[unlikely]] {
            t = r.time_received_ns;
            ++skew;
        }
        const uint64_t clock_start = clock - clock % _window_ns;
        uint64_t start = t - t % _window_ns;
        if (start > clock_start) [[unlikely]] {
            start = clock_start;
            ++future;
        }
        if (start + _window_ns + _lateness_ns <= _clock_ns) [[unlikely]] {  // closed before this burst
            ++late;
            continue;
        }
        window& slot = _w[std::size_t((start / _window_ns) % _w.size())];
        if (slot.open && slot.start_ns != start) [[unlikely]]
            flush();
        pending& q = p[np];
        q.w = window_for(start);
        q.r = &r;
        std::memset(q.key, 0, words * 8);
        bool keyed = true;
        if (_enrich) [[unlikely]]
            keyed = make_key_enrich(r, q.key);
        else
            make_key(r, q.key);
        if (keyed) [[likely]] {
            q.h = hash_key(q.key, words);
            __builtin_prefetch(&q.w->slots[uint32_t(q.h) & _mask]);
        }
        const uint32_t rate = r.sampling_rate == 0 ? 1 : r.sampling_rate;
        q.eb = (r.extrapolated_bytes != 0 ? r.extrapolated_bytes : r.bytes * rate) * scale;
        q.ep = (r.extrapolated_packets != 0 ? r.extrapolated_packets : r.packets * rate) * scale;
        ++records;
        if (!keyed) [[unlikely]] {  // a value the full value table has no id for: into "other"
            agg_row& o = q.w->other;
            o.bytes += r.bytes;
            o.packets += r.packets;
            o.ext_bytes += q.eb;
            o.ext_packets += q.ep;
            ++o.records;
            _counters->add(aggregate_counter::values_overflow);
            continue;
        }
        if (++np == k_group) flush();
    }
    flush();
    if (records) _counters->add(aggregate_counter::records, records);
    if (not_flows) _counters->add(aggregate_counter::not_flows, not_flows);
    if (late) _counters->add(aggregate_counter::late, late);
    if (future) _counters->add(aggregate_counter::future, future);
    if (skew) _counters->add(aggregate_counter::clock_skew, skew);
    if (clock > _clock_ns) {
        _clock_ns = clock;
        _last_record_clock = clock;
        close_until(clock);
    }
}

inline void aggregator::insert(window& w, const uint8_t* key, uint64_t h, const decode::flow_record& r, uint64_t eb,
                               uint64_t ep) noexcept {
    uint32_t i = uint32_t(h) & _mask;
    for (;;) {
        entry& e = w.slots[i];
        if (e.hash == h && std::memcmp(e.key.data(), key, _key_len) == 0) {
            e.bytes += r.bytes;
            e.packets += r.packets;
            e.ext_bytes += eb;
            e.ext_packets += ep;
            ++e.records;
            return;
        }
        if (e.hash == 0) {
            if (w.used >= _c.max_keys) [[unlikely]] {
                w.other.bytes += r.bytes;
                w.other.packets += r.packets;
                w.other.ext_bytes += eb;
                w.other.ext_packets += ep;
                ++w.other.records;
                _counters->add(aggregate_counter::keys_overflow);
                return;
            }
            e.hash = h;
            std::memcpy(e.key.data(), key, (_key_len + 7) / 8 * 8);  // the tail stays zero
            e.bytes = r.bytes;
            e.packets = r.packets;
            e.ext_bytes = eb;
            e.ext_packets = ep;
            e.records = 1;
            ++w.used;
            return;
        }
        i = (i + 1) & _mask;
    }
}

void aggregator::advance(uint64_t idle_ns) noexcept {
    if (_last_record_clock == 0) return;  // no record yet: no clock
    const uint64_t c = _last_record_clock + idle_ns;
    if (c > _clock_ns) {
        _clock_ns = c;
        close_until(_clock_ns);
    }
}

void aggregator::close_until(uint64_t clock_ns) noexcept {
    // Oldest first, so emitted windows are in time order.
    for (;;) {
        window* oldest = nullptr;
        for (window& w : _w)
            if (w.open && w.start_ns + _window_ns + _lateness_ns <= clock_ns &&
                (oldest == nullptr || w.start_ns < oldest->start_ns))
                oldest = &w;
        if (oldest == nullptr) return;
        close(*oldest);
    }
}

void aggregator::close_all() noexcept {
    for (;;) {
        window* oldest = nullptr;
        for (window& w : _w)
            if (w.open && (oldest == nullptr || w.start_ns < oldest->start_ns)) oldest = &w;
        if (oldest == nullptr) return;
        close(*oldest);
    }
}

void aggregator::reclaim_values() noexcept {
    // Mark: the ids the open windows' keys hold (a closed window's slots are empty).
    std::memset(_vmark.get(), 0, _vmax);
    const uint32_t cap = _mask + 1;
    for (const window& w : _w) {
        if (!w.open) continue;
        for (uint32_t i = 0; i < cap; ++i) {
            const entry& e = w.slots[i];
            if (e.hash == 0) continue;
            for (const std::size_t off : _enrich_off)
                if (const uint32_t v = load32(e.key.data() + off); v != 0 && v <= _vmax) _vmark[v - 1] = 1;
        }
    }
    // Sweep into the free list (the lowest ids popped first) and rebuild the index from the kept ids.
    std::memset(static_cast<void*>(_vindex.get()), 0, sizeof(index_slot) * (std::size_t(_vmask) + 1));
    const uint32_t was_free = _vfree_n;
    _vfree_n = 0;
    for (uint32_t id = _vmax; id >= 1; --id) {
        value_ref& r = _vals[id - 1];
        if (!_vmark[id - 1]) {
            r.v = nullptr;
            _vfree[_vfree_n++] = id;
            continue;
        }
        for (uint32_t i = uint32_t(r.h) & _vmask;; i = (i + 1) & _vmask)
            if (_vindex[i].id == 0) {
                _vindex[i].h = r.h;
                _vindex[i].id = id;
                break;
            }
    }
    // Cached (set, key) -> id pairs may name a freed id (soon another value's).
    std::memset(static_cast<void*>(_cache.get()), 0, sizeof(cache_slot) * k_cache);
    if (_vfree_n > was_free) _counters->add(aggregate_counter::values_reclaimed, _vfree_n - was_free);
}

void aggregator::close(window& w) noexcept {
    // Once per window (every window_s): allocation here is off the per-record path.
    auto cw = std::make_shared<closed_window>();
    cw->start_ns = w.start_ns;
    cw->window_s = _c.window_s;
    cw->sink = _sink;
    cw->dims = _c.dims;
    std::vector<agg_row> rows;
    rows.reserve(w.used);
    const uint32_t cap = _mask + 1;
    for (uint32_t i = 0; i < cap; ++i) {
        entry& e = w.slots[i];
        if (e.hash == 0) continue;
        agg_row r;
        r.key = e.key;
        r.bytes = e.bytes;
        r.packets = e.packets;
        r.ext_bytes = e.ext_bytes;
        r.ext_packets = e.ext_packets;
        r.records = e.records;
        rows.push_back(r);
        e.hash = 0;
    }
    agg_row other = w.other;
    const std::size_t k = std::min<std::size_t>(_c.top_k, rows.size());
    std::nth_element(rows.begin(), rows.begin() + std::ptrdiff_t(k), rows.end(), row_before);
    for (std::size_t i = k; i < rows.size(); ++i) {
        other.bytes += rows[i].bytes;
        other.packets += rows[i].packets;
        other.ext_bytes += rows[i].ext_bytes;
        other.ext_packets += rows[i].ext_packets;
        other.records += rows[i].records;
        other.keys += 1;
    }
    rows.resize(k);
    std::sort(rows.begin(), rows.end(), row_before);
    if (_enrich) {
        // The emitted rows' value ids -> strings of this window (1, 2, ... in row order).
        cw->values.assign(1, std::string());
        std::unordered_map<uint32_t, uint32_t> local;
        const auto off = dim_offsets(_c.dims);
        for (agg_row& r : rows)
            for (std::size_t i = 0; i < _c.dims.size(); ++i) {
                if (!is_enrich_dim(_c.dims[i])) continue;
                uint8_t* kp = r.key.data() + off[i];
                const uint32_t v = load32(kp);
                uint32_t l = 0;
                if (v != 0 && v <= _vmax && _vals[v - 1].v != nullptr) {
                    auto [it, fresh] = local.emplace(v, uint32_t(cw->values.size()));
                    if (fresh) cw->values.emplace_back(ref_value(_vals[v - 1]));
                    l = it->second;
                }
                std::memcpy(kp, &l, 4);
            }
    }
    rows.push_back(other);
    cw->rows = std::move(rows);
    _counters->add(aggregate_counter::windows_closed);
    _counters->add(aggregate_counter::rows, cw->rows.size());
    w.open = false;
    w.used = 0;
    w.other = agg_row{};
    w.other.other = true;
    w.other.keys = 0;
    // The high-water mark: the table at least half full. Its rows hold strings now, its slots are empty.
    if (_enrich && _vmax - _vfree_n >= _vmax / 2) reclaim_values();
    if (_emit) _emit(*cw);
    if (_history) _history->publish(std::move(cw));
}

}  // namespace sluice::sinks
