// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: operator-supplied inventory files (JSON, NDJSON, CSV) through the real readers. The first
// byte picks the format and the consumer, the rest is the file, written to a memfd and read by its
// /proc/self/fd path as any file would be:
//   bits 0-1  format: json, ndjson, csv with a header line, csv with columns first,last,asn,as_name
//   bits 2-3  consumer: 0-1 load_inventory (prefix source: read_inventory + intern_sets + remap, then flatten),
//             2 the exporters file, 3 the interfaces file (both through builder::build, their only reader)
//   bit 4     declare the custom key "rack"
// Checked: no crash or sanitizer report, at most k_max_reported messages, each message names the file,
// the prefixes a source reports are the prefixes it returns, every prefix is a valid 128-bit prefix.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "enrich/sources/inventory.hpp"
#include "fuzz_file.hpp"
#include "enrich/tables/tables.hpp"

namespace {

using namespace sluice::enrich;

void check_messages(const std::vector<std::string>& errors, const std::string& file) {
    if (errors.size() > source_report::k_max_reported) std::abort();
    for (const std::string& e : errors)
        if (e.compare(0, file.size(), file) != 0 || e.size() <= file.size() || e[file.size()] != ':') std::abort();
}

void check_report(const source_report& r, const std::string& file) {
    check_messages(r.errors, file);
    if (r.errors.size() > r.bad_lines) std::abort();
    if (r.bad_lines > 0 && r.errors.empty()) std::abort();  // a bad line is always reported
    if (!r.fatal.empty() && r.fatal.compare(0, file.size(), file) != 0) std::abort();
}

void check_prefix(const prefix& p) {
    const sluice::enrich::u128 a = p.addr;
    if (p.len > 128) std::abort();
    if (is_v4_key(a) && p.len < 96) std::abort();  // an IPv4 row is an IPv4-mapped prefix
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const uint8_t sel = data[0];
    const std::string& path = sluice::fuzz::memfd_file("sluice-fuzz-inventory", data + 1, size - 1);
    inventory_options opt;
    switch (sel & 3) {
    case 0: opt.format = file_format::json; break;
    case 1: opt.format = file_format::ndjson; break;
    case 2: opt.format = file_format::csv; break;
    default:
        opt.format = file_format::csv;
        opt.columns = {"first", "last", "asn", "as_name"};
        break;
    }
    const unsigned consumer = (sel >> 2) & 3;
    const bool custom = (sel >> 4) & 1;

    if (consumer < 2) {
        key_registry keys;
        if (custom) keys.add("rack");
        interner in;
        prefix_source s = load_inventory(path, opt, keys, in);
        check_report(s.report, path);
        if (!s.report.fatal.empty()) {
            if (!s.prefixes.empty()) std::abort();
            return 0;
        }
        if (s.prefixes.size() != s.report.prefixes) std::abort();
        for (const prefix& p : s.prefixes) {
            check_prefix(p);
            if (p.value == 0 || in.get(p.value) == nullptr) std::abort();  // every row has attributes
        }
        const std::vector<interval> iv = flatten(std::move(s.prefixes));
        for (std::size_t i = 1; i < iv.size(); ++i)
            if (!(sluice::enrich::u128(iv[i - 1].lo) < sluice::enrich::u128(iv[i].lo))) std::abort();
        return 0;
    }

    build_config cfg;
    cfg.threads = 1;
    if (custom) cfg.custom_keys = {"rack"};
    if (consumer == 2) {
        cfg.exporters_file = path;
        cfg.exporters_opt = opt;
    } else {
        cfg.interfaces_file = path;
        cfg.interfaces_opt = opt;
    }
    interner in;
    builder b(in);
    std::vector<std::string> errors;
    std::string reason;
    std::unique_ptr<table_version> v = b.build(cfg, errors, reason);
    if (v == nullptr && errors.empty()) std::abort();  // a failed build says why
    for (const std::string& e : errors)
        if (e.compare(0, path.size(), path) != 0) std::abort();
    if (v != nullptr)
        for (const exporter_entry& e : v->exporter_entries)
            if (e.prefix_len > 128 || (e.force && e.sampling_rate == 0)) std::abort();
    return 0;
}
