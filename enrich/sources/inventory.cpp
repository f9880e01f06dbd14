// SPDX-License-Identifier: Apache-2.0
// Inventory files (JSON with simdjson, NDJSON, CSV) and static prefixes into prefix sources; see inventory.hpp.
#include "inventory.hpp"

#include <simdjson.h>
#include <sys/stat.h>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <algorithm>

namespace sluice::enrich {

void source_report::bad(uint64_t line, const std::string& reason) {
    ++bad_lines;
    if (errors.size() < k_max_reported) errors.push_back(file + ":" + std::to_string(line) + ": " + reason);
}

namespace {

// One row (any format) into prefixes and the source's own set table (no interner, no per-row strings).
class row_loader {
public:
    row_loader(const key_registry& keys, local_source& out) : _keys(keys), _out(out) {}

    void row(uint64_t line, const std::vector<field>& fs) {
        std::string_view pfx, addr, first, last, range;
        _b.clear();
        for (const field& f : fs) {
            if (f.name == "prefix") pfx = f.value;
            else if (f.name == "address") addr = f.value;
            else if (f.name == "first") first = f.value;
            else if (f.name == "last") last = f.value;
            else if (f.name == "range") range = f.value;
            else {
                const int k = _keys.find(f.name);
                if (k < 0) {
                    _out.report.bad(line, "unknown key \"" + std::string(f.name) +
                                              "\" (declare custom keys with --enrich-key)");
                    return;
                }
                _b.put(static_cast<uint16_t>(k), f.value);
            }
        }
        const int forms = !pfx.empty() + !addr.empty() + (!first.empty() || !last.empty()) + !range.empty();
        if (forms != 1) {
            _out.report.bad(line, forms == 0 ? "no prefix, address, first/last or range"
                                             : "more than one of prefix, address, first/last, range");
            return;
        }
        std::vector<prefix>& ps = _scratch;
        ps.clear();
        if (!pfx.empty() || !addr.empty()) {
            prefix p;
            const std::string_view t = pfx.empty() ? addr : pfx;
            if (!parse_prefix(t, p) || (!addr.empty() && t.find('/') != std::string_view::npos)) {
                _out.report.bad(line, "bad " + std::string(pfx.empty() ? "address" : "prefix") + " \"" +
                                          std::string(t) + "\"");
                return;
            }
            ps.push_back(p);
        } else {
            if (!range.empty()) {
                const auto dash = range.find('-');
                if (dash == std::string_view::npos) {
                    _out.report.bad(line, "bad range \"" + std::string(range) + "\" (want FIRST-LAST)");
                    return;
                }
                first = range.substr(0, dash);
                last = range.substr(dash + 1);
            }
            u128 a, b;
            if (!parse_address(first, a) || !parse_address(last, b)) {
                _out.report.bad(line, "bad range address \"" + std::string(parse_address(first, a) ? last : first) + "\"");
                return;
            }
            if (is_v4_key(a) != is_v4_key(b) || a > b) {
                _out.report.bad(line, "range first > last or mixed families");
                return;
            }
            split_range(a, b, 0, ps);
        }
        // The row's own attributes must not be empty (derived ones come later, once per distinct set).
        if (_b.empty()) {
            _out.report.bad(line, "no attributes");
            return;
        }
        const uint32_t id = _out.sets.add(_b.encode());
        for (prefix& p : ps) {
            p.value = id;
            _out.prefixes.push_back(p);
        }
        _out.report.prefixes += ps.size();
        ++_out.report.rows;
    }

private:
    const key_registry& _keys;
    local_source& _out;
    flat_builder _b;
    std::vector<prefix> _scratch;
};

// RFC 4180 fields of one line (quotes, doubled quotes inside them). false on an unterminated quote. The
// fields are views into `line`, or into `store` for quoted ones (reserved for the whole line first, so it
// never moves while the fields are taken).
bool split_csv(std::string_view line, std::vector<std::string_view>& out, std::string& store) {
    out.clear();
    store.clear();
    store.reserve(line.size());
    std::size_t i = 0;
    for (;;) {
        if (i < line.size() && line[i] == '"') {
            const std::size_t start = store.size();
            ++i;
            for (;;) {
                if (i >= line.size()) return false;
                if (line[i] == '"') {
                    if (i + 1 < line.size() && line[i + 1] == '"') {
                        store.push_back('"');
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                store.push_back(line[i++]);
            }
            while (i < line.size() && line[i] != ',') store.push_back(line[i++]);  // liberal: text after the quote
            out.emplace_back(store.data() + start, store.size() - start);
        } else {
            std::size_t e = line.find(',', i);
            if (e == std::string_view::npos) e = line.size();
            out.push_back(line.substr(i, e - i));
            i = e;
        }
        if (i >= line.size()) return true;
        ++i;  // the comma
    }
}

using row_fn = std::function<void(uint64_t, const std::vector<field>&)>;

void load_csv(std::string_view text, const inventory_options& opt, const row_fn& rows, source_report& rep) {
    std::vector<std::string> header = opt.columns;
    std::vector<std::string_view> cells;
    std::string store;
    std::vector<field> fs;
    uint64_t lineno = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t e = text.find('\n', pos);
        if (e == std::string_view::npos) e = text.size();
        std::string_view line = text.substr(pos, e - pos);
        pos = e + 1;
        ++lineno;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty() || line[0] == '#') continue;
        if (!split_csv(line, cells, store)) {
            rep.bad(lineno, "unterminated quote");
            continue;
        }
        if (header.empty()) {
            header.assign(cells.begin(), cells.end());
            continue;
        }
        if (cells.size() != header.size()) {
            rep.bad(lineno, std::to_string(cells.size()) + " columns, header has " + std::to_string(header.size()));
            continue;
        }
        fs.clear();
        for (std::size_t i = 0; i < cells.size(); ++i) fs.push_back({header[i], cells[i]});
        rows(lineno, fs);
    }
}

// One JSON object's members as fields; numbers and booleans as their JSON text. false + reason on a bad value.
bool object_fields(simdjson::ondemand::object obj, std::vector<field>& fs, std::vector<std::string>& keep,
                   std::string& why) {
    fs.clear();
    keep.clear();
    keep.reserve(64);
    for (auto m : obj) {
        std::string_view k;
        if (m.unescaped_key().get(k)) {
            why = "bad member name";
            return false;
        }
        keep.emplace_back(k);
        const std::size_t ki = keep.size() - 1;
        simdjson::ondemand::value v;
        if (m.value().get(v)) {
            why = "bad value";
            return false;
        }
        simdjson::ondemand::json_type t;
        if (v.type().get(t)) {
            why = "bad value";
            return false;
        }
        std::string_view s;
        switch (t) {
        case simdjson::ondemand::json_type::string:
            if (v.get_string().get(s)) {
                why = "bad string for \"" + keep[ki] + "\"";
                return false;
            }
            keep.emplace_back(s);
            break;
        case simdjson::ondemand::json_type::number:
        case simdjson::ondemand::json_type::boolean:
            s = v.raw_json_token();
            while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
                s.remove_suffix(1);
            keep.emplace_back(s);
            break;
        case simdjson::ondemand::json_type::null:
            keep.emplace_back();
            break;
        default:
            why = "\"" + keep[ki] + "\" is not a string, number or boolean";
            return false;
        }
    }
    for (std::size_t i = 0; i + 1 < keep.size(); i += 2) fs.push_back({keep[i], keep[i + 1]});
    return true;
}

void load_ndjson(const simdjson::padded_string& text, const row_fn& rows, source_report& rep) {
    simdjson::ondemand::parser parser;
    std::vector<field> fs;
    std::vector<std::string> keep;
    const char* base = text.data();
    const std::size_t n = text.size();
    uint64_t lineno = 0;
    std::size_t pos = 0;
    while (pos < n) {
        const char* nl = static_cast<const char*>(std::memchr(base + pos, '\n', n - pos));
        const std::size_t e = nl ? static_cast<std::size_t>(nl - base) : n;
        const std::size_t s = pos;
        pos = e + 1;
        ++lineno;
        std::string_view line(base + s, e - s);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
        if (line.empty()) continue;
        simdjson::ondemand::document doc;
        // The file's padded buffer runs on past this line, so the line has simdjson's padding.
        if (parser.iterate(line.data(), line.size(), n + simdjson::SIMDJSON_PADDING - s).get(doc)) {
            rep.bad(lineno, "not JSON");
            continue;
        }
        simdjson::ondemand::object obj;
        std::string why;
        if (doc.get_object().get(obj)) {
            rep.bad(lineno, "not a JSON object");
            continue;
        }
        if (!object_fields(obj, fs, keep, why)) {
            rep.bad(lineno, why);
            continue;
        }
        rows(lineno, fs);
    }
}

void load_json(const simdjson::padded_string& text, const row_fn& rows, source_report& rep) {
    simdjson::ondemand::parser parser;
    simdjson::ondemand::document doc;
    if (parser.iterate(text).get(doc)) {
        rep.fatal = rep.file + ": not JSON";
        return;
    }
    simdjson::ondemand::array arr;
    if (doc.get_array().get(arr)) {
        rep.fatal = rep.file + ":1: a JSON inventory is an array of objects";
        return;
    }
    std::vector<field> fs;
    std::vector<std::string> keep;
    const char* base = text.data();
    std::size_t counted = 0;
    uint64_t lineno = 1;
    for (auto elem : arr) {
        // The line of this element: newlines between the last element and here.
        const char* loc = nullptr;
        if (!doc.current_location().get(loc)) {
            const std::size_t off = static_cast<std::size_t>(loc - base);
            for (; counted < off && counted < text.size(); ++counted) lineno += base[counted] == '\n';
        }
        simdjson::ondemand::object obj;
        if (elem.get_object().get(obj)) {
            rep.bad(lineno, "array element is not an object");
            if (elem.error()) {
                rep.fatal = rep.file + ":" + std::to_string(lineno) + ": JSON syntax error";
                return;
            }
            continue;
        }
        std::string why;
        if (!object_fields(obj, fs, keep, why)) {
            rep.fatal = rep.file + ":" + std::to_string(lineno) + ": " + why;  // an ondemand error ends the walk
            rep.bad(lineno, why);
            return;
        }
        rows(lineno, fs);
    }
}

file_format by_extension(const std::string& path) {
    auto ends = [&](std::string_view s) { return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0; };
    if (ends(".json")) return file_format::json;
    if (ends(".ndjson") || ends(".jsonl")) return file_format::ndjson;
    if (ends(".csv")) return file_format::csv;
    return file_format::auto_detect;
}

}  // namespace

void read_rows(const std::string& path, const inventory_options& opt, source_report& rep, const row_fn& rows) {
    file_format fmt = opt.format == file_format::auto_detect ? by_extension(path) : opt.format;
    if (fmt == file_format::auto_detect) {
        rep.fatal = path + ": unknown inventory format (name it .json, .ndjson, .jsonl or .csv, or say format=)";
        return;
    }
    simdjson::padded_string text;
    if (simdjson::padded_string::load(path).get(text)) {
        rep.fatal = path + ": cannot read";
        return;
    }
    switch (fmt) {
    case file_format::csv: load_csv(std::string_view(text.data(), text.size()), opt, rows, rep); break;
    case file_format::ndjson: load_ndjson(text, rows, rep); break;
    case file_format::json: load_json(text, rows, rep); break;
    case file_format::auto_detect: break;
    }
}

local_source read_inventory(const std::string& path, const inventory_options& opt, const key_registry& keys) {
    local_source out;
    out.report.file = path;
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0 && st.st_size > 0)
        reserve_huge(out.prefixes, std::size_t(st.st_size) / 24);  // a guess (~1 prefix per 24 bytes): grows past it
    row_loader rows(keys, out);
    read_rows(path, opt, out.report, [&](uint64_t line, const std::vector<field>& fs) { rows.row(line, fs); });
    return out;
}

