// SPDX-License-Identifier: Apache-2.0
// enrich/classify: rules file errors, captures at build time, a bad rule keeping the old database, a reload under
// a grace period, and payload signatures on sFlow sampled headers (a datagram built here, and the pmacct fixture).
#include "enrich/classify/classify.hpp"

#include <gtest/gtest.h>
#include <hs/hs.h>

#include <cstring>
#include <map>

#include "dataplane/decode/decoder.hpp"
#include "dataplane/offline/offline_reader.hpp"

namespace sluice::enrich::classify {
namespace {

const std::string k_rules = std::string(SLUICE_SOURCE_DIR) + "/enrich/classify/testdata/rules.conf";
const std::string k_fixture = std::string(SLUICE_SOURCE_DIR) + "/tests/fixtures/pmacct-sfprobe-sflow.pcap";

std::unique_ptr<database> load(std::string* err = nullptr) {
    rule_set rs;
    std::string e;
    if (!load_rules(k_rules, rs, &e)) {
        if (err) *err = e;
        return nullptr;
    }
    return database::build(std::move(rs), err ? err : &e);
}

std::map<std::string, std::string> as_map(const std::vector<attribute>& v) {
    std::map<std::string, std::string> m;
    for (const attribute& a : v) m[a.key] = a.value;
    return m;
}

using attrs = std::map<std::string, std::string>;

TEST(ClassifyRules, ErrorsNameFileLineAndRule) {
    struct tc {
        const char* text;
        const char* want;
    } cases[] = {
        {"pattern = x\n", "f.conf:1: a key before the first"},
        {"[attribute a]\nreads = hostname\nset = k=v\n", "f.conf:1: rule a: no pattern"},
        {"[attribute a]\npattern = x\nset = k=v\n", "f.conf:1: rule a: an attribute rule needs 'reads"},
        {"[attribute a]\npattern = x\nreads = hostname\n", "f.conf:1: rule a: an attribute rule needs at least one"},
        {"[payload p]\npattern = x\nreads = hostname\n", "f.conf:1: rule p: a payload rule has no"},
        {"[payload p]\npattern = x\nflags = loud\n", "f.conf:3: rule p: unknown flag 'loud'"},
        {"[payload p]\npattern = x\ncolour = red\n", "f.conf:3: rule p: unknown key 'colour'"},
        {"[payload p]\npattern = x\n[payload p]\npattern = y\n", "f.conf:3: rule p: rule p defined twice"},
        {"[thing t]\n", "f.conf:1: unknown block 'thing'"},
        {"[payload]\n", "f.conf:1: a rule needs a name"},
    };
    for (const tc& c : cases) {
        rule_set rs;
        std::string err;
        EXPECT_FALSE(parse_rules(c.text, "f.conf", rs, &err)) << c.text;
        EXPECT_EQ(err.rfind(c.want, 0), 0u) << "got: " << err;
    }
    std::string many;
    for (int i = 0; i <= 32; ++i) many += "[payload p" + std::to_string(i) + "]\npattern = x\n";
    rule_set rs;
    std::string err;
    EXPECT_FALSE(parse_rules(many, "f.conf", rs, &err));
    EXPECT_NE(err.find("f.conf:65: "), std::string::npos) << err;
    EXPECT_NE(err.find("more than 32 payload rules"), std::string::npos) << err;
}

TEST(ClassifyRules, LongAttributePatternsAndValuesStayWithinStdRegexsRecursion) {
    // std::regex recurses per pattern atom and per matched character: a 20 KB pattern or a 32 KB value
    // overflowed the stack (fuzz_rules' seed). An attribute pattern over 1024 bytes is refused, naming the rule;
    // a payload rule's (Hyperscan only) is not; derive reads the first 1024 bytes of a value.
    rule_set rs;
    std::string err;
    const std::string big(1025, 'x');
    EXPECT_FALSE(parse_rules("[attribute a]\nreads = hostname\npattern = " + big + "\nset = k=v\n", "f.conf", rs, &err));
    EXPECT_EQ(err, "f.conf:1: rule a: pattern of 1025 bytes: an attribute rule's is at most 1024 (std::regex recurses per atom)");
    rule_set ok;
    ASSERT_TRUE(parse_rules("[attribute a]\nreads = hostname\npattern = " + big.substr(1) + "\nset = k=v\n", "f.conf", ok, &err))
        << err;
    ASSERT_TRUE(parse_rules("[payload p]\npattern = " + std::string(20000, 'x') + "\n", "f.conf", ok, &err)) << err;
    // Repeat counts: std::regex copies the atom per count and overflowed a long on a 20-digit one (fuzz_rules).
    EXPECT_FALSE(parse_rules("[attribute r]\nreads = hostname\npattern = c{2,33333333333333333333}\nset = k=v\n", "f.conf",
                             rs, &err));
    EXPECT_EQ(err, "f.conf:1: rule r: a repeat count over 1000 (std::regex copies the atom that many times)");
    EXPECT_FALSE(parse_rules("[attribute r]\nreads = hostname\npattern = c{1001}\nset = k=v\n", "f.conf", rs, &err));
    ASSERT_TRUE(parse_rules("[attribute r]\nreads = hostname\npattern = c{2,1000}\\{99999}x{3,}\nset = k=v\n", "f.conf",
                            ok, &err))
        << err;
    // Back-references: std::regex read a 20-digit one into a long with signed overflow too (fuzz_rules).
    EXPECT_FALSE(parse_rules("[attribute r]\nreads = hostname\npattern = (a)\\33333333333333333333\nset = k=v\n", "f.conf",
                             rs, &err));
    EXPECT_EQ(err, "f.conf:1: rule r: a back-reference of more than 3 digits (std::regex reads it without an overflow check)");
    EXPECT_FALSE(parse_rules("[attribute r]\nreads = hostname\npattern = (a)\\1000\nset = k=v\n", "f.conf", rs, &err));
    ASSERT_TRUE(parse_rules("[attribute r]\nreads = hostname\npattern = (a)\\1b\\\\1234\\d{3}\nset = k=v\n", "f.conf", ok,
                            &err))
        << err;
    rule_set caps;
    ASSERT_TRUE(parse_rules("[attribute run]\nreads = hostname\npattern = ^(x*)\nset = run=$1\n", "f.conf", caps, &err));
    auto db = database::build(std::move(caps), &err);
    ASSERT_NE(db, nullptr) << err;
    hs_scratch* s = db->alloc_scratch();
    const auto got = db->derive("hostname", std::string(65535, 'x'), s);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].value, std::string(1024, 'x'));
    hs_free_scratch(s);
}

