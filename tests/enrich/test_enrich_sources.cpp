// SPDX-License-Identifier: Apache-2.0
// Inventory files (JSON, NDJSON, CSV) with bad lines by file and line, mmdb in both layouts, the builder's
// precedence merge, exporter and interface tables, the per-record lookup and the JSON members.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>

#include "dataplane/decode/record_format.hpp"
#include "enrich/tables/resolve.hpp"
#include "enrich/tables/tables.hpp"

using namespace sluice::enrich;
namespace decode = sluice::decode;

namespace {

const std::string k_testdata = SLUICE_ENRICH_TESTDATA;

struct tmpdir {
    std::string path;
    tmpdir() {
        char t[] = "/tmp/sluice-enrich-test-XXXXXX";
        path = mkdtemp(t);
    }
    ~tmpdir() { std::system(("rm -rf " + path).c_str()); }
    std::string write(const std::string& name, const std::string& text) const {
        const std::string p = path + "/" + name;
        std::ofstream(p) << text;
        return p;
    }
};

// key=value of a set, sorted, for exact comparisons.
std::map<std::string, std::string> kv(const interner& in, const key_registry& keys, uint32_t id) {
    std::map<std::string, std::string> m;
    if (const attr_set* s = in.get(id))
        for (const auto& [k, v] : s->kv) m[std::string(keys.name(k))] = v;
    return m;
}

u128 addr(const char* s) {
    u128 a = 0;
    EXPECT_TRUE(parse_address(s, a)) << s;
    return a;
}

void set_addr(uint8_t out[16], const char* s) { from_u128(addr(s), out); }

using M = std::map<std::string, std::string>;

}  // namespace

struct inventory_case {
    const char* name;
    const char* file;      // file name (its extension picks the format)
    const char* text;
    std::vector<std::string> columns;
    uint64_t rows, bad_lines;
    std::vector<std::string> errors;  // with "FILE" for the path
};

