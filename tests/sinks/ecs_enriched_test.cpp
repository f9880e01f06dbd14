// SPDX-License-Identifier: Apache-2.0
// The enriched members at the sink (enrich/tables/resolve.hpp): SrcNetPrefix / DstNetPrefix, the json members
// through the per-core member cache (byte for byte what the uncached path writes, through fills, hits and
// eviction), and the ECS JSON encoder with the enrichment's parts (sinks/encode/ecs_json.hpp): exact lines.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <simdjson.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "dataplane/decode/record_format.hpp"
#include "enrich/tables/resolve.hpp"
#include "sinks/encode/ecs_from_cache.hpp"
#include "sinks/encode/ecs_json.hpp"

using namespace sluice;
using namespace sluice::enrich;
using decode::flow_record;

namespace {

std::string prefix(const char* text, uint8_t match) {
    uint8_t a[16];
    // "a.b.c.d" (IPv4-mapped) or an IPv6 text.
    if (std::strchr(text, ':') == nullptr) {
        unsigned b[4];
        std::sscanf(text, "%u.%u.%u.%u", &b[0], &b[1], &b[2], &b[3]);
        const uint8_t v[4] = {uint8_t(b[0]), uint8_t(b[1]), uint8_t(b[2]), uint8_t(b[3])};
        decode::set_ipv4(a, v);
    } else {
        EXPECT_EQ(inet_pton(AF_INET6, text, a), 1) << text;
    }
    char out[max_net_prefix];
    return std::string(out, format_net_prefix(a, match, out));
}

TEST(net_prefix, masked_to_the_match) {
    EXPECT_EQ(prefix("10.1.2.3", 17), "10.1.0.0/16");
    EXPECT_EQ(prefix("10.1.2.3", 25), "10.1.2.0/24");
    EXPECT_EQ(prefix("10.1.2.3", 33), "10.1.2.3/32");
    EXPECT_EQ(prefix("10.1.2.3", 1), "0.0.0.0/0");
    EXPECT_EQ(prefix("192.168.255.255", 21), "192.168.240.0/20");
    EXPECT_EQ(prefix("2001:db8:1234::1", 33), "2001:db8::/32");
    EXPECT_EQ(prefix("2001:db8:1:2:3:4:5:6", 65), "2001:db8:1:2::/64");
    EXPECT_EQ(prefix("2001:db8:1:2:3:4:5:6", 129), "2001:db8:1:2:3:4:5:6/128");
    EXPECT_EQ(prefix("2001:db8::1", 1), "::/0");
    EXPECT_EQ(prefix("2001:db8:ffff::", 37), "2001:db8:f000::/36");
    // No match, or a length past the family (a record never has one; nothing is written).
    EXPECT_EQ(prefix("10.1.2.3", 0), "");
    EXPECT_EQ(prefix("10.1.2.3", 34), "");
    EXPECT_EQ(prefix("2001:db8::1", 130), "");
    EXPECT_EQ(prefix("2001:db8::1", 255), "");
}

// The sets of the fixtures' kind of record, every scope.
struct world {
    key_registry keys;
    interner in;
    uint16_t rack;
    uint32_t src, dst, exp, in_if, out_if;
    std::unique_ptr<json_names> names;

    uint32_t add(std::initializer_list<std::pair<uint16_t, std::string_view>> kv) {
        set_builder b;
        for (const auto& [k, v] : kv) b.put(k, v);
        bool full = false;
        return in.intern(b.take(), full);
    }
    static uint16_t k(key x) { return uint16_t(x); }

