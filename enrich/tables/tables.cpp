// SPDX-License-Identifier: Apache-2.0
// The table builder (sources -> one merged version); see tables.hpp. The per-record lookup is lookup.cpp.
#include "tables.hpp"

#include <chrono>
#include <charconv>

namespace sluice::enrich {

std::vector<std::string> build_config::files() const {
    std::vector<std::string> f;
    for (const auto& i : inventories) f.push_back(i.path);
    for (const auto& m : mmdbs) f.push_back(m.path);
    if (!exporters_file.empty()) f.push_back(exporters_file);
    if (!interfaces_file.empty()) f.push_back(interfaces_file);
    return f;
}

namespace {

bool parse_u32(std::string_view s, uint32_t& v) {
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

void collect(const source_report& r, std::vector<std::string>& errors, std::string& reason) {
    if (r.ok()) return;
    if (!r.fatal.empty()) {
        errors.push_back(r.fatal);
        if (reason.empty()) reason = r.fatal.find("interner full") != std::string::npos ? "interner_full" : "read";
    }
    for (const auto& e : r.errors) errors.push_back(e);
    if (r.bad_lines > r.errors.size())
        errors.push_back(r.file + ": " + std::to_string(r.bad_lines - r.errors.size()) + " more bad lines");
    if (reason.empty()) reason = "invalid";
}

}  // namespace

builder::builder(interner& in) : _in(in) {
    bool full = false;
    auto label = [&](const char* name, const char* desc) {
        set_builder b;
        b.put(key::name, name);
        b.put(key::description, desc);
        return _in.intern(b.take(), full);
    };
    _labels.local = label("self", "the device itself (sFlow 0x3FFFFFFF)");
    _labels.none = label("none", "no interface (ifIndex 0)");
    _labels.discarded = label("discarded", "the packet was dropped (sFlow output format 1)");
    _labels.multiple = label("multiple", "sent to several interfaces (sFlow output format 2)");
}

std::unique_ptr<table_version> builder::build(const build_config& cfg, std::vector<std::string>& errors,
                                              std::string& reason) {
    const auto t0 = std::chrono::steady_clock::now();
    auto lap = [last = t0]() mutable {
        const auto now = std::chrono::steady_clock::now();
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last).count();
        last = now;
        return static_cast<uint64_t>(ns);
    };
    try {
        for (const auto& k : cfg.custom_keys) _keys.add(k);
    } catch (const std::exception& e) {
        errors.push_back(e.what());
        reason = "invalid";
        return nullptr;
    }
    auto v = std::make_unique<table_version>();
    const deriver* derive = cfg.derive ? &cfg.derive : nullptr;

    // ---- prefixes: every source, in precedence order ----
    std::vector<prefix_source> srcs;
    if (!cfg.static_prefixes.empty()) srcs.push_back(load_static(cfg.static_prefixes, _keys, _in));
    for (const auto& i : cfg.inventories) srcs.push_back(load_inventory(i.path, i.opt, _keys, _in, derive));
    for (const auto& m : cfg.mmdbs) srcs.push_back(load_mmdb(m.path, m.layout, _in));
    for (const auto& s : srcs) collect(s.report, errors, reason);

