// SPDX-License-Identifier: Apache-2.0
// Interim control-core statistics: the once-per-interval summary line and the
// final per-port / per-worker / per-sink / per-exporter report (text and JSON).
//
// Pure formatting over snapshots: the caller (sluiced's main lcore) copies the
// counters (relaxed atomic reads) into the views below; exporter tables are
// only passed once their worker has joined.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "dataplane/decode/decoder.hpp"
#include "dataplane/exception/counters.hpp"
#include "dataplane/worker/counters.hpp"
#include "sinks/file/counters.hpp"
#include "sinks/output/counters.hpp"
#include "sinks/stage/counters.hpp"

namespace sluice::control {

struct port_view {
    std::string name;
    std::string driver;
    uint16_t id = 0;
    uint16_t queues = 0;
    uint64_t ipackets = 0, ibytes = 0, imissed = 0, ierrors = 0, rx_nombuf = 0, opackets = 0, oerrors = 0;
    uint64_t expected = 0;  // replay: packets in the file (0 = not a replay port)
};

struct worker_view {
    unsigned id = 0, lcore = 0;
    uint16_t port_id = 0, queue_id = 0;
    worker::counter_block counters;
    exception::counter_block exception_counters;
    const decode::exporter_table* exporters = nullptr;  // only after the worker joined
};

struct output_view {
    std::string name;
    sinks::output_counter_block counters;
    sinks::file_counter_block file_counters;
};

struct sink_view {
    unsigned id = 0, lcore = 0;
    sinks::stage_counter_block counters;
    std::vector<output_view> outputs;  // in --output order
};

struct report {
    std::vector<port_view> ports;
    std::vector<worker_view> workers;
    std::vector<sink_view> sinks;
    std::string json_out;
    uint64_t tsc_hz = 0;
    double elapsed_s = 0;
};

// Totals over workers.
worker::counter_block sum_workers(const std::vector<worker_view>& w);

// One line: rates since `prev` over `dt_s`, totals, every non-zero drop cause.
std::string summary_line(const report& now, const report* prev, double dt_s);

void write_text(std::FILE* f, const report& r);
void write_json(std::FILE* f, const report& r);

}  // namespace sluice::control
