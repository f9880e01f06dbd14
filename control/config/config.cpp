// SPDX-License-Identifier: Apache-2.0
// The TOML loader (see config.hpp): walk the file, check each key against the key table, apply it as its flag.
#include "config.hpp"

#include <arpa/inet.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "dataplane/decode/decoder.hpp"
#include "dataplane/decode/flow_record.hpp"
#include "dataplane/decode/record_format.hpp"
#include "keys.hpp"

namespace sluice::control::config {

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

unsigned available_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
    return unsigned(std::max(1, CPU_COUNT(&set)));
}

namespace {

// The closest of `candidates` to `s`, when close enough to be a typo: at
// most 2 edits, or a quarter of the name for long ones.
std::string nearest(std::string_view s, const std::vector<std::string>& candidates) {
    std::string best;
    std::size_t bd = ~std::size_t{0};
    for (const std::string& c : candidates) {
        const std::size_t d = edit_distance(s, c);
        if (d < bd) bd = d, best = c;
    }
    if (best.empty() || bd > std::max<std::size_t>(2, s.size() / 4)) return {};
    return best;
}

uint32_t line_of(const toml::node& n) { return uint32_t(n.source().begin.line); }
uint32_t line_of(const toml::key& k) { return uint32_t(k.source().begin.line); }

// A value as the file wrote it (strings quoted), for messages.
std::string show(const toml::node& n) {
    if (const auto* s = n.as_string()) return "\"" + s->get() + "\"";
    if (n.is_array()) return "[...]";
    if (n.is_table()) return "{...}";
    if (const auto* i = n.as_integer()) return std::to_string(i->get());
    if (const auto* b = n.as_boolean()) return b->get() ? "true" : "false";
    if (const auto* f = n.as_floating_point()) {
        std::ostringstream os;
        os << f->get();
        return os.str();
    }
    return "(date/time)";
}

// A scalar as a flag's value; false when the node is not one of `t`'s types.
bool to_text(const toml::node& n, value_type t, std::string& out) {
    if (const auto* s = n.as_string()) {
        if (t == value_type::integer || t == value_type::seconds || t == value_type::boolean) return false;
        out = s->get();
        return true;
    }
    if (const auto* i = n.as_integer()) {
        if (t == value_type::string || t == value_type::boolean) return false;
        out = std::to_string(i->get());
        return true;
    }
    if (const auto* f = n.as_floating_point()) {
        if (t != value_type::seconds) return false;
        char b[64];
        const auto r = std::to_chars(b, b + sizeof b, f->get(), std::chars_format::fixed);
        out.assign(b, r.ptr);
        return true;
    }
    if (const auto* b = n.as_boolean()) {
        if (t != value_type::boolean && t != value_type::any) return false;
        out = b->get() ? "true" : "false";
        return true;
    }
    return false;
}

std::string_view want(value_type t) {
    switch (t) {
    case value_type::string: return "want a string";
    case value_type::integer: return "want an integer";
    case value_type::integer_or_auto: return "want an integer or \"auto\"";
    case value_type::seconds: return "want a number of seconds (integer or float)";
    case value_type::boolean: return "want true or false";
    case value_type::string_list: return "want an array of strings";
    case value_type::map: return "want a table";
    case value_type::table_array: return "want an array of tables";
    case value_type::any: return "want a string, integer or boolean";
    }
    return "?";
}

// "--flag: why" -> "why".
std::string strip_flag(const std::string& msg, const std::string& flag) {
    const std::string pre = flag + ": ";
    return msg.rfind(pre, 0) == 0 ? msg.substr(pre.size()) : msg;
}

// Every key and section name (under `under`, when given): what a typo may have meant.
std::vector<std::string> concrete_keys(std::string_view under = {}) {
    std::vector<std::string> v;
    for (const key_info& k : key_table()) {
        if (!under.empty() && !k.key.starts_with(under)) continue;
        if (!k.key.ends_with(".*")) v.emplace_back(k.key);
        for (std::size_t d = k.key.find('.'); d != std::string_view::npos; d = k.key.find('.', d + 1))
            if (d > under.size()) v.emplace_back(k.key.substr(0, d));
    }
    return v;
}

bool is_section(std::string_view path) {
    const std::string pre = std::string(path) + ".";
    for (const key_info& k : key_table())
        if (k.key.starts_with(pre)) return true;
    return false;
}

// One walk over a parsed file: applies each key to r.cfg.opt, notes its canonical value, collects errors.
struct walker {
    load_result& r;
    const std::string& file;

