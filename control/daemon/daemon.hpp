// SPDX-License-Identifier: Apache-2.0
// The daemon's composition: everything sluiced owns, how it is set up, and the shutdown order.
//
// Ownership (constructed top to bottom, destroyed in reverse):
//
//   daemon ──owns──► eal_session
//     ├──owns──► mbuf_pool ◄──────────── every rx queue
//     ├──owns──► eth_port[]             stop() after the workers joined
//     ├──owns──► replay_clock[] ◄─────── worker (borrowed)
//     ├──owns──► worker::config ◄─────── every worker (read-only)
//     ├──owns──► record_ring[w][s] ◄──── worker w produces, sink s consumes
//     ├──owns──► mailboxes (in[w], out[w]) ◄── worker w polls in[w], posts log lines and acks to out[w]
//     ├──owns──► qsbr_domain ◄─────────── every worker reports its quiescent state
//     ├──owns──► worker context[] (on the worker's socket) ── exporter tables, counters
//     ├──owns──► sink context[] (each owns its outputs: file writers, Kafka writers with their spools)
//     ├──owns──► snmp poller (its thread) and reading_rings[w] ──► worker w's extrapolator
//     ├──owns──► classifier (rule database versions) ◄── every worker (RCU: qsbr_domain)
//     ├──owns──► stop flags (below) ◄─── signal handler, control loop, workers, sinks
//     ├──owns──► config_state: the loaded --config file, output parameter blocks a reload retired
//     │          (freed once their sink core passed; control core only)
//     └──owns──► counter registry ──borrows──► every block above (registered at the end of setup)
//
// Shutdown order (the signal handler only sets flags):
//   0. the SNMP poller's thread is joined (a poll in flight ends within its timeout x (retries + 1));
//   1. workers leave their loop after the burst in hand and are joined
//      (bounded by --shutdown-timeout; past it a worker's ring-full wait is
//      ended as a signal would, then one more second);
//   2. ports are stopped;
//   3. template state is written (--template-state): it needs only the
//      workers' tables, so a sink stuck on a stalled output cannot lose it;
//   4. sinks are told to stop, drain every ring and are joined (bounded);
//   5. the outputs are flushed: each sink core, before it returns, writes its
//      files and gives its Kafka producers up to 5 s, then spools the rest;
//   6. final stats are printed and written (--stats-json);
//   7. contexts, rings, ports, pool and EAL are released (RAII, reverse order).
// A second SIGINT/SIGTERM during 1-6 saves the template state (if the workers
// have joined) and exits at once with status 1; so does a join that times out.
#pragma once

#include <rte_malloc.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "control/cli/cli.hpp"
#include "control/config/reload.hpp"
#include "control/mailbox/mailbox.hpp"
#include "control/rcu/qsbr.hpp"
#include "control/registry/registry.hpp"
#include "dataplane/eal/eal.hpp"
#include "dataplane/exception/config.hpp"
#include "dataplane/port/port.hpp"
#include "dataplane/ring/record_ring.hpp"
#include "dataplane/worker/worker_context.hpp"
#include "enrich/snmp/snmp.hpp"
#include "enrich/runtime/publisher.hpp"
#include "sinks/stage/stage.hpp"

