// SPDX-License-Identifier: Apache-2.0
// Configuration of the exception path: the collector's own addresses and port MAC.
//
// Ownership and lifetime: an address_config is a plain value (no pointers, no
// heap). The control core fills one per port at start-up with add() and
// set_mac(), then hands workers a const reference or a copy; handle() only
// reads it. Changing it while workers run needs a new copy published the usual
// way (snapshot swap), never an in-place edit.
//
//   control core:  address_config cfg; cfg.add("192.0.2.1"); cfg.set_mac(port_mac);
//                        |  (copy / const&, immutable from here on)
//                        v
//   worker loop:   exception::handle(frame, len, cfg, reply, cap)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::exception {

// A port answers for a handful of addresses (the collector's service
// addresses); 8 of each family keeps the linear scan in handle() to a few
// cache lines and the struct to under 200 bytes.
constexpr std::size_t k_max_v4 = 8;
constexpr std::size_t k_max_v6 = 8;

struct address_config {
    std::array<std::array<uint8_t, 4>, k_max_v4> v4{};
    std::array<std::array<uint8_t, 16>, k_max_v6> v6{};
    uint8_t n_v4 = 0;
    uint8_t n_v6 = 0;
    // The port's own MAC: source of every reply, the ARP sender / NA target
    // link-layer address, and the only unicast destination MAC accepted.
    std::array<uint8_t, 6> mac{};

    // Adds one IPv4 ("192.0.2.1") or IPv6 ("2001:db8::1") address. Returns
    // false, changing nothing, when the text is not an address, the address
    // is multicast / unspecified / broadcast (never ours to answer for), or
    // that family's table is full. Adding an address already present is a
    // no-op that returns true.
    bool add(std::string_view ip);
    // Sets the MAC from "02:00:00:00:00:01"; false (unchanged) if malformed
    // or multicast.
    bool set_mac(std::string_view text);
    void set_mac(const uint8_t (&m)[6]) noexcept {
        for (std::size_t i = 0; i < 6; ++i) mac[i] = m[i];
    }

    // Index of a matching address, or -1. p points at 4 / 16 bytes.
    int find_v4(const uint8_t* p) const noexcept;
    int find_v6(const uint8_t* p) const noexcept;
    // Index of the configured IPv6 address whose solicited-node multicast
    // group (ff02::1:ffXX:XXXX, RFC 4291 2.7.1) is p, or -1.
    int find_solicited_node(const uint8_t* p) const noexcept;
};

static_assert(sizeof(address_config) <= 192, "address_config should stay a few cache lines");

}  // namespace sluice::exception