    void err(uint32_t line, const std::string& msg) {
        r.errors.push_back(file + ":" + std::to_string(line) + ": " + msg);
    }

    void note(const std::string& canon, const std::string& value, uint32_t line, std::string_view row) {
        auto& v = r.cfg.values[canon];
        v = v.empty() ? value : v + ", " + value;
        r.cfg.lines.emplace(canon, line);
        r.cfg.rows[canon] = std::string(row);
    }

    bool apply(std::string_view flag, const std::string& value, const std::string& key, const std::string& shown,
               uint32_t line) {
        try {
            cli::apply_option(r.cfg.opt, std::string(flag), value);
            return true;
        } catch (const cli::usage_error& e) {
            err(line, key + " = " + shown + ": " + strip_flag(e.what(), "--" + std::string(flag)));
            return false;
        }
    }

    void unknown(const std::string& shown_path, const std::string& path, const std::string& shown, uint32_t line,
                 std::string_view under = {}) {
        const std::string near = nearest(path, concrete_keys(under));
        err(line, shown_path + " = " + shown + ": unknown key" +
                      (near.empty() ? std::string(" (docs/config.md lists every key)") : "; did you mean " + near + "?"));
    }

    void table(const toml::table& t, const std::string& prefix) {
        for (const auto& [k, n] : t) {
            const std::string path = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
            node(path, n, line_of(k));
        }
    }

    void node(const std::string& path, const toml::node& n, uint32_t line) {
        const key_info* row = find_key(path);
        // A wildcard row stands for map entries, handled by its map's row.
        if (row == nullptr || row->key.ends_with(".*")) {
            if (is_section(path) && row == nullptr) {
                if (const auto* t = n.as_table()) return table(*t, path);
                return err(line, path + " = " + show(n) + ": want a table [" + path + "]");
            }
            return unknown(path, path, show(n), line);
        }
        switch (row->type) {
        case value_type::table_array: return table_array(path, n, line);
        case value_type::map: return map(path, n, line);
        case value_type::string_list: {
            const auto* a = n.as_array();
            if (a == nullptr) return err(line, path + " = " + show(n) + ": " + std::string(want(row->type)));
            for (const toml::node& e : *a) {
                const auto* s = e.as_string();
                if (s == nullptr) {
                    err(line_of(e), path + " = " + show(e) + ": " + std::string(want(row->type)));
                    continue;
                }
                if (!apply(row->flag, s->get(), path, show(e), line_of(e))) continue;
                note(path, s->get(), line_of(e), row->key);
                if (row->key == "input.pcap") r.cfg.pcap_lines.push_back(line_of(e));
            }
            return;
        }
        default: return scalar(*row, path, n, line);
        }
    }

    void scalar(const key_info& row, const std::string& path, const toml::node& n, uint32_t line) {
        std::string v;
        if (!to_text(n, row.type, v)) return err(line, path + " = " + show(n) + ": " + std::string(want(row.type)));
        if (row.key == "control.socket") r.cfg.control_socket = v;
        if (row.flag.empty()) return note(path, v, line, row.key);  // checked, kept, applied by the loader
        // ports.queues is the only integer_or_auto key; resolve() computes its value.
        if (row.type == value_type::integer_or_auto && n.is_string()) {
            if (v != "auto") return err(line, path + " = " + show(n) + ": want an integer or \"auto\"");
            r.cfg.queues_auto = true;
            return note(path, v, line, row.key);
        }
        if (row.type == value_type::boolean) {
            if (v == "true" && !apply(row.flag, "", path, show(n), line)) return;
            return note(path, v, line, row.key);
        }
        if (apply(row.flag, v, path, show(n), line)) note(path, v, line, row.key);
    }