TEST(ClassifyDerive, CapturesBecomeValues) {
    std::string err;
    auto db = load(&err);
    ASSERT_NE(db, nullptr) << err;
    hs_scratch* s = db->alloc_scratch();
    struct tc {
        const char* attribute;
        const char* value;
        attrs want;
    } cases[] = {
        {"interface_description", "Transit: Cogent",
         {{"connectivity", "transit"}, {"boundary", "external"}, {"provider", "Cogent"}}},
        {"interface_description", "TRANSIT: Lumen 100G #4412",
         {{"connectivity", "transit"}, {"boundary", "external"}, {"provider", "Lumen 100G #4412"}}},
        // if_peering_ix comes first in the file: it wins over the generic peering rule for every key.
        {"interface_description", "Peering: AMS-IX", {{"connectivity", "ix"}, {"boundary", "external"}, {"provider", "AMS-IX"}}},
        {"interface_description", "Peering: Netflix",
         {{"connectivity", "peering"}, {"boundary", "external"}, {"provider", "Netflix"}}},
        {"interface_description", "PNI: Google", {{"connectivity", "pni"}, {"boundary", "external"}, {"provider", "Google"}}},
        {"interface_description", "Core: to fra2", {{"boundary", "internal"}}},
        {"interface_description", "unused", {}},
        {"hostname", "web-042.ams1.example.net", {{"service", "web"}, {"site", "ams1"}}},
        {"hostname", "pg-007.fra2.example.net",
         {{"service", "pg"}, {"site", "fra2"}, {"team", "databases"}, {"role", "database"}}},
        {"exporter_name", "edge1.fra2.example.net", {{"role", "edge"}, {"site", "fra2"}, {"group", "fra2-edge"}}},
        // A rule matches only the attribute it reads.
        {"hostname", "Transit: Cogent", {}},
        {"exporter_name", "web-042.ams1.example.net", {}},
    };
    for (const tc& c : cases) EXPECT_EQ(as_map(db->derive(c.attribute, c.value, s)), c.want) << c.value;
    const auto v = db->derive("interface_description", "Transit: Cogent", s);
    ASSERT_EQ(v.size(), 3u);
    EXPECT_EQ(v[0].rule, "if_transit");
    hs_free_scratch(s);
}

