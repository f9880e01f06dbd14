// SPDX-License-Identifier: Apache-2.0
// Composition of the enrichment parts: the SNMP poller's interface names, aliases and speeds become interface rows
// of the table build, and the --rules attribute rules derive attributes from names and descriptions when the
// tables are built (the builder thread; never on a worker).
//
// The builder thread must not read the classifier versions the workers use (they are freed after the workers'
// grace period, which does not cover the builder): it uses its own compiled database, shared by shared_ptr and
// replaced when the rules file is reloaded (derive_rules_reloaded).
#include <hs/hs.h>

#include <cstring>
#include <mutex>

#include "control/daemon/daemon.hpp"
#include "enrich/classify/rules.hpp"

namespace sluice::control {

namespace {

// The attribute a rule's `reads` names, for a key of a row of table `where` ("" = none).
std::string_view attribute_of(enrich::derive_context where, uint16_t k) {
    using enrich::derive_context;
    using enrich::key;
    if (k == uint16_t(key::description)) return where == derive_context::interface ? "interface_description" : "";
    if (where == derive_context::prefix && k == uint16_t(key::as_name)) return "as_name";  // mmdb / ASN sets
    if (where == derive_context::prefix && k == uint16_t(key::city)) return "city";
    if (k != uint16_t(key::name)) return "";
    switch (where) {
    case derive_context::prefix: return "hostname";
    case derive_context::exporter: return "exporter_name";
    case derive_context::interface: return "interface_name";
    }
    return "";
}

int builtin_key(std::string_view name) {
    for (uint16_t k = 0; k < enrich::k_builtin_keys; ++k)
        if (enrich::builtin_key_name(enrich::key(k)) == name) return k;
    return -1;
}

}  // namespace

bool compile_derive_rules(daemon& d, std::string* err) {
    enrich::classify::rule_set rules;
    if (!enrich::classify::load_rules(d.opt.rules, rules, err)) return false;
    std::shared_ptr<const enrich::classify::database> db = enrich::classify::database::build(std::move(rules), err);
    if (!db) return false;
    std::lock_guard g(d.derive.mu);
    d.derive.db = std::move(db);
    return true;
}

void wire_enrich_sources(daemon& d) {
    enrich::build_config& bc = d.opt.enrich;
    if (!d.opt.rules.empty()) {
        std::string err;
        if (!compile_derive_rules(d, &err)) throw std::runtime_error("--rules: " + err);
        bc.derive = [&d](enrich::derive_context where, const enrich::attr_set& given, enrich::set_builder& add) {
            std::shared_ptr<const enrich::classify::database> db;
            {
                std::lock_guard g(d.derive.mu);
                db = d.derive.db;
            }
            if (!db) return;
            // One scratch per builder thread, reallocated when the database changes.
            thread_local const enrich::classify::database* for_db = nullptr;
            thread_local hs_scratch* scratch = nullptr;
            if (for_db != db.get()) {
                if (scratch) hs_free_scratch(scratch);
                scratch = db->alloc_scratch();
                for_db = db.get();
            }
            for (const auto& [k, v] : given.kv) {
                const std::string_view attr = attribute_of(where, k);
                if (attr.empty()) continue;
                for (const auto& a : db->derive(attr, v, scratch)) {
                    const int id = builtin_key(a.key);
                    if (id >= 0) add.put(uint16_t(id), a.value);
                }
            }
        };
    }
    if (!d.opt.snmp.agents.empty()) {
        bc.extra_interfaces = [&d]() {
            std::vector<enrich::interface_row> rows;
            if (!d.snmp) return rows;
            const std::shared_ptr<const enrich::snmp::snapshot> s = d.snmp->current();
            if (!s) return rows;
            for (const auto& i : s->interfaces) {
                enrich::set_builder b;
                if (i.have & enrich::snmp::have::name) b.put(enrich::key::name, i.name);
                if (i.have & enrich::snmp::have::alias) b.put(enrich::key::description, i.alias);
                if (i.have & enrich::snmp::have::speed) b.put(enrich::key::speed, std::to_string(i.speed_mbps));
                enrich::interface_row r;
                r.exporter = enrich::to_u128(i.exporter.data());
                r.ifindex = i.ifindex;
                r.attrs = b.take();
                if (!r.attrs.kv.empty()) rows.push_back(std::move(r));
            }
            return rows;
        };
    }
}

void wire_group_filter(daemon& d) {
    // The outputs' `group==NAME` filter terms read the exporter's group through the interner, which outlives the
    // sink cores (daemon.hpp's declaration order) and never frees a set: safe from any core without RCU.
    if (!d.enrich_interner) return;
    sinks::set_group_lookup(
        [](const void* ctx, uint32_t id) noexcept -> std::string_view {
            const enrich::attr_set* set = static_cast<const enrich::interner*>(ctx)->get(id);
            const std::string* g = set ? set->get(uint16_t(enrich::key::group)) : nullptr;
            return g ? std::string_view(*g) : std::string_view();
        },
        d.enrich_interner.get());
}

void wire_tag_filter(daemon& d) {
    // The outputs' `tag==NAME` terms read the payload rules' names and tags from the classifier's labels, which
    // never free a label while the classifier lives (enrich/classify/labels.hpp), and the sink cores stop first.
    if (!d.classifier) return;
    sinks::set_tag_lookup(
        [](const void* ctx, uint32_t tags, std::string_view name) noexcept {
            return static_cast<const enrich::classify::signature_labels*>(ctx)->matches(tags, name);
        },
        &d.classifier->labels());
}

void enrich_tick(daemon& d) {
    // A new SNMP snapshot (names, aliases, speeds) is a new source version: rebuild the tables.
    if (!d.enrich || !d.snmp) return;
    const std::shared_ptr<const enrich::snmp::snapshot> s = d.snmp->current();
    if (s && s->generation != d.derive.snmp_generation) {
        d.derive.snmp_generation = s->generation;
        d.enrich->request_reload();
    }
}

}  // namespace sluice::control
