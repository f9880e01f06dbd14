// SPDX-License-Identifier: Apache-2.0
// The disk spool (pure code over files): append and read back in order, CRC32C, torn tails, full, restart, cursor.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "sinks/spool/spool.hpp"

using namespace sluice::sinks;
namespace fs = std::filesystem;

namespace {

struct tmpdir {
    fs::path p;
    tmpdir() {
        char t[] = "/tmp/sluice-spool-XXXXXX";
        p = ::mkdtemp(t);
    }
    ~tmpdir() { fs::remove_all(p); }
};

spool_config cfg(const tmpdir& d, uint64_t max = 1 << 20, uint64_t seg = 64 << 10) {
    spool_config c;
    c.dir = (d.p / "s").string();
    c.max_bytes = max;
    c.segment_bytes = seg;
    c.fsync_ms = 0;
    return c;
}

std::string payload(int i) { return "record-" + std::to_string(i) + std::string(std::size_t(i % 37), 'x'); }

// Reads every unread entry, settling each; returns the payloads.
std::vector<std::string> drain(spool& s, bool settle = true) {
    std::vector<std::string> out;
    spool::entry e;
    while (s.next(e)) {
        out.emplace_back(e.payload);
        if (settle) s.done(e.ticket);
    }
    return out;
}

std::vector<fs::path> segments(const tmpdir& d) {
    std::vector<fs::path> v;
    for (const auto& e : fs::directory_iterator(d.p / "s"))
        if (e.path().extension() == ".seg") v.push_back(e.path());
    std::sort(v.begin(), v.end());
    return v;
}

}  // namespace

TEST(Crc32c, KnownVectors) {
    // RFC 3720 B.4 test vectors (iSCSI CRC32C).
    const std::string s = "123456789";
    EXPECT_EQ(crc32c(0, s.data(), s.size()), 0xE3069283u);
    std::vector<uint8_t> zeros(32, 0), ones(32, 0xff);
    EXPECT_EQ(crc32c(0, zeros.data(), zeros.size()), 0x8A9136AAu);
    EXPECT_EQ(crc32c(0, ones.data(), ones.size()), 0x62A8AB43u);
    // Incremental equals one pass.
    EXPECT_EQ(crc32c(crc32c(0, s.data(), 4), s.data() + 4, 5), 0xE3069283u);
}

TEST(Spool, AppendReadBackInOrderAcrossSegments) {
    tmpdir d;
    spool_counter_block c{};
    spool s(cfg(d), &c);
    EXPECT_TRUE(s.empty());
    for (int i = 0; i < 5000; ++i) ASSERT_EQ(s.append("k" + std::to_string(i % 7), payload(i)), spool::status::ok);
    EXPECT_EQ(s.unread(), 5000u);
    ASSERT_TRUE(s.flush());
    EXPECT_GT(s.segments(), 2u);  // 64 KiB segments
    spool::entry e;
    for (int i = 0; i < 5000; ++i) {
        ASSERT_TRUE(s.next(e)) << i;
        ASSERT_EQ(e.key, "k" + std::to_string(i % 7));
        ASSERT_EQ(e.payload, payload(i));
        s.done(e.ticket);
    }
    EXPECT_FALSE(s.next(e));
    EXPECT_TRUE(s.empty());
    EXPECT_EQ(c.get(spool_counter::appended), 5000u);
    EXPECT_EQ(c.get(spool_counter::read), 5000u);
    EXPECT_EQ(c.get(spool_counter::committed), 5000u);
    // Everything settled: every segment deleted, the spool's bytes back to zero.
    EXPECT_EQ(s.segments(), 0u);
    EXPECT_EQ(s.bytes(), 0u);
    EXPECT_EQ(c.get(spool_counter::segments_deleted), c.get(spool_counter::segments_created));
}

TEST(Spool, ReadsWhatIsStillBufferedAndInterleavesWithAppends) {
    tmpdir d;
    spool_counter_block c{};
    spool s(cfg(d), &c);
    ASSERT_EQ(s.append("", "a"), spool::status::ok);  // not flushed yet
    spool::entry e;
    ASSERT_TRUE(s.next(e));
    EXPECT_EQ(e.payload, "a");
    EXPECT_TRUE(e.key.empty());
    s.done(e.ticket);
    ASSERT_EQ(s.append("", "b"), spool::status::ok);
    ASSERT_EQ(s.append("", "c"), spool::status::ok);
    EXPECT_EQ(drain(s), (std::vector<std::string>{"b", "c"}));
}

