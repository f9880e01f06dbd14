// SPDX-License-Identifier: Apache-2.0
// One enrichment table version (prefixes, exporters, interfaces), its builder, and the per-record lookup.
//
// A version is immutable once built. The builder (a control-plane thread) reads every source, merges them
// and returns a new version; the control core publishes it with one atomic pointer swap (enrich/rcu/
// publisher, in control/) and frees the old one after a grace period of the readers. Every string a
// version references lives in the interner (attrs.hpp), which outlives all versions: a record stamped
// with ids under version V is resolved to the same strings after V is freed.
//
//   sources ──builder::build()──► table_version (owns its lpm4/lpm6/exporter/interface arrays)
//                                   │ borrowed by workers between two quiescent states
//                                   ▼
//   record ──enrich_records()──► src/dst/exporter/in_if/out_if attr ids (+ src/dst matched prefix lengths)
//                                   ──(sink)──► interner ──► strings
//
// Precedence (per field, highest first): static prefixes (--enrich-prefix), inventory files in the order
// given, mmdb files in the order given. The per-address answer is the longest matching prefix of EACH
// source, merged field by field in that order: an inventory /32 that names a host does not hide the City
// database's country for that address, and a static prefix's role beats the inventory's.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/decode/flow_record.hpp"
#include "enrich/attrs/attrs.hpp"
#include "enrich/lpm/lpm.hpp"
#include "enrich/sources/inventory.hpp"

