// SPDX-License-Identifier: Apache-2.0
// Frame classification: every class reachable, every drop reason exact.
#include <gtest/gtest.h>

#include "dataplane/decode/flow_record.hpp"
#include "frame_builder.hpp"

using namespace sluice::parse;
using sluice::test::frame_builder;

namespace {
const std::vector<uint8_t> payload = {0, 10, 0, 16, 1, 2, 3, 4};
frame_class classify(const frame_builder& f, parsed_frame& out, parse_options o = {}) {
    return parse_ethernet(f.b.data(), uint32_t(f.b.size()), o, out);
}
}  // namespace

TEST(packet_parse, ipv4_udp) {
    frame_builder f;
    f.ethernet(0x0800);
    f.ipv4(17, uint16_t(8 + payload.size()));
    f.udp(40000, 4739, payload);
    f.b.resize(f.b.size() + 6);  // Ethernet padding must be ignored
    parsed_frame p;
    ASSERT_EQ(classify(f, p), frame_class::udp);
    EXPECT_EQ(p.ip_version, 4);
    EXPECT_EQ(p.l2_len, 14);
    EXPECT_EQ(p.src_port, 40000);
    EXPECT_EQ(p.dst_port, 4739);
    EXPECT_EQ(p.payload_len, payload.size());
    EXPECT_EQ(std::vector<uint8_t>(p.payload, p.payload + p.payload_len), payload);
    EXPECT_TRUE(sluice::decode::is_ipv4_mapped(p.src_addr));
    EXPECT_EQ(p.src_addr[15], 1);
    EXPECT_EQ(p.dst_addr[15], 2);
}

TEST(packet_parse, vlan_and_qinq) {
    frame_builder f;
    f.ethernet(0x0800, 100, 2000);
    f.ipv4(17, uint16_t(8 + payload.size()));
    f.udp(1, 2055, payload);
    parsed_frame p;
    ASSERT_EQ(classify(f, p), frame_class::udp);
    EXPECT_EQ(p.vlan_id, 100);
    EXPECT_EQ(p.l2_len, 22);
}

TEST(packet_parse, ipv6_udp_with_extension_header) {
    frame_builder f;
    f.ethernet(0x86dd);
    f.ipv6(60, uint16_t(8 + 8 + payload.size()));
    f.u8(17); f.u8(0); f.u16(0); f.u32(0);  // destination options, 8 bytes
    f.udp(5000, 6343, payload);
    parsed_frame p;
    ASSERT_EQ(classify(f, p), frame_class::udp);
    EXPECT_EQ(p.ip_version, 6);
    EXPECT_EQ(p.l3_len, 48);
    EXPECT_EQ(p.dst_port, 6343);
    EXPECT_EQ(p.src_addr[15], 1);
}

TEST(packet_parse, fragments_are_classified) {
    frame_builder f;
    f.ethernet(0x0800);
    f.ipv4(17, 16, 7, 0x2000);  // MF
    f.b.resize(f.b.size() + 16);
    parsed_frame p;
    EXPECT_EQ(classify(f, p), frame_class::ipv4_fragment);
    frame_builder g;
    g.ethernet(0x86dd);
    g.ipv6(44, 16);
    g.u8(17); g.u8(0); g.u16(1); g.u32(99);
    g.b.resize(g.b.size() + 8);
    EXPECT_EQ(classify(g, p), frame_class::ipv6_fragment);
    EXPECT_EQ(p.l3_len, 40);
}

TEST(packet_parse, exception_classes) {
    parsed_frame p;
    frame_builder arp;
    arp.ethernet(0x0806);
    arp.b.resize(42);
    EXPECT_EQ(classify(arp, p), frame_class::arp);
    frame_builder icmp;
    icmp.ethernet(0x0800);
    icmp.ipv4(1, 8);
    icmp.b.resize(icmp.b.size() + 8);
    EXPECT_EQ(classify(icmp, p), frame_class::icmpv4);
    frame_builder icmp6;
    icmp6.ethernet(0x86dd);
    icmp6.ipv6(58, 8);
    icmp6.b.resize(icmp6.b.size() + 8);
    EXPECT_EQ(classify(icmp6, p), frame_class::icmpv6);
}

TEST(packet_parse, drops_by_cause) {
    parsed_frame p;
    frame_builder runt;
    runt.b.resize(10);
    EXPECT_EQ(classify(runt, p), frame_class::runt);

    frame_builder other;
    other.ethernet(0x88cc);  // LLDP
    other.b.resize(60);
    EXPECT_EQ(classify(other, p), frame_class::unsupported_ethertype);

    frame_builder ihl;
    ihl.ethernet(0x0800);
    ihl.ipv4(17, 8);
    ihl.b[14] = 0x44;  // IHL 16 bytes
    ihl.b.resize(ihl.b.size() + 8);
    EXPECT_EQ(classify(ihl, p), frame_class::bad_ipv4_header);

    frame_builder sum;
    sum.ethernet(0x0800);
    sum.ipv4(17, 8);
    sum.b[14 + 8] = 1;  // TTL changed, checksum now wrong
    sum.udp(1, 2, {});
    EXPECT_EQ(classify(sum, p), frame_class::bad_ipv4_checksum);
    parse_options lax;
    lax.verify_ipv4_header_checksum = false;
    EXPECT_EQ(classify(sum, p, lax), frame_class::udp);

    frame_builder len;
    len.ethernet(0x0800);
    len.ipv4(17, 200);  // claims 220 bytes, frame has 28
    len.udp(1, 2, {});
    EXPECT_EQ(classify(len, p), frame_class::bad_ip_length);

    frame_builder tcp;
    tcp.ethernet(0x0800);
    tcp.ipv4(6, 20);
    tcp.b.resize(tcp.b.size() + 20);
    EXPECT_EQ(classify(tcp, p), frame_class::not_udp);

    frame_builder udplen;
    udplen.ethernet(0x0800);
    udplen.ipv4(17, 8);
    udplen.udp(1, 2, {});
    udplen.b[14 + 20 + 5] = 50;  // UDP length past the IP payload
    EXPECT_EQ(classify(udplen, p), frame_class::bad_udp_length);

    frame_builder v6;
    v6.ethernet(0x86dd);
    v6.ipv6(17, 8);
    v6.b[14] = 0x40;  // version 4 in an IPv6 ethertype
    v6.udp(1, 2, {});
    EXPECT_EQ(classify(v6, p), frame_class::bad_ipv6_header);
}

TEST(packet_parse, udp_checksum_only_when_asked) {
    frame_builder f;
    f.ethernet(0x0800);
    f.ipv4(17, uint16_t(8 + payload.size()));
    f.udp(1, 2, payload);
    f.b[14 + 20 + 6] = 0x12;  // a wrong, non-zero checksum (as offloaded captures carry)
    parsed_frame p;
    EXPECT_EQ(classify(f, p), frame_class::udp);
    parse_options strict;
    strict.verify_udp_checksum = true;
    EXPECT_EQ(classify(f, p, strict), frame_class::bad_udp_checksum);
    // Fix the checksum: pseudo-header + UDP.
    f.b[14 + 20 + 6] = 0;
    uint32_t s = checksum_partial(f.b.data() + 14 + 12, 8);
    s += 17 + 8 + uint32_t(payload.size());
    s = checksum_partial(f.b.data() + 34, uint32_t(8 + payload.size()), s);
    const uint16_t c = uint16_t(~checksum_fold(s));
    f.b[14 + 20 + 6] = uint8_t(c >> 8);
    f.b[14 + 20 + 7] = uint8_t(c);
    EXPECT_EQ(classify(f, p, strict), frame_class::udp);
}