TEST(Spool, FullDropsAreCountedExactly) {
    tmpdir d;
    spool_counter_block c{};
    const uint64_t max = 8192;
    spool s(cfg(d, max), &c);
    const std::string p(100, 'p');  // 12 + 1 + 100 = 113 bytes an entry
    int ok = 0, full = 0;
    for (int i = 0; i < 200; ++i) (s.append("k", p) == spool::status::ok ? ok : full)++;
    // One segment header (8 bytes) plus as many whole entries as fit.
    EXPECT_EQ(ok, int((max - k_spool_segment_header) / 113));
    EXPECT_EQ(full, 200 - ok);
    EXPECT_EQ(c.get(spool_counter::dropped_full), uint64_t(full));
    EXPECT_LE(s.bytes(), max);
    // Room again once replayed.
    EXPECT_EQ(drain(s).size(), std::size_t(ok));
    EXPECT_EQ(s.append("k", p), spool::status::ok);
}

TEST(Spool, TooBigIsRefusedAndCounted) {
    tmpdir d;
    spool_counter_block c{};
    spool s(cfg(d, 8 << 20), &c);
    EXPECT_EQ(s.append("k", std::string(k_spool_max_entry, 'x')), spool::status::too_big);
    EXPECT_EQ(c.get(spool_counter::dropped_too_big), 1u);
    // The largest allowed entry goes straight to the file (bigger than the write buffer) and reads back.
    const std::string big(k_spool_max_entry - 1, 'y');
    ASSERT_EQ(s.append("k", big), spool::status::ok);
    const auto got = drain(s);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], big);
}

TEST(Spool, RestartReplaysFromTheCursor) {
    tmpdir d;
    {
        spool_counter_block c{};
        spool s(cfg(d), &c);
        for (int i = 0; i < 1000; ++i) s.append("k", payload(i));
        spool::entry e;
        for (int i = 0; i < 400; ++i) {  // 400 settled
            ASSERT_TRUE(s.next(e));
            s.done(e.ticket);
        }
        for (int i = 0; i < 10; ++i) ASSERT_TRUE(s.next(e));  // read, never settled: replayed again
    }  // clean close: flush, fsync, cursor
    spool_counter_block c{};
    spool s(cfg(d), &c);
    EXPECT_EQ(c.get(spool_counter::recovered), 600u);
    EXPECT_EQ(c.get(spool_counter::torn), 0u);
    const auto got = drain(s);
    ASSERT_EQ(got.size(), 600u);
    for (int i = 0; i < 600; ++i) ASSERT_EQ(got[std::size_t(i)], payload(400 + i));
}

TEST(Spool, UnsettledHoldsTheCursorBack) {
    tmpdir d;
    {
        spool_counter_block c{};
        spool s(cfg(d), &c);
        for (int i = 0; i < 10; ++i) s.append("k", payload(i));
        spool::entry e;
        std::vector<uint32_t> t;
        while (s.next(e)) t.push_back(e.ticket);
        for (std::size_t i = 0; i < t.size(); ++i)
            if (i != 3) s.done(t[i]);  // 3 never confirmed: 3..9 stay (at-least-once)
        EXPECT_EQ(s.in_flight(), 7u);
    }
    spool_counter_block c{};
    spool s(cfg(d), &c);
    EXPECT_EQ(c.get(spool_counter::recovered), 7u);
    const auto got = drain(s);
    ASSERT_EQ(got.size(), 7u);
    EXPECT_EQ(got[0], payload(3));
}

TEST(Spool, TornTailIsDetectedCountedAndCutOff) {
    tmpdir d;
    {
        spool_counter_block c{};
        spool s(cfg(d), &c);
        for (int i = 0; i < 100; ++i) s.append("k", payload(i));
    }
    const auto segs = segments(d);
    ASSERT_EQ(segs.size(), 1u);
    const auto size = fs::file_size(segs[0]);
    // kill -9 mid-entry: the last entry loses its last 5 bytes.
    fs::resize_file(segs[0], size - 5);
    const std::size_t last = k_spool_entry_header + 1 + payload(99).size();
    {
        spool_counter_block c{};
        spool s(cfg(d), &c);
        EXPECT_EQ(c.get(spool_counter::torn), 1u);
        EXPECT_EQ(c.get(spool_counter::skipped_bytes), last - 5);
        EXPECT_EQ(c.get(spool_counter::recovered), 99u);
        EXPECT_EQ(fs::file_size(segs[0]), size - last);  // cut back to the last whole entry
        // New appends go after it, in a new segment; everything reads back in order.
        s.append("k", "after");
        auto got = drain(s);
        ASSERT_EQ(got.size(), 100u);
        EXPECT_EQ(got[98], payload(98));
        EXPECT_EQ(got[99], "after");
    }
}

