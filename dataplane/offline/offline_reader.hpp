// SPDX-License-Identifier: Apache-2.0
// Reads captures of flow exports (pcap or pcapng via libpcap; Ethernet, Linux
// cooked v1/v2, raw IP and BSD loopback link types), reassembles IP fragments
// and feeds every UDP payload to the decoders. Used by sluice-decode, the
// tests and the benchmarks; sluiced has its own DPDK path with the same
// parser and decoders.
//
//   capture file ─► link layer ─► parse_ethernet/parse_ip ─► [reassembly]
//                  ─► UDP payload ─► decode_datagram ─► on_records callback
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "dataplane/decode/decoder.hpp"
#include "dataplane/counters/counters.hpp"
#include "dataplane/parse/packet_parse.hpp"
#include "dataplane/reassembly/reassembly.hpp"

namespace sluice::offline {

struct reader_options {
    decode::decoder_limits limits{};
    parse::parse_options parse{.verify_ipv4_header_checksum = true, .verify_udp_checksum = false};
    std::map<uint16_t, decode::protocol> port_map;  // UDP destination port → protocol; others auto
    reassembly::config frag{};  // the same defaults and bounds as sluiced's --frag-* flags
};

using frag_counters = counters::block<reassembly::counter, reassembly::counter_count>;

// Frame-level counters of the reader (per run, not per exporter).
struct reader_stats {
    uint64_t frames = 0;
    uint64_t unsupported_link_type = 0;
    std::array<uint64_t, parse::frame_class_count> by_class{};
    uint64_t datagrams_decoded = 0;
    uint64_t records = 0;
};

class offline_reader {
public:
    // Called once per datagram with the records it yielded (possibly none).
    using records_fn = std::function<void(std::span<const decode::flow_record>)>;
    // Called once per UDP payload before decoding (e.g. to dump a fuzz corpus).
    using payload_fn = std::function<void(std::span<const uint8_t>)>;

    // Throws std::invalid_argument on a reassembly config out of bounds.
    explicit offline_reader(reader_options opts);
    offline_reader(const offline_reader&) = delete;  // the reassembler points into this object
    offline_reader& operator=(const offline_reader&) = delete;

    // Reads one capture file ("-" = stdin). Returns false with *error set when
    // the file cannot be opened or read; decode problems are counters, not errors.
    bool read_file(const std::string& path, const records_fn& on_records, std::string* error,
                   const payload_fn& on_payload = {});

    // Feeds one link-layer frame (DLT value as in pcap) captured at ts_ns.
    void feed_frame(int dlt, const uint8_t* data, uint32_t len, uint64_t ts_ns, const records_fn& on_records,
                    const payload_fn& on_payload = {});

    // Expires every pending fragment set (end of input).
    void finish() { _reassembler.expire_all(); }

    decode::exporter_table& exporters() { return _exporters; }
    const reader_stats& stats() const { return _stats; }
    const reassembly::reassembler& reassembler() const { return _reassembler; }
    const frag_counters& reassembly_counters() const { return _frag_counters; }

private:
    void feed_ip(const uint8_t* l3, uint32_t len, uint16_t l2_len, uint64_t ts_ns, const records_fn& on_records,
                 const payload_fn& on_payload, bool from_l2, const uint8_t* frame, uint32_t frame_len);
    void deliver(const parse::parsed_frame& f, uint64_t ts_ns, const records_fn& on_records,
                 const payload_fn& on_payload);

    reader_options _opts;
    decode::exporter_table _exporters;
    frag_counters _frag_counters;
    reassembly::reassembler _reassembler;
    std::vector<uint8_t> _frag_out;  // the packet the reassembler completed
    reader_stats _stats;
    std::vector<decode::flow_record> _buffer;
};

}  // namespace sluice::offline
