// SPDX-License-Identifier: Apache-2.0
// The IANA IPFIX information elements (and their NetFlow v9 namesakes, which
// share the numbers below 128) that Sluice maps into flow_record or uses for
// options data. Anything not listed here is skipped by its declared length.
//
// The template compiler (template/template_store.cpp) looks each template
// field up here once, at learn time; nothing is looked up per record.
#pragma once

#include <cstdint>
#include <string_view>

namespace sluice::decode::ipfix_ie {

// What an element means to the decoder. Several elements may share a
// meaning's slot; the compiler picks one by priority (see template_store.cpp).
enum class sem : uint8_t {
    none,
    octets_delta, packets_delta, octets_total, packets_total, octets_post, packets_post,
    protocol, tos, tcp_flags, src_port, dst_port,
    src_v4, dst_v4, src_v6, dst_v6, src_mask_v4, dst_mask_v4, src_mask_v6, dst_mask_v6,
    in_if, out_if, next_hop_v4, bgp_next_hop_v4, next_hop_v6, bgp_next_hop_v6, src_as, dst_as,
    icmp_tc_v4, icmp_tc_v6, icmp_type_v4, icmp_code_v4, icmp_type_v6, icmp_code_v6,
    vlan, dot1q_vlan, direction, mpls_top, flow_end_reason,
    start_s, end_s, start_ms, end_ms, start_us, end_us, start_ns, end_ns,
    start_uptime, end_uptime, start_delta_us, end_delta_us, sys_init_ms, ip_version,
    sampler_id, selector_id, sampling_interval, sampling_algorithm, sampler_random_interval,
    packet_interval, packet_space, sampling_size, sampling_population,
    src_mac, dst_mac, post_src_mac, post_dst_mac, post_vlan, dot1q_customer_vlan,
    ip_ttl, min_ttl, max_ttl, forwarding_status, flow_label_v6, next_hop_as,
    post_nat_src_v4, post_nat_dst_v4, post_nat_src_v6, post_nat_dst_v6, post_napt_src_port, post_napt_dst_port,
    frame_size, ip_header_section, frame_section,
    count_
};

constexpr std::size_t sem_count = static_cast<std::size_t>(sem::count_);

struct element {
    uint16_t id;
    std::string_view name;  // IANA name (v9 name in the comment where it differs)
    sem meaning;
};

inline constexpr element elements[] = {
    {1, "octetDeltaCount", sem::octets_delta},             // v9 IN_BYTES
    {2, "packetDeltaCount", sem::packets_delta},           // v9 IN_PKTS
    {4, "protocolIdentifier", sem::protocol},
    {5, "ipClassOfService", sem::tos},
    {6, "tcpControlBits", sem::tcp_flags},                 // 1 byte (v9) or 2 bytes (RFC 7125)
    {7, "sourceTransportPort", sem::src_port},
    {8, "sourceIPv4Address", sem::src_v4},
    {9, "sourceIPv4PrefixLength", sem::src_mask_v4},
    {10, "ingressInterface", sem::in_if},
    {11, "destinationTransportPort", sem::dst_port},
    {12, "destinationIPv4Address", sem::dst_v4},
    {13, "destinationIPv4PrefixLength", sem::dst_mask_v4},
    {14, "egressInterface", sem::out_if},
    {15, "ipNextHopIPv4Address", sem::next_hop_v4},
    {16, "bgpSourceAsNumber", sem::src_as},
    {17, "bgpDestinationAsNumber", sem::dst_as},
    {18, "bgpNextHopIPv4Address", sem::bgp_next_hop_v4},
    {21, "flowEndSysUpTime", sem::end_uptime},             // v9 LAST_SWITCHED
    {22, "flowStartSysUpTime", sem::start_uptime},         // v9 FIRST_SWITCHED
    {23, "postOctetDeltaCount", sem::octets_post},         // v9 OUT_BYTES
    {24, "postPacketDeltaCount", sem::packets_post},       // v9 OUT_PKTS
    {27, "sourceIPv6Address", sem::src_v6},
    {28, "destinationIPv6Address", sem::dst_v6},
    {29, "sourceIPv6PrefixLength", sem::src_mask_v6},
    {30, "destinationIPv6PrefixLength", sem::dst_mask_v6},
    {31, "flowLabelIPv6", sem::flow_label_v6},             // v9 IPV6_FLOW_LABEL (often 3 bytes)
    {32, "icmpTypeCodeIPv4", sem::icmp_tc_v4},
    {34, "samplingInterval", sem::sampling_interval},      // v9 SAMPLING_INTERVAL
    {35, "samplingAlgorithm", sem::sampling_algorithm},    // v9 SAMPLING_ALGORITHM
    {48, "samplerId", sem::sampler_id},                    // v9 FLOW_SAMPLER_ID
    {50, "samplerRandomInterval", sem::sampler_random_interval},  // v9 FLOW_SAMPLER_RANDOM_INTERVAL
    {52, "minimumTTL", sem::min_ttl},
    {53, "maximumTTL", sem::max_ttl},
    {56, "sourceMacAddress", sem::src_mac},                // v9 IN_SRC_MAC
    {57, "postDestinationMacAddress", sem::post_dst_mac},  // v9 OUT_DST_MAC
    {58, "vlanId", sem::vlan},                             // v9 SRC_VLAN
    {59, "postVlanId", sem::post_vlan},                    // v9 DST_VLAN
    {60, "ipVersion", sem::ip_version},
    {61, "flowDirection", sem::direction},
    {62, "ipNextHopIPv6Address", sem::next_hop_v6},
    {63, "bgpNextHopIPv6Address", sem::bgp_next_hop_v6},
    {70, "mplsTopLabelStackSection", sem::mpls_top},       // v9 MPLS_LABEL_1
    {80, "destinationMacAddress", sem::dst_mac},           // v9 IN_DST_MAC
    {81, "postSourceMacAddress", sem::post_src_mac},       // v9 OUT_SRC_MAC
    {85, "octetTotalCount", sem::octets_total},
    {86, "packetTotalCount", sem::packets_total},
    {89, "forwardingStatus", sem::forwarding_status},      // RFC 7270
    {128, "bgpNextAdjacentAsNumber", sem::next_hop_as},
    {136, "flowEndReason", sem::flow_end_reason},
    {139, "icmpTypeCodeIPv6", sem::icmp_tc_v6},
    {150, "flowStartSeconds", sem::start_s},
    {151, "flowEndSeconds", sem::end_s},
    {152, "flowStartMilliseconds", sem::start_ms},
    {153, "flowEndMilliseconds", sem::end_ms},
    {154, "flowStartMicroseconds", sem::start_us},         // NTP timestamp format
    {155, "flowEndMicroseconds", sem::end_us},
    {156, "flowStartNanoseconds", sem::start_ns},          // NTP timestamp format
    {157, "flowEndNanoseconds", sem::end_ns},
    {158, "flowStartDeltaMicroseconds", sem::start_delta_us},
    {159, "flowEndDeltaMicroseconds", sem::end_delta_us},
    {160, "systemInitTimeMilliseconds", sem::sys_init_ms},
    {176, "icmpTypeIPv4", sem::icmp_type_v4},
    {177, "icmpCodeIPv4", sem::icmp_code_v4},
    {178, "icmpTypeIPv6", sem::icmp_type_v6},
    {179, "icmpCodeIPv6", sem::icmp_code_v6},
    {192, "ipTTL", sem::ip_ttl},
    // Cisco ASA NSEL exports 225-228 and 281/282 under the same numbers
    // (NF_F_XLATE_SRC/DST_ADDR_IPV4, NF_F_XLATE_SRC/DST_PORT, ..._IPV6).
    {225, "postNATSourceIPv4Address", sem::post_nat_src_v4},
    {226, "postNATDestinationIPv4Address", sem::post_nat_dst_v4},
    {227, "postNAPTSourceTransportPort", sem::post_napt_src_port},
    {228, "postNAPTDestinationTransportPort", sem::post_napt_dst_port},
    {243, "dot1qVlanId", sem::dot1q_vlan},
    {245, "dot1qCustomerVlanId", sem::dot1q_customer_vlan},
    {281, "postNATSourceIPv6Address", sem::post_nat_src_v6},
    {282, "postNATDestinationIPv6Address", sem::post_nat_dst_v6},
    {302, "selectorId", sem::selector_id},
    {305, "samplingPacketInterval", sem::packet_interval},
    {306, "samplingPacketSpace", sem::packet_space},
    {309, "samplingSize", sem::sampling_size},
    {310, "samplingPopulation", sem::sampling_population},
    {312, "dataLinkFrameSize", sem::frame_size},
    {313, "ipHeaderPacketSection", sem::ip_header_section},  // variable length: parsed as a sampled IP header
    {315, "dataLinkFrameSection", sem::frame_section},       // variable length: parsed as a sampled Ethernet frame
};

// Meaning of an IANA element id (enterprise 0), sem::none when unmapped.
// Called at template learn time only.
constexpr sem lookup(uint16_t id) noexcept {
    if (id == 0) return sem::none;
    for (const auto& e : elements)
        if (e.id == id) return e.meaning;
    return sem::none;
}

static_assert(lookup(8) == sem::src_v4 && lookup(310) == sem::sampling_population && lookup(999) == sem::none);
static_assert(lookup(315) == sem::frame_section && lookup(225) == sem::post_nat_src_v4);

}  // namespace sluice::decode::ipfix_ie
