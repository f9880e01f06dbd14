// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the sampled frame parser (sflow::parse_sampled_header)
// as sFlow raw headers and IPFIX dataLinkFrameSection (315) /
// ipHeaderPacketSection (313) reach it. The first input byte picks the
// path; the rest is the frame.
//   0..3   parse_sampled_header with header_protocol 1, 11, 12, 13 (and the
//          parse must only write fields it documents)
//   4, 5   an IPFIX message: a template {315 or 313 variable length,
//          octetDeltaCount} and one data record carrying the frame
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dataplane/decode/sflow/sampled_header.hpp"
#include "fuzz_common.hpp"

namespace {

void ipfix_with_section(uint16_t ie, const uint8_t* frame, std::size_t size) {
    if (size > 65000) size = 65000;
    std::vector<uint8_t> m;
    auto u8 = [&](uint32_t v) { m.push_back(static_cast<uint8_t>(v)); };
    auto u16 = [&](uint32_t v) { u8(v >> 8); u8(v); };
    auto u32 = [&](uint32_t v) { u16(v >> 16); u16(v); };
    u16(10); u16(0); u32(1700000000); u32(0); u32(1);
    u16(2); u16(16); u16(256); u16(2); u16(ie); u16(65535); u16(1); u16(4);  // template set
    const std::size_t set = m.size();
    u16(256); u16(0);
    if (size < 255) {
        u8(static_cast<uint32_t>(size));
    } else {
        u8(255);
        u16(static_cast<uint32_t>(size));
    }
    m.insert(m.end(), frame, frame + size);
    u32(1500);
    const std::size_t set_len = m.size() - set;
    m[set + 2] = static_cast<uint8_t>(set_len >> 8);
    m[set + 3] = static_cast<uint8_t>(set_len);
    m[2] = static_cast<uint8_t>(m.size() >> 8);
    m[3] = static_cast<uint8_t>(m.size());
    sluice::fuzz::run_one(&sluice::decode::decode_ipfix, m.data(), m.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    using namespace sluice::decode;
    if (size == 0) return 0;
    const uint8_t sel = data[0] % 6;
    const uint8_t* frame = data + 1;
    const std::size_t n = size - 1;
    if (sel < 4) {
        static constexpr uint32_t protos[4] = {sflow::header_ethernet, sflow::header_ipv4, sflow::header_ipv6,
                                               sflow::header_mpls};
        flow_record r{};
        sflow::parse_sampled_header(protos[sel], {frame, n}, r);
        // Fields the parser never writes stay zero.
        if (r.bytes != 0 || r.packets != 0 || r.in_if != 0 || r.out_if != 0 || !is_zero_address(r.next_hop) ||
            !is_zero_address(r.sampler_address) || r.sampling_rate != 0)
            std::abort();
    } else {
        ipfix_with_section(sel == 4 ? 315 : 313, frame, n);
    }
    return 0;
}
