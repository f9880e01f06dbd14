// SPDX-License-Identifier: Apache-2.0
// sluice-gen's pure part: the flow model, the four encoders and the framing,
// producing frames (Ethernet/IPv4/UDP, fragments included) and the truth that
// a collector's counters must equal. No DPDK, no I/O: tx_dpdk.cpp sends what
// this produces, pcap.cpp writes it.
//
// Ownership: generate() returns a capture that owns every frame's bytes; the
// caller keeps it for as long as it writes or transmits them.
//
//   config + seed --> [traffic model] --flows--> [encoder v5|v9|ipfix|sflow]
//                                                    | datagrams (+ malformed)
//                                                    v
//                     truth <--counts---------- [framing, fragments] --> frames
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "perf/gen/config.hpp"

namespace sluice::gen {

enum class proto : uint8_t { v5, v9, ipfix, sflow };
const char* proto_name(proto p) noexcept;

// The kinds of malformed datagram, each mapped to the one decode counter (or
// frame-class counter) it must increment: see kind_counter().
enum class malformed : uint8_t {
    truncated_header,   // shorter than the protocol header          -> err_truncated_header
    unknown_version,    // version 99 on an auto port (v5, v9)        -> err_unknown_version
    truncated_records,  // v5 cut in transit after 10 of 30 records   -> err_count_exceeds_datagram
    set_length,         // v9/IPFIX set length past the datagram end  -> err_set_length
    unknown_template,   // v9/IPFIX data set for a template never sent -> err_data_before_template
    sample_count,       // sFlow sample count above what is present   -> err_sflow_sample_count
    bad_ip_checksum,    // IPv4 header checksum wrong (frame level)   -> bad_ipv4_checksum
    count_
};
constexpr std::size_t malformed_count = static_cast<std::size_t>(malformed::count_);
const char* malformed_name(malformed m) noexcept;
const char* kind_counter(malformed m) noexcept;

struct frame {
    uint64_t ts_ns = 0;                // capture time
    std::vector<uint8_t> bytes;        // Ethernet frame, no FCS
    uint32_t records = 0;              // records the collector decodes from it (0 on all but a datagram's last fragment)
};

// Volumes on one interface. NetFlow: what the records carry (exported) and that
// times the sampling rate. sFlow: the agent's true traffic (what its counter
// samples say) next to the flow samples that stand for it.
struct interface_truth {
    uint64_t records = 0;
    uint64_t bytes = 0, packets = 0;                          // as exported
    uint64_t extrapolated_bytes = 0, extrapolated_packets = 0; // x sampling rate
    uint64_t true_bytes = 0, true_packets = 0;                // sFlow: every packet on the wire
    uint64_t counter_samples = 0;                             // sFlow: delivered counter samples
    uint64_t last_counter_bytes = 0, last_counter_packets = 0; // what the last delivered one said
    std::string name;
};

struct exporter_truth {
    std::string address;
    proto version = proto::v5;
    uint16_t src_port = 0, dst_port = 0;
    uint32_t sampling_rate = 1;
    uint64_t frames = 0, fragments = 0, fragmented_datagrams = 0;
    uint64_t bytes = 0, packets = 0, extrapolated_bytes = 0, extrapolated_packets = 0;
    std::array<uint64_t, malformed_count> malformed{};
    // Every decode counter (dataplane/decode/counters.hpp names) this exporter
    // must show; a name not listed must be 0.
    std::map<std::string, uint64_t> counters;
    std::map<uint32_t, interface_truth> interfaces;
};

struct capture {
    std::vector<frame> frames;
    std::vector<exporter_truth> exporters;
    uint64_t fragments = 0, fragmented_datagrams = 0;  // reaching the reassembler
    uint64_t bad_ip_checksum_frames = 0;               // frames (fragments included) with a wrong IPv4 checksum
};

// Deterministic for (cfg, cfg.seed). Throws std::invalid_argument on a config
// that cannot be built (no exporter, an MTU below 576, ...).
capture generate(const config& cfg);

// Truth file: JSON, stable key order.
std::string truth_json(const config& cfg, const capture& cap);

// Classic pcap (microsecond, Ethernet). Returns false on an I/O error (errno set).
bool write_pcap(const std::string& path, const capture& cap);

}  // namespace sluice::gen
