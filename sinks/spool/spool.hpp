// SPDX-License-Identifier: Apache-2.0
// A bounded on-disk FIFO of (key, payload) entries: segment files with a CRC32C per entry and a persisted cursor.
//
// What it is for: an output whose destination cannot take records now (Kafka
// brokers down, librdkafka's queue full, a failed delivery) appends them
// here; they are read back in order and replayed when the destination
// returns, also after a restart (a clean one, a crash or kill -9).
//
// Files in `dir` (one spool per output per sink core):
//
//   0000000000000001.seg   "SLSPOOL1" then entries:  crc32c u32 | payload_len u32 | key_len u16 | 0 u16 | key | payload
//   0000000000000002.seg   (little-endian; the CRC covers everything after it: lengths, key, payload)
//   cursor                 segment u64 | offset u64 | crc32c u32: everything before it was replayed and confirmed
//
//        oldest segment                         write segment (appends, buffered, one write(2) per flush)
//   ┌──────────────────────┐ ┌────────────────────┬──────────────┐
//   │ committed │ read,    │ │  unread            │              │
//   │ (cursor)  │ in flight│ │                    │              │
//   └──────────────────────┘ └────────────────────┴──────────────┘
//               ▲ cursor  ▲ read position                        ▲ end
//
// Replay: next() hands out entries in order from the read position with a
// ticket; done(ticket) confirms one (delivered, or appended again at the tail
// after a failed replay). The cursor advances over confirmed entries in order
// (an unconfirmed one holds back those behind it) and is written at most every
// k_cursor_write_ms; segments wholly behind it are deleted. After a restart
// the read starts at the cursor: entries read but not confirmed before the
// stop are replayed again (at-least-once: duplicates, never loss).
//
// Recovery at open: every segment is scanned; the first entry cut short or
// failing its CRC (a torn tail after kill -9, or corruption) ends that
// segment: it is counted `torn`, the bytes after it `skipped_bytes`, and the
// file is truncated there. New appends always start a new segment.
//
// Durability: appended entries reach the page cache at the next flush() (the
// owner calls it once per loop pass), so a kill -9 of the process loses
// nothing flushed; fdatasync(2) runs per config.fsync_ms and at segment close,
// which bounds what a power loss or kernel crash can take.
//
// Ownership: one owner thread (the sink lcore of its output) calls every
// method; no locks. Counters are written by the owner (relaxed) and read by
// the control core. Construction may throw; nothing after it does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"
#include "counters.hpp"

namespace sluice::sinks {

// CRC32C (Castagnoli), SSE4.2 when the target has it, a bitwise loop otherwise.
uint32_t crc32c(uint32_t crc, const void* data, std::size_t len) noexcept;

constexpr std::size_t k_spool_entry_header = 12;
constexpr std::size_t k_spool_segment_header = 8;
// Replayed entries in flight (handed out by next(), not yet done()).
constexpr uint32_t k_spool_window = 1u << 16;
// The cursor file is rewritten at most this often (and at close): a lag only
// means more duplicates after a crash.
constexpr uint32_t k_cursor_write_ms = 100;

class spool {
public:
    enum class status : uint8_t { ok, full, too_big, io_error };

    struct entry {
        std::string_view key, payload;  // valid until the next call to next()
        uint32_t ticket = 0;            // pass to done()
    };

    // Opens (creates) cfg.dir and recovers what a previous run left. Throws
    // std::runtime_error naming the directory and strerror.
    spool(const spool_config& cfg, spool_counter_block* counters);
    ~spool();  // flush, fdatasync, cursor
    spool(const spool&) = delete;
    spool& operator=(const spool&) = delete;

    // Appends one entry (buffered until flush()). ok, or the reason it was
    // dropped (counted: dropped_full, dropped_too_big, io_errors).
    status append(std::string_view key, std::string_view payload) noexcept;
    // Writes buffered entries, fsyncs per policy, rewrites the cursor when due.
    // false when a write failed (the buffered entries are lost, counted io_errors).
    bool flush() noexcept;

    // The next unread entry, or false when none is unread, the replay window
    // is full, or a read failed.
    bool next(entry& e) noexcept;
    // A replayed entry is settled; the cursor moves over settled entries in order.
    void done(uint32_t ticket) noexcept;

    uint64_t unread() const noexcept { return _unread; }          // entries not yet handed out by next()
    uint64_t in_flight() const noexcept { return _issued - _head; } // handed out, not yet done()
    bool empty() const noexcept { return _unread == 0; }
    uint64_t bytes() const noexcept { return _bytes; }            // on disk + buffered
    std::size_t segments() const noexcept { return _segs.size(); }

private:
    struct segment {
        uint64_t id;
        uint64_t size;  // bytes written to the file (buffered bytes of the write segment excluded)
    };
    struct position {
        uint64_t seg = 0, off = 0;
    };
    std::string seg_path(uint64_t id) const;
    void recover();
    bool open_write_segment() noexcept;
    bool close_write_segment() noexcept;
    bool write_buffer() noexcept;
    void write_cursor() noexcept;
    void apply_commit() noexcept;
    uint64_t now_ms() const noexcept;

    spool_config _cfg;
    spool_counter_block* _c;
    std::deque<segment> _segs;  // oldest first; the last is the write segment when _wfd >= 0
    uint64_t _next_id = 1;
    uint64_t _bytes = 0;
    uint64_t _unread = 0;
    // Writing.
    int _wfd = -1;
    std::unique_ptr<char[]> _wbuf;
    std::size_t _wlen = 0;
    uint64_t _wbuffered_entries = 0;
    bool _unsynced = false;
    uint64_t _last_sync_ms = 0;
    // Reading.
    int _rfd = -1;
    uint64_t _rseg = 0;     // segment id being read (0 = none open)
    uint64_t _roff = 0;     // file offset of _rbuf[0]
    std::unique_ptr<char[]> _rbuf;
    std::size_t _rlen = 0, _rpos = 0;
    // Replay window: end position of each ticket, settled flags.
    std::vector<position> _wend;
    std::vector<uint8_t> _wdone;
    uint64_t _issued = 0, _head = 0;
    position _commit{};
    bool _cursor_dirty = false;
    uint64_t _last_cursor_ms = 0;
    int _cfd = -1;
};

}  // namespace sluice::sinks
