// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the bytes as an .mmdb file (written to a memfd, opened by its /proc/self/fd path) through
// read_mmdb with MaxMind's nested layout, ip-location-db's flat one and a layout whose paths lead to maps,
// floats and array elements, so the record walker meets unexpected types, huge arrays, deep nesting and
// wrong integer widths. libmaxminddb validates the metadata; the search tree and the records are ours to walk.
// Checked: no crash or sanitizer report, a failed file returns no prefixes and says why (naming the file), a
// good one returns valid prefixes, each with a set, that flatten to ordered intervals.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "enrich/sources/inventory.hpp"
#include "fuzz_file.hpp"

namespace {

using namespace sluice::enrich;

// Paths that do not end at a string or an integer in a well-formed City database: a map, a double, an
// array element past the end, a path through an array.
mmdb_layout odd_layout() {
    return {{{key::country, {"country"}},
             {key::state, {"subdivisions", "5", "names", "en"}},
             {key::city, {"location", "latitude"}},
             {key::asn, {"subdivisions"}},
             {key::as_name, {"city", "names", "en", "x"}},
             {key::region, {"continent", "geoname_id"}}}};
}

void check(const local_source& s, const std::string& path) {
    if (!s.report.fatal.empty()) {
        if (!s.prefixes.empty() || s.report.fatal.compare(0, path.size(), path) != 0) std::abort();
        return;
    }
    if (s.prefixes.size() != s.report.prefixes) std::abort();
    for (const prefix& p : s.prefixes) {
        const u128 a = p.addr;
        if (p.len > 128 || p.value == 0 || p.value > s.sets.size()) std::abort();
        if (is_v4_key(a) && p.len < 96) std::abort();
        if (p.len < 128 && (a & (~u128(0) >> p.len)) != 0) std::abort();  // host bits clear
    }
    // Address order and disjointness hold for a well-formed tree only (a corrupt one may give the IPv4
    // networks twice, from ::a.b.c.d and ::ffff:a.b.c.d): flatten, which the builder runs next, takes either.
    const std::vector<interval> iv = flatten(s.prefixes);
    for (std::size_t i = 1; i < iv.size(); ++i)
        if (!(u128(iv[i - 1].lo) < u128(iv[i].lo))) std::abort();
}

}  // namespace

// libmaxminddb 1.7.1 (Debian 12) leaks its data pool when MMDB_open fails on corrupt metadata (description
// map), fixed upstream by maxmind/libmaxminddb PR #356 (2024). MMDB_open frees what it can and leaves the
// MMDB_s unusable, so the caller cannot free it either: ignore leaks allocated inside libmaxminddb only.
extern "C" const char* __lsan_default_suppressions() { return "leak:libmaxminddb.so\n"; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    static const mmdb_layout layouts[] = {mmdb_layout::maxmind(), mmdb_layout::ip_location_db(), odd_layout()};
    const std::string& path = sluice::fuzz::memfd_file("sluice-fuzz-mmdb", data, size);
    for (const mmdb_layout& l : layouts) check(read_mmdb(path, l), path);
    return 0;
}
