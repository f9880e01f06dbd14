// SPDX-License-Identifier: Apache-2.0
// JSON string bodies: the escaping every enrichment renderer shares (resolve.cpp's members, classify's labels).
// '"' and '\' are backslashed, other bytes below 0x20 written as \u00XX, the rest copied (UTF-8 passes through).
#pragma once

#include <cstddef>
#include <string_view>

namespace sluice::enrich {

// Length of v as a JSON string body.
inline std::size_t json_escaped_len(std::string_view v) noexcept {
    std::size_t n = v.size();
    for (unsigned char c : v)
        if (c == '"' || c == '\\') n += 1;
        else if (c < 0x20) n += 5;
    return n;
}

// JSON string body of v at p (escaped, json_escaped_len(v) bytes); returns the end.
inline char* put_json_escaped(char* p, std::string_view v) noexcept {
    constexpr char hex[] = "0123456789abcdef";
    for (unsigned char c : v) {
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = static_cast<char>(c);
        } else if (c < 0x20) {
            *p++ = '\\';
            *p++ = 'u';
            *p++ = '0';
            *p++ = '0';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        } else {
            *p++ = static_cast<char>(c);
        }
    }
    return p;
}

}  // namespace sluice::enrich
