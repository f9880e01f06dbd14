// SPDX-License-Identifier: Apache-2.0
// The sink encoders: flow id (against golden values of tests/sinks/flow_id.py's independent implementation),
// record_index as every decoder sets it on the bundled captures, protobuf wire details and bounds, ECS JSON
// bounds, dates and an exact line.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "dataplane/decode/decoder.hpp"
#include "dataplane/offline/offline_reader.hpp"
#include "sinks/encode/ecs_json.hpp"
#include "sinks/encode/flow_id.hpp"
#include "sinks/encode/protobuf.hpp"

using namespace sluice;
using namespace sluice::sinks::encode;
using decode::flow_record;

namespace {

flow_record sample_record() {
    flow_record r{};
    const uint8_t exp[4] = {192, 0, 2, 1}, s[4] = {10, 0, 0, 1}, d[4] = {10, 0, 0, 2};
    decode::set_ipv4(r.sampler_address, exp);
    decode::set_ipv4(r.src_addr, s);
    decode::set_ipv4(r.dst_addr, d);
    r.export_version = 10;
    r.type = decode::flow_type::ipfix;
    r.observation_domain_id = 7;
    r.sequence_num = 1000;
    r.record_index = 3;
    r.time_flow_start_ns = 1764547200123456789ull;
    r.time_flow_end_ns = 1764547260987654321ull;
    r.time_received_ns = 1764547261000000001ull;
    r.bytes = 1500;
    r.packets = 3;
    r.proto = 6;
    r.src_port = 443;
    r.dst_port = 51000;
    r.etype = 0x0800;
    r.in_if = 3;
    r.out_if = 4;
    r.sampling_rate = 1;
    r.direction = decode::flow_direction::unknown;
    return r;
}

// A minimal protobuf reader for the tests: field number -> last value (varint / fixed64) or bytes.
struct pb_fields {
    std::map<uint32_t, uint64_t> num;
    std::map<uint32_t, std::string> len;
};
uint64_t read_varint(const uint8_t*& p, const uint8_t* e) {
    uint64_t v = 0;
    for (int s = 0; p < e; s += 7) {
        const uint8_t b = *p++;
        v |= uint64_t(b & 0x7f) << s;
        if (!(b & 0x80)) return v;
    }
    ADD_FAILURE() << "truncated varint";
    return v;
}
pb_fields parse_pb(const uint8_t* p, std::size_t n) {
    pb_fields f;
    const uint8_t* e = p + n;
    while (p < e) {
        const uint64_t key = read_varint(p, e);
        const auto field = uint32_t(key >> 3);
        switch (key & 7) {
            case 0: f.num[field] = read_varint(p, e); break;
            case 1: {
                uint64_t v = 0;
                for (int i = 0; i < 8; ++i) v |= uint64_t(p[i]) << (8 * i);
                p += 8;
                f.num[field] = v;
                break;
            }
            case 2: {
                const uint64_t l = read_varint(p, e);
                f.len[field] = std::string(reinterpret_cast<const char*>(p), l);
                p += l;
                break;
            }
            default: ADD_FAILURE() << "wire type " << (key & 7); return f;
        }
    }
    return f;
}

}  // namespace

TEST(flow_id, matches_the_documented_definition) {
    // Golden values from tests/sinks/flow_id.py (written from the header's definition, not from this code).
    flow_record r = sample_record();
    EXPECT_EQ(flow_id(r), 0x7d98ee94651b309eull);
    flow_record s{};
    const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    decode::set_ipv6(s.sampler_address, v6);
    s.export_version = 5;
    s.type = decode::flow_type::sflow_5;
    s.sequence_num = 42;
    s.time_flow_end_ns = 99;  // ignored: times_from_export
    s.flags = decode::record_flags::times_from_export;
    EXPECT_EQ(flow_id(s), 0xae958534ace4ffa3ull);
}

