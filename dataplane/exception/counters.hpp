// SPDX-License-Identifier: Apache-2.0
// Exception-path counters: the outcome enum of handle() doubles as the counter enum.
//
// Every frame handed to exception::handle() yields exactly one outcome, and
// the worker adds exactly one to that outcome's counter. The block is the
// shared counters::block: only the owning worker writes (relaxed stores),
// the control core reads it live through the registry and sums the workers.
//
// Names are exported as `sluice_dataplane_exception_<name>_total`. The help
// text says what a non-zero value means.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/counters/counters.hpp"

namespace sluice::exception {

enum class outcome : uint8_t {
    reply,  // `reply` holds a frame to transmit; everything below: nothing to send
    not_for_us,
    arp_not_request,
    arp_malformed,
    icmp_not_echo_request,
    icmp_malformed,
    icmp_bad_checksum,
    icmpv6_not_handled,
    icmpv6_malformed,
    icmpv6_bad_checksum,
    ndp_dad_ignored,
    too_big,
    count_  // keep last
};

constexpr std::size_t outcome_count = static_cast<std::size_t>(outcome::count_);

using counter_info = counters::info;
using K = counters::kind;

// Same order as the enum; checked by the static_assert below.
inline constexpr std::array<counter_info, outcome_count> counter_table{{
    {"reply", "Replies built (ARP reply, ICMP echo reply, ICMPv6 echo reply, neighbour advertisement).", K::volume},
    {"not_for_us",
     "Frames not addressed to this collector or of a kind the exception path does not answer "
     "(other ethertypes, other IP protocols, other targets, more than two VLAN tags). Routine on a shared segment.", K::volume},
    {"arp_not_request",
     "ARP replies, gratuitous replies and other ARP opcodes: ignored. Routine; a burst may mean an ARP storm.", K::volume},
    {"arp_malformed",
     "ARP frames that are truncated, not Ethernet/IPv4 ARP, or carry a multicast sender MAC: dropped.", K::error},
    {"icmp_not_echo_request",
     "ICMP to one of our IPv4 addresses other than echo request (e.g. unreachables): ignored.", K::volume},
    {"icmp_malformed",
     "ICMP to our IPv4 address with a bad IPv4 header (length, header checksum), fragmented "
     "(never reassembled: use pings below the MTU) or from a multicast/broadcast/zero source: dropped.", K::error},
    {"icmp_bad_checksum", "ICMP messages to our IPv4 address whose ICMP checksum is wrong: dropped.", K::error},
    {"icmpv6_not_handled",
     "ICMPv6 to our address or its solicited-node group other than echo request and neighbour "
     "solicitation (RS, RA, NA, redirects, MLD): ignored.", K::volume},
    {"icmpv6_malformed",
     "ICMPv6 echo/NS that breaks RFC 4443/4861 validation (hop limit not 255 on NS, short, bad "
     "options, multicast target or source): dropped.", K::error},
    {"icmpv6_bad_checksum", "ICMPv6 messages to us whose checksum (with pseudo-header) is wrong: dropped.", K::error},
    {"ndp_dad_ignored",
     "Neighbour solicitations with the unspecified source (duplicate address detection) for one of "
     "our addresses: ignored by design. Non-zero means another host is probing our address: check for a conflict.", K::volume},
    {"too_big", "A reply would not fit in the caller's reply buffer: nothing sent. Raise the reply buffer size.", K::drop},
}};

static_assert(counter_table.back().name == "too_big", "counter_table must list every outcome, in enum order");

// One worker's counters: the shared per-lcore block (relaxed stores by the
// owning worker, relaxed loads by the control core while it runs).
using counter_block = counters::block<outcome, outcome_count>;

}  // namespace sluice::exception
