// SPDX-License-Identifier: Apache-2.0
// The reassembler shared by sluiced and sluice-decode, built from bytes: in and
// out of order, many fragments, IPv6 extension chains and atomic fragments,
// overlaps, duplicates, too big, malformed, expiry, and the bounds that keep a
// flood of incomplete sets from locking out a sender; exact counters each time.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "dataplane/reassembly/reassembly.hpp"
#include "tests/dataplane/parse/frame_builder.hpp"

using namespace sluice;
using reassembly::counter;
using reassembly::status;

namespace {

using frames = std::vector<std::vector<uint8_t>>;

std::vector<uint8_t> make_payload(std::size_t n, uint8_t seed = 0) {
    std::vector<uint8_t> p(n);
    std::iota(p.begin(), p.end(), seed);
    return p;
}

void set_src(std::vector<uint8_t>& pkt, uint32_t src) {
    pkt[12] = uint8_t(src >> 24); pkt[13] = uint8_t(src >> 16); pkt[14] = uint8_t(src >> 8); pkt[15] = uint8_t(src);
    pkt[10] = pkt[11] = 0;
    const uint16_t sum = uint16_t(~parse::checksum_fold(parse::checksum_partial(pkt.data(), 20)));
    pkt[10] = uint8_t(sum >> 8);
    pkt[11] = uint8_t(sum);
}

// IPv4 fragments (no L2) of a UDP datagram carrying `payload`, `chunk` bytes each.
frames ipv4_fragments(const std::vector<uint8_t>& payload, std::size_t chunk, uint16_t id, uint32_t src = 0xc0000201) {
    test::frame_builder whole;
    whole.udp(1000, 4739, payload);
    const std::vector<uint8_t> l4 = whole.b;
    frames out;
    for (std::size_t off = 0; off < l4.size(); off += chunk) {
        const std::size_t n = std::min(chunk, l4.size() - off);
        const bool more = off + n < l4.size();
        test::frame_builder f;
        f.ipv4(17, uint16_t(n), id, uint16_t((more ? 0x2000 : 0) | (off / 8)));
        f.b.insert(f.b.end(), l4.begin() + long(off), l4.begin() + long(off + n));
        if (src != 0xc0000201) set_src(f.b, src);
        out.push_back(f.b);
    }
    return out;
}

// One IPv4 fragment with arbitrary offset (bytes), MF and data.
std::vector<uint8_t> ipv4_fragment(uint16_t id, uint32_t off, bool more, const std::vector<uint8_t>& data) {
    test::frame_builder f;
    f.ipv4(17, uint16_t(data.size()), id, uint16_t((more ? 0x2000 : 0) | (off / 8)));
    f.bytes(data);
    return f.b;
}

// IPv6 fragments; `ext` hop-by-hop/destination-options headers (8 bytes each) before the fragment header.
frames ipv6_fragments(const std::vector<uint8_t>& payload, std::size_t chunk, uint32_t id, int ext = 0) {
    test::frame_builder whole;
    whole.udp(1000, 4739, payload);
    const auto l4 = whole.b;
    frames out;
    for (std::size_t off = 0; off < l4.size(); off += chunk) {
        const std::size_t n = std::min(chunk, l4.size() - off);
        const bool more = off + n < l4.size();
        test::frame_builder f;
        f.ipv6(ext > 0 ? 0 : 44, uint16_t(8 * ext + 8 + n));
        for (int e = 0; e < ext; ++e) {  // hop-by-hop first, then destination options
            f.u8(e + 1 < ext ? 60 : 44); f.u8(0); f.u16(0x0104); f.u32(0);  // PadN option
        }
        f.u8(17); f.u8(0); f.u16(uint16_t(off | (more ? 1 : 0))); f.u32(id);
        f.b.insert(f.b.end(), l4.begin() + long(off), l4.begin() + long(off + n));
        out.push_back(f.b);
    }
    return out;
}

struct harness {
    counters::block<counter, reassembly::counter_count> c;
    reassembly::reassembler r;
    parse::parse_options o;
    std::vector<uint8_t> out = std::vector<uint8_t>(reassembly::k_max_packet);
    std::vector<uint8_t> done;
    explicit harness(reassembly::config cfg = {}) : r(cfg, 1000, c.v.data()) {}  // ticks: ms

