// SPDX-License-Identifier: Apache-2.0
// Reassembly parameters (one reassembler per sluiced worker, one in sluice-decode) and their defaults.
#pragma once

#include <cstdint>

namespace sluice::reassembly {

struct config {
    // Incomplete datagrams held at once (--frag-max-flows). Exporters rarely
    // fragment; 256 covers a few hundred exporters each with one jumbo
    // datagram in flight. When full, the least recently touched set is
    // evicted (frag_evicted_table_full).
    uint32_t max_flows = 256;
    // Incomplete datagrams one source address may hold (--frag-max-per-source).
    // A real exporter completes each datagram within microseconds, so it
    // rarely has more than one or two in flight; 16 leaves room for several
    // exporting processes on one host while a spoofed flood from one address
    // can take at most 16 of the max_flows slots. When a source is at its
    // bound, its least recently touched set is evicted (frag_evicted_source_limit).
    uint32_t max_per_source = 16;
    // Bytes of fragment storage (--frag-max-bytes): fragments are copied into
    // 256-byte chunks of a slab preallocated at start-up, so a partial
    // datagram holds what has arrived, not 64 KB. 8 MiB holds 128 maximal
    // (64 KB) datagrams in flight, or ~5,000 1,480-byte fragments. When the
    // slab is exhausted, the least recently touched sets are evicted
    // (frag_evicted_memory).
    uint32_t max_bytes = 8u << 20;
    // How long an incomplete datagram waits for its missing pieces, from its
    // first fragment (--frag-timeout-ms). 30 s is Linux's ipfrag_time.
    uint32_t timeout_ms = 30000;
};

// Bounds the CLIs enforce (exit 2 outside them).
constexpr uint32_t k_min_max_bytes = 256u << 10;   // two maximal datagrams and change
constexpr uint32_t k_max_max_bytes = 1u << 30;     // chunk indices stay 32-bit with room to spare
constexpr uint32_t k_max_max_flows = 1u << 20;

}  // namespace sluice::reassembly
