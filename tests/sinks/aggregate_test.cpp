// SPDX-License-Identifier: Apache-2.0
// The aggregating output against a brute-force count: exact totals per window, exact top K, late and
// future records, a full table, `top` queries merged over sink cores, and the spec's errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <tuple>

#include "enrich/attrs/attrs.hpp"
#include "sinks/aggregate/aggregate.hpp"
#include "sinks/output/output.hpp"

using namespace sluice;
using namespace sluice::sinks;

namespace {

constexpr uint64_t s_ns = 1000000000ull;
constexpr uint64_t t0 = 1764600000ull * s_ns;  // 2025-12-01T14:40:00Z, a multiple of 300 s

decode::flow_record rec(uint32_t src, uint32_t dst, uint8_t proto, uint16_t dport, uint64_t bytes, uint64_t packets,
                        uint64_t end_ns, uint64_t received_ns, uint32_t rate = 1) {
    decode::flow_record r{};
    decode::set_ipv4_host(r.src_addr, src);
    decode::set_ipv4_host(r.dst_addr, dst);
    decode::set_ipv4_host(r.sampler_address, 0x0a000001);
    r.proto = proto;
    r.dst_port = dport;
    r.bytes = bytes;
    r.packets = packets;
    r.time_flow_end_ns = end_ns;
    r.time_received_ns = received_ns;
    r.sampling_rate = rate;
    r.kind = decode::record_kind::flow;
    return r;
}

struct sink_out {
    std::vector<closed_window> windows;
};

agg_config cfg(std::string_view dims, uint32_t top, uint32_t max_keys = 65536) {
    agg_config c;
    c.dims = parse_agg_dims(dims);
    c.top_k = top;
    c.max_keys = max_keys;
    return c;
}

using key4 = std::tuple<uint32_t, uint32_t, uint8_t, uint16_t>;
struct vol {
    uint64_t bytes = 0, packets = 0, ext_bytes = 0, ext_packets = 0, records = 0;
};

key4 decode_key(const agg_row& r) {
    auto be32 = [&](std::size_t at) {
        return uint32_t(r.key[at + 12]) << 24 | uint32_t(r.key[at + 13]) << 16 | uint32_t(r.key[at + 14]) << 8 |
               r.key[at + 15];
    };
    uint16_t port;
    std::memcpy(&port, r.key.data() + 33, 2);
    return {be32(0), be32(16), r.key[32], port};
}

}  // namespace

TEST(Aggregate, TotalsAndTopKMatchBruteForceOverWindows) {
    sink_out out;
    aggregate_counter_block ctr;
    auto hist = std::make_shared<window_history>(100);
    aggregator a(cfg("src_addr+dst_addr+proto+dst_port", 20, 1u << 20), 0, hist,
                 [&](const closed_window& w) { out.windows.push_back(w); }, &ctr);
    std::mt19937_64 rng(42);
    std::map<uint64_t, std::map<key4, vol>> truth;  // window start -> key -> volumes
    uint64_t clock = t0;
    for (int i = 0; i < 200000; ++i) {
        clock += 3 * s_ns / 1000;  // 3 ms apart: 600 s in all, so three windows
        // Heavy-tailed: a few hosts carry most bytes.
        const uint32_t src = 0x0a000000 + uint32_t(std::min<uint64_t>(rng() % 1000, rng() % 1000));
        const uint32_t dst = 0xc0a80000 + uint32_t(rng() % 50);
        const uint8_t proto = rng() % 3 == 0 ? 17 : 6;
        const uint16_t port = uint16_t(rng() % 4 == 0 ? 53 : 443);
        const uint64_t bytes = 40 + (rng() % 100 == 0 ? rng() % 1000000 : rng() % 1500);
        const uint32_t rate = rng() % 2 == 0 ? 1 : 100;
        const uint64_t end = clock - (rng() % 30) * s_ns;  // ended up to 30 s before it was received
        a.add(rec(src, dst, proto, port, bytes, 1, end, clock, rate));
        vol& v = truth[end - end % (300 * s_ns)][{src, dst, proto, port}];
        v.bytes += bytes;
        v.packets += 1;
        v.ext_bytes += bytes * rate;
        v.ext_packets += rate;
        v.records += 1;
    }
    a.close_all();
    EXPECT_EQ(ctr.get(aggregate_counter::late), 0u);
    EXPECT_EQ(ctr.get(aggregate_counter::records), 200000u);
    ASSERT_EQ(out.windows.size(), truth.size());
    std::size_t wi = 0;
    for (const auto& [start, keys] : truth) {
        const closed_window& w = out.windows[wi++];
        EXPECT_EQ(w.start_ns, start);
        // Brute force: every key ordered by bytes desc, then by key bytes (as the aggregator ties).
        std::vector<std::pair<key4, vol>> all(keys.begin(), keys.end());
        vol total;
        for (const auto& [k, v] : all) {
            total.bytes += v.bytes;
            total.packets += v.packets;
            total.ext_bytes += v.ext_bytes;
            total.ext_packets += v.ext_packets;
            total.records += v.records;
        }
        std::sort(all.begin(), all.end(), [](const auto& x, const auto& y) {
            if (x.second.bytes != y.second.bytes) return x.second.bytes > y.second.bytes;
            return x.first < y.first;  // same order as the key bytes (big-endian addresses, proto, port LE)
        });
        ASSERT_EQ(w.rows.size(), 21u);
        vol sum;
        for (std::size_t i = 0; i < w.rows.size(); ++i) {
            const agg_row& r = w.rows[i];
            sum.bytes += r.bytes;
            sum.packets += r.packets;
            sum.ext_bytes += r.ext_bytes;
            sum.ext_packets += r.ext_packets;
            sum.records += r.records;
            if (i < 20) {
                ASSERT_FALSE(r.other);
                EXPECT_EQ(decode_key(r), all[i].first) << "rank " << i + 1;
                EXPECT_EQ(r.bytes, all[i].second.bytes);
                EXPECT_EQ(r.ext_bytes, all[i].second.ext_bytes);
                EXPECT_EQ(r.records, all[i].second.records);
            } else {
                EXPECT_TRUE(r.other);
                EXPECT_EQ(r.keys, all.size() - 20);
            }
        }
        EXPECT_EQ(sum.bytes, total.bytes);
        EXPECT_EQ(sum.packets, total.packets);
        EXPECT_EQ(sum.ext_bytes, total.ext_bytes);
        EXPECT_EQ(sum.ext_packets, total.ext_packets);
        EXPECT_EQ(sum.records, total.records);
    }
    EXPECT_EQ(ctr.get(aggregate_counter::windows_closed), truth.size());
}

