// SPDX-License-Identifier: Apache-2.0
// JSON and table renderings: exact text for known records.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <array>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "dataplane/decode/record_format.hpp"

using namespace sluice::decode;

TEST(record_format, addresses) {
    uint8_t a[16];
    char t[46];
    const uint8_t v4[4] = {192, 0, 2, 1};
    set_ipv4(a, v4);
    EXPECT_EQ(std::string(t, format_address(a, t)), "192.0.2.1");
    const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    set_ipv6(a, v6);
    EXPECT_EQ(std::string(t, format_address(a, t)), "2001:db8::1");
    std::memset(a, 0, 16);
    EXPECT_EQ(format_address(a, t), 0u);
}

TEST(record_format, flow_json_is_exact) {
    flow_record r{};
    const uint8_t s[4] = {10, 0, 0, 1}, d[4] = {10, 0, 0, 2}, e[4] = {192, 0, 2, 9};
    set_ipv4(r.src_addr, s);
    set_ipv4(r.dst_addr, d);
    set_ipv4(r.sampler_address, e);
    r.type = flow_type::ipfix;
    r.kind = record_kind::flow;
    r.bytes = 1500;
    r.packets = 3;
    r.proto = 6;
    r.src_port = 1234;
    r.dst_port = 80;
    r.etype = 0x0800;
    r.sampling_rate = 10;
    r.direction = flow_direction::unknown;
    r.export_version = 10;
    r.flags = record_flags::biflow_reverse;
    char buf[max_json_size];
    const std::string j(buf, format_json(r, buf, sizeof buf));
    EXPECT_EQ(j,
              "{\"type\":\"IPFIX\",\"kind\":\"flow\",\"time_received_ns\":0,\"sequence_num\":0,"
              "\"sampler_address\":\"192.0.2.9\",\"observation_domain_id\":0,\"sampling_rate\":10,"
              "\"time_flow_start_ns\":0,\"time_flow_end_ns\":0,\"bytes\":1500,\"packets\":3,"
              "\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"next_hop\":\"\",\"etype\":2048,\"proto\":6,"
              "\"src_port\":1234,\"dst_port\":80,\"in_if\":0,\"out_if\":0,\"src_as\":0,\"dst_as\":0,\"src_net\":0,"
              "\"dst_net\":0,\"ip_tos\":0,\"tcp_flags\":0,\"icmp_type\":0,\"icmp_code\":0,\"vlan_id\":0,"
              "\"inner_vlan_id\":0,\"src_vlan\":0,\"dst_vlan\":0,\"src_mac\":\"00:00:00:00:00:00\","
              "\"dst_mac\":\"00:00:00:00:00:00\",\"mpls_label\":0,\"ip_ttl\":0,\"ipv6_flow_label\":0,"
              "\"forwarding_status\":0,\"flow_end_reason\":0,\"bgp_next_hop\":\"\",\"next_hop_as\":0,"
              "\"post_nat_src_addr\":\"\",\"post_nat_dst_addr\":\"\",\"post_nat_src_port\":0,"
              "\"post_nat_dst_port\":0,\"in_if_format\":0,\"out_if_format\":0,"
              "\"flow_direction\":255,\"biflow_reverse\":true,\"sampling_overridden\":false,"
              "\"export_version\":10}");
}

