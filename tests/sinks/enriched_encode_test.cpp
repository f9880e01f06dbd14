// SPDX-License-Identifier: Apache-2.0
// The protobuf and Avro encoders' enriched fields (sinks/encode/enriched.hpp): the matched prefix's text, a record
// without ids encoding byte for byte as the plain encoder, random attribute sets and ids (hostile ones included)
// staying inside each encoder's bound and parsing back, Avro read back by avro-c's own reader. The exact decoded
// values are checked by protoc-generated Python (proto_compat) and python3-avro (avro_enriched).
#include <avro.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "dataplane/offline/offline_reader.hpp"
#include "enriched_fixture.hpp"
#include "sinks/avro/avro.hpp"
#include "sinks/encode/enriched.hpp"
#include "sinks/encode/protobuf.hpp"

using namespace sluice;
using namespace sluice::sinks::encode;
using decode::flow_record;

namespace {

std::string prefix(const char* text_addr, bool v4, unsigned match) {
    uint8_t a[16] = {};
    if (v4) {
        unsigned x[4];
        std::sscanf(text_addr, "%u.%u.%u.%u", &x[0], &x[1], &x[2], &x[3]);
        const uint8_t b[4] = {uint8_t(x[0]), uint8_t(x[1]), uint8_t(x[2]), uint8_t(x[3])};
        decode::set_ipv4(a, b);
    } else {
        for (int i = 0; i < 16; ++i) a[i] = uint8_t(0xf0 | i);
    }
    char t[k_max_prefix_text];
    return std::string(t, format_net_prefix(a, uint8_t(match), t));
}

uint64_t varint(const uint8_t*& p, const uint8_t* e) {
    uint64_t v = 0;
    for (int s = 0; p < e && s < 64; s += 7) {
        const uint8_t b = *p++;
        v |= uint64_t(b & 0x7f) << s;
        if (!(b & 0x80)) return v;
    }
    ADD_FAILURE() << "bad varint";
    return 0;
}

// Walks a message: every field's wire type known and every length inside it; returns the enriched numbers seen.
std::vector<uint32_t> walk(const uint8_t* p, std::size_t n) {
    const uint8_t* e = p + n;
    std::vector<uint32_t> enriched;
    while (p < e) {
        const uint64_t key = varint(p, e);
        const uint32_t f = uint32_t(key >> 3);
        switch (key & 7) {
        case 0: varint(p, e); break;
        case 1: p += 8; break;
        case 2: {
            const uint64_t l = varint(p, e);
            EXPECT_LE(l, uint64_t(e - p));
            if (f >= 1003 && f <= 1055 && (f == 1018 || f == 1034 || f == 1041 || f == 1048 || f == 1055)) {
                // a map entry: key 1 and value 2, both strings
                const uint8_t* q = p;
                const uint8_t* qe = p + l;
                EXPECT_EQ(*q++, 0x0a);
                q += varint(q, qe);
                EXPECT_EQ(*q++, 0x12);
                q += varint(q, qe);
                EXPECT_EQ(q, qe);
            }
            p += l;
            break;
        }
        default: ADD_FAILURE() << "wire type " << (key & 7); return enriched;
        }
        if (f >= 1003) enriched.push_back(f);
        EXPECT_LE(f, 1055u);
    }
    EXPECT_EQ(p, e);
    return enriched;
}

std::vector<flow_record> fixture_records() {
    std::vector<flow_record> v;
    for (const char* f : {"softflowd-v9-ipv6.pcap", "softflowd-ipfix-biflow-ipv4.pcap", "pmacct-sfprobe-sflow.pcap",
                          "fprobe-v5-ipv4.pcap"}) {
        offline::offline_reader rd(offline::reader_options{});
        std::string err;
        rd.read_file(std::string(SLUICE_FIXTURES_DIR) + "/" + f,
                     [&](std::span<const flow_record> r) { v.insert(v.end(), r.begin(), r.end()); }, &err);
    }
    return v;
}

struct tmpdir {
    std::string path;
    tmpdir() {
        char t[] = "/tmp/sluice-enriched-XXXXXX";
        path = mkdtemp(t);
    }
    ~tmpdir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST(enriched, matched_prefix_text) {
    EXPECT_EQ(prefix("10.1.2.3", true, 25), "10.1.2.0/24");
    EXPECT_EQ(prefix("10.1.2.3", true, 33), "10.1.2.3/32");
    EXPECT_EQ(prefix("10.1.2.3", true, 1), "0.0.0.0/0");
    EXPECT_EQ(prefix("10.255.2.3", true, 10), "10.128.0.0/9");
    EXPECT_EQ(prefix("10.255.2.3", true, 11), "10.192.0.0/10");
    EXPECT_EQ(prefix("203.0.113.205", true, 30), "203.0.113.200/29");
    EXPECT_EQ(prefix("10.1.2.3", true, 0), "");    // no match
    EXPECT_EQ(prefix("10.1.2.3", true, 34), "");   // /33: not an IPv4 length
    EXPECT_EQ(prefix("", false, 129), "f0f1:f2f3:f4f5:f6f7:f8f9:fafb:fcfd:feff/128");
    EXPECT_EQ(prefix("", false, 49), "f0f1:f2f3:f4f5::/48");
    EXPECT_EQ(prefix("", false, 2), "8000::/1");
    EXPECT_EQ(prefix("", false, 1), "::/0");
    EXPECT_EQ(prefix("", false, 125), "f0f1:f2f3:f4f5:f6f7:f8f9:fafb:fcfd:fef0/124");
    EXPECT_EQ(prefix("", false, 130), "");
    EXPECT_EQ(prefix("", false, 255), "");
    uint8_t zero[16] = {};
    char t[k_max_prefix_text];
    EXPECT_EQ(format_net_prefix(zero, 9, t), 0u);  // no address, no prefix
}

TEST(enriched, decimals) {
    uint64_t v = 7;
    EXPECT_TRUE(parse_decimal("4294967295", 0xffffffffull, v));
    EXPECT_EQ(v, 4294967295ull);
    EXPECT_FALSE(parse_decimal("4294967296", 0xffffffffull, v));
    EXPECT_TRUE(parse_decimal("18446744073709551615", ~0ull, v));
    EXPECT_EQ(v, ~0ull);
    EXPECT_FALSE(parse_decimal("18446744073709551616", ~0ull, v));
    for (const char* bad : {"", "AS64500", "-1", " 1", "1 ", "0x10", "123456789012345678901"})
        EXPECT_FALSE(parse_decimal(bad, ~0ull, v)) << bad;
}

// A record without ids and without a matched prefix: the enriched encoders write exactly the plain bytes.
TEST(enriched, no_ids_is_the_plain_encoding) {
    test_fixtures::enriched_fixture fx;
    const auto recs = fixture_records();
    ASSERT_EQ(recs.size(), 95u);
    std::vector<uint8_t> a(k_protobuf_enriched_delimited_max), b(k_protobuf_enriched_delimited_max);
    for (const auto& r : recs) {
        const std::size_t n = protobuf_encode_delimited(r, a.data());
        ASSERT_EQ(protobuf_encode_delimited(r, fx.en, b.data()), n);
        ASSERT_EQ(std::memcmp(a.data(), b.data(), n), 0);
    }
    byte_buffer x, y;
    protobuf_append_delimited(x, recs);
    protobuf_append_delimited(y, recs, fx.en);
    ASSERT_EQ(x.size(), y.size());
    EXPECT_EQ(std::memcmp(x.data(), y.data(), x.size()), 0);
    // Avro: the enriched fields are null either way, so with and without the enrichment the datum is the same.
    uint8_t d1[sinks::avro::k_max_datum], d2[sinks::avro::k_max_datum];
    for (const auto& r : recs) {
        const std::size_t n = sinks::avro::encode_flow(r, d1);
        ASSERT_EQ(sinks::avro::encode_flow(r, d2, &fx.en), n);
        ASSERT_EQ(std::memcmp(d1, d2, n), 0);
    }
}

// Random sets (built-in and custom keys, values of 0 to 5,000 bytes), random ids (unpublished ones too) and
// matched lengths (out of range too) on random records: each encoding inside its bound (guard bytes untouched),
// every protobuf message well formed, the Avro file read back whole by avro-c.
TEST(enriched, random_sets_and_ids_stay_in_bounds) {
    test_fixtures::enriched_fixture fx;  // its sets, plus random ones
    uint64_t s = 0x243f6a8885a308d3ull;
    auto rnd = [&] {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return s;
    };
    for (int i = 0; i < 300; ++i) {
        enrich::set_builder b;
        const int n = int(rnd() % 12);
        for (int j = 0; j < n; ++j) {
            const uint16_t k = uint16_t(rnd() % fx.keys.size());
            const std::size_t len = (rnd() & 3) == 0 ? rnd() % 5000 : rnd() % 40;
            std::string v(len, 'a');
            for (auto& c : v) c = char(rnd());  // any bytes, NULs and quotes included
            if (k == uint16_t(enrich::key::asn) && (rnd() & 1)) v = std::to_string(rnd() % 5000000000ull);
            b.put(k, v);
        }
        bool full = false;
        fx.in.intern(b.take(), full);
    }
    const uint32_t ids = fx.in.size() + 3;
    std::vector<uint8_t> pb(k_protobuf_enriched_delimited_max + 32);
    std::vector<uint8_t> av(sinks::avro::k_max_datum + 32);
    tmpdir d;
    sinks::avro::avro_container c;
    ASSERT_TRUE(c.open(d.path + "/r.avro", sinks::avro::codec::null)) << c.error();
    std::size_t longest = 0, most_enriched = 0;
    const int k_records = 5000;
    for (int it = 0; it < k_records; ++it) {
        flow_record r;
        auto* b = reinterpret_cast<uint8_t*>(&r);
        for (std::size_t i = 0; i < sizeof r; ++i) b[i] = static_cast<uint8_t>(rnd());
        if (rnd() & 1)
            for (uint8_t* a : {r.src_addr, r.dst_addr, r.next_hop, r.sampler_address, r.bgp_next_hop,
                               r.post_nat_src_addr, r.post_nat_dst_addr}) {
                std::memset(a, 0, 10);
                a[10] = a[11] = 0xff;
            }
        r.kind = (rnd() & 1) ? decode::record_kind::flow : decode::record_kind::interface_counters;
        r.type = decode::flow_type(rnd() % 5);
        r.direction = decode::flow_direction::ingress;
        r.in_if_format = r.out_if_format = decode::if_format::ifindex;
        for (uint32_t* id : {&r.src_attr_id, &r.dst_attr_id, &r.exporter_attr_id, &r.in_if_attr_id, &r.out_if_attr_id})
            *id = (rnd() & 7) == 0 ? uint32_t(rnd()) : uint32_t(rnd() % ids);
        r.src_net_match = uint8_t(rnd() % 140);
        r.dst_net_match = uint8_t(rnd() % 140);
        std::fill(pb.begin(), pb.end(), 0xee);
        const std::size_t n = protobuf_encode_delimited(r, fx.en, pb.data());
        ASSERT_LE(n, k_protobuf_enriched_delimited_max);
        for (std::size_t i = k_protobuf_enriched_delimited_max; i < pb.size(); ++i) ASSERT_EQ(pb[i], 0xee);
        const uint8_t* p = pb.data();
        const uint64_t len = varint(p, pb.data() + n);
        ASSERT_EQ(std::size_t(p - pb.data()) + len, n);
        const auto fields = walk(p, len);
        longest = std::max(longest, n);
        most_enriched = std::max(most_enriched, fields.size());
        // The plain part is the plain encoding's prefix.
        uint8_t plain[k_protobuf_max];
        const std::size_t m = protobuf_encode(r, plain);
        ASSERT_LE(m, len);
        ASSERT_EQ(std::memcmp(plain, p, m), 0);

        std::fill(av.begin(), av.end(), 0xee);
        const std::size_t an = sinks::avro::encode_flow(r, av.data(), &fx.en);
        ASSERT_LE(an, sinks::avro::k_max_datum);
        for (std::size_t i = sinks::avro::k_max_datum; i < av.size(); ++i) ASSERT_EQ(av[i], 0xee);
        ASSERT_TRUE(c.append(av.data(), an)) << c.error();
    }
    ASSERT_TRUE(c.close()) << c.error();
    EXPECT_GT(longest, 3000u);  // the budget was reached
    EXPECT_GT(most_enriched, 20u);
    avro_file_reader_t rd;
    ASSERT_EQ(avro_file_reader((d.path + "/r.avro").c_str(), &rd), 0) << avro_strerror();
    avro_schema_t sc = avro_file_reader_get_writer_schema(rd);
    avro_value_iface_t* iface = avro_generic_class_from_schema(sc);
    avro_value_t v;
    avro_generic_value_new(iface, &v);
    int got = 0;
    while (avro_file_reader_read_value(rd, &v) == 0) {
        std::size_t nf = 0;
        avro_value_get_size(&v, &nf);
        ASSERT_EQ(nf, 116u);
        ++got;
    }
    EXPECT_EQ(got, k_records);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(sc);
    avro_file_reader_close(rd);
}

// The largest enriched message: every set at the budget; the fields after the one that does not fit still come.
TEST(enriched, budget_leaves_out_whole_fields) {
    test_fixtures::enriched_fixture fx;
    flow_record r = fx.recs[4];  // the set with a 40 KB value
    uint8_t buf[k_protobuf_enriched_max];
    const std::size_t n = protobuf_encode(r, fx.en, buf);
    uint8_t plain[k_protobuf_max];
    const std::size_t m = protobuf_encode(r, plain);
    const auto f = walk(buf, n);
    // SrcNetName, SrcNetPrefix, SrcNetCustom{cost_center} (rack left out), the exporter's 6 + its map.
    EXPECT_EQ(f, (std::vector<uint32_t>{1003, 1018, 1017, 1035, 1036, 1037, 1038, 1039, 1040, 1041}));
    EXPECT_LT(n - m, 200u);
}
