// SPDX-License-Identifier: Apache-2.0
// The record fields added with the 320-byte flow_record, decoded from v9 and
// IPFIX datagrams built byte by byte: MACs, VLANs (QinQ), TTL, forwarding
// status, flow label, BGP next hop and AS, flow end reason, post-NAT
// addresses and ports (IPFIX and Cisco ASA NSEL), and sampled frame / IP
// header sections (IE 315 / 313). Exact values, exact counters.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "dataplane/decode/decoder.hpp"
#include "dataplane/decode/ipfix/ipfix.hpp"
#include "dataplane/decode/netflow_v9/netflow_v9.hpp"
#include "dataplane/decode/template/template_store.hpp"
#include "set_builder.hpp"

namespace sluice::decode {
namespace {

using test::expect_counters;
using test::expect_v4;
using bytes = std::vector<uint8_t>;

constexpr uint32_t export_secs = 1700000000;
constexpr uint64_t now_ns = uint64_t(export_secs) * 1000000000ull + 1000;

struct field {
    uint16_t id;
    uint16_t len;
};
using fields = std::vector<field>;

struct fx : ::testing::Test {
    decoder_limits limits;
    std::unique_ptr<exporter_table> table;
    std::vector<flow_record> storage = std::vector<flow_record>(16);
    record_buffer out{storage.data(), 16, 0};
    datagram_meta meta{};
    exporter_state* ex = nullptr;
    uint32_t seq = 0;

    void SetUp() override {
        table = std::make_unique<exporter_table>(limits);
        meta.exporter_addr[10] = meta.exporter_addr[11] = 0xff;
        meta.exporter_addr[12] = 192;
        meta.exporter_addr[13] = 0;
        meta.exporter_addr[14] = 2;
        meta.exporter_addr[15] = 1;
        meta.time_received_ns = now_ns;
        ex = table->find_or_create(meta.exporter_addr, now_ns);
    }

    // One IPFIX message: a template set for `f` (id 256) and one data set
    // holding `data`, sequence numbers kept in step.
    decode_status ipfix(const fields& f, const bytes& data, uint32_t records) {
        test::set_builder b;
        b.u16(10).u16(0).u32(export_secs).u32(seq).u32(1);
        auto t = b.open(2);
        b.u16(256).u16(f.size());
        for (auto x : f) b.u16(x.id).u16(x.len);
        b.close(t);
        auto d = b.open(256);
        b.b.insert(b.b.end(), data.begin(), data.end());
        b.close(d);
        b.close(0);
        seq += records;
        out.clear();
        last = std::move(b.b);  // kept: header spans point into the datagram, as into an mbuf in the worker
        return decode_ipfix(last, meta, *ex, out);
    }
    bytes last;
};

bytes cat(std::initializer_list<bytes> parts) {
    bytes r;
    for (const auto& p : parts) r.insert(r.end(), p.begin(), p.end());
    return r;
}
bytes be16(uint16_t v) { return {uint8_t(v >> 8), uint8_t(v)}; }
bytes be32(uint32_t v) { return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)}; }

const bytes dmac = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55}, smac = {0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb};
bytes eth(uint16_t type) { return cat({dmac, smac, be16(type)}); }
bytes tag(uint16_t tci, uint16_t next) { return cat({be16(tci), be16(next)}); }
bytes ipv4(uint8_t proto, uint8_t ttl, uint8_t tos) {
    return {0x45, tos, 0x00, 0x28, 0x12, 0x34, 0x40, 0x00, ttl, proto, 0, 0, 10, 1, 2, 3, 10, 4, 5, 6};
}
const bytes v6src = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const bytes v6dst = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
bytes ipv6(uint8_t next, uint8_t hlim, uint32_t label, uint8_t tclass) {
    const uint32_t w = 6u << 28 | uint32_t(tclass) << 20 | label;
    return cat({be32(w), be16(20), {next, hlim}, v6src, v6dst});
}
bytes tcp(uint16_t sp, uint16_t dp, uint8_t flags) {
    bytes t = cat({be16(sp), be16(dp), be32(1), be32(0)});
    t.push_back(0x50);
    t.push_back(flags);
    t.insert(t.end(), 6, 0);
    return t;
}
bytes udp(uint16_t sp, uint16_t dp) { return cat({be16(sp), be16(dp), be16(8), be16(0)}); }
bytes mpls(uint32_t label, bool bottom) { return be32(label << 12 | (bottom ? 0x100u : 0u) | 64u); }
// IPFIX variable-length encoding (RFC 7011 7): 1-byte length, or 255 + 2 bytes.
bytes varlen(const bytes& v) {
    bytes r;
    if (v.size() < 255) {
        r.push_back(uint8_t(v.size()));
    } else {
        r.push_back(255);
        r.push_back(uint8_t(v.size() >> 8));
        r.push_back(uint8_t(v.size()));
    }
    r.insert(r.end(), v.begin(), v.end());
    return r;
}