local_source read_static(const std::vector<std::string>& specs, const key_registry& keys) {
    local_source out;
    out.report.file = "static";
    row_loader rows(keys, out);
    uint64_t n = 0;
    for (const std::string& spec : specs) {
        ++n;
        const auto eq = spec.find('=');
        std::vector<field> fs;
        std::string_view sv(spec);
        if (eq == std::string::npos) {
            out.report.bad(n, "\"" + spec + "\": want PREFIX=key:value,...");
            continue;
        }
        fs.push_back({"prefix", sv.substr(0, eq)});
        std::string_view rest = sv.substr(eq + 1);
        bool bad = false;
        while (!rest.empty()) {
            const auto comma = rest.find(',');
            std::string_view kv = rest.substr(0, comma);
            rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
            const auto colon = kv.find(':');
            if (colon == std::string_view::npos) {
                out.report.bad(n, "\"" + std::string(kv) + "\": want key:value");
                bad = true;
                break;
            }
            fs.push_back({kv.substr(0, colon), kv.substr(colon + 1)});
        }
        if (!bad) rows.row(n, fs);
    }
    return out;
}

std::vector<uint32_t> intern_sets(local_source& s, interner& in, const deriver* derive, derive_context where) {
    const uint32_t n = s.sets.size();
    std::vector<uint32_t> ids(std::size_t(n) + 1, 0);
    const bool derived = derive != nullptr && *derive;
    std::vector<uint8_t> enc;
    bool full = false;
    for (uint32_t i = 1; i <= n && !full; ++i) {
        const uint8_t* b = s.sets.blob(i);
        if (!derived) {
            ids[i] = in.intern_flat({b, flat_size(b)}, full);
            continue;
        }
        const attr_set given = flat_to_set(b);
        set_builder add;
        (*derive)(where, given, add);
        const attr_set extra = add.take();
        if (extra.empty()) {
            ids[i] = in.intern_flat({b, flat_size(b)}, full);
            continue;
        }
        set_builder m;
        for (const auto& kv : given.kv) m.put(kv.first, kv.second);
        m.fill_from(extra);  // what the row gave wins
        set_to_flat(m.take(), enc);
        ids[i] = in.intern_flat({enc.data(), enc.size()}, full);
    }
    if (full) {
        s.report.fatal = "attribute-set interner full (" + std::to_string(interner::k_max_sets) + " sets)";
        std::fill(ids.begin(), ids.end(), 0);
    }
    return ids;
}