    // ---- exporters ----
    std::vector<prefix> exp_prefixes;
    if (!cfg.exporters_file.empty()) {
        source_report rep;
        rep.file = cfg.exporters_file;
        read_rows(cfg.exporters_file, cfg.exporters_opt, rep, [&](uint64_t line, const std::vector<field>& fs) {
            std::string_view where;
            exporter_entry e;
            set_builder b;
            for (const field& f : fs) {
                if (f.name == "address" || f.name == "prefix") {
                    where = f.value;
                } else if (f.name == "sampling_rate") {
                    if (!f.value.empty() && !parse_u32(f.value, e.sampling_rate)) {
                        rep.bad(line, "bad sampling_rate \"" + std::string(f.value) + "\"");
                        return;
                    }
                } else if (f.name == "force") {
                    if (f.value == "true" || f.value == "1" || f.value == "yes") e.force = true;
                    else if (f.value == "false" || f.value == "0" || f.value == "no" || f.value.empty()) e.force = false;
                    else {
                        rep.bad(line, "bad force \"" + std::string(f.value) + "\" (true or false)");
                        return;
                    }
                } else {
                    const int k = _keys.find(f.name);
                    if (k < 0) {
                        rep.bad(line, "unknown key \"" + std::string(f.name) + "\"");
                        return;
                    }
                    b.put(static_cast<uint16_t>(k), f.value);
                }
            }
            prefix p;
            if (where.empty() || !parse_prefix(where, p)) {
                rep.bad(line, where.empty() ? "no address or prefix" : "bad address \"" + std::string(where) + "\"");
                return;
            }
            e.host = p.len == 128;
            e.address = p.addr;
            e.prefix_len = p.len;
            if (e.force && e.sampling_rate == 0) {
                rep.bad(line, "force without a sampling_rate");
                return;
            }
            attr_set s = b.take();
            if (derive) {
                set_builder add;
                (*derive)(derive_context::exporter, s, add);
                for (auto& kv : s.kv) b.put(kv.first, kv.second);
                b.fill_from(add.take());
                s = b.take();
            }
            bool full = false;
            e.attr_id = _in.intern(std::move(s), full);
            if (full) {
                rep.fatal = "attribute-set interner full";
                return;
            }
            v->exporter_entries.push_back(e);
            p.value = static_cast<uint32_t>(v->exporter_entries.size());
            exp_prefixes.push_back(p);
            ++rep.rows;
        });
        collect(rep, errors, reason);
    }

    // ---- interfaces: the file, then the extra rows (the file wins per field) ----
    struct if_entry {
        u128 exporter;
        uint32_t ifindex;
        attr_set attrs;
    };
    std::vector<if_entry> ifs;
    std::unordered_map<std::string, std::size_t> if_index;
    auto if_key = [](u128 e, uint32_t i) {
        std::string k(20, '\0');
        std::memcpy(k.data(), &e, 16);
        std::memcpy(k.data() + 16, &i, 4);
        return k;
    };
    if (!cfg.interfaces_file.empty()) {
        source_report rep;
        rep.file = cfg.interfaces_file;
        read_rows(cfg.interfaces_file, cfg.interfaces_opt, rep, [&](uint64_t line, const std::vector<field>& fs) {
            std::string_view exp, idx;
            set_builder b;
            for (const field& f : fs) {
                if (f.name == "exporter") exp = f.value;
                else if (f.name == "ifindex") idx = f.value;
                else {
                    const int k = _keys.find(f.name);
                    if (k < 0) {
                        rep.bad(line, "unknown key \"" + std::string(f.name) + "\"");
                        return;
                    }
                    if (k == static_cast<int>(key::speed) && !f.value.empty()) {
                        uint32_t sp;
                        if (!parse_u32(f.value, sp)) {
                            rep.bad(line, "bad speed \"" + std::string(f.value) + "\" (Mbit/s)");
                            return;
                        }
                    }
                    if (k == static_cast<int>(key::boundary) && !f.value.empty() && f.value != "internal" &&
                        f.value != "external") {
                        rep.bad(line, "bad boundary \"" + std::string(f.value) + "\" (internal or external)");
                        return;
                    }
                    b.put(static_cast<uint16_t>(k), f.value);
                }
            }
            u128 e;
            uint32_t i;
            if (!parse_address(exp, e)) {
                rep.bad(line, "bad exporter \"" + std::string(exp) + "\"");
                return;
            }
            if (!parse_u32(idx, i)) {
                rep.bad(line, "bad ifindex \"" + std::string(idx) + "\"");
                return;
            }
            attr_set s = b.take();
            if (derive) {
                set_builder add;
                (*derive)(derive_context::interface, s, add);
                for (auto& kv : s.kv) b.put(kv.first, kv.second);
                b.fill_from(add.take());
                s = b.take();
            }
            auto [it, fresh] = if_index.emplace(if_key(e, i), ifs.size());
            if (fresh) ifs.push_back({e, i, std::move(s)});
            else ifs[it->second].attrs = std::move(s);  // a later line replaces an earlier one
            ++rep.rows;
        });
        collect(rep, errors, reason);
    }
    if (cfg.extra_interfaces) {
        for (auto& row : cfg.extra_interfaces()) {
            auto [it, fresh] = if_index.emplace(if_key(row.exporter, row.ifindex), ifs.size());
            if (fresh) {
                ifs.push_back({row.exporter, row.ifindex, std::move(row.attrs)});
            } else {
                set_builder b;
                for (auto& kv : ifs[it->second].attrs.kv) b.put(kv.first, kv.second);
                b.fill_from(row.attrs);
                ifs[it->second].attrs = b.take();
            }
            if (derive) {  // the merged row (an SNMP alias may be the only description): derived fields fill gaps
                attr_set& merged = ifs[fresh ? ifs.size() - 1 : it->second].attrs;
                set_builder add, b;
                (*derive)(derive_context::interface, merged, add);
                for (auto& kv : merged.kv) b.put(kv.first, kv.second);
                b.fill_from(add.take());
                merged = b.take();
            }
        }
    }
    if (!errors.empty()) return nullptr;
    v->stats.load_ns = lap();

