// SPDX-License-Identifier: Apache-2.0
// The RSS choice: source address only where the NIC offers it, both addresses as the fallback, else none.
#include "dataplane/port/rss.hpp"

#include <gtest/gtest.h>

using namespace sluice::port;

TEST(Rss, SourceOnlyWithUdpTypesWhenOffered) {
    // A NIC in the style of ice/mlx5: packet types plus the *_ONLY modifiers.
    const uint64_t capa = RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_L3_SRC_ONLY |
                          RTE_ETH_RSS_L3_DST_ONLY | RTE_ETH_RSS_L4_SRC_ONLY;
    const rss_choice c = choose_rss(capa);
    EXPECT_EQ(c.mode, rss_mode::source_only);
    EXPECT_EQ(c.rss_hf, RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_NONFRAG_IPV6_UDP | RTE_ETH_RSS_IPV4 |
                            RTE_ETH_RSS_IPV6 | RTE_ETH_RSS_FRAG_IPV4 | RTE_ETH_RSS_FRAG_IPV6 | RTE_ETH_RSS_L3_SRC_ONLY);
    EXPECT_EQ(c.rss_hf & RTE_ETH_RSS_L3_DST_ONLY, 0u);
    EXPECT_EQ(c.rss_hf & (RTE_ETH_RSS_L4_SRC_ONLY | RTE_ETH_RSS_NONFRAG_IPV4_TCP), 0u);
}

TEST(Rss, MaskedByWhatTheDeviceOffers) {
    // IPv4 only, with the modifier: no IPv6 type is asked for (configure would refuse it).
    const rss_choice c = choose_rss(RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_L3_SRC_ONLY);
    EXPECT_EQ(c.mode, rss_mode::source_only);
    EXPECT_EQ(c.rss_hf, RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_L3_SRC_ONLY);
}

TEST(Rss, BothAddressesWithoutTheModifier) {
    // ixgbe-style: IP and UDP types, no L3_SRC_ONLY. Never the UDP types (ports) in the fallback.
    const uint64_t capa = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_IPV6 | RTE_ETH_RSS_IPV6_EX | RTE_ETH_RSS_NONFRAG_IPV4_UDP |
                          RTE_ETH_RSS_NONFRAG_IPV6_UDP;
    const rss_choice c = choose_rss(capa);
    EXPECT_EQ(c.mode, rss_mode::both_addresses);
    EXPECT_EQ(c.rss_hf, RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_IPV6 | RTE_ETH_RSS_IPV6_EX);
}

TEST(Rss, ModifierAloneIsNotEnough) {
    EXPECT_EQ(choose_rss(RTE_ETH_RSS_L3_SRC_ONLY).mode, rss_mode::none);
    EXPECT_EQ(choose_rss(RTE_ETH_RSS_L3_SRC_ONLY | RTE_ETH_RSS_NONFRAG_IPV4_TCP).mode, rss_mode::none);
}

TEST(Rss, NoneOnVdevs) {
    const rss_choice c = choose_rss(0);  // net_pcap, net_ring, net_af_packet
    EXPECT_EQ(c.mode, rss_mode::none);
    EXPECT_EQ(c.rss_hf, 0u);
    static_assert(choose_rss(0).mode == rss_mode::none, "constexpr");
}
