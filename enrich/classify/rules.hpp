// SPDX-License-Identifier: Apache-2.0
// Classification rules: the rules file's syntax, parsed into plain structs (no Hyperscan here).
//
// A rules file is a list of blocks; `#` starts a comment line; values are
// trimmed (write a leading or trailing space in a pattern as \x20):
//
//   [attribute transit]              # a build-time rule named "transit"
//   reads = interface_description    # the string attribute it matches
//   pattern = ^Transit:\s*(.+)$      # Hyperscan syntax; also compiled with std::regex (ECMAScript) for captures
//   flags = caseless                 # caseless, dotall, multiline (comma-separated)
//   set = connectivity=transit       # derived attribute (repeatable); $1..$9 = capture groups, $0 the match
//   set = provider=$1
//
//   [payload memcached_amplification]  # a per-record rule: its bit of signature_tags (file order at the first load,
//                                      # then stable per name across reloads: labels.hpp)
//   pattern = \x00\x00\x00\x01\x00\x00(VALUE|STAT)\x20
//   flags = dotall
//   tags = attack, amplification     # labels for the rule: the JSON and ECS JSON outputs write the matched rules'
//                                    # names and tags (signature_rules, signature_labels); the record carries the bit
//
// At most 32 payload rules (signature_tags has 32 bits). Errors name the
// file, the line and the rule.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::enrich::classify {

enum class rule_kind : uint8_t { attribute, payload };

namespace rule_flags {
constexpr unsigned caseless = 1u << 0, dotall = 1u << 1, multiline = 1u << 2;
}

// Payload rules a database holds: one bit each in flow_record::signature_tags.
constexpr std::size_t k_max_payload_rules = 32;

// Attribute rules are also compiled and run by std::regex (for their capture groups), whose compiler and
// backtracking matcher recurse once per pattern atom and per input character: a 20 KB pattern, or a 32 KB value
// matched by `x*`, overflows an 8 MiB stack (measured with libstdc++ 12). So an attribute rule's pattern is at
// most k_max_attribute_pattern bytes (a longer one is a parse error naming the rule), and derive matches at most
// the first k_max_derive_value bytes of a value (a hostname is at most 253, an IF-MIB ifAlias 64).
constexpr std::size_t k_max_attribute_pattern = 1024;
// std::regex also expands a bounded repeat into copies of its atom, and reads the count into a long without an
// overflow check (libstdc++ 12): an attribute rule's `{n}` / `{n,m}` counts are at most k_max_attribute_repeat.
constexpr unsigned k_max_attribute_repeat = 1000;
// Its back-references (`\N`) are read the same way (a 20-digit `\3333...` overflowed: fuzz_rules under UBSan), so a
// backslash is followed by at most k_max_attribute_escape_digits digits (a group number; \0 is NUL).
constexpr std::size_t k_max_attribute_escape_digits = 3;
constexpr std::size_t k_max_derive_value = 1024;

struct rule {
    std::string name;
    rule_kind kind = rule_kind::attribute;
    std::string pattern;
    unsigned flags = 0;          // rule_flags bits
    std::string reads;           // attribute rules: the attribute matched (hostname, interface_description, ...)
    std::vector<std::pair<std::string, std::string>> set;  // attribute rules: key, value template ($N)
    std::vector<std::string> tags;
    unsigned line = 0;           // of the [header], for messages
};

struct rule_set {
    std::string file;  // for messages
    std::vector<rule> rules;
};

// Parses `text` (the contents of `file`). false and *err = "FILE:LINE: rule NAME: reason" on the first error.
bool parse_rules(std::string_view text, const std::string& file, rule_set& out, std::string* err);
// Reads and parses `path`.
bool load_rules(const std::string& path, rule_set& out, std::string* err);

}  // namespace sluice::enrich::classify