    status feed(const std::vector<uint8_t>& pkt, uint64_t now = 0) {
        parse::parsed_frame f;
        const auto cls = parse::parse_ip(pkt.data(), uint32_t(pkt.size()), o, f);
        EXPECT_TRUE(cls == parse::frame_class::ipv4_fragment || cls == parse::frame_class::ipv6_fragment);
        const auto res = r.feed(pkt.data(), uint32_t(pkt.size()), f, now, out.data(), uint32_t(out.size()));
        if (res.st == status::complete) done.assign(out.begin(), out.begin() + res.len);
        return res.st;
    }
    unsigned feed_all(const frames& fs, uint64_t now = 0) {
        unsigned complete = 0;
        for (const auto& f : fs) complete += feed(f, now) == status::complete;
        return complete;
    }
    parse::parsed_frame parse_done() {
        parse::parsed_frame f;
        EXPECT_EQ(parse::parse_ip(done.data(), uint32_t(done.size()), o, f), parse::frame_class::udp);
        return f;
    }
    uint64_t get(counter k) const { return c.get(k); }
    // frag_received = every terminal counter + what is still held.
    void check_invariant() const {
        uint64_t terminal = 0;
        for (std::size_t i = 0; i < reassembly::counter_count; ++i) {
            const auto k = counter(i);
            if (k != counter::received && k != counter::datagrams) terminal += c.v[i];
        }
        EXPECT_EQ(get(counter::received), terminal + r.held_fragments());
    }
};

void expect_payload(harness& h, const std::vector<uint8_t>& payload) {
    const auto f = h.parse_done();  // also verifies the rebuilt IPv4 checksum
    ASSERT_EQ(f.payload_len, payload.size());
    EXPECT_TRUE(std::equal(payload.begin(), payload.end(), f.payload));
}

}  // namespace

TEST(reassembly, ipv4_in_order_and_reversed) {
    const auto payload = make_payload(3000);
    for (bool reverse : {false, true}) {
        harness h;
        auto frags = ipv4_fragments(payload, 1480, 42);
        ASSERT_EQ(frags.size(), 3u);
        if (reverse) std::reverse(frags.begin(), frags.end());
        EXPECT_EQ(h.feed(frags[0]), status::held);
        EXPECT_EQ(h.feed(frags[1]), status::held);
        ASSERT_EQ(h.feed(frags[2]), status::complete);
        expect_payload(h, payload);
        EXPECT_EQ(h.get(counter::received), 3u);
        EXPECT_EQ(h.get(counter::reassembled), 3u);
        EXPECT_EQ(h.get(counter::datagrams), 1u);
        EXPECT_EQ(h.r.held_fragments(), 0u);
        EXPECT_EQ(h.r.held_bytes(), 0u);
        EXPECT_EQ(h.r.in_progress(), 0u);
        h.check_invariant();
    }
}

TEST(reassembly, twenty_fragments_any_order) {
    // A ~28 KB datagram in 20 fragments: past rte_ip_frag's 8.
    const auto payload = make_payload(28000);
    auto frags = ipv4_fragments(payload, 1408, 9);
    ASSERT_EQ(frags.size(), 20u);
    std::mt19937 rng(5);
    std::shuffle(frags.begin(), frags.end(), rng);
    harness h;
    for (std::size_t i = 0; i + 1 < frags.size(); ++i) EXPECT_EQ(h.feed(frags[i]), status::held);
    ASSERT_EQ(h.feed(frags.back()), status::complete);
    expect_payload(h, payload);
    EXPECT_EQ(h.get(counter::reassembled), 20u);
    EXPECT_EQ(h.get(counter::datagrams), 1u);
    h.check_invariant();
}

