// SPDX-License-Identifier: Apache-2.0
// Software reassembly for the offline reader: in order, out of order, IPv6,
// expiry and malformed fragments, each with exact counters.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "dataplane/offline/reassembly.hpp"
#include "tests/dataplane/parse/frame_builder.hpp"

using namespace sluice;
using offline::reassembly_counter;

namespace {

std::vector<uint8_t> make_payload(std::size_t n) {
    std::vector<uint8_t> p(n);
    std::iota(p.begin(), p.end(), uint8_t(0));
    return p;
}

// IPv4 fragments (no L2) of a UDP datagram carrying `payload`, `chunk` bytes each.
std::vector<std::vector<uint8_t>> ipv4_fragments(const std::vector<uint8_t>& payload, std::size_t chunk, uint16_t id) {
    test::frame_builder whole;
    whole.udp(1000, 4739, payload);
    const std::vector<uint8_t> l4 = whole.b;
    std::vector<std::vector<uint8_t>> out;
    for (std::size_t off = 0; off < l4.size(); off += chunk) {
        const std::size_t n = std::min(chunk, l4.size() - off);
        const bool more = off + n < l4.size();
        test::frame_builder f;
        f.ipv4(17, uint16_t(n), id, uint16_t((more ? 0x2000 : 0) | (off / 8)));
        f.b.insert(f.b.end(), l4.begin() + long(off), l4.begin() + long(off + n));
        out.push_back(f.b);
    }
    return out;
}

struct harness {
    offline::ip_reassembler r;
    parse::parse_options o;
    std::vector<uint8_t> done;
    bool feed(const std::vector<uint8_t>& pkt, uint64_t now) {
        parse::parsed_frame f;
        const auto c = parse::parse_ip(pkt.data(), uint32_t(pkt.size()), o, f);
        EXPECT_TRUE(c == parse::frame_class::ipv4_fragment || c == parse::frame_class::ipv6_fragment);
        auto whole = r.feed(pkt.data(), uint32_t(pkt.size()), f, now);
        if (whole.empty()) return false;
        done.assign(whole.begin(), whole.end());
        return true;
    }
    parse::parsed_frame parse_done() {
        parse::parsed_frame f;
        EXPECT_EQ(parse::parse_ip(done.data(), uint32_t(done.size()), o, f), parse::frame_class::udp);
        return f;
    }
};

}  // namespace

TEST(reassembly, ipv4_in_order_and_out_of_order) {
    const auto payload = make_payload(3000);
    for (bool reverse : {false, true}) {
        harness h;
        auto frags = ipv4_fragments(payload, 1480, 42);
        ASSERT_EQ(frags.size(), 3u);
        if (reverse) std::reverse(frags.begin(), frags.end());
        EXPECT_FALSE(h.feed(frags[0], 1));
        EXPECT_FALSE(h.feed(frags[1], 2));
        ASSERT_TRUE(h.feed(frags[2], 3));
        const auto f = h.parse_done();  // also verifies the rebuilt IPv4 checksum
        ASSERT_EQ(f.payload_len, payload.size());
        EXPECT_TRUE(std::equal(payload.begin(), payload.end(), f.payload));
        EXPECT_EQ(h.r.counter(reassembly_counter::fragments), 3u);
        EXPECT_EQ(h.r.counter(reassembly_counter::reassembled), 1u);
    }
}

TEST(reassembly, ipv6_fragments) {
    const auto payload = make_payload(2000);
    test::frame_builder whole;
    whole.udp(1000, 4739, payload);
    const auto l4 = whole.b;
    harness h;
    bool got = false;
    for (std::size_t off = 0; off < l4.size(); off += 1232) {
        const std::size_t n = std::min<std::size_t>(1232, l4.size() - off);
        const bool more = off + n < l4.size();
        test::frame_builder f;
        f.ipv6(44, uint16_t(8 + n));
        f.u8(17); f.u8(0); f.u16(uint16_t(off | (more ? 1 : 0))); f.u32(0xabcdef);
        f.b.insert(f.b.end(), l4.begin() + long(off), l4.begin() + long(off + n));
        got = h.feed(f.b, 1);
    }
    ASSERT_TRUE(got);
    const auto f = h.parse_done();
    EXPECT_EQ(f.ip_version, 6);
    ASSERT_EQ(f.payload_len, payload.size());
    EXPECT_TRUE(std::equal(payload.begin(), payload.end(), f.payload));
}

TEST(reassembly, incomplete_sets_expire_and_are_counted) {
    const auto payload = make_payload(3000);
    harness h;
    auto frags = ipv4_fragments(payload, 1480, 7);
    h.feed(frags[0], 0);
    h.feed(frags[2], 0);
    h.r.expire(31ull * 1000000000ull);  // past the 30 s timeout
    EXPECT_EQ(h.r.counter(reassembly_counter::expired), 1u);
    EXPECT_FALSE(h.feed(frags[1], 32ull * 1000000000ull));  // alone now: no datagram
    h.r.expire(~0ull);
    EXPECT_EQ(h.r.counter(reassembly_counter::expired), 2u);
    EXPECT_EQ(h.r.counter(reassembly_counter::reassembled), 0u);
}

TEST(reassembly, malformed_and_table_full) {
    offline::reassembly_limits l;
    l.max_flows = 1;
    harness h{offline::ip_reassembler(l), {}, {}};
    auto a = ipv4_fragments(make_payload(3000), 1480, 1);
    auto b = ipv4_fragments(make_payload(3000), 1480, 2);
    h.feed(a[0], 0);
    h.feed(b[0], 0);
    EXPECT_EQ(h.r.counter(reassembly_counter::table_full), 1u);
    // A non-final fragment whose length is not a multiple of 8.
    auto c = ipv4_fragments(make_payload(100), 1001, 3);
    test::frame_builder odd;
    odd.ipv4(17, 13, 9, 0x2000);
    odd.b.resize(odd.b.size() + 13);
    h.feed(odd.b, 0);
    EXPECT_EQ(h.r.counter(reassembly_counter::malformed), 1u);
}