TEST(flow_id, every_input_matters_and_nothing_else_does) {
    const flow_record base = sample_record();
    const uint64_t id = flow_id(base);
    auto differs = [&](auto change) {
        flow_record r = base;
        change(r);
        return flow_id(r) != id;
    };
    EXPECT_TRUE(differs([](flow_record& r) { r.sampler_address[15] ^= 1; }));
    EXPECT_TRUE(differs([](flow_record& r) { r.observation_domain_id += 1; }));
    EXPECT_TRUE(differs([](flow_record& r) { r.sequence_num += 1; }));
    EXPECT_TRUE(differs([](flow_record& r) { r.record_index += 1; }));
    EXPECT_TRUE(differs([](flow_record& r) { r.export_version = 9; }));
    EXPECT_TRUE(differs([](flow_record& r) { r.type = decode::flow_type::netflow_v9; }));
    EXPECT_TRUE(differs([](flow_record& r) { r.time_flow_end_ns += 1; }));
    // What a collector adds or changes is no input: both collectors of a pair compute the same id.
    EXPECT_FALSE(differs([](flow_record& r) { r.time_received_ns += 12345; }));
    EXPECT_FALSE(differs([](flow_record& r) { r.sampling_rate *= 4; }));
    EXPECT_FALSE(differs([](flow_record& r) { r.extrapolated_bytes = 99; }));
    EXPECT_FALSE(differs([](flow_record& r) { r.signature_tags = 1; }));
    EXPECT_FALSE(differs([](flow_record& r) { r.flags |= decode::record_flags::sampling_overridden; }));
    // A record whose times are the collector's clock: the end time is no input.
    flow_record t = base;
    t.flags = decode::record_flags::times_from_export;
    const uint64_t tid = flow_id(t);
    t.time_flow_end_ns += 777;
    EXPECT_EQ(flow_id(t), tid);
}

TEST(record_index, number_records_counts_from_the_datagram_start_and_saturates) {
    std::vector<flow_record> v(70000);
    decode::record_buffer out{v.data(), uint32_t(v.size()), 0};
    out.size = 5;
    v[4].record_index = 1234;  // an earlier datagram's record: untouched
    out.size = uint32_t(v.size());
    decode::number_records(out, 5);
    EXPECT_EQ(v[4].record_index, 1234);
    EXPECT_EQ(v[5].record_index, 0);
    EXPECT_EQ(v[6].record_index, 1);
    EXPECT_EQ(v[5 + 0xfffe].record_index, 0xfffe);
    EXPECT_EQ(v[5 + 0xffff].record_index, 0xffff);
    EXPECT_EQ(v[69999].record_index, 0xffff);
}

// Every decoder numbers the records of each datagram 0, 1, 2, ... (real captures of every protocol, biflows too).
TEST(record_index, every_decoder_numbers_each_datagram_from_zero) {
    const std::string dir = SLUICE_FIXTURES_DIR;
    for (const char* name : {"fprobe-v5-ipv4.pcap", "softflowd-v5-ipv4.pcap", "softflowd-v9-ipv4.pcap",
                             "pmacct-nfprobe-v9.pcap", "softflowd-ipfix-ipv4.pcap", "softflowd-ipfix-biflow-ipv4.pcap",
                             "pmacct-nfprobe-ipfix.pcap", "pmacct-sfprobe-sflow.pcap"}) {
        SCOPED_TRACE(name);
        offline::offline_reader reader(offline::reader_options{});
        uint64_t records = 0, multi = 0;
        std::string err;
        ASSERT_TRUE(reader.read_file(
            dir + "/" + name,
            [&](std::span<const flow_record> recs) {
                for (std::size_t i = 0; i < recs.size(); ++i) EXPECT_EQ(recs[i].record_index, i);
                records += recs.size();
                if (recs.size() > 1) ++multi;
            },
            &err))
            << err;
        EXPECT_GT(records, 0u);
        EXPECT_GT(multi, 0u) << "no datagram with several records: the test would prove nothing";
    }
}

TEST(protobuf, a_maxed_record_fits_with_room_for_the_key_copy_slack) {
    flow_record r;
    std::memset(&r, 0xff, sizeof r);  // every field at its widest
    std::vector<uint8_t> buf(k_protobuf_max + 64, 0xee);
    const std::size_t n = protobuf_encode(r, buf.data());
    EXPECT_LE(n + 3, k_protobuf_max);
    for (std::size_t i = n + 3; i < buf.size(); ++i) ASSERT_EQ(buf[i], 0xee) << i;
}

