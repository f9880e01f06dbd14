// SPDX-License-Identifier: Apache-2.0
// Decimal text without libc: two digits per lookup. Shared by the text encoders (record_format.cpp's JSON and
// table rows, sinks/encode's ECS JSON), which write numbers straight into caller buffers on the sink's hot path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace sluice::decode::text {

inline constexpr char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

// Decimal text of v at p; returns the end. At most 20 characters.
inline char* put_u64(char* p, uint64_t v) noexcept {
    char tmp[20];
    char* e = tmp + sizeof tmp;
    char* q = e;
    while (v >= 100) {
        const auto i = static_cast<unsigned>(v % 100) * 2;
        v /= 100;
        q -= 2;
        q[0] = digit_pairs[i];
        q[1] = digit_pairs[i + 1];
    }
    if (v >= 10) {
        const auto i = static_cast<unsigned>(v) * 2;
        q -= 2;
        q[0] = digit_pairs[i];
        q[1] = digit_pairs[i + 1];
    } else {
        *--q = static_cast<char>('0' + v);
    }
    const std::size_t n = static_cast<std::size_t>(e - q);
    std::memcpy(p, q, n);
    return p + n;
}

}  // namespace sluice::decode::text
