// SPDX-License-Identifier: Apache-2.0
// Reassembler throughput from memory, one core: items/s = fragments/s, bytes/s of IP.
//
//   BM_reassembly_in_order/<n>    n-fragment IPv4 datagrams (1,480-byte fragments), in order
//   BM_reassembly_reversed/20     the same, last fragment first
//   BM_reassembly_flood           incomplete sets from ever new sources: create, evict (table full), count
//   BM_baseline_copy/<n>          the two memcpys the reassembler cannot avoid (fragment into the slab,
//                                 slab into the output), for the same bytes: the ceiling, measured in the
//                                 same run
//
// Each benchmark first checks one reassembled datagram against the original
// bytes and the counters against their exact values, and aborts instead of
// measuring a wrong reassembler.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "dataplane/parse/packet_parse.hpp"
#include "dataplane/reassembly/reassembly.hpp"

using namespace sluice;

namespace {

struct fragment {
    std::vector<uint8_t> bytes;
    parse::parsed_frame f;
};

// IPv4 fragments of one UDP datagram of `n` * 1480 bytes of IP payload.
std::vector<fragment> make_fragments(unsigned n, uint16_t id, uint32_t src = 0xc0000201) {
    std::vector<uint8_t> l4(std::size_t(n) * 1480);
    for (std::size_t i = 0; i < l4.size(); ++i) l4[i] = uint8_t(i * 7);
    const uint16_t ulen = uint16_t(std::min<std::size_t>(l4.size(), 65535));
    l4[4] = uint8_t(ulen >> 8); l4[5] = uint8_t(ulen); l4[6] = l4[7] = 0;
    std::vector<fragment> out;
    for (unsigned k = 0; k < n; ++k) {
        fragment fr;
        auto& b = fr.bytes;
        const uint16_t tl = 20 + 1480, fo = uint16_t((k + 1 < n ? 0x2000 : 0) | (k * 185));
        const uint8_t h[20] = {0x45, 0, uint8_t(tl >> 8), uint8_t(tl), uint8_t(id >> 8), uint8_t(id),
                               uint8_t(fo >> 8), uint8_t(fo), 64, 17, 0, 0, uint8_t(src >> 24), uint8_t(src >> 16),
                               uint8_t(src >> 8), uint8_t(src), 192, 0, 2, 254};
        b.resize(20 + 1480);
        std::memcpy(b.data(), h, 20);
        std::memcpy(b.data() + 20, l4.data() + std::size_t(k) * 1480, 1480);
        const uint16_t sum = uint16_t(~parse::checksum_fold(parse::checksum_partial(b.data(), 20)));
        b[10] = uint8_t(sum >> 8); b[11] = uint8_t(sum);
        if (parse::parse_ip(b.data(), uint32_t(b.size()), {}, fr.f) != parse::frame_class::ipv4_fragment) return {};
        out.push_back(std::move(fr));
    }
    return out;
}

struct bench {
    counters::block<reassembly::counter, reassembly::counter_count> c;
    reassembly::reassembler r{reassembly::config{}, 1000000000ull, c.v.data()};
    std::vector<uint8_t> out = std::vector<uint8_t>(reassembly::k_max_packet);
    unsigned feed_all(const std::vector<fragment>& fs, uint32_t& len) {
        unsigned complete = 0;
        for (const auto& fr : fs) {
            const auto res = r.feed(fr.bytes.data(), uint32_t(fr.bytes.size()), fr.f, 1, out.data(), uint32_t(out.size()));
            if (res.st == reassembly::status::complete) {
                ++complete;
                len = res.len;
            }
        }
        return complete;
    }
};

bool check(bench& b, const std::vector<fragment>& fs) {
    uint32_t len = 0;
    if (fs.empty() || b.feed_all(fs, len) != 1 || len != 20 + fs.size() * 1480) return false;
    for (const auto& fr : fs) {
        const uint32_t off = (((fr.bytes[6] & 0x1f) << 8) | fr.bytes[7]) * 8u;
        if (std::memcmp(b.out.data() + 20 + off, fr.bytes.data() + 20, 1480) != 0) return false;
    }
    return b.c.get(reassembly::counter::reassembled) == fs.size() && b.r.held_fragments() == 0;
}

void run(benchmark::State& state, std::vector<fragment> fs) {
    bench b;
    if (!check(b, fs)) {
        state.SkipWithError("reassembled datagram does not match the fragments");
        return;
    }
    uint32_t len = 0;
    for (auto _ : state) {
        b.feed_all(fs, len);
        benchmark::DoNotOptimize(b.out.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(fs.size()));
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(fs.size()) * 1500);
}

void BM_reassembly_in_order(benchmark::State& state) { run(state, make_fragments(unsigned(state.range(0)), 1)); }
BENCHMARK(BM_reassembly_in_order)->Arg(3)->Arg(20)->Arg(44);

void BM_reassembly_reversed(benchmark::State& state) {
    auto fs = make_fragments(unsigned(state.range(0)), 1);
    std::reverse(fs.begin(), fs.end());
    run(state, std::move(fs));
}
BENCHMARK(BM_reassembly_reversed)->Arg(20);

void BM_reassembly_flood(benchmark::State& state) {
    // 4096 first fragments from distinct sources, fed round and round: every
    // one past the 256th evicts the least recently touched set.
    std::vector<fragment> fs;
    for (uint32_t s = 0; s < 4096; ++s) fs.push_back(make_fragments(2, 1, 0x0a000000 + s)[0]);
    bench b;
    uint32_t len = 0;
    b.feed_all(fs, len);
    if (b.c.get(reassembly::counter::evicted_table_full) != 4096 - 256 || b.r.in_progress() != 256) {
        state.SkipWithError("flood counters do not match");
        return;
    }
    for (auto _ : state) {
        b.feed_all(fs, len);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(fs.size()));
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(fs.size()) * 1500);
}
BENCHMARK(BM_reassembly_flood);

void BM_baseline_copy(benchmark::State& state) {
    const auto fs = make_fragments(unsigned(state.range(0)), 1);
    std::vector<uint8_t> slab(fs.size() * 1536), out(reassembly::k_max_packet);
    for (auto _ : state) {
        for (std::size_t k = 0; k < fs.size(); ++k) std::memcpy(&slab[k * 1536], fs[k].bytes.data() + 20, 1480);
        for (std::size_t k = 0; k < fs.size(); ++k) std::memcpy(&out[20 + k * 1480], &slab[k * 1536], 1480);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(fs.size()));
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(fs.size()) * 1500);
}
BENCHMARK(BM_baseline_copy)->Arg(3)->Arg(20)->Arg(44);

}  // namespace

BENCHMARK_MAIN();
