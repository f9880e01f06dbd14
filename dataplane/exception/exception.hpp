// SPDX-License-Identifier: Apache-2.0
// The exception path: answers ARP, ICMP echo, ICMPv6 echo and neighbour solicitation for the collector's own addresses.
//
// Pure code over bytes: no DPDK types, no I/O, no allocation, no exceptions.
// The worker hands over every frame its flow-export classifier did not take,
// transmits `reply` when the outcome is outcome::reply, and counts the
// outcome in its counter_block (counters.hpp) in every case.
//
//   rx frame --> handle(frame, len, cfg, reply, cap) --> result{what, reply_len}
//                                                          | what == reply: tx reply[0, reply_len)
//                                                          | otherwise: counters.add(what), drop
//
// Ownership: handle() borrows `frame`, `cfg` and `reply` for the call only
// and keeps nothing. `reply` may be the very same buffer as `frame` (answer
// in place in the received mbuf, if it is large enough and not shared); any
// other overlap is undefined.
//
// What is answered (any of up to two 802.1Q/802.1ad tags is copied to the reply):
//   ARP request, Ethernet/IPv4, target = one of our IPv4      -> ARP reply
//   ICMP echo request to one of our IPv4 (unfragmented)      -> echo reply, TTL 64
//   ICMPv6 echo request to one of our IPv6                   -> echo reply, hop limit 64
//   ICMPv6 NS for one of our IPv6, to it or to its solicited-
//     node group, source not ::                              -> NA (S=1, O=1, TLLA), hop limit 255
// Replies shorter than 60 bytes are zero-padded to the Ethernet minimum.
#pragma once

#include <cstdint>
#include <string_view>

#include "dataplane/exception/config.hpp"
#include "dataplane/exception/counters.hpp"

namespace sluice::exception {

struct result {
    outcome what;
    uint32_t reply_len;  // bytes of `reply` to transmit; 0 unless what == outcome::reply
};

// Replies are at least k_min_frame bytes (zero padding) and at most
// max(len + 8, k_min_frame): an NA is 8 bytes longer than an NS without the
// source link-layer option; every other reply is at most as long as its
// request. A reply_cap of max(len + 8, 60) therefore never yields too_big.
constexpr uint32_t k_min_frame = 60;  // Ethernet minimum without FCS

// frame: a full Ethernet frame (no FCS). reply: where a full Ethernet frame
// to transmit is written, at most reply_cap bytes. Never fails loudly: every
// frame maps to exactly one outcome (see counters.hpp for their meaning).
result handle(const uint8_t* frame, uint32_t len, const address_config& cfg, uint8_t* reply,
              uint32_t reply_cap) noexcept;

constexpr std::string_view outcome_name(outcome o) {
    auto i = static_cast<std::size_t>(o);
    return i < outcome_count ? counter_table[i].name : std::string_view{"unknown"};
}

}  // namespace sluice::exception
