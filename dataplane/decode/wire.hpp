// SPDX-License-Identifier: Apache-2.0
// Big-endian loads from unaligned wire bytes. memcpy + byteswap compiles to a
// single MOVBE/BSWAP load; no alignment or aliasing assumptions.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace sluice::decode::wire {

inline uint8_t u8(const uint8_t* p) noexcept { return *p; }

inline uint16_t be16(const uint8_t* p) noexcept {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return __builtin_bswap16(v);
}

inline uint32_t be32(const uint8_t* p) noexcept {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return __builtin_bswap32(v);
}

inline uint64_t be64(const uint8_t* p) noexcept {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}

// Unsigned big-endian integer of 1..8 bytes (IPFIX reduced-size encoding,
// RFC 7011 6.2). Lengths above 8 read the low-order 8 bytes.
inline uint64_t be_uint(const uint8_t* p, uint32_t len) noexcept {
    if (len > 8) {
        p += len - 8;
        len = 8;
    }
    uint64_t v = 0;
    for (uint32_t i = 0; i < len; ++i) v = (v << 8) | p[i];
    return v;
}

// True when n bytes at p are all zero (set padding checks).
inline bool all_zero(const uint8_t* p, uint32_t n) noexcept {
    for (uint32_t i = 0; i < n; ++i)
        if (p[i] != 0) return false;
    return true;
}

static_assert(std::endian::native == std::endian::little, "wire helpers assume a little-endian host");

}  // namespace sluice::decode::wire