    void map(const std::string& path, const toml::node& n, uint32_t line) {
        const auto* t = n.as_table();
        if (t == nullptr) return err(line, path + " = " + show(n) + ": want a table [" + path + "]");
        const key_info* entry = find_key(path + ".x");
        for (const auto& [k, v] : *t) {
            const std::string name(k.str()), sub = path + "." + name;
            std::string text;
            if (!to_text(v, entry->type == value_type::any ? value_type::integer_or_auto : entry->type, text) ||
                v.is_boolean()) {
                err(line_of(k), sub + " = " + show(v) + ": " +
                                    (entry->flag == "decoder-limit"
                                         ? std::string("want an integer (or, for _ns limits, a string with a unit: \"30s\")")
                                         : std::string(want(entry->type))));
                continue;
            }
            if (entry->flag == "port-map") {
                // Duplicates: "2055" and "02055" are different TOML keys and the same port.
                if (!apply(entry->flag, name + "=" + text, sub, show(v), line_of(k))) continue;
                const uint16_t port = r.cfg.opt.port_map.back().first;
                if (const auto l = r.cfg.lines.find(path + "." + std::to_string(port)); l != r.cfg.lines.end()) {
                    r.cfg.opt.port_map.pop_back();
                    err(line_of(k), sub + " = " + show(v) + ": UDP port " + std::to_string(port) +
                                        " is also set on line " + std::to_string(l->second));
                    continue;
                }
                note(path + "." + std::to_string(port), text, line_of(k), entry->key);
                continue;
            }
            if (entry->flag == "decoder-limit") {
                std::vector<std::string> names;
                for (const auto& l : decode::decoder_limit_table) names.emplace_back(l.name);
                if (std::find(names.begin(), names.end(), name) == names.end()) {
                    const std::string near = nearest(name, names);
                    err(line_of(k), sub + " = " + show(v) + ": unknown decoder limit" +
                                        (near.empty() ? std::string() : "; did you mean " + path + "." + near + "?") +
                                        " (docs/configuration.md lists them)");
                    continue;
                }
            }
            if (apply(entry->flag, name + "=" + text, sub, show(v), line_of(k))) note(sub, text, line_of(k), entry->key);
        }
    }

    // [[port]], [[exporter]], [[output]].
    void table_array(const std::string& path, const toml::node& n, uint32_t line) {
        const auto* a = n.as_array();
        if (a == nullptr || (!a->empty() && !a->is_array_of_tables()))  // "output = []": none
            return err(line, path + " = " + show(n) + ": want an array of tables [[" + path + "]]");
        for (std::size_t i = 0; i < a->size(); ++i) {
            const toml::table& t = *a->get(i)->as_table();
            const std::string at = path + "[" + std::to_string(i) + "]";
            if (path == "port") port(t, at, i);
            else if (path == "exporter") exporter(t, at);
            else output(t, at, i);
        }
    }

    // Checks t's keys against the rows under `path.`; false (reported) on an unknown or mistyped one.
    bool known_keys(const toml::table& t, const std::string& path, const std::string& at) {
        bool ok = true;
        for (const auto& [k, v] : t) {
            const std::string sub = path + "." + std::string(k.str());
            const key_info* kr = find_key(sub);
            std::string text;
            if (kr == nullptr) {
                unknown(at + "." + std::string(k.str()), sub, show(v), line_of(k), path + ".");
                ok = false;
            } else if (!to_text(v, kr->type, text)) {
                err(line_of(k), at + "." + std::string(k.str()) + " = " + show(v) + ": " + std::string(want(kr->type)));
                ok = false;
            }
        }
        return ok;
    }

    void port(const toml::table& t, const std::string& at, std::size_t i) {
        if (!known_keys(t, "port", at)) return;
        const auto* d = t.get("devargs");
        if (d == nullptr) return err(line_of(t), at + ": missing key 'devargs' (a PCI address or vdev devargs)");
        const std::string v = d->as_string()->get();
        if (apply("port", v, at + ".devargs", show(*d), line_of(*d)))
            note("port[" + std::to_string(i) + "].devargs", v, line_of(*d), "port.devargs");
    }

