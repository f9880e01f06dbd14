// SPDX-License-Identifier: Apache-2.0
// Port counters: the rte_eth_stats fields sluiced reports, as one {name, help, kind} table.
//
// The values are the PMD's (rte_eth_stats_get, read by the control core
// through the registry); this table only names them and says what they mean.
// Names are exported as `sluice_dataplane_port_<name>_total`.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dataplane/counters/counters.hpp"

namespace sluice::port {

enum class counter : uint8_t { ipackets, ibytes, imissed, ierrors, rx_nombuf, opackets, oerrors, count_ };
constexpr std::size_t counter_count = static_cast<std::size_t>(counter::count_);

inline constexpr std::array<counters::info, counter_count> counter_table{{
    {"ipackets", "Frames the port received and handed to an rx queue.", counters::kind::volume},
    {"ibytes", "Bytes of the frames received.", counters::kind::volume},
    {"imissed", "Frames the NIC dropped because an rx queue was full: the workers are too slow.", counters::kind::drop},
    {"ierrors", "Frames the NIC received with errors (CRC, length): dropped by the hardware.", counters::kind::error},
    {"rx_nombuf", "Frames dropped because the mempool had no mbuf for them: raise the pool or find the leak.",
     counters::kind::drop},
    {"opackets", "Frames sent (exception-path replies).", counters::kind::volume},
    {"oerrors", "Frames the port failed to send.", counters::kind::drop},
}};
static_assert(counter_table.back().name == "oerrors", "counter_table must list every counter, in enum order");

}  // namespace sluice::port
