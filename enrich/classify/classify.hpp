// SPDX-License-Identifier: Apache-2.0
// Hyperscan classification: a compiled, immutable rule database, its two uses (build-time attribute derivation,
// per-record payload signatures), and the live holder that swaps databases under RCU.
//
//   rules file ──parse (rules.hpp)──► rule_set ──database::build (control core)──► database
//                                                  ├─ Hyperscan block-mode db of the attribute rules
//                                                  ├─ Hyperscan block-mode db of the payload rules (id = bit)
//                                                  └─ std::regex per attribute rule: captures, run only
//                                                     for the rules Hyperscan says matched
//   live::reload ──build + one scratch per reader──► version ──atomic swap──► live::_cur ◄─acquire()─ worker w
//                  old version ──retired with a grace-period token──► freed by reclaim() once done(token)
//
// Hyperscan reports which rules match but has no capture groups; captures
// come from std::regex (ECMAScript), run only on the rules Hyperscan
// matched, so a pattern must mean the same in both (plain PCRE-compatible
// classes, groups, alternation, anchors; no lookbehind, possessive or
// atomic groups, which std::regex rejects: the rule's error says so).
//
// Ownership and lifetime: a database is immutable once built and shared by
// every reader. Scratch space is per reader (hs_scratch_t is not
// thread-safe): version::scratch[w] belongs to reader w. A version is freed
// only after a grace period that started after it was replaced: the caller
// supplies the grace-period functions (control/: rte_rcu_qsbr_start / check
// over the workers; tests: their own), so this library stays free of DPDK.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "counters.hpp"
#include "labels.hpp"
#include "rules.hpp"

struct hs_database;
struct hs_scratch;

namespace sluice::enrich::classify {

struct attribute {
    std::string key;
    std::string value;
    std::string rule;  // the rule that set it
};

class database {
public:
    // Compiles `rules`. nullptr and *err = "FILE:LINE: rule NAME: reason" when
    // a pattern does not compile (in Hyperscan or, for attribute rules, std::regex). payload_bits: the bit of
    // each payload rule, in file order (distinct, < 32; live::reload's stable assignment); empty: file order.
    static std::unique_ptr<database> build(rule_set rules, std::string* err,
                                           const std::vector<unsigned>& payload_bits = {});
    ~database();
    database(const database&) = delete;
    database& operator=(const database&) = delete;

    // Scratch space for one reader, sized for both databases. hs_free_scratch it (or let a version own it).
    hs_scratch* alloc_scratch() const;

    // Build-time API: the attributes the rules reading `attribute` derive
    // from `value`, in rule order; a key set by an earlier rule is not set
    // again. Allocates (strings): not for the data path.
    std::vector<attribute> derive(std::string_view attribute, std::string_view value, hs_scratch* s) const;

    // Per record: payload rule i's bit (payload_bit(i)) set when it matches anywhere in [p, p+n).
    // No allocation; `s` is the calling reader's scratch.
    uint32_t scan(const uint8_t* p, uint32_t n, hs_scratch* s) const noexcept;

    bool has_payload_rules() const noexcept { return _payload_db != nullptr; }
    // The payload rules in file order, and rule i's bit in signature_tags.
    const std::vector<const rule*>& payload_rules() const noexcept { return _payload; }
    unsigned payload_bit(std::size_t i) const noexcept { return _payload_bits[i]; }
    const rule_set& rules() const noexcept { return _rules; }

private:
    database() = default;
    rule_set _rules;
    std::vector<const rule*> _attr;     // Hyperscan id -> rule
    std::vector<std::regex> _attr_re;   // same index
    std::vector<const rule*> _payload;  // file order
    std::vector<unsigned> _payload_bits;  // same index: the rule's bit (its Hyperscan id)
    hs_database* _attr_db = nullptr;
    hs_database* _payload_db = nullptr;
};

// One published database and every reader's scratch for it.
struct version {
    std::unique_ptr<database> db;
    std::vector<hs_scratch*> scratch;  // [reader]
    uint64_t generation = 0;
    ~version();
};

// The grace-period hooks: start() returns a token; done(token) is true once
// every reader passed a quiescent state after start(). Neither blocks.
struct grace_period {
    std::function<uint64_t()> start;
    std::function<bool(uint64_t)> done;
};

class live {
public:
    live(unsigned readers, grace_period gp);
    ~live();  // frees everything: only once no reader runs
    live(const live&) = delete;
    live& operator=(const live&) = delete;

    // Off the readers: load, compile, allocate every reader's scratch, publish.
    // On any failure *err names the file, line and rule, the counter
    // reload_errors moves and the current version stays.
    bool reload(const std::string& path, std::string* err);
    bool reload(rule_set rules, std::string* err);  // the same from parsed rules

    // Reader w: the current version (nullptr before the first reload). Valid
    // until w's next quiescent state; use v->scratch[w].
    const version* acquire() const noexcept { return _cur.load(std::memory_order_acquire); }

    // Frees retired versions whose grace period is over (call on a timer). Returns how many are left.
    std::size_t reclaim();

    const counter_block& counters() const noexcept { return _counters; }
    unsigned readers() const noexcept { return _readers; }
    // What the bits of signature_tags mean (labels.hpp), for the sinks; valid as long as this object.
    const signature_labels& labels() const noexcept { return _labels; }

private:
    struct retired {
        std::unique_ptr<version> v;
        uint64_t token;
    };
    unsigned _readers;
    grace_period _gp;
    std::atomic<version*> _cur{nullptr};
    std::vector<retired> _retired;
    uint64_t _generation = 0;
    counter_block _counters;
    // The stable bit assignment (labels.hpp): a bit's rule is its label's; _bit_generation the generation it last
    // held a rule in (0 = never).
    std::vector<unsigned> assign_bits(const rule_set& rules) const;
    std::array<uint64_t, signature_labels::k_bits> _bit_generation{};
    signature_labels _labels;
};

}  // namespace sluice::enrich::classify
