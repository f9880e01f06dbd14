// SPDX-License-Identifier: Apache-2.0
// IPFIX wire layout (RFC 7011): a 16-byte message header, then sets
// (id 2 templates, id 3 options templates, >= 256 data). decode_ipfix() is
// declared in ../decoder.hpp; templates live in ../template/, the
// information elements Sluice maps in ipfix_elements.hpp.
#pragma once

#include <cstdint>

namespace sluice::decode::ipfix {

constexpr uint16_t version = 10;
constexpr uint32_t header_size = 16;
constexpr uint32_t set_header_size = 4;
constexpr uint16_t template_set_id = 2;
constexpr uint16_t options_template_set_id = 3;
constexpr uint16_t min_data_set_id = 256;

// Header offsets.
constexpr uint32_t off_length = 2, off_export_time = 4, off_sequence = 8, off_domain = 12;

// Template record: id, field count; options template adds the scope field
// count. A field count of 0 is a withdrawal (RFC 7011 8.1), 4 bytes in both
// set types.
constexpr uint32_t template_header_size = 4;
constexpr uint32_t options_header_size = 6;
constexpr uint32_t withdrawal_size = 4;
// Field specifier: id (top bit: enterprise), length, [enterprise number].
constexpr uint16_t enterprise_bit = 0x8000;
constexpr uint32_t field_spec_size = 4;
constexpr uint32_t enterprise_spec_size = 8;

}  // namespace sluice::decode::ipfix
