// SPDX-License-Identifier: Apache-2.0
// Statistics outputs over the counter registry: the summary line, the text report and the JSON stats.
//
// Pure formatting over a registry snapshot (control/registry/registry.hpp):
// nothing here knows a component's struct, only group names, row names and
// kinds, and the labels each source was registered with. The JSON keeps the
// schema tests/integration read:
//
//   {"elapsed_s", "tsc_hz", "json_out",
//    "ports":   [{id, name, driver, queues, <port rows>, file_packets}],
//    "workers": [{id, lcore, port, queue, "counters":{<worker rows>}, "cycles", "cycles_per_packet",
//                 "exception":{<exception rows>}, "exporters":{addr:{<decode rows>}},
//                 "exporters_rejected_table_full"}],
//    "sinks":   [{id, lcore, <sink rows>}],
//    "totals":{<worker rows summed>}, "totals_written", "cycles", "cycles_per_packet",
//    "control":{<group>:{<rows>}} for every group of stage "control",
//    "metrics":{sluice_<stage>_<component>_<row>_total: sum over instances} for every group}
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "control/registry/registry.hpp"

namespace sluice::control {

// What a report carries besides counters.
struct report_meta {
    std::string json_out;
    uint64_t tsc_hz = 0;
    double elapsed_s = 0;
};

// The registry groups the outputs look for.
namespace groups {
inline constexpr std::string_view port = "port", worker = "worker", worker_cycles = "worker_cycles",
                                  exception = "exception", decode = "decode", exporter_table = "exporter_table",
                                  exporters_retired = "exporters_retired", exporters_refused = "exporters_refused";
// The sink stage's groups (stage "sinks"): one series per sink core, per (sink core, output).
inline constexpr std::string_view sink_stage = "stage", sink_output = "output", sink_file = "file",
                                  sink_aggregate = "aggregate";
}

// One line: rates since `prev` over `dt_s`, totals, every non-zero loss counter (kind error or drop).
std::string summary_line(const snapshot& now, const snapshot* prev, double dt_s);

void write_text(std::FILE* f, const snapshot& s, const report_meta& m);
void write_json(std::FILE* f, const snapshot& s, const report_meta& m);

}  // namespace sluice::control
