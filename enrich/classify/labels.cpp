// SPDX-License-Identifier: Apache-2.0
// signature_labels: the names of signature_tags' bits, rendered as JSON (labels.hpp).
#include "labels.hpp"

#include <cstring>
#include <string_view>

#include "enrich/attrs/json_string.hpp"

namespace sluice::enrich::classify {

namespace {

std::string quoted(std::string_view s) {
    std::string out(json_escaped_len(s) + 2, '"');
    put_json_escaped(out.data() + 1, s);
    return out;
}

// Appends to [p, end) while it fits; a piece that does not fit is not written at all.
struct bounded {
    char* p;
    char* end;
    bool put(std::string_view s) noexcept {
        if (std::size_t(end - p) < s.size()) return false;
        std::memcpy(p, s.data(), s.size());
        p += s.size();
        return true;
    }
};

// `tag` (quoted) is an item of the comma-separated list `written`.
bool written_before(std::string_view written, std::string_view tag) noexcept {
    for (std::size_t at = written.find(tag); at != std::string_view::npos; at = written.find(tag, at + 1))
        if ((at == 0 || written[at - 1] == ',') && (at + tag.size() == written.size() || written[at + tag.size()] == ','))
            return true;
    return false;
}

// s is "name" (quoted).
bool is_quoted(std::string_view s, std::string_view name) noexcept {
    return s.size() == name.size() + 2 && s.front() == '"' && s.back() == '"' && s.substr(1, name.size()) == name;
}

}  // namespace

unsigned signature_labels::bit_of(std::string_view rule) const noexcept {
    for (unsigned b = 0; b < k_bits; ++b)
        if (const signature_label* l = at(b); l != nullptr && is_quoted(l->rule, rule)) return b;
    return k_bits;
}

bool signature_labels::matches(uint32_t tags, std::string_view name) const noexcept {
    for (uint32_t t = tags; t != 0; t &= t - 1) {
        const signature_label* l = at(unsigned(__builtin_ctz(t)));
        if (l == nullptr) continue;
        if (is_quoted(l->rule, name)) return true;
        for (const std::string& tag : l->tags)
            if (is_quoted(tag, name)) return true;
    }
    return false;
}

void signature_labels::set(unsigned bit, const std::string& rule, const std::vector<std::string>& tags) {
    auto l = std::make_unique<signature_label>();
    l->rule = quoted(rule);
    for (const std::string& t : tags) l->tags.push_back(quoted(t));
    const signature_label* cur = at(bit);
    if (cur != nullptr && cur->rule == l->rule && cur->tags == l->tags) return;
    _slot[bit].store(l.get(), std::memory_order_release);
    _owned.push_back(std::move(l));
}

std::size_t signature_labels::insert_json(uint32_t tags, char* json, std::size_t len, unsigned closing) const noexcept {
    if (tags == 0 || len < closing) return len;
    char tail[4];
    if (closing > sizeof tail) return len;
    std::memcpy(tail, json + len - closing, closing);
    constexpr std::string_view rules_head = ",\"signature_rules\":[", labels_head = "],\"signature_labels\":[", end = "]";
    // The rules, then the tags, each within k_max_json less what still has to follow them.
    char* const start = json + len - closing;
    std::memcpy(start, rules_head.data(), rules_head.size());
    bounded w{start + rules_head.size(), start + k_max_json - labels_head.size() - end.size()};
    bool first = true;
    for (uint32_t t = tags; t != 0; t &= t - 1) {
        const signature_label* l = at(unsigned(__builtin_ctz(t)));
        if (l == nullptr) continue;
        char* const at_item = w.p;
        if ((!first && !w.put(",")) || !w.put(l->rule)) {
            w.p = at_item;
            break;
        }
        first = false;
    }
    // The tags: once each, in the rules' order (a tag two matched rules share is written once).
    std::memcpy(w.p, labels_head.data(), labels_head.size());
    w.p += labels_head.size();
    w.end = start + k_max_json - end.size();
    const char* const tags_from = w.p;
    first = true;
    bool full = false;
    for (uint32_t t = tags; t != 0 && !full; t &= t - 1) {
        const signature_label* l = at(unsigned(__builtin_ctz(t)));
        if (l == nullptr) continue;
        for (const std::string& tag : l->tags) {
            if (written_before(std::string_view(tags_from, std::size_t(w.p - tags_from)), tag)) continue;
            char* const at_item = w.p;
            if ((!first && !w.put(",")) || !w.put(tag)) {
                w.p = at_item;
                full = true;
                break;
            }
            first = false;
        }
    }
    std::memcpy(w.p, end.data(), end.size());
    w.p += end.size();
    std::memcpy(w.p, tail, closing);
    return std::size_t(w.p + closing - json);
}

}  // namespace sluice::enrich::classify
