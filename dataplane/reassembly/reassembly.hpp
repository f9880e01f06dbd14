// SPDX-License-Identifier: Apache-2.0
// Per-lcore IPv4/IPv6 fragment reassembly on rte_ip_frag: a bounded table,
// a timeout, and a death row whose size tells how many mbufs were dropped.
//
// Ownership and lifetime:
//
//   worker lcore ──owns──► frag_table (rte_ip_frag_tbl on the worker's socket)
//                     └──► death row (mbufs the table gave up on)
//
//   feed_v4/feed_v6(mbuf) ─► nullptr: mbuf kept in the table, or put on the death row
//                         └► mbuf chain of the whole datagram (L2 of the first fragment)
//   sweep(now)            ─► incomplete datagrams older than the timeout go to the death row
//   free_death_row()      ─► frees them (once per burst)
//
// The table takes ownership of every mbuf it is fed. Nothing here is shared
// between lcores. The table is destroyed (freeing what it still holds) by the
// destructor, after the owning worker has stopped.
//
// Limits (DPDK build constants): at most RTE_LIBRTE_IP_FRAG_MAX_FRAG (8 in
// Debian's 22.11) fragments per datagram, so ~11.8 KB datagrams at MTU 1500;
// IPv6 fragment headers must directly follow the base header.
#pragma once

#include <rte_ip_frag.h>
#include <rte_mbuf.h>

#include <cstdint>

#include "config.hpp"

namespace sluice::reassembly {

// What happened to the mbufs fed or swept since the last call; the caller adds these to its counters.
struct outcome {
    rte_mbuf* whole = nullptr;  // a completed datagram, or nullptr
    uint32_t dropped = 0;       // mbufs the table put on the death row during this call
};

class frag_table {
public:
    // Throws std::runtime_error naming the worker and rte_strerror on failure.
    frag_table(const config& cfg, unsigned worker_id, int socket, uint64_t tsc_hz);
    ~frag_table();
    frag_table(const frag_table&) = delete;
    frag_table& operator=(const frag_table&) = delete;

    // m->l2_len and m->l3_len must be set; the IP header is at l2_len.
    outcome feed_v4(rte_mbuf* m, uint64_t now_tsc) noexcept;
    // m->l2_len set; the fragment header must follow the 40-byte base header.
    // Returns false (mbuf untouched, caller drops it) when it does not.
    bool feed_v6(rte_mbuf* m, uint64_t now_tsc, outcome& out) noexcept;

    // Moves timed-out incomplete datagrams to the death row; returns how many mbufs.
    uint32_t sweep(uint64_t now_tsc) noexcept;
    // Sweeps everything, whatever its age (shutdown); returns how many mbufs.
    uint32_t expire_all() noexcept;

    void free_death_row() noexcept { rte_ip_frag_free_death_row(&_dr, k_death_row_prefetch); }
    uint64_t timeout_tsc() const noexcept { return _timeout_tsc; }

private:
    // Prefetch distance when freeing the death row, as in DPDK's ip_reassembly example.
    static constexpr uint32_t k_death_row_prefetch = 3;

    rte_ip_frag_tbl* _tbl = nullptr;
    rte_ip_frag_death_row _dr{};
    uint64_t _timeout_tsc = 0;
};

}  // namespace sluice::reassembly
