// SPDX-License-Identifier: Apache-2.0
// JSON of flow_record with Elastic Common Schema names (source.ip, destination.port, network.transport,
// observer.ip, event.id = the flow id, ...); what ECS has no field for lives under `sluice.*`. Every field, its
// ECS type and the Elasticsearch mapping: docs/schema.md and sinks/elasticsearch/.
//
// Nested objects ({"source":{"ip":...}}), not dotted keys, so Logstash field references ([event][id]) and
// Elasticsearch both read them. Times are RFC 3339 UTC with nanoseconds. Written unchecked into a buffer of
// k_ecs_json_max bytes: no allocation, no libc call, no virtual call per record.
//
// Framings: one object per record (one Kafka message each), or newline-delimited (NDJSON) batches / files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "buffer.hpp"
#include "dataplane/decode/flow_record.hpp"

namespace sluice::sinks::encode {

// Upper bound of one object, newline excluded (tests/sinks/encode_test.cpp checks a maxed record).
constexpr std::size_t k_ecs_json_max = 2048;

// Writes one JSON object (no newline) at out, which has k_ecs_json_max bytes; returns its length.
std::size_t ecs_json_encode(const decode::flow_record& r, char* out) noexcept;

// The enrichment's members of one record, rendered by enrich/tables/resolve.hpp (member_cache::ecs): each string
// a run of members that each start with ',' (empty = none), placed into its object by the encoder:
//   src.geo        into source (,"geo":{...})          src.as_org  into source.as (,"organization":{"name":..})
//   src.asn        source.as.number (0 = none: the exporter's src_as stays; else src_as moves to sluice.src_as)
//   src.net        into sluice.src.net                 src.prefix  sluice.src.net.prefix ("10.1.0.0/16", unquoted)
//   observer       into observer (,"name":..)          exporter    into sluice.exporter
//   in_if / out_if into observer.ingress/egress.interface (,"name":..,"alias":..)
//   in_if_sluice / out_if_sluice into sluice.in_if / sluice.out_if
// The strings (prefixes excepted) take at most k_ecs_enriched_room bytes together; the encoder's own wrappers of
// them at most 384 more (tests/sinks/ecs_enriched_test.cpp checks a maxed record).
struct ecs_enrichment {
    struct side {
        std::string_view geo, as_org, net, prefix;
        uint64_t asn = 0;
    };
    side src, dst;
    std::string_view observer, exporter, in_if, out_if, in_if_sluice, out_if_sluice;
};
constexpr std::size_t k_ecs_enriched_room = 1536;
constexpr std::size_t k_ecs_json_max_enriched = k_ecs_json_max + k_ecs_enriched_room + 384;

// The same with the enriched members; out has k_ecs_json_max_enriched bytes.
std::size_t ecs_json_encode(const decode::flow_record& r, char* out, const ecs_enrichment& e) noexcept;

// Appends one object without a newline; returns its length.
inline std::size_t ecs_json_append(byte_buffer& b, const decode::flow_record& r) {
    const std::size_t n = ecs_json_encode(r, reinterpret_cast<char*>(b.reserve(k_ecs_json_max)));
    b.commit(n);
    return n;
}
// Appends one line per record (object + '\n'): one reserve() for the batch.
void ecs_json_append_lines(byte_buffer& b, std::span<const decode::flow_record> recs);

// RFC 3339 UTC with 9 fraction digits, "1970-01-01T00:00:00.000000000Z" (30 chars) at out; returns 30.
std::size_t format_rfc3339_ns(uint64_t unix_ns, char* out) noexcept;

}  // namespace sluice::sinks::encode