    void exporter(const toml::table& t, const std::string& at) {
        if (!known_keys(t, "exporter", at)) return;
        const auto* a = t.get("address");
        if (a == nullptr) return err(line_of(t), at + ": missing key 'address' (the exporter's IPv4 or IPv6 address)");
        exporter_entry e;
        e.address = a->as_string()->get();
        e.line = line_of(*a);
        // Canonical text of the 16-byte form the exporter tables key (IPv4-mapped
        // for IPv4), so 10.0.0.1 and ::ffff:10.0.0.1 are the same exporter.
        uint8_t b[16], k16[16];
        if (inet_pton(AF_INET, e.address.c_str(), b) == 1) decode::set_ipv4(k16, b);
        else if (inet_pton(AF_INET6, e.address.c_str(), b) == 1) decode::set_ipv6(k16, b);
        else return err(e.line, at + ".address = " + show(*a) + ": not an IPv4 or IPv6 address");
        char canon[48] = {};
        decode::format_address(k16, canon);
        const std::string key = "exporter." + std::string(canon);
        if (const auto l = r.cfg.lines.find(key + ".address"); l != r.cfg.lines.end())
            return err(e.line, at + ".address = " + show(*a) + ": exporter " + canon + " is also the one on line " +
                                   std::to_string(l->second));
        if (const auto* nm = t.get("name")) {
            e.name = nm->as_string()->get();
            for (const exporter_entry& o : r.cfg.exporters)
                if (!e.name.empty() && o.name == e.name)
                    return err(line_of(*nm), at + ".name = " + show(*nm) + ": name also used by the exporter on line " +
                                                 std::to_string(o.line));
            note(key + ".name", e.name, line_of(*nm), "exporter.name");
        }
        if (const auto* g = t.get("group")) {
            e.group = g->as_string()->get();
            note(key + ".group", e.group, line_of(*g), "exporter.group");
        }
        if (const auto* so = t.get("sampling_override")) {
            const std::string v = std::to_string(so->as_integer()->get());
            if (!apply("sampling-override", std::string(canon) + "=" + v, at + ".sampling_override", show(*so),
                       line_of(*so)))
                return;
            e.has_override = true;
            e.rate = r.cfg.opt.sampling_overrides.back().rate;
            note(key + ".sampling_override", v, line_of(*so), "exporter.sampling_override");
        }
        note(key + ".address", canon, e.line, "exporter.address");
        r.cfg.exporters.push_back(std::move(e));
    }

    // Every key goes into one --output spec; an error of the spec parser is
    // mapped back to the key (and line) it names.
    void output(const toml::table& t, const std::string& at, std::size_t i) {
        std::string spec, name = "#" + std::to_string(i);
        std::map<std::string, std::pair<uint32_t, std::string>> where;  // key -> line, shown value
        if (const auto* nm = t.get("name"); nm != nullptr && nm->is_string()) name = nm->as_string()->get();
        bool ok = true;
        for (const auto& [k, v] : t) {
            const std::string key(k.str());
            std::string text;
            if (!to_text(v, value_type::any, text)) {
                err(line_of(k), at + "." + key + " = " + show(v) + ": want a string, integer or boolean");
                ok = false;
                continue;
            }
            if (text.find(',') != std::string::npos) {
                err(line_of(k), at + "." + key + " = " + show(v) +
                                    ": a value cannot contain ',' (the output spec separates keys with it)");
                ok = false;
                continue;
            }
            where[key] = {line_of(k), show(v)};
            spec += (spec.empty() ? "" : ",") + key + "=" + text;
        }
        if (!ok) return;
        try {
            cli::apply_option(r.cfg.opt, "output", spec);
        } catch (const cli::usage_error& e) {
            return output_error(e.what(), at, line_of(t), where);
        }
        for (const auto& [k, w] : where) {
            std::string text;
            to_text(*t.get(k), value_type::any, text);
            note("output." + name + "." + k, text, w.first, "output.*");
        }
    }

