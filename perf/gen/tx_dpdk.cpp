// SPDX-License-Identifier: Apache-2.0
// sluice-gen's DPDK transmit path (tx.hpp): EAL, one port with one tx queue,
// frames copied into mbufs and sent in bursts on TSC deadlines.
#include <algorithm>
#include <sstream>
#include <vector>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pause.h>

#include "perf/gen/tx.hpp"

namespace sluice::gen {

namespace {
constexpr uint16_t tx_ring = 1024;   // descriptors: a few bursts of slack at 10 Mpps
constexpr uint32_t pool_size = 8191; // mbufs: tx ring plus bursts in flight, 2^n - 1 for the mempool
constexpr double k_max_backlog_s = 0.02;  // 20 ms: rides out a scheduler time slice, not a stall
constexpr uint32_t wire_overhead = 24;  // FCS 4 + preamble 8 + inter-frame gap 12: Gbit/s as on a wire

std::vector<std::string> split(const std::string& s) {
    std::istringstream in(s);
    std::vector<std::string> v;
    for (std::string w; in >> w;) v.push_back(w);
    return v;
}
}  // namespace

bool transmit(const capture& cap, const tx_config& tc, const std::atomic<bool>& stop, tx_result& out, std::string& err) {
    if (cap.frames.empty()) { err = "nothing to send"; return false; }
    std::vector<std::string> words = split(tc.eal);
    words.insert(words.begin(), "sluice-gen");
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    if (rte_eal_init(int(argv.size()), argv.data()) < 0) {
        err = std::string("rte_eal_init: ") + rte_strerror(rte_errno);
        return false;
    }
    const uint16_t port = tc.port;
    if (!rte_eth_dev_is_valid_port(port)) { err = "port " + std::to_string(port) + " does not exist (give a --vdev in --eal)"; rte_eal_cleanup(); return false; }
    std::size_t max_len = 0;
    for (const frame& f : cap.frames) max_len = std::max(max_len, f.bytes.size());
    const int socket = rte_eth_dev_socket_id(port) < 0 ? 0 : rte_eth_dev_socket_id(port);
    rte_mempool* pool = rte_pktmbuf_pool_create("gen_tx", pool_size, 256, 0,
                                                uint16_t(std::max<std::size_t>(RTE_MBUF_DEFAULT_BUF_SIZE, max_len + RTE_PKTMBUF_HEADROOM)),
                                                socket);
    if (pool == nullptr) { err = std::string("mempool: ") + rte_strerror(rte_errno); rte_eal_cleanup(); return false; }
    rte_eth_conf conf{};
    int rc = rte_eth_dev_configure(port, 1, 1, &conf);
    if (rc == 0) rc = rte_eth_rx_queue_setup(port, 0, 256, socket, nullptr, pool);
    if (rc == 0) rc = rte_eth_tx_queue_setup(port, 0, tx_ring, socket, nullptr);
    if (rc == 0) rc = rte_eth_dev_start(port);
    if (rc != 0) { err = "port " + std::to_string(port) + ": " + rte_strerror(-rc); rte_eal_cleanup(); return false; }
    const uint64_t hz = rte_get_tsc_hz();
    out.tsc_hz = hz;
    // Wait for the link (memif: the peer connecting).
    const uint64_t link_deadline = rte_rdtsc() + uint64_t(tc.wait_link_s * double(hz));
    for (;;) {
        rte_eth_link link{};
        rte_eth_link_get_nowait(port, &link);
        if (link.link_status == RTE_ETH_LINK_UP || rte_rdtsc() > link_deadline || stop.load(std::memory_order_relaxed)) break;
        rte_delay_ms(10);
    }
    // TSC deadline per frame: packets/s gives a fixed gap, Gbit/s one per byte.
    const double cyc_per_frame = tc.rate_pps > 0 ? double(hz) / tc.rate_pps : 0;
    const double cyc_per_byte = tc.rate_gbps > 0 ? double(hz) * 8.0 / (tc.rate_gbps * 1e9) : 0;
    const uint64_t t0 = rte_rdtsc();
    const uint64_t end = tc.duration_s > 0 ? t0 + uint64_t(tc.duration_s * double(hz)) : UINT64_MAX;
    double next = double(t0);
    std::size_t i = 0;
    const uint32_t burst = std::clamp<uint32_t>(tc.burst, 1, 256);
    std::vector<rte_mbuf*> m(burst);
    std::vector<uint32_t> recs(burst);
    while (!stop.load(std::memory_order_relaxed)) {
        if (tc.loops != 0 && out.loops_done >= tc.loops) break;
        uint64_t now = rte_rdtsc();
        if (now >= end) break;
        // Frames whose deadline has passed, at most one burst.
        uint32_t n = 0;
        double d = next;
        std::size_t j = i;
        while (n < burst && (cyc_per_frame == 0 && cyc_per_byte == 0 ? true : d <= double(now))) {
            const frame& f = cap.frames[j];
            d += cyc_per_frame + cyc_per_byte * double(f.bytes.size() + wire_overhead);
            ++n;
            if (++j == cap.frames.size()) break;  // a loop ends a burst: the loop count stays exact
        }
        if (n == 0) { rte_pause(); continue; }
        if (rte_pktmbuf_alloc_bulk(pool, m.data(), n) != 0) { rte_pause(); continue; }
        for (uint32_t k = 0; k < n; ++k) {
            const frame& f = cap.frames[i + k];
            char* p = rte_pktmbuf_append(m[k], uint16_t(f.bytes.size()));
            rte_memcpy(p, f.bytes.data(), f.bytes.size());
            recs[k] = f.records;
        }
        uint16_t sent = 0;
        while (sent < n) {
            const uint16_t s = rte_eth_tx_burst(port, 0, m.data() + sent, uint16_t(n - sent));
            for (uint16_t k = sent; k < sent + s; ++k) {
                out.frames_sent += 1;
                out.bytes_sent += m[k]->pkt_len;
                out.records_sent += recs[k];
            }
            sent = uint16_t(sent + s);
            if (sent < n && tc.drop_on_full) {
                for (uint16_t k = sent; k < n; ++k) {
                    out.frames_dropped += 1;
                    out.records_dropped += recs[k];
                }
                rte_pktmbuf_free_bulk(m.data() + sent, n - sent);
                sent = uint16_t(n);
                break;
            }
            if (sent < n) {
                out.tx_full_retries += 1;
                if (stop.load(std::memory_order_relaxed) || rte_rdtsc() >= end) break;
                rte_pause();
            }
        }
        if (sent < n) rte_pktmbuf_free_bulk(m.data() + sent, n - sent);
        next = d;
        // Behind by more than k_max_backlog (descheduled on a shared core, or
        // back-pressure): give up the backlog rather than send a flood.
        if (double(now) - next > double(hz) * k_max_backlog_s) next = double(now);
        i = j == cap.frames.size() ? 0 : j;
        if (j == cap.frames.size()) out.loops_done += 1;
        if (sent < n) break;
    }
    out.seconds = double(rte_rdtsc() - t0) / double(hz);
    // Give the peer time to take what is queued before the port goes down
    // (a memif ring full of frames is lost when the client disconnects).
    rte_delay_us_sleep(unsigned(tc.linger_s * 1e6));
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
    rte_eal_cleanup();
    return true;
}

}  // namespace sluice::gen
