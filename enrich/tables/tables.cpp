// SPDX-License-Identifier: Apache-2.0
// The table builder (sources -> one merged version); see tables.hpp. The per-record lookup is lookup.cpp.
#include "tables.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <exception>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <thread>

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

// The merged list with its IPv4-mapped part (::ffff:0:0/96, lpm4's) as one interval of value 0: lpm6 would
// otherwise index the ~5 M IPv4 intervals of a real table that no lookup of it reaches (address() and
// enrich_records send IPv4-mapped keys to lpm4).
std::vector<interval> without_v4_mapped(const std::vector<interval>& all) {
    const u128 lo4 = k_v4_mapped, after4 = k_v4_mapped + (u128(1) << 32);
    std::vector<interval> out;
    std::size_t i = 0;
    while (i < all.size() && u128(all[i].lo) < lo4) ++i;
    std::size_t j = i;
    while (j < all.size() && u128(all[j].lo) <= after4) ++j;  // all[j - 1] covers after4 (when j > 0)
    out.reserve(i + 2 + (all.size() - j));
    out.insert(out.end(), all.begin(), all.begin() + static_cast<std::ptrdiff_t>(i));
    out.push_back({lo4, 0, 0});
    if (j > 0) {
        interval x = all[j - 1];
        x.lo = after4;
        out.push_back(x);
    }
    out.insert(out.end(), all.begin() + static_cast<std::ptrdiff_t>(j), all.end());
    // Coalesce at the two seams (the interval before ::ffff:0:0 may be value 0 too, or the one after).
    std::size_t w = 0;
    for (std::size_t r = 0; r < out.size(); ++r) {
        if (w > 0 && out[w - 1].value == out[r].value && out[w - 1].match == out[r].match) continue;
        out[w++] = out[r];
    }
    out.resize(w);
    return out;
}

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

