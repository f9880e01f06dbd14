// SPDX-License-Identifier: Apache-2.0
// Port and mempool bring-up for sluiced (see port.hpp for the stages).
#include "port.hpp"

#include <rte_errno.h>
#include <rte_log.h>

#include <cinttypes>
#include <cstring>
#include <regex>
#include <stdexcept>

namespace sluice::port {

namespace {

[[noreturn]] void fail(const std::string& port, const std::string& what, int ret) {
    const int e = ret < 0 ? -ret : ret;
    throw std::runtime_error("port " + port + ": " + what + " failed: ret " + std::to_string(ret) + " (" +
                             rte_strerror(e) + ")");
}

uint32_t round_pow2_minus1(uint32_t n) {
    uint32_t p = 1;
    while (p - 1 < n) p <<= 1;
    return p - 1;
}

}  // namespace

uint32_t pool_sizing::count() const noexcept {
    const uint64_t n = uint64_t(rx_desc_total) + uint64_t(workers) * burst +
                       uint64_t(workers) * burst + uint64_t(lcores) * cache + preloaded;
    return round_pow2_minus1(uint32_t(n));
}

mbuf_pool::mbuf_pool(const std::string& name, uint32_t n, uint32_t cache, int socket) {
    _mp = rte_pktmbuf_pool_create(name.c_str(), n, cache, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
    if (_mp == nullptr)
        throw std::runtime_error("mempool " + name + ": rte_pktmbuf_pool_create(" + std::to_string(n) +
                                 " mbufs) failed: " + rte_strerror(rte_errno) +
                                 " (raise -m in --eal, or lower --queues / --ring-size)");
}

mbuf_pool::~mbuf_pool() {
    if (_mp) rte_mempool_free(_mp);
}

std::string device_name(const std::string& devargs) { return devargs.substr(0, devargs.find(',')); }

bool is_pci_address(const std::string& devargs) {
    static const std::regex pci(R"(^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7](,.*)?$)");
    return std::regex_match(devargs, pci);
}

eth_port::eth_port(const config& cfg, rte_mempool* pool) : _name(device_name(cfg.devargs)) {
    int ret = rte_eth_dev_get_port_by_name(_name.c_str(), &_id);
    if (ret != 0) fail(_name, "lookup (is the device probed? check the devargs)", ret);

    // 1. info
    rte_eth_dev_info info{};
    ret = rte_eth_dev_info_get(_id, &info);
    if (ret != 0) fail(_name, "rte_eth_dev_info_get", ret);
    _driver = info.driver_name ? info.driver_name : "";

    // 2. configure
    rte_eth_conf conf{};
    const rss_choice rss = choose_rss(info.flow_type_rss_offloads);
    _queues = 1;
    if (cfg.queues > 1 && rss.mode != rss_mode::none && info.max_rx_queues > 1) {
        _queues = std::min<uint16_t>(cfg.queues, info.max_rx_queues);
        _rss = true;
        _rss_mode = rss.mode;
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_key = nullptr;  // the driver's default key
        conf.rx_adv_conf.rss_conf.rss_hf = rss.rss_hf;
        RTE_LOG(INFO, USER1, "port %s (%s): %s, rss_hf 0x%" PRIx64 " (device offers 0x%" PRIx64 ")\n", _name.c_str(),
                _driver.c_str(), rss_mode_name(rss.mode).data(), rss.rss_hf, uint64_t(info.flow_type_rss_offloads));
    } else if (cfg.queues > 1) {
        RTE_LOG(WARNING, USER1, "port %s (%s): %s (device RSS types 0x%" PRIx64 ", %u rx queues); using 1 rx queue instead of %u\n",
                _name.c_str(), _driver.c_str(), rss_mode_name(rss.mode).data(), uint64_t(info.flow_type_rss_offloads),
                unsigned(info.max_rx_queues), cfg.queues);
    }
    const uint64_t want_rx = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
    if ((info.rx_offload_capa & want_rx) == want_rx) {
        conf.rxmode.offloads |= want_rx;
        _rx_cksum = true;
    }
    if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
    // One tx queue per rx queue (each worker sends its exception replies on
    // its own), fewer when the device has fewer: see tx_queue_of().
    const uint16_t txq = std::min<uint16_t>(_queues, std::max<uint16_t>(info.max_tx_queues, 1));
    _tx_queues = txq;
    ret = rte_eth_dev_configure(_id, _queues, txq, &conf);
    if (ret != 0) fail(_name, "rte_eth_dev_configure(" + std::to_string(_queues) + " rxq)", ret);

    uint16_t nb_rxd = cfg.rx_desc, nb_txd = cfg.tx_desc;
    ret = rte_eth_dev_adjust_nb_rx_tx_desc(_id, &nb_rxd, &nb_txd);
    if (ret != 0) fail(_name, "rte_eth_dev_adjust_nb_rx_tx_desc", ret);

    // 3. queues
    const int socket = rte_eth_dev_socket_id(_id);
    for (uint16_t q = 0; q < _queues; ++q) {
        rte_eth_rxconf rxc = info.default_rxconf;
        rxc.offloads = conf.rxmode.offloads;
        ret = rte_eth_rx_queue_setup(_id, q, nb_rxd, socket, &rxc, pool);
        if (ret != 0) fail(_name, "rx queue " + std::to_string(q) + ": rte_eth_rx_queue_setup", ret);
    }
    for (uint16_t q = 0; q < txq; ++q) {
        ret = rte_eth_tx_queue_setup(_id, q, nb_txd, socket, nullptr);
        if (ret != 0) fail(_name, "tx queue " + std::to_string(q) + ": rte_eth_tx_queue_setup", ret);
    }

    // 4. start
    ret = rte_eth_dev_start(_id);
    if (ret != 0) fail(_name, "rte_eth_dev_start", ret);
    _started = true;
    rte_eth_promiscuous_disable(_id);  // not all vdevs support it; the result does not matter
    rte_eth_macaddr_get(_id, &_mac);

    // 5. link
    rte_eth_link link{};
    rte_eth_link_get_nowait(_id, &link);
    RTE_LOG(INFO, USER1, "port %s (id %u, %s): %u rx queue(s), %u tx queue(s), %s, checksum offload %s, link %s %u Mbps\n",
            _name.c_str(), _id, _driver.c_str(), _queues, _tx_queues,
            _rss ? (_rss_mode == rss_mode::source_only ? "RSS on the source address" : "RSS on both addresses")
                 : "no RSS",
            _rx_cksum ? "on" : "off", link.link_status ? "up" : "down", link.link_speed);
}

void eth_port::stop() noexcept {
    if (_started) {
        rte_eth_dev_stop(_id);
        _started = false;
    }
}

eth_port::~eth_port() {
    stop();
    rte_eth_dev_close(_id);
}

port_stats eth_port::stats() const noexcept {
    rte_eth_stats s{};
    port_stats o;
    if (rte_eth_stats_get(_id, &s) == 0) {
        o.ipackets = s.ipackets;
        o.ibytes = s.ibytes;
        o.imissed = s.imissed;
        o.ierrors = s.ierrors;
        o.rx_nombuf = s.rx_nombuf;
        o.opackets = s.opackets;
        o.oerrors = s.oerrors;
    }
    return o;
}

}  // namespace sluice::port
