// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the frame parser (dataplane/parse/) on arbitrary bytes, as
// an Ethernet frame and as a bare IP packet, with and without checksum
// verification. Checks that whatever it reports stays inside the input: the
// header lengths, the UDP payload, the IP total length, and the fragment
// header offset the reassembler relies on.
#include <cstdint>
#include <cstdlib>

#include "dataplane/parse/packet_parse.hpp"

namespace {

using namespace sluice;

void check(const uint8_t* data, std::size_t size, bool l2, parse::frame_class c, const parse::parsed_frame& f) {
    if (c >= parse::frame_class::count_) std::abort();
    if (parse::frame_class_name(c) == "unknown") std::abort();
    const std::size_t l3_at = l2 ? f.l2_len : 0;
    if (l3_at > size) std::abort();
    const std::size_t l3_size = size - l3_at;
    switch (c) {
        case parse::frame_class::udp:
            if (f.ip_total_len > l3_size || f.l3_len + 8u > f.ip_total_len) std::abort();
            if (f.payload < data + l3_at + f.l3_len + 8 || f.payload + f.payload_len > data + l3_at + f.ip_total_len)
                std::abort();
            break;
        case parse::frame_class::ipv4_fragment:
            if (f.ip_version != 4 || f.l3_len < 20 || f.l3_len > f.ip_total_len || f.ip_total_len > l3_size) std::abort();
            break;
        case parse::frame_class::ipv6_fragment:
            // The fragment header (8 bytes) at l3_len lies inside the packet.
            if (f.ip_version != 6 || f.l3_len < 40 || f.l3_len + 8u > f.ip_total_len || f.ip_total_len > l3_size)
                std::abort();
            break;
        default:
            break;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size > 65535 + 64) return 0;
    const uint32_t n = uint32_t(size);
    for (bool verify : {false, true}) {
        const parse::parse_options po{.verify_ipv4_header_checksum = verify, .verify_udp_checksum = verify};
        parse::parsed_frame f;
        check(data, size, true, parse::parse_ethernet(data, n, po, f), f);
        parse::parsed_frame g;
        check(data, size, false, parse::parse_ip(data, n, po, g), g);
    }
    return 0;
}