TEST(Spool, CorruptEntryFailsItsChecksum) {
    tmpdir d;
    {
        spool_counter_block c{};
        spool s(cfg(d), &c);
        for (int i = 0; i < 10; ++i) s.append("k", payload(i));
    }
    const auto seg = segments(d)[0];
    // Flip one payload byte of entry 5.
    std::size_t off = k_spool_segment_header;
    for (int i = 0; i < 5; ++i) off += k_spool_entry_header + 1 + payload(i).size();
    {
        std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(std::streamoff(off + k_spool_entry_header + 3));
        f.put('#');
    }
    spool_counter_block c{};
    spool s(cfg(d), &c);
    EXPECT_EQ(c.get(spool_counter::torn), 1u);
    EXPECT_EQ(c.get(spool_counter::recovered), 5u);
    const auto got = drain(s);
    ASSERT_EQ(got.size(), 5u);
    EXPECT_EQ(got[4], payload(4));
}

TEST(Spool, TornSegmentHeaderAndCursor) {
    tmpdir d;
    {
        spool_counter_block c{};
        spool s(cfg(d), &c);
        for (int i = 0; i < 10; ++i) s.append("k", payload(i));
        spool::entry e;
        ASSERT_TRUE(s.next(e));
        s.done(e.ticket);
    }
    // A segment created just before a crash (half its header), and a cursor with a bad CRC.
    { std::ofstream((d.p / "s" / "00000000000000ff.seg").string(), std::ios::binary) << "SLSP"; }
    {
        std::fstream f((d.p / "s" / "cursor").string(), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(17);
        f.put('\x55');
    }
    spool_counter_block c{};
    spool s(cfg(d), &c);
    EXPECT_EQ(c.get(spool_counter::torn), 1u);
    EXPECT_EQ(c.get(spool_counter::skipped_bytes), 4u);
    // Without a cursor the whole segment replays (duplicates, never loss).
    EXPECT_EQ(drain(s).size(), 10u);
    EXPECT_FALSE(fs::exists(d.p / "s" / "00000000000000ff.seg"));
}

TEST(Spool, WindowBoundsInFlight) {
    tmpdir d;
    spool_counter_block c{};
    spool s(cfg(d, 64 << 20, 64 << 20), &c);
    for (uint32_t i = 0; i < k_spool_window + 10; ++i) s.append("", "x");
    spool::entry e;
    uint32_t n = 0, first = 0;
    while (s.next(e)) {
        if (n == 0) first = e.ticket;
        ++n;
    }
    EXPECT_EQ(n, k_spool_window);
    s.done(first);
    EXPECT_TRUE(s.next(e));
    EXPECT_FALSE(s.next(e));
}

TEST(Spool, FsyncPolicy) {
    tmpdir d;
    spool_counter_block c{};
    spool_config k = cfg(d);
    k.fsync_ms = 0;  // every flush
    spool s(k, &c);
    for (int i = 0; i < 3; ++i) {
        s.append("", "x");
        s.flush();
    }
    EXPECT_EQ(c.get(spool_counter::fsyncs), 3u);
    s.flush();  // nothing new: no fsync
    EXPECT_EQ(c.get(spool_counter::fsyncs), 3u);
    spool_config k2 = cfg(d);
    k2.dir += "2";
    k2.fsync_ms = 60000;
    spool_counter_block c2{};
    spool s2(k2, &c2);
    s2.append("", "x");
    s2.flush();
    EXPECT_EQ(c2.get(spool_counter::fsyncs), 0u);  // within the interval
}

TEST(Spool, OneOwnerPerDirectory) {
    tmpdir d;
    spool_counter_block c{};
    spool s(cfg(d), &c);
    try {
        spool t(cfg(d), &c);
        FAIL() << "a second spool on the same directory opened";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("in use by another process"), std::string::npos) << e.what();
    }
}
