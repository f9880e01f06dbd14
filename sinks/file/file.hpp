// SPDX-License-Identifier: Apache-2.0
// The file writer of one output on one sink core: lines are encoded straight into its buffer, written with writev.
//
// Ownership and lifetime:
//
//   main (setup) ──creates──► file_writer (one per output per sink core; opens its own file)
//   sink lcore s ──only user──► line()/commit()/flush(): no lock, no sharing
//   main (after the sink joined) ──flush(), destroy (closes the file)
//
// Files (N = sink cores; PATH a regular file or a new path):
//   N == 1: PATH, then PATH.1, PATH.2, ... on each roll
//   N  > 1: PATH.s<k> for sink core k, then PATH.s<k>.1, ...
// An existing non-regular path (/dev/null, /dev/full, a FIFO) is opened as is
// by every sink core and never rolls; "-" is stdout (one sink core only:
// lines of two cores could interleave in a pipe).
//
// A failed flush (writev error: disk full, closed pipe) loses exactly the
// records in that buffer: each is counted in the output's `failed`, the
// flush in the writer's `write_errors`. The writer goes on with the next
// buffer (a disk that frees up is written again).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "config.hpp"
#include "counters.hpp"
#include "sinks/output/counters.hpp"

namespace sluice::sinks {

class file_writer {
public:
    // The longest line line() hands out room for (a roll moves it through a stack buffer of this size): a JSON
    // record with its enriched members and signature names is at most 5 KiB (sinks/stage/stage_node.cpp).
    static constexpr std::size_t k_max_line = 8192;

    // Throws std::runtime_error naming the output, the path and strerror.
    file_writer(const file_config& cfg, std::string_view output, unsigned sink, unsigned sinks,
                output_counter_block* out_counters, file_counter_block* counters);
    ~file_writer();
    file_writer(const file_writer&) = delete;
    file_writer& operator=(const file_writer&) = delete;

    // Room for one line of at most `max` bytes (newline included). Writes the
    // buffer first when it is full: the only place a system call happens.
    // max <= k_max_line.
    char* line(std::size_t max) noexcept {
        if (_chunk - _len[_cur] < max) [[unlikely]] {
            if (_cur + 1 < k_file_chunks) ++_cur;
            else flush();
        }
        return _buf.get() + std::size_t(_cur) * _chunk + _len[_cur];
    }
    // The line just written at line() is `len` bytes (one record).
    void commit(std::size_t len) noexcept {
        if (_roll_bytes != 0 && _file_bytes + _pending_bytes + len > _roll_bytes && _file_bytes + _pending_bytes != 0)
            [[unlikely]] {
            roll_before(len);
        }
        _len[_cur] += uint32_t(len);
        _pending_bytes += len;
        ++_pending_records;
    }
    // Writes everything buffered; false when the write failed (counted).
    bool flush() noexcept;
    // Deadline bookkeeping: the TSC at which the oldest buffered line was written (0 = empty).
    uint64_t oldest_tsc() const noexcept { return _oldest_tsc; }
    void mark(uint64_t tsc) noexcept {
        if (_oldest_tsc == 0 && _pending_records != 0) _oldest_tsc = tsc;
    }
    uint64_t pending_records() const noexcept { return _pending_records; }
    // The file written now ("-" for stdout).
    const std::string& current_path() const noexcept { return _current; }

private:
    void roll_before(std::size_t len) noexcept;
    void open_current();

    std::size_t _chunk;                    // bytes per chunk (file_config::chunk_bytes)
    std::unique_ptr<char[]> _buf;          // k_file_chunks * _chunk
    uint32_t _len[k_file_chunks]{};        // bytes used per chunk
    unsigned _cur = 0;                     // chunk being filled
    uint64_t _pending_bytes = 0;
    uint64_t _pending_records = 0;
    uint64_t _oldest_tsc = 0;
    uint64_t _file_bytes = 0;              // bytes in the current file
    uint64_t _roll_bytes = 0;              // 0 = never (also for stdout, devices, FIFOs)
    unsigned _index = 0;                   // 0 = base, n = base.n
    int _fd = -1;
    bool _own_fd = true;
    std::string _base;
    std::string _current;
    output_counter_block* _out;
    file_counter_block* _c;
};

}  // namespace sluice::sinks
