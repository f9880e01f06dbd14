// SPDX-License-Identifier: Apache-2.0
// The flow id: a deterministic 64-bit name of one exported record, the same on every collector that decodes the same
// export, so the two collectors of a redundant pair give a record the same id (docs/schema.md, "Flow id").
//
// Definition (exact; a second implementation must produce the same value):
//
//   inputs, all from the record (dataplane/decode/flow_record.hpp):
//     A = sampler_address (16 bytes: the exporter, IPv4-mapped for IPv4; the sFlow agent address)
//     V = export_version (5, 9, 10; sFlow v5 = 5 too, told apart from NetFlow v5 by T)
//     T = type (flow_type: 1 sFlow, 2 NetFlow v5, 3 NetFlow v9, 4 IPFIX)
//     D = observation_domain_id (v9 source id, IPFIX domain, sFlow sub-agent, v5 engine_type << 8 | engine_id)
//     S = sequence_num (the export sequence of the datagram carrying the record)
//     I = record_index (0-based position of the record among those the datagram yielded; saturates at 0xffff)
//     E = time_flow_end_ns, or 0 when the record carries the times_from_export flag (its times are then the
//         collector's clock, which differs between collectors)
//   words (u64, little-endian loads of the address halves):
//     w0 = le64(A[0..7]),  w1 = le64(A[8..15])
//     w2 = D | S << 32
//     w3 = I | V << 16 | T << 24
//     w4 = E
//   mix(x) = splitmix64's finalizer:
//     x ^= x >> 30; x *= 0xBF58476D1CE4E5B9; x ^= x >> 27; x *= 0x94D049BB133111EB; x ^= x >> 31   (mod 2^64)
//   h = 0x736C756963652D31 ("sluice-1" read big-endian)
//   for w in w0..w4: h = mix(h ^ w)
//   flow_id = h
//
// Why these inputs: (A, T, D) name one sequence stream, S one datagram of it, I one record of the datagram. E keeps
// ids apart when S wraps (IPFIX counts data records, 2^32 of them in hours on a busy domain): the flow end time is
// computed from the export alone, so both collectors of a pair compute the same one. Nothing the collector adds
// (time_received_ns, enrichment, a downsampled output's scaled sampling_rate) is an input.
//
// Pure and header-only: no allocation, no state; the sinks call it per record (~10 multiplies).
#pragma once

#include <cstdint>
#include <cstring>

#include "dataplane/decode/flow_record.hpp"

namespace sluice::sinks::encode {

constexpr uint64_t k_flow_id_seed = 0x736C756963652D31ull;  // "sluice-1": versions the definition

constexpr uint64_t flow_id_mix(uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 31;
    return x;
}

inline uint64_t load_le64(const uint8_t* p) noexcept {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = v << 8 | p[i];  // compiles to one load on little-endian targets
    return v;
}

inline uint64_t flow_id(const decode::flow_record& r) noexcept {
    const uint64_t w0 = load_le64(r.sampler_address);
    const uint64_t w1 = load_le64(r.sampler_address + 8);
    const uint64_t w2 = uint64_t(r.observation_domain_id) | uint64_t(r.sequence_num) << 32;
    const uint64_t w3 =
        uint64_t(r.record_index) | uint64_t(r.export_version) << 16 | uint64_t(static_cast<uint8_t>(r.type)) << 24;
    const uint64_t w4 = (r.flags & decode::record_flags::times_from_export) ? 0 : r.time_flow_end_ns;
    uint64_t h = k_flow_id_seed;
    h = flow_id_mix(h ^ w0);
    h = flow_id_mix(h ^ w1);
    h = flow_id_mix(h ^ w2);
    h = flow_id_mix(h ^ w3);
    h = flow_id_mix(h ^ w4);
    return h;
}

}  // namespace sluice::sinks::encode
