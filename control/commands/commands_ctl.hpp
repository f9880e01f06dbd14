// SPDX-License-Identifier: Apache-2.0
// The control API in sluiced: the command context (handlers bound to the daemon), the socket, the metrics listener, DPDK telemetry.
//
//   setup ──setup_control_api(d)──► command_context (d.api)
//             ├──owns──► dispatcher: commands::table row ──► handler (below) or a hook
//             ├──owns──► sock::server (--control-socket)   ──counters──► registry group control/socket
//             ├──owns──► metrics::http_listener (--metrics-listen)
//             └──registers──► rte_telemetry /sluice/groups, /sluice/counters,<group>
//   control loop tick ──control_api_tick(d)──► templates round, socket poll, HTTP poll, telemetry cache
//
// Every handler runs on the control core inside control_api_tick() and only
// reads: registry snapshots, read_live() of the exporter tables,
// rte_eth_link_get_nowait, rte_ring_count. `shutdown` sets the stop flag
// the signal handler sets. The hooks (reload, lookup, top) are set by the
// composition root when the feature exists; unset, they answer
// not_configured. DPDK telemetry runs its callbacks on its own thread: they
// read a copy the control core refreshes every second (under a mutex; no
// data-path code takes it).
//
// Ownership: the daemon owns the context (daemon::api); the context borrows
// the daemon and is destroyed before the registry it reads.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "control/commands/dispatch.hpp"
#include "control/metrics/http.hpp"
#include "control/metrics/prometheus.hpp"
#include "control/socket/socket.hpp"
#include "dataplane/worker/mailbox.hpp"

namespace sluice::control {

struct daemon;

struct command_context {
    using hook = std::function<commands::outcome(const commands::request&)>;
    // Set by the composition root; empty = "not configured: ...".
    hook reload, lookup, top;

    std::unique_ptr<commands::dispatcher> dispatch;
    std::unique_ptr<sock::server> server;
    std::unique_ptr<metrics::http_listener> http;
    std::string metrics_url;  // "" = no listener
    metrics::exporter_labels exporters;
    sock::counter_block fallback_counters{};  // registered when there is no socket

    // `templates`: the clients waiting, and the snapshot round asked for them
    // (mailbox seq = k_templates_seq | round: the saver's rounds never match).
    static constexpr uint64_t k_templates_seq = 1ull << 63;
    struct template_round {
        std::vector<std::pair<uint64_t, std::string>> waiting;  // client id, exporter filter
        bool pending = false;
        uint64_t round = 0;
        std::vector<bool> answered;
        std::size_t answers = 0;
        std::chrono::steady_clock::time_point asked{};
    } templates;

    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

    // DPDK telemetry's copy (its thread reads it; kept outside the context).
    struct tel_group {
        std::string name;  // <stage>_<component>
        std::vector<std::pair<std::string, uint64_t>> rows;
    };
    std::chrono::steady_clock::time_point tel_refreshed{};
};

// Creates the context, the socket and the listener (per the options) and
// registers the socket counters and the telemetry commands. Before launch.
void setup_control_api(daemon& d);

// One non-blocking round; the control loop calls it every tick.
// `saver_pending`: the template saver has a snapshot round out (templates waits).
void control_api_tick(daemon& d, bool saver_pending);

// A worker event (the control loop's mailbox drain): acks of `templates` rounds.
void control_api_on_event(daemon& d, const worker::event& e);

// A `templates` snapshot round is out (the template saver waits).
bool control_api_snapshot_pending(const daemon& d) noexcept;

}  // namespace sluice::control
