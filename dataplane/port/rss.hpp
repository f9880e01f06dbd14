// SPDX-License-Identifier: Apache-2.0
// The RSS hash choice for a port: by the exporter's source address where the NIC can, else a documented fallback.
//
// Pure (a function of dev_info.flow_type_rss_offloads): unit-tested, logged
// at start-up by eth_port. Why the source address: every datagram of one
// exporter must reach one worker (its templates and sequence state live
// there). Hashing both addresses splits an exporter that sends to two
// collector addresses over two workers; NICs that classify by packet type
// (i40e, ice, mlx5) do not apply the plain IPv4/IPv6 types to UDP packets at
// all, so the UDP types are asked for too. On drivers that keep the L4 ports
// in the UDP types' input set, the exporter's source port enters the hash as
// well: it is fixed per exporting process, so an exporter still stays on one
// worker (a restart on a new port may move it).
//
//   capability has L3_SRC_ONLY and any wanted type -> source_only: wanted types | L3_SRC_ONLY
//   else capability has any RTE_ETH_RSS_IP type      -> both_addresses: capa & RTE_ETH_RSS_IP
//   else                                             -> none: one rx queue
#pragma once

#include <rte_ethdev.h>

#include <cstdint>
#include <string_view>

namespace sluice::port {

enum class rss_mode : uint8_t { source_only, both_addresses, none };

struct rss_choice {
    rss_mode mode = rss_mode::none;
    uint64_t rss_hf = 0;  // for rte_eth_conf.rx_adv_conf.rss_conf.rss_hf; 0 with none
};

// The packet types hashed by source address when the NIC supports it.
inline constexpr uint64_t k_rss_wanted_types = RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_NONFRAG_IPV6_UDP |
                                               RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_IPV6 | RTE_ETH_RSS_FRAG_IPV4 |
                                               RTE_ETH_RSS_FRAG_IPV6;

constexpr rss_choice choose_rss(uint64_t flow_type_rss_offloads) noexcept {
    const uint64_t capa = flow_type_rss_offloads;
    const uint64_t types = capa & k_rss_wanted_types;
    if ((capa & RTE_ETH_RSS_L3_SRC_ONLY) != 0 && types != 0)
        return {rss_mode::source_only, types | RTE_ETH_RSS_L3_SRC_ONLY};
    if (const uint64_t ip = capa & RTE_ETH_RSS_IP; ip != 0) return {rss_mode::both_addresses, ip};
    return {};
}

constexpr std::string_view rss_mode_name(rss_mode m) noexcept {
    switch (m) {
    case rss_mode::source_only: return "RSS on the source address (IPv4/IPv6, UDP types, fragments)";
    case rss_mode::both_addresses:
        return "RSS on both IP addresses (fallback: the NIC cannot hash the source only; an exporter sending to "
               "two collector addresses lands on two workers)";
    case rss_mode::none: return "no RSS";
    }
    return "?";
}

}  // namespace sluice::port
