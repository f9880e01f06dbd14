// SPDX-License-Identifier: Apache-2.0
// The names of signature_tags' bits, for the sinks: bit b -> the payload rule that owns it and that rule's tags.
//
// A record carries the bits (flow_record::signature_tags); the JSON and ECS JSON outputs also carry what they
// mean, as names a user can query ("signature_rules":["dns_response_v4"],"signature_labels":["dns"]). Bits are
// assigned by live::reload (classify.hpp), stable per rule name within a process: a reload that keeps a rule keeps
// its bit, a new rule takes a bit no rule has had, so a record tagged before a reload and encoded after it still
// reads the right names. Only after 32 distinct payload rule names has a reload to give a new rule a bit a removed
// rule had (the one removed longest ago); the records in flight at that reload (still in the sink rings) may then
// carry the new rule's names for that bit.
//
// Writers: the control thread (live::reload), before the database using the bits is published. Readers: sink
// cores, without a lock: a slot is an atomic pointer to an immutable label that lives as long as the table.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::enrich::classify {

struct signature_label {
    std::string rule;               // the rule's name, quoted ("dns_response_v4"; names need no escaping)
    std::vector<std::string> tags;  // its tags, quoted and escaped
};

class signature_labels {
public:
    static constexpr unsigned k_bits = 32;
    // The most insert_json adds to a line: the members' names, the rules and the tags that fit (a rule or tag
    // that would not fit is left out whole; signature_tags, which every format writes, has every bit).
    static constexpr std::size_t k_max_json = 1024;

    // Control thread: bit b now means `rule` with `tags` (a new label when they differ from the current one).
    void set(unsigned bit, const std::string& rule, const std::vector<std::string>& tags);
    // Any thread: the label of bit b (nullptr: never assigned).
    const signature_label* at(unsigned bit) const noexcept { return _slot[bit].load(std::memory_order_acquire); }
    // The bit whose label is the rule `rule` (a valid rule name); k_bits: none.
    unsigned bit_of(std::string_view rule) const noexcept;

    // Inserts ,"signature_rules":[...],"signature_labels":[...] (rules by bit, tags once each in that order) before
    // the last `closing` bytes of json[0, len) (the braces that close the object they go into); returns the new
    // length. json has room for len + k_max_json bytes. Nothing for tags == 0. No allocation.
    std::size_t insert_json(uint32_t tags, char* json, std::size_t len, unsigned closing) const noexcept;
    // Any thread: one of the rules of `tags` is named `name` or has the tag `name` (a name of letters, digits,
    // '_', '-', '.': it needs no escaping). For output filters (tag==NAME). No allocation.
    bool matches(uint32_t tags, std::string_view name) const noexcept;

private:
    std::array<std::atomic<const signature_label*>, k_bits> _slot{};
    std::vector<std::unique_ptr<signature_label>> _owned;  // every label ever set (control thread)
};

}  // namespace sluice::enrich::classify
