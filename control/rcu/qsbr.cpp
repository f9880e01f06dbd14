// SPDX-License-Identifier: Apache-2.0
// The workers' RCU domain (see qsbr.hpp).
#include "qsbr.hpp"

#include <rte_errno.h>
#include <rte_malloc.h>

#include <stdexcept>
#include <string>

namespace sluice::control {

qsbr_domain::qsbr_domain(unsigned workers) {
    _workers = workers;
    const unsigned n = workers ? workers : 1;
    const size_t sz = rte_rcu_qsbr_get_memsize(n);
    _v = static_cast<rte_rcu_qsbr*>(rte_zmalloc("workers_qsbr", sz, RTE_CACHE_LINE_SIZE));
    if (_v == nullptr) throw std::runtime_error("rcu qsbr: rte_zmalloc(" + std::to_string(sz) + ") failed (raise -m)");
    if (rte_rcu_qsbr_init(_v, n) != 0) {
        rte_free(_v);
        throw std::runtime_error(std::string("rcu qsbr: rte_rcu_qsbr_init failed: ") + rte_strerror(rte_errno));
    }
}

qsbr_domain::~qsbr_domain() { rte_free(_v); }

void qsbr_domain::tick(clock::time_point now) noexcept {
    if (_pending) {
        if (rte_rcu_qsbr_check(_v, _token, false) == 1) {
            _counters.add(qsbr_counter::grace_periods_completed);
            _pending = false;
        }
        return;
    }
    if (now < _next) return;
    // Only once every worker has registered: before that a grace period
    // would complete without the missing workers' reports.
    if (__atomic_load_n(&_v->num_threads, __ATOMIC_ACQUIRE) < _workers) return;
    _token = rte_rcu_qsbr_start(_v);
    _pending = true;
    _counters.add(qsbr_counter::grace_periods_started);
    _next = now + k_interval;
}

}  // namespace sluice::control
