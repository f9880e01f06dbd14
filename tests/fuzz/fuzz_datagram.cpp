// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: a sequence of datagrams from up to 4 exporters through
// decode_datagram (auto-detected protocol). Input framing, repeated:
//   u8 exporter index (mod 4) | u16 big-endian length | that many bytes
// It exercises state that spans datagrams (templates, sequence numbers) and
// checks that exporters stay isolated: exporter 3 only ever sends a fixed v5
// datagram, whose decode must not change whatever the others send.
#include <cstring>

#include "fuzz_common.hpp"

namespace {

// A valid NetFlow v5 datagram with one record.
constexpr uint8_t canary_v5[24 + 48] = {
    0, 5, 0, 1, 0, 0, 0x10, 0, 0x65, 0x5f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0,
    10, 0, 0, 1, 10, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 3, 0, 0, 1, 0,
    0, 0, 0x0f, 0, 0, 0, 0x0f, 0x80, 0x30, 0x39, 0, 80, 0, 0x12, 6, 0, 0, 1, 0, 2, 24, 24, 0, 0};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    using namespace sluice;
    static std::vector<decode::flow_record> buffer(4096);
    decode::exporter_table table(fuzz::small_limits());
    decode::datagram_meta meta{};
    meta.exporter_addr[10] = meta.exporter_addr[11] = 0xff;
    meta.exporter_addr[12] = 192;
    meta.time_received_ns = 1700000000ull * 1000000000ull;

    auto decode_canary = [&](decode::flow_record& rec) {
        decode::datagram_meta m = meta;
        m.exporter_addr[15] = 3;
        decode::record_buffer out{buffer.data(), 1, 0};
        decode::decode_datagram({canary_v5, sizeof canary_v5}, m, decode::protocol::auto_detect, table, out);
        if (out.size != 1) std::abort();
        rec = buffer[0];
    };
    decode::flow_record before;
    decode_canary(before);

    std::size_t off = 0;
    while (off + 3 <= size) {
        const uint8_t who = data[off] & 3;
        const std::size_t len = std::min<std::size_t>((std::size_t(data[off + 1]) << 8) | data[off + 2], size - off - 3);
        meta.exporter_addr[15] = who == 3 ? 4 : who;  // keep the canary exporter clean
        decode::record_buffer out{buffer.data(), static_cast<uint32_t>(buffer.size()), 0};
        decode::decode_datagram({data + off + 3, len}, meta, decode::protocol::auto_detect, table, out);
        meta.time_received_ns += 1000000;
        off += 3 + len;
    }
    decode::flow_record after;
    decode_canary(after);
    // Same bytes from the untouched exporter decode the same (but for the
    // received time, which is the same meta time here by construction).
    after.time_received_ns = before.time_received_ns;
    if (std::memcmp(&before, &after, sizeof before) != 0) std::abort();
    return 0;
}