namespace sluice::enrich {

struct inventory_spec {
    std::string path;
    inventory_options opt;
};
struct mmdb_spec {
    std::string path;
    mmdb_layout layout = mmdb_layout::maxmind();
};

// An interface entry from a source other than the interface file (the SNMP poller, enrich/snmp): merged
// under the file's entries, the file winning per field.
struct interface_row {
    u128 exporter;      // IPv4-mapped for IPv4
    uint32_t ifindex;
    attr_set attrs;     // name, description, speed, boundary, connectivity, provider
};

struct build_config {
    std::vector<std::string> static_prefixes;   // "PREFIX=key:value,..."
    std::vector<inventory_spec> inventories;
    std::vector<mmdb_spec> mmdbs;
    std::string exporters_file;                  // empty: none
    inventory_options exporters_opt;
    std::string interfaces_file;                 // empty: none
    inventory_options interfaces_opt;
    std::vector<std::string> custom_keys;        // declared before the first build
    // Entry points for enrich/snmp and enrich/classify (set by control/ at composition):
    std::function<std::vector<interface_row>()> extra_interfaces;  // called once per build
    deriver derive;  // applied to every inventory, mmdb, exporter and interface set (not static prefixes)
    // Threads of a build, the calling one included; 0 = the CPUs, at most 4: they read and flatten the prefix
    // sources, sweep the merge's address ranges and make the new sets' strings. The interner's ids do not
    // depend on it (the sources' sets are interned in precedence order, the ranges' new sets range after range
    // in address order).
    unsigned threads = 0;
    // The CPUs the threads a build starts run on (pthread_setaffinity_np; the calling thread keeps its own),
    // and with threads = 0 their number sets the threads (at most 4). Empty: they inherit the caller's affinity
    // and threads = 0 is the machine's CPUs. control/ sets it: a thread made after rte_eal_init inherits the main
    // lcore's one CPU, which made sluiced's first build of the real data single-threaded (5 s instead of 2).
    std::vector<unsigned> cpus;
    // Every file the build reads (for the change check), in order.
    std::vector<std::string> files() const;
};

struct exporter_entry {
    uint32_t attr_id = 0;
    uint32_t sampling_rate = 0;  // 0 = none
    bool force = false;          // true: replaces the exported rate of every exporter the entry is the longest
                                 // match of (address or subnet), through the decoder's per-exporter override
                                 // (publisher::send_overrides, the mailbox); false: used only when the
                                 // exporter reports no rate (enrich_records)
    u128 address = 0;            // the entry's address or subnet (masked to prefix_len)
    uint8_t prefix_len = 128;    // 0..128 over the 16-byte form (IPv4-mapped a.b.c.d/N: 96 + N)
    bool host = false;           // prefix_len == 128
};

struct build_stats {
    uint64_t prefixes = 0;       // after range splitting, all sources
    uint64_t intervals_v4 = 0;
    uint64_t intervals_v6 = 0;
    uint64_t exporters = 0;
    uint64_t interfaces = 0;
    uint64_t bytes = 0;          // the version's arrays
    uint64_t build_ns = 0;
    uint64_t load_ns = 0;     // reading and flattening every source (parse, split, per-source LPM to intervals
                              // on local ids; in parallel threads), interning their sets, exporters, interfaces
    uint64_t flatten_ns = 0;  // the flattened sources' local ids replaced by the interner's (in parallel threads)
    uint64_t merge_ns = 0;    // the sources merged (the address ranges swept in parallel threads, their new
                              // combined sets interned in order, the ranges joined)
    uint64_t tables_ns = 0;   // lpm4 + lpm6 + exporters + interfaces, and the wait for the new sets' strings
                              // (made in the background meanwhile: interner::publish)
    uint32_t interned_sets = 0;  // interner size after the build
    uint32_t source_sets = 0;    // the prefix sources' distinct sets, summed over the sources (before the merge)
    uint64_t merge_tuples = 0;   // distinct combinations of the sources' sets the merge met (one combine each),
                                 // summed over the address ranges (a combination met in two ranges counts twice)
    unsigned threads = 0;        // the most threads one parallel phase ran on (read, flatten, merge: at most one a
                                 // source or address range, so a build of one small source runs on one)
    unsigned cpus = 0;           // CPUs the phases' threads could run on, together (build_config::cpus at work)
};

namespace detail {
// The interface table's hash of (exporter, ifIndex): the builder (tables.cpp) and the lookup (lookup.cpp).
// In two parts so that the lookup hashes a record's exporter once for both of its interfaces.
inline uint64_t if_hash_exporter(u128 e) noexcept {
    return (static_cast<uint64_t>(e) * 0x9E3779B97F4A7C15ull) ^ (static_cast<uint64_t>(e >> 64) * 0xC2B2AE3D27D4EB4Full);
}
inline uint64_t if_hash_finish(uint64_t he, uint32_t ifindex) noexcept {
    const uint64_t h = he ^ ((uint64_t(ifindex) + 0x165667B19E3779F9ull) * 0xFF51AFD7ED558CCDull);
    return h ^ (h >> 29);
}
inline uint64_t if_hash(u128 e, uint32_t ifindex) noexcept { return if_hash_finish(if_hash_exporter(e), ifindex); }
}  // namespace detail

class table_version {
public:
    // Values of the labels for interfaces that are not ifIndexes (interned once per interner).
    struct labels {
        uint32_t local = 0;      // sFlow 0x3FFFFFFF: the device itself
        uint32_t none = 0;       // ifIndex 0
        uint32_t discarded = 0;  // sFlow output format 1
        uint32_t multiple = 0;   // sFlow output format 2
    };

    uint64_t version = 0;  // 1, 2, ... per builder
    lpm4 v4;
    lpm6 v6;  // every address but the IPv4-mapped ones, which v4 answers (v6 holds none: it answers 0 there)
    lpm6 exporters;                         // value = index + 1 into exporter_entries
    std::vector<exporter_entry> exporter_entries;
    // Interfaces: open addressing, power-of-two slots, key = (exporter, ifIndex).
    struct if_slot {
        u128 exporter;
        uint32_t ifindex;
        uint32_t attr_id;  // 0 = empty slot
    };
    std::vector<if_slot> interfaces;
    uint64_t if_mask = 0;
    // The interfaces again, per exporter and dense by ifIndex, for enrich_records (index_interfaces): an
    // exporter's ifIndexes below `len` are an array lookup (0 = none), the rest (sparse: past the first
    // ifIndex where the exporter's entries get sparser than 1 in 16) probe `interfaces`. An exporter not in
    // `if_dense_of` has no interfaces at all, and its records skip the probes.
    struct if_dense_ref {
        u128 exporter;
        uint32_t off = 0;      // into if_dense
        uint32_t len = 0;      // ifIndexes 0..len-1 are in if_dense[off ..]
        uint32_t rest = 0;     // entries with ifIndex >= len (then probe `interfaces`)
        uint32_t present = 0;  // 0 = empty slot
    };
    std::vector<if_dense_ref> if_dense_of;  // open addressing by detail::if_hash_exporter, power of two
    uint64_t if_dense_mask = 0;
    std::vector<uint32_t> if_dense;
    labels label;
    build_stats stats;
    bool has_interfaces = false;

