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

#include "buffer.hpp"
#include "dataplane/decode/flow_record.hpp"

namespace sluice::sinks::encode {

// Upper bound of one object, newline excluded (tests/sinks/encode_test.cpp checks a maxed record).
constexpr std::size_t k_ecs_json_max = 2048;

// Writes one JSON object (no newline) at out, which has k_ecs_json_max bytes; returns its length.
std::size_t ecs_json_encode(const decode::flow_record& r, char* out) noexcept;

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