struct fake_grace {
    uint64_t started = 0, done_upto = 0;
    grace_period hooks() {
        return {[this] { return ++started; }, [this](uint64_t t) { return t <= done_upto; }};
    }
};

TEST(ClassifyLive, BadRuleKeepsTheOldDatabaseAndReloadWaitsForTheGracePeriod) {
    fake_grace g;
    live l(2, g.hooks());
    EXPECT_EQ(l.acquire(), nullptr);
    std::string err;
    ASSERT_TRUE(l.reload(k_rules, &err)) << err;
    const version* v1 = l.acquire();
    ASSERT_NE(v1, nullptr);
    EXPECT_EQ(v1->generation, 1u);
    EXPECT_EQ(v1->scratch.size(), 2u);
    EXPECT_EQ(v1->db->payload_rules().size(), 3u);

    // An invalid pattern: the error names the file, line and rule; the old version stays.
    rule_set bad;
    ASSERT_TRUE(parse_rules("[payload fine]\npattern = abc\n\n[payload broken]\npattern = (unclosed\n", "bad.conf", bad,
                            &err));
    EXPECT_FALSE(l.reload(bad, &err));
    EXPECT_EQ(err.rfind("bad.conf:4: rule broken: Hyperscan: ", 0), 0u) << err;
    // Hyperscan accepts it, std::regex (captures) does not: also named.
    rule_set bad2;
    ASSERT_TRUE(parse_rules("[attribute bad_range]\nreads = hostname\npattern = a{2,1}\nset = k=v\n", "bad2.conf",
                            bad2, &err));
    EXPECT_FALSE(l.reload(bad2, &err));
    EXPECT_EQ(err.rfind("bad2.conf:1: rule bad_range: ", 0), 0u) << err;
    EXPECT_FALSE(l.reload(std::string("/nonexistent/rules.conf"), &err));
    EXPECT_EQ(err, "/nonexistent/rules.conf: cannot open");
    EXPECT_EQ(l.acquire(), v1);
    EXPECT_EQ(l.counters().get(counter::reload_errors), 3u);

    // A good reload: published at once; the old version is freed only after its grace period.
    rule_set next;
    ASSERT_TRUE(parse_rules("[payload only]\npattern = hello\n", "next.conf", next, &err));
    ASSERT_TRUE(l.reload(next, &err)) << err;
    const version* v2 = l.acquire();
    EXPECT_NE(v2, v1);
    EXPECT_EQ(v2->generation, 2u);
    EXPECT_EQ(v2->db->payload_rules().size(), 1u);
    const uint8_t hello[] = {'x', 'h', 'e', 'l', 'l', 'o'};
    // A new rule name takes the lowest bit no rule has had: 3 (the first file's three payload rules had 0-2).
    EXPECT_EQ(v2->db->payload_bit(0), 3u);
    EXPECT_EQ(v2->db->scan(hello, sizeof hello, v2->scratch[1]), 1u << 3);
    EXPECT_EQ(v1->db->payload_rules().size(), 3u);  // still readable: not freed yet
    EXPECT_EQ(l.reclaim(), 1u);
    EXPECT_EQ(l.counters().get(counter::versions_freed), 0u);
    g.done_upto = g.started;  // every reader passed a quiescent state
    EXPECT_EQ(l.reclaim(), 0u);
    EXPECT_EQ(l.counters().get(counter::versions_retired), 1u);
    EXPECT_EQ(l.counters().get(counter::versions_freed), 1u);
    EXPECT_EQ(l.counters().get(counter::reloads), 2u);
}

// ---- payload signatures on sampled headers ----

struct xdr {
    std::vector<uint8_t> b;
    void u32(uint32_t v) {
        for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
    }
    void raw(const std::vector<uint8_t>& d) {
        b.insert(b.end(), d.begin(), d.end());
        while (b.size() % 4) b.push_back(0);
    }
};

// Ethernet / IPv4 / UDP from sport with `payload`.
std::vector<uint8_t> frame(uint16_t sport, const std::string& payload) {
    // Reserved first: GCC 12 warns (-Warray-bounds, a false positive) on inserting into a vector made from a list.
    std::vector<uint8_t> f;
    f.reserve(14 + 20 + 8 + payload.size());
    const uint8_t eth[14] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00};
    f.insert(f.end(), eth, eth + 14);
    const uint16_t tl = uint16_t(20 + 8 + payload.size());
    const uint8_t ip[20] = {0x45, 0, uint8_t(tl >> 8), uint8_t(tl), 0, 1, 0, 0, 64, 17, 0, 0, 198, 51, 100, 7, 192, 0, 2, 10};
    f.insert(f.end(), ip, ip + 20);
    const uint16_t ul = uint16_t(8 + payload.size());
    const uint8_t udp[8] = {uint8_t(sport >> 8), uint8_t(sport), 0x9c, 0x40, uint8_t(ul >> 8), uint8_t(ul), 0, 0};
    f.insert(f.end(), udp, udp + 8);
    f.insert(f.end(), payload.begin(), payload.end());
    return f;
}

