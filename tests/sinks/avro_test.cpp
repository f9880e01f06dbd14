// SPDX-License-Identifier: Apache-2.0
// The Avro datum encoder against avro-c's own reader (flow.avsc), the widest record's size, and the hdfs spec keys.
#include <avro.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "sinks/avro/avro.hpp"
#include "sinks/hdfs/hdfs.hpp"
#include "sinks/output/output.hpp"

using namespace sluice;
using sluice::decode::flow_record;

namespace {

flow_record widest() {
    flow_record r{};
    std::memset(&r, 0xff, sizeof r);  // every number at its maximum
    const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33, 0x44, 0x44, 0x55, 0x55, 0x66, 0x66};
    for (uint8_t* a : {r.src_addr, r.dst_addr, r.next_hop, r.sampler_address, r.bgp_next_hop, r.post_nat_src_addr,
                       r.post_nat_dst_addr})
        std::memcpy(a, v6, 16);  // 39 characters each
    r.type = decode::flow_type::netflow_v9;
    r.kind = decode::record_kind::flow;
    r.direction = decode::flow_direction::unknown;
    r.in_if_format = r.out_if_format = decode::if_format::local;
    r.reserved0 = 0;
    r.src_net_match = 0;
    r.dst_net_match = 0;
    return r;
}

struct tmpdir {
    std::string path;
    tmpdir() {
        char t[] = "/tmp/sluice-avro-XXXXXX";
        path = mkdtemp(t);
    }
    ~tmpdir() { std::filesystem::remove_all(path); }
};

// Reads every record of an Avro file with avro-c's generic reader.
std::vector<std::pair<int64_t, std::string>> read_back(const std::string& path, std::size_t& n_fields) {
    avro_file_reader_t rd;
    EXPECT_EQ(avro_file_reader(path.c_str(), &rd), 0) << avro_strerror();
    avro_schema_t s = avro_file_reader_get_writer_schema(rd);
    avro_value_iface_t* iface = avro_generic_class_from_schema(s);
    avro_value_t v;
    avro_generic_value_new(iface, &v);
    std::vector<std::pair<int64_t, std::string>> out;
    while (avro_file_reader_read_value(rd, &v) == 0) {
        avro_value_get_size(&v, &n_fields);
        avro_value_t f, b;
        int64_t bytes = 0;
        avro_value_get_by_name(&v, "bytes", &f, nullptr);
        avro_value_get_long(&f, &bytes);
        avro_value_get_by_name(&v, "src_addr", &f, nullptr);
        std::string src = "null";
        int disc = 0;
        avro_value_get_discriminant(&f, &disc);
        if (disc == 1) {
            avro_value_get_current_branch(&f, &b);
            const char* p;
            size_t len;
            avro_value_get_string(&b, &p, &len);
            src.assign(p, len - 1);
        }
        out.push_back({bytes, src});
    }
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(s);  // avro_file_reader_get_writer_schema returns a new reference
    avro_file_reader_close(rd);
    return out;
}

}  // namespace

TEST(avro, widest_record_fits_and_reads_back) {
    flow_record r = widest();
    uint8_t buf[sinks::avro::k_max_datum + 64];
    const std::size_t n = sinks::avro::encode_flow(r, buf);
    EXPECT_LT(n, sinks::avro::k_max_base_datum);  // the record's fields and the enrichment's 56 nulls
    EXPECT_GT(n, 300u);
    tmpdir d;
    const std::string f = d.path + "/w.avro";
    for (auto c : {sinks::avro::codec::null, sinks::avro::codec::deflate, sinks::avro::codec::snappy}) {
        sinks::avro::avro_container w;
        ASSERT_TRUE(w.open(f, c)) << w.error();
        ASSERT_TRUE(w.append(buf, n));
        flow_record z{};
        z.kind = decode::record_kind::interface_counters;
        z.bytes = 12345;
        uint8_t b2[sinks::avro::k_max_datum];
        ASSERT_TRUE(w.append(b2, sinks::avro::encode_flow(z, b2)));
        ASSERT_TRUE(w.close()) << w.error();
        std::size_t fields = 0;
        const auto recs = read_back(f, fields);
        EXPECT_EQ(fields, 116u);  // 58 record fields, 56 enrichment fields (null here), flow_id, record_index
        ASSERT_EQ(recs.size(), 2u);
        EXPECT_EQ(recs[0].first, -1);  // u64 max as a long: two's complement (docs/schema.md)
        EXPECT_EQ(recs[0].second, "2001:db8:1111:2222:3333:4444:5555:6666");
        EXPECT_EQ(recs[1].first, 12345);
        EXPECT_EQ(recs[1].second, "null");
    }
}

