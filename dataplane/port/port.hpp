// SPDX-License-Identifier: Apache-2.0
// RAII ports and the mbuf pool, brought up in documented stages.
//
// Stages (each failure throws std::runtime_error naming the port, the queue,
// the return code and rte_strerror):
//   1. info       rte_eth_dev_info_get: RSS, checksum and timestamp capability
//   2. configure  rte_eth_dev_configure: N rx queues with RSS on the source
//                 address where the NIC can (choose_rss() in rss.hpp: one
//                 exporter stays on one worker), else on both addresses, and
//                 1 queue when the device has no RSS (vdevs); the choice is
//                 logged. Tx queues: min(rx queues, device maximum).
//   3. queues     rte_eth_rx_queue_setup / rte_eth_tx_queue_setup per queue
//   4. start      rte_eth_dev_start, promiscuous off
//   5. link       rte_eth_link_get_nowait, logged (vdevs report down; not fatal)
//
// Ownership and lifetime:
//
//   main ──owns──► mbuf_pool (one, on the ports' socket) ◄──uses── every rx queue
//        └─owns──► eth_port[] ── stop() after the workers joined, close in the destructor
//
// The pool outlives the ports (declare it first). Workers only borrow port
// ids and queue ids.
#pragma once

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstdint>
#include <string>

#include "config.hpp"
#include "rss.hpp"

namespace sluice::port {

// The mbuf pool sizing formula (documented in README.md and docs/architecture.md):
//
//   n = sum over ports of queues * (rx_desc + tx_desc)     mbufs parked in descriptor rings
//     + workers * burst                                     in flight in a worker (the reassembler copies
//                                                           fragments and holds no mbufs)
//     + workers * burst                                     exception replies being built
//     + lcores * cache                                      per-lcore mempool caches
//     + preloaded                                           net_pcap infinite_rx keeps the whole file in mbufs
//   rounded up to 2^k - 1 (the mempool's optimum).
struct pool_sizing {
    uint32_t rx_desc_total = 0;  // sum over ports of queues * (rx_desc + tx_desc)
    uint32_t workers = 0;
    uint32_t burst = 0;
    uint32_t lcores = 0;
    uint32_t cache = 0;
    uint32_t preloaded = 0;
    uint32_t count() const noexcept;
};

class mbuf_pool {
public:
    mbuf_pool(const std::string& name, uint32_t n, uint32_t cache, int socket);
    ~mbuf_pool();
    mbuf_pool(const mbuf_pool&) = delete;
    mbuf_pool& operator=(const mbuf_pool&) = delete;
    rte_mempool* get() const noexcept { return _mp; }

private:
    rte_mempool* _mp = nullptr;
};

struct port_stats {
    uint64_t ipackets = 0, ibytes = 0, imissed = 0, ierrors = 0, rx_nombuf = 0, opackets = 0, oerrors = 0;
};

class eth_port {
public:
    // Finds the port by its device name (the devargs up to the first ',') and
    // brings it up through the stages above.
    eth_port(const config& cfg, rte_mempool* pool);
    ~eth_port();
    eth_port(const eth_port&) = delete;
    eth_port& operator=(const eth_port&) = delete;

    uint16_t id() const noexcept { return _id; }
    uint16_t queues() const noexcept { return _queues; }
    const std::string& name() const noexcept { return _name; }
    const std::string& driver() const noexcept { return _driver; }
    bool rss() const noexcept { return _rss; }
    rss_mode rss_hash() const noexcept { return _rss_mode; }
    uint16_t tx_queues() const noexcept { return _tx_queues; }
    // The tx queue rx queue `q`'s worker sends on: its own, or none (-1) when
    // the device has fewer tx queues than rx queues (tx queues are not
    // shared: a tx queue has one writer, no lock).
    int tx_queue_of(uint16_t q) const noexcept { return q < _tx_queues ? int(q) : -1; }
    // The NIC fills mbuf ol_flags with IPv4 / L4 checksum verdicts.
    bool rx_checksum_offload() const noexcept { return _rx_cksum; }
    // net_pcap writes the capture time, in microseconds, into the mbuf
    // timestamp dynfield. Other drivers' timestamps are in device clock units
    // and are not used.
    bool timestamp_is_pcap_us() const noexcept { return _driver == "net_pcap"; }
    const rte_ether_addr& mac() const noexcept { return _mac; }

    void stop() noexcept;
    port_stats stats() const noexcept;

private:
    std::string _name, _driver;
    uint16_t _id = 0;
    uint16_t _queues = 1;
    uint16_t _tx_queues = 1;
    rss_mode _rss_mode = rss_mode::none;
    bool _rss = false, _rx_cksum = false, _started = false;
    rte_ether_addr _mac{};
};

// Device name of a devargs string ("net_pcap0,rx_pcap=f" -> "net_pcap0").
std::string device_name(const std::string& devargs);
// True for "0000:01:00.0" / "01:00.0" style PCI addresses (allow-listed with -a, not --vdev).
bool is_pci_address(const std::string& devargs);

}  // namespace sluice::port