TEST_F(fx, ipfix_l2_bgp_and_status_fields) {
    // sourceMacAddress, destinationMacAddress, vlanId, postVlanId,
    // dot1qVlanId, dot1qCustomerVlanId, ipTTL, forwardingStatus,
    // flowLabelIPv6 (v9-style 3 bytes), bgpNextHopIPv4Address,
    // bgpNextAdjacentAsNumber, flowEndReason, sourceIPv4Address
    const fields f = {{56, 6}, {80, 6}, {58, 2}, {59, 2}, {243, 2}, {245, 2}, {192, 1},
                      {89, 1}, {31, 3}, {18, 4}, {128, 4}, {136, 1}, {8, 4}};
    const bytes rec = cat({smac, dmac, be16(10), be16(20), be16(300), be16(301), {57}, {0x42},
                           {0x0a, 0xbc, 0xde}, {192, 0, 2, 254}, be32(64496), {2}, {10, 9, 8, 7}});
    ASSERT_EQ(ipfix(f, rec, 1), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    const flow_record& r = storage[0];
    EXPECT_EQ(std::memcmp(r.src_mac, smac.data(), 6), 0);
    EXPECT_EQ(std::memcmp(r.dst_mac, dmac.data(), 6), 0);
    EXPECT_EQ(r.src_vlan, 10);
    EXPECT_EQ(r.dst_vlan, 20);
    EXPECT_EQ(r.vlan_id, 300);  // dot1qVlanId wins for vlan_id
    EXPECT_EQ(r.inner_vlan_id, 301);
    EXPECT_EQ(r.ip_ttl, 57);
    EXPECT_EQ(r.forwarding_status, 0x42);
    EXPECT_EQ(r.ipv6_flow_label, 0x0abcdeu);
    expect_v4(r.bgp_next_hop, 192, 0, 2, 254);
    expect_v4(r.next_hop, 192, 0, 2, 254);  // no IP next hop exported: the BGP one
    EXPECT_EQ(r.next_hop_as, 64496u);
    EXPECT_EQ(r.flow_end_reason, 2);
    expect_v4(r.src_addr, 10, 9, 8, 7);
    EXPECT_EQ(int(r.in_if_format), int(if_format::ifindex));
    expect_counters(ex->counters, {{counter::datagrams, 1}, {counter::templates_learned, 1}, {counter::flow_records, 1}});
}

TEST_F(fx, ipfix_vlan_id_without_dot1q_and_ip_next_hop_kept) {
    // vlanId alone is both src_vlan and vlan_id; with an IP next hop of the
    // same family, the BGP next hop fills bgp_next_hop only.
    const fields f = {{58, 2}, {15, 4}, {18, 4}, {52, 1}};
    const bytes rec = cat({be16(77), {10, 0, 0, 1}, {10, 0, 0, 2}, {3}});
    ASSERT_EQ(ipfix(f, rec, 1), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    const flow_record& r = storage[0];
    EXPECT_EQ(r.vlan_id, 77);
    EXPECT_EQ(r.src_vlan, 77);
    EXPECT_EQ(r.dst_vlan, 0);
    expect_v4(r.next_hop, 10, 0, 0, 1);
    expect_v4(r.bgp_next_hop, 10, 0, 0, 2);
    EXPECT_EQ(r.ip_ttl, 3);  // minimumTTL when ipTTL is absent
}

TEST_F(fx, reduced_size_vlan_id_fills_both_fields) {
    ASSERT_EQ(ipfix({{58, 1}, {59, 1}, {8, 4}}, {42, 43, 10, 0, 0, 1}, 1), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    EXPECT_EQ(storage[0].vlan_id, 42);
    EXPECT_EQ(storage[0].src_vlan, 42);
    EXPECT_EQ(storage[0].dst_vlan, 43);
    expect_counters(ex->counters, {{counter::datagrams, 1}, {counter::templates_learned, 1}, {counter::flow_records, 1}});
}

TEST_F(fx, ipfix_post_nat_v4_and_v6) {
    const fields f = {{8, 4}, {225, 4}, {226, 4}, {227, 2}, {228, 2}, {281, 16}, {282, 16}};
    // Dual-stack template: each family's value counts only when non-zero.
    const bytes rec1 = cat({{10, 0, 0, 1}, {198, 51, 100, 1}, {203, 0, 113, 1}, be16(40000), be16(8443),
                            bytes(16, 0), bytes(16, 0)});
    const bytes rec2 = cat({{10, 0, 0, 2}, {0, 0, 0, 0}, {0, 0, 0, 0}, be16(1), be16(2), v6src, v6dst});
    ASSERT_EQ(ipfix(f, cat({rec1, rec2}), 2), decode_status::ok);
    ASSERT_EQ(out.size, 2u);
    expect_v4(storage[0].post_nat_src_addr, 198, 51, 100, 1);
    expect_v4(storage[0].post_nat_dst_addr, 203, 0, 113, 1);
    EXPECT_EQ(storage[0].post_nat_src_port, 40000);
    EXPECT_EQ(storage[0].post_nat_dst_port, 8443);
    EXPECT_EQ(std::memcmp(storage[1].post_nat_src_addr, v6src.data(), 16), 0);
    EXPECT_EQ(std::memcmp(storage[1].post_nat_dst_addr, v6dst.data(), 16), 0);
    EXPECT_EQ(storage[1].post_nat_src_port, 1);
    EXPECT_EQ(storage[1].post_nat_dst_port, 2);
}

// Cisco ASA NSEL (NetFlow v9), "IPv4 flow creation event with common username
// size" as the Cisco ASA NetFlow Implementation Guide lays it out:
// NF_F_CONN_ID(148,4) NF_F_SRC_ADDR_IPV4(8,4) NF_F_SRC_PORT(7,2)
// NF_F_SRC_INTF_ID(10,2) NF_F_DST_ADDR_IPV4(12,4) NF_F_DST_PORT(11,2)
// NF_F_DST_INTF_ID(14,2) NF_F_PROTOCOL(4,1) NF_F_ICMP_TYPE(176,1)
// NF_F_ICMP_CODE(177,1) NF_F_XLATE_SRC_ADDR_IPV4(225,4)
// NF_F_XLATE_DST_ADDR_IPV4(226,4) NF_F_XLATE_SRC_PORT(227,2)
// NF_F_XLATE_DST_PORT(228,2) NF_F_FW_EVENT(233,1) NF_F_FW_EXT_EVENT(33002,2)
// NF_F_EVENT_TIME_MSEC(323,8) NF_F_FLOW_CREATE_TIME_MSEC(152,8)
// NF_F_INGRESS_ACL_ID(33000,12) NF_F_EGRESS_ACL_ID(33001,12)
// NF_F_USERNAME(40000,20).
TEST_F(fx, nsel_v9_flow_create_post_nat) {
    const std::vector<std::pair<uint16_t, uint16_t>> f = {
        {148, 4}, {8, 4},   {7, 2},     {10, 2},    {12, 4},    {11, 2},     {14, 2},
        {4, 1},   {176, 1}, {177, 1},   {225, 4},   {226, 4},   {227, 2},    {228, 2},
        {233, 1}, {33002, 2}, {323, 8}, {152, 8},   {33000, 12}, {33001, 12}, {40000, 20}};
    test::set_builder b;
    b.u16(9).u16(2).u32(123456).u32(export_secs).u32(1).u32(0);
    auto t = b.open(0);
    b.u16(263).u16(f.size());
    for (auto [id, len] : f) b.u16(id).u16(len);
    b.close(t);
    auto d = b.open(263);
    b.u32(0xabcdef).ip4(192, 168, 10, 20).u16(51000).u16(3).ip4(8, 8, 8, 8).u16(53).u16(4);
    b.u8(17).u8(0).u8(0).ip4(203, 0, 113, 5).ip4(8, 8, 8, 8).u16(1025).u16(53);
    b.u8(1).u16(0).u64(1700000000123ull).u64(1700000000100ull).zeros(12).zeros(12);
    const char user[20] = "alice";
    for (char c : user) b.u8(uint8_t(c));
    b.zeros(2);  // padding to 4 bytes
    b.close(d);
    out.clear();
    ASSERT_EQ(decode_netflow_v9(b.b, meta, *ex, out), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    const flow_record& r = storage[0];
    expect_v4(r.src_addr, 192, 168, 10, 20);
    expect_v4(r.dst_addr, 8, 8, 8, 8);
    EXPECT_EQ(r.src_port, 51000);
    EXPECT_EQ(r.dst_port, 53);
    EXPECT_EQ(r.in_if, 3u);
    EXPECT_EQ(r.out_if, 4u);
    EXPECT_EQ(r.proto, 17);
    expect_v4(r.post_nat_src_addr, 203, 0, 113, 5);
    expect_v4(r.post_nat_dst_addr, 8, 8, 8, 8);
    EXPECT_EQ(r.post_nat_src_port, 1025);
    EXPECT_EQ(r.post_nat_dst_port, 53);
    EXPECT_EQ(r.time_flow_start_ns, 1700000000100000000ull);  // NF_F_FLOW_CREATE_TIME_MSEC
    EXPECT_EQ(r.type, flow_type::netflow_v9);
    expect_counters(ex->counters, {{counter::datagrams, 1}, {counter::templates_learned, 1}, {counter::flow_records, 1}});
}

// Juniper inline monitoring style: only the sampled frame, its size and the
// interfaces.
const fields frame_template = {{10, 4}, {312, 2}, {315, 65535}};

bytes frame_record(const bytes& frame, uint16_t size) { return cat({be32(7), be16(size), varlen(frame)}); }

TEST_F(fx, frame_section_qinq_ipv4_tcp) {
    const bytes frame = cat({eth(0x88a8), tag(0x2064, 0x8100), tag(0x00c8, 0x0800), ipv4(6, 63, 0x28),
                             tcp(40000, 443, 0x12)});
    ASSERT_EQ(ipfix(frame_template, frame_record(frame, 1514), 1), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    const flow_record& r = storage[0];
    EXPECT_EQ(r.in_if, 7u);
    EXPECT_EQ(r.bytes, 1514u);  // dataLinkFrameSize
    EXPECT_EQ(r.packets, 1u);   // one sampled packet
    EXPECT_EQ(std::memcmp(r.src_mac, smac.data(), 6), 0);
    EXPECT_EQ(std::memcmp(r.dst_mac, dmac.data(), 6), 0);
    EXPECT_EQ(r.vlan_id, 100);        // outer S-tag
    EXPECT_EQ(r.inner_vlan_id, 200);  // inner C-tag
    EXPECT_EQ(r.etype, 0x0800);
    expect_v4(r.src_addr, 10, 1, 2, 3);
    expect_v4(r.dst_addr, 10, 4, 5, 6);
    EXPECT_EQ(r.proto, 6);
    EXPECT_EQ(r.ip_tos, 0x28);
    EXPECT_EQ(r.ip_ttl, 63);
    EXPECT_EQ(r.src_port, 40000);
    EXPECT_EQ(r.dst_port, 443);
    EXPECT_EQ(r.tcp_flags, 0x12);
    expect_counters(ex->counters, {{counter::datagrams, 1}, {counter::templates_learned, 1}, {counter::flow_records, 1}});
}

// The optional per-record header spans (record_buffer::headers) point at the record's dataLinkFrameSection.
TEST_F(fx, frame_section_header_span) {
    const bytes frame = cat({eth(0x0800), ipv4(17, 64, 0), udp(53, 33000)});
    std::vector<header_span> spans(16, header_span{reinterpret_cast<const uint8_t*>(1), 99});  // stale values
    out.headers = spans.data();
    ASSERT_EQ(ipfix(frame_template, cat({frame_record(frame, 1514), frame_record(frame, 60)}), 2), decode_status::ok);
    ASSERT_EQ(out.size, 2u);
    for (unsigned i = 0; i < 2; ++i) {
        ASSERT_EQ(spans[i].size, frame.size());
        EXPECT_EQ(std::memcmp(spans[i].data, frame.data(), frame.size()), 0);
    }
    // A template without a section: the spans are reset, not left stale.
    ASSERT_EQ(ipfix({{10, 4}, {2, 4}}, cat({be32(7), be32(1)}), 1), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    EXPECT_EQ(spans[0].size, 0u);
    EXPECT_EQ(spans[0].data, nullptr);
}

TEST_F(fx, frame_section_mpls_ipv6_udp_three_byte_length) {
    bytes frame = cat({eth(0x8847), mpls(16004, false), mpls(299776, true), ipv6(17, 250, 0x12345, 0xb8),
                       udp(53, 33000)});
    frame.resize(300, 0xee);  // payload: forces the 255 + 2-byte length form
    ASSERT_EQ(ipfix(frame_template, frame_record(frame, 1400), 1), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    const flow_record& r = storage[0];
    EXPECT_EQ(r.mpls_label, 16004u);
    EXPECT_EQ(r.etype, 0x86dd);
    EXPECT_EQ(std::memcmp(r.src_addr, v6src.data(), 16), 0);
    EXPECT_EQ(std::memcmp(r.dst_addr, v6dst.data(), 16), 0);
    EXPECT_EQ(r.proto, 17);
    EXPECT_EQ(r.ip_tos, 0xb8);
    EXPECT_EQ(r.ip_ttl, 250);
    EXPECT_EQ(r.ipv6_flow_label, 0x12345u);
    EXPECT_EQ(r.src_port, 53);
    EXPECT_EQ(r.dst_port, 33000);
    EXPECT_EQ(r.vlan_id, 0);
    EXPECT_EQ(r.inner_vlan_id, 0);
}

TEST_F(fx, frame_section_never_overrides_template_fields) {
    // The template carries addresses and protocol after the frame: they win.
    const fields f = {{315, 65535}, {8, 4}, {12, 4}, {4, 1}, {2, 4}};
    const bytes frame = cat({eth(0x8100), tag(0x0005, 0x0800), ipv4(17, 9, 0), udp(1, 2)});
    const bytes rec = cat({varlen(frame), {172, 16, 0, 1}, {172, 16, 0, 2}, {47}, be32(5)});
    ASSERT_EQ(ipfix(f, rec, 1), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    const flow_record& r = storage[0];
    expect_v4(r.src_addr, 172, 16, 0, 1);
    expect_v4(r.dst_addr, 172, 16, 0, 2);
    EXPECT_EQ(r.proto, 47);
    EXPECT_EQ(r.packets, 5u);
    EXPECT_EQ(r.src_port, 1);  // not in the template: from the frame
    EXPECT_EQ(r.vlan_id, 5);
    EXPECT_EQ(r.ip_ttl, 9);
    EXPECT_EQ(r.etype, 0x0800);
}

TEST_F(fx, ip_header_section_and_unparsable_sections_are_counted) {
    const fields f = {{313, 65535}};
    const bytes good = varlen(cat({ipv4(1, 64, 0), {8, 0, 0, 0}}));  // ICMP echo request
    const bytes cut = varlen({0x45, 0x00, 0x00});                    // IPv4 cut inside its header
    const bytes junk = varlen({0x12, 0x34});                         // not IPv4 / IPv6
    ASSERT_EQ(ipfix(f, cat({good, cut, junk}), 3), decode_status::partial);  // an err_* counter moved
    ASSERT_EQ(out.size, 3u);
    expect_v4(storage[0].src_addr, 10, 1, 2, 3);
    EXPECT_EQ(storage[0].proto, 1);
    EXPECT_EQ(storage[0].icmp_type, 8);
    EXPECT_EQ(storage[0].etype, 0x0800);
    EXPECT_EQ(storage[0].packets, 1u);
    EXPECT_TRUE(is_zero_address(storage[1].src_addr));
    EXPECT_EQ(storage[1].etype, 0x0800);  // known from the version nibble
    EXPECT_EQ(storage[2].etype, 0);
    expect_counters(ex->counters, {{counter::datagrams, 1},
                                   {counter::templates_learned, 1},
                                   {counter::flow_records, 3},
                                   {counter::err_frame_section_parse, 2}});
}

TEST_F(fx, frame_section_in_fixed_length_template) {
    // A fixed 64-byte dataLinkFrameSection (some exporters pad to a fixed size).
    bytes frame = cat({eth(0x0800), ipv4(6, 128, 0), tcp(1000, 22, 0x02)});
    frame.resize(64, 0);
    ASSERT_EQ(ipfix({{315, 64}}, frame, 1), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    EXPECT_EQ(storage[0].dst_port, 22);
    EXPECT_EQ(storage[0].tcp_flags, 0x02);
    EXPECT_EQ(storage[0].ip_ttl, 128);
    expect_counters(ex->counters, {{counter::datagrams, 1}, {counter::templates_learned, 1}, {counter::flow_records, 1}});
}

}  // namespace
}  // namespace sluice::decode
