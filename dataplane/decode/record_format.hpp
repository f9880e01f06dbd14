// SPDX-License-Identifier: Apache-2.0
// Text renderings of flow_record: JSON lines (field names in docs/record.md,
// goflow2's where the meaning is the same) and an aligned table row.
// Both write into a caller buffer and never allocate, so the interim sink in
// sluiced and the offline sluice-decode produce byte-identical JSON.
#pragma once

#include <cstddef>
#include <string_view>

#include "flow_record.hpp"

namespace sluice::decode {

// Upper bound of one JSON line, newline excluded; buffers of this size never truncate.
constexpr std::size_t max_json_size = 1536;
constexpr std::size_t max_table_row_size = 512;

// One JSON object, no trailing newline. Returns bytes written, 0 when it
// does not fit in cap (nothing usable is written then). Fastest with
// cap >= max_json_size: no bounds checks per field, no libc calls.
std::size_t format_json(const flow_record& r, char* buf, std::size_t cap) noexcept;

// One aligned table row (no newline) and its header line.
std::size_t format_table_row(const flow_record& r, char* buf, std::size_t cap) noexcept;
std::string_view table_header() noexcept;

// "NETFLOW_V5", "NETFLOW_V9", "IPFIX", "SFLOW_5", "FLOWUNKNOWN" (goflow2's enum names).
std::string_view flow_type_name(flow_type t) noexcept;

// Dotted quad for IPv4-mapped addresses, RFC 5952 text for IPv6 (byte for
// byte what glibc's inet_ntop writes, tested against it), "" for zero.
// out must hold 46 bytes; NUL-terminated; returns length. No libc call.
std::size_t format_address(const uint8_t a[16], char* out) noexcept;

// "aa:bb:cc:dd:ee:ff" (lowercase). out must hold 18 bytes; NUL-terminated;
// returns length (17).
std::size_t format_mac(const uint8_t m[6], char* out) noexcept;

}  // namespace sluice::decode