TEST(Aggregate, LateRecordsLandInTheirOpenWindowOrAreCounted) {
    std::vector<closed_window> out;
    aggregate_counter_block ctr;
    agg_config c = cfg("proto", 10);
    c.lateness_s = 60;
    aggregator a(c, 0, nullptr, [&](const closed_window& w) { out.push_back(w); }, &ctr);
    a.add(rec(1, 2, 6, 80, 100, 1, t0 + 10 * s_ns, t0 + 10 * s_ns));  // window t0
    a.add(rec(1, 2, 6, 80, 200, 1, t0 + 299 * s_ns, t0 + 330 * s_ns));  // clock in window t0+300
    EXPECT_TRUE(out.empty());  // t0's window stays open until t0 + 360 s
    a.add(rec(1, 2, 6, 80, 400, 1, t0 + 100 * s_ns, t0 + 359 * s_ns));  // late but within lateness: window t0
    EXPECT_TRUE(out.empty());
    a.add(rec(1, 2, 6, 80, 800, 1, t0 + 400 * s_ns, t0 + 360 * s_ns));  // closes t0's window
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].start_ns, t0);
    EXPECT_EQ(out[0].rows[0].bytes, 700u);
    EXPECT_EQ(out[0].rows[0].records, 3u);
    a.add(rec(1, 2, 6, 80, 1600, 1, t0 + 5 * s_ns, t0 + 361 * s_ns));  // its window has closed
    EXPECT_EQ(ctr.get(aggregate_counter::late), 1u);
    a.add(rec(1, 2, 6, 80, 3200, 1, t0 + 9000 * s_ns, t0 + 362 * s_ns));  // ahead: the clock's window
    EXPECT_EQ(ctr.get(aggregate_counter::future), 1u);
    // An exporter clock three years behind: aggregated by reception time, counted.
    a.add(rec(1, 2, 6, 80, 6400, 1, t0 - 94000000 * s_ns, t0 + 362 * s_ns));
    EXPECT_EQ(ctr.get(aggregate_counter::clock_skew), 1u);
    EXPECT_EQ(ctr.get(aggregate_counter::late), 1u);
    a.advance(0);
    EXPECT_EQ(out.size(), 1u);
    a.advance(600 * s_ns);  // idle: the clock moves on and closes window t0+300
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[1].start_ns, t0 + 300 * s_ns);
    EXPECT_EQ(out[1].rows[0].bytes, 800u + 3200u + 6400u);
    EXPECT_EQ(ctr.get(aggregate_counter::records), 6u);
}

TEST(Aggregate, AFullTableFoldsNewKeysIntoOtherAndTotalsStayExact) {
    std::vector<closed_window> out;
    aggregate_counter_block ctr;
    aggregator a(cfg("src_addr", 4, 8), 0, nullptr, [&](const closed_window& w) { out.push_back(w); }, &ctr);
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < 20; ++i) {
        a.add(rec(100 + i, 1, 6, 80, 1000 + i, 2, t0, t0));
        bytes += 1000 + i;
    }
    decode::flow_record counters{};
    counters.kind = decode::record_kind::interface_counters;
    a.add(counters);
    a.close_all();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(ctr.get(aggregate_counter::keys_overflow), 12u);
    EXPECT_EQ(ctr.get(aggregate_counter::not_flows), 1u);
    const auto& rows = out[0].rows;
    ASSERT_EQ(rows.size(), 5u);
    EXPECT_EQ(rows[0].bytes, 1007u);  // the 8 tracked keys are 100..107: top 4 are 107..104
    EXPECT_EQ(rows[3].bytes, 1004u);
    uint64_t sum = 0, packets = 0;
    for (const auto& r : rows) sum += r.bytes, packets += r.packets;
    EXPECT_EQ(sum, bytes);
    EXPECT_EQ(packets, 40u);
    EXPECT_TRUE(rows[4].other);
    EXPECT_EQ(rows[4].records, 16u);
    EXPECT_EQ(rows[4].keys, 4u);  // tracked keys folded (overflowed keys are not counted)
}