TEST(EnrichInventory, FormatsAndBadLines) {
    const std::vector<inventory_case> cases = {
        {"ndjson", "inv.ndjson",
         "{\"prefix\":\"10.1.0.0/16\",\"name\":\"web\",\"role\":\"server\"}\n"
         "\n"
         "{\"address\":\"10.1.2.3\",\"name\":\"db1\",\"team\":\"storage\"}\n"
         "{\"range\":\"10.2.0.5-10.2.0.20\",\"site\":\"par1\"}\n"
         "{\"prefix\":\"10.3.0.0/33\",\"name\":\"x\"}\n"
         "not json\n"
         "{\"prefix\":\"10.4.0.0/16\",\"colour\":\"red\"}\n"
         "{\"prefix\":\"10.5.0.0/16\"}\n",
         {}, 3, 4,
         {"FILE:5: bad prefix \"10.3.0.0/33\"", "FILE:6: not a JSON object",
          "FILE:7: unknown key \"colour\" (declare custom keys with --enrich-key)", "FILE:8: no attributes"}},
        {"csv", "inv.csv",
         "prefix,name,tenant\n"
         "10.1.0.0/16,web,\"acme, inc\"\n"
         "# a comment\n"
         "2001:db8::/32,v6net,\"say \"\"hi\"\"\"\n"
         "10.9.0.0/16,onlyone\n"
         "10.8.0.0/16,\"unterminated,x\n",
         {}, 2, 2, {"FILE:5: 2 columns, header has 3", "FILE:6: unterminated quote"}},
        {"csv-columns", "asn.csv",
         "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n"
         "1.0.4.0,1.0.7.255,38803,Gtelecom Pty Ltd\n"
         "1.0.9.0,1.0.8.255,1,backwards\n",
         {"first", "last", "asn", "as_name"}, 2, 1, {"FILE:3: range first > last or mixed families"}},
        {"json", "inv.json",
         "[\n"
         "  {\"prefix\": \"10.1.0.0/16\", \"name\": \"web\", \"speed\": 100},\n"
         "  {\"prefix\": \"10.2.0.0/16\",\n"
         "   \"name\": \"db\"},\n"
         "  {\"prefix\": \"nope\", \"name\": \"db\"},\n"
         "  {\"first\": \"10.3.0.0\", \"last\": \"10.3.0.255\", \"kind\": \"vip\"}\n"
         "]\n",
         {}, 3, 1, {"FILE:5: bad prefix \"nope\""}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        tmpdir d;
        const std::string p = d.write(c.file, c.text);
        interner in;
        key_registry keys;
        inventory_options opt;
        opt.columns = c.columns;
        prefix_source s = load_inventory(p, opt, keys, in);
        EXPECT_EQ(s.report.fatal, "");
        EXPECT_EQ(s.report.rows, c.rows);
        EXPECT_EQ(s.report.bad_lines, c.bad_lines);
        std::vector<std::string> want;
        for (std::string e : c.errors) want.push_back(p + e.substr(4));
        EXPECT_EQ(s.report.errors, want);
    }
}

TEST(EnrichInventory, RangeSplitRowsAndValues) {
    tmpdir d;
    const std::string p = d.write("r.ndjson", "{\"range\":\"10.0.0.5-10.0.0.20\",\"site\":\"par1\",\"asn\":64500}\n");
    interner in;
    key_registry keys;
    prefix_source s = load_inventory(p, {}, keys, in);
    ASSERT_TRUE(s.report.ok());
    EXPECT_EQ(s.report.prefixes, 5u);
    ASSERT_EQ(s.prefixes.size(), 5u);
    EXPECT_EQ(kv(in, keys, s.prefixes[0].value), (M{{"asn", "64500"}, {"site", "par1"}}));
}

TEST(EnrichInventory, UnreadableAndNotJson) {
    interner in;
    key_registry keys;
    EXPECT_EQ(load_inventory("/nonexistent/x.csv", {}, keys, in).report.fatal, "/nonexistent/x.csv: cannot read");
    tmpdir d;
    const std::string p = d.write("bad.json", "{\"not\": \"an array\"}");
    EXPECT_EQ(load_inventory(p, {}, keys, in).report.fatal, p + ":1: a JSON inventory is an array of objects");
    EXPECT_EQ(load_inventory(d.write("x.txt", ""), {}, keys, in).report.fatal.find("unknown inventory format") !=
                  std::string::npos,
              true);
}

TEST(EnrichMmdb, MaxmindLayout) {
    interner in;
    key_registry keys;
    prefix_source s = load_mmdb(k_testdata + "/city-maxmind.mmdb", mmdb_layout::maxmind(), in);
    ASSERT_TRUE(s.report.ok()) << s.report.fatal;
    std::map<std::string, M> got;
    for (const auto& p : s.prefixes) got[prefix_text(p.addr, p.len)] = kv(in, keys, p.value);
    EXPECT_EQ(s.prefixes.size(), 4u);
    // Each network once: the ::ffff:0:0/96 and 2002::/16 aliases of the IPv4 subtree are not walked.
    EXPECT_EQ(got, (std::map<std::string, M>{
                       {"198.51.100.0/25", {{"city", "Paris"}, {"country", "FR"}, {"state", "IDF"}}},
                       {"198.51.100.128/25", {{"city", "Lyon"}, {"country", "FR"}}},
                       {"203.0.113.0/24", {{"country", "JP"}}},
                       {"2001:db8:1::/48", {{"city", "Berlin"}, {"country", "DE"}}},
                   }));
    prefix_source a = load_mmdb(k_testdata + "/asn-maxmind.mmdb", mmdb_layout::maxmind(), in);
    ASSERT_TRUE(a.report.ok());
    std::map<std::string, M> asn;
    for (const auto& p : a.prefixes) asn[prefix_text(p.addr, p.len)] = kv(in, keys, p.value);
    EXPECT_EQ(a.prefixes.size(), 2u);
    EXPECT_EQ(asn, (std::map<std::string, M>{
                       {"198.51.100.0/23", {{"asn", "64500"}, {"as_name", "Example \"Transit\""}}},
                       {"2001:db8::/32", {{"asn", "64501"}, {"as_name", "Example v6"}}},
                   }));
}

TEST(EnrichMmdb, IpLocationDbLayout) {
    interner in;
    key_registry keys;
    prefix_source s = load_mmdb(k_testdata + "/city-iplocdb.mmdb", mmdb_layout::ip_location_db(), in);
    ASSERT_TRUE(s.report.ok());
    std::map<std::string, M> got;
    for (const auto& p : s.prefixes) got[prefix_text(p.addr, p.len)] = kv(in, keys, p.value);
    EXPECT_EQ(got, (std::map<std::string, M>{
                       {"192.0.2.0/24", {{"city", "Amsterdam"}, {"country", "NL"}, {"state", "North Holland"}}},
                       {"2001:db8:2::/48", {{"city", "London"}, {"country", "GB"}}},
                   }));
    // The MaxMind layout finds nothing in a flat database: no sets, no prefixes.
    EXPECT_EQ(load_mmdb(k_testdata + "/city-iplocdb.mmdb", mmdb_layout::maxmind(), in).prefixes.size(), 0u);
    EXPECT_NE(load_mmdb("/nonexistent.mmdb", mmdb_layout::maxmind(), in).report.fatal, "");
}

// A corrupt search tree that is not a tree: node i's both records point to node i + 1 (32 nodes, the last
// to one record), so a walk would give 2^32 networks from a 422-byte file (hours and ~100 GB). The walk stops
// once it reaches more nodes than the file has: the source fails, named, with no prefixes.
TEST(EnrichMmdb, SharedNodesAreFatal) {
    static const char k_dag[] =
        "\x00\x00\x01\x00\x00\x01\x00\x00\x02\x00\x00\x02\x00\x00\x03\x00\x00\x03\x00\x00\x04\x00\x00\x04\x00\x00"
        "\x05\x00\x00\x05\x00\x00\x06\x00\x00\x06\x00\x00\x07\x00\x00\x07\x00\x00\x08\x00\x00\x08\x00\x00\x09\x00"
        "\x00\x09\x00\x00\x0a\x00\x00\x0a\x00\x00\x0b\x00\x00\x0b\x00\x00\x0c\x00\x00\x0c\x00\x00\x0d\x00\x00\x0d"
        "\x00\x00\x0e\x00\x00\x0e\x00\x00\x0f\x00\x00\x0f\x00\x00\x10\x00\x00\x10\x00\x00\x11\x00\x00\x11\x00\x00"
        "\x12\x00\x00\x12\x00\x00\x13\x00\x00\x13\x00\x00\x14\x00\x00\x14\x00\x00\x15\x00\x00\x15\x00\x00\x16\x00"
        "\x00\x16\x00\x00\x17\x00\x00\x17\x00\x00\x18\x00\x00\x18\x00\x00\x19\x00\x00\x19\x00\x00\x1a\x00\x00\x1a"
        "\x00\x00\x1b\x00\x00\x1b\x00\x00\x1c\x00\x00\x1c\x00\x00\x1d\x00\x00\x1d\x00\x00\x1e\x00\x00\x1e\x00\x00"
        "\x1f\x00\x00\x1f\x00\x00\x30\x00\x00\x30\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
        "\xe1\x47\x63\x6f\x75\x6e\x74\x72\x79\xe1\x48\x69\x73\x6f\x5f\x63\x6f\x64\x65\x42\x46\x52\xab\xcd\xef\x4d"
        "\x61\x78\x4d\x69\x6e\x64\x2e\x63\x6f\x6d\xe9\x4a\x6e\x6f\x64\x65\x5f\x63\x6f\x75\x6e\x74\xc1\x20\x4b\x72"
        "\x65\x63\x6f\x72\x64\x5f\x73\x69\x7a\x65\xa1\x18\x4a\x69\x70\x5f\x76\x65\x72\x73\x69\x6f\x6e\xa1\x04\x4d"
        "\x64\x61\x74\x61\x62\x61\x73\x65\x5f\x74\x79\x70\x65\x44\x46\x75\x7a\x7a\x49\x6c\x61\x6e\x67\x75\x61\x67"
        "\x65\x73\x01\x04\x42\x65\x6e\x5b\x62\x69\x6e\x61\x72\x79\x5f\x66\x6f\x72\x6d\x61\x74\x5f\x6d\x61\x6a\x6f"
        "\x72\x5f\x76\x65\x72\x73\x69\x6f\x6e\xa1\x02\x5b\x62\x69\x6e\x61\x72\x79\x5f\x66\x6f\x72\x6d\x61\x74\x5f"
        "\x6d\x69\x6e\x6f\x72\x5f\x76\x65\x72\x73\x69\x6f\x6e\xa0\x4b\x62\x75\x69\x6c\x64\x5f\x65\x70\x6f\x63\x68"
        "\x04\x02\x65\x53\xf1\x00\x4b\x64\x65\x73\x63\x72\x69\x70\x74\x69\x6f\x6e\xe1\x42\x65\x6e\x49\x66\x75\x7a"
        "\x7a\x20\x73\x65\x65\x64";
    tmpdir d;
    const std::string p = d.write("dag.mmdb", std::string(k_dag, sizeof k_dag - 1));
    interner in;
    prefix_source s = load_mmdb(p, mmdb_layout::maxmind(), in);
    EXPECT_EQ(s.report.fatal, p + ": search tree is not a tree (more than its 32 nodes reached)");
    EXPECT_EQ(s.prefixes.size(), 0u);
}

// The builder: precedence static > inventory > mmdb, per field; exporters; interfaces with extra rows.
TEST(EnrichBuilder, MergedTablesAndRecords) {
    tmpdir d;
    build_config cfg;
    cfg.custom_keys = {"rack"};
    cfg.static_prefixes = {"198.51.100.7=role:pinned"};
    cfg.inventories.push_back({d.write("inv.csv",
                                       "prefix,name,role,rack\n"
                                       "198.51.100.0/24,lab-net,lab,\n"
                                       "198.51.100.7,db7,database,r12\n"),
                               {}});
    cfg.mmdbs.push_back({k_testdata + "/city-maxmind.mmdb", mmdb_layout::maxmind()});
    cfg.mmdbs.push_back({k_testdata + "/asn-maxmind.mmdb", mmdb_layout::maxmind()});
    cfg.exporters_file = d.write("exp.ndjson",
                                 "{\"address\":\"192.0.2.1\",\"name\":\"edge1\",\"site\":\"par\",\"group\":\"edge\","
                                 "\"sampling_rate\":1000,\"force\":true}\n"
                                 "{\"prefix\":\"192.0.2.0/24\",\"name\":\"lab\",\"sampling_rate\":100}\n");
    cfg.interfaces_file = d.write("if.csv",
                                  "exporter,ifindex,name,description,speed,boundary\n"
                                  "192.0.2.1,3,xe-0/0/3,Transit: Cogent,10000,external\n");
    cfg.extra_interfaces = [] {
        std::vector<interface_row> rows;
        interface_row a{addr("192.0.2.1"), 3, {}};
        set_builder b;
        b.put(key::name, "snmp-name");       // loses to the file's name
        b.put(key::provider, "cogent");      // the file has none: kept
        a.attrs = b.take();
        rows.push_back(a);
        interface_row c{addr("192.0.2.1"), 4, {}};
        b.put(key::name, "xe-0/0/4");
        c.attrs = b.take();
        rows.push_back(c);
        return rows;
    };
    interner in;
    builder bld(in);
    std::vector<std::string> errors;
    std::string reason;
    auto v = bld.build(cfg, errors, reason);
    ASSERT_TRUE(v) << (errors.empty() ? reason : errors[0]);
    const key_registry& keys = bld.keys();

    uint8_t a[16];
    set_addr(a, "198.51.100.7");
    EXPECT_EQ(kv(in, keys, v->address_attr(a)),
              (M{{"as_name", "Example \"Transit\""}, {"asn", "64500"}, {"city", "Paris"}, {"country", "FR"},
                 {"name", "db7"}, {"rack", "r12"}, {"role", "pinned"}, {"state", "IDF"}}));
    set_addr(a, "198.51.100.200");
    EXPECT_EQ(kv(in, keys, v->address_attr(a)),
              (M{{"as_name", "Example \"Transit\""}, {"asn", "64500"}, {"city", "Lyon"}, {"country", "FR"},
                 {"name", "lab-net"}, {"role", "lab"}}));
    set_addr(a, "198.51.101.1");
    EXPECT_EQ(kv(in, keys, v->address_attr(a)), (M{{"as_name", "Example \"Transit\""}, {"asn", "64500"}}));
    set_addr(a, "2001:db8:1::5");
    EXPECT_EQ(kv(in, keys, v->address_attr(a)),
              (M{{"as_name", "Example v6"}, {"asn", "64501"}, {"city", "Berlin"}, {"country", "DE"}}));
    set_addr(a, "8.8.8.8");
    EXPECT_EQ(v->address_attr(a), 0u);

    // Records: v4 and v6, exporter with a forced rate (not applied here: the worker override path does) and a
    // subnet default rate (applied only where the record has none), interfaces and labels.
    std::vector<decode::flow_record> recs(4);
    std::memset(recs.data(), 0, recs.size() * sizeof(decode::flow_record));
    set_addr(recs[0].src_addr, "198.51.100.7");
    set_addr(recs[0].dst_addr, "2001:db8:1::5");
    set_addr(recs[0].sampler_address, "192.0.2.1");
    recs[0].in_if = 3;
    recs[0].out_if = 4;
    recs[0].sampling_rate = 10;
    set_addr(recs[1].src_addr, "8.8.8.8");
    set_addr(recs[1].sampler_address, "192.0.2.9");
    recs[1].in_if = 0x3FFFFFFF;
    recs[1].in_if_format = decode::if_format::local;
    recs[1].out_if = 0;
    recs[2] = recs[1];
    recs[2].sampling_rate = 7;
    set_addr(recs[3].sampler_address, "203.0.113.1");
    recs[3].in_if = 9;
    enrich_records(*v, recs.data(), 4);
    EXPECT_EQ(kv(in, keys, recs[0].exporter_attr_id), (M{{"group", "edge"}, {"name", "edge1"}, {"site", "par"}}));
    EXPECT_EQ(recs[0].sampling_rate, 10u);  // force: applied by the decoder's override, not here
    EXPECT_EQ(kv(in, keys, recs[0].in_if_attr_id),
              (M{{"boundary", "external"}, {"description", "Transit: Cogent"}, {"name", "xe-0/0/3"},
                 {"provider", "cogent"}, {"speed", "10000"}}));
    EXPECT_EQ(kv(in, keys, recs[0].out_if_attr_id), (M{{"name", "xe-0/0/4"}}));
    EXPECT_EQ(recs[1].src_attr_id, 0u);
    EXPECT_EQ(kv(in, keys, recs[1].exporter_attr_id), (M{{"name", "lab"}}));
    EXPECT_EQ(recs[1].sampling_rate, 100u);  // the exporter reported none
    EXPECT_EQ(recs[1].flags & decode::record_flags::sampling_overridden, decode::record_flags::sampling_overridden);
    EXPECT_EQ(recs[2].sampling_rate, 7u);    // it reported one: kept
    EXPECT_EQ(kv(in, keys, recs[1].in_if_attr_id),
              (M{{"description", "the device itself (sFlow 0x3FFFFFFF)"}, {"name", "self"}}));
    EXPECT_EQ(kv(in, keys, recs[1].out_if_attr_id), (M{{"description", "no interface (ifIndex 0)"}, {"name", "none"}}));
    EXPECT_EQ(recs[3].exporter_attr_id, 0u);
    EXPECT_EQ(recs[3].in_if_attr_id, 0u);  // unknown interface: absent, never faked

    // The JSON members, Akvorado's names.
    json_names names(keys);
    char buf[decode::max_json_size + max_enriched_json];
    std::size_t n = decode::format_json(recs[0], buf, decode::max_json_size);
    n = append_enriched(in, names, recs[0], buf, n);
    const std::string j(buf, n);
    const std::string tail = j.substr(j.find(",\"SrcNetName\""));
    EXPECT_EQ(tail,
              ",\"SrcNetName\":\"db7\",\"SrcNetRole\":\"pinned\",\"SrcCountry\":\"FR\",\"SrcGeoState\":\"IDF\","
              "\"SrcGeoCity\":\"Paris\",\"SrcAS\":64500,\"SrcASName\":\"Example \\\"Transit\\\"\",\"SrcNetRack\":\"r12\","
              "\"SrcNetPrefix\":\"198.51.100.7/32\","
              "\"DstCountry\":\"DE\",\"DstGeoCity\":\"Berlin\",\"DstAS\":64501,\"DstASName\":\"Example v6\","
              "\"DstNetPrefix\":\"2001:db8:1::/48\","
              "\"ExporterName\":\"edge1\",\"ExporterSite\":\"par\",\"ExporterGroup\":\"edge\","
              "\"InIfName\":\"xe-0/0/3\",\"InIfDescription\":\"Transit: Cogent\",\"InIfSpeed\":10000,"
              "\"InIfBoundary\":\"external\",\"InIfProvider\":\"cogent\",\"OutIfName\":\"xe-0/0/4\"}");
    // The forced entry is a host entry with its address, for the override path.
    ASSERT_EQ(v->exporter_entries.size(), 2u);
    EXPECT_TRUE(v->exporter_entries[0].force && v->exporter_entries[0].host);
    EXPECT_EQ(v->exporter_entries[0].address, addr("192.0.2.1"));
}

TEST(EnrichBuilder, FailingSourceReportsAndBuildsNothing) {
    tmpdir d;
    build_config cfg;
    cfg.inventories.push_back({d.write("inv.ndjson", "{\"prefix\":\"10.0.0.0/8\",\"name\":\"a\"}\n{\"prefix\":\"x\"}\n"), {}});
    // force on a subnet is valid (the override path takes prefixes); without a rate it is not.
    cfg.exporters_file = d.write("e.csv", "prefix,name,force,sampling_rate\n10.0.0.0/8,r,true,\n10.1.0.0/16,s,true,10\n");
    interner in;
    builder bld(in);
    std::vector<std::string> errors;
    std::string reason;
    EXPECT_EQ(bld.build(cfg, errors, reason), nullptr);
    EXPECT_EQ(reason, "invalid");
    EXPECT_EQ(errors, (std::vector<std::string>{
                          d.path + "/inv.ndjson:2: bad prefix \"x\"",
                          d.path + "/e.csv:2: force without a sampling_rate"}));
}

TEST(EnrichInterner, IdsStableAndShared) {
    interner in;
    set_builder b;
    bool full = false;
    b.put(key::site, "par");
    b.put(key::name, "a");
    const uint32_t x = in.intern(b.take(), full);
    b.put(key::name, "a");
    b.put(key::site, "par");
    EXPECT_EQ(in.intern(b.take(), full), x);  // same set, same id, whatever the order
    b.put(key::name, "b");
    const uint32_t y = in.intern(b.take(), full);
    EXPECT_NE(x, y);
    EXPECT_EQ(*in.get(x)->get(key::name), "a");
    EXPECT_EQ(in.get(0), nullptr);
    EXPECT_EQ(in.get(y + 1), nullptr);
    EXPECT_FALSE(full);
}

// derive on mmdb sets: once per distinct set (not per network), derive_context::prefix, explicit fields win.
TEST(EnrichMmdb, DeriveOncePerDistinctSet) {
    std::map<std::string, int> calls;  // given set (as text) -> calls
    deriver d = [&calls](derive_context where, const attr_set& given, set_builder& add) {
        ASSERT_EQ(where, derive_context::prefix);
        std::string t;
        for (const auto& [k, v] : given.kv) t += std::to_string(k) + "=" + v + ";";
        ++calls[t];
        if (const std::string* n = given.get(key::as_name); n && n->find("Transit") != std::string::npos)
            add.put(key::provider, "transit-co");
        if (const std::string* c = given.get(key::city); c && *c == "Paris") add.put(key::site, "par");
        add.put(key::country, "XX");  // loses wherever the database gives a country
    };
    interner in;
    key_registry keys;
    prefix_source a = load_mmdb(k_testdata + "/asn-maxmind.mmdb", mmdb_layout::maxmind(), in, &d);
    ASSERT_TRUE(a.report.ok()) << a.report.fatal;
    std::map<std::string, M> asn;
    for (const auto& p : a.prefixes) asn[prefix_text(p.addr, p.len)] = kv(in, keys, p.value);
    EXPECT_EQ(asn, (std::map<std::string, M>{
                       {"198.51.100.0/23",
                        {{"asn", "64500"}, {"as_name", "Example \"Transit\""}, {"country", "XX"}, {"provider", "transit-co"}}},
                       {"2001:db8::/32", {{"asn", "64501"}, {"as_name", "Example v6"}, {"country", "XX"}}},
                   }));
    EXPECT_EQ(calls.size(), 2u);
    for (const auto& [t, n] : calls) EXPECT_EQ(n, 1) << t;

    calls.clear();
    prefix_source c = load_mmdb(k_testdata + "/city-maxmind.mmdb", mmdb_layout::maxmind(), in, &d);
    ASSERT_TRUE(c.report.ok()) << c.report.fatal;
    std::map<std::string, M> city;
    for (const auto& p : c.prefixes) city[prefix_text(p.addr, p.len)] = kv(in, keys, p.value);
    EXPECT_EQ(city, (std::map<std::string, M>{
                        {"198.51.100.0/25", {{"city", "Paris"}, {"country", "FR"}, {"site", "par"}, {"state", "IDF"}}},
                        {"198.51.100.128/25", {{"city", "Lyon"}, {"country", "FR"}}},
                        {"203.0.113.0/24", {{"country", "JP"}}},
                        {"2001:db8:1::/48", {{"city", "Berlin"}, {"country", "DE"}}},
                    }));
    EXPECT_EQ(calls.size(), 4u);
    for (const auto& [t, n] : calls) EXPECT_EQ(n, 1) << t;
}

// The builder applies build_config::derive to mmdb sets too, and merges the derived fields like given ones
// (an inventory's explicit provider beats the one derived from the ASN's name).
TEST(EnrichBuilder, DeriveOnMmdbSets) {
    tmpdir d;
    build_config cfg;
    cfg.inventories.push_back({d.write("inv.csv", "prefix,name,provider\n198.51.100.7,db7,own\n"), {}});
    cfg.mmdbs.push_back({k_testdata + "/asn-maxmind.mmdb", mmdb_layout::maxmind()});
    unsigned mmdb_calls = 0, inventory_calls = 0;
    cfg.derive = [&](derive_context where, const attr_set& given, set_builder& add) {
        EXPECT_EQ(where, derive_context::prefix);
        if (given.get(key::asn)) ++mmdb_calls;
        if (given.get(key::name)) ++inventory_calls;
        if (const std::string* n = given.get(key::as_name); n && n->find("Transit") != std::string::npos) {
            add.put(key::provider, "transit-co");
            add.put(key::connectivity, "transit");
        }
    };
    interner in;
    builder bld(in);
    std::vector<std::string> errors;
    std::string reason;
    auto v = bld.build(cfg, errors, reason);
    ASSERT_TRUE(v) << (errors.empty() ? reason : errors[0]);
    EXPECT_EQ(mmdb_calls, 2u);  // two distinct ASN records, whatever the number of networks
    EXPECT_EQ(inventory_calls, 1u);
    uint8_t a[16];
    set_addr(a, "198.51.101.1");
    EXPECT_EQ(kv(in, bld.keys(), v->address_attr(a)),
              (M{{"as_name", "Example \"Transit\""}, {"asn", "64500"}, {"connectivity", "transit"},
                 {"provider", "transit-co"}}));
    set_addr(a, "198.51.100.7");
    EXPECT_EQ(kv(in, bld.keys(), v->address_attr(a)),
              (M{{"as_name", "Example \"Transit\""}, {"asn", "64500"}, {"connectivity", "transit"}, {"name", "db7"},
                 {"provider", "own"}}));
    set_addr(a, "2001:db8::1");
    EXPECT_EQ(kv(in, bld.keys(), v->address_attr(a)), (M{{"as_name", "Example v6"}, {"asn", "64501"}}));
}

// The interner's ids do not depend on the number of threads that read the sources, and a second build
// (the reload) gives the same ids without adding a set.
TEST(EnrichBuilder, IdsDeterministicAcrossThreadsAndReloads) {
    tmpdir d;
    auto config = [&](unsigned threads) {
        build_config cfg;
        cfg.threads = threads;
        cfg.static_prefixes = {"198.51.100.7=role:pinned"};
        cfg.inventories.push_back({d.write("inv.csv",
                                           "prefix,name,role\n198.51.100.0/24,lab-net,lab\n198.51.100.7,db7,database\n"
                                           "2001:db8:1::/64,v6net,lab\n"),
                                   {}});
        cfg.inventories.push_back({d.write("ranges.csv", "range,asn\n198.51.100.0-198.51.101.255,64999\n"), {}});
        cfg.mmdbs.push_back({k_testdata + "/city-maxmind.mmdb", mmdb_layout::maxmind()});
        cfg.mmdbs.push_back({k_testdata + "/asn-maxmind.mmdb", mmdb_layout::maxmind()});
        return cfg;
    };
    std::vector<std::vector<std::pair<uint32_t, M>>> runs;
    for (unsigned threads : {1u, 2u, 4u}) {
        interner in;
        builder bld(in);
        std::vector<std::string> errors;
        std::string reason;
        auto v = bld.build(config(threads), errors, reason);
        ASSERT_TRUE(v) << (errors.empty() ? reason : errors[0]);
        const uint32_t size = in.size();
        auto v2 = bld.build(config(threads), errors, reason);
        ASSERT_TRUE(v2);
        EXPECT_EQ(in.size(), size);  // the reload adds no set
        std::vector<std::pair<uint32_t, M>> got;
        for (const char* s : {"198.51.100.7", "198.51.100.200", "198.51.101.1", "203.0.113.9", "2001:db8:1::5",
                              "2001:db8::1"}) {
            uint8_t a[16];
            set_addr(a, s);
            EXPECT_EQ(v->address_attr(a), v2->address_attr(a)) << s;
            got.emplace_back(v->address_attr(a), kv(in, bld.keys(), v->address_attr(a)));
        }
        EXPECT_EQ(v->stats.threads, threads);
        runs.push_back(got);
    }
    EXPECT_EQ(runs[0], runs[1]);
    EXPECT_EQ(runs[0], runs[2]);
    EXPECT_EQ(runs[0][0].second, (M{{"as_name", "Example \"Transit\""}, {"asn", "64999"}, {"city", "Paris"},
                                    {"country", "FR"}, {"name", "db7"}, {"role", "pinned"}, {"state", "IDF"}}));
}

// The interner from canonical bytes: the same id as from the strings; a hash-tag collision is told apart by
// the bytes; long values are cut at set_builder::k_max_value on both paths.
TEST(EnrichInterner, FlatAndStringsAgree) {
    interner in;
    bool full = false;
    set_builder b;
    b.put(key::site, "par");
    b.put(key::name, "a");
    const uint32_t x = in.intern(b.take(), full);
    flat_builder f;
    f.put(uint16_t(key::name), "a");
    f.put(uint16_t(key::site), "lon");
    f.put(uint16_t(key::site), "par");  // later wins
    f.put(uint16_t(key::role), "x");
    f.put(uint16_t(key::role), "");     // empty removes
    EXPECT_EQ(in.intern_flat(f.encode(), full), x);
    const uint8_t* blob = in.flat(x);
    EXPECT_EQ(flat_to_set(blob).kv, in.get(x)->kv);
    // Many sets: every id resolves to its own bytes (the index grows and rehashes from the tags).
    std::vector<uint32_t> ids;
    for (int i = 0; i < 20000; ++i) {
        const std::string name = "host-" + std::to_string(i);  // borrowed by f until encode()
        f.clear();
        f.put(uint16_t(key::name), name);
        ids.push_back(in.intern_flat(f.encode(), full));
    }
    for (int i = 0; i < 20000; ++i) {
        const std::string name = "host-" + std::to_string(i);
        f.clear();
        f.put(uint16_t(key::name), name);
        ASSERT_EQ(in.intern_flat(f.encode(), full), ids[std::size_t(i)]);
        ASSERT_EQ(*in.get(ids[std::size_t(i)])->get(key::name), "host-" + std::to_string(i));
    }
    // A value past 65,535 bytes is cut there, through either path, to the same set.
    const std::string big(70000, 'z');
    b.put(key::description, big);
    const uint32_t y = in.intern(b.take(), full);
    EXPECT_EQ(in.get(y)->get(key::description)->size(), set_builder::k_max_value);
    f.clear();
    f.put(uint16_t(key::description), big);
    EXPECT_EQ(in.intern_flat(f.encode(), full), y);
    attr_set raw;  // not canonical: unsorted, a repeated key (the last wins), an empty value, too long
    raw.kv = {{uint16_t(key::site), "x"}, {uint16_t(key::description), big}, {uint16_t(key::site), ""},
              {uint16_t(key::name), "n"}, {uint16_t(key::site), "par"}};
    set_builder c;
    c.put(key::name, "n");
    c.put(key::site, "par");
    c.put(key::description, big);
    EXPECT_EQ(in.intern(std::move(raw), full), in.intern(c.take(), full));
    EXPECT_FALSE(full);
}
