// SPDX-License-Identifier: Apache-2.0
// JSON and table renderings: exact text for known records.
#include <gtest/gtest.h>

#include <string>

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
              "\"mpls_label\":0,\"flow_direction\":255,\"biflow_reverse\":true,\"sampling_overridden\":false,"
              "\"export_version\":10}");
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