TEST(protobuf, fields_numbers_and_wire_types) {
    flow_record r = sample_record();
    r.src_mac[0] = 0x00;
    r.src_mac[5] = 0x01;
    r.mpls_label = 300;
    uint8_t buf[k_protobuf_max];
    const pb_fields f = parse_pb(buf, protobuf_encode(r, buf));
    EXPECT_EQ(f.num.at(1), 4u);  // IPFIX
    EXPECT_EQ(f.num.at(3), 1u);
    EXPECT_EQ(f.num.at(4), 1000u);
    EXPECT_EQ(f.len.at(6), std::string("\x0a\x00\x00\x01", 4));
    EXPECT_EQ(f.len.at(7), std::string("\x0a\x00\x00\x02", 4));
    EXPECT_EQ(f.len.at(11), std::string("\xc0\x00\x02\x01", 4));
    EXPECT_EQ(f.num.at(9), 1500u);
    EXPECT_EQ(f.num.at(10), 3u);
    EXPECT_EQ(f.num.at(20), 6u);
    EXPECT_EQ(f.num.at(21), 443u);
    EXPECT_EQ(f.num.at(22), 51000u);
    EXPECT_EQ(f.num.at(27), 1u);     // 00:..:01 as a big-endian u64
    EXPECT_EQ(f.num.at(42), 255u);   // unknown direction, always written
    EXPECT_EQ(f.len.at(81), std::string("\xac\x02", 2));  // packed [300]
    EXPECT_EQ(f.num.at(70), 7u);
    EXPECT_EQ(f.num.at(110), r.time_received_ns);
    EXPECT_EQ(f.num.at(111), r.time_flow_start_ns);
    EXPECT_EQ(f.num.at(112), r.time_flow_end_ns);
    EXPECT_EQ(f.num.at(200), flow_id(r));
    EXPECT_EQ(f.num.at(201), 3u);
    EXPECT_EQ(f.num.at(203), 10u);
    EXPECT_EQ(f.num.count(2), 0u);    // never used (goflow2's old second timestamps)
    EXPECT_EQ(f.num.count(12), 0u);   // zero fields are omitted
    EXPECT_EQ(f.len.count(12), 0u);
    EXPECT_EQ(f.num.count(202), 0u);  // kind flow = 0
    EXPECT_EQ(f.num.count(1000), 0u);
}

TEST(protobuf, delimited_framing_one_and_two_byte_lengths) {
    flow_record small{};
    small.direction = decode::flow_direction::ingress;
    uint8_t one[k_protobuf_max], framed[k_protobuf_delimited_max];
    const std::size_t n1 = protobuf_encode(small, one);
    ASSERT_LT(n1, 128u);
    ASSERT_EQ(protobuf_encode_delimited(small, framed), n1 + 1);
    EXPECT_EQ(framed[0], n1);
    EXPECT_EQ(std::memcmp(framed + 1, one, n1), 0);

    flow_record big;
    std::memset(&big, 0xff, sizeof big);
    const std::size_t n2 = protobuf_encode(big, one);
    ASSERT_GE(n2, 128u);
    ASSERT_EQ(protobuf_encode_delimited(big, framed), n2 + 2);
    EXPECT_EQ(framed[0], (n2 & 0x7f) | 0x80);
    EXPECT_EQ(framed[1], n2 >> 7);
    EXPECT_EQ(std::memcmp(framed + 2, one, n2), 0);

    // A batch is the concatenation of the delimited messages, in order.
    std::vector<flow_record> recs(300, sample_record());
    for (std::size_t i = 0; i < recs.size(); ++i) recs[i].record_index = uint16_t(i);
    recs[7] = big;
    byte_buffer b;
    protobuf_append_delimited(b, recs);
    std::string want;
    for (const auto& r : recs) want.append(reinterpret_cast<char*>(framed), protobuf_encode_delimited(r, framed));
    ASSERT_EQ(b.size(), want.size());
    EXPECT_EQ(std::memcmp(b.data(), want.data(), want.size()), 0);
    // Appending again reuses the buffer once it has grown: no further allocation.
    const std::size_t cap = b.capacity();
    const uint8_t* data = b.data();
    b.clear();
    protobuf_append_delimited(b, recs);
    EXPECT_EQ(b.capacity(), cap);
    EXPECT_EQ(b.data(), data);
}

TEST(ecs_json, dates_are_rfc3339_utc_with_nanoseconds) {
    char out[32];
    auto date = [&](uint64_t ns) { return std::string(out, format_rfc3339_ns(ns, out)); };
    EXPECT_EQ(date(0), "1970-01-01T00:00:00.000000000Z");
    EXPECT_EQ(date(951782400ull * 1000000000ull + 1), "2000-02-29T00:00:00.000000001Z");
    EXPECT_EQ(date(1764547200123456789ull), "2025-12-01T00:00:00.123456789Z");
    EXPECT_EQ(date(4102444799999999999ull), "2099-12-31T23:59:59.999999999Z");
    EXPECT_EQ(date(18446744073709551615ull), "2554-07-21T23:34:33.709551615Z");
}

TEST(ecs_json, a_maxed_record_fits) {
    flow_record r;
    std::memset(&r, 0xff, sizeof r);
    r.kind = decode::record_kind::flow;
    std::vector<char> buf(k_ecs_json_max + 64, '\x01');
    const std::size_t n = ecs_json_encode(r, buf.data());
    EXPECT_LT(n, k_ecs_json_max);
    for (std::size_t i = k_ecs_json_max; i < buf.size(); ++i) ASSERT_EQ(buf[i], '\x01');
}

