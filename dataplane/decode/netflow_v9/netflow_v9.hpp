// SPDX-License-Identifier: Apache-2.0
// NetFlow v9 wire layout (RFC 3954): a 20-byte header, then flowsets
// (id 0 templates, id 1 options templates, >= 256 data). decode_netflow_v9()
// is declared in ../decoder.hpp; templates live in ../template/.
#pragma once

#include <cstdint>

namespace sluice::decode::netflow_v9 {

constexpr uint32_t header_size = 20;
constexpr uint32_t flowset_header_size = 4;
constexpr uint16_t template_flowset_id = 0;
constexpr uint16_t options_template_flowset_id = 1;
constexpr uint16_t min_data_flowset_id = 256;

// Header offsets.
constexpr uint32_t off_count = 2, off_sys_uptime = 4, off_unix_secs = 8, off_sequence = 12, off_source_id = 16;

// Template record: id, field count, then (type, length) pairs.
constexpr uint32_t template_header_size = 4;
// Options template record: id, scope length (bytes), option length (bytes),
// then (type, length) pairs: scope fields first.
constexpr uint32_t options_header_size = 6;
constexpr uint32_t field_spec_size = 4;

}  // namespace sluice::decode::netflow_v9