TEST(reassembly, largest_datagram_and_too_big) {
    // 65,535 bytes exactly: 65,507 bytes of UDP payload in 8-byte... 1480-byte pieces.
    const auto max_payload = make_payload(65535 - 20 - 8);
    harness h;
    EXPECT_EQ(h.feed_all(ipv4_fragments(max_payload, 1480, 1)), 1u);
    expect_payload(h, max_payload);
    EXPECT_EQ(h.done.size(), 65535u);
    // One byte more: the last fragment reaches past 65,535; the whole datagram is dropped.
    auto big = ipv4_fragments(make_payload(65535 - 20 - 8 + 1), 1480, 2);
    EXPECT_EQ(h.feed_all(big), 0u);
    EXPECT_EQ(h.get(counter::too_big), big.size());
    EXPECT_EQ(h.get(counter::reassembled), 45u);
    EXPECT_EQ(h.r.held_fragments(), 0u);
    h.check_invariant();
}

TEST(reassembly, too_big_with_ip_options) {
    // Fits with a 20-byte header, not with the first fragment's 24-byte one: found at completion.
    std::vector<uint8_t> first;
    {
        test::frame_builder f;
        f.u8(0x46); f.u8(0); f.u16(24 + 1480); f.u16(3); f.u16(0x2000); f.u8(64); f.u8(17); f.u16(0);
        f.u32(0xc0000201); f.u32(0xc0000202); f.u32(0x01010100);  // NOPs + end of options
        f.bytes(make_payload(1480));
        const uint16_t sum = uint16_t(~parse::checksum_fold(parse::checksum_partial(f.b.data(), 24)));
        f.b[10] = uint8_t(sum >> 8); f.b[11] = uint8_t(sum);
        first = f.b;
    }
    harness h;
    EXPECT_EQ(h.feed(first), status::held);
    // Then fragments up to exactly 65,515 bytes of fragmentable part: 65,539 with this header.
    uint32_t off = 1480;
    unsigned fed = 1;
    while (off + 1480 < 65515) {
        EXPECT_EQ(h.feed(ipv4_fragment(3, off, true, make_payload(1480))), status::held);
        off += 1480;
        ++fed;
    }
    EXPECT_EQ(h.feed(ipv4_fragment(3, off, false, make_payload(65515 - off))), status::dropped);
    ++fed;
    EXPECT_EQ(h.get(counter::too_big), fed);
    h.check_invariant();
}

TEST(reassembly, ipv6_too_big) {
    // Fragment offset + length past 65,535 (RFC 8200): the datagram is dropped.
    harness h;
    auto frags = ipv6_fragments(make_payload(3000), 1232, 5);
    EXPECT_EQ(h.feed(frags[0]), status::held);
    test::frame_builder f;
    f.ipv6(44, uint16_t(8 + 1232));
    f.u8(17); f.u8(0); f.u16(uint16_t(65016 | 1)); f.u32(5);  // offset 65016, ends at 66248
    f.bytes(make_payload(1232));
    EXPECT_EQ(h.feed(f.b), status::dropped);
    EXPECT_EQ(h.get(counter::too_big), 2u);
    EXPECT_EQ(h.feed(frags[1]), status::dropped);  // the rest of it, later
    EXPECT_EQ(h.get(counter::too_big), 3u);
    h.check_invariant();
}

TEST(reassembly, ipv6_fragment_header_after_extension_headers) {
    for (int ext : {0, 1, 2}) {
        const auto payload = make_payload(3000);
        harness h;
        auto frags = ipv6_fragments(payload, 1232, 0xabcdef, ext);
        std::swap(frags[0], frags[1]);
        EXPECT_EQ(h.feed_all(frags), 1u) << ext;
        const auto f = h.parse_done();
        EXPECT_EQ(f.ip_version, 6);
        ASSERT_EQ(f.payload_len, payload.size());
        EXPECT_TRUE(std::equal(payload.begin(), payload.end(), f.payload));
        EXPECT_EQ(h.done.size(), 40u + 8u * unsigned(ext) + 8u + payload.size());
        EXPECT_EQ(h.get(counter::reassembled), frags.size());
        h.check_invariant();
    }
}

