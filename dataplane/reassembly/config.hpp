// SPDX-License-Identifier: Apache-2.0
// Reassembly parameters (per worker lcore) and their defaults.
#pragma once

#include <cstdint>

namespace sluice::reassembly {

struct config {
    // Incomplete datagrams held at once per worker. Each may hold up to
    // RTE_LIBRTE_IP_FRAG_MAX_FRAG mbufs, so this bounds the mbufs parked in
    // the table (it enters the mempool formula). Exporters rarely fragment;
    // 256 covers a few hundred exporters sending jumbo datagrams at once.
    uint32_t max_flows = 256;
    // Entries per hash bucket (rte_ip_frag needs a power of two, at most 16).
    uint32_t bucket_entries = 8;
    // How long an incomplete datagram waits for its missing pieces. 30 s is
    // Linux's ipfrag_time and the offline reader's default.
    uint32_t timeout_ms = 30000;
};

}  // namespace sluice::reassembly
