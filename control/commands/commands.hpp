// SPDX-License-Identifier: Apache-2.0
// The control commands' one table: path, help, arguments and privilege; shared by sluiced's socket and sluicectl.
//
// Pure code (no DPDK): sluicectl builds its --help, its man page
// (docs/sluicectl.1) and its bash completion from this table, and sluiced
// binds one handler per entry (commands_ctl.cpp, indexed by `command`, the
// order checked at compile time). Adding a command: add the enumerator, the
// row here, its handler there, and its example in docs/control-api.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace sluice::control::commands {

// The protocol version: requests carry "v"; a reply always carries this one.
inline constexpr unsigned k_protocol_version = 1;

enum class command : uint8_t {
    status, stats, exporters, templates, outputs, log_level, flush, shutdown, reload, lookup, top, metrics,
};
inline constexpr std::size_t command_count = 12;

// Who may run a command (SO_PEERCRED, control/socket/socket.hpp).
enum class privilege : uint8_t {
    read,          // root, the daemon's user, --control-group or --control-admin-group
    admin,         // root, the daemon's user or --control-admin-group
    admin_if_args, // read without arguments, admin with (log-level LEVEL)
};

struct arg_spec {
    std::string_view name;
    std::string_view help;
    std::string_view values;  // a completion hint: "a|b|c" (fixed set), "IP", "EXPORTER", "" (free)
    bool required = false;
    bool positional = true;   // sluicectl: `cmd VALUE`; otherwise `--name VALUE`
};

struct command_info {
    command id;
    std::string_view path;      // what the request's "cmd" carries
    std::string_view help;      // one line
    std::string_view details;   // a paragraph for --help and the man page
    std::span<const arg_spec> args;
    privilege priv;
};

namespace detail {
inline constexpr std::array<arg_spec, 1> templates_args{{
    {"exporter", "only this exporter (its address as printed by `exporters`)", "EXPORTER", false, true},
}};
inline constexpr std::array<arg_spec, 1> log_level_args{{
    {"level", "set the log level (otherwise print it)", "emerg|alert|crit|err|warning|notice|info|debug", false, true},
}};
inline constexpr std::array<arg_spec, 1> reload_args{{
    {"what", "what to reload (default config)", "config|tables|rules", false, true},
}};
inline constexpr std::array<arg_spec, 1> lookup_args{{
    {"ip", "the address to enrich", "IP", true, true},
}};
inline constexpr std::array<arg_spec, 3> top_args{{
    {"by", "dimensions to group by, comma-separated", "", false, false},
    {"window", "aggregation window (e.g. 5m)", "", false, false},
    {"limit", "rows to print", "", false, false},
}};
}  // namespace detail

inline constexpr std::array<command_info, command_count> table{{
    {command::status, "status", "version, uptime, configuration, cores and their roles, link state",
     "Prints the daemon's version and uptime, the configuration it runs with, each lcore and its role (control, "
     "worker for a port queue, sink) and each port's link state.",
     {}, privilege::read},
    {command::stats, "stats", "counters per port and queue, worker, ring and output",
     "Per port: rx packets, missed, mbuf allocation failures. Per worker: packets, records, drops by cause, cycles per "
     "packet. Per ring: depth now and its high-water mark (kept by the worker at each commit). Per output: "
     "records queued, delivered, failed. `sluicectl stats --watch` refreshes it in place with rates.",
     {}, privilege::read},
    {command::exporters, "exporters", "per exporter: datagrams, records, sequence loss, templates, last seen",
     "One row per exporter (summed over the workers that saw it), read live from the exporter tables: datagrams, "
     "records, templates learned, sampling rates learned, sequence loss, decode errors, first and last seen.",
     {}, privilege::read},
    {command::templates, "templates", "templates each exporter uses (a worker snapshot)",
     "Asks every worker for a snapshot of its template state through its mailbox (the periodic template save's "
     "command) and lists, per NetFlow v9 / IPFIX exporter and observation domain, the version, sampling rate and "
     "every template with its fields.",
     detail::templates_args, privilege::read},
    {command::outputs, "outputs", "each output: kind, destination, records queued, delivered, failed",
     "Per output (summed over the sink cores): records queued, delivered (written), failed or dropped, bytes.",
     {}, privilege::read},
    {command::log_level, "log-level", "print or set the log level",
     "Without LEVEL prints the current log level; with LEVEL sets it (admin).", detail::log_level_args,
     privilege::admin_if_args},
    {command::flush, "flush", "write the stats file and the template state now",
     "Rewrites --stats-json now and starts a template-state save round (when --template-state is set).",
     {}, privilege::admin},
    {command::shutdown, "shutdown", "stop the daemon (the ordered shutdown of SIGTERM)",
     "Replies, then stops the daemon as SIGTERM does: workers drain, template state is saved, sinks flush.",
     {}, privilege::admin},
    {command::reload, "reload", "re-read the configuration, the enrichment tables or the rules",
     "Applies what can change live and says which changed keys need a restart.", detail::reload_args,
     privilege::admin},
    {command::lookup, "lookup", "the enrichment answer for an address, and the source of each attribute",
     "Looks an address up in the enrichment tables.", detail::lookup_args, privilege::read},
    {command::top, "top", "the heaviest keys of an aggregation window",
     "Reads the sinks' aggregation windows.", detail::top_args, privilege::read},
    {command::metrics, "metrics", "every counter in Prometheus text format",
     "The Prometheus exposition of the counter registry (what the --metrics-listen HTTP listener serves).",
     {}, privilege::read},
}};

constexpr bool table_in_order() noexcept {
    for (std::size_t i = 0; i < table.size(); ++i)
        if (static_cast<std::size_t>(table[i].id) != i) return false;
    return true;
}
static_assert(table_in_order(), "commands::table lists every command, in enum order");

constexpr const command_info* find(std::string_view path) noexcept {
    for (const command_info& c : table)
        if (c.path == path) return &c;
    return nullptr;
}

}  // namespace sluice::control::commands