    // An address's attribute set and matched prefix, from one lookup. match follows flow_record's
    // src_net_match: the family's prefix length + 1 (IPv4 1..33, IPv6 1..129), 0 = no prefix matched.
    struct address_answer {
        uint32_t attr_id = 0;
        uint8_t match = 0;
    };
    address_answer address(const uint8_t a[16]) const noexcept {
        if (decode::is_zero_address(a)) return {};
        const uint32_t w =
            decode::is_ipv4_mapped(a)
                ? v4.lookup_word((uint32_t(a[12]) << 24) | (uint32_t(a[13]) << 16) | (uint32_t(a[14]) << 8) | a[15])
                : v6.lookup_word(to_u128(a));
        return {lpm_value(w), lpm_match(w)};
    }
    uint32_t address_attr(const uint8_t a[16]) const noexcept { return address(a).attr_id; }
    uint8_t address_match(const uint8_t a[16]) const noexcept { return address(a).match; }
    // The matched prefix as text ("10.1.0.0/16", "2001:db8::/32") for a match of `a` (not 0); control plane.
    static std::string matched_prefix(const uint8_t a[16], uint8_t match) {
        const bool v4 = decode::is_ipv4_mapped(a);
        const unsigned len = (v4 ? 96u : 0u) + (match ? match - 1u : 0u);
        const u128 k = to_u128(a) & (len == 0 ? u128(0) : ~u128(0) << (128 - std::min(len, 128u)));
        return prefix_text(k, static_cast<uint8_t>(std::min(len, 128u)));
    }
    const exporter_entry* exporter(const uint8_t a[16]) const noexcept {
        const uint32_t v = exporters.lookup(to_u128(a));
        return v ? &exporter_entries[v - 1] : nullptr;
    }
    uint32_t interface_attr(u128 exporter, uint32_t ifindex) const noexcept;
    // Builds if_dense_of / if_dense from `interfaces` (the builder, after filling them; lookup.cpp).
    void index_interfaces();
};

// The interface label a record gets for (format, value) when it names no ifIndex, else 0.
uint32_t interface_label(const table_version& t, decode::if_format f, uint32_t value) noexcept;

// Sets the five *_attr_id fields and src_net_match / dst_net_match of n records (and the non-forced exporter
// sampling rate where the record has none). Batched per 32 records: the IPv4 source and destination tbl24
// lines are prefetched first, the exporter and interface lookups run while those misses are in flight, then
// lpm4::lookup_bulk resolves them. No allocation, no lock.
void enrich_records(const table_version& t, decode::flow_record* r, unsigned n) noexcept;

class builder {
public:
    explicit builder(interner& in);
    // Builds a version from every source. Returns nullptr and fills `errors` (each "FILE:LINE: reason" or
    // "FILE: reason") and `reason` (read | invalid | interner_full) when any source fails: the caller
    // keeps the previous version.
    std::unique_ptr<table_version> build(const build_config& cfg, std::vector<std::string>& errors,
                                         std::string& reason);
    const key_registry& keys() const noexcept { return _keys; }
    key_registry& keys() noexcept { return _keys; }

private:
    interner& _in;
    key_registry _keys;
    uint64_t _next_version = 1;
    table_version::labels _labels;
};

}  // namespace sluice::enrich
