// SPDX-License-Identifier: Apache-2.0
// Resolves a record's interned attribute ids to the members the sink's encoders write: the `json` format's
// members with Akvorado's column names, and the ECS JSON format's parts (docs/record.md, docs/schema.md).
//
// Runs on the sink core, after the base encoder: the ids were set by the worker under some table version; the
// strings are the interner's, which never frees a set while the process runs (attrs.hpp), so this needs no
// table version at all and no RCU read section. A field the record has no value for is absent.
//
// Two ways to resolve:
//   append_enriched(interner, names, ...)   renders every set's members from the interner's blob, each time;
//   member_cache (one per sink core and format)  renders each (set, scope) once into a per-core arena and copies
//                                           the rendered bytes afterwards; the stage prefetches its index and
//                                           arena lines records ahead (prefetch_index / prefetch_data).
// Both write the same bytes (tests/sinks/ecs_enriched_test.cpp): a member is written when its exact size fits the
// room left (max_enriched_json), else left out whole; a cached set that does not fit whole, or that passed
// k_fragment_max when rendered, is rendered member by member (the first way) in the rare line that needs it.
//
//   sink core ──id──► index bucket (4 entries, one cache line; hash of id and scope)
//                        ├─ hit ──► arena[pos] rendered bytes ──memcpy──► line
//                        └─ miss ─► interner.flat(id) ──render──► arena head (a ring: the oldest bytes go) ──► line
//
// The cache is the sink core's own: no lock, no atomic; allocated once, at construction (never on the sink's path).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/decode/flow_record.hpp"
#include "enrich/attrs/attrs.hpp"

namespace sluice::enrich {

// Room the enriched members may take after the base JSON object; members that do not fit are left out
// (whole members, never cut). 2,500 bytes holds every built-in field of all five scopes at typical
// lengths; the sink's line limit is 4 KiB (sinks/file/file.hpp) and the base object at most 1,536.
constexpr std::size_t max_enriched_json = 2500;

// Room of the ECS parts of one record (the sum of every string in ecs_parts but the prefixes): the ECS object
// is at most 2,048 bytes (sinks/encode/ecs_json.hpp), its wrappers of these parts at most 384 (k_ecs_json_max_enriched).
constexpr std::size_t max_enriched_ecs = 1536;

// "10.1.0.0/16", "2001:db8::/32": `addr` masked to match - 1 bits. 0 (nothing written) when match is 0 or past
// the address family (IPv4-mapped: 1..33, IPv6: 1..129). out has max_net_prefix bytes.
constexpr std::size_t max_net_prefix = 48;
std::size_t format_net_prefix(const uint8_t addr[16], uint8_t match, char* out) noexcept;

class json_names {
public:
    // The member names of every key (built-in and custom) in each scope, from the registry as it is now:
    // make it after the first build (custom keys are all declared then).
    explicit json_names(const key_registry& keys);
    enum scope : uint8_t { src, dst, exporter, in_if, out_if, scope_count };
    const std::string& name(scope s, uint16_t k) const noexcept { return _names[s][k]; }
    // The ECS JSON name of a key in the sluice.* objects: "\"service\":", custom keys as declared (escaped).
    const std::string& ecs_name(uint16_t k) const noexcept { return _ecs[k]; }
    bool numeric(uint16_t k) const noexcept { return k == uint16_t(key::asn) || k == uint16_t(key::speed); }
    std::size_t keys() const noexcept { return _names[0].size(); }

private:
    std::vector<std::string> _names[scope_count];  // "\"SrcNetName\":"
    std::vector<std::string> _ecs;                 // "\"name\":"
};

// `json` holds one object of `len` bytes ending in '}'; appends the record's enriched members before the
// brace, and SrcNetPrefix / DstNetPrefix (after the Src / Dst members) when the record has a matched prefix.
// Renders every set from the interner's blob (no cache: tests, benchmarks, a sink without a member_cache).
// Returns the new length (len when the record has no ids and no match). cap >= len + max_enriched_json.
std::size_t append_enriched(const interner& in, const json_names& names, const decode::flow_record& r, char* json,
                            std::size_t len) noexcept;

// The ECS JSON parts of a record's sets (sinks/encode/ecs_json.hpp's ecs_enrichment takes them). Every string is
// a run of members, each starting with ',' (empty: none); the encoder places each into its object.
struct ecs_parts {
    struct side {
        std::string_view geo;     // ,"geo":{"country_iso_code":..,"region_iso_code"|"region_name":..,"city_name":..}
        std::string_view as_org;  // ,"organization":{"name":..}   (inside source.as)
        std::string_view net;     // members of sluice.src.net / sluice.dst.net: ,"name":..,"role":..,custom keys
        uint64_t asn = 0;         // the tables' AS number (0 = none): source.as.number
        std::string_view prefix;  // "10.1.0.0/16" (no quotes; empty = no match): sluice.src.net.prefix
        char prefix_buf[max_net_prefix];
    };
    side src, dst;
    std::string_view observer;             // ,"name":..[,"geo":{..}]  (inside observer)
    std::string_view exporter;             // members of sluice.exporter: ,"group":..,"role":..
    std::string_view in_if, out_if;        // ,"name":..,"alias":..   (inside observer.ingress/egress.interface)
    std::string_view in_if_sluice, out_if_sluice;  // members of sluice.in_if / sluice.out_if: ,"speed":N,"boundary":..
};

class member_cache {
public:
    enum class style : uint8_t { json, ecs };
    static constexpr std::size_t k_default_arena = std::size_t(16) << 20;  // 16 MiB of rendered sets
    static constexpr unsigned k_default_bucket_bits = 15;                   // 32 Ki buckets x 4 entries (2 MiB)
    // Largest rendering of one (set, scope) kept; a set past it renders member by member each time.
    static constexpr std::size_t k_fragment_max = 1024;