    void output_error(const std::string& msg, const std::string& at, uint32_t table_line,
                      const std::map<std::string, std::pair<uint32_t, std::string>>& where) {
        // "--output NAME: rest" or "output NAME: filter: rest"
        std::string rest = msg;
        if (const auto c = rest.find(": "); c != std::string::npos) rest = rest.substr(c + 2);
        auto at_key = [&](const std::string& k, const std::string& why) {
            const auto w = where.find(k);
            if (w == where.end()) return err(table_line, at + ": " + why);
            err(w->second.first, at + "." + k + " = " + w->second.second + ": " + why);
        };
        if (rest.rfind("key '", 0) == 0) {
            const auto q = rest.find('\'', 5);
            const std::string k = rest.substr(5, q - 5);
            const std::string why = rest.substr(std::min(rest.size(), q + 3));  // after "': "
            if (k == "name" && where.count("name") == 0) return err(table_line, at + ": missing key 'name'");
            return at_key(k, why);
        }
        if (rest.rfind("unknown key '", 0) == 0) {
            const auto q = rest.find('\'', 13);
            const std::string k = rest.substr(13, q - 13);
            // The parser lists what it knows: "(name, path, ...)".
            std::vector<std::string> known;
            const auto o = rest.find('(', q), e = rest.find(')', q);
            std::string list = o == std::string::npos ? std::string() : rest.substr(o + 1, e - o - 1);
            for (std::size_t p = 0; p < list.size();) {
                const auto c = list.find(", ", p);
                known.push_back(list.substr(p, c == std::string::npos ? std::string::npos : c - p));
                p = c == std::string::npos ? list.size() : c + 2;
            }
            const std::string near = nearest(k, known);
            return at_key(k, "unknown key" + (near.empty() ? std::string() : "; did you mean " + near + "?") +
                                 " (allowed: " + list + ")");
        }
        if (rest.rfind("missing key '", 0) == 0) return err(table_line, at + ": " + rest);
        if (rest.rfind("filter: ", 0) == 0) return at_key("filter", rest.substr(8));
        err(table_line, at + ": " + rest);
    }
};

// Adds "a" or "a-b" to `ids`; false when it is neither.
bool add_range(std::string_view s, std::vector<unsigned>& ids) {
    const auto dash = s.find('-');
    unsigned a = 0, b = 0;
    auto num = [](std::string_view x, unsigned& v) {
        const auto [p, ec] = std::from_chars(x.data(), x.data() + x.size(), v);
        return !x.empty() && ec == std::errc{} && p == x.data() + x.size() && v < 4096;
    };
    if (dash == std::string_view::npos) {
        if (!num(s, a)) return false;
        b = a;
    } else if (!num(s.substr(0, dash), a) || !num(s.substr(dash + 1), b) || b < a) {
        return false;
    }
    for (unsigned i = a; i <= b; ++i)
        if (std::find(ids.begin(), ids.end(), i) == ids.end()) ids.push_back(i);
    return true;
}

// The lcores an EAL -l LIST or --lcores MAP names (DPDK's syntax: "0-3,5"; "0@0,1@2", "(0-3)@1,4");
// -1 when there is no such option or it does not parse (EAL then decides, and says why).
int count_lcores(const std::string& eal) {
    std::vector<std::string> args;
    std::istringstream in(eal);
    for (std::string a; in >> a;) args.push_back(a);
    std::string list, map;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if ((args[i] == "-l" || args[i] == "--lcores") && i + 1 < args.size()) (args[i] == "-l" ? list : map) = args[i + 1];
        else if (args[i].rfind("--lcores=", 0) == 0) map = args[i].substr(9);
        else if (args[i].rfind("-l", 0) == 0 && args[i].size() > 2 && args[i] != "-l") list = args[i].substr(2);
        else if (args[i] == "-c" || args[i].rfind("-c", 0) == 0) return -1;  // a hex mask: not counted here
    }
    std::vector<unsigned> ids;
    if (!map.empty()) {
        // Top-level elements split at commas outside parentheses; the lcores are left of '@'.
        int depth = 0;
        std::size_t from = 0;
        std::vector<std::string> elems;
        for (std::size_t i = 0; i <= map.size(); ++i) {
            if (i == map.size() || (map[i] == ',' && depth == 0)) {
                elems.push_back(map.substr(from, i - from));
                from = i + 1;
            } else if (map[i] == '(') {
                ++depth;
            } else if (map[i] == ')') {
                --depth;
            }
        }
        for (const std::string& e : elems) {
            std::string_view lhs = std::string_view(e).substr(0, e.find('@'));
            if (lhs.size() >= 2 && lhs.front() == '(' && lhs.back() == ')') {
                lhs = lhs.substr(1, lhs.size() - 2);
                for (std::size_t p = 0; p <= lhs.size();) {
                    const auto c = lhs.find(',', p);
                    if (!add_range(lhs.substr(p, c == std::string_view::npos ? std::string_view::npos : c - p), ids))
                        return -1;
                    if (c == std::string_view::npos) break;
                    p = c + 1;
                }
            } else if (!add_range(lhs, ids)) {
                return -1;
            }
        }
        return int(ids.size());
    }
    if (!list.empty()) {
        for (std::size_t p = 0; p <= list.size();) {
            const auto c = list.find(',', p);
            if (!add_range(std::string_view(list).substr(p, c == std::string::npos ? std::string::npos : c - p), ids))
                return -1;
            if (c == std::string::npos) break;
            p = c + 1;
        }
        return int(ids.size());
    }
    return -1;
}

}  // namespace