    // ---- merge the prefix sources into one table ----
    std::vector<std::vector<interval>> lists;
    uint64_t nprefixes = 0;
    for (auto& s : srcs) {
        nprefixes += s.prefixes.size();
        lists.push_back(flatten(std::move(s.prefixes)));
    }
    srcs.clear();
    v->stats.flatten_ns = lap();
    bool full = false;
    auto combine = [&](std::span<const uint32_t> ids) -> uint32_t {
        uint32_t only = 0;
        unsigned nonzero = 0;
        for (uint32_t id : ids)
            if (id) {
                only = id;
                ++nonzero;
            }
        if (nonzero == 1) return only;  // one source has this address: its set as is
        set_builder b;
        for (uint32_t id : ids)
            if (const attr_set* s = _in.get(id)) b.fill_from(*s);
        return _in.intern(b.take(), full);
    };
    const std::vector<interval> merged = lists.empty() ? std::vector<interval>{{0, 0}} : merge(lists, combine);
    lists.clear();
    v->stats.merge_ns = lap();
    if (full) {
        errors.push_back("attribute-set interner full (" + std::to_string(interner::k_max_sets) + " sets)");
        reason = "interner_full";
        return nullptr;
    }
    v->v4 = lpm4(merged);
    v->v6 = lpm6(merged);
    v->exporters = lpm6(flatten(std::move(exp_prefixes)));

    std::size_t slots = 16;
    while (slots < ifs.size() * 2) slots <<= 1;  // load factor <= 0.5: short probes
    v->interfaces.assign(ifs.empty() ? 0 : slots, table_version::if_slot{0, 0, 0});
    v->if_mask = slots - 1;
    v->has_interfaces = !ifs.empty() || cfg.extra_interfaces != nullptr || !cfg.interfaces_file.empty();
    for (auto& e : ifs) {
        const uint32_t id = _in.intern(std::move(e.attrs), full);
        if (id == 0) continue;
        for (uint64_t i = detail::if_hash(e.exporter, e.ifindex) & v->if_mask;; i = (i + 1) & v->if_mask)
            if (v->interfaces[i].attr_id == 0) {
                v->interfaces[i] = {e.exporter, e.ifindex, id};
                break;
            }
    }
    if (full) {
        errors.push_back("attribute-set interner full");
        reason = "interner_full";
        return nullptr;
    }
    v->stats.tables_ns = lap();
    v->label = _labels;
    v->version = _next_version++;
    v->stats.prefixes = nprefixes;
    v->stats.intervals_v4 = v->v4.intervals();
    v->stats.intervals_v6 = v->v6.intervals();
    v->stats.exporters = v->exporter_entries.size();
    v->stats.interfaces = ifs.size();
    v->stats.bytes = v->v4.bytes() + v->v6.bytes() + v->exporters.bytes() +
                     v->interfaces.size() * sizeof(table_version::if_slot);
    v->stats.interned_sets = _in.size() - 1;
    v->stats.build_ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
    return v;
}

}  // namespace sluice::enrich
