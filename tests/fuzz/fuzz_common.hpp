// SPDX-License-Identifier: Apache-2.0
// Shared harness for the per-decoder fuzzers: a fresh exporter table per
// input (so every crash reproduces from its input alone) and small limits so
// the fuzzer reaches the "table full" paths.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "dataplane/decode/decoder.hpp"

namespace sluice::fuzz {

using decode_fn = decode::decode_status (*)(std::span<const uint8_t>, const decode::datagram_meta&,
                                            decode::exporter_state&, decode::record_buffer&) noexcept;

inline decode::decoder_limits small_limits() {
    decode::decoder_limits l;
    l.max_exporters = 8;
    l.max_domains_per_exporter = 4;
    l.max_templates_per_domain = 16;
    l.max_fields_per_template = 64;
    return l;
}

// Decodes the input twice through one exporter: the second pass sees the
// templates the first one learned, which is where data decoding happens.
inline void run_one(decode_fn fn, const uint8_t* data, std::size_t size) {
    static std::vector<decode::flow_record> buffer(4096);
    decode::exporter_table table(small_limits());
    decode::datagram_meta meta{};
    meta.exporter_addr[10] = meta.exporter_addr[11] = 0xff;
    meta.exporter_addr[15] = 1;
    meta.time_received_ns = 1700000000ull * 1000000000ull;
    decode::exporter_state* e = table.find_or_create(meta.exporter_addr, meta.time_received_ns);
    static std::vector<decode::header_span> spans(4096);
    for (int pass = 0; pass < 2; ++pass) {
        decode::record_buffer out{buffer.data(), static_cast<uint32_t>(buffer.size()), 0};
        if (pass == 1) out.headers = spans.data();  // the second pass also fills the sampled-header spans
        fn({data, size}, meta, *e, out);
        if (out.size > out.capacity) std::abort();
        // Every span lies inside the input.
        for (uint32_t i = 0; pass == 1 && i < out.size; ++i)
            if (spans[i].size != 0 && (spans[i].data < data || spans[i].data + spans[i].size > data + size)) std::abort();
    }
}

}  // namespace sluice::fuzz