TEST(record_format, new_fields_json_is_exact) {
    flow_record r{};
    r.type = flow_type::netflow_v9;
    r.kind = record_kind::flow;
    const uint8_t sm[6] = {0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc}, dm[6] = {0xfe, 0xff, 0x00, 0x01, 0x02, 0x0f};
    std::memcpy(r.src_mac, sm, 6);
    std::memcpy(r.dst_mac, dm, 6);
    r.vlan_id = 100;
    r.inner_vlan_id = 200;
    r.src_vlan = 10;
    r.dst_vlan = 20;
    r.ip_ttl = 255;
    r.ipv6_flow_label = 0xfffff;
    r.forwarding_status = 66;
    r.flow_end_reason = 3;
    const uint8_t bgp[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfe};
    set_ipv6(r.bgp_next_hop, bgp);
    r.next_hop_as = 4200000000u;
    const uint8_t ns[4] = {198, 51, 100, 7}, nd[4] = {203, 0, 113, 9};
    set_ipv4(r.post_nat_src_addr, ns);
    set_ipv4(r.post_nat_dst_addr, nd);
    r.post_nat_src_port = 40001;
    r.post_nat_dst_port = 65535;
    r.in_if_format = if_format::local;
    r.out_if_format = if_format::discarded;
    r.export_version = 9;
    char buf[max_json_size];
    const std::string j(buf, format_json(r, buf, sizeof buf));
    EXPECT_NE(j.find("\"vlan_id\":100,\"inner_vlan_id\":200,\"src_vlan\":10,\"dst_vlan\":20,"
                     "\"src_mac\":\"00:1b:21:aa:bb:cc\",\"dst_mac\":\"fe:ff:00:01:02:0f\",\"mpls_label\":0,"
                     "\"ip_ttl\":255,\"ipv6_flow_label\":1048575,\"forwarding_status\":66,\"flow_end_reason\":3,"
                     "\"bgp_next_hop\":\"2001:db8::fe\",\"next_hop_as\":4200000000,"
                     "\"post_nat_src_addr\":\"198.51.100.7\",\"post_nat_dst_addr\":\"203.0.113.9\","
                     "\"post_nat_src_port\":40001,\"post_nat_dst_port\":65535,\"in_if_format\":3,"
                     "\"out_if_format\":1,"),
              std::string::npos)
        << j;
    // A buffer below max_json_size still gets the same bytes when they fit.
    char small[1024];
    ASSERT_LT(j.size(), sizeof small);
    EXPECT_EQ(std::string(small, format_json(r, small, sizeof small)), j);
}

// format_address must equal glibc's inet_ntop byte for byte (RFC 5952
// canonical text), on edge cases and on many random addresses.
namespace {
std::string ntop(const uint8_t a[16]) {
    char t[INET6_ADDRSTRLEN];
    if (is_ipv4_mapped(a)) return inet_ntop(AF_INET, a + 12, t, sizeof t);
    return inet_ntop(AF_INET6, a, t, sizeof t);
}
std::string ours(const uint8_t a[16]) {
    char t[46];
    const std::size_t n = format_address(a, t);
    EXPECT_EQ(t[n], '\0');
    return std::string(t, n);
}
}  // namespace