std::vector<std::string> complete(const loaded& cfg, cli::options& o, const std::vector<std::string>& argv_flags) {
    std::vector<std::string> errors;
    auto line = [&](const std::string& k) { return cfg.lines.count(k) ? cfg.lines.at(k) : 0u; };
    auto given = [&](const char* f) { return std::find(argv_flags.begin(), argv_flags.end(), f) != argv_flags.end(); };
    // The file's captures exist (flags' are checked when set-up opens them).
    if (!given("pcap"))
        for (std::size_t i = 0; i < o.pcaps.size() && i < cfg.pcap_lines.size(); ++i)
            if (::access(o.pcaps[i].c_str(), R_OK) != 0)
                errors.push_back(cfg.file + ":" + std::to_string(cfg.pcap_lines[i]) + ": input.pcap = \"" + o.pcaps[i] +
                                 "\": cannot read: " + std::strerror(errno));
    if (cfg.queues_auto && !given("queues")) {
        const unsigned cpus = available_cpus();
        const unsigned ports = std::max<std::size_t>(1, o.ports.size());
        const unsigned spare = cpus > 1 + o.sinks ? cpus - 1 - o.sinks : 0;
        o.queues = std::clamp(spare / ports, 1u, 64u);
    }
    // An lcore list in eal.args must hold main + one worker per queue + the sink cores (setup's order).
    if (const int n = count_lcores(o.eal); n >= 0 && cfg.lines.count("eal.args") != 0 && !given("eal")) {
        const unsigned workers = unsigned(o.pcaps.size()) + unsigned(o.ports.size()) * o.queues;
        const unsigned need = 1 + workers + o.sinks;
        if (unsigned(n) < need)
            errors.push_back(cfg.file + ":" + std::to_string(line("eal.args")) + ": eal.args = \"" + o.eal +
                               "\": its lcore list has " + std::to_string(n) + " lcore(s), the config needs " +
                               std::to_string(need) + " (1 control + " + std::to_string(workers) +
                               " worker(s): one per queue of each port + " + std::to_string(o.sinks) + " sink core(s))");
    }
    if (o.discard && cfg.lines.count("sink.discard") != 0 && !given("sink-discard") &&
        (!o.outputs.empty() || !o.json_out.empty())) {
        const std::string other = !o.outputs.empty() ? "[[output]] " + o.outputs[0].name : "json_out.path";
        errors.push_back(cfg.file + ":" + std::to_string(line("sink.discard")) +
                           ": sink.discard = true: conflicts with " + other +
                           " (discarding sinks write no output; remove one of them)");
    }
    return errors;
}

load_result load_string(std::string_view text, const std::string& name) {
    load_result r;
    r.cfg.file = name;
    toml::table t;
    try {
        t = toml::parse(text, name);
    } catch (const toml::parse_error& e) {
        r.errors.push_back(name + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
        return r;
    }
    walker w{r, name};
    w.table(t, "");
    // By line (a TOML table iterates its keys in name order).
    auto line = [&](const std::string& e) {
        unsigned long v = 0;
        std::from_chars(e.data() + name.size() + 1, e.data() + e.size(), v);
        return v;
    };
    std::stable_sort(r.errors.begin(), r.errors.end(),
                     [&](const std::string& a, const std::string& b) { return line(a) < line(b); });
    return r;
}

load_result load_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        load_result r;
        r.cfg.file = path;
        r.errors.push_back(path + ": cannot read: " + std::strerror(errno));
        return r;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return load_string(ss.str(), path);
}