TEST(avro, schema_is_flow_avsc) {
    avro_schema_t s;
    ASSERT_EQ(avro_schema_from_json_length(sinks::avro::flow_schema().data(), sinks::avro::flow_schema().size(), &s), 0);
    EXPECT_STREQ(avro_schema_name(s), "flow");
    avro_schema_decref(s);
}

TEST(hdfs_spec, keys_and_errors) {
    auto o = sinks::parse_output_spec("name=h,format=avro,hdfs=http://nn:9870/data/x/,table=t1,roll_bytes=10,"
                                      "roll_seconds=5,codec=snappy,user=u,spool=/s,spool_bytes=99,drain_s=1",
                                      0);
    EXPECT_EQ(o.writer, sinks::writer_kind::hdfs);
    EXPECT_EQ(o.fmt, sinks::format::avro);
    EXPECT_TRUE(o.hdfs.webhdfs);
    EXPECT_EQ(o.hdfs.base, "http://nn:9870");
    EXPECT_EQ(o.hdfs.root, "/data/x");
    EXPECT_EQ(o.hdfs.table, "t1");
    EXPECT_EQ(o.hdfs.roll_bytes, 10u);
    EXPECT_EQ(o.hdfs.roll_seconds, 5u);
    EXPECT_EQ(o.hdfs.codec, sinks::avro::codec::snappy);
    EXPECT_EQ(o.hdfs.spool_bytes, 99u);
    auto l = sinks::parse_output_spec("name=l,format=avro,hdfs=/mnt/x", 0);
    EXPECT_FALSE(l.hdfs.webhdfs);
    EXPECT_EQ(l.hdfs.root, "/mnt/x");
    EXPECT_EQ(l.hdfs.codec, sinks::avro::codec::snappy);
    for (const char* bad : {"name=a,format=avro,path=/x", "name=a,hdfs=/x", "name=a,hdfs=/x,format=avro,path=/y",
                            "name=a,path=/x,table=t", "name=a,format=avro,hdfs=/x,codec=lz4",
                            "name=a,format=avro,hdfs=/x,table=../up", "name=a,format=avro,hdfs=http://"})
        EXPECT_THROW(sinks::parse_output_spec(bad, 0), sinks::spec_error) << bad;
    // Two hdfs outputs have no path to collide on.
    sinks::check_outputs({sinks::parse_output_spec("name=a,format=avro,hdfs=/x", 0),
                          sinks::parse_output_spec("name=b,format=avro,hdfs=/y", 1)});
}

TEST(hdfs, partition_names) {
    EXPECT_EQ(sinks::hdfs::partition_of(0), "dt=1970-01-01/hour=00");
    EXPECT_EQ(sinks::hdfs::partition_of(1700000000ull / 3600), "dt=2023-11-14/hour=22");
}

TEST(hdfs, writer_counts_every_record) {
    tmpdir d;
    sinks::hdfs::hdfs_config c;
    c.root = d.path;
    c.roll_bytes = 5000;
    c.host = "h";
    sinks::output_counter_block out{};
    sinks::hdfs::handoff_counter_block hc{};
    flow_record r = widest();
    uint64_t total = 0;
    {
        sinks::hdfs::hdfs_writer w(c, "t", 0, 1, &out, &hc);
        for (int i = 0; i < 20000; ++i) {
            r.time_received_ns = (1700000000ull + uint64_t(i) / 10) * 1000000000ull;  // 10 records a second: 2000 s, crosses 1700002800 (an hour)
            w.commit(sinks::avro::encode_flow(r, w.reserve(r.time_received_ns)));
            ++total;
        }
        w.finish();
        const uint64_t written = out.get(sinks::output_counter::written), failed = out.get(sinks::output_counter::failed);
        EXPECT_EQ(written + failed, total);
        EXPECT_EQ(failed, hc.get(sinks::hdfs::handoff_counter::handoff_full_records));
        EXPECT_EQ(w.writer_counters.get(sinks::hdfs::writer_counter::records), written);
        const uint64_t files = w.writer_counters.get(sinks::hdfs::writer_counter::files);
        EXPECT_EQ(w.writer_counters.get(sinks::hdfs::writer_counter::rolls_size) +
                      w.writer_counters.get(sinks::hdfs::writer_counter::rolls_partition) + 1,
                  files);
        std::size_t on_disk = 0, n = 0;
        for (auto& e : std::filesystem::recursive_directory_iterator(d.path))
            if (e.is_regular_file()) {
                ASSERT_EQ(e.path().filename().string().rfind("part-h-0-", 0), 0u) << e.path();
                std::size_t fields;
                n += read_back(e.path().string(), fields).size();
                ++on_disk;
            }
        EXPECT_EQ(on_disk, files);
        EXPECT_EQ(n, written);
    }
}