    struct counts {
        uint64_t hits = 0;      // (set, scope) found rendered
        uint64_t fills = 0;     // rendered into the arena
        uint64_t oversize = 0;  // renderings past k_fragment_max (json: rendered from the blob each time)
    };

    // `in` and `names` outlive the cache. arena_bytes >= 1 MiB; bucket_bits in 8..24.
    member_cache(const interner& in, const json_names& names, style s, std::size_t arena_bytes = k_default_arena,
                 unsigned bucket_bits = k_default_bucket_bits);
    member_cache(const member_cache&) = delete;
    member_cache& operator=(const member_cache&) = delete;

    // style json: the same as append_enriched(in, names, r, json, len).
    std::size_t append_json(const decode::flow_record& r, char* json, std::size_t len) noexcept;
    // style ecs: the record's parts (views into the arena and into `out`: valid until the next call).
    // Scopes in the order src, dst, exporter, in_if, out_if; one whose parts do not fit the room left
    // (max_enriched_ecs) is left out whole.
    void ecs(const decode::flow_record& r, ecs_parts& out) noexcept;

    // The three stages of the look-ahead: the index lines of a record's ids (no load); once they are in, the
    // arena lines of the hits and the interner's pointer slots of the misses; once those are in, the misses'
    // blobs. The stage calls them for records 3, 2 and 1 ahead.
    void prefetch_index(const decode::flow_record& r) const noexcept;
    void prefetch_data(const decode::flow_record& r) const noexcept;
    void prefetch_blobs(const decode::flow_record& r) const noexcept;

    const counts& stats() const noexcept { return _counts; }
    style kind() const noexcept { return _style; }

private:
    struct entry {
        uint32_t key;    // id << 3 | scope + 1 (0 = empty)
        uint16_t len;    // payload bytes after the 16-byte header
        uint8_t flags;   // k_oversize
        uint8_t pad;
        uint64_t pos;    // arena position (monotonic) of the header
    };
    struct alignas(64) bucket {
        entry e[4];
    };
    static constexpr uint8_t k_oversize = 1;
    // One cached rendering: the header in the arena is u64 asn, u16 part lengths[4], then the parts.
    struct view {
        const char* data = nullptr;  // the first part
        uint16_t part[4] = {0, 0, 0, 0};
        uint64_t asn = 0;
        bool oversize = false;
        bool found = false;  // false: no set for the id
    };

    // A record's fills advance the head by at most k_reserve (5 scopes, each a wrap skip and a rendering): an
    // entry this close to being overwritten counts as gone, so that the views one record takes stay intact.
    static constexpr std::size_t k_slot_max = 16 + k_fragment_max + 64;
    static constexpr std::size_t k_reserve = 5 * 2 * k_slot_max;

    unsigned scope_key(unsigned scope) const noexcept {  // ecs: src/dst share, in/out share
        if (_style == style::json) return scope;
        return scope <= 1 ? 0 : scope == 2 ? 2 : 3;
    }
    const bucket* bucket_of(uint32_t id, unsigned sk) const noexcept {
        const uint32_t h = (id * 0x9E3779B1u) ^ (sk * 0x85EBCA6Bu);
        return &_buckets[(h * 0xC2B2AE35u) >> (32 - _bucket_bits)];
    }
    bool valid(const entry& e) const noexcept { return e.key != 0 && e.pos + _arena_size >= _head + k_reserve; }
    const entry* find(uint32_t id, unsigned sk) const noexcept {
        const uint32_t key = (id << 3) | (sk + 1);
        const bucket* b = bucket_of(id, sk);
        for (const entry& e : b->e)
            if (e.key == key && valid(e)) return &e;
        return nullptr;
    }
    view get(unsigned scope, uint32_t id) noexcept;

    const interner& _in;
    const json_names& _names;
    style _style;
    std::size_t _arena_size;
    unsigned _bucket_bits;
    std::unique_ptr<char[]> _arena_owned;
    char* _arena;
    std::unique_ptr<bucket[]> _buckets;
    uint64_t _head = 0;
    counts _counts;
};

}  // namespace sluice::enrich
