// SPDX-License-Identifier: Apache-2.0
// The file writer's parameters and their defaults.
#pragma once

#include <cstdint>
#include <string>

namespace sluice::sinks {

struct file_config {
    // "-" = stdout. With several sink cores each writes its own file,
    // PATH.s<N> (see sinks/file/README.md); devices and FIFOs are shared as is.
    std::string path = "-";
    // Roll to PATH.1, PATH.2, ... once a file would exceed this many bytes,
    // at a line boundary. 1 GiB keeps files small enough for ordinary tools;
    // 0 = never roll. Only regular files roll.
    uint64_t roll_bytes = 1ull << 30;
    // Buffered bytes are written at the latest this long after the first of
    // them was encoded: bounds the delay a quiet output adds (100 ms is below
    // what a human tailing the file notices, and costs at most 10 writes/s).
    uint32_t flush_ms = 100;
};

// The buffer: k_file_chunks chunks of k_file_chunk bytes, written with one
// writev when the last chunk is full or on the deadline. 4 x 256 KiB = 1 MiB
// per output and sink core: ~3,500 JSON lines per system call, and small
// enough to stay in L2/L3 while it fills.
constexpr std::size_t k_file_chunk = 256 * 1024;
constexpr unsigned k_file_chunks = 4;

}  // namespace sluice::sinks
