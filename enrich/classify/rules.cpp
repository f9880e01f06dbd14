// SPDX-License-Identifier: Apache-2.0
// The rules file parser (rules.hpp).
#include "rules.hpp"

#include <cctype>
#include <fstream>
#include <sstream>

namespace sluice::enrich::classify {

namespace {

// Every unescaped `{n}`, `{n,}` or `{n,m}` of a pattern has counts of at most k_max_attribute_repeat. Braces that
// are not a repeat (no digits after them) are left to the regex compilers.
bool repeats_bounded(std::string_view p) {
    for (std::size_t i = 0; i < p.size(); ++i) {
        if (p[i] == '\\') {
            ++i;
            continue;
        }
        if (p[i] != '{') continue;
        for (std::size_t j = i + 1;; ++j) {
            std::size_t digits = 0;
            unsigned long v = 0;
            for (; j < p.size() && p[j] >= '0' && p[j] <= '9'; ++j, ++digits)
                if (digits < 6) v = v * 10 + unsigned(p[j] - '0');
            if (digits > 6 || v > k_max_attribute_repeat) return false;
            if (j >= p.size() || p[j] != ',') break;
        }
    }
    return true;
}

// No backslash followed by more than k_max_attribute_escape_digits digits.
bool escapes_bounded(std::string_view p) {
    for (std::size_t i = 0; i < p.size(); ++i) {
        if (p[i] != '\\') continue;
        std::size_t j = i + 1, digits = 0;
        for (; j < p.size() && p[j] >= '0' && p[j] <= '9'; ++j) ++digits;
        if (digits > k_max_attribute_escape_digits) return false;
        i = digits ? j - 1 : i + 1;  // past the escape (an escaped backslash starts nothing)
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

bool valid_name(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
    return true;
}

std::vector<std::string> split_list(std::string_view v) {
    std::vector<std::string> out;
    while (!v.empty()) {
        const auto c = v.find(',');
        const std::string_view item = trim(v.substr(0, c));
        if (!item.empty()) out.emplace_back(item);
        if (c == std::string_view::npos) break;
        v.remove_prefix(c + 1);
    }
    return out;
}

}  // namespace

bool parse_rules(std::string_view text, const std::string& file, rule_set& out, std::string* err) {
    out.file = file;
    out.rules.clear();
    unsigned lineno = 0;
    std::size_t payload = 0;
    auto fail = [&](unsigned line, const std::string& why) {
        if (err != nullptr) {
            *err = file + ":" + std::to_string(line) + ": ";
            if (!out.rules.empty() && line >= out.rules.back().line) *err += "rule " + out.rules.back().name + ": ";
            *err += why;
        }
        return false;
    };
    // Checks the last rule once its block is complete.
    auto finish = [&]() -> bool {
        if (out.rules.empty()) return true;
        const rule& r = out.rules.back();
        if (r.pattern.empty()) return fail(r.line, "no pattern");
        if (r.kind == rule_kind::attribute && r.pattern.size() > k_max_attribute_pattern)
            return fail(r.line, "pattern of " + std::to_string(r.pattern.size()) + " bytes: an attribute rule's is at most " +
                                    std::to_string(k_max_attribute_pattern) + " (std::regex recurses per atom)");
        if (r.kind == rule_kind::attribute && !repeats_bounded(r.pattern))
            return fail(r.line, "a repeat count over " + std::to_string(k_max_attribute_repeat) +
                                    " (std::regex copies the atom that many times)");
        if (r.kind == rule_kind::attribute && !escapes_bounded(r.pattern))
            return fail(r.line, "a back-reference of more than " + std::to_string(k_max_attribute_escape_digits) +
                                    " digits (std::regex reads it without an overflow check)");
        if (r.kind == rule_kind::attribute) {
            if (r.reads.empty()) return fail(r.line, "an attribute rule needs 'reads = ATTRIBUTE'");
            if (r.set.empty()) return fail(r.line, "an attribute rule needs at least one 'set = KEY=VALUE'");
        } else if (!r.set.empty() || !r.reads.empty()) {
            return fail(r.line, "a payload rule has no 'reads' or 'set' (it sets its bit of signature_tags)");
        }
        return true;
    };
    while (!text.empty()) {
        const auto nl = text.find('\n');
        const std::string_view raw = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        ++lineno;
        const std::string_view line = trim(raw);
        if (line.empty() || line.front() == '#') continue;
        if (line.front() == '[') {
            if (!finish()) return false;
            if (line.back() != ']') return fail(lineno, "want [attribute NAME] or [payload NAME]");
            const std::string_view h = trim(line.substr(1, line.size() - 2));
            const auto sp = h.find(' ');
            const std::string_view kind = h.substr(0, sp);
            const std::string_view name = sp == std::string_view::npos ? std::string_view{} : trim(h.substr(sp + 1));
            rule r;
            r.line = lineno;
            if (kind == "attribute") r.kind = rule_kind::attribute;
            else if (kind == "payload") r.kind = rule_kind::payload;
            else return fail(lineno, "unknown block '" + std::string(kind) + "' (attribute, payload)");
            if (!valid_name(name)) return fail(lineno, "a rule needs a name of letters, digits, '_', '-', '.'");
            for (const rule& o : out.rules)
                if (o.name == name) return fail(lineno, "rule " + std::string(name) + " defined twice");
            if (r.kind == rule_kind::payload && ++payload > k_max_payload_rules)
                return fail(lineno, "more than " + std::to_string(k_max_payload_rules) +
                                        " payload rules (signature_tags has 32 bits)");
            r.name = std::string(name);
            out.rules.push_back(std::move(r));
            continue;
        }
        if (out.rules.empty()) return fail(lineno, "a key before the first [attribute NAME] or [payload NAME]");
        rule& r = out.rules.back();
        const auto eq = line.find('=');
        if (eq == std::string_view::npos) return fail(lineno, "want KEY = VALUE");
        const std::string_view key = trim(line.substr(0, eq));
        const std::string_view v = trim(line.substr(eq + 1));
        if (key == "pattern") {
            if (v.empty()) return fail(lineno, "empty pattern");
            r.pattern = std::string(v);
        } else if (key == "flags") {
            for (const std::string& f : split_list(v)) {
                if (f == "caseless") r.flags |= rule_flags::caseless;
                else if (f == "dotall") r.flags |= rule_flags::dotall;
                else if (f == "multiline") r.flags |= rule_flags::multiline;
                else return fail(lineno, "unknown flag '" + f + "' (caseless, dotall, multiline)");
            }
        } else if (key == "reads") {
            if (!valid_name(v)) return fail(lineno, "reads: want an attribute name");
            r.reads = std::string(v);
        } else if (key == "set") {
            const auto e = v.find('=');
            const std::string_view k = e == std::string_view::npos ? v : trim(v.substr(0, e));
            if (e == std::string_view::npos || !valid_name(k)) return fail(lineno, "set: want KEY=VALUE");
            r.set.emplace_back(std::string(k), std::string(trim(v.substr(e + 1))));
        } else if (key == "tags") {
            r.tags = split_list(v);
        } else {
            return fail(lineno, "unknown key '" + std::string(key) + "' (pattern, flags, reads, set, tags)");
        }
    }
    return finish();
}

bool load_rules(const std::string& path, rule_set& out, std::string* err) {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        if (err != nullptr) *err = path + ": cannot open";
        return false;
    }
    std::ostringstream s;
    s << f.rdbuf();
    return parse_rules(s.str(), path, out, err);
}

}  // namespace sluice::enrich::classify