TEST(reassembly, ipv6_atomic_fragment_passes_through) {
    const auto payload = make_payload(100);
    harness h;
    const auto frags = ipv6_fragments(payload, 2000, 77, 1);
    ASSERT_EQ(frags.size(), 1u);
    ASSERT_EQ(h.feed(frags[0]), status::complete);
    const auto f = h.parse_done();
    ASSERT_EQ(f.payload_len, payload.size());
    EXPECT_EQ(h.get(counter::atomic), 1u);
    EXPECT_EQ(h.get(counter::datagrams), 0u);
    EXPECT_EQ(h.r.in_progress(), 0u);
    h.check_invariant();
}

TEST(reassembly, overlap_drops_the_datagram_and_its_later_fragments) {
    const auto payload = make_payload(28000);
    auto frags = ipv4_fragments(payload, 1408, 11);
    harness h;
    for (int i = 0; i < 10; ++i) EXPECT_EQ(h.feed(frags[std::size_t(i)]), status::held);
    // A forged fragment rewriting bytes 1408..2816 (already held) with different bytes.
    auto forged = ipv4_fragment(11, 1408, true, make_payload(1408, 99));
    EXPECT_EQ(h.feed(forged), status::dropped);
    EXPECT_EQ(h.get(counter::overlap), 11u);
    EXPECT_EQ(h.r.held_fragments(), 0u);
    // The rest of the datagram arrives: dropped too (RFC 5722), never completed.
    for (std::size_t i = 10; i < frags.size(); ++i) EXPECT_EQ(h.feed(frags[i]), status::dropped);
    EXPECT_EQ(h.get(counter::overlap), 21u);
    EXPECT_EQ(h.get(counter::datagrams), 0u);
    // A partial overlap (a fragment straddling two held ones) too, IPv4 or IPv6.
    auto other = ipv4_fragments(payload, 1408, 12);
    EXPECT_EQ(h.feed(other[0]), status::held);
    EXPECT_EQ(h.feed(other[1]), status::held);
    EXPECT_EQ(h.feed(ipv4_fragment(12, 704, true, make_payload(1408))), status::dropped);
    EXPECT_EQ(h.get(counter::overlap), 24u);
    // The tombstones expire silently: nothing more is counted.
    h.r.expire(31000);
    EXPECT_EQ(h.r.in_progress(), 0u);
    EXPECT_EQ(h.get(counter::expired), 0u);
    h.check_invariant();
}

TEST(reassembly, exact_duplicates_are_tolerated_different_bytes_are_an_overlap) {
    const auto payload = make_payload(28000);
    auto frags = ipv4_fragments(payload, 1408, 13);
    harness h;
    EXPECT_EQ(h.feed(frags[0]), status::held);
    EXPECT_EQ(h.feed(frags[0]), status::held);  // the first fragment twice
    auto dup = frags[5];
    dup[8] = 3;  // a lower TTL (another path): the header may differ
    dup[10] = dup[11] = 0;
    const uint16_t sum = uint16_t(~parse::checksum_fold(parse::checksum_partial(dup.data(), 20)));
    dup[10] = uint8_t(sum >> 8); dup[11] = uint8_t(sum);
    unsigned complete = 0;
    for (std::size_t i = 1; i < frags.size(); ++i) {
        complete += h.feed(frags[i]) == status::complete;
        if (i == 5) {
            EXPECT_EQ(h.feed(dup), status::held);
        }
    }
    EXPECT_EQ(complete, 1u);
    expect_payload(h, payload);
    EXPECT_EQ(h.get(counter::duplicate), 2u);
    EXPECT_EQ(h.get(counter::reassembled), 20u);
    // Same offset and length, one byte different: an overlap.
    auto again = ipv4_fragments(payload, 1408, 14);
    EXPECT_EQ(h.feed(again[3]), status::held);
    auto changed = again[3];
    changed.back() ^= 1;
    EXPECT_EQ(h.feed(changed), status::dropped);
    EXPECT_EQ(h.get(counter::overlap), 2u);
    h.check_invariant();
}