TEST(ecs_json, exact_line) {
    const flow_record r = sample_record();
    char buf[k_ecs_json_max];
    const std::string got(buf, ecs_json_encode(r, buf));
    EXPECT_EQ(got,
              "{\"@timestamp\":\"2025-12-01T00:01:00.987654321Z\",\"event\":{\"id\":\"7d98ee94651b309e\","
              "\"kind\":\"event\",\"category\":[\"network\"],\"type\":[\"connection\"],"
              "\"created\":\"2025-12-01T00:01:01.000000001Z\",\"start\":\"2025-12-01T00:00:00.123456789Z\","
              "\"end\":\"2025-12-01T00:01:00.987654321Z\",\"duration\":60864197532},"
              "\"source\":{\"port\":443,\"ip\":\"10.0.0.1\"},\"destination\":{\"port\":51000,\"ip\":\"10.0.0.2\"},"
              "\"network\":{\"iana_number\":\"6\",\"transport\":\"tcp\",\"bytes\":1500,\"packets\":3,"
              "\"direction\":\"unknown\",\"type\":\"ipv4\"},"
              "\"observer\":{\"ingress\":{\"interface\":{\"id\":\"3\"}},\"egress\":{\"interface\":{\"id\":\"4\"}},"
              "\"ip\":\"192.0.2.1\"},"
              "\"sluice\":{\"flow_type\":\"IPFIX\",\"kind\":\"flow\",\"export_version\":10,\"sequence_num\":1000,"
              "\"observation_domain_id\":7,\"record_index\":3,\"sampling_rate\":1,\"next_hop_as\":0,\"src_net\":0,"
              "\"dst_net\":0,\"tcp_flags\":0,\"ip_tos\":0,\"ip_ttl\":0,\"icmp_type\":0,\"icmp_code\":0,"
              "\"src_vlan\":0,\"dst_vlan\":0,\"mpls_label\":0,\"ipv6_flow_label\":0,\"forwarding_status\":0,"
              "\"flow_end_reason\":0,\"in_if_format\":0,\"out_if_format\":0,\"biflow_reverse\":false,"
              "\"sampling_overridden\":false,\"times_from_export\":false}}");
}

// Random records (every byte random, addresses IPv4-mapped half the time): every encoding stays inside its bound
// (guard bytes after the bound untouched), protobuf parses back to the record's values, ECS JSON is one object.
TEST(encoders, random_records_stay_in_bounds) {
    uint64_t s = 0x9e3779b97f4a7c15ull;
    auto rnd = [&] {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return s;
    };
    std::vector<uint8_t> pb(k_protobuf_delimited_max + 32);
    std::vector<char> js(k_ecs_json_max + 32);
    for (int it = 0; it < 20000; ++it) {
        flow_record r;
        auto* b = reinterpret_cast<uint8_t*>(&r);
        for (std::size_t i = 0; i < sizeof r; ++i) b[i] = static_cast<uint8_t>(rnd());
        if (rnd() & 1) {
            for (uint8_t* a : {r.src_addr, r.dst_addr, r.next_hop, r.sampler_address, r.bgp_next_hop}) {
                std::memset(a, 0, 10);
                a[10] = a[11] = 0xff;
            }
        }
        r.kind = (rnd() & 1) ? decode::record_kind::flow : decode::record_kind::interface_counters;
        std::fill(pb.begin(), pb.end(), 0xee);
        const std::size_t n = protobuf_encode_delimited(r, pb.data());
        ASSERT_LE(n, k_protobuf_delimited_max);
        for (std::size_t i = k_protobuf_delimited_max; i < pb.size(); ++i) ASSERT_EQ(pb[i], 0xee);
        const uint8_t* p = pb.data();
        const uint64_t len = read_varint(p, pb.data() + n);
        ASSERT_EQ(std::size_t(p - pb.data()) + len, n);
        const pb_fields f = parse_pb(p, len);
        EXPECT_EQ(f.num.count(9) ? f.num.at(9) : 0, r.bytes);
        EXPECT_EQ(f.num.at(200), flow_id(r));
        std::fill(js.begin(), js.end(), '\x01');
        const std::size_t m = ecs_json_encode(r, js.data());
        ASSERT_LT(m, k_ecs_json_max);
        for (std::size_t i = k_ecs_json_max; i < js.size(); ++i) ASSERT_EQ(js[i], '\x01');
        int depth = 0;
        for (std::size_t i = 0; i < m; ++i) {
            depth += js[i] == '{';
            depth -= js[i] == '}';
            ASSERT_GE(depth, i + 1 < m ? 1 : 0) << std::string(js.data(), m);
        }
        EXPECT_EQ(depth, 0);
    }
}