TEST(record_format, address_text_equals_inet_ntop) {
    std::vector<std::array<uint8_t, 16>> cases;
    auto words = [&](std::initializer_list<uint16_t> w) {
        std::array<uint8_t, 16> a{};
        int i = 0;
        for (uint16_t v : w) {
            a[2 * i] = uint8_t(v >> 8);
            a[2 * i + 1] = uint8_t(v);
            ++i;
        }
        cases.push_back(a);
    };
    words({0, 0, 0, 0, 0, 0, 0, 1});              // ::1
    words({1, 0, 0, 0, 0, 0, 0, 0});              // 1::
    words({0, 0, 0, 0, 0, 0, 0x0102, 0x0304});    // ::1.2.3.4 (IPv4-compatible, as inet_ntop prints it)
    words({0, 0, 0, 0, 0, 0xffff, 0, 0});         // ::ffff:0.0.0.0 -> IPv4-mapped: dotted quad
    words({0, 0, 0, 0, 0xffff, 0, 0, 1});         // ::ffff:0:0:1
    words({0, 0, 0, 0, 0, 0, 0, 0x0102});         // ::102
    words({0x2001, 0xdb8, 0, 0, 1, 0, 0, 1});     // first of equal runs: 2001:db8::1:0:0:1
    words({0x2001, 0xdb8, 0, 1, 1, 1, 1, 1});     // single zero group not compressed
    words({0x2001, 0, 0, 1, 0, 0, 0, 1});         // longest run wins
    words({0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff});
    words({0, 0xa, 0, 0, 0, 0, 0xb, 0});
    words({0xfe80, 0, 0, 0, 0x0202, 0xb3ff, 0xfe1e, 0x8329});
    words({0, 0, 0, 0, 0, 0, 1, 0});              // ::1:0
    words({0, 0, 1, 0, 0, 0, 0, 0});              // 0:0:1::
    std::mt19937_64 rng(20261201);
    for (int i = 0; i < 200000; ++i) {
        std::array<uint8_t, 16> a;
        for (auto& b : a) {
            // Bias towards zero bytes and groups so runs of every length occur.
            const uint64_t v = rng();
            b = (v & 3) == 0 ? uint8_t(v >> 8) : 0;
        }
        if (rng() % 8 == 0) {  // IPv4-mapped and -compatible shapes too
            std::memset(a.data(), 0, 10);
            a[10] = a[11] = (rng() & 1) ? 0xff : 0;
        }
        cases.push_back(a);
    }
    for (int i = 0; i < 50000; ++i) {
        std::array<uint8_t, 16> a;
        for (auto& b : a) b = uint8_t(rng());
        cases.push_back(a);
    }
    for (const auto& a : cases) {
        if (is_zero_address(a.data())) continue;
        ASSERT_EQ(ours(a.data()), ntop(a.data()));
    }
    uint8_t v4[16];
    for (uint32_t i = 0; i < 100000; ++i) {
        set_ipv4_host(v4, static_cast<uint32_t>(rng()));
        ASSERT_EQ(ours(v4), ntop(v4));
    }
    const uint8_t edge[4] = {0, 0, 0, 0};
    set_ipv4(v4, edge);
    EXPECT_EQ(ours(v4), "0.0.0.0");
}

TEST(record_format, mac_text) {
    const uint8_t m[6] = {0x0a, 0xb0, 0xc0, 0xd0, 0xe0, 0xf9};
    char t[18];
    EXPECT_EQ(std::string(t, format_mac(m, t)), "0a:b0:c0:d0:e0:f9");
}

TEST(record_format, json_never_overflows_and_reports_truncation) {
    flow_record r{};
    std::memset(&r, 0xff, sizeof r);  // every field at its widest
    r.type = flow_type::sflow_5;
    r.kind = record_kind::flow;
    char buf[max_json_size];
    const std::size_t n = format_json(r, buf, sizeof buf);
    EXPECT_GT(n, 0u);
    EXPECT_LT(n, max_json_size);
    char small[64];
    EXPECT_EQ(format_json(r, small, sizeof small), 0u);
}

TEST(record_format, counter_record_json) {
    flow_record r{};
    r.type = flow_type::sflow_5;
    r.kind = record_kind::interface_counters;
    r.in_if = 7;
    r.if_speed_mbps = 10000;
    r.bytes = 123;
    r.if_out_bytes = 456;
    r.export_version = 5;
    char buf[max_json_size];
    const std::string j(buf, format_json(r, buf, sizeof buf));
    EXPECT_NE(j.find("\"kind\":\"interface_counters\""), std::string::npos);
    EXPECT_NE(j.find("\"in_if\":7,\"if_speed_mbps\":10000,\"bytes\":123"), std::string::npos);
    EXPECT_NE(j.find("\"if_out_bytes\":456"), std::string::npos);
    EXPECT_EQ(j.find("src_addr"), std::string::npos);
}

TEST(record_format, table_row) {
    flow_record r{};
    r.type = flow_type::netflow_v5;
    char buf[max_table_row_size];
    const std::string row(buf, format_table_row(r, buf, sizeof buf));
    EXPECT_EQ(row.rfind("NETFLOW_V5", 0), 0u);
}