TEST(Aggregate, DownsampledRecordsScaleExtrapolatedVolumes) {
    std::vector<closed_window> out;
    aggregate_counter_block ctr;
    aggregator a(cfg("proto", 4), 0, nullptr, [&](const closed_window& w) { out.push_back(w); }, &ctr);
    a.add(rec(1, 2, 6, 80, 100, 2, t0, t0, 10), 4);
    decode::flow_record r = rec(1, 2, 6, 80, 100, 2, t0, t0, 10);
    r.extrapolated_bytes = 5000;  // set by the enrichment stage: used as is
    r.extrapolated_packets = 70;
    a.add(r);
    a.close_all();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].rows[0].bytes, 200u);
    EXPECT_EQ(out[0].rows[0].ext_bytes, 100u * 10 * 4 + 5000);
    EXPECT_EQ(out[0].rows[0].ext_packets, 2u * 10 * 4 + 70);
}

TEST(Aggregate, TopQueryMergesSinkCoresAndRegroups) {
    auto hist = std::make_shared<window_history>(2);
    aggregate_counter_block c0, c1;
    const agg_config c = cfg("src_addr+dst_port", 100);
    aggregator a0(c, 0, hist, nullptr, &c0), a1(c, 1, hist, nullptr, &c1);
    a0.add(rec(1, 9, 6, 443, 500, 1, t0, t0));
    a0.add(rec(2, 9, 6, 53, 300, 1, t0, t0));
    a1.add(rec(1, 9, 6, 53, 250, 1, t0, t0));
    a1.add(rec(3, 9, 6, 443, 100, 1, t0, t0));
    a0.close_all();
    a1.close_all();
    top_query q;
    q.by = parse_agg_dims("dst_port");
    q.limit = 1;
    const top_answer t = query_top(*hist, c.dims, q);
    ASSERT_TRUE(t.found);
    EXPECT_EQ(t.start_ns, t0);
    ASSERT_EQ(t.rows.size(), 2u);
    uint16_t port;
    std::memcpy(&port, t.rows[0].key.data(), 2);
    EXPECT_EQ(port, 443);
    EXPECT_EQ(t.rows[0].bytes, 600u);
    EXPECT_TRUE(t.rows[1].other);
    EXPECT_EQ(t.rows[1].bytes, 550u);
    EXPECT_EQ(t.rows[1].keys, 1u);
    EXPECT_EQ(format_top_json(t),
              "{\"found\":true,\"window_start\":\"2025-12-01T14:40:00Z\",\"window_start_ns\":1764600000000000000,"
              "\"window_seconds\":300,\"by\":[\"dst_port\"],\"rows\":[{\"rank\":1,\"dst_port\":443,\"records\":2,"
              "\"bytes\":600,\"packets\":2,\"extrapolated_bytes\":600,\"extrapolated_packets\":2,\"bps\":16.000,"
              "\"extrapolated_bps\":16.000}],\"other\":{\"keys\":1,\"records\":2,\"bytes\":550,\"packets\":2,"
              "\"extrapolated_bytes\":550,\"extrapolated_packets\":2,\"bps\":14.667,\"extrapolated_bps\":14.667}}");
    q.by = parse_agg_dims("proto");
    EXPECT_THROW(query_top(*hist, c.dims, q), std::invalid_argument);
    // Older windows are dropped past `history` distinct windows.
    for (int k = 1; k <= 2; ++k) {
        a0.add(rec(1, 9, 6, 443, 1, 1, t0 + k * 300 * s_ns, t0 + k * 300 * s_ns));
        a0.close_all();
    }
    q.by = {};
    q.start_ns = t0;
    EXPECT_FALSE(query_top(*hist, c.dims, q).found);
}

