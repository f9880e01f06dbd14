// SPDX-License-Identifier: Apache-2.0
// --enrich-* flag values; see spec.hpp.
#include "spec.hpp"

#include <stdexcept>

namespace sluice::enrich {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    for (;;) {
        const auto e = s.find(sep, pos);
        out.push_back(s.substr(pos, e == std::string::npos ? std::string::npos : e - pos));
        if (e == std::string::npos) return out;
        pos = e + 1;
    }
}

file_format parse_format(const std::string& v) {
    if (v == "json") return file_format::json;
    if (v == "ndjson" || v == "jsonl") return file_format::ndjson;
    if (v == "csv") return file_format::csv;
    throw std::invalid_argument("format '" + v + "': want json, ndjson or csv");
}

}  // namespace

inventory_spec parse_inventory_spec(const std::string& v) {
    auto parts = split(v, ',');
    inventory_spec s;
    s.path = parts[0];
    if (s.path.empty()) throw std::invalid_argument("no file name");
    for (std::size_t i = 1; i < parts.size(); ++i) {
        const auto eq = parts[i].find('=');
        const std::string k = parts[i].substr(0, eq), val = eq == std::string::npos ? "" : parts[i].substr(eq + 1);
        if (k == "format") s.opt.format = parse_format(val);
        else if (k == "columns") {
            s.opt.columns = split(val, ':');
            for (const auto& c : s.opt.columns)
                if (c.empty()) throw std::invalid_argument("columns: an empty column name");
        } else {
            throw std::invalid_argument("unknown parameter '" + k + "' (format=, columns=)");
        }
    }
    return s;
}

mmdb_spec parse_mmdb_spec(const std::string& v) {
    auto parts = split(v, ',');
    mmdb_spec s;
    s.path = parts[0];
    if (s.path.empty()) throw std::invalid_argument("no file name");
    key_registry keys;
    for (std::size_t i = 1; i < parts.size(); ++i) {
        const auto eq = parts[i].find('=');
        if (eq == std::string::npos) throw std::invalid_argument("'" + parts[i] + "': want NAME=VALUE");
        const std::string k = parts[i].substr(0, eq), val = parts[i].substr(eq + 1);
        if (k == "layout") {
            if (val == "maxmind") s.layout = mmdb_layout::maxmind();
            else if (val == "ip-location-db") s.layout = mmdb_layout::ip_location_db();
            else throw std::invalid_argument("layout '" + val + "': want maxmind or ip-location-db");
            continue;
        }
        const int id = keys.find(k);
        if (id < 0) throw std::invalid_argument("unknown key '" + k + "'");
        if (val.empty()) throw std::invalid_argument(k + ": empty path");
        const key kk = static_cast<key>(id);
        std::vector<std::string> path = split(val, '.');
        bool replaced = false;
        for (auto& p : s.layout.paths)
            if (p.first == kk) {
                p.second = path;
                replaced = true;
            }
        if (!replaced) s.layout.paths.emplace_back(kk, path);
    }
    return s;
}

}  // namespace sluice::enrich
