// SPDX-License-Identifier: Apache-2.0
// Hand-written protobuf wire encoder of flow_record as sinks/proto/flow.proto's FlowMessage (goflow2's numbers
// where the meaning is the same). No libprotobuf at run time, no allocation per record, no virtual calls.
//
// Framings:
//   single     one FlowMessage per record, no length (a Kafka message carries exactly one: goflow2's framing)
//   delimited  varint(length) FlowMessage, repeated (protobuf's writeDelimitedTo / parseDelimitedFrom): a batch of
//              records in one Kafka message, or one file
// Zero-valued fields are omitted (proto3 semantics), except flow_id and flow_direction, which are always written.
// IPv4 addresses are 4 bytes, IPv6 16, absent when zero (goflow2's convention); MACs a big-endian u64.
//
// Enrichment (the overloads taking an `enrichment`, enriched.hpp): the members of the record's attribute sets
// (fields 1003-1055, named as Akvorado's columns: SrcNetName, InIfBoundary, ExporterSite, ...) and the matched
// prefixes, read from the interner's flat blobs (no allocation, no lock). A record with no ids and no matched
// prefix encodes byte for byte as the plain overload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "buffer.hpp"
#include "enriched.hpp"
#include "dataplane/decode/flow_record.hpp"

namespace sluice::sinks::encode {

// The largest single message (every field at its widest; tests/sinks/encode_test.cpp checks a maxed record).
constexpr std::size_t k_protobuf_max = 640;
// One delimited message: the length varint takes at most 2 bytes (k_protobuf_max < 2^14).
constexpr std::size_t k_protobuf_delimited_max = k_protobuf_max + 2;
static_assert(k_protobuf_max < (1u << 14));
// Enriched fields: at most this many bytes after the others (members that would not fit are left out whole, as
// the JSON's max_enriched_json); the whole message then fits a file line (file_writer::k_max_line, 8 KiB).
constexpr std::size_t k_protobuf_enrichment_budget = 3072;
constexpr std::size_t k_protobuf_enriched_max = k_protobuf_max + k_protobuf_enrichment_budget;
constexpr std::size_t k_protobuf_enriched_delimited_max = k_protobuf_enriched_max + 2;
static_assert(k_protobuf_enriched_max < (1u << 14));

// Writes one message at out (which has k_protobuf_max bytes); returns its length.
std::size_t protobuf_encode(const decode::flow_record& r, uint8_t* out) noexcept;
// Writes varint(length) + message at out (k_protobuf_delimited_max bytes); returns the bytes written.
std::size_t protobuf_encode_delimited(const decode::flow_record& r, uint8_t* out) noexcept;

// The same with the enriched fields; out has k_protobuf_enriched_max (k_protobuf_enriched_delimited_max) bytes.
std::size_t protobuf_encode(const decode::flow_record& r, const enrichment& e, uint8_t* out) noexcept;
std::size_t protobuf_encode_delimited(const decode::flow_record& r, const enrichment& e, uint8_t* out) noexcept;

// Appends one message (single framing); returns its length (the caller keeps the boundaries).
inline std::size_t protobuf_append(byte_buffer& b, const decode::flow_record& r) {
    const std::size_t n = protobuf_encode(r, b.reserve(k_protobuf_max));
    b.commit(n);
    return n;
}
// Appends a delimited batch: one reserve() for the whole batch, then no bounds checks per record.
void protobuf_append_delimited(byte_buffer& b, std::span<const decode::flow_record> recs);
inline std::size_t protobuf_append(byte_buffer& b, const decode::flow_record& r, const enrichment& e) {
    const std::size_t n = protobuf_encode(r, e, b.reserve(k_protobuf_enriched_max));
    b.commit(n);
    return n;
}
void protobuf_append_delimited(byte_buffer& b, std::span<const decode::flow_record> recs, const enrichment& e);

}  // namespace sluice::sinks::encode