// The calling thread restricted to `cpus` (build_config::cpus); nothing when empty or when the kernel refuses
// (the thread keeps the affinity it inherited).
void pin_to(const std::vector<unsigned>& cpus) noexcept {
    if (cpus.empty()) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    for (unsigned c : cpus)
        if (c < CPU_SETSIZE) CPU_SET(c, &set);
    (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// What a build's parallel phases got: the most threads one ran on, and the union of their CPUs (affinities).
struct build_reach {
    unsigned threads = 0;
    cpu_set_t cpus;
    build_reach() { CPU_ZERO(&cpus); }
};

// Runs fn(0..n-1) on `threads` threads (the caller's included, the others pinned to `cpus`; no more than n), each
// taking the next index. An exception of fn is rethrown here after every thread has joined (the first one). The
// threads that ran and the CPUs they could use are added to `reach`.
void run_parallel(std::size_t n, unsigned threads, const std::vector<unsigned>& cpus, build_reach& reach,
                  const std::function<void(std::size_t)>& fn) {
    std::atomic<std::size_t> next{0};
    std::exception_ptr err;
    std::mutex mu;
    auto note_cpus = [&] {
        cpu_set_t mine;
        CPU_ZERO(&mine);
        if (sched_getaffinity(0, sizeof mine, &mine) != 0) return;
        std::lock_guard g(mu);
        CPU_OR(&reach.cpus, &reach.cpus, &mine);
    };
    auto work = [&] {
        for (;;) {
            const std::size_t i = next.fetch_add(1);
            if (i >= n) return;
            try {
                fn(i);
            } catch (...) {
                std::lock_guard g(mu);
                if (!err) err = std::current_exception();
            }
        }
    };
    std::vector<std::thread> ts;
    for (unsigned t = 1; t < threads && t < n; ++t) {
        try {
            ts.emplace_back([&] {
                pin_to(cpus);
                note_cpus();
                work();
            });
        } catch (const std::system_error&) {
            break;  // no thread to be had: fewer (the caller's always works)
        }
    }
    note_cpus();
    work();
    for (auto& t : ts) t.join();
    reach.threads = std::max(reach.threads, unsigned(ts.size()) + 1);
    if (err) std::rethrow_exception(err);
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

    // ---- prefixes: every source read in parallel (no interner), then interned in precedence order ----
    const bool has_static = !cfg.static_prefixes.empty();
    const std::size_t nsrc = std::size_t(has_static) + cfg.inventories.size() + cfg.mmdbs.size();
    const unsigned cpus = cfg.cpus.empty() ? std::thread::hardware_concurrency() : unsigned(cfg.cpus.size());
    const unsigned threads = cfg.threads != 0 ? cfg.threads : std::clamp(cpus, 1u, 4u);
    // Each source read and flattened on local ids in one task (a flatten overlaps another source's read), the
    // largest file first so that the last task to start is a short one.
    std::vector<local_source> srcs(nsrc);
    std::vector<std::vector<interval>> lists(nsrc);
    std::vector<uint64_t> src_prefixes(nsrc, 0);
    std::vector<std::size_t> order(nsrc);
    {
        std::vector<uint64_t> size(nsrc, 0);
        for (std::size_t i = 0; i < nsrc; ++i) {
            order[i] = i;
            const std::size_t j = i - std::size_t(has_static);
            if (has_static && i == 0) continue;
            std::error_code ec;
            const auto n = std::filesystem::file_size(
                j < cfg.inventories.size() ? cfg.inventories[j].path : cfg.mmdbs[j - cfg.inventories.size()].path, ec);
            size[i] = ec ? 0 : uint64_t(n);
        }
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return size[a] > size[b]; });
    }
    build_reach reach;
    run_parallel(nsrc, threads, cfg.cpus, reach, [&](std::size_t t) {
        const std::size_t i = order[t];
        if (has_static && i == 0) {
            srcs[i] = read_static(cfg.static_prefixes, _keys);
        } else if (const std::size_t j = i - std::size_t(has_static); j < cfg.inventories.size()) {
            srcs[i] = read_inventory(cfg.inventories[j].path, cfg.inventories[j].opt, _keys);
        } else {
            srcs[i] = read_mmdb(cfg.mmdbs[j - cfg.inventories.size()].path, cfg.mmdbs[j - cfg.inventories.size()].layout);
        }
        src_prefixes[i] = srcs[i].prefixes.size();
        // Local ids are equal where the interned ones are (but for a deriver that makes two sets one: remap
        // below coalesces those), so the intervals are the same as from interned ids.
        if (srcs[i].report.fatal.empty()) lists[i] = flatten(std::move(srcs[i].prefixes));
        std::vector<prefix>().swap(srcs[i].prefixes);
    });
    std::vector<std::vector<uint32_t>> src_ids(nsrc);
    uint32_t source_sets = 0;
    for (std::size_t i = 0; i < nsrc; ++i) {
        if (srcs[i].report.fatal.empty()) {
            // Static prefixes are not derived; inventory and mmdb sets are, once per distinct set.
            src_ids[i] = intern_sets(srcs[i], _in, has_static && i == 0 ? nullptr : derive, derive_context::prefix);
            source_sets += srcs[i].sets.size();
        }
        srcs[i].sets = set_table();  // the blobs are the interner's now
        collect(srcs[i].report, errors, reason);
    }

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
    uint64_t nprefixes = 0;
    for (uint64_t n : src_prefixes) nprefixes += n;
    run_parallel(nsrc, threads, cfg.cpus, reach, [&](std::size_t i) { remap(lists[i], src_ids[i]); });
    srcs.clear();
    src_ids.clear();
    v->stats.flatten_ns = lap();
    // The sweep in address ranges of about equal work, one per thread. A combination of the sources' sets:
    // per key the first source (precedence order) that has it, built straight from the sets' blobs (the
    // interner's, published: read-only here) into one blob, kept in the range's own table; the sweep's value
    // is then k_local | the blob's id there. The ranges' tables are interned after the sweeps, range after
    // range, each in the order its sweep met the blobs: the order one sweep over the whole space would intern
    // them in, so the ids do not depend on the number of threads.
    constexpr uint32_t k_local = 0x80000000u;  // above every interner id (k_max_sets = 4 M)
    static_assert(interner::k_max_sets <= k_local);
    struct pair_ref {
        uint8_t key;
        const uint8_t* at;  // the pair in its blob
    };
    struct range_state {
        u128 from = 0, to = 0;
        std::vector<interval> out;
        set_table sets;  // the range's combined blobs
        std::vector<uint32_t> ids;  // after interning: local id -> interner id
        uint64_t tuples = 0;
        std::vector<pair_ref> pairs;
        std::vector<uint8_t> blob;
    };
    // More ranges than threads: the ranges' costs differ (IPv4 space has more combinations per boundary than
    // IPv6), and a thread that finishes early takes the next range.
    constexpr unsigned k_ranges_per_thread = 4;
    const std::vector<u128> cuts =
        lists.empty() || threads < 2 ? std::vector<u128>{} : merge_cuts(lists, threads * k_ranges_per_thread);
    std::vector<range_state> ranges(cuts.size() + 1);
    for (std::size_t r = 0; r < ranges.size(); ++r) {
        ranges[r].from = r == 0 ? 0 : cuts[r - 1];
        ranges[r].to = r == cuts.size() ? ~u128(0) : cuts[r] - 1;
    }
    std::size_t capacity = 1;  // the first range's result takes the others' (every list's boundaries, at most)
    for (const auto& l : lists) capacity += l.size();
    std::unique_lock<std::mutex> no_writer = _in.exclude_writers();  // the sweeps read the interner's index
    run_parallel(lists.empty() ? 0 : ranges.size(), threads, cfg.cpus, reach, [&](std::size_t r) {
        range_state& st = ranges[r];
        auto combine = [&](std::span<const uint32_t> ids) -> uint32_t {
            ++st.tuples;  // merge passes a tuple with one set through (one_is_itself): two sets or more here
            uint64_t seen[4] = {0, 0, 0, 0};
            st.pairs.clear();
            std::size_t total = 4;
            for (uint32_t id : ids) {
                const uint8_t* b = _in.flat(id);
                if (b == nullptr) continue;
                const uint8_t* q = b + 4;
                const uint8_t* const end = b + flat_size(b);
                while (q < end) {
                    const uint8_t k = q[0];
                    const std::size_t l = std::size_t(q[1]) | (std::size_t(q[2]) << 8);
                    if (!(seen[k >> 6] >> (k & 63) & 1)) {
                        seen[k >> 6] |= uint64_t(1) << (k & 63);
                        st.pairs.push_back({k, q});
                        total += 3 + l;
                    }
                    q += 3 + l;
                }
            }
            if (total == 4) return 0;  // no pair at all (intern_flat's empty set)
            for (std::size_t i = 1; i < st.pairs.size(); ++i)  // a handful of keys: insertion sort
                for (std::size_t j = i; j > 0 && st.pairs[j - 1].key > st.pairs[j].key; --j)
                    std::swap(st.pairs[j - 1], st.pairs[j]);
            st.blob.resize(total);
            const uint32_t t32 = static_cast<uint32_t>(total);
            std::memcpy(st.blob.data(), &t32, 4);
            uint8_t* w = st.blob.data() + 4;
            for (const pair_ref& p : st.pairs) {
                const std::size_t n = 3 + (std::size_t(p.at[1]) | (std::size_t(p.at[2]) << 8));
                std::memcpy(w, p.at, n);
                w += n;
            }
            // A set the interner has (a reload's, or one a source gave): its id, nothing stored.
            const uint32_t known = _in.find_flat({st.blob.data(), st.blob.size()}, flat_hash(st.blob.data(), total));
            return known != 0 ? known : k_local | st.sets.add({st.blob.data(), st.blob.size()});
        };
        st.out = merge_range(lists, st.from, st.to, combine, true, r == 0 ? capacity : 0);
    });
    no_writer.unlock();
    lists.clear();
    lists.shrink_to_fit();
    bool full = false;
    uint64_t tuples = 0;
    std::size_t new_blobs = 0;
    for (const auto& st : ranges) new_blobs += st.sets.size();
    _in.reserve(new_blobs);
    for (auto& st : ranges) {
        tuples += st.tuples;
        _in.intern_batched(st.sets, st.ids, full);
        st.sets = set_table();  // the blobs are the interner's now
    }
    // The new sets' strings (interner::publish, the larger part of a first build's new sets) are made on the
    // build's threads in the background while this thread stitches the ranges and builds the lookup tables,
    // which read no set; joined before the interfaces are interned (that publishes).
    struct joiner {
        std::thread t;
        ~joiner() {
            if (t.joinable()) t.join();
        }
    } publisher;
    if (threads > 1) {
        try {
            publisher.t = std::thread([this, threads, &cfg] {
                pin_to(cfg.cpus);  // the interner's own threads, made by this one, inherit it
                _in.publish(threads);
            });
        } catch (const std::system_error&) {
        }
    }
    if (!publisher.t.joinable()) _in.publish(threads);
    // The ranges' results, their local ids replaced, appended to the first's; equal neighbours at a cut (and
    // two blobs the interner already had as one set) coalesce as in one sweep.
    std::vector<interval> merged;
    for (auto& st : ranges) {
        if (merged.empty()) {
            merged = std::move(st.out);
            std::size_t w = 0;
            for (std::size_t i = 0; i < merged.size(); ++i) {
                interval x = merged[i];
                if (x.value & k_local) x.value = st.ids[x.value & ~k_local];
                if (x.value == 0) x.match = 0;
                if (w > 0 && merged[w - 1].value == x.value && merged[w - 1].match == x.match) continue;
                merged[w++] = x;
            }
            merged.resize(w);
            continue;
        }
        for (interval x : st.out) {
            if (x.value & k_local) x.value = st.ids[x.value & ~k_local];
            if (x.value == 0) x.match = 0;
            if (merged.back().value == x.value && merged.back().match == x.match) continue;
            merged.push_back(x);
        }
        std::vector<interval>().swap(st.out);
    }
    if (merged.empty()) merged.push_back({0, 0, 0});
    ranges.clear();
    v->stats.merge_ns = lap();
    v->v4 = lpm4(merged);
    v->v6 = lpm6(without_v4_mapped(merged));
    v->exporters = lpm6(flatten(std::move(exp_prefixes)));
    if (publisher.t.joinable()) publisher.t.join();

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
    v->index_interfaces();
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
    v->stats.source_sets = source_sets;
    v->stats.merge_tuples = tuples;
    v->stats.threads = reach.threads;
    v->stats.cpus = static_cast<unsigned>(CPU_COUNT(&reach.cpus));
    v->stats.build_ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
    return v;
}

}  // namespace sluice::enrich
