// SPDX-License-Identifier: Apache-2.0
// Interim sink: drains the worker rings and writes newline-delimited JSON
// (decode::format_json, byte-identical to `sluice-decode --json`), rolled by size.
//
// Ownership and lifetime:
//
//   main ──owns──► json_file_writer (one per run; PATH, PATH.1, PATH.2, ... or stdout)
//     │                 ▲ write(whole lines) under a mutex: sink lcores only, never a worker
//     └─owns──► sink_context[s] ──borrows──► rings[w][s] for every worker w
//                                   (sink s is their single consumer)
//
// The sink lcore stops when the stop flag is set AND every ring it drains is
// empty, so a clean stop loses nothing that was enqueued: main sets the flag
// only after every worker has joined.
#pragma once

#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config.hpp"
#include "counters.hpp"
#include "dataplane/decode/flow_record.hpp"

namespace sluice::sinks {

// Whole lines in, files out. Thread-safe (the sinks share one output).
class json_file_writer {
public:
    // Throws std::runtime_error naming the path and strerror.
    explicit json_file_writer(const json_file_config& cfg);
    ~json_file_writer();
    json_file_writer(const json_file_writer&) = delete;
    json_file_writer& operator=(const json_file_writer&) = delete;

    // buf holds complete lines. Returns false on a write error (counted by the caller).
    bool write(const char* buf, std::size_t len, sink_counter_block& counters);
    void flush();
    // The file currently written ("-" for stdout).
    std::string current_path() const;

private:
    bool roll(sink_counter_block& counters);
    std::string path_of(unsigned index) const;

    json_file_config _cfg;
    mutable std::mutex _mu;
    FILE* _f = nullptr;
    unsigned _index = 0;    // 0 = PATH, n = PATH.n
    uint64_t _written = 0;  // bytes in the current file
};

// Records dequeued per ring call: a sink buffer's worth of JSON lines (~300 B each) fits 64 KiB.
constexpr unsigned k_sink_burst = 64;

struct alignas(64) sink_context {
    unsigned id = 0;
    unsigned lcore = 0;
    std::vector<rte_ring*> rings;  // one per worker
    json_file_writer* writer = nullptr;  // nullptr: discard the records (counted)
    const std::atomic<bool>* stop = nullptr;
    uint32_t delay_us = 0;
    alignas(64) sink_counter_block counters;
};

// The lcore entry point; arg is a sink_context*.
int sink_main(void* arg);

}  // namespace sluice::sinks
