// SPDX-License-Identifier: Apache-2.0
// The matched prefix as text; see enriched.hpp.
#include "enriched.hpp"

#include "dataplane/decode/record_format.hpp"

namespace sluice::sinks::encode {

std::size_t format_net_prefix(const uint8_t addr[16], uint8_t match, char* out) noexcept {
    if (match == 0 || decode::is_zero_address(addr)) return 0;
    const bool v4 = decode::is_ipv4_mapped(addr);
    const unsigned len = match - 1u;
    if (len > (v4 ? 32u : 128u)) return 0;  // a length the family cannot have: written as nothing
    uint8_t m[16];
    std::memcpy(m, addr, 16);
    const unsigned bits = v4 ? 96 + len : len;  // prefix bits of the 16-byte form to keep
    for (unsigned i = 0; i < 16; ++i) {
        const unsigned lo = i * 8;
        if (bits >= lo + 8) continue;
        m[i] = bits <= lo ? 0 : uint8_t(m[i] & uint8_t(0xff00u >> (bits - lo)));
    }
    std::size_t n;
    if (decode::is_zero_address(m)) {  // ::/0 (format_address prints an all-zero address as "")
        out[0] = ':';
        out[1] = ':';
        n = 2;
    } else {
        char tmp[48];
        n = decode::format_address(m, tmp);
        std::memcpy(out, tmp, n);
    }
    out[n++] = '/';
    if (len >= 100) out[n++] = char('0' + len / 100);
    if (len >= 10) out[n++] = char('0' + len / 10 % 10);
    out[n++] = char('0' + len % 10);
    return n;
}

}  // namespace sluice::sinks::encode