// One sFlow v5 datagram with one flow sample per frame, each with one raw packet header record.
std::vector<uint8_t> sflow_datagram(const std::vector<std::vector<uint8_t>>& frames) {
    xdr d;
    d.u32(5);
    d.u32(1);
    d.raw({203, 0, 113, 9});
    d.u32(0);
    d.u32(1);
    d.u32(1000);
    d.u32(uint32_t(frames.size()));
    uint32_t seq = 0;
    for (const auto& f : frames) {
        xdr rec;
        rec.u32(1);  // header_protocol: Ethernet
        rec.u32(uint32_t(f.size() + 4));
        rec.u32(4);
        rec.u32(uint32_t(f.size()));
        rec.raw(f);
        xdr s;
        s.u32(++seq);
        s.u32(3);      // source id: ifIndex 3
        s.u32(100);    // sampling rate
        s.u32(seq * 100);
        s.u32(0);
        s.u32(3);
        s.u32(4);
        s.u32(1);      // one record
        s.u32(1);      // raw packet header
        s.u32(uint32_t(rec.b.size()));
        s.raw(rec.b);
        d.u32(1);  // flow_sample
        d.u32(uint32_t(s.b.size()));
        d.raw(s.b);
    }
    return d.b;
}

struct decoded {
    std::vector<decode::flow_record> rec;
    std::vector<decode::header_span> hdr;
};

decoded decode_with_headers(std::span<const uint8_t> payload, decode::exporter_table& t) {
    decoded out;
    out.rec.resize(256);
    out.hdr.resize(256);
    decode::record_buffer b{out.rec.data(), 256, 0};
    b.headers = out.hdr.data();
    decode::datagram_meta m{};
    m.exporter_addr[10] = m.exporter_addr[11] = 0xff;
    m.exporter_addr[15] = 1;
    m.ip_version = 4;
    decode::decode_datagram(payload, m, decode::protocol::sflow_5, t, b);
    out.rec.resize(b.size);
    out.hdr.resize(b.size);
    return out;
}

TEST(ClassifyPayload, SignaturesOnBuiltSampledHeaders) {
    auto db = load();
    ASSERT_NE(db, nullptr);
    hs_scratch* s = db->alloc_scratch();
    const std::string memcached = std::string("\x00\x01\x00\x00\x00\x01\x00\x00", 8) + "VALUE k 0 5\r\nhello\r\nEND\r\n";
    const std::string stats = std::string("\x00\x02\x00\x00\x00\x01\x00\x00", 8) + "STAT pid 4242\r\n";
    const std::string dns = std::string("\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00", 12);
    const auto dg = sflow_datagram({frame(11211, memcached), frame(11211, stats), frame(53, dns),
                                    frame(40000, memcached), frame(11211, "VALUE without the frame header")});
    decode::exporter_table t(decode::decoder_limits{});
    const decoded d = decode_with_headers(dg, t);
    ASSERT_EQ(d.rec.size(), 5u);
    const uint32_t want[] = {1u << 0, 1u << 0, 1u << 1, 0, 0};
    for (std::size_t i = 0; i < 5; ++i) {
        ASSERT_GT(d.hdr[i].size, 0u) << i;
        EXPECT_EQ(d.hdr[i].data[12], 0x08);  // the span starts at the frame's first byte
        EXPECT_EQ(db->scan(d.hdr[i].data, d.hdr[i].size, s), want[i]) << i;
    }
    EXPECT_EQ(d.rec[0].src_port, 11211);
    hs_free_scratch(s);
}

