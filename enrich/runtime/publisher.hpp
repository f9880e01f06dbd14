// SPDX-License-Identifier: Apache-2.0
// Builds enrichment table versions off the workers, publishes each with one atomic pointer swap, and frees
// the old one after an RCU grace period of every worker (rte_rcu_qsbr).
//
//   control core: tick() ──trigger (SIGHUP, period, a file's mtime/size)──► builder thread: builder::build()
//                 tick() ──build done──► current.store(new, release); retire(old, rte_rcu_qsbr_start())
//                 tick() ──rte_rcu_qsbr_check(token, no wait) == 1──► delete old
//   worker:       v = current.load(acquire) once per burst, after its quiescent report at the loop top;
//                 enrich_records(*v, ...) on the burst's records; nothing kept past the burst.
//   sink:         resolves ids through the interner (never freed while the process runs): no table, no RCU.
//
// Ownership: the publisher owns every version (current and retiring) and the builder thread; the daemon owns
// the publisher and the interner, and destroys the publisher after the workers joined (so the current
// version is freed with no reader left) and the interner after the sinks joined.
// At most k_max_retiring versions wait for a grace period; a trigger past that is deferred (counted), so a
// worker stuck on a full ring bounds memory at k_max_retiring + 2 versions instead of growing it.
#pragma once

#include <rte_rcu_qsbr.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "counters.hpp"
#include "enrich/tables/tables.hpp"

namespace sluice::enrich {

class publisher {
public:
    using clock = std::chrono::steady_clock;
    static constexpr std::size_t k_max_retiring = 4;  // versions waiting on a grace period (each ~70 MiB+)
    // How often the sources' mtimes are checked: a stat() per file per second costs nothing.
    static constexpr auto k_file_check = std::chrono::seconds(1);
    // The builder thread's nice value: background work (a build of the real data takes seconds of CPU).
    static constexpr int k_build_nice = 10;

    // Sends a forced sampling rate for the exporters in addr/len (len 0..128 over the 16-byte form; rate 0 =
    // an exemption, forcing nothing), or with `clear` removes that entry, to every worker (the mailbox path:
    // exporter_table::set_sampling_override / clear_sampling_override). False when a mailbox was full.
    using override_fn = std::function<bool(const uint8_t addr[16], unsigned len, uint32_t rate, bool clear)>;
    // A log line (the control core's log stream).
    using log_fn = std::function<void(const std::string&)>;

    publisher(build_config cfg, interner& in, rte_rcu_qsbr* qsbr, double refresh_s, log_fn log);
    ~publisher();
    publisher(const publisher&) = delete;
    publisher& operator=(const publisher&) = delete;

    // Start-up: builds the first version synchronously; throws naming every error when it fails.
    void build_initial();
    // The CPUs of the later builds (build_config::cpus: the builder thread and the threads it starts), from the
    // first tick() on: control/ passes the CPUs no polling lcore uses, after the first build used them all.
    // Call before the first tick().
    void set_build_cpus(std::vector<unsigned> cpus) { _cfg.cpus = std::move(cpus); }
    // The pointer the workers read.
    const std::atomic<const table_version*>* current() const noexcept { return &_current; }
    const table_version* version() const noexcept { return _current.load(std::memory_order_acquire); }
    const builder& table_builder() const noexcept { return _builder; }
    // Sends the current version's forced rates (after the workers' mailboxes exist; before launch is fine).
    // What is sent: every `force` entry (address or subnet) with its rate, and every entry without `force`
    // that lies inside a forced one as an exemption (rate 0), so that the workers' longest match gives each
    // exporter what the table's longest match gives it; entries gone since the last send are cleared.
    // A send that fails (a mailbox full) is counted overrides_failed and retried at the next tick().
    void set_override_sink(override_fn f) { _override = std::move(f); }
    void send_overrides();
    struct forced_entry {
        u128 addr;
        uint8_t len;
        uint32_t rate;
        auto operator<=>(const forced_entry&) const = default;
    };
    // The entries send_overrides() wants the workers to hold for a version (sorted by address, length).
    static std::vector<forced_entry> forced_entries(const table_version& v);

    // Control loop, every iteration; never blocks (a finished build is joined: it has returned).
    void tick(clock::time_point now);
    void request_reload() noexcept { _sighup.store(true, std::memory_order_relaxed); }
    // Stop: waits for a running build (bounded by its sources), frees the retiring versions. Workers joined.
    void shutdown();

    const runtime_counter_block& counters() const noexcept { return _counters; }

private:
    struct file_stamp {
        std::string path;
        timespec mtime{};
        off_t size = -1;
    };
    std::vector<file_stamp> stamp_files() const;
    void start_build(runtime_counter why);
    void finish_build();

    build_config _cfg;
    interner& _in;
    builder _builder;
    rte_rcu_qsbr* _qsbr;
    clock::duration _refresh;
    log_fn _log;
    override_fn _override;
    std::atomic<const table_version*> _current{nullptr};
    std::unique_ptr<table_version> _owned;  // what _current points to
    struct retiring {
        std::unique_ptr<table_version> v;
        uint64_t token;
    };
    std::deque<retiring> _retiring;
    std::atomic<bool> _sighup{false};
    clock::time_point _next_refresh{}, _next_file_check{}, _next_override_retry{};
    std::vector<file_stamp> _stamps;  // of the sources as last built

    // The builder thread and its result (read after `_done`).
    std::thread _thread;
    std::atomic<bool> _done{false};
    bool _running = false;
    std::unique_ptr<table_version> _result;
    std::vector<std::string> _errors;
    std::string _reason;
    std::vector<file_stamp> _result_stamps;
    std::vector<forced_entry> _forced;  // entries the workers hold (sent successfully)
    bool _overrides_pending = false;    // a send failed: retried by tick()

    runtime_counter_block _counters;
};

}  // namespace sluice::enrich
