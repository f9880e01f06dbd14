// SPDX-License-Identifier: Apache-2.0
// The enrichment tables' builder thread, publication and RCU retirement; see publisher.hpp.
#include "publisher.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <stdexcept>

namespace sluice::enrich {

namespace {

std::string mib(uint64_t b) { return std::to_string((b + (1u << 19)) >> 20) + " MiB"; }

runtime_counter failure_counter(const std::string& reason) {
    if (reason == "read") return runtime_counter::builds_failed_read;
    if (reason == "interner_full") return runtime_counter::builds_failed_interner_full;
    return runtime_counter::builds_failed_invalid;
}

}  // namespace

publisher::publisher(build_config cfg, interner& in, rte_rcu_qsbr* qsbr, double refresh_s, log_fn log)
    : _cfg(std::move(cfg)), _in(in), _builder(in), _qsbr(qsbr),
      _refresh(std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(refresh_s))),
      _log(std::move(log)) {}

publisher::~publisher() { shutdown(); }

std::vector<publisher::file_stamp> publisher::stamp_files() const {
    std::vector<file_stamp> out;
    for (const auto& f : _cfg.files()) {
        file_stamp s;
        s.path = f;
        struct stat st {};
        if (::stat(f.c_str(), &st) == 0) {
            s.mtime = st.st_mtim;
            s.size = st.st_size;
        }
        out.push_back(s);
    }
    return out;
}

void publisher::build_initial() {
    _counters.add(runtime_counter::builds_started);
    _stamps = stamp_files();
    std::vector<std::string> errors;
    std::string reason;
    auto v = _builder.build(_cfg, errors, reason);
    if (!v) {
        _counters.add(failure_counter(reason));
        std::string msg = "enrichment tables: build failed (" + reason + ")";
        for (const auto& e : errors) msg += "\n  " + e;
        throw std::runtime_error(msg);
    }
    _counters.add(runtime_counter::builds_ok);
    _counters.add(runtime_counter::build_ns, v->stats.build_ns);
    _counters.add(runtime_counter::versions_published);
    const auto& s = v->stats;
    if (_log)
        _log("enrichment tables: version " + std::to_string(v->version) + " built in " +
             std::to_string(s.build_ns / 1000000) + " ms on " + std::to_string(s.threads) + " threads over " +
             std::to_string(s.cpus) + " CPUs: " +
             std::to_string(s.prefixes) + " prefixes, " +
             std::to_string(s.intervals_v4) + " IPv4 / " + std::to_string(s.intervals_v6) + " IPv6 intervals, " +
             std::to_string(s.exporters) + " exporters, " + std::to_string(s.interfaces) + " interfaces, " +
             std::to_string(s.interned_sets) + " attribute sets, " + mib(s.bytes));
    _current.store(v.get(), std::memory_order_release);
    _owned = std::move(v);
    const auto now = clock::now();
    _next_refresh = now + _refresh;
    _next_file_check = now + k_file_check;
}

std::vector<publisher::forced_entry> publisher::forced_entries(const table_version& v) {
    // Equal prefixes: the later row wins (as in the table's own lookup, flatten()).
    std::map<std::pair<u128, uint8_t>, const exporter_entry*> rows;
    for (const auto& e : v.exporter_entries) rows[{e.address, e.prefix_len}] = &e;
    auto inside = [](const exporter_entry& in, const exporter_entry& out) {
        const u128 m = out.prefix_len == 0 ? u128(0) : ~u128(0) << (128 - out.prefix_len);
        return in.prefix_len > out.prefix_len && (in.address & m) == out.address;
    };
    std::vector<forced_entry> want;
    std::vector<const exporter_entry*> forced;  // few: rows x forced rows below, not rows x rows
    for (const auto& [k, e] : rows)
        if (e->force && e->sampling_rate) {
            want.push_back({e->address, e->prefix_len, e->sampling_rate});
            forced.push_back(e);
        }
    if (!forced.empty())
        for (const auto& [k, e] : rows) {
            if (e->force && e->sampling_rate) continue;
            // Not forced: an exemption when a forced entry contains it (a more specific entry wins).
            for (const exporter_entry* f : forced)
                if (inside(*e, *f)) {
                    want.push_back({e->address, e->prefix_len, 0});
                    break;
                }
        }
    std::sort(want.begin(), want.end());
    return want;
}

