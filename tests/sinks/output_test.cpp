// SPDX-License-Identifier: Apache-2.0
// The sink stage's pure parts: --output specs, filters, the downsampling hash, the file writer's rolls and errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "sinks/file/file.hpp"
#include "sinks/output/output.hpp"

using namespace sluice;
using namespace sluice::sinks;

namespace {

decode::flow_record rec(const char* exporter_v4, uint8_t proto, uint32_t rate = 1,
                        decode::flow_type t = decode::flow_type::netflow_v5) {
    decode::flow_record r{};
    uint8_t a[4];
    std::sscanf(exporter_v4, "%hhu.%hhu.%hhu.%hhu", &a[0], &a[1], &a[2], &a[3]);
    decode::set_ipv4(r.sampler_address, a);
    r.proto = proto;
    r.sampling_rate = rate;
    r.type = t;
    return r;
}

std::string error_of(const std::string& spec) {
    try {
        parse_output_spec(spec, 2);
    } catch (const spec_error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(OutputSpec, ParsesEveryKey) {
    const output_config o =
        parse_output_spec("name=tcp,format=json,path=/x/tcp.json,filter=proto==6,sample=4,roll_bytes=1000,flush_ms=50", 0);
    EXPECT_EQ(o.name, "tcp");
    EXPECT_EQ(o.file.path, "/x/tcp.json");
    EXPECT_EQ(o.filter, "proto==6");
    EXPECT_EQ(o.sample, 4u);
    EXPECT_EQ(o.file.roll_bytes, 1000u);
    EXPECT_EQ(o.file.flush_ms, 50u);
    // "filter=" inside a path is a path, not a filter.
    EXPECT_TRUE(parse_output_spec("name=a,path=/x/filter=y", 0).filter.empty());
    const output_config d = parse_output_spec("path=-,name=all", 0);
    EXPECT_EQ(d.sample, 1u);
    EXPECT_EQ(d.file.roll_bytes, 1ull << 30);
    EXPECT_TRUE(d.filter.empty());
}

TEST(OutputSpec, ErrorsNameTheOutputAndTheKey) {
    EXPECT_EQ(error_of("path=/x"), "--output #3: missing key 'name' (want name=NAME,path=PATH,...)");
    EXPECT_EQ(error_of("name=a"), "--output a: missing key 'path'");
    EXPECT_EQ(error_of("name=a,path=/x,colour=red"),
              "--output a: unknown key 'colour' (name, path, format, filter, sample, roll_bytes, flush_ms, aggregate, "
              "window, lateness, top, max_keys, history, max_age; with kafka=: topic, key, compression, linger_ms, "
              "batch, rdkafka.PROP, spool, spool_bytes, spool_segment_bytes, spool_fsync_ms; with hdfs=: table, "
              "roll_seconds, codec, spool, spool_bytes, user, token, drain_s, retry_max_ms, host)");
    EXPECT_EQ(error_of("name=a,path=/x,sample=x"), "--output a: key 'sample': bad value 'x' (N >= 1: keep 1 record in N)");
    EXPECT_EQ(error_of("name=a,path=/x,format=avro"), "--output a: key 'format': avro needs hdfs=DIR|URL");
    EXPECT_EQ(error_of("name=a,path=/x,format=xml"),
              "--output a: key 'format': bad value 'xml' (json, ecs_json, protobuf, protobuf_delimited, or avro with "
              "hdfs=)");
    EXPECT_EQ(error_of("name=a,path=/x,format=protobuf"),
              "--output a: key 'format': protobuf (one message per record, unframed) needs a writer that keeps "
              "message boundaries; a file takes protobuf_delimited");
    EXPECT_EQ(error_of("name=a,path=/x,spool=/tmp/s"),
              "--output a: spool and spool_bytes need kafka=BROKERS or hdfs=DIR|URL");
    EXPECT_EQ(parse_output_spec("name=a,path=/x,format=ecs_json", 0).fmt, format::ecs_json);
    EXPECT_EQ(parse_output_spec("name=a,path=/x,format=protobuf_delimited", 0).fmt, format::protobuf_delimited);
    EXPECT_EQ(parse_output_spec("name=a,path=/x,format=json", 0).fmt, format::json);
    EXPECT_EQ(error_of("name=a b,path=/x"), "--output a b: key 'name': only letters, digits, '_' and '-'");
    EXPECT_EQ(error_of("name=a,path=/x,filter="), "output a: filter: empty expression");
    EXPECT_EQ(error_of("name=a,path=/x,filter=type>v5"), "output a: filter: 'type' takes only == or !=");
    EXPECT_EQ(error_of("name=a,path=/x,filter=exporter==10.0.0.0/33"),
              "output a: filter: bad value '10.0.0.0/33' for exporter");
    EXPECT_EQ(error_of("name=a,path=/x,filter=proto6"),
              "output a: filter: term 'proto6': want FIELD OP VALUE (OP: == != < <= > >=)");
    std::vector<output_config> two{parse_output_spec("name=a,path=/x", 0), parse_output_spec("name=b,path=/x", 1)};
    try {
        check_outputs(two);
        FAIL();
    } catch (const spec_error& e) {
        EXPECT_STREQ(e.what(), "--output b: key 'path': /x is also output a's");
    }
}

TEST(Filter, Terms) {
    const record_filter f("proto==tcp|udp&&exporter==10.0.0.0/8&&exporter!=10.1.0.0/16&&sampling>=10", "t");
    EXPECT_TRUE(f.match(rec("10.2.3.4", 6, 10)));
    EXPECT_TRUE(f.match(rec("10.2.3.4", 17, 100)));
    EXPECT_FALSE(f.match(rec("10.2.3.4", 1, 100)));   // proto
    EXPECT_FALSE(f.match(rec("11.2.3.4", 6, 100)));   // outside 10/8
    EXPECT_FALSE(f.match(rec("10.1.3.4", 6, 100)));   // inside the excluded 10.1/16
    EXPECT_FALSE(f.match(rec("10.2.3.4", 6, 9)));     // sampling
    const record_filter t("type!=v5|v9&&kind==flow", "t");
    EXPECT_FALSE(t.match(rec("1.2.3.4", 6, 1, decode::flow_type::netflow_v5)));
    EXPECT_TRUE(t.match(rec("1.2.3.4", 6, 1, decode::flow_type::ipfix)));
    decode::flow_record c = rec("1.2.3.4", 0, 1, decode::flow_type::sflow_5);
    c.kind = decode::record_kind::interface_counters;
    EXPECT_FALSE(t.match(c));
    EXPECT_TRUE(record_filter("kind==counters", "t").match(c));
    // IPv6 prefixes, and an IPv4 prefix never matches an IPv6 exporter.
    decode::flow_record v6{};
    const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    decode::set_ipv6(v6.sampler_address, a6);
    EXPECT_TRUE(record_filter("exporter==2001:db8::/32", "t").match(v6));
    EXPECT_FALSE(record_filter("exporter==2001:db9::/32", "t").match(v6));
    EXPECT_FALSE(record_filter("exporter==0.0.0.0/0", "t").match(v6));
    EXPECT_TRUE(record_filter("exporter==0.0.0.0/0", "t").match(rec("200.1.1.1", 6)));
    EXPECT_TRUE(record_filter("proto<=6", "t").match(rec("1.1.1.1", 6)));
    EXPECT_FALSE(record_filter("proto<6", "t").match(rec("1.1.1.1", 6)));
}

TEST(Filter, SignatureTagsAndExporterGroups) {
    decode::flow_record r = rec("10.0.0.1", 17);
    EXPECT_FALSE(record_filter("tag==any", "t").match(r));
    EXPECT_TRUE(record_filter("tag!=any", "t").match(r));
    r.signature_tags = 1u << 3;
    EXPECT_TRUE(record_filter("tag==any", "t").match(r));
    EXPECT_TRUE(record_filter("tag==3", "t").match(r));
    EXPECT_TRUE(record_filter("tag==0|3", "t").match(r));
    EXPECT_FALSE(record_filter("tag==0|4", "t").match(r));
    EXPECT_FALSE(record_filter("tag!=3", "t").match(r));
    // Groups come from the enrichment tables through the lookup the composition root sets.
    EXPECT_TRUE(record_filter("group==none", "t").match(r));  // no lookup: no group
    set_group_lookup(
        [](const void*, uint32_t id) noexcept -> std::string_view { return id == 7 ? "edge" : id == 8 ? "core" : ""; },
        nullptr);
    r.exporter_attr_id = 7;
    EXPECT_TRUE(record_filter("group==edge", "t").match(r));
    EXPECT_TRUE(record_filter("group==core|edge&&tag==3", "t").match(r));
    EXPECT_FALSE(record_filter("group!=edge", "t").match(r));
    r.exporter_attr_id = 8;
    EXPECT_FALSE(record_filter("group==edge", "t").match(r));
    r.exporter_attr_id = 0;  // not enriched
    EXPECT_TRUE(record_filter("group==none", "t").match(r));
    set_group_lookup(nullptr, nullptr);
    // Rule and tag names through the classifier's labels (here: bit 3 is rule "dns_v4" tagged "dns").
    EXPECT_FALSE(record_filter("tag==dns", "t").match(r));  // no lookup: no name matches
    set_tag_lookup(
        [](const void*, uint32_t tags, std::string_view name) noexcept {
            return (tags & (1u << 3)) != 0 && (name == "dns_v4" || name == "dns");
        },
        nullptr);
    EXPECT_TRUE(record_filter("tag==dns", "t").match(r));
    EXPECT_TRUE(record_filter("tag==memcached|dns_v4", "t").match(r));
    EXPECT_FALSE(record_filter("tag==memcached", "t").match(r));
    EXPECT_FALSE(record_filter("tag!=dns", "t").match(r));
    r.signature_tags = 0;
    EXPECT_FALSE(record_filter("tag==dns", "t").match(r));
    EXPECT_TRUE(record_filter("tag!=dns", "t").match(r));
    set_tag_lookup(nullptr, nullptr);
    auto err = [](const char* e) {
        try {
            record_filter f(e, "t");
        } catch (const spec_error& x) {
            return std::string(x.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(err("tag==32"), "output t: filter: bad value '32' for tag");
    EXPECT_EQ(err("tag==3x"), "output t: filter: bad value '3x' for tag");  // a number is a bit
    EXPECT_EQ(err("tag==a b"), "output t: filter: bad value 'a b' for tag");
    EXPECT_EQ(err("tag<3"), "output t: filter: 'tag' takes only == or !=");
    EXPECT_EQ(err("group==a b"), "output t: filter: bad value 'a b' for group");
    EXPECT_EQ(err("port==80"), "output t: filter: unknown field 'port' (exporter, proto, type, sampling, kind, tag, "
                               "group)");
}

TEST(Downsample, SymmetricHashAndRate) {
    decode::flow_record a = rec("1.1.1.1", 6), b = a;
    const uint8_t x[4] = {10, 0, 0, 1}, y[4] = {192, 168, 0, 9};
    decode::set_ipv4(a.src_addr, x);
    decode::set_ipv4(a.dst_addr, y);
    decode::set_ipv4(b.src_addr, y);
    decode::set_ipv4(b.dst_addr, x);
    EXPECT_EQ(pair_hash(a), pair_hash(b));
    // The documented formula, on these bytes: x = 0x0100000affff0000 (LE of 00 00 ff ff 0a 00 00 01), y likewise.
    const uint64_t lo = 0x0100000affff0000ull, hi = 0x0900a8c0ffff0000ull;
    uint64_t h = lo * 0x9E3779B97F4A7C15ull + hi;
    h ^= h >> 32;
    h *= 0xC2B2AE3D27D4EB4Full;
    EXPECT_EQ(pair_hash(a), h ^ (h >> 32));
    // About 1 in 4 of many pairs is kept.
    unsigned kept = 0;
    for (uint32_t i = 0; i < 40000; ++i) {
        decode::flow_record r{};
        decode::set_ipv4_host(r.src_addr, 0x0a000000 + i);
        decode::set_ipv4_host(r.dst_addr, 0xc0a80000 + (i * 7919) % 65536);
        kept += keep_sample(r, 4);
    }
    EXPECT_GT(kept, 9500u);
    EXPECT_LT(kept, 10500u);
    EXPECT_EQ(scaled_rate(0, 4), 4u);
    EXPECT_EQ(scaled_rate(1, 4), 4u);
    EXPECT_EQ(scaled_rate(100, 4), 400u);
    EXPECT_EQ(scaled_rate(0x80000000u, 4), 0xffffffffu);
}

class FileWriter : public ::testing::Test {
protected:
    std::filesystem::path dir;
    output_counter_block oc;
    file_counter_block fc;
    void SetUp() override {
        char t[] = "/tmp/sluice-file-test-XXXXXX";
        dir = mkdtemp(t);
    }
    void TearDown() override { std::filesystem::remove_all(dir); }
    static std::string slurp(const std::filesystem::path& p) {
        std::ifstream in(p);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
    static void put(file_writer& w, const std::string& line) {
        char* p = w.line(line.size() + 1);
        std::memcpy(p, line.data(), line.size());
        p[line.size()] = '\n';
        w.commit(line.size() + 1);
    }
};

TEST_F(FileWriter, RollsAtLineBoundariesAndNamesFilesPerSinkCore) {
    file_config cfg;
    cfg.path = (dir / "out.json").string();
    cfg.roll_bytes = 25;
    {
        file_writer w(cfg, "t", 1, 2, &oc, &fc);  // sink core 1 of 2: out.json.s1
        for (int i = 0; i < 7; ++i) put(w, "line-" + std::to_string(i));  // 7 bytes each
        EXPECT_TRUE(w.flush());
        EXPECT_EQ(w.current_path(), cfg.path + ".s1.2");
    }
    EXPECT_FALSE(std::filesystem::exists(cfg.path));
    EXPECT_EQ(slurp(cfg.path + ".s1"), "line-0\nline-1\nline-2\n");
    EXPECT_EQ(slurp(cfg.path + ".s1.1"), "line-3\nline-4\nline-5\n");
    EXPECT_EQ(slurp(cfg.path + ".s1.2"), "line-6\n");
    EXPECT_EQ(oc.get(output_counter::written), 7u);
    EXPECT_EQ(fc.get(file_counter::rolls), 2u);
    EXPECT_EQ(fc.get(file_counter::bytes), 49u);
}

TEST_F(FileWriter, BuffersUntilFullThenOneWritevPerBuffer) {
    file_config cfg;
    cfg.path = (dir / "big.json").string();
    file_writer w(cfg, "t", 0, 1, &oc, &fc);
    const std::string line(999, 'x');  // 1000 bytes with the newline
    const unsigned n = unsigned(k_file_chunks * cfg.chunk_bytes / 1000) + 10;
    for (unsigned i = 0; i < n; ++i) put(w, line);
    EXPECT_EQ(fc.get(file_counter::writes), 1u);  // the buffer filled once
    EXPECT_TRUE(w.flush());
    EXPECT_EQ(fc.get(file_counter::writes), 2u);
    EXPECT_EQ(oc.get(output_counter::written), n);
    EXPECT_EQ(std::filesystem::file_size(cfg.path), uint64_t(n) * 1000);
}

TEST_F(FileWriter, FullDiskCountsEveryRecordLost) {
    file_config cfg;
    cfg.path = "/dev/full";
    file_writer w(cfg, "t", 0, 3, &oc, &fc);  // a device: shared as is by every sink core
    EXPECT_EQ(w.current_path(), "/dev/full");
    for (int i = 0; i < 10; ++i) put(w, "r");
    EXPECT_FALSE(w.flush());
    for (int i = 0; i < 5; ++i) put(w, "r");
    EXPECT_FALSE(w.flush());
    EXPECT_EQ(oc.get(output_counter::failed), 15u);
    EXPECT_EQ(oc.get(output_counter::written), 0u);
    EXPECT_EQ(fc.get(file_counter::write_errors), 2u);
}

TEST_F(FileWriter, StdoutNeedsOneSinkCore) {
    file_config cfg;
    cfg.path = "-";
    EXPECT_THROW(file_writer(cfg, "t", 0, 2, &oc, &fc), std::runtime_error);
    cfg.path = (dir / "no" / "such" / "dir").string();
    try {
        file_writer w(cfg, "out1", 0, 1, &oc, &fc);
        FAIL();
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("output out1: cannot open"), std::string::npos);
    }
}
