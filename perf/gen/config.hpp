// SPDX-License-Identifier: Apache-2.0
// sluice-gen's configuration: the flow model's knobs, with defaults that give a
// small, varied capture (every protocol, both address families, fragments and
// malformed datagrams) in well under a second.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace sluice::gen {

struct config {
    uint64_t seed = 1;
    // Exporters per protocol. Each exporter speaks one protocol from its own
    // address (the collector keys exporters by address), 10.<site>.255.<n>.
    uint32_t v5_exporters = 2;
    uint32_t v9_exporters = 2;
    uint32_t ipfix_exporters = 2;
    uint32_t sflow_exporters = 2;
    // Export datagrams per exporter (templates and malformed ones included).
    uint32_t datagrams = 200;
    // Capture time between two datagrams of one exporter (a router flushes its
    // cache every few ms under load).
    uint64_t interval_us = 2000;
    // Capture start (2026-01-01T00:00:00Z): fixed so a seed gives the same bytes.
    uint64_t start_unix_s = 1767225600;
    // v9/IPFIX: templates, options templates and options data every N datagrams
    // (and first); Cisco's default refresh is 20 packets.
    uint32_t template_refresh = 20;
    // 1-in-N packet sampling of the sampled exporters (every other exporter of
    // each protocol; sFlow is always sampled). 1 = no sampling anywhere.
    uint32_t sampling = 100;
    // Share of v9/IPFIX/sFlow flows that are IPv6 (v5 carries IPv4 only).
    double ipv6_share = 0.3;
    // Share of v9/IPFIX data datagrams built 2-3x larger than the MTU and sent
    // as IPv4 fragments.
    double fragment_share = 0.05;
    // Share of datagrams (from each exporter's third on) that are malformed,
    // split evenly over the kinds its protocol can show.
    double malformed_share = 0.05;
    // Share of frames (never a fragment, never an exporter's first two) sent
    // with a wrong IPv4 header checksum.
    double bad_checksum_share = 0.01;
    uint32_t mtu = 1500;
    // sFlow: interfaces per agent, a counter sample for each every N datagrams
    // (and in the last one).
    uint32_t sflow_interfaces = 4;
    uint32_t sflow_counter_every = 10;
    // Interfaces per NetFlow exporter (indexes 1..N, named in options data).
    uint32_t interfaces = 8;
    // Where the exports go: the collector's address and UDP ports (sluiced's
    // defaults: 2055 auto, 9995 auto, 4739 IPFIX, 6343 sFlow).
    std::string collector = "10.255.0.1";
    // Destination MAC: sluiced's ports are not promiscuous, so on a real NIC
    // give that NIC's address (memif, net_ring and af_packet on a veth take any).
    std::array<uint8_t, 6> collector_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
    uint16_t port_v5 = 2055;
    uint16_t port_v9 = 9995;
    uint16_t port_ipfix = 4739;
    uint16_t port_sflow = 6343;
    // Only well-formed, unfragmented datagrams (the line-rate profile).
    bool clean() const noexcept { return fragment_share == 0 && malformed_share == 0 && bad_checksum_share == 0; }
};

}  // namespace sluice::gen