    world() {
        rack = keys.add("rack");
        src = add({{k(key::name), "db7"}, {k(key::role), "pinned"}, {k(key::country), "FR"}, {k(key::state), "IDF"},
                   {k(key::city), "Paris"}, {k(key::asn), "64500"}, {k(key::as_name), "Example \"Transit\""},
                   {k(key::service), "billing"}, {rack, "r12"}});
        dst = add({{k(key::country), "DE"}, {k(key::state), "Berlin"}, {k(key::city), "Berlin"}, {k(key::asn), "64501"}});
        exp = add({{k(key::name), "edge1"}, {k(key::site), "par"}, {k(key::group), "edge"}, {k(key::role), "border"}});
        in_if = add({{k(key::name), "xe-0/0/3"}, {k(key::description), "Transit: Cogent"}, {k(key::speed), "10000"},
                     {k(key::boundary), "external"}, {k(key::connectivity), "transit"}, {k(key::provider), "cogent"}});
        out_if = add({{k(key::name), "xe-0/0/4"}});
        names = std::make_unique<json_names>(keys);
    }
};

flow_record sample_record() {
    flow_record r{};
    const uint8_t exp[4] = {192, 0, 2, 1}, s[4] = {10, 1, 2, 3}, d[4] = {10, 0, 0, 2};
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

flow_record enriched(const world& w) {
    flow_record r = sample_record();
    r.src_attr_id = w.src;
    r.dst_attr_id = w.dst;
    r.exporter_attr_id = w.exp;
    r.in_if_attr_id = w.in_if;
    r.out_if_attr_id = w.out_if;
    r.src_net_match = 25;  // 10.1.2.0/24
    r.src_as = 65000;      // what the exporter said
    return r;
}

std::string json_uncached(const world& w, const flow_record& r) {
    std::vector<char> buf(decode::max_json_size + max_enriched_json);
    std::size_t n = decode::format_json(r, buf.data(), decode::max_json_size);
    n = append_enriched(w.in, *w.names, r, buf.data(), n);
    return std::string(buf.data(), n);
}

std::string json_cached(member_cache& c, const flow_record& r) {
    std::vector<char> buf(decode::max_json_size + max_enriched_json + 64, '\x01');
    std::size_t n = decode::format_json(r, buf.data(), decode::max_json_size);
    n = c.append_json(r, buf.data(), n);
    for (std::size_t i = decode::max_json_size + max_enriched_json; i < buf.size(); ++i) EXPECT_EQ(buf[i], '\x01');
    return std::string(buf.data(), n);
}

TEST(json_members, names_and_prefix_exactly) {
    world w;
    const flow_record r = enriched(w);
    const std::string j = json_uncached(w, r);
    EXPECT_EQ(j.substr(j.find(",\"SrcNetName\"")),
              ",\"SrcNetName\":\"db7\",\"SrcNetService\":\"billing\",\"SrcNetRole\":\"pinned\",\"SrcCountry\":\"FR\","
              "\"SrcGeoState\":\"IDF\",\"SrcGeoCity\":\"Paris\",\"SrcAS\":64500,\"SrcASName\":\"Example \\\"Transit\\\"\","
              "\"SrcNetRack\":\"r12\",\"SrcNetPrefix\":\"10.1.2.0/24\","
              "\"DstCountry\":\"DE\",\"DstGeoState\":\"Berlin\",\"DstGeoCity\":\"Berlin\",\"DstAS\":64501,"
              "\"ExporterName\":\"edge1\",\"ExporterRole\":\"border\",\"ExporterSite\":\"par\",\"ExporterGroup\":\"edge\","
              "\"InIfName\":\"xe-0/0/3\",\"InIfDescription\":\"Transit: Cogent\",\"InIfSpeed\":10000,"
              "\"InIfBoundary\":\"external\",\"InIfConnectivity\":\"transit\",\"InIfProvider\":\"cogent\","
              "\"OutIfName\":\"xe-0/0/4\"}");
    // A prefix without any set, and the IPv6 one on the destination.
    flow_record p = sample_record();
    uint8_t a6[16];
    ASSERT_EQ(inet_pton(AF_INET6, "2001:db8:1:2::9", a6), 1);
    std::memcpy(p.dst_addr, a6, 16);
    p.dst_net_match = 49;
    const std::string pj = json_uncached(w, p);
    const std::string tail = ",\"export_version\":10,\"DstNetPrefix\":\"2001:db8:1::/48\"}";  // after the base's last member
    EXPECT_EQ(pj.substr(pj.size() - tail.size()), tail);
    // Without ids and matches: the record's line unchanged.
    const flow_record plain = sample_record();
    char base[decode::max_json_size];
    EXPECT_EQ(json_uncached(w, plain), std::string(base, decode::format_json(plain, base, sizeof base)));

    member_cache c(w.in, *w.names, member_cache::style::json);
    EXPECT_EQ(json_cached(c, r), j);  // fills
    EXPECT_EQ(c.stats().fills, 5u);
    EXPECT_EQ(json_cached(c, r), j);  // hits
    EXPECT_EQ(c.stats().hits, 5u);
    EXPECT_EQ(json_cached(c, p), pj);
    EXPECT_EQ(json_cached(c, plain), json_uncached(w, plain));
}

TEST(json_members, hostile_ids_write_nothing) {
    world w;
    flow_record r = sample_record();
    r.src_attr_id = 0xffffffffu;
    r.dst_attr_id = w.in.size();  // not published
    r.exporter_attr_id = interner::k_max_sets + w.src;  // would alias src's key without the bound
    member_cache c(w.in, *w.names, member_cache::style::json);
    const std::string plain = json_uncached(w, sample_record());
    EXPECT_EQ(json_uncached(w, r), plain);
    EXPECT_EQ(json_cached(c, r), plain);
    c.prefetch_index(r);
    c.prefetch_data(r);
    c.prefetch_blobs(r);
}

TEST(json_members, cache_equals_uncached_through_eviction) {
    // 20,000 sets of ~230 bytes through a 1 MiB arena and 256 buckets: most lookups evict.
    world w;
    std::vector<uint32_t> ids;
    std::mt19937 rng(5);
    for (int i = 0; i < 20000; ++i) {
        const std::string n = "host-" + std::to_string(i), s = "site-" + std::to_string(i % 97);
        ids.push_back(w.add({{world::k(key::name), n}, {world::k(key::role), "server"}, {world::k(key::site), s},
                             {world::k(key::team), "team-a"}, {world::k(key::country), "US"},
                             {world::k(key::city), "Mountain View"}, {world::k(key::asn), std::to_string(i)},
                             {world::k(key::as_name), "AS\x01\"name\\" + n}}));
    }
    member_cache c(w.in, *w.names, member_cache::style::json, 1 << 20, 8);
    member_cache e(w.in, *w.names, member_cache::style::ecs, 1 << 20, 8);
    for (int i = 0; i < 30000; ++i) {
        flow_record r = sample_record();
        r.src_attr_id = ids[rng() % ids.size()];
        r.dst_attr_id = ids[rng() % 64];  // a hot few
        r.exporter_attr_id = w.exp;
        r.in_if_attr_id = rng() % 2 ? w.in_if : 0;
        r.out_if_attr_id = ids[rng() % ids.size()];
        r.src_net_match = uint8_t(rng() % 34);
        c.prefetch_index(r);
        c.prefetch_data(r);
        c.prefetch_blobs(r);
        ASSERT_EQ(json_cached(c, r), json_uncached(w, r)) << i;
        ecs_parts x;
        e.ecs(r, x);  // its views stay intact to the record's end (checked by the ECS test's content)
        ASSERT_EQ(x.src.net.substr(0, 8), ",\"name\":");
    }
    EXPECT_GT(c.stats().hits, 30000u);
    EXPECT_GT(c.stats().fills, 30000u);
}

TEST(json_members, room_is_never_exceeded) {
    // Values longer than the room: left out whole, the other members kept, the line within its bound.
    world w;
    const std::string big(60000, 'x'), ctl(700, '\x02');  // 700 control bytes escape to 4,200
    const uint32_t s = w.add({{world::k(key::name), "a"}, {world::k(key::description), big},
                              {world::k(key::role), ctl}, {world::k(key::site), "b"}});
    flow_record r = sample_record();
    r.src_attr_id = s;
    r.dst_attr_id = s;
    r.exporter_attr_id = s;
    r.in_if_attr_id = s;
    r.out_if_attr_id = s;
    r.src_net_match = 33;
    r.dst_net_match = 33;
    const std::string j = json_uncached(w, r);
    member_cache c(w.in, *w.names, member_cache::style::json);
    EXPECT_EQ(json_cached(c, r), j);
    EXPECT_EQ(json_cached(c, r), j);
    EXPECT_GE(c.stats().oversize, 1u);
    EXPECT_NE(j.find("\"SrcNetName\":\"a\",\"SrcNetSite\":\"b\""), std::string::npos);
    EXPECT_EQ(j.find("Description"), std::string::npos);

    // ECS: the same sets, every scope; the line stays within k_ecs_json_max_enriched.
    member_cache e(w.in, *w.names, member_cache::style::ecs);
    ecs_parts x;
    e.ecs(r, x);
    std::size_t total = 0;
    for (auto v : {x.src.geo, x.src.as_org, x.src.net, x.dst.geo, x.dst.as_org, x.dst.net, x.observer, x.exporter,
                   x.in_if, x.out_if, x.in_if_sluice, x.out_if_sluice})
        total += v.size();
    EXPECT_LE(total, max_enriched_ecs);
    EXPECT_EQ(x.src.net, ",\"name\":\"a\",\"site\":\"b\"");
}

// A set filling a scope's whole fragment room, in every scope, with the longest prefixes: the ECS line's bound.
TEST(ecs_json_enriched, a_maxed_record_fits) {
    world w;
    const std::string v250(250, '"');  // escapes to 500
    std::vector<uint32_t> ids;
    for (int i = 0; i < 5; ++i)
        ids.push_back(w.add({{world::k(key::name), v250}, {world::k(key::kind), v250}, {world::k(key::country), "FR"},
                             {world::k(key::asn), "9223372036854775807"}, {world::k(key::as_name), v250},
                             {world::k(key::speed), "9223372036854775807"}, {world::k(key::description), v250},
                             {world::k(key::provider), std::to_string(i)}}));
    flow_record r;
    std::memset(&r, 0xff, sizeof r);
    r.kind = decode::record_kind::flow;
    r.src_attr_id = ids[0];
    r.dst_attr_id = ids[1];
    r.exporter_attr_id = ids[2];
    r.in_if_attr_id = ids[3];
    r.out_if_attr_id = ids[4];
    std::memset(r.src_addr, 0xff, 16);  // IPv6 ffff:...:ffff/128, the longest prefix text
    std::memset(r.dst_addr, 0xff, 16);
    r.src_net_match = r.dst_net_match = 129;
    member_cache e(w.in, *w.names, member_cache::style::ecs);
    ecs_parts x;
    e.ecs(r, x);
    const sinks::encode::ecs_enrichment en = sinks::encode::ecs_enrichment_of(x);
    using sinks::encode::k_ecs_json_max_enriched;
    std::vector<char> buf(k_ecs_json_max_enriched + 64, '\x01');
    const std::size_t n = sinks::encode::ecs_json_encode(r, buf.data(), en);
    EXPECT_LT(n, k_ecs_json_max_enriched);
    for (std::size_t i = k_ecs_json_max_enriched; i < buf.size(); ++i) ASSERT_EQ(buf[i], '\x01');
    simdjson::dom::parser p;
    simdjson::padded_string s(buf.data(), n);
    EXPECT_EQ(p.parse(s).error(), simdjson::SUCCESS) << std::string(buf.data(), n);
    // Even with every part at the room's limit (a hand-made enrichment: the cache never makes one this big).
    const std::string part(sinks::encode::k_ecs_enriched_room / 12, 'y');
    sinks::encode::ecs_enrichment full;
    for (auto* v : {&full.src.geo, &full.src.as_org, &full.src.net, &full.dst.geo, &full.dst.as_org, &full.dst.net,
                    &full.observer, &full.exporter, &full.in_if, &full.out_if, &full.in_if_sluice, &full.out_if_sluice})
        *v = part;
    full.src.prefix = full.dst.prefix = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128";
    full.src.asn = full.dst.asn = 0x7fffffffffffffffull;
    std::vector<char> buf2(k_ecs_json_max_enriched + 64, '\x01');
    EXPECT_LT(sinks::encode::ecs_json_encode(r, buf2.data(), full), k_ecs_json_max_enriched);
    for (std::size_t i = k_ecs_json_max_enriched; i < buf2.size(); ++i) ASSERT_EQ(buf2[i], '\x01');
}

sinks::encode::ecs_enrichment to_encoder(const ecs_parts& x) {
    const sinks::encode::ecs_enrichment en = sinks::encode::ecs_enrichment_of(x);
    return en;
}

TEST(ecs_json_enriched, exact_line) {
    world w;
    const flow_record r = enriched(w);
    member_cache e(w.in, *w.names, member_cache::style::ecs);
    for (int pass = 0; pass < 2; ++pass) {  // a fill, then a hit
        ecs_parts x;
        e.ecs(r, x);
        char buf[sinks::encode::k_ecs_json_max_enriched];
        const std::string got(buf, sinks::encode::ecs_json_encode(r, buf, to_encoder(x)));
        EXPECT_EQ(got,
                  "{\"@timestamp\":\"2025-12-01T00:01:00.987654321Z\",\"event\":{\"id\":\"7d98ee94651b309e\","
                  "\"kind\":\"event\",\"category\":[\"network\"],\"type\":[\"connection\"],"
                  "\"created\":\"2025-12-01T00:01:01.000000001Z\",\"start\":\"2025-12-01T00:00:00.123456789Z\","
                  "\"end\":\"2025-12-01T00:01:00.987654321Z\",\"duration\":60864197532},"
                  "\"source\":{\"port\":443,\"ip\":\"10.1.2.3\","
                  "\"as\":{\"number\":64500,\"organization\":{\"name\":\"Example \\\"Transit\\\"\"}},"
                  "\"geo\":{\"country_iso_code\":\"FR\",\"region_iso_code\":\"FR-IDF\",\"city_name\":\"Paris\"}},"
                  "\"destination\":{\"port\":51000,\"ip\":\"10.0.0.2\",\"as\":{\"number\":64501},"
                  "\"geo\":{\"country_iso_code\":\"DE\",\"region_name\":\"Berlin\",\"city_name\":\"Berlin\"}},"
                  "\"network\":{\"iana_number\":\"6\",\"transport\":\"tcp\",\"bytes\":1500,\"packets\":3,"
                  "\"direction\":\"unknown\",\"type\":\"ipv4\"},"
                  "\"observer\":{\"ingress\":{\"interface\":{\"id\":\"3\",\"name\":\"xe-0/0/3\","
                  "\"alias\":\"Transit: Cogent\"}},\"egress\":{\"interface\":{\"id\":\"4\",\"name\":\"xe-0/0/4\"}},"
                  "\"ip\":\"192.0.2.1\",\"name\":\"edge1\"},"
                  "\"sluice\":{\"flow_type\":\"IPFIX\",\"kind\":\"flow\",\"export_version\":10,\"sequence_num\":1000,"
                  "\"observation_domain_id\":7,\"record_index\":3,\"sampling_rate\":1,\"next_hop_as\":0,\"src_net\":0,"
                  "\"dst_net\":0,\"tcp_flags\":0,\"ip_tos\":0,\"ip_ttl\":0,\"icmp_type\":0,\"icmp_code\":0,"
                  "\"src_vlan\":0,\"dst_vlan\":0,\"mpls_label\":0,\"ipv6_flow_label\":0,\"forwarding_status\":0,"
                  "\"flow_end_reason\":0,\"in_if_format\":0,\"out_if_format\":0,\"biflow_reverse\":false,"
                  "\"sampling_overridden\":false,\"times_from_export\":false,\"src_as\":65000,"
                  "\"src\":{\"net\":{\"prefix\":\"10.1.2.0/24\",\"name\":\"db7\",\"service\":\"billing\","
                  "\"role\":\"pinned\",\"rack\":\"r12\"}},"
                  "\"exporter\":{\"role\":\"border\",\"site\":\"par\",\"group\":\"edge\"},"
                  "\"in_if\":{\"speed\":10000,\"boundary\":\"external\",\"connectivity\":\"transit\","
                  "\"provider\":\"cogent\"}}}");
    }
    EXPECT_EQ(e.stats().fills, 5u);
    EXPECT_EQ(e.stats().hits, 5u);
}

TEST(ecs_json_enriched, counters_and_no_enrichment) {
    world w;
    flow_record r = enriched(w);
    // Without ids: the plain encoder's line.
    const flow_record plain = sample_record();
    member_cache e(w.in, *w.names, member_cache::style::ecs);
    ecs_parts x;
    e.ecs(plain, x);
    char a[sinks::encode::k_ecs_json_max_enriched], b[sinks::encode::k_ecs_json_max];
    EXPECT_EQ(std::string(a, sinks::encode::ecs_json_encode(plain, a, to_encoder(x))),
              std::string(b, sinks::encode::ecs_json_encode(plain, b)));
    // An interface-counters record: the in_if members (observer.ingress.interface, sluice.in_if) and the exporter's;
    // no source / destination / egress.
    r.kind = decode::record_kind::interface_counters;
    r.out_if_attr_id = 0;
    e.ecs(r, x);
    const std::string got(a, sinks::encode::ecs_json_encode(r, a, to_encoder(x)));
    EXPECT_NE(got.find("\"observer\":{\"ingress\":{\"interface\":{\"id\":\"3\",\"name\":\"xe-0/0/3\","
                       "\"alias\":\"Transit: Cogent\"}},\"ip\":\"192.0.2.1\",\"name\":\"edge1\"}"),
              std::string::npos)
        << got;
    EXPECT_NE(got.find("\"direction\":\"unknown\"},\"exporter\":{\"role\":\"border\",\"site\":\"par\","
                       "\"group\":\"edge\"},\"in_if\":{\"speed\":10000,\"boundary\":\"external\","
                       "\"connectivity\":\"transit\",\"provider\":\"cogent\"}}}"),
              std::string::npos)
        << got;
    EXPECT_EQ(got.find("\"source\""), std::string::npos);
    EXPECT_EQ(got.find("src_as"), std::string::npos);
}

TEST(ecs_json_enriched, exporter_as_stays_without_table_as_and_org_alone) {
    world w;
    flow_record r = sample_record();
    r.src_as = 65000;
    r.src_attr_id = w.add({{world::k(key::as_name), "Only Name"}, {world::k(key::asn), "AS123"}});  // not a number
    r.dst_attr_id = w.add({{world::k(key::as_name), "Name Too"}});
    member_cache e(w.in, *w.names, member_cache::style::ecs);
    ecs_parts x;
    e.ecs(r, x);
    char a[sinks::encode::k_ecs_json_max_enriched];
    const std::string got(a, sinks::encode::ecs_json_encode(r, a, to_encoder(x)));
    EXPECT_NE(got.find("\"source\":{\"port\":443,\"ip\":\"10.1.2.3\",\"as\":{\"number\":65000,"
                       "\"organization\":{\"name\":\"Only Name\"}}}"),
              std::string::npos)
        << got;
    EXPECT_NE(got.find("\"destination\":{\"port\":51000,\"ip\":\"10.0.0.2\",\"as\":{\"organization\":{\"name\":"
                       "\"Name Too\"}}}"),
              std::string::npos)
        << got;
    EXPECT_EQ(got.find("src_as"), std::string::npos);
    EXPECT_EQ(got.find("AS123"), std::string::npos);  // not a long: left out of ECS
}

}  // namespace
