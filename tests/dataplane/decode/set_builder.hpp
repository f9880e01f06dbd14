// SPDX-License-Identifier: Apache-2.0
// Builds NetFlow v9 / IPFIX datagrams byte by byte for decoder tests
// (big-endian integers; open() writes a set header whose length close()
// fills in), and the expectations those tests share.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <vector>

#include "dataplane/decode/counters.hpp"

namespace sluice::decode::test {

struct set_builder {
    std::vector<uint8_t> b;
    set_builder& u8(uint64_t v) {
        b.push_back(static_cast<uint8_t>(v));
        return *this;
    }
    set_builder& u16(uint64_t v) { return u8(v >> 8).u8(v); }
    set_builder& u24(uint64_t v) { return u8(v >> 16).u16(v); }
    set_builder& u32(uint64_t v) { return u16(v >> 16).u16(v); }
    set_builder& u64(uint64_t v) { return u32(v >> 32).u32(v); }
    set_builder& ip4(uint8_t a, uint8_t b2, uint8_t c, uint8_t d) { return u8(a).u8(b2).u8(c).u8(d); }
    set_builder& zeros(std::size_t n) {
        b.insert(b.end(), n, 0);
        return *this;
    }
    // Opens a set (or an IPFIX message when at == 0): id, then a length to patch.
    std::size_t open(uint16_t id) {
        const std::size_t at = b.size();
        u16(id).u16(0);
        return at;
    }
    void close(std::size_t at) {
        const std::size_t len = b.size() - at;
        b[at + 2] = static_cast<uint8_t>(len >> 8);
        b[at + 3] = static_cast<uint8_t>(len);
    }
};

// Every counter except datagram_bytes must equal `want` (absent = 0).
inline void expect_counters(const counter_block& c, const std::map<counter, uint64_t>& want) {
    for (std::size_t i = 0; i < counter_count; ++i) {
        const auto k = static_cast<counter>(i);
        if (k == counter::datagram_bytes) continue;
        const auto it = want.find(k);
        EXPECT_EQ(c.get(k), it == want.end() ? 0 : it->second) << "counter " << counter_table[i].name;
    }
}

// `a` holds the IPv4-mapped address o1.o2.o3.o4.
inline void expect_v4(const uint8_t a[16], uint8_t o1, uint8_t o2, uint8_t o3, uint8_t o4) {
    const uint8_t want[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, o1, o2, o3, o4};
    EXPECT_EQ(std::memcmp(a, want, 16), 0);
}

}  // namespace sluice::decode::test
