// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: restore a mutated template state file (as is, and with
// its length and CRC patched so the structure parser is reached), decode a
// data set through every restored template, and check that a restored
// state saves and restores again to the same bytes. Also the lazy path
// sluiced uses (parse once, apply on an exporter's first datagram).
#include <cstring>
#include <string>
#include <vector>

#include "dataplane/decode/template/template_state_file.hpp"
#include "dataplane/decode/template/template_store.hpp"
#include "fuzz_common.hpp"

namespace {

using namespace sluice::decode;

uint32_t crc32(const uint8_t* p, std::size_t n) {
    uint32_t c = 0xffffffffu;
    for (std::size_t i = 0; i < n; ++i) {
        c ^= p[i];
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffu;
}

// One IPFIX (or v9) data set per restored template, 64 zero-ish bytes each.
void decode_through(exporter_table& t) {
    static std::vector<flow_record> buffer(4096);
    std::vector<std::pair<std::array<uint8_t, 16>, std::vector<std::tuple<uint8_t, uint16_t, uint32_t, uint16_t>>>> work;
    t.for_each([&](const exporter_state& e) {
        if (!e.netflow) return;
        std::array<uint8_t, 16> a;
        std::memcpy(a.data(), e.addr, 16);
        auto& w = work.emplace_back(a, std::vector<std::tuple<uint8_t, uint16_t, uint32_t, uint16_t>>{}).second;
        for (const auto& d : e.netflow->domains)
            for (const auto& tp : d->templates) w.emplace_back(d->version, d->port, d->id, tp.id);
    });
    for (const auto& [addr, sets] : work)
        for (const auto& [version, port, domain, id] : sets) {
            std::vector<uint8_t> m;
            auto u16 = [&](uint32_t v) { m.push_back(uint8_t(v >> 8)), m.push_back(uint8_t(v)); };
            auto u32 = [&](uint32_t v) { u16(v >> 16), u16(v & 0xffff); };
            if (version == 10) {
                u16(10), u16(16 + 4 + 64), u32(1700000000), u32(0), u32(domain);
            } else {
                u16(9), u16(1), u32(1000), u32(1700000000), u32(0), u32(domain);
            }
            u16(id), u16(4 + 64);
            for (int i = 0; i < 64; ++i) m.push_back(uint8_t(i * 37));
            datagram_meta meta{};
            std::memcpy(meta.exporter_addr, addr.data(), 16);
            meta.exporter_port = port;
            meta.time_received_ns = 1700000000ull * 1000000000ull;
            record_buffer out{buffer.data(), uint32_t(buffer.size()), 0};
            decode_datagram(m, meta, protocol::auto_detect, t, out);
            if (out.size > out.capacity) std::abort();
        }
}

void one(const uint8_t* data, std::size_t size) {
    const decoder_limits lim = sluice::fuzz::small_limits();
    std::string err;
    {
        exporter_table t(lim);
        if (restore_template_state(t, {data, size}, &err)) {
            decode_through(t);
            const std::vector<uint8_t> a = serialize_template_state(t);
            exporter_table t2(lim);
            if (!restore_template_state(t2, a, &err)) std::abort();  // what we save, we load
            exporter_table t3(lim);
            if (!restore_template_state(t3, serialize_template_state(t2), &err)) std::abort();
        }
    }
    if (auto saved = parse_saved_template_state({data, size}, lim, &err)) {
        exporter_table t(lim);
        t.set_saved_state(saved);
        exporter_table eager(lim);
        if (restore_template_state(eager, {data, size}, &err)) decode_through(eager);
        // The lazy table gets the same first datagrams through the probation path.
        std::vector<std::array<uint8_t, 16>> addrs;
        eager.for_each([&](const exporter_state& e) {
            std::array<uint8_t, 16> a;
            std::memcpy(a.data(), e.addr, 16);
            addrs.push_back(a);
        });
        static std::vector<flow_record> buffer(4096);
        for (const auto& a : addrs) {
            const uint8_t v5[24 + 48] = {0, 5, 0, 1};
            datagram_meta meta{};
            std::memcpy(meta.exporter_addr, a.data(), 16);
            record_buffer out{buffer.data(), uint32_t(buffer.size()), 0};
            decode_datagram({v5, sizeof v5}, meta, protocol::auto_detect, t, out);
        }
        const exporter_table* tables[] = {&t};
        (void)serialize_template_state(tables, 4096, nullptr);  // the fair-share path
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    one(data, size);
    if (size >= 24) {
        // Patch body length and CRC so mutations reach the structure checks.
        std::vector<uint8_t> b(data, data + size);
        const uint64_t body = size - 24;
        for (int i = 0; i < 8; ++i) b[16 + i] = uint8_t(body >> (8 * i));
        const uint32_t c = crc32(b.data() + 24, body);
        for (int i = 0; i < 4; ++i) b[12 + i] = uint8_t(c >> (8 * i));
        one(b.data(), b.size());
    }
    return 0;
}