std::vector<std::string> flags_in(int argc, char** argv) {
    std::vector<std::string> v;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a.size() > 2 && a.starts_with("--")) v.emplace_back(a.substr(2, a.find('=') == std::string_view::npos
                                                                                ? std::string_view::npos
                                                                                : a.find('=') - 2));
    }
    return v;
}

std::string explain(const loaded& cfg, const cli::usage_error& e, const std::vector<std::string>& argv_flags) {
    const std::string flag = e.flag().rfind("--", 0) == 0 ? e.flag().substr(2) : e.flag();
    if (flag.empty()) {
        if (std::string(e.what()).rfind("no input", 0) == 0)
            return cfg.file + ": no input: set input.pcap or a [[port]] with devargs (or give --pcap/--port)";
        return e.what();
    }
    if (std::find(argv_flags.begin(), argv_flags.end(), flag) != argv_flags.end()) return e.what();
    const key_info* row = find_flag(flag);
    if (row == nullptr) return e.what();
    if (flag == "output") {
        // "--output NAME: key 'K': why" -> output.NAME.K
        const std::string msg = e.what();
        const std::string pre = "--output ";
        const auto c = msg.find(": ");
        if (msg.rfind(pre, 0) == 0 && c != std::string::npos) {
            const std::string name = msg.substr(pre.size(), c - pre.size());
            std::string rest = msg.substr(c + 2), k;
            if (rest.rfind("key '", 0) == 0) {
                const auto q = rest.find('\'', 5);
                k = rest.substr(5, q - 5);
                rest = rest.substr(std::min(rest.size(), q + 3));
            }
            const std::string canon = "output." + name + "." + k;
            if (const auto l = cfg.lines.find(canon); l != cfg.lines.end())
                return cfg.file + ":" + std::to_string(l->second) + ": output " + name + "." + k + " = \"" +
                       cfg.values.at(canon) + "\": " + rest;
        }
        return e.what();
    }
    for (const auto& [canon, r] : cfg.rows)
        if (r == row->key) {
            // The flags the message names become the keys a file sets.
            std::string why = strip_flag(e.what(), "--" + flag);
            for (std::size_t p = why.find("--"); p != std::string::npos; p = why.find("--", p + 2)) {
                std::size_t q = p + 2;
                while (q < why.size() && (std::isalnum(static_cast<unsigned char>(why[q])) || why[q] == '-')) ++q;
                if (const key_info* k = find_flag(why.substr(p + 2, q - p - 2))) why.replace(p, q - p, k->key);
            }
            return cfg.file + ":" + std::to_string(cfg.lines.at(canon)) + ": " + canon + " = " + cfg.values.at(canon) +
                   ": " + why;
        }
    return e.what();
}

std::string summary(const loaded& cfg, const cli::options& o) {
    std::string s = cfg.file + ": OK: ";
    s += std::to_string(o.pcaps.size()) + " pcap, " + std::to_string(o.ports.size()) + " port(s) x " +
         std::to_string(o.queues) + " queue(s)" + (cfg.queues_auto ? " (auto)" : "") + ", " + std::to_string(o.sinks) +
         " sink core(s), ";
    if (o.discard) {
        s += "outputs discarded";
    } else {
        s += std::to_string(o.sink.outputs.size()) + " output(s) (";
        for (std::size_t i = 0; i < o.sink.outputs.size(); ++i) s += (i ? ", " : "") + o.sink.outputs[i].name;
        s += ")";
    }
    std::size_t overrides = 0;
    for (const exporter_entry& e : cfg.exporters) overrides += e.has_override;
    s += ", " + std::to_string(cfg.exporters.size()) + " exporter(s) (" + std::to_string(overrides) +
         " sampling override(s)), log level " + (o.log_level.empty() ? "default" : o.log_level);
    return s;
}

}  // namespace sluice::control::config
