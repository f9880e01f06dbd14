// SPDX-License-Identifier: Apache-2.0
// Builds Ethernet/IPv4/IPv6/UDP frames byte by byte for parser tests.
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/parse/packet_parse.hpp"

namespace sluice::test {

struct frame_builder {
    std::vector<uint8_t> b;
    void u8(uint8_t v) { b.push_back(v); }
    void u16(uint16_t v) { u8(v >> 8); u8(uint8_t(v)); }
    void u32(uint32_t v) { u16(v >> 16); u16(uint16_t(v)); }
    void bytes(const std::vector<uint8_t>& v) { b.insert(b.end(), v.begin(), v.end()); }

    void ethernet(uint16_t ethertype, int vlan = -1, int outer_vlan = -1) {
        for (int i = 0; i < 12; ++i) u8(uint8_t(i));
        if (outer_vlan >= 0) { u16(0x88a8); u16(uint16_t(outer_vlan)); }
        if (vlan >= 0) { u16(0x8100); u16(uint16_t(vlan)); }
        u16(ethertype);
    }
    // IPv4 header with a correct checksum; returns its offset.
    std::size_t ipv4(uint8_t proto, uint16_t payload_len, uint16_t id = 1, uint16_t frag = 0) {
        const std::size_t at = b.size();
        u8(0x45); u8(0); u16(uint16_t(20 + payload_len)); u16(id); u16(frag); u8(64); u8(proto); u16(0);
        u32(0xc0000201); u32(0xc0000202);
        const uint16_t sum = uint16_t(~parse::checksum_fold(parse::checksum_partial(b.data() + at, 20)));
        b[at + 10] = uint8_t(sum >> 8);
        b[at + 11] = uint8_t(sum);
        return at;
    }
    std::size_t ipv6(uint8_t next, uint16_t payload_len) {
        const std::size_t at = b.size();
        u32(0x60000000); u16(payload_len); u8(next); u8(64);
        u32(0x20010db8); u32(0); u32(0); u32(1);
        u32(0x20010db8); u32(0); u32(0); u32(2);
        return at;
    }
    void udp(uint16_t sport, uint16_t dport, const std::vector<uint8_t>& payload) {
        u16(sport); u16(dport); u16(uint16_t(8 + payload.size())); u16(0);
        bytes(payload);
    }
};

}  // namespace sluice::test
