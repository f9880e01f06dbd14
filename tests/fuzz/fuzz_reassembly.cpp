// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: sequences of IP fragments through the reassembler shared
// by sluiced and sluice-decode, with small bounds (8 sets, 2 per source, the
// smallest slab) so eviction, overlap, duplicate and too-big paths are
// reached. Input framing, repeated:
//   u8 op
//     op & 1 == 0: raw   | u16 big-endian length | that many bytes of IP packet (parse_ip, checksum unchecked)
//     op & 1 == 1: built | u8 id | u8 source | u16 offset in 8-byte units | u8 flags (1 = MF, 2 = IPv6)
//                        | u16 length: an IPv4/IPv6 fragment built around bytes that depend on the offset
//                          (and on op >> 4), so overlaps and exact duplicates both occur
//   op & 2: advance the clock past the timeout first, then expire()
// Checks after every step: frag_received equals the terminal counters plus
// the fragments held; a completed packet fits k_max_packet and parses; at the
// end expire_all() leaves nothing held.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dataplane/parse/packet_parse.hpp"
#include "dataplane/reassembly/reassembly.hpp"

namespace {

using namespace sluice;

void check(const counters::block<reassembly::counter, reassembly::counter_count>& c, const reassembly::reassembler& r) {
    uint64_t terminal = 0;
    for (std::size_t i = 0; i < reassembly::counter_count; ++i) {
        const auto k = static_cast<reassembly::counter>(i);
        if (k != reassembly::counter::received && k != reassembly::counter::datagrams) terminal += c.v[i];
    }
    if (c.get(reassembly::counter::received) != terminal + r.held_fragments()) std::abort();
    if (r.held_bytes() > reassembly::k_min_max_bytes) std::abort();
    if (r.in_progress() > 8) std::abort();
}

std::vector<uint8_t> build(uint8_t id, uint8_t src, uint16_t units, uint8_t flags, uint16_t len, uint8_t salt) {
    const bool v6 = flags & 2, more = flags & 1;
    const uint32_t off = uint32_t(units) * 8;
    std::vector<uint8_t> p;
    auto u8 = [&](uint8_t v) { p.push_back(v); };
    auto u16 = [&](uint16_t v) { u8(uint8_t(v >> 8)); u8(uint8_t(v)); };
    if (!v6) {
        u8(0x45); u8(0); u16(uint16_t(20 + len)); u16(id); u16(uint16_t((more ? 0x2000 : 0) | (units & 0x1fff)));
        u8(64); u8(17); u16(0);
        u8(10); u8(0); u8(0); u8(src);
        u8(10); u8(0); u8(0); u8(254);
    } else {
        u8(0x60); u8(0); u8(0); u8(0); u16(uint16_t(8 + len)); u8(44); u8(64);
        for (int i = 0; i < 15; ++i) u8(i == 0 ? 0x20 : 0);
        u8(src);
        for (int i = 0; i < 15; ++i) u8(i == 0 ? 0x20 : 0);
        u8(254);
        u8(17); u8(0); u16(uint16_t((off & 0xfff8) | (more ? 1 : 0))); u16(0); u16(id);
    }
    for (uint32_t i = 0; i < len; ++i) u8(uint8_t((off + i) ^ salt));
    return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    static std::vector<uint8_t> out(reassembly::k_max_packet);
    // One reassembler for every input (its slab is costly to build under
    // ASan): each input ends with expire_all(), which leaves it empty, so an
    // input replays alone exactly as in the run; the counters restart at 0.
    static counters::block<reassembly::counter, reassembly::counter_count> c;
    static reassembly::reassembler r(
        [] {
            reassembly::config cfg;
            cfg.max_flows = 8;
            cfg.max_per_source = 2;
            cfg.max_bytes = reassembly::k_min_max_bytes;
            cfg.timeout_ms = 1000;
            return cfg;
        }(),
        1000, c.v.data());  // ticks: ms
    c = {};
    const parse::parse_options po{.verify_ipv4_header_checksum = false, .verify_udp_checksum = false};
    uint64_t now = 1;
    std::size_t i = 0;
    while (i < size) {
        const uint8_t op = data[i++];
        if (op & 2) {
            now += 1001;
            r.expire(now);
        }
        std::vector<uint8_t> pkt;
        if ((op & 1) == 0) {
            if (i + 2 > size) break;
            const std::size_t n = std::min<std::size_t>((std::size_t(data[i]) << 8) | data[i + 1], size - i - 2);
            pkt.assign(data + i + 2, data + i + 2 + n);
            i += 2 + n;
        } else {
            if (i + 7 > size) break;
            const uint16_t units = uint16_t((data[i + 2] << 8) | data[i + 3]);
            const uint16_t len = uint16_t(((data[i + 5] << 8) | data[i + 6]) % 9000);  // a jumbo frame at most
            pkt = build(data[i], data[i + 1] & 7, units, data[i + 4], len, uint8_t(op >> 4));
            i += 7;
        }
        parse::parsed_frame f;
        const parse::frame_class cls = parse::parse_ip(pkt.data(), uint32_t(pkt.size()), po, f);
        if (cls == parse::frame_class::ipv4_fragment || cls == parse::frame_class::ipv6_fragment) {
            const reassembly::result res =
                r.feed(pkt.data(), uint32_t(pkt.size()), f, now, out.data(), uint32_t(out.size()));
            if (res.st == reassembly::status::complete) {
                if (res.len > reassembly::k_max_packet || res.len < 20) std::abort();
                parse::parsed_frame g;
                const parse::frame_class gc = parse::parse_ip(out.data(), res.len, po, g);
                if (gc == parse::frame_class::udp && g.payload + g.payload_len > out.data() + res.len) std::abort();
            } else if (res.len != 0) {
                std::abort();
            }
        }
        check(c, r);
    }
    r.expire_all();
    check(c, r);
    if (r.held_fragments() != 0 || r.held_bytes() != 0 || r.in_progress() != 0) std::abort();
    return 0;
}
