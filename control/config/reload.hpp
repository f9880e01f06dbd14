// SPDX-License-Identifier: Apache-2.0
// Live reload of the config file (SIGHUP; the control socket's `reload` later): diff, apply what can change, report.
//
//   control core: load FILE ─► flags on top (the daemon's command line) ─► diff with the running config
//        ├─ invalid: nothing changes; the result says why
//        ├─ live keys: log.level          rte_log_set_global_level
//        │             [[output]] filter, sample     a new sinks::output_params per sink core, published
//        │                                           through the slot's atomic pointer (sinks/stage/stage.hpp);
//        │                                           the old one freed once that sink core passed a quiescent
//        │                                           point (reclaim(), every control-loop tick)
//        │             [[exporter]] sampling_override   set_sampling_override to every worker's mailbox
//        ├─ restart keys: reported, not applied (and reported again by later reloads until a restart)
//        └─ keys the command line sets: reported as ignored (flags override the file)
//
// Ownership: config_state lives in the daemon; only the control core
// touches it. Retired parameter blocks are owned by it until reclaimed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "control/config/config.hpp"
#include "sinks/stage/stage.hpp"

namespace sluice::control {

struct daemon;

struct reload_result {
    bool ok = false;                    // the file validated and every live change was applied
    std::vector<std::string> errors;    // why not (nothing was changed when the file did not validate)
    std::vector<std::string> applied;   // "output.tcp.sample: 1 -> 4", changed live
    std::vector<std::string> restart;   // changed keys that take effect only at the next start
    std::vector<std::string> ignored;   // changed in the file but set on the command line (the flag wins)
};

struct config_state {
    std::string file;               // --config FILE ("" = none: a reload says so)
    std::vector<std::string> argv;  // the command line, re-applied over the file on reload
    config::loaded running;         // the file as applied (restart keys keep their start-up values)
    struct retired_params {
        std::unique_ptr<const sinks::output_params> p;
        const sinks::sink_context* sink;
        uint64_t mark;  // sink->passes when retired; freed once it is beyond
    };
    std::vector<retired_params> retired;
    uint64_t reloads = 0, failed = 0, retired_total = 0, freed_total = 0;  // control/config/counters.hpp
};

// Control core only. Logs one line (and one per error) and returns what happened.
reload_result reload_config(daemon& d);

// Frees retired parameter blocks whose sink core has passed a quiescent
// point since (all of them once the sinks joined). Every control-loop tick.
void reclaim(daemon& d);

// One line for the log and the control socket.
std::string describe(const reload_result& r);

}  // namespace sluice::control
