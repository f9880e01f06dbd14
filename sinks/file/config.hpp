// SPDX-License-Identifier: Apache-2.0
// The file writer's parameters and their defaults.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sluice::sinks {

// The buffer: k_file_chunks chunks of chunk_bytes, written with one writev
// when the last chunk is full or on the deadline. 4 x 64 KiB = 256 KiB per
// output and sink core, ~400 JSON lines per system call (more than a sink
// batch of 256 records). Measured (perf/record_path_bench
// BM_sink_stage_json_file, into the page cache): at load average 2, 4 x 64
// KiB 1.42 M records/s and 4 x 256 KiB 1.45 M; at load average 6 (other
// processes evicting the cache), 1.62 M and 0.81 M: equal when the cache is
// left alone, twice as fast when it is not, and
// a quarter of the memory per output and sink core.
constexpr unsigned k_file_chunks = 4;
constexpr std::size_t k_file_chunk_default = 64 * 1024;

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
    // Bytes per buffer chunk (the buffer is k_file_chunks of them, written
    // with one writev). See k_file_chunk_default.
    std::size_t chunk_bytes = k_file_chunk_default;
};


}  // namespace sluice::sinks
