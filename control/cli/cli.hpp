// SPDX-License-Identifier: Apache-2.0
// sluiced's command line: the options struct, the usage text, and a parser that checks every value.
//
// Pure code (no DPDK, no I/O): parse() either returns the options or throws
// usage_error naming the flag; sluiced prints the message and exits 2.
// Every numeric flag is parsed whole (no trailing bytes), range-checked, and
// durations must be finite and non-negative ("nan", "inf", "-1" are refused).
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/decode/decoder.hpp"
#include "dataplane/reassembly/config.hpp"
#include "enrich/extrapolate/config.hpp"
#include "enrich/snmp/config.hpp"
#include "enrich/tables/tables.hpp"
#include "sinks/file/config.hpp"
#include "sinks/output/config.hpp"
#include "sinks/stage/config.hpp"

namespace sluice::control::cli {

struct options {
    std::vector<std::string> pcaps;
    std::vector<std::string> ports;
    unsigned queues = 1;
    unsigned sinks = 1;
    unsigned ring_size = 4096;
    int ring_full_wait = -1;  // -1 = by mode (wait with only --pcap, drop with --port)
    std::string eal;
    std::vector<std::pair<uint16_t, int>> port_map;  // proto -1 = off, else int(decode::protocol)
    uint32_t max_exporters = 4096;
    decode::decoder_limits limits{};  // --decoder-limit NAME=VALUE; --max-exporters wins for its own
    bool verify_udp = false;
    reassembly::config frag{};
    std::vector<std::string> addresses;
    // --sampling-override ADDR=RATE: exporter address (16 bytes, IPv4-mapped
    // for IPv4, as the exporter tables key it) and its forced 1-in-RATE.
    struct sampling_override {
        std::array<uint8_t, 16> addr{};
        uint32_t rate = 0;
    };
    std::vector<sampling_override> sampling_overrides;
    enrich::extrapolate::config extrapolate{};  // --extrapolate, --extrapolate-*
    enrich::snmp::config snmp{};                // --snmp-exporter, in order
    std::string rules;                          // --rules FILE (enrich/classify/)
    std::string template_state;
    double template_state_interval = 60.0;  // s between periodic saves; 0 = only at stop
    std::vector<sinks::output_config> outputs;  // --output, in order
    std::string json_out;                       // --json-out ("" = not given)
    uint64_t json_roll_bytes = sinks::file_config{}.roll_bytes;
    sinks::stage_config sink{};                 // outputs resolved by parse(): --json-out first, then --output
    bool discard = false;
    double stats_interval = 1.0;
    std::string stats_json;
    // Periodic stats JSON: rewritten (atomically, by rename) every this many
    // seconds while running; 0 = off. The live read of the counter registry.
    double stats_json_interval = 0;
    double duration = 0;
    // Upper bound on each shutdown join (sinks stuck in write(2), a worker
    // that does not leave its loop): past it sluiced says so and exits.
    double shutdown_timeout = 10.0;
    // --log-level: DPDK's global log level (emerg..debug); "" = DPDK's default. Live on reload.
    std::string log_level;
    // --config FILE: the TOML file the options were loaded from (control/config/); flags override it.
    std::string config_file;
    // --check-config FILE: validate FILE (and the flags) and exit without starting EAL.
    bool check_config = false;
    // The control API (control/socket/, control/metrics/). The default path
    // degrades to "off" with a warning when it cannot be created (not root,
    // another daemon on it); a path given with the flag is required.
    std::string control_socket = "/run/sluice/sluiced.sock";  // "none" = off
    bool control_socket_given = false;
    std::string control_group, control_admin_group;  // group names; "" = none
    std::string metrics_listen;                      // "" = off; PORT or ADDR:PORT
    uint32_t metrics_max_exporters = 256;
    // --enrich-*: the table sources (enrich/tables/tables.hpp); enrichment is on when any is given.
    enrich::build_config enrich;
    double enrich_refresh = 0;  // --enrich-refresh S: rebuild every S seconds; 0 = on change and SIGHUP only
    bool enrich_enabled() const noexcept {
        return !enrich.static_prefixes.empty() || !enrich.inventories.empty() || !enrich.mmdbs.empty() ||
               !enrich.exporters_file.empty() || !enrich.interfaces_file.empty();
    }
};

// A bad command line: `flag` is the option at fault (empty for a missing input).
class usage_error : public std::runtime_error {
public:
    usage_error(std::string flag, const std::string& msg)
        : std::runtime_error(flag.empty() ? msg : flag + ": " + msg), _flag(std::move(flag)) {}
    // A message that already names the flag (the sink stage's --output spec errors: "--output NAME: ...").
    struct named_t {};
    usage_error(named_t, std::string flag, const std::string& msg) : std::runtime_error(msg), _flag(std::move(flag)) {}
    const std::string& flag() const noexcept { return _flag; }

private:
    std::string _flag;
};

struct parsed {
    options opt;
    bool help = false;  // -h/--help: print usage_text and exit 0
};

extern const char* const usage_text;

// argv[0] is skipped. Throws usage_error. Not reentrant (getopt_long's globals).
// With `base` (the options a config file gave, before finish()), the flags
// apply on top of it: a scalar flag replaces the file's value, and the first
// use of a repeatable flag replaces the file's whole list.
parsed parse(int argc, char** argv, const options* base = nullptr);

// One long option sluiced takes (the config key table is checked against these).
struct option_info {
    const char* name;  // without "--"
    bool has_value;    // false: a switch
    bool repeatable;   // each use adds to a list
};
// Every long option, -h/--help included.
std::vector<option_info> option_table();

// Applies one long option (name without "--"; value "" for a switch) to `o`,
// exactly as parse() does. Throws usage_error naming the flag.
void apply_option(options& o, const std::string& name, const std::string& value);

// parse()'s checks and resolutions after the last flag: an input is given,
// --stats-json-interval has --stats-json, the outputs (--json-out first) are
// resolved into o.sink.outputs and checked together. Throws usage_error.
void finish(options& o);

// "emerg".."debug" -> RTE_LOG_EMERG (1) .. RTE_LOG_DEBUG (8); 0 = not a level.
unsigned log_level_value(const std::string& name);

// The number parsers parse() uses, exposed for the tests. `flag` names the
// option in the error.
uint64_t parse_unsigned(const std::string& flag, const std::string& s, uint64_t min, uint64_t max);
double parse_seconds(const std::string& flag, const std::string& s);  // finite, >= 0

}  // namespace sluice::control::cli
