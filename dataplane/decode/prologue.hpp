// SPDX-License-Identifier: Apache-2.0
// The first steps every fixed-header decoder (NetFlow v5, v9, IPFIX) takes:
// count the datagram and its bytes, then reject it (counted) when it is
// shorter than the protocol header or carries another version.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "counters.hpp"
#include "wire.hpp"

namespace sluice::decode {

// false: the datagram is dropped and already counted.
inline bool accept_datagram(std::span<const uint8_t> payload, std::size_t header_size, uint16_t version,
                            counter_block& c) noexcept {
    c.add(counter::datagrams);
    c.add(counter::datagram_bytes, payload.size());
    if (payload.size() < header_size) [[unlikely]] {
        c.add(counter::err_truncated_header);
        return false;
    }
    if (wire::be16(payload.data()) != version) [[unlikely]] {
        c.add(counter::err_unknown_version);
        return false;
    }
    return true;
}

}  // namespace sluice::decode
