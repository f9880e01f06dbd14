// SPDX-License-Identifier: Apache-2.0
// Hyperscan databases, capture extraction with std::regex, and the RCU-published live holder (classify.hpp).
#include "classify.hpp"

#include <hs/hs.h>

#include <algorithm>
#include <stdexcept>

namespace sluice::enrich::classify {

namespace {

unsigned hs_flags(const rule& r) {
    // SINGLEMATCH: one callback per rule and scan, all we need to know.
    unsigned f = HS_FLAG_SINGLEMATCH;
    if (r.flags & rule_flags::caseless) f |= HS_FLAG_CASELESS;
    if (r.flags & rule_flags::dotall) f |= HS_FLAG_DOTALL;
    if (r.flags & rule_flags::multiline) f |= HS_FLAG_MULTILINE;
    return f;
}

std::string where(const rule_set& s, const rule& r) {
    return s.file + ":" + std::to_string(r.line) + ": rule " + r.name + ": ";
}

// One block-mode database of `rules` (id = ids[i], else the index); nullptr when there are none.
bool compile(const rule_set& s, const std::vector<const rule*>& rules, hs_database_t** out, std::string* err,
             const std::vector<unsigned>& rule_ids = {}) {
    *out = nullptr;
    if (rules.empty()) return true;
    std::vector<const char*> pats;
    std::vector<unsigned> flags, ids;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        pats.push_back(rules[i]->pattern.c_str());
        flags.push_back(hs_flags(*rules[i]));
        ids.push_back(rule_ids.empty() ? unsigned(i) : rule_ids[i]);
    }
    hs_compile_error_t* ce = nullptr;
    if (hs_compile_multi(pats.data(), flags.data(), ids.data(), unsigned(rules.size()), HS_MODE_BLOCK, nullptr, out,
                         &ce) != HS_SUCCESS) {
        if (err != nullptr) {
            // expression < 0: not one pattern's fault (e.g. out of memory).
            if (ce != nullptr && ce->expression >= 0 && std::size_t(ce->expression) < rules.size())
                *err = where(s, *rules[std::size_t(ce->expression)]) + "Hyperscan: " + ce->message;
            else
                *err = s.file + ": Hyperscan: " + (ce != nullptr ? ce->message : "compile failed");
        }
        hs_free_compile_error(ce);
        *out = nullptr;
        return false;
    }
    return true;
}

std::string expand(const std::string& tmpl, const std::smatch& m) {
    std::string out;
    for (std::size_t i = 0; i < tmpl.size(); ++i) {
        if (tmpl[i] == '$' && i + 1 < tmpl.size() && tmpl[i + 1] >= '0' && tmpl[i + 1] <= '9') {
            const std::size_t g = std::size_t(tmpl[i + 1] - '0');
            if (g < m.size()) out += m[g].str();
            ++i;
        } else {
            out += tmpl[i];
        }
    }
    return out;
}

int on_match(unsigned id, unsigned long long, unsigned long long, unsigned, void* ctx) {
    *static_cast<uint32_t*>(ctx) |= 1u << id;
    return 0;
}

struct matched {
    std::vector<unsigned>* ids;
};

int on_attr_match(unsigned id, unsigned long long, unsigned long long, unsigned, void* ctx) {
    static_cast<matched*>(ctx)->ids->push_back(id);
    return 0;
}

}  // namespace

std::unique_ptr<database> database::build(rule_set rules, std::string* err, const std::vector<unsigned>& payload_bits) {
    std::unique_ptr<database> d(new database());
    d->_rules = std::move(rules);
    for (const rule& r : d->_rules.rules) {
        if (r.kind == rule_kind::payload) {
            d->_payload.push_back(&r);
            continue;
        }
        auto fl = std::regex::ECMAScript;
        if (r.flags & rule_flags::caseless) fl |= std::regex::icase;
        if (r.flags & rule_flags::multiline) fl |= std::regex::multiline;
        try {
            d->_attr_re.emplace_back(r.pattern, fl);
        } catch (const std::regex_error& e) {
            if (err != nullptr) *err = where(d->_rules, r) + "std::regex (captures): " + e.what();
            return nullptr;
        }
        d->_attr.push_back(&r);
    }
    if (!compile(d->_rules, d->_attr, &d->_attr_db, err)) return nullptr;
    if (!payload_bits.empty() && payload_bits.size() != d->_payload.size())
        throw std::invalid_argument("database::build: one bit per payload rule");
    for (std::size_t i = 0; i < d->_payload.size(); ++i)
        d->_payload_bits.push_back(payload_bits.empty() ? unsigned(i) : payload_bits[i]);
    if (!compile(d->_rules, d->_payload, &d->_payload_db, err, d->_payload_bits)) return nullptr;
    return d;
}

database::~database() {
    hs_free_database(_attr_db);
    hs_free_database(_payload_db);
}

hs_scratch* database::alloc_scratch() const {
    hs_scratch_t* s = nullptr;
    for (hs_database_t* db : {_attr_db, _payload_db}) {
        if (db != nullptr && hs_alloc_scratch(db, &s) != HS_SUCCESS) {
            hs_free_scratch(s);
            throw std::bad_alloc();
        }
    }
    return s;
}