void publisher::send_overrides() {
    const table_version* v = version();
    if (!v || !_override) return;
    const std::vector<forced_entry> want = forced_entries(*v);
    _overrides_pending = false;
    uint8_t a[16];
    auto same_key = [](const forced_entry& x, const forced_entry& y) { return x.addr == y.addr && x.len == y.len; };
    // Entries gone first, then the new and changed ones. _forced keeps what the workers hold: a failed send
    // leaves its entry as it was there, to be retried.
    std::vector<forced_entry> held;
    for (const auto& f : _forced) {
        const bool kept = std::any_of(want.begin(), want.end(), [&](const forced_entry& w) { return same_key(w, f); });
        if (kept) {
            held.push_back(f);
            continue;
        }
        from_u128(f.addr, a);
        if (_override(a, f.len, 0, true)) {
            _counters.add(runtime_counter::overrides_sent);
        } else {
            _counters.add(runtime_counter::overrides_failed);
            _overrides_pending = true;
            held.push_back(f);
        }
    }
    for (const auto& w : want) {
        auto it = std::find_if(held.begin(), held.end(), [&](const forced_entry& h) { return same_key(h, w); });
        if (it != held.end() && it->rate == w.rate) continue;
        from_u128(w.addr, a);
        if (_override(a, w.len, w.rate, false)) {
            _counters.add(runtime_counter::overrides_sent);
            if (it != held.end()) it->rate = w.rate;
            else held.push_back(w);
        } else {
            _counters.add(runtime_counter::overrides_failed);
            _overrides_pending = true;
        }
    }
    std::sort(held.begin(), held.end());
    _forced = std::move(held);
    if (_overrides_pending) _next_override_retry = clock::now() + k_file_check;
}

void publisher::start_build(runtime_counter why) {
    if (_running || _retiring.size() >= k_max_retiring) {
        _counters.add(runtime_counter::builds_deferred);
        if (why == runtime_counter::reloads_sighup) _sighup.store(true, std::memory_order_relaxed);  // retry
        return;
    }
    _counters.add(why);
    _counters.add(runtime_counter::builds_started);
    _result_stamps = stamp_files();
    _done.store(false, std::memory_order_relaxed);
    _running = true;
    _thread = std::thread([this] {
        // Below the lcores: a build competes for a CPU only with what has nothing better to do. The thread
        // inherits the main lcore's affinity (never a worker's CPU unless the lcore map shares it); the
        // threads the build starts run on _cfg.cpus (set_build_cpus: the CPUs no polling lcore uses).
        setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), k_build_nice);
        _errors.clear();
        _reason.clear();
        try {
            _result = _builder.build(_cfg, _errors, _reason);
        } catch (const std::exception& e) {
            _result.reset();
            _errors.push_back(e.what());
            _reason = "read";
        }
        _done.store(true, std::memory_order_release);
    });
}

void publisher::finish_build() {
    _thread.join();
    _running = false;
    _stamps = _result_stamps;  // a failed build is not retried until a source changes again
    if (!_result) {
        _counters.add(failure_counter(_reason));
        if (_log) {
            std::string msg = "enrichment tables: rebuild failed (" + _reason + "), keeping version " +
                              std::to_string(_owned ? _owned->version : 0);
            for (const auto& e : _errors) msg += "\n  " + e;
            _log(msg);
        }
        return;
    }
    _counters.add(runtime_counter::builds_ok);
    _counters.add(runtime_counter::build_ns, _result->stats.build_ns);
    // Publish: one release store. Readers that loaded the old pointer finish their burst with it.
    _current.store(_result.get(), std::memory_order_release);
    _counters.add(runtime_counter::versions_published);
    if (_owned) _retiring.push_back({std::move(_owned), _qsbr ? rte_rcu_qsbr_start(_qsbr) : 0});
    _owned = std::move(_result);
    send_overrides();
}

void publisher::tick(clock::time_point now) {
    if (_running && _done.load(std::memory_order_acquire)) finish_build();
    if (_overrides_pending && now >= _next_override_retry) {
        _next_override_retry = now + k_file_check;
        send_overrides();
    }
    // Retire what every worker has passed a quiescent state since (no wait).
    while (!_retiring.empty() && (_qsbr == nullptr || rte_rcu_qsbr_check(_qsbr, _retiring.front().token, false) == 1)) {
        _retiring.pop_front();
        _counters.add(runtime_counter::versions_retired);
    }
    if (_sighup.exchange(false, std::memory_order_relaxed)) {
        start_build(runtime_counter::reloads_sighup);
    } else if (_refresh.count() > 0 && now >= _next_refresh) {
        _next_refresh = now + _refresh;
        start_build(runtime_counter::reloads_period);
    } else if (now >= _next_file_check) {
        _next_file_check = now + k_file_check;
        if (!_running) {
            const auto s = stamp_files();
            bool changed = s.size() != _stamps.size();
            for (std::size_t i = 0; !changed && i < s.size(); ++i)
                changed = s[i].size != _stamps[i].size || s[i].mtime.tv_sec != _stamps[i].mtime.tv_sec ||
                          s[i].mtime.tv_nsec != _stamps[i].mtime.tv_nsec;
            if (changed) start_build(runtime_counter::reloads_file_change);
        }
    }
}

void publisher::shutdown() {
    if (_running) {
        _thread.join();
        _running = false;
        _result.reset();
    }
    _retiring.clear();  // the workers have joined: no reader left
}

}  // namespace sluice::enrich