TEST(ClassifyPayload, DnsResponsesOnTheSflowFixture) {
    auto db = load();
    ASSERT_NE(db, nullptr);
    hs_scratch* s = db->alloc_scratch();
    std::vector<std::vector<uint8_t>> payloads;
    offline::offline_reader r(offline::reader_options{});
    std::string err;
    ASSERT_TRUE(r.read_file(k_fixture, [](std::span<const decode::flow_record>) {}, &err,
                            [&](std::span<const uint8_t> p) { payloads.emplace_back(p.begin(), p.end()); }))
        << err;
    decode::exporter_table t(decode::decoder_limits{});
    unsigned flows = 0, with_header = 0, dns4 = 0, dns6 = 0;
    for (const auto& p : payloads) {
        const decoded d = decode_with_headers(p, t);
        for (std::size_t i = 0; i < d.rec.size(); ++i) {
            const decode::flow_record& f = d.rec[i];
            if (f.kind != decode::record_kind::flow) {
                EXPECT_EQ(d.hdr[i].size, 0u);  // counter samples carry no header
                continue;
            }
            ++flows;
            with_header += d.hdr[i].size != 0;
            // Independently of the patterns: what the decoder read from the same header.
            const bool dns = f.proto == 17 && f.src_port == 53 && f.vlan_id == 0;
            const uint32_t want = !dns ? 0 : f.etype == 0x0800 ? 1u << 1 : 1u << 2;
            dns4 += want == (1u << 1);
            dns6 += want == (1u << 2);
            EXPECT_EQ(db->scan(d.hdr[i].data, d.hdr[i].size, s), want) << "record " << i << " sport " << f.src_port;
        }
    }
    EXPECT_EQ(flows, 46u);
    EXPECT_EQ(with_header, 46u);
    EXPECT_GT(dns4 + dns6, 0u);  // pmacct sampled 1 in 4 at random when the fixture was recorded
    hs_free_scratch(s);
}

// Payload rules as a rules file: "[payload NAME]" with pattern NAME and the given tags.
rule_set payload_rules_named(const std::vector<std::string>& names, const std::string& tags = "") {
    std::string text;
    for (const std::string& n : names) text += "[payload " + n + "]\npattern = " + n + "\n" + (tags.empty() ? "" : "tags = " + tags + "\n");
    rule_set rs;
    std::string err;
    EXPECT_TRUE(parse_rules(text, "bits.conf", rs, &err)) << err;
    return rs;
}

std::vector<unsigned> bits_of(const live& l) {
    std::vector<unsigned> out;
    const database& db = *l.acquire()->db;
    for (std::size_t i = 0; i < db.payload_rules().size(); ++i) out.push_back(db.payload_bit(i));
    return out;
}

TEST(ClassifyLive, PayloadRulesKeepTheirBitsAcrossReloads) {
    fake_grace g;
    live l(1, g.hooks());
    std::string err;
    ASSERT_TRUE(l.reload(payload_rules_named({"alpha", "beta", "gamma"}), &err)) << err;
    EXPECT_EQ(bits_of(l), (std::vector<unsigned>{0, 1, 2}));  // the first load: file order
    // Reordered, one removed, one added: the kept rules keep their bits, the new one takes a bit never used (3),
    // not beta's (1), so a record tagged by beta before the reload still reads "beta".
    ASSERT_TRUE(l.reload(payload_rules_named({"gamma", "delta", "alpha"}), &err)) << err;
    EXPECT_EQ(bits_of(l), (std::vector<unsigned>{2, 3, 0}));
    const uint8_t delta[] = {'x', 'd', 'e', 'l', 't', 'a'};
    EXPECT_EQ(l.acquire()->db->scan(delta, sizeof delta, l.acquire()->scratch[0]), 1u << 3);
    EXPECT_EQ(l.labels().at(1)->rule, "\"beta\"");
    EXPECT_EQ(l.labels().at(3)->rule, "\"delta\"");
    EXPECT_EQ(l.labels().at(4), nullptr);
    // beta back: its old bit.
    ASSERT_TRUE(l.reload(payload_rules_named({"beta"}), &err)) << err;
    EXPECT_EQ(bits_of(l), (std::vector<unsigned>{1}));
}

TEST(ClassifyLive, ABitIsReusedOnlyWhenNoneIsLeftAndThenTheLongestFree) {
    fake_grace g;
    live l(1, g.hooks());
    std::string err;
    std::vector<std::string> r;
    for (int i = 0; i < 32; ++i) r.push_back("r" + std::to_string(i));
    ASSERT_TRUE(l.reload(payload_rules_named(r), &err)) << err;  // generation 1: every bit used
    ASSERT_TRUE(l.reload(payload_rules_named({r.begin() + 1, r.end()}), &err)) << err;  // r0 (bit 0) left after 1
    ASSERT_TRUE(l.reload(payload_rules_named({r.begin() + 2, r.end()}), &err)) << err;  // r1 (bit 1) left after 2
    std::vector<std::string> next(r.begin() + 2, r.end());
    next.push_back("s");
    ASSERT_TRUE(l.reload(payload_rules_named(next), &err)) << err;
    EXPECT_EQ(bits_of(l).back(), 0u);  // bit 0 has been free the longest
    EXPECT_EQ(l.labels().at(0)->rule, "\"s\"");
    EXPECT_EQ(l.labels().at(1)->rule, "\"r1\"");
}

