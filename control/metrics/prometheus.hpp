// SPDX-License-Identifier: Apache-2.0
// The Prometheus text exposition (format 0.0.4) of a counter-registry snapshot.
//
// Pure formatting over control/registry's snapshot: one family per row of
// every group, named sluice_<stage>_<component>_<row>_total, with HELP (the
// row's help text) and TYPE counter; each series' registry labels become
// Prometheus labels (lcore is exported as `core`). Identity labels only:
// a port's name, driver and queue count go to one sluice_port_info gauge
// instead of every port series.
//
// Cardinality: series that carry an `exporter` label are summed over the
// workers (the `worker` label dropped), and at most `max_exporters`
// exporters get a series of their own, per family; the rest are summed into
// exporter="_other". An exporter keeps its own series once it has one, as
// long as some table still holds it (the exporter_labels state below, kept
// by the caller across scrapes), so a series never jumps between labels
// while the exporter lives; an expired exporter's place goes to a newcomer.
#pragma once

#include <cstddef>
#include <set>
#include <string>

#include "control/registry/registry.hpp"

namespace sluice::control::metrics {

// 256: a collector with a few hundred routers stays under a few hundred
// thousand series (rows x exporters); larger fleets raise it knowingly.
inline constexpr std::size_t k_default_max_exporters = 256;

// Which exporters own a series (first come, first served; kept across scrapes).
struct exporter_labels {
    std::size_t max = k_default_max_exporters;
    std::set<std::string> admitted;
};

std::string exposition(const snapshot& s, exporter_labels& ex);

// A metric or label value escaped for the text format (\\, \", \n).
std::string escape_label(std::string_view v);

}  // namespace sluice::control::metrics