std::vector<attribute> database::derive(std::string_view attr, std::string_view value, hs_scratch* s) const {
    std::vector<attribute> out;
    if (_attr_db == nullptr) return out;
    value = value.substr(0, k_max_derive_value);  // std::regex recursion bound (rules.hpp)
    std::vector<unsigned> ids;
    matched m{&ids};
    hs_scan(_attr_db, value.data(), unsigned(value.size()), 0, s, on_attr_match, &m);
    std::sort(ids.begin(), ids.end());  // rule order
    const std::string v(value);
    for (const unsigned id : ids) {
        const rule& r = *_attr[id];
        if (r.reads != attr) continue;
        std::smatch sm;
        // Hyperscan matched; std::regex finds the same match and its groups. It
        // can disagree only on a construct the two read differently: then no capture.
        if (!std::regex_search(v, sm, _attr_re[id])) continue;
        for (const auto& kv : r.set) {
            const std::string& k = kv.first;  // a named reference: clang 14 cannot capture a structured binding
            if (std::any_of(out.begin(), out.end(), [&](const attribute& a) { return a.key == k; })) continue;
            out.push_back({k, expand(kv.second, sm), r.name});
        }
    }
    return out;
}

uint32_t database::scan(const uint8_t* p, uint32_t n, hs_scratch* s) const noexcept {
    uint32_t tags = 0;
    if (_payload_db != nullptr) hs_scan(_payload_db, reinterpret_cast<const char*>(p), n, 0, s, on_match, &tags);
    return tags;
}

version::~version() {
    for (hs_scratch* s : scratch) hs_free_scratch(s);
}

live::live(unsigned readers, grace_period gp) : _readers(readers), _gp(std::move(gp)) {}

live::~live() {
    delete _cur.load(std::memory_order_relaxed);
}

bool live::reload(const std::string& path, std::string* err) {
    rule_set rs;
    if (!load_rules(path, rs, err)) {
        _counters.add(counter::reload_errors);
        return false;
    }
    return reload(std::move(rs), err);
}

// A payload rule keeps the bit its name had; a new name takes a bit no rule has had (the lowest), else the one
// whose rule left longest ago (labels.hpp). The first load: file order.
std::vector<unsigned> live::assign_bits(const rule_set& rules) const {
    std::vector<unsigned> bits;
    uint32_t taken = 0;
    std::vector<std::size_t> unassigned;
    for (const rule& r : rules.rules) {
        if (r.kind != rule_kind::payload) continue;
        const unsigned b = _labels.bit_of(r.name);
        if (b < signature_labels::k_bits) taken |= 1u << b;
        else unassigned.push_back(bits.size());
        bits.push_back(b);
    }
    // The free bit with the oldest generation, the lowest on a tie: a never-used bit (generation 0) first.
    for (const std::size_t i : unassigned) {  // at most 32 payload rules (rules.hpp): a free bit exists
        unsigned best = signature_labels::k_bits;
        for (unsigned b = 0; b < signature_labels::k_bits; ++b)
            if (!(taken & (1u << b)) && (best == signature_labels::k_bits || _bit_generation[b] < _bit_generation[best]))
                best = b;
        bits[i] = best;
        taken |= 1u << best;
    }
    return bits;
}

bool live::reload(rule_set rules, std::string* err) {
    auto v = std::make_unique<version>();
    const std::vector<unsigned> bits = assign_bits(rules);
    v->db = database::build(std::move(rules), err, bits);
    if (v->db == nullptr) {
        _counters.add(counter::reload_errors);
        return false;
    }
    try {
        for (unsigned i = 0; i < _readers; ++i) v->scratch.push_back(v->db->alloc_scratch());
    } catch (const std::bad_alloc&) {
        if (err != nullptr) *err = v->db->rules().file + ": out of memory for Hyperscan scratch";
        _counters.add(counter::reload_errors);
        return false;
    }
    v->generation = ++_generation;
    // The bits' names before the database that sets them is published.
    for (std::size_t i = 0; i < bits.size(); ++i) {
        const rule& r = *v->db->payload_rules()[i];
        _bit_generation[bits[i]] = v->generation;
        _labels.set(bits[i], r.name, r.tags);
    }
    version* old = _cur.exchange(v.release(), std::memory_order_acq_rel);
    _counters.add(counter::reloads);
    if (old != nullptr) {
        _retired.push_back({std::unique_ptr<version>(old), _gp.start()});
        _counters.add(counter::versions_retired);
    }
    return true;
}

std::size_t live::reclaim() {
    auto it = std::remove_if(_retired.begin(), _retired.end(), [&](retired& r) {
        if (!_gp.done(r.token)) return false;
        r.v.reset();
        _counters.add(counter::versions_freed);
        return true;
    });
    _retired.erase(it, _retired.end());
    return _retired.size();
}

}  // namespace sluice::enrich::classify