TEST(reassembly, malformed_fragments) {
    harness h;
    // Non-final, not a multiple of 8: this fragment only.
    EXPECT_EQ(h.feed(ipv4_fragment(20, 0, true, make_payload(13))), status::dropped);
    EXPECT_EQ(h.get(counter::malformed), 1u);
    EXPECT_EQ(h.r.in_progress(), 0u);
    // Two different ends: the datagram.
    EXPECT_EQ(h.feed(ipv4_fragment(21, 0, true, make_payload(16))), status::held);
    EXPECT_EQ(h.feed(ipv4_fragment(21, 32, false, make_payload(10))), status::held);
    EXPECT_EQ(h.feed(ipv4_fragment(21, 48, false, make_payload(10))), status::dropped);
    EXPECT_EQ(h.get(counter::malformed), 4u);
    // Bytes past the end.
    EXPECT_EQ(h.feed(ipv4_fragment(22, 16, false, make_payload(10))), status::held);
    EXPECT_EQ(h.feed(ipv4_fragment(22, 32, true, make_payload(16))), status::dropped);
    EXPECT_EQ(h.get(counter::malformed), 6u);
    h.check_invariant();
}

TEST(reassembly, expiry_from_the_first_fragment) {
    reassembly::config cfg;
    cfg.timeout_ms = 30000;
    harness h(cfg);
    auto frags = ipv4_fragments(make_payload(3000), 1480, 7);
    EXPECT_EQ(h.feed(frags[0], 0), status::held);
    EXPECT_EQ(h.feed(frags[2], 29000), status::held);
    h.r.expire(30000);  // not past the timeout yet
    EXPECT_EQ(h.get(counter::expired), 0u);
    h.r.expire(30001);
    EXPECT_EQ(h.get(counter::expired), 2u);
    EXPECT_EQ(h.feed(frags[1], 30002), status::held);  // alone now
    h.r.expire_all();
    EXPECT_EQ(h.get(counter::expired_at_stop), 1u);
    EXPECT_EQ(h.get(counter::datagrams), 0u);
    EXPECT_EQ(h.r.held_fragments(), 0u);
    EXPECT_EQ(h.r.held_bytes(), 0u);
    h.check_invariant();
}

TEST(reassembly, per_source_bound_evicts_that_sources_oldest) {
    reassembly::config cfg;
    cfg.max_per_source = 4;
    harness h(cfg);
    const auto payload = make_payload(3000);
    // Six incomplete sets from one source: the two least recently touched go.
    for (uint16_t id = 100; id < 106; ++id) EXPECT_EQ(h.feed(ipv4_fragments(payload, 1480, id)[0]), status::held);
    EXPECT_EQ(h.get(counter::evicted_source_limit), 2u);
    EXPECT_EQ(h.r.in_progress(), 4u);
    // Another source is not touched by that bound.
    EXPECT_EQ(h.feed(ipv4_fragments(payload, 1480, 100, 0x0a000001)[0]), status::held);
    EXPECT_EQ(h.r.in_progress(), 5u);
    h.r.expire_all();
    EXPECT_EQ(h.get(counter::expired_at_stop), 5u);
    h.check_invariant();
}