void remap(std::vector<prefix>& ps, const std::vector<uint32_t>& ids) noexcept {
    for (prefix& p : ps) p.value = p.value < ids.size() ? ids[p.value] : 0;
}

void remap(std::vector<interval>& list, const std::vector<uint32_t>& ids) noexcept {
    std::size_t w = 0;
    for (std::size_t r = 0; r < list.size(); ++r) {
        interval x = list[r];
        x.value = x.value < ids.size() ? ids[x.value] : 0;
        if (x.value == 0) x.match = 0;
        if (w > 0 && list[w - 1].value == x.value && list[w - 1].match == x.match) continue;
        list[w++] = x;
    }
    list.resize(w);
}

namespace {
prefix_source finish(local_source&& l, interner& in, const deriver* derive) {
    prefix_source out;
    const std::vector<uint32_t> ids = intern_sets(l, in, derive, derive_context::prefix);
    remap(l.prefixes, ids);
    out.prefixes = std::move(l.prefixes);
    out.report = std::move(l.report);
    if (!out.report.fatal.empty()) out.prefixes.clear();
    return out;
}
}  // namespace

prefix_source load_inventory(const std::string& path, const inventory_options& opt, const key_registry& keys,
                             interner& in, const deriver* derive) {
    return finish(read_inventory(path, opt, keys), in, derive);
}

prefix_source load_static(const std::vector<std::string>& specs, const key_registry& keys, interner& in) {
    return finish(read_static(specs, keys), in, nullptr);
}

prefix_source load_mmdb(const std::string& path, const mmdb_layout& layout, interner& in, const deriver* derive) {
    return finish(read_mmdb(path, layout), in, derive);
}

}  // namespace sluice::enrich
