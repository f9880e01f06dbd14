// SPDX-License-Identifier: Apache-2.0
// Prefix sources read at table-build time: inventory files (JSON, NDJSON, CSV), MaxMind .mmdb files,
// static prefixes. Each yields a `prefix_source`: (prefix, attribute set id) rows for the LPM merge.
//
// Inventory rows name their addresses with one of:
//   "prefix": "10.1.0.0/16" | "address": "10.1.2.3" | "first": "10.0.0.5", "last": "10.0.0.20"
//   | "range": "10.0.0.5-10.0.0.20"
// (inclusive ranges are split into the prefixes that cover them exactly); every other column or member is
// an attribute key: a built-in one (attrs.hpp: name, kind, service, team, role, site, region, tenant,
// country, city, asn, as_name, ...) or a custom key declared in the config. An undeclared key is a bad line.
//
// Errors: every bad line is reported as "FILE:LINE: reason" (the first k_max_reported of a file) and
// counted; a source with a bad line, or that cannot be read or parsed, fails, and the build keeps the
// previous table (tables.hpp). Nothing here touches DPDK or the data path: the builder thread runs it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "enrich/attrs/attrs.hpp"
#include "enrich/lpm/lpm.hpp"

namespace sluice::enrich {

enum class file_format : uint8_t { auto_detect, json, ndjson, csv };

struct source_report {
    std::string file;
    uint64_t rows = 0;        // rows accepted
    uint64_t prefixes = 0;    // prefixes they produced (ranges split)
    uint64_t bad_lines = 0;
    std::vector<std::string> errors;  // "FILE:LINE: reason", at most k_max_reported
    std::string fatal;                // non-empty: the source failed as a whole (unreadable, syntax)
    static constexpr std::size_t k_max_reported = 20;  // enough to see the pattern of a bad export
    bool ok() const noexcept { return fatal.empty() && bad_lines == 0; }
    void bad(uint64_t line, const std::string& reason);
};

struct inventory_options {
    file_format format = file_format::auto_detect;  // auto: by extension (.json, .ndjson/.jsonl, .csv)
    // CSV without a header line: the column names in order (e.g. "first,last,asn,as_name" for
    // ip-location-db's asn-ipv4.csv). Empty: the first line is the header.
    std::vector<std::string> columns;
};

// One column / member of a row.
struct field {
    std::string_view name;
    std::string_view value;
};

// Derives attributes from a set's string attributes at build time (the classifier's entry point, enrich/classify):
// called with the table the row is for and the fields it gave; what it puts into `add` fills keys the row did not
// give (explicit wins). For prefix sources (inventory files, mmdb files) it is called once per distinct set a
// source gives, not once per row or network, on the builder's thread; it must be a pure function of
// (where, given). Static prefixes are not derived.
enum class derive_context : uint8_t { prefix, exporter, interface };
using deriver = std::function<void(derive_context where, const attr_set& given, set_builder& add)>;

// Reads any inventory-format file as rows: calls `row(line, fields)` per row; bad lines and fatal errors go to
// `rep` (rep.file must be set). For the exporter and interface tables, which have their own columns.
void read_rows(const std::string& path, const inventory_options& opt, source_report& rep,
               const std::function<void(uint64_t, const std::vector<field>&)>& row);

struct prefix_source {
    std::vector<prefix> prefixes;  // value = interned set id
    source_report report;
};

// A source read without the interner (so that the builder reads its sources in parallel threads): the
// prefixes' values are ids into the source's own `sets` (dense, in order of first appearance), interned
// afterwards in source order by intern_sets, which keeps the interner's ids the same from run to run.
struct local_source {
    std::vector<prefix> prefixes;  // value = id in sets (1..sets.size())
    set_table sets;
    source_report report;
};
local_source read_inventory(const std::string& path, const inventory_options& opt, const key_registry& keys);
local_source read_static(const std::vector<std::string>& specs, const key_registry& keys);

// Interns the sets of `s` in id order (each derived first when `derive` is set, once per distinct set) and
// returns local id -> interner id (index 0 -> 0). On a full interner: sets s.report.fatal.
std::vector<uint32_t> intern_sets(local_source& s, interner& in, const deriver* derive, derive_context where);
// Rewrites prefix values through the map intern_sets returned.
void remap(std::vector<prefix>& ps, const std::vector<uint32_t>& ids) noexcept;
// The same for a source flattened on its local ids (the builder flattens in the reader threads): neighbours
// that become equal (a deriver can make two local sets one) coalesce, so the list is flatten()'s of the
// remapped prefixes.
void remap(std::vector<interval>& list, const std::vector<uint32_t>& ids) noexcept;

// Reads one inventory file. Never throws on bad content (it is reported); throws only on allocation failure.
// (read_inventory + intern_sets + remap.)
prefix_source load_inventory(const std::string& path, const inventory_options& opt, const key_registry& keys,
                             interner& in, const deriver* derive = nullptr);

// Static prefixes: "PREFIX=key:value,key:value" (the --enrich-prefix syntax). Reported as file "static".
prefix_source load_static(const std::vector<std::string>& specs, const key_registry& keys, interner& in);

// Field paths of an mmdb source: one path per key, each a list of map keys, e.g. country -> {"country",
// "iso_code"}. The defaults are MaxMind's nested layout; ip_location_db() is ip-location-db's flat one.
struct mmdb_layout {
    std::vector<std::pair<key, std::vector<std::string>>> paths;
    static mmdb_layout maxmind();
    static mmdb_layout ip_location_db();
};

// Walks every network of an .mmdb file (City, Country or ASN) and flattens it into prefixes whose sets hold
// the layout's fields. IPv4 networks of an IPv6 database come out IPv4-mapped, once (the ::ffff:0:0/96 and
// 2002::/16 aliases of its IPv4 subtree are skipped). The prefixes come out in address order, disjoint.
// Networks whose record has none of the layout's fields give no prefix. `derive` (derive_context::prefix)
// is applied once per distinct set (e.g. a rule on as_name or city), like an inventory row's.
local_source read_mmdb(const std::string& path, const mmdb_layout& layout);
prefix_source load_mmdb(const std::string& path, const mmdb_layout& layout, interner& in,
                        const deriver* derive = nullptr);

}  // namespace sluice::enrich
