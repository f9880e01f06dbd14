// SPDX-License-Identifier: Apache-2.0
// The workers' RCU domain (rte_rcu_qsbr): owned by the control core, checked on a timer without blocking.
//
//   control core: token = rte_rcu_qsbr_start()  ...  rte_rcu_qsbr_check(token, no wait) == 1
//                 -> every online worker passed its loop top since: a grace period completed
//   worker w:     register(w), online at entry; quiescent() once per loop iteration; offline, unregister at exit
//
// Today nothing is retired through it; tick() runs a grace period each
// interval and counts them, so the mechanism the enrichment tables will use
// (publish a new table, wait one grace period, free the old) is exercised and
// visible in the stats (`control/qsbr`). A worker that does not reach its
// loop top (stuck waiting for ring room) holds the grace period open: that
// is correct, and shows as started - completed staying at 1.
//
// Ownership: allocates the rte_rcu_qsbr with rte_zmalloc (freed in the
// destructor, after the workers joined); the worker contexts borrow it.
#pragma once

#include <rte_rcu_qsbr.h>

#include <array>
#include <chrono>
#include <cstdint>

#include "dataplane/counters/counters.hpp"

namespace sluice::control {

enum class qsbr_counter : uint8_t { grace_periods_started, grace_periods_completed, count_ };
constexpr std::size_t qsbr_counter_count = static_cast<std::size_t>(qsbr_counter::count_);

inline constexpr std::array<counters::info, qsbr_counter_count> qsbr_counter_table{{
    {"grace_periods_started", "RCU grace periods the control core started (one per check interval).", counters::kind::volume},
    {"grace_periods_completed",
     "Grace periods in which every worker reported a quiescent state. Lagging started by more than 1: a worker is "
     "not reaching its loop top (stalled on a full ring).", counters::kind::volume},
}};

class qsbr_domain {
public:
    using clock = std::chrono::steady_clock;
    // How often a grace period is started: often enough to show liveness in
    // each summary line, rarely enough to cost nothing (one cache line read per worker).
    static constexpr auto k_interval = std::chrono::milliseconds(100);

    explicit qsbr_domain(unsigned workers);
    ~qsbr_domain();
    qsbr_domain(const qsbr_domain&) = delete;
    qsbr_domain& operator=(const qsbr_domain&) = delete;

    rte_rcu_qsbr* get() const noexcept { return _v; }
    // Never blocks: starts a grace period, or checks the pending one.
    void tick(clock::time_point now) noexcept;
    const counters::block<qsbr_counter, qsbr_counter_count>& counters() const noexcept { return _counters; }

private:
    rte_rcu_qsbr* _v = nullptr;
    unsigned _workers = 0;
    uint64_t _token = 0;
    bool _pending = false;
    clock::time_point _next{};
    counters::block<qsbr_counter, qsbr_counter_count> _counters;
};

}  // namespace sluice::control