TEST(reassembly, table_full_and_memory_evict_the_least_recently_touched) {
    reassembly::config cfg;
    cfg.max_flows = 8;
    cfg.max_bytes = reassembly::k_min_max_bytes;  // 1024 chunks
    harness h(cfg);
    const auto payload = make_payload(3000);
    for (uint32_t s = 0; s < 10; ++s)
        EXPECT_EQ(h.feed(ipv4_fragments(payload, 1480, 1, 0x0a000000 + s)[0]), status::held);
    EXPECT_EQ(h.get(counter::evicted_table_full), 2u);
    EXPECT_EQ(h.r.in_progress(), 8u);
    h.r.expire_all();
    // Memory: 60 KB sets from distinct sources (241 chunks each) in a 256 KB slab.
    harness m(cfg);
    const auto big = make_payload(61000);
    for (uint32_t s = 0; s < 6; ++s) {
        auto fr = ipv4_fragments(big, 1480, 1, 0x0b000000 + s);
        fr.pop_back();  // never completes
        for (const auto& f : fr) m.feed(f);
    }
    EXPECT_GT(m.get(counter::evicted_memory), 0u);
    EXPECT_LE(m.r.held_bytes(), uint64_t(reassembly::k_min_max_bytes));
    m.r.expire_all();
    m.check_invariant();
    h.check_invariant();
}

TEST(reassembly, one_datagram_larger_than_the_slab_is_dropped_alone) {
    reassembly::config cfg;
    cfg.max_bytes = reassembly::k_min_max_bytes;
    harness h(cfg);
    // 8-byte fragments take a 256-byte chunk each: 2,000 of them exceed 1,024 chunks.
    unsigned fed = 0;
    for (uint32_t off = 0; off < 2000 * 8; off += 8, ++fed)
        if (h.feed(ipv4_fragment(30, off, true, make_payload(8))) == status::dropped) break;
    EXPECT_EQ(h.get(counter::evicted_memory), uint64_t(fed) + 1);
    EXPECT_EQ(h.r.held_fragments(), 0u);
    h.check_invariant();
}

TEST(reassembly, canary_survives_a_flood_of_incomplete_sets) {
    // A sender completing 20-fragment datagrams, each fragment followed by 40
    // incomplete sets from spoofed sources and 8 from the canary's own address.
    harness h;  // defaults: 256 sets, 16 per source, 8 MiB
    const auto payload = make_payload(28000);
    uint32_t spoof = 0x0a000000;
    uint16_t own_id = 5000;
    unsigned complete = 0;
    for (uint16_t d = 0; d < 10; ++d) {
        for (const auto& f : ipv4_fragments(payload, 1408, d)) {
            complete += h.feed(f) == status::complete;
            for (int k = 0; k < 40; ++k) h.feed(ipv4_fragments(payload, 1408, 1, ++spoof)[0]);
            for (int k = 0; k < 8; ++k) h.feed(ipv4_fragments(payload, 1408, own_id++)[0]);
        }
    }
    EXPECT_EQ(complete, 10u);
    EXPECT_EQ(h.get(counter::datagrams), 10u);
    EXPECT_EQ(h.get(counter::reassembled), 200u);
    EXPECT_EQ(h.get(counter::evicted_source_limit) + h.get(counter::evicted_table_full) + h.r.held_fragments(),
              200u * 48u);
    EXPECT_LE(h.r.in_progress(), 256u);
    h.check_invariant();
}

TEST(reassembly, memory_is_preallocated_and_bounded) {
    // The documented peak per reassembler with the defaults (docs/architecture.md, "Limits").
    EXPECT_LE(reassembly::reassembler::memory_bytes({}), std::size_t(10) << 20);
    EXPECT_GE(reassembly::reassembler::memory_bytes({}), std::size_t(8) << 20);
}

TEST(reassembly, bad_config_is_refused) {
    counters::block<counter, reassembly::counter_count> c;
    reassembly::config cfg;
    cfg.max_bytes = 1000;
    EXPECT_THROW(reassembly::reassembler(cfg, 1000, c.v.data()), std::invalid_argument);
    cfg = {};
    cfg.max_per_source = 0;
    EXPECT_THROW(reassembly::reassembler(cfg, 1000, c.v.data()), std::invalid_argument);
}