TEST(Aggregate, RowJsonIsExact) {
    closed_window w;
    w.start_ns = t0;
    w.window_s = 300;
    w.dims = parse_agg_dims("exporter+src_net+proto+dst_port");
    decode::flow_record r = rec(0x0a010203, 2, 17, 53, 3000, 30, t0, t0);
    r.src_net = 16;
    std::vector<closed_window> out;
    aggregate_counter_block ctr;
    agg_config c;
    c.dims = w.dims;
    aggregator a(c, 0, nullptr, [&](const closed_window& x) { out.push_back(x); }, &ctr);
    a.add(r);
    a.close_all();
    ASSERT_EQ(out.size(), 1u);
    char buf[k_agg_row_json];
    std::string s(buf, format_row_json(out[0], out[0].rows[0], 1, buf));
    EXPECT_EQ(s,
              "{\"window_start\":\"2025-12-01T14:40:00Z\",\"window_start_ns\":1764600000000000000,"
              "\"window_seconds\":300,\"sink\":0,\"rank\":1,\"other\":false,\"sampler_address\":\"10.0.0.1\","
              "\"src_net\":\"10.1.0.0/16\",\"proto\":17,\"dst_port\":53,\"records\":1,\"bytes\":3000,"
              "\"packets\":30,\"extrapolated_bytes\":3000,\"extrapolated_packets\":30,\"keys\":1,\"bps\":80.000,"
              "\"pps\":0.100,\"extrapolated_bps\":80.000,\"extrapolated_pps\":0.100}");
    s.assign(buf, format_row_json(out[0], out[0].rows[1], 2, buf));
    EXPECT_EQ(s,
              "{\"window_start\":\"2025-12-01T14:40:00Z\",\"window_start_ns\":1764600000000000000,"
              "\"window_seconds\":300,\"sink\":0,\"rank\":2,\"other\":true,\"records\":0,\"bytes\":0,"
              "\"packets\":0,\"extrapolated_bytes\":0,\"extrapolated_packets\":0,\"keys\":0,\"bps\":0.000,"
              "\"pps\":0.000,\"extrapolated_bps\":0.000,\"extrapolated_pps\":0.000}");
}

