// SPDX-License-Identifier: Apache-2.0
// Enriched records for the protobuf and Avro tests: an interner holding known attribute sets (every built-in key,
// two custom keys, a key with no field in its scope, a non-decimal AS number, a set too large for any budget) and
// records pointing at them with matched prefixes. tests/sinks/proto_compat_test.py and avro_enriched_test.py
// check the decoded values against the same table (ENRICHED_EXPECT there), so a change here changes both.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "dataplane/decode/flow_record.hpp"
#include "enrich/attrs/attrs.hpp"
#include "sinks/encode/enriched.hpp"

namespace sluice::test_fixtures {

struct enriched_fixture {
    enrich::key_registry keys;
    enrich::interner in;
    sinks::encode::enriched_keys* names = nullptr;  // made after the custom keys are declared
    sinks::encode::enrichment en;
    std::vector<decode::flow_record> recs;

    uint32_t intern(std::initializer_list<std::pair<const char*, std::string>> kv) {
        enrich::set_builder b;
        for (const auto& [k, v] : kv) b.put(static_cast<uint16_t>(keys.find(k)), v);
        bool full = false;
        return in.intern(b.take(), full);
    }

    enriched_fixture() {
        keys.add("rack");
        keys.add("cost_center");
        names = new sinks::encode::enriched_keys(keys);
        en = {&in, names};
        const uint32_t src = intern({{"name", "web-1"}, {"kind", "server"}, {"service", "shop"}, {"team", "web"},
                                     {"role", "frontend"}, {"site", "par1"}, {"region", "eu"}, {"tenant", "acme"},
                                     {"group", "g1"}, {"country", "FR"}, {"state", "IDF"}, {"city", "Paris"},
                                     {"asn", "64500"}, {"as_name", "Example \"Transit\""},
                                     {"description", "rack row 3"}, {"rack", "r12"}});
        const uint32_t dst = intern({{"name", "db-1"}, {"city", "Lyon"}, {"asn", "AS64501"}, {"cost_center", "cc-9"}});
        const uint32_t exp = intern({{"name", "edge-1"}, {"group", "edge"}, {"role", "border"}, {"site", "par1"},
                                     {"region", "eu"}, {"tenant", "net"}, {"country", "FR"}});
        const uint32_t in5 = intern({{"name", "et-0/0/5"}, {"description", "Transit: Cogent"}, {"speed", "100000"},
                                     {"boundary", "external"}, {"connectivity", "transit"}, {"provider", "cogent"}});
        const uint32_t self = intern({{"name", "self"}, {"description", "the device itself (sFlow 0x3FFFFFFF)"}});
        // Too large for a message: 40 KB of one custom value, then short ones that still fit after it.
        const uint32_t huge = intern({{"name", "big"}, {"rack", std::string(40000, 'x')}, {"cost_center", "c"}});
        const uint32_t v6 = intern({{"name", "v6lab"}, {"tenant", "lab"}, {"asn", "4200000000"}});

        auto v4 = [](uint8_t* a, uint8_t x, uint8_t y, uint8_t z, uint8_t w) {
            const uint8_t b[4] = {x, y, z, w};
            decode::set_ipv4(a, b);
        };
        auto base = [&](decode::flow_record& r, uint32_t seq) {
            r.type = decode::flow_type::ipfix;
            r.kind = decode::record_kind::flow;
            r.export_version = 10;
            r.direction = decode::flow_direction::ingress;
            r.sequence_num = seq;
            r.bytes = 1000 + seq;
            r.packets = 10;
            r.time_received_ns = 1764547261000000000ull + seq;
            v4(r.sampler_address, 192, 0, 2, 1);
        };
        {  // 0: every scope, IPv4 prefixes /24 and /32
            decode::flow_record r{};
            base(r, 1);
            v4(r.src_addr, 10, 1, 2, 3);
            v4(r.dst_addr, 192, 0, 2, 77);
            r.src_net_match = 25;
            r.dst_net_match = 33;
            r.src_attr_id = src;
            r.dst_attr_id = dst;
            r.exporter_attr_id = exp;
            r.in_if_attr_id = in5;
            r.out_if_attr_id = self;
            r.extrapolated_bytes = 123456;
            r.extrapolated_packets = 789;
            r.signature_tags = 5;
            recs.push_back(r);
        }
        {  // 1: IPv6, /48 and ::/0, no exporter or interfaces
            decode::flow_record r{};
            base(r, 2);
            const uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0xab, 0xcd, 0, 0, 0, 0, 0, 0, 0, 5};
            const uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
            std::memcpy(r.src_addr, a, 16);
            std::memcpy(r.dst_addr, b, 16);
            r.src_net_match = 49;
            r.dst_net_match = 1;
            r.src_attr_id = v6;
            recs.push_back(r);
        }
        {  // 2: nothing enriched (encodes as the plain encoder does)
            decode::flow_record r{};
            base(r, 3);
            v4(r.src_addr, 10, 0, 0, 1);
            recs.push_back(r);
        }
        {  // 3: hostile: prefix lengths the family cannot have, ids never published
            decode::flow_record r{};
            base(r, 4);
            v4(r.src_addr, 10, 0, 0, 1);
            const uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
            std::memcpy(r.dst_addr, b, 16);
            r.src_net_match = 34;
            r.dst_net_match = 200;
            r.src_attr_id = 0xffffffffu;
            r.exporter_attr_id = in.size();
            recs.push_back(r);
        }
        {  // 4: a set larger than the budget: the huge value left out, the rest kept
            decode::flow_record r{};
            base(r, 5);
            v4(r.src_addr, 10, 9, 9, 9);
            r.src_attr_id = huge;
            r.src_net_match = 9;  // /8
            r.exporter_attr_id = exp;
            recs.push_back(r);
        }
        {  // 5: interface counters: exporter and input interface only
            decode::flow_record r{};
            base(r, 6);
            r.kind = decode::record_kind::interface_counters;
            r.type = decode::flow_type::sflow_5;
            r.export_version = 5;
            r.in_if = 5;
            r.if_speed_mbps = 100000;
            r.exporter_attr_id = exp;
            r.in_if_attr_id = in5;
            recs.push_back(r);
        }
    }
    ~enriched_fixture() { delete names; }
    enriched_fixture(const enriched_fixture&) = delete;
    enriched_fixture& operator=(const enriched_fixture&) = delete;
};

}  // namespace sluice::test_fixtures