namespace sluice::control {

// Set by the signal handler and the control loop; read everywhere.
struct command_context;  // control/commands/commands_ctl.hpp

struct stop_flags {
    std::atomic<bool> stop{false};            // SIGINT/SIGTERM (first): the control loop ends
    std::atomic<unsigned> signals{0};         // signals received; a second one means "exit now"
    std::atomic<bool> workers_stop{false};    // the workers leave their loop
    std::atomic<bool> sinks_stop{false};      // the sinks drain and leave
    std::atomic<bool> reload{false};          // SIGHUP: reload --config FILE and rebuild the enrichment tables
};

// The process-wide flags (a signal handler needs a static).
stop_flags& flags() noexcept;

struct worker_deleter {
    void operator()(worker::context* c) const noexcept {
        c->~context();
        rte_free(c);
    }
};
using worker_ptr = std::unique_ptr<worker::context, worker_deleter>;

struct ring_deleter {
    void operator()(rte_ring* r) const noexcept { rte_ring_free(r); }
};
using ring_ptr = std::unique_ptr<rte_ring, ring_deleter>;

// SNMP readings to the workers' extrapolation tables (control loop side).
struct snmp_feed {
    uint64_t generation = 0;    // of the last snapshot fed
    uint64_t polled_at_ns = 0;  // the newest row fed: older rows (agents not re-polled) are not sent again
    enrich::snmp::feed_counter_block counters;  // written by the control core only
};

struct sink_deleter {
    void operator()(sinks::sink_context* s) const noexcept {
        s->~sink_context();
        rte_free(s);
    }
};
using sink_ptr = std::unique_ptr<sinks::sink_context, sink_deleter>;

// Everything the daemon owns, in construction order (destroyed in reverse).
struct daemon {
    cli::options opt;
    std::unique_ptr<eal::eal_session> eal;
    std::unique_ptr<port::mbuf_pool> pool;
    std::vector<std::unique_ptr<port::eth_port>> ports;
    std::vector<uint64_t> expected;  // per port: packets in the replayed file, 0 = live
    std::vector<std::unique_ptr<worker::replay_clock>> clocks;
    std::vector<exception::address_config> addresses;  // per port
    worker::config wcfg;
    std::vector<std::vector<ring::record_ring>> rings;  // [worker][sink]
    mailboxes mail;                      // one command + one event ring per worker
    std::unique_ptr<qsbr_domain> qsbr;   // the workers' RCU domain
    std::vector<ring_ptr> reading_rings;  // per worker, with --snmp-exporter and --extrapolate
    // Enrichment (--enrich-*; all nullptr when off). Declared before the workers and sinks so that they are
    // destroyed after them: the interner outlives the sinks that resolve ids, the publisher (which owns the
    // table versions) the workers that read them.
    std::unique_ptr<enrich::interner> enrich_interner;
    // The table builder's own copy of --rules and the SNMP generation its last build saw (enrich_wiring_ctl.cpp).
    struct derive_state {
        std::mutex mu;
        std::shared_ptr<const enrich::classify::database> db;
        uint64_t snmp_generation = 0;
    } derive;
    std::unique_ptr<enrich::publisher> enrich;
    std::unique_ptr<enrich::json_names> enrich_names;
    std::unique_ptr<sinks::encode::enriched_keys> enrich_keys;  // key names for the protobuf and Avro encoders
    std::vector<worker_ptr> workers;
    std::vector<sink_ptr> sinks;
    uint64_t start_tsc = 0;
    bool workers_joined = false;
    bool sinks_joined = false;
    uint64_t worker_log_lines = 0;  // printed by the control core (control/log counters)
    config_state config;            // --config FILE and the reload's state (control/config/reload.hpp)
    // --snmp-exporter: its own thread, started with the workers, stopped after the control loop.
    std::unique_ptr<enrich::snmp::poller> snmp;
    snmp_feed feed;
    // --rules: compiled on the control core, versions freed after a qsbr grace period.
    std::unique_ptr<enrich::classify::live> classifier;
    int64_t rules_mtime_ns = 0;  // of --rules at the last (attempted) load
    // Last: it borrows every counter block above (see registry.hpp).
    registry counters;
    // The control API (socket, metrics listener); borrows the above, so it goes first.
    std::shared_ptr<command_context> api;
};

// EAL, ports, pool, workers, template state, sinks, counter registration. Throws on any failure.
void setup(daemon& d);

// Every aggregating output's custom-key dimensions (src_net_rack, ...) against the keys the enrichment declares
// (--enrich-key; none with enrichment off): gives each its key id. Throws std::runtime_error naming the output and
// the dimension. setup calls it, and so does --check-config, which builds no table.
void resolve_aggregate_keys(const cli::options& o);

// Launch, control loop, shutdown (see the order above). Returns the exit status.
int run(daemon& d);

// The file's modification time in ns (0 when it cannot be read): --rules reloads when it changes.
int64_t file_mtime_ns(const std::string& path) noexcept;

// The enrichment build's extra sources (control/daemon/enrich_wiring_ctl.cpp): SNMP interface rows and the --rules
// attribute rules, set on opt.enrich before the publisher is built. enrich_tick: each control-loop pass.
void wire_enrich_sources(daemon& d);
// The outputs' `group==` filter reads exporter groups through the interner (after it exists, before the sinks run).
void wire_group_filter(daemon& d);
// The outputs' tag==NAME filter terms: the classifier's payload rule names and tags (after --rules is loaded).
void wire_tag_filter(daemon& d);
void enrich_tick(daemon& d);
// Recompiles the build-time copy of --rules (on a rules reload); false and *err when it does not compile.
bool compile_derive_rules(daemon& d, std::string* err);

// The control socket's reload and top hooks (control/daemon/hooks_ctl.cpp). After setup_control_api.
void wire_control_hooks(daemon& d);

// Writes every worker's templates into --template-state. Only after the workers joined.
bool save_templates(const daemon& d);

}  // namespace sluice::control
