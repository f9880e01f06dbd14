// SPDX-License-Identifier: Apache-2.0
// The disk spool's parameters and their defaults.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sluice::sinks {

// Largest key + payload of one entry. Kafka's default message.max.bytes is
// 1 MB; an entry longer than this is refused (counted), never split.
constexpr std::size_t k_spool_max_entry = 1u << 20;
// Appends are gathered in a buffer of this size and written with one
// write(2) when it fills and at every flush() (the Kafka writer flushes once
// per sink batch and pass): few syscalls during an outage, and nothing older
// than one batch is only in memory.
constexpr std::size_t k_spool_write_buffer = 256 * 1024;
// Bytes read from a segment per read(2) while replaying.
constexpr std::size_t k_spool_read_buffer = 256 * 1024;

struct spool_config {
    // Directory of this spool (one per output per sink core); created if missing.
    std::string dir;
    // Bound on the segment files' total size. An append that would exceed it
    // is dropped and counted (dropped_full). 1 GiB holds ~1 M JSON records (~1 KB each).
    uint64_t max_bytes = 1ull << 30;
    // A segment is closed (fsynced) and a new one started past this size; a
    // segment is deleted once every entry in it was replayed and delivered.
    uint64_t segment_bytes = 64ull << 20;
    // fdatasync(2) the segment being written at most this often when it has
    // unsynced entries, and always when it is closed. 0 = after every flush
    // (every sink-loop pass that spooled something). Data written is in the
    // page cache at once, so a kill -9 loses nothing written; this bounds what
    // a power loss can take (1 s of spooled records by default).
    uint32_t fsync_ms = 1000;
};

}  // namespace sluice::sinks
