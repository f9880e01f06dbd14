// SPDX-License-Identifier: Apache-2.0
// Exporter time encodings to absolute nanoseconds since the Unix epoch:
// sysUptime-relative milliseconds (NetFlow v5/v9, IPFIX 21/22) and NTP
// timestamps (IPFIX 154-157). Shared by every decoder; see docs/record.md.
#pragma once

#include <cstdint>

namespace sluice::decode {

constexpr uint64_t ns_per_us = 1000ull;
constexpr uint64_t ns_per_ms = 1000000ull;
constexpr uint64_t ns_per_s = 1000000000ull;
constexpr uint64_t ntp_unix_offset_s = 2208988800ull;  // 1900-01-01 to 1970-01-01

// sysUptime-relative milliseconds. The difference is taken modulo 2^32
// (uptime wraps after 49.7 days) and read as signed, so a flow stamped a
// little after the header's uptime (a known exporter quirk) lands just after
// the export time instead of 49 days before it.
inline uint64_t uptime_to_unix_ns(uint64_t export_ns, uint32_t sys_uptime_ms, uint32_t t_ms) noexcept {
    const int64_t ago_ms = static_cast<int32_t>(sys_uptime_ms - t_ms);
    return export_ns - static_cast<uint64_t>(ago_ms * static_cast<int64_t>(ns_per_ms));
}

// NTP timestamp (RFC 5905): seconds since 1900 . 32-bit fraction. Seconds
// below the 1970 offset belong to NTP era 1 (from 2036).
inline uint64_t ntp_to_ns(uint64_t ntp) noexcept {
    uint64_t secs = ntp >> 32;
    const uint64_t frac = ntp & 0xffffffffull;
    if (secs < ntp_unix_offset_s) secs += 1ull << 32;
    return (secs - ntp_unix_offset_s) * ns_per_s + ((frac * ns_per_s) >> 32);
}

}  // namespace sluice::decode