TEST(Aggregate, SpecKeysAndErrors) {
    output_config o = parse_output_spec("name=a,path=/tmp/x,aggregate=exporter+proto+dst_port,window=60,top=5", 0);
    EXPECT_TRUE(o.aggregate);
    EXPECT_EQ(o.agg.window_s, 60u);
    EXPECT_EQ(o.agg.top_k, 5u);
    ASSERT_EQ(o.agg.dims.size(), 3u);
    EXPECT_EQ(o.agg.dims[0], agg_dim::exporter);
    ASSERT_NE(o.agg_history, nullptr);
    auto err = [](std::string_view spec) {
        try {
            parse_output_spec(spec, 0);
        } catch (const spec_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(err("name=a,path=/tmp/x,top=5"),
              "--output a: window, lateness, top, max_keys, history and max_age need aggregate=DIMS");
    EXPECT_EQ(err("name=a,path=/tmp/x,aggregate=proto+port"),
              "--output a: key 'aggregate': unknown dimension 'port' (want DIM+DIM+... of sampler_address, "
              "src_addr, dst_addr, src_net, dst_net, proto, src_port, dst_port, in_if, out_if, src_as, dst_as, "
              "etype, ip_tos, direction, type (exporter = sampler_address); enrichment: src_|dst_{net_name,net_role,"
              "net_site,net_region,net_tenant,net_kind,net_service,net_team,net_group,country,geo_state,geo_city,asn,"
              "as_name}, exporter_{name,group,role,site,region,tenant}, in_if_|out_if_{name,description,speed,"
              "boundary,connectivity,provider} (src_X = src_net_X); custom keys: "
              "src_net_|dst_net_|exporter_|in_if_|out_if_<key>)");
    EXPECT_EQ(err("name=a,path=/tmp/x,aggregate=src_net+dst_net+src_addr+dst_addr+proto+in_if+out_if"),
              "--output a: aggregate: dimensions take 75 key bytes, at most 72 (each address 16, a prefix 17)");
    EXPECT_EQ(err("name=a,path=/tmp/x,aggregate=proto,window=7"),
              "--output a: aggregate: window: a divisor of a day or a whole number of minutes, so windows align "
              "to the clock");
    EXPECT_EQ(err("name=a,path=/tmp/x,aggregate=proto,window=60,lateness=600"),
              "--output a: aggregate: lateness: at most 4 windows");
    EXPECT_EQ(err("name=a,path=/tmp/x,aggregate=proto,proto"), "--output a: 'proto' is not KEY=VALUE");
    EXPECT_EQ(err("name=a,path=/tmp/x,aggregate=proto+proto"),
              "--output a: key 'aggregate': dimension 'proto' given twice");
}

// ---- enrichment dimensions ----

namespace {

uint32_t intern(enrich::interner& in, std::initializer_list<std::pair<enrich::key, std::string_view>> kv) {
    enrich::set_builder b;
    for (const auto& [k, v] : kv) b.put(k, v);
    bool full = false;
    const uint32_t id = in.intern(b.take(), full);
    EXPECT_FALSE(full);
    return id;
}

uint32_t load32_at(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

std::vector<std::string> row_lines(const closed_window& w) {
    std::vector<std::string> out;
    char buf[k_agg_row_json];
    for (std::size_t i = 0; i < w.rows.size(); ++i) {
        std::string s(buf, format_row_json(w, w.rows[i], unsigned(i + 1), buf));
        // Only the dimensions and volumes: drop the window prefix (exact above) and the rates.
        const auto a = s.find("\"other\":"), b = s.find(",\"keys\":");
        out.push_back(s.substr(a, b - a));
    }
    return out;
}

}  // namespace

// Two hosts of one site are one src_net_site row (keyed by the value, not the set); a record without a set
// (or a set without the key) is the null row; several enrichment dimensions and record fields combine.
TEST(AggregateEnrich, RowsMergeByValueAcrossSets) {
    enrich::interner in;
    const uint32_t a = intern(in, {{enrich::key::name, "web-1"}, {enrich::key::site, "par1"}, {enrich::key::service, "web"}});
    const uint32_t b = intern(in, {{enrich::key::name, "db-1"}, {enrich::key::site, "par1"}, {enrich::key::service, "db"}});
    const uint32_t c = intern(in, {{enrich::key::name, "web-2"}, {enrich::key::site, "ams1"}, {enrich::key::service, "web"}});
    const uint32_t d = intern(in, {{enrich::key::name, "lab"}});  // no site
    const uint32_t e = intern(in, {{enrich::key::name, "edge \"1\""}, {enrich::key::group, "edge"}});
    const uint32_t x = intern(in, {{enrich::key::name, "xe-0/0/1"}, {enrich::key::boundary, "external"},
                                   {enrich::key::speed, "10000"}});
    const uint32_t as = intern(in, {{enrich::key::asn, "64500"}, {enrich::key::as_name, "Example"}});
    ASSERT_NE(a, b);
    auto r = [&](uint32_t src, uint32_t dst, uint64_t bytes) {
        decode::flow_record x_ = rec(1, 2, 6, 443, bytes, 1, t0, t0, 10);
        x_.src_attr_id = src;
        x_.dst_attr_id = dst;
        x_.exporter_attr_id = e;
        x_.in_if_attr_id = x;
        return x_;
    };
    std::vector<closed_window> out;
    aggregate_counter_block ctr;
    // The short names are aliases of the net_ ones.
    agg_config cfg1 = cfg("src_site", 10);
    ASSERT_EQ(cfg1.dims, std::vector<agg_dim>{agg_dim::src_net_site});
    aggregator ag(cfg1, 0, nullptr, [&](const closed_window& w) { out.push_back(w); }, &ctr, &in);
    const decode::flow_record recs[] = {r(a, 0, 100), r(b, 0, 200), r(c, 0, 50), r(d, 0, 7), r(0, 0, 3), r(a, 0, 1000)};
    ag.add_burst(recs, 6);
    ag.close_all();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(row_lines(out[0]),
              (std::vector<std::string>{
                  "\"other\":false,\"src_net_site\":\"par1\",\"records\":3,\"bytes\":1300,\"packets\":3,"
                  "\"extrapolated_bytes\":13000,\"extrapolated_packets\":30",
                  "\"other\":false,\"src_net_site\":\"ams1\",\"records\":1,\"bytes\":50,\"packets\":1,"
                  "\"extrapolated_bytes\":500,\"extrapolated_packets\":10",
                  "\"other\":false,\"src_net_site\":null,\"records\":2,\"bytes\":10,\"packets\":2,"
                  "\"extrapolated_bytes\":100,\"extrapolated_packets\":20",
                  "\"other\":true,\"records\":0,\"bytes\":0,\"packets\":0,\"extrapolated_bytes\":0,"
                  "\"extrapolated_packets\":0"}));
    EXPECT_EQ(out[0].values, (std::vector<std::string>{"", "par1", "ams1"}));
    EXPECT_EQ(ctr.get(aggregate_counter::records), 6u);

    // Several scopes at once, a numeric attribute, a quote escaped; the same set in src and dst scopes.
    out.clear();
    aggregator ag2(cfg("src_net_service+exporter_name+in_if_boundary+in_if_speed+dst_asn+proto", 10), 0, nullptr,
                   [&](const closed_window& w) { out.push_back(w); }, &ctr, &in);
    const decode::flow_record recs2[] = {r(a, as, 100), r(c, as, 20), r(b, a, 5)};
    ag2.add_burst(recs2, 3);
    ag2.close_all();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(row_lines(out[0]),
              (std::vector<std::string>{
                  "\"other\":false,\"src_net_service\":\"web\",\"exporter_name\":\"edge \\\"1\\\"\","
                  "\"in_if_boundary\":\"external\",\"in_if_speed\":10000,\"dst_asn\":64500,\"proto\":6,"
                  "\"records\":2,\"bytes\":120,\"packets\":2,\"extrapolated_bytes\":1200,\"extrapolated_packets\":20",
                  "\"other\":false,\"src_net_service\":\"db\",\"exporter_name\":\"edge \\\"1\\\"\","
                  "\"in_if_boundary\":\"external\",\"in_if_speed\":10000,\"dst_asn\":null,\"proto\":6,"
                  "\"records\":1,\"bytes\":5,\"packets\":1,\"extrapolated_bytes\":50,\"extrapolated_packets\":10",
                  "\"other\":true,\"records\":0,\"bytes\":0,\"packets\":0,\"extrapolated_bytes\":0,"
                  "\"extrapolated_packets\":0"}));
}

// `top` over two sink cores whose value tables gave the same strings different ids: merged by the string;
// re-grouped by one enrichment dimension of two.
TEST(AggregateEnrich, TopMergesValuesOverSinkCores) {
    enrich::interner in;
    const uint32_t a = intern(in, {{enrich::key::site, "par1"}, {enrich::key::service, "web"}});
    const uint32_t b = intern(in, {{enrich::key::site, "ams1"}, {enrich::key::service, "web"}});
    const uint32_t c = intern(in, {{enrich::key::site, "par1"}, {enrich::key::service, "dns"}});
    auto hist = std::make_shared<window_history>(2);
    aggregate_counter_block c0, c1;
    const agg_config cf = cfg("src_net_site+src_net_service", 100);
    aggregator a0(cf, 0, hist, nullptr, &c0, &in), a1(cf, 1, hist, nullptr, &c1, &in);
    auto r = [&](uint32_t src, uint64_t bytes) {
        decode::flow_record x = rec(1, 2, 17, 53, bytes, 1, t0, t0);
        x.src_attr_id = src;
        return x;
    };
    a0.add(r(a, 100));  // sink 0: par1 = id 1, web = id 2
    a0.add(r(b, 40));
    a1.add(r(b, 30));   // sink 1: ams1 = id 1, web = id 2
    a1.add(r(c, 500));
    a1.add(r(a, 1));
    a0.close_all();
    a1.close_all();
    top_query q;
    q.by = parse_agg_dims("src_site");
    q.limit = 10;
    const top_answer t = query_top(*hist, cf.dims, q);
    ASSERT_TRUE(t.found);
    EXPECT_EQ(format_top_json(t),
              "{\"found\":true,\"window_start\":\"2025-12-01T14:40:00Z\",\"window_start_ns\":1764600000000000000,"
              "\"window_seconds\":300,\"by\":[\"src_net_site\"],\"rows\":[{\"rank\":1,\"src_net_site\":\"par1\","
              "\"records\":3,\"bytes\":601,\"packets\":3,\"extrapolated_bytes\":601,\"extrapolated_packets\":3,"
              "\"bps\":16.027,\"extrapolated_bps\":16.027},{\"rank\":2,\"src_net_site\":\"ams1\",\"records\":2,"
              "\"bytes\":70,\"packets\":2,\"extrapolated_bytes\":70,\"extrapolated_packets\":2,\"bps\":1.867,"
              "\"extrapolated_bps\":1.867}],\"other\":{\"keys\":0,\"records\":0,\"bytes\":0,\"packets\":0,"
              "\"extrapolated_bytes\":0,\"extrapolated_packets\":0,\"bps\":0.000,\"extrapolated_bps\":0.000}}");
    q.by = parse_agg_dims("src_service");
    const top_answer t2 = query_top(*hist, cf.dims, q);
    ASSERT_EQ(t2.rows.size(), 3u);
    EXPECT_EQ(t2.values[load32_at(t2.rows[0].key.data())], "dns");
    EXPECT_EQ(t2.rows[0].bytes, 500u);
    EXPECT_EQ(t2.values[load32_at(t2.rows[1].key.data())], "web");
    EXPECT_EQ(t2.rows[1].bytes, 171u);
    EXPECT_EQ(t2.rows[1].records, 4u);
}

// Past the value table (max(4 x max_keys, 4096) distinct values) records go to "other", counted; past max_keys
// keys too; totals stay exact. Without an interner every enrichment value is null.
TEST(AggregateEnrich, ValueTableBoundAndNoInterner) {
    enrich::interner in;
    std::vector<decode::flow_record> recs;
    for (int i = 0; i < 5000; ++i) {
        const std::string name = "host-" + std::to_string(i);
        decode::flow_record x = rec(1, 2, 6, 80, 10, 1, t0, t0);
        x.src_attr_id = intern(in, {{enrich::key::name, name}});
        recs.push_back(x);
    }
    std::vector<closed_window> out;
    aggregate_counter_block ctr;
    aggregator ag(cfg("src_net_name", 10, 1024), 0, nullptr, [&](const closed_window& w) { out.push_back(w); }, &ctr,
                  &in);
    ag.add_burst(recs.data(), unsigned(recs.size()));
    ag.add_burst(recs.data(), unsigned(recs.size()));  // again: the first 4096 values hit the cache or the table
    ag.close_all();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(ctr.get(aggregate_counter::records), 10000u);
    EXPECT_EQ(ctr.get(aggregate_counter::values_overflow), 2u * 904);
    EXPECT_EQ(ctr.get(aggregate_counter::keys_overflow), 2u * 3072);
    uint64_t bytes = 0, records = 0;
    for (const agg_row& r : out[0].rows) {
        bytes += r.bytes;
        records += r.records;
    }
    EXPECT_EQ(bytes, 100000u);
    EXPECT_EQ(records, 10000u);
    ASSERT_EQ(out[0].rows.size(), 11u);
    // "other": the overflowed records and the 1014 tracked keys past the top 10 (each key twice).
    EXPECT_EQ(out[0].rows.back().records, 2u * (904 + 3072 + 1014));
    EXPECT_EQ(out[0].rows.back().keys, 1014u);
    EXPECT_EQ(out[0].values.size(), 11u);  // the 10 rows' strings, plus [0]

    out.clear();
    aggregator none(cfg("exporter_site", 10), 0, nullptr, [&](const closed_window& w) { out.push_back(w); }, &ctr);
    none.add_burst(recs.data(), 3);
    none.close_all();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(row_lines(out[0])[0], "\"other\":false,\"exporter_site\":null,\"records\":3,\"bytes\":30,\"packets\":3,"
                                    "\"extrapolated_bytes\":30,\"extrapolated_packets\":3");
}

// Enrichment tables that change over days: every window brings 1000 values never seen before, 10 windows in
// all (10,000 values) through a value table of 4096 (max_keys 1024). At each window close with the table at
// least half full, the values no open window holds are freed: no record is ever refused a value, and every
// window's rows are its own values, exact.
TEST(AggregateEnrich, ValueTableReclaimsTheValuesOfClosedWindows) {
    constexpr int k_windows = 10, k_values = 1000;
    enrich::interner in;
    std::vector<std::vector<decode::flow_record>> bursts(k_windows);
    for (int w = 0; w < k_windows; ++w)
        for (int i = 0; i < k_values; ++i) {
            // Received 100 s into its window (end = received): window w closes when window w+1's burst
            // moves the clock to its start + 400 s (past start + 300 s + 60 s of lateness).
            const uint64_t t = t0 + uint64_t(w) * 300 * s_ns + 100 * s_ns;
            decode::flow_record x = rec(1, 2, 6, 80, uint64_t(1000 + i), 1, t, t);
            x.src_attr_id = intern(in, {{enrich::key::site, "site-" + std::to_string(w) + "-" + std::to_string(i)}});
            bursts[w].push_back(x);
        }
    std::vector<closed_window> out;
    aggregate_counter_block ctr;
    aggregator ag(cfg("src_net_site", k_values, 1024), 0, nullptr, [&](const closed_window& w) { out.push_back(w); },
                  &ctr, &in);
    std::vector<uint64_t> reclaimed;  // values_reclaimed after each burst
    for (int w = 0; w < k_windows; ++w) {
        ag.add_burst(bursts[w].data(), unsigned(bursts[w].size()));
        reclaimed.push_back(ctr.get(aggregate_counter::values_reclaimed));
        ASSERT_EQ(out.size(), std::size_t(w)) << "window " << w - 1 << " closed by window " << w << "'s burst";
    }
    ag.close_all();
    ASSERT_EQ(out.size(), std::size_t(k_windows));
    EXPECT_EQ(ctr.get(aggregate_counter::values_overflow), 0u);
    EXPECT_EQ(ctr.get(aggregate_counter::keys_overflow), 0u);
    EXPECT_EQ(ctr.get(aggregate_counter::records), uint64_t(k_windows) * k_values);
    // Window w-1 closes after window w's burst: 2000 values held after an odd burst (below the mark, kept), 3000
    // after an even one (at least 2048: the 2000 of the windows closed since are freed, window w's 1000 kept).
    // close_all at 2000 held: nothing freed.
    EXPECT_EQ(reclaimed, (std::vector<uint64_t>{0, 0, 2000, 2000, 4000, 4000, 6000, 6000, 8000, 8000}));
    EXPECT_EQ(ctr.get(aggregate_counter::values_reclaimed), 8000u);
    for (int w = 0; w < k_windows; ++w) {
        const closed_window& cw = out[std::size_t(w)];
        EXPECT_EQ(cw.start_ns, t0 + uint64_t(w) * 300 * s_ns);
        ASSERT_EQ(cw.rows.size(), std::size_t(k_values + 1)) << "window " << w;
        ASSERT_EQ(cw.values.size(), std::size_t(k_values + 1)) << "window " << w;
        const std::vector<std::string> lines = row_lines(cw);
        for (int r = 0; r < k_values; ++r) {
            // Rank r: the record of bytes 1000 + (999 - r), the value of its own window.
            const int i = k_values - 1 - r;
            const uint64_t b = uint64_t(1000 + i);
            ASSERT_EQ(lines[std::size_t(r)], "\"other\":false,\"src_net_site\":\"site-" + std::to_string(w) + "-" +
                                                 std::to_string(i) + "\",\"records\":1,\"bytes\":" + std::to_string(b) +
                                                 ",\"packets\":1,\"extrapolated_bytes\":" + std::to_string(b) +
                                                 ",\"extrapolated_packets\":1")
                << "window " << w << " rank " << r + 1;
        }
        const agg_row& other = cw.rows.back();
        EXPECT_TRUE(other.other);
        EXPECT_EQ(other.records, 0u);
        EXPECT_EQ(other.keys, 0u);
    }
}

// Custom keys declared in the config as dimensions (src_net_<key>, src_<key>, exporter_<key>, ...): keyed by value
// like the built-in attributes, named as the JSON names them (SrcNetRack = src_net_rack, CostCenter =
// cost_center); an undeclared key is refused at start-up (resolve_agg_dims), naming the declared ones.
TEST(AggregateEnrich, CustomKeysAsDimensions) {
    enrich::key_registry keys;
    const uint16_t rack = keys.add("rack"), cost = keys.add("cost-center");
    const agg_config c = cfg("src_net_rack+dst_rack+exporter_cost_center+proto", 10);
    ASSERT_EQ(c.dims.size(), 4u);
    EXPECT_TRUE(is_custom_dim(c.dims[0]) && is_custom_dim(c.dims[1]) && is_custom_dim(c.dims[2]));
    EXPECT_EQ(c.dims[3], agg_dim::proto);
    EXPECT_EQ(agg_dim_of(c.dims[1]).name, "dst_net_rack");  // src_X = src_net_X
    // The same name in another spec (or a `top` query) is the same dimension; a query declares none.
    EXPECT_EQ(parse_agg_dims("dst_net_rack", false), std::vector<agg_dim>{c.dims[1]});
    EXPECT_THROW(parse_agg_dims("in_if_rack", false), std::invalid_argument);
    EXPECT_FALSE(custom_dim_resolved(c.dims[0]));
    EXPECT_THROW(aggregator(c, 0, nullptr, nullptr, nullptr), std::invalid_argument);  // not resolved
    resolve_agg_dims(c, keys);
    EXPECT_EQ(uint16_t(agg_dim_of(c.dims[0]).attr), rack);
    EXPECT_EQ(uint16_t(agg_dim_of(c.dims[2]).attr), cost);

    enrich::interner in;
    auto custom = [&](std::initializer_list<std::pair<uint16_t, std::string_view>> kv) {
        enrich::set_builder b;
        for (const auto& [k, v] : kv) b.put(k, v);
        bool full = false;
        return in.intern(b.take(), full);
    };
    const uint32_t r7 = custom({{uint16_t(enrich::key::name), "web-1"}, {rack, "r7"}});
    const uint32_t r7b = custom({{uint16_t(enrich::key::name), "web-2"}, {rack, "r7"}});  // another set, same rack
    const uint32_t r9 = custom({{rack, "r9"}});
    const uint32_t ex = custom({{uint16_t(enrich::key::name), "edge1"}, {cost, "cc-42"}});
    std::vector<decode::flow_record> recs;
    auto add = [&](uint32_t src, uint32_t dst, uint32_t exp, uint8_t proto, uint64_t bytes) {
        decode::flow_record x = rec(1, 2, proto, 80, bytes, 1, t0, t0);
        x.src_attr_id = src;
        x.dst_attr_id = dst;
        x.exporter_attr_id = exp;
        recs.push_back(x);
    };
    add(r7, r9, ex, 6, 1000);
    add(r7b, r9, ex, 6, 500);  // the same row as the first: rack r7 both
    add(r9, r7, ex, 17, 300);
    add(r9, 0, 0, 6, 100);     // no dst set, no exporter set: nulls
    std::vector<closed_window> out;
    aggregate_counter_block ctr;
    aggregator ag(c, 0, nullptr, [&](const closed_window& w) { out.push_back(w); }, &ctr, &in);
    ag.add_burst(recs.data(), unsigned(recs.size()));
    ag.close_all();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(row_lines(out[0]),
              (std::vector<std::string>{
                  "\"other\":false,\"src_net_rack\":\"r7\",\"dst_net_rack\":\"r9\",\"exporter_cost_center\":\"cc-42\","
                  "\"proto\":6,\"records\":2,\"bytes\":1500,\"packets\":2,\"extrapolated_bytes\":1500,"
                  "\"extrapolated_packets\":2",
                  "\"other\":false,\"src_net_rack\":\"r9\",\"dst_net_rack\":\"r7\",\"exporter_cost_center\":\"cc-42\","
                  "\"proto\":17,\"records\":1,\"bytes\":300,\"packets\":1,\"extrapolated_bytes\":300,"
                  "\"extrapolated_packets\":1",
                  "\"other\":false,\"src_net_rack\":\"r9\",\"dst_net_rack\":null,\"exporter_cost_center\":null,"
                  "\"proto\":6,\"records\":1,\"bytes\":100,\"packets\":1,\"extrapolated_bytes\":100,"
                  "\"extrapolated_packets\":1",
                  "\"other\":true,\"records\":0,\"bytes\":0,\"packets\":0,\"extrapolated_bytes\":0,"
                  "\"extrapolated_packets\":0"}));

    // Undeclared: refused, naming the dimension and the declared keys.
    const agg_config bad = cfg("src_net_rck+proto", 10);
    try {
        resolve_agg_dims(bad, keys);
        ADD_FAILURE() << "no error";
    } catch (const std::invalid_argument& e) {
        EXPECT_EQ(std::string(e.what()).substr(0, 120),
                  std::string("dimension 'src_net_rck': no custom key 'rck' is declared (declared: rack, cost-center; "
                              "--enrich-key NAME, with enrichment on)").substr(0, 120));
    }
    EXPECT_THROW(resolve_agg_dims(bad, enrich::key_registry{}), std::invalid_argument);  // none declared
    // Not a custom-key name: unknown at parse.
    EXPECT_THROW(parse_agg_dims("src_net_Rack"), std::invalid_argument);
    EXPECT_THROW(parse_agg_dims("site_rack"), std::invalid_argument);
}
