// SPDX-License-Identifier: Apache-2.0
// sluice-gen's DPDK transmit path: sends a generated capture through one DPDK
// port (a NIC, or net_memif / net_ring / net_af_packet / net_pcap here) at a
// target rate, paced by the TSC, looping the capture as often as asked.
//
// Ownership: transmit() starts the EAL (once per process), copies each frame
// into an mbuf of its own pool at send time, and stops and closes the port
// before it returns. The capture must outlive the call.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "perf/gen/gen.hpp"

namespace sluice::gen {

struct tx_config {
    std::string eal;          // EAL arguments, e.g. "--no-huge -m 256 --no-pci --file-prefix g --vdev net_memif0,role=client,socket=/tmp/x"
    uint16_t port = 0;        // port id after EAL start
    double rate_pps = 0;      // frames/s; 0 = as fast as the port takes them
    double rate_gbps = 0;     // or Gbit/s of frames (plus 20 bytes of preamble and gap per frame, as on a wire)
    double duration_s = 0;    // stop after this long (0 = loops decide)
    uint64_t loops = 1;       // passes over the capture (0 = until duration or a signal)
    uint32_t burst = 32;      // frames per tx burst
    double wait_link_s = 10;  // wait for the link (memif: the peer) this long before sending
    double linger_s = 1;      // after the last frame, keep the port up this long so the peer drains its ring
    // Frames the port does not take at once are dropped and counted, as on a
    // wire (memif and net_ring otherwise push back on the sender, which hides
    // a receiver that cannot keep up). Default: retry until taken.
    bool drop_on_full = false;
};

struct tx_result {
    uint64_t frames_sent = 0, bytes_sent = 0, records_sent = 0, loops_done = 0;
    uint64_t tx_full_retries = 0;  // bursts the port did not take at once (back-pressure)
    uint64_t frames_dropped = 0, records_dropped = 0;  // drop_on_full: what the port did not take
    double seconds = 0;
    uint64_t tsc_hz = 0;
};

// Returns false with `err` set on a start-up failure. Stops early when `stop` is set.
bool transmit(const capture& cap, const tx_config& tc, const std::atomic<bool>& stop, tx_result& out, std::string& err);

}  // namespace sluice::gen
