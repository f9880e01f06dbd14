// SPDX-License-Identifier: Apache-2.0
// rte_ip_frag wrapper: table creation, feeding, sweeping and death-row accounting.
// rte_ip_frag_table_del_expired_entries is still marked experimental in 22.11.
#define ALLOW_EXPERIMENTAL_API 1
#include "reassembly.hpp"

#include <rte_errno.h>
#include <rte_ip.h>

#include <stdexcept>
#include <string>

namespace sluice::reassembly {

frag_table::frag_table(const config& cfg, unsigned worker_id, int socket, uint64_t tsc_hz) {
    _timeout_tsc = (tsc_hz + 999) / 1000 * cfg.timeout_ms;
    const uint32_t buckets = (cfg.max_flows + cfg.bucket_entries - 1) / cfg.bucket_entries;
    _tbl = rte_ip_frag_table_create(buckets, cfg.bucket_entries, cfg.max_flows, _timeout_tsc, socket);
    if (_tbl == nullptr)
        throw std::runtime_error("worker " + std::to_string(worker_id) + ": rte_ip_frag_table_create(" +
                                 std::to_string(buckets) + " buckets x " + std::to_string(cfg.bucket_entries) +
                                 ") failed: " + rte_strerror(rte_errno));
}

frag_table::~frag_table() {
    if (_tbl) {
        free_death_row();
        rte_ip_frag_table_destroy(_tbl);  // frees the mbufs still held
    }
}

outcome frag_table::feed_v4(rte_mbuf* m, uint64_t now_tsc) noexcept {
    const uint32_t before = _dr.cnt;
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, m->l2_len);
    outcome o;
    o.whole = rte_ipv4_frag_reassemble_packet(_tbl, &_dr, m, now_tsc, ip);
    o.dropped = _dr.cnt - before;
    return o;
}

bool frag_table::feed_v6(rte_mbuf* m, uint64_t now_tsc, outcome& o) noexcept {
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv6_hdr*, m->l2_len);
    rte_ipv6_fragment_ext* fh = rte_ipv6_frag_get_ipv6_fragment_header(ip);
    if (fh == nullptr) [[unlikely]]
        return false;
    m->l3_len = sizeof(rte_ipv6_hdr) + sizeof(rte_ipv6_fragment_ext);
    const uint32_t before = _dr.cnt;
    o.whole = rte_ipv6_frag_reassemble_packet(_tbl, &_dr, m, now_tsc, ip, fh);
    o.dropped = _dr.cnt - before;
    return true;
}

uint32_t frag_table::sweep(uint64_t now_tsc) noexcept {
    const uint32_t before = _dr.cnt;
    rte_ip_frag_table_del_expired_entries(_tbl, &_dr, now_tsc);
    return _dr.cnt - before;
}

uint32_t frag_table::expire_all() noexcept {
    // Pretend the clock is far past every entry's start. The death row holds
    // RTE_IP_FRAG_DEATH_ROW_LEN entries' worth of mbufs per call, so free
    // between rounds until nothing more comes out.
    uint32_t total = 0;
    for (;;) {
        const uint32_t n = sweep(UINT64_MAX / 2);
        total += n;
        free_death_row();
        if (n == 0) break;
    }
    return total;
}

}  // namespace sluice::reassembly
