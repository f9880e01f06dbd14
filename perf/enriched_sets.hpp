// SPDX-License-Identifier: Apache-2.0
// Enriched records for the encoder benchmarks (encode_bench, avro_bench): an interner with sets of realistic size
// (a host inventory row, a City+ASN entry's fields, an exporter row, an interface row: 10-30 byte values, one
// custom key) and a copy of the benchmark's records with all five ids and both matched prefixes set, the sets
// spread over many ids so the blobs are not one cache line.
#pragma once

#include <string>
#include <vector>

#include "dataplane/decode/flow_record.hpp"
#include "enrich/attrs/attrs.hpp"
#include "sinks/encode/enriched.hpp"

namespace sluice::perf {

struct enriched_sets {
    enrich::key_registry keys;
    enrich::interner in;
    std::vector<uint32_t> net, exporters, ifs;
    sinks::encode::enriched_keys* names = nullptr;
    sinks::encode::enrichment en;

    uint32_t intern(std::initializer_list<std::pair<enrich::key, std::string>> kv, std::string rack = {}) {
        enrich::set_builder b;
        for (const auto& [k, v] : kv) b.put(k, v);
        if (!rack.empty()) b.put(uint16_t(keys.find("rack")), rack);
        bool full = false;
        return in.intern(b.take(), full);
    }

    enriched_sets() {
        keys.add("rack");
        names = new sinks::encode::enriched_keys(keys);
        en = {&in, names};
        using enrich::key;
        for (int i = 0; i < 4096; ++i) {
            const std::string n = std::to_string(i);
            net.push_back(intern({{key::name, "host-" + n + ".dc1.example.net"}, {key::role, "server"},
                                  {key::site, "par" + std::to_string(i % 7)}, {key::region, "eu-west"},
                                  {key::tenant, "tenant-" + std::to_string(i % 13)}, {key::country, "FR"},
                                  {key::city, "Paris"}, {key::asn, std::to_string(64500 + i % 50)},
                                  {key::as_name, "Example Transit " + std::to_string(i % 50)}},
                                 "r" + std::to_string(i % 40)));
        }
        for (int i = 0; i < 64; ++i)
            exporters.push_back(intern({{key::name, "edge-" + std::to_string(i) + ".par1"}, {key::group, "edge"},
                                        {key::role, "border"}, {key::site, "par1"}, {key::region, "eu-west"},
                                        {key::tenant, "net"}}));
        for (int i = 0; i < 1024; ++i)
            ifs.push_back(intern({{key::name, "et-0/0/" + std::to_string(i)},
                                  {key::description, "Transit: Cogent 100G #" + std::to_string(i)},
                                  {key::speed, "100000"}, {key::boundary, i % 2 ? "external" : "internal"},
                                  {key::connectivity, "transit"}, {key::provider, "cogent"}}));
    }
    ~enriched_sets() { delete names; }
    enriched_sets(const enriched_sets&) = delete;
    enriched_sets& operator=(const enriched_sets&) = delete;

    // recs with every id and both prefixes set (a pseudo-random spread of the sets).
    std::vector<decode::flow_record> enrich(std::vector<decode::flow_record> recs) const {
        uint64_t s = 0x9e3779b97f4a7c15ull;
        auto rnd = [&] {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            return s;
        };
        for (auto& r : recs) {
            r.src_attr_id = net[rnd() % net.size()];
            r.dst_attr_id = net[rnd() % net.size()];
            r.exporter_attr_id = exporters[rnd() % exporters.size()];
            r.in_if_attr_id = ifs[rnd() % ifs.size()];
            r.out_if_attr_id = ifs[rnd() % ifs.size()];
            const bool v4 = decode::is_ipv4_mapped(r.src_addr);
            r.src_net_match = uint8_t(v4 ? 25 : 49);
            r.dst_net_match = uint8_t(v4 ? 33 : 65);
        }
        return recs;
    }
};

}  // namespace sluice::perf