TEST(ClassifyLabels, SignatureNamesInsertedIntoJson) {
    fake_grace g;
    live l(1, g.hooks());
    std::string err;
    rule_set rs;
    ASSERT_TRUE(parse_rules("[payload memcached]\npattern = VALUE\ntags = attack, amplification\n"
                            "[payload dns]\npattern = x\ntags = dns\n"
                            "[payload ntp]\npattern = y\ntags = amplification, \"q\\\n"
                            "[payload untagged]\npattern = z\n",
                            "labels.conf", rs, &err))
        << err;
    ASSERT_TRUE(l.reload(rs, &err)) << err;
    char buf[64 + signature_labels::k_max_json];
    auto insert = [&](uint32_t tags, const std::string& json, unsigned closing) {
        std::memcpy(buf, json.data(), json.size());
        return std::string(buf, l.labels().insert_json(tags, buf, json.size(), closing));
    };
    EXPECT_EQ(insert(0, "{\"a\":1}", 1), "{\"a\":1}");
    EXPECT_EQ(insert(1u << 1, "{\"a\":1}", 1), "{\"a\":1,\"signature_rules\":[\"dns\"],\"signature_labels\":[\"dns\"]}");
    // Tags once each, in the rules' order; escaped; a rule without tags adds none; into the inner object.
    EXPECT_EQ(insert(0xf, "{\"s\":{\"b\":2}}", 2),
              "{\"s\":{\"b\":2,\"signature_rules\":[\"memcached\",\"dns\",\"ntp\",\"untagged\"],"
              "\"signature_labels\":[\"attack\",\"amplification\",\"dns\",\"\\\"q\\\\\"]}}");
    // Output filters (tag==NAME): a matched rule's name or one of its tags, exactly.
    EXPECT_TRUE(l.labels().matches(1u << 0, "memcached"));
    EXPECT_TRUE(l.labels().matches(1u << 0, "amplification"));
    EXPECT_FALSE(l.labels().matches(1u << 0, "dns"));
    EXPECT_FALSE(l.labels().matches(1u << 0, "amplif"));
    EXPECT_TRUE(l.labels().matches(1u << 0 | 1u << 1, "dns"));
    EXPECT_FALSE(l.labels().matches(1u << 9, "dns"));
    // A bit no rule has: nothing for it.
    EXPECT_EQ(insert(1u << 9, "{\"a\":1}", 1), "{\"a\":1,\"signature_rules\":[],\"signature_labels\":[]}");
}

TEST(ClassifyLabels, ManyLongNamesStayWithinTheBoundAndValid) {
    fake_grace g;
    live l(1, g.hooks());
    std::string err;
    std::vector<std::string> names;
    for (int i = 0; i < 32; ++i) names.push_back(std::string(60, char('a' + i % 26)) + std::to_string(i));
    ASSERT_TRUE(l.reload(payload_rules_named(names, std::string(50, 't') + ", other"), &err)) << err;
    char buf[7 + signature_labels::k_max_json];
    std::memcpy(buf, "{\"a\":1}", 7);
    const std::size_t n = l.labels().insert_json(0xffffffffu, buf, 7, 1);
    EXPECT_LE(n, 7 + signature_labels::k_max_json);
    const std::string s(buf, n);
    // Whole names only: 15 of the 63-65 bytes each (comma included) fit the 1,024 less the members' names and
    // brackets; the first tag (52 bytes) then does not fit, and no tag after it is tried.
    EXPECT_EQ(s.substr(0, 27), "{\"a\":1,\"signature_rules\":[\"");
    EXPECT_EQ(s.substr(s.size() - 24), "],\"signature_labels\":[]}");
    std::size_t quotes = 0;
    for (char c : s) quotes += c == '"';
    EXPECT_EQ(quotes, 2u + 4u + 2u * 15u);  // "a", the two members' names, 15 rules
}

}  // namespace
}  // namespace sluice::enrich::classify
