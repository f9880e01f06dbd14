// SPDX-License-Identifier: Apache-2.0
// NetFlow v5 wire layout (Cisco): a 24-byte header followed by `count` 48-byte
// records. decode_netflow_v5() is declared in ../decoder.hpp; this header
// holds the layout constants the decoder, tests and benchmarks share.
#pragma once

#include <cstdint>

namespace sluice::decode::netflow_v5 {

constexpr uint32_t header_size = 24;
constexpr uint32_t record_size = 48;
// Cisco's limit; larger counts still decode if the bytes are there, but are
// counted as a deviation (dev_count_mismatch).
constexpr uint32_t max_records = 30;

// Header offsets.
constexpr uint32_t off_count = 2, off_sys_uptime = 4, off_unix_secs = 8, off_unix_nsecs = 12,
                   off_flow_sequence = 16, off_engine_type = 20, off_engine_id = 21, off_sampling = 22;

// Record offsets.
constexpr uint32_t r_srcaddr = 0, r_dstaddr = 4, r_nexthop = 8, r_input = 12, r_output = 14, r_dpkts = 16,
                   r_doctets = 20, r_first = 24, r_last = 28, r_srcport = 32, r_dstport = 34, r_tcp_flags = 37,
                   r_prot = 38, r_tos = 39, r_src_as = 40, r_dst_as = 42, r_src_mask = 44, r_dst_mask = 45;

}  // namespace sluice::decode::netflow_v5
