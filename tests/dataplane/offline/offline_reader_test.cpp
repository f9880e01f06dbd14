// SPDX-License-Identifier: Apache-2.0
// offline_reader: every supported link type reaches the decoder, fragments are
// reassembled before decoding, and unknown link types are counted.
#include <gtest/gtest.h>

#include "dataplane/offline/offline_reader.hpp"
#include "tests/dataplane/parse/frame_builder.hpp"

using namespace sluice;

namespace {

// A NetFlow v5 datagram with `n` records (zeros but for the header).
std::vector<uint8_t> v5_payload(uint16_t n) {
    std::vector<uint8_t> p(24 + 48u * n, 0);
    p[1] = 5;
    p[3] = uint8_t(n);
    return p;
}

struct counting {
    uint64_t records = 0;
    offline::offline_reader::records_fn fn() {
        return [this](std::span<const decode::flow_record> r) { records += r.size(); };
    }
};

}  // namespace

TEST(offline_reader, link_types) {
    const auto payload = v5_payload(2);
    test::frame_builder ip;
    ip.ipv4(17, uint16_t(8 + payload.size()));
    ip.udp(1000, 2055, payload);

    offline::offline_reader reader({});
    counting c;
    test::frame_builder eth;
    eth.ethernet(0x0800);
    eth.bytes(ip.b);
    reader.feed_frame(1, eth.b.data(), uint32_t(eth.b.size()), 1, c.fn());  // DLT_EN10MB

    std::vector<uint8_t> sll(16, 0);
    sll[14] = 0x08;
    sll.insert(sll.end(), ip.b.begin(), ip.b.end());
    reader.feed_frame(113, sll.data(), uint32_t(sll.size()), 2, c.fn());  // DLT_LINUX_SLL

    std::vector<uint8_t> sll2(20, 0);
    sll2[0] = 0x08;
    sll2.insert(sll2.end(), ip.b.begin(), ip.b.end());
    reader.feed_frame(276, sll2.data(), uint32_t(sll2.size()), 3, c.fn());  // DLT_LINUX_SLL2

    reader.feed_frame(101, ip.b.data(), uint32_t(ip.b.size()), 4, c.fn());  // DLT_RAW

    std::vector<uint8_t> loop = {2, 0, 0, 0};
    loop.insert(loop.end(), ip.b.begin(), ip.b.end());
    reader.feed_frame(0, loop.data(), uint32_t(loop.size()), 5, c.fn());  // DLT_NULL

    reader.feed_frame(147, ip.b.data(), uint32_t(ip.b.size()), 6, c.fn());  // DLT_USER0: unsupported

    EXPECT_EQ(c.records, 10u);
    EXPECT_EQ(reader.stats().frames, 6u);
    EXPECT_EQ(reader.stats().unsupported_link_type, 1u);
    EXPECT_EQ(reader.stats().datagrams_decoded, 5u);
}

TEST(offline_reader, fragmented_datagram_decodes_after_reassembly) {
    const auto payload = v5_payload(30);  // 1464 bytes of payload, 1472 of UDP
    test::frame_builder whole;
    whole.udp(1000, 2055, payload);
    offline::offline_reader reader({});
    counting c;
    const std::size_t chunk = 800;
    for (std::size_t off = 0; off < whole.b.size(); off += chunk) {
        const std::size_t n = std::min(chunk, whole.b.size() - off);
        test::frame_builder f;
        f.ethernet(0x0800);
        f.ipv4(17, uint16_t(n), 77, uint16_t((off + n < whole.b.size() ? 0x2000 : 0) | (off / 8)));
        f.b.insert(f.b.end(), whole.b.begin() + long(off), whole.b.begin() + long(off + n));
        reader.feed_frame(1, f.b.data(), uint32_t(f.b.size()), 1, c.fn());
    }
    EXPECT_EQ(c.records, 30u);
    EXPECT_EQ(reader.reassembly_counters().get(reassembly::counter::datagrams), 1u);
    EXPECT_EQ(reader.reassembly_counters().get(reassembly::counter::reassembled), 2u);
    EXPECT_EQ(reader.reassembler().held_fragments(), 0u);
    EXPECT_EQ(reader.stats().by_class[size_t(parse::frame_class::ipv4_fragment)], 2u);
}

TEST(offline_reader, port_map_forces_a_decoder) {
    const auto payload = v5_payload(1);
    test::frame_builder f;
    f.ethernet(0x0800);
    f.ipv4(17, uint16_t(8 + payload.size()));
    f.udp(1000, 6343, payload);
    offline::reader_options o;
    o.port_map[6343] = decode::protocol::sflow_5;
    offline::offline_reader reader(o);
    counting c;
    reader.feed_frame(1, f.b.data(), uint32_t(f.b.size()), 1, c.fn());
    EXPECT_EQ(c.records, 0u);  // v5 bytes on the sFlow port are not guessed at
    // A first datagram that does not validate gives its sender no slot: it
    // is counted at the table and named in the refused list.
    EXPECT_EQ(reader.exporters().size(), 0u);
    EXPECT_EQ(reader.exporters().table_counters().get(decode::table_counter::refused_invalid_first_datagram), 1u);
    ASSERT_EQ(reader.exporters().refused().size(), 1u);
    EXPECT_EQ(reader.exporters().refused()[0].datagrams, 1u);
}
