// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the bytes as a classification rules file, parsed (parse_rules) and, when it parses,
// compiled (database::build: Hyperscan and std::regex), then used once: every attribute rule's attribute
// derived from a short value cut from the input, the input scanned as a payload.
// Checked: no crash or sanitizer report; a parse or compile error names the file and a line; a set that
// parses has named rules with a pattern, at most k_max_payload_rules payload ones.
#include <hs/hs.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "enrich/classify/classify.hpp"

namespace {

using namespace sluice::enrich::classify;

const std::string k_file = "fuzz.rules";

// "fuzz.rules:LINE: ..." (a line number) or "fuzz.rules: ..." (not one line's fault).
void check_error(const std::string& err) {
    if (err.compare(0, k_file.size() + 1, k_file + ":") != 0) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    rule_set rs;
    std::string err;
    if (!parse_rules(text, k_file, rs, &err)) {
        check_error(err);
        return 0;
    }
    std::size_t payload = 0;
    for (const rule& r : rs.rules) {
        if (r.name.empty() || r.pattern.empty() || r.line == 0) std::abort();
        payload += r.kind == rule_kind::payload;
    }
    if (payload > k_max_payload_rules) std::abort();
    std::unique_ptr<database> db = database::build(std::move(rs), &err);
    if (db == nullptr) {
        check_error(err);
        return 0;
    }
    hs_scratch* s = db->alloc_scratch();
    // std::regex recurses per character: a short value keeps every input fast.
    const std::string_view value = text.substr(0, 64);
    for (const rule& r : db->rules().rules)
        if (r.kind == rule_kind::attribute)
            for (const attribute& a : db->derive(r.reads, value, s))
                if (a.key.empty() || a.rule.empty()) std::abort();
    const uint32_t tags = db->scan(data, static_cast<uint32_t>(size), s);
    if (db->payload_rules().size() < 32 && (tags >> db->payload_rules().size()) != 0) std::abort();
    hs_free_scratch(s);
    return 0;
}
