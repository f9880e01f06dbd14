// SPDX-License-Identifier: Apache-2.0
// sluiced's option table and parser (getopt_long), with strict number checks.
#include "cli.hpp"

#include <arpa/inet.h>
#include <getopt.h>

#include <charconv>
#include <algorithm>
#include <cmath>
#include <string_view>

#include "control/metrics/http.hpp"
#include "dataplane/decode/decoder.hpp"
#include "dataplane/decode/flow_record.hpp"
#include "dataplane/worker/config.hpp"
#include "enrich/extrapolate/extrapolate.hpp"
#include "enrich/tables/spec.hpp"
#include "sinks/output/output.hpp"

namespace sluice::control::cli {

const char* const usage_text =
    "usage: sluiced [options]\n"
    "Kernel-bypass NetFlow v5/v9, IPFIX and sFlow v5 collector (DPDK).\n"
    "\n"
    "Inputs (at least one):\n"
    "  --pcap FILE              replay FILE through a net_pcap vdev; exits when every file is consumed (repeatable)\n"
    "  --port DEVARGS           a PCI NIC (0000:01:00.0) or a vdev (net_ring0, net_memif0,..., net_pcap0,rx_pcap=F)\n"
    "                           (repeatable)\n"
    "Ports and cores:\n"
    "  --queues N               rx queues (= workers) per port, RSS on the source address; 1 without RSS (default 1)\n"
    "  --sink-cores N           sink lcores (default 1, at most 16)\n"
    "  --ring-size N            records per worker->sink ring, power of two (default 4096)\n"
    "  --ring-full drop|wait    full sink ring: drop and count ring_full (default with --port), or wait for\n"
    "                           room (default with only --pcap: a lossless replay)\n"
    "  --eal \"ARGS\"             EAL arguments instead of the defaults\n"
    "                           (--no-huge -m 512 --no-pci --file-prefix sluiced-<pid> --lcores <map>)\n"
    "Decoding:\n"
    "  --port-map PORT=PROTO    decode UDP port PORT as v5|v9|ipfix|sflow|auto, or 'off' to drop it (repeatable;\n"
    "                           defaults: 2055, 9995, 9996 auto; 4739 ipfix; 6343 sflow)\n"
    "  --max-exporters N        exporters per worker (default 4096)\n"
    "  --decoder-limit NAME=V   a decoder limit (docs/configuration.md): records_per_datagram=N,\n"
    "                           exporter_idle_timeout_ns=30s, max_domains_per_exporter=N, ...; repeatable\n"
    "  --verify-udp-checksum    verify UDP checksums in software when the NIC gives no verdict (default off)\n"
    "  --frag-timeout-ms N      fragment reassembly timeout (default 30000)\n"
    "  --frag-max-flows N       incomplete datagrams per worker (default 256)\n"
    "  --frag-max-per-source N  incomplete datagrams per source address per worker (default 16)\n"
    "  --frag-max-bytes N       fragment storage per worker in bytes (default 8388608, at least 262144)\n"
    "  --sampling-override ADDR=RATE  force 1-in-RATE sampling for exporter ADDR (repeatable; RATE 0 = none)\n"
    "  --address IP[/MAC]       a collector address answered by the exception path (ARP, ping, ND) (repeatable)\n"
    "  --extrapolate            give flow records extrapolated_bytes/packets: x sampling rate, then x the\n"
    "                           interface's counter-based factor (docs/record.md, Extrapolated volumes)\n"
    "  --extrapolate-window S   seconds of counter readings per factor window (default 30)\n"
    "  --extrapolate-min-factor X, --extrapolate-max-factor X  factor bounds (default 0.5, 2)\n"
    "  --extrapolate-interfaces N  (exporter, ifIndex) pairs tracked per worker (default 8192)\n"
    "  --snmp-exporter SPEC     poll an exporter's IF-MIB (repeatable): ADDR[,community=C][,port=N][,interval=S]\n"
    "                           [,timeout=S][,retries=N][,exporter=ADDR] (SNMPv2c; defaults public, 161, 60, 1, 1;\n"
    "                           v3: version=3,user=U[,auth=SHA|MD5,auth_pass=P[,priv=AES|DES,priv_pass=P]]);\n"
    "                           with --extrapolate its ifHC*Octets feed the interface factors\n"
    "  --rules FILE             classification rules (enrich/classify/README.md): payload rules tag records\n"
    "                           (signature_tags); reloaded when FILE changes, a bad file keeps the old rules\n"
    "  --template-state FILE    load v9/IPFIX templates and sampling rates from FILE at start; save them there\n"
    "                           periodically and at a stop (also on a second SIGINT/SIGTERM)\n"
    "  --template-state-interval S  seconds between periodic saves (default 60; 0 = only at stop)\n"
    "Output:\n"
    "  --output SPEC            an output (repeatable): name=NAME,path=PATH[,format=json][,filter=EXPR]\n"
    "                           [,sample=N][,roll_bytes=N][,flush_ms=N]; e.g. name=tcp,path=/x/tcp.json,\n"
    "                           filter=proto==6,sample=4 (docs/configuration.md; sinks/output/README.md)\n"
    "                           Kafka: name=NAME,kafka=HOST:PORT[;HOST:PORT],topic=T[,key=exporter|src|dst|flow_id]\n"
    "                           [,compression=zstd|lz4|none][,linger_ms=N][,batch=N][,rdkafka.PROP=V][,spool=DIR]\n"
    "                           [,spool_bytes=N] (sinks/kafka/README.md)\n"
    "                           or Avro files in Hive layout: name=NAME,format=avro,hdfs=DIR|http://NN:PORT/PATH\n"
    "                           [,table=T][,roll_seconds=N][,codec=snappy|deflate|null][,user=U] (sinks/hdfs/)\n"
    "  --json-out PATH|-        shorthand for --output name=json,path=PATH (default -, stdout, when no --output);\n"
    "                           rolls to PATH.1, PATH.2, ...; with N > 1 sink cores each writes PATH.s<k>\n"
    "  --json-roll-bytes N      roll size of --json-out (default 1073741824; 0 = never)\n"
    "  --sink-discard           sinks drain the rings and discard the records (benchmarks)\n"
    "  --sink-delay-us N        TEST KNOB: the sink sleeps N us after each burst (provokes ring_full)\n"
    "  --stats-interval S       summary line period in seconds (default 1)\n"
    "  --stats-json FILE        write the final stats as JSON to FILE\n"
    "  --stats-json-interval S  also rewrite FILE every S seconds while running (atomic rename; default 0 = off)\n"
    "  --duration S             stop after S seconds (benchmarks)\n"
    "  --shutdown-timeout S     give up on a shutdown join after S seconds, say so and exit 1 (default 10)\n"
    "  --log-level LEVEL        emerg|alert|crit|err|warning|notice|info|debug (default: DPDK's)\n"
    "Configuration file (docs/config.md):\n"
    "  --config FILE            load the options from a TOML file; flags given here override it (a repeatable\n"
    "                           flag replaces the file's whole list); SIGHUP reloads what can change live\n"
    "  --check-config FILE      validate FILE (with the other flags) without starting; exit 0 (one-line OK\n"
    "                           summary) or 2 (every error, with its key, value and line)\n"
    "Control:\n"
    "  --control-socket PATH    the control socket (default /run/sluice/sluiced.sock; \"none\" = off);\n"
    "                           an explicit path that cannot be created is a start-up error (docs/control-api.md)\n"
    "  --control-group GROUP    the socket's group: its members may run read-only commands\n"
    "  --control-admin-group GROUP  members may also run state-changing commands (default: root only);\n"
    "                           they connect through the socket's group, so make them members of both\n"
    "  --metrics-listen [ADDR:]PORT  serve GET /metrics over HTTP on the control core (default off;\n"
    "                           a bare PORT listens on 127.0.0.1)\n"
    "  --metrics-max-exporters N  exporters with their own metrics series (default 256; the rest \"_other\")\n"
    "Enrichment (docs/configuration.md, \"Enrichment\"):\n"
    "  --enrich-inventory FILE[,format=json|ndjson|csv][,columns=C1:C2:..]  prefixes, addresses or ranges with\n"
    "                           attributes (repeatable; earlier files win per field)\n"
    "  --enrich-mmdb FILE[,layout=maxmind|ip-location-db][,KEY=a.b.c]  a City/Country/ASN .mmdb (repeatable)\n"
    "  --enrich-prefix PREFIX=KEY:VALUE,..  a static prefix (repeatable; wins over every file)\n"
    "  --enrich-exporters FILE  exporter address/subnet -> name, site, region, role, group, tenant, sampling_rate,\n"
    "                           force\n"
    "  --enrich-interfaces FILE (exporter, ifindex) -> name, description, speed, boundary, connectivity, provider\n"
    "  --enrich-key NAME        declare a custom attribute key (repeatable)\n"
    "  --enrich-refresh S       also rebuild the tables every S seconds (default 0: on a file change or SIGHUP)\n"
    "  -h, --help               this text\n"
    "\n"
    "Signals: SIGINT/SIGTERM stop cleanly; a second one saves the template state and exits at once (status 1);\n"
    "SIGHUP reloads --config FILE.\n"
    "Exit status: 0 after a clean stop (SIGINT/SIGTERM or end of replay), 1 on a start-up error or a forced exit,\n"
    "2 on bad usage.\n";

namespace {

enum opt_id : int {
    o_pcap = 256,
    o_port,
    o_queues,
    o_sink_cores,
    o_ring_size,
    o_ring_full,
    o_eal,
    o_port_map,
    o_max_exporters,
    o_decoder_limit,
    o_verify_udp,
    o_frag_timeout,
    o_frag_max_flows,
    o_frag_max_per_source,
    o_frag_max_bytes,
    o_address,
    o_template_state,
    o_template_state_interval,
    o_output,
    o_json_out,
    o_json_roll_bytes,
    o_sink_discard,
    o_sink_delay_us,
    o_stats_interval,
    o_stats_json,
    o_stats_json_interval,
    o_duration,
    o_shutdown_timeout,
    o_sampling_override,
    o_log_level,
    o_config,
    o_check_config,
    o_extrapolate,
    o_extrapolate_window,
    o_extrapolate_min_factor,
    o_extrapolate_max_factor,
    o_extrapolate_interfaces,
    o_snmp_exporter,
    o_rules,
    o_control_socket,
    o_control_group,
    o_control_admin_group,
    o_metrics_listen,
    o_metrics_max_exporters,
    o_enrich_inventory,
    o_enrich_mmdb,
    o_enrich_prefix,
    o_enrich_exporters,
    o_enrich_interfaces,
    o_enrich_key,
    o_enrich_refresh,
};

// One row per flag: getopt_long's table (name, argument, id).
constexpr option k_options[] = {
    {"pcap", required_argument, nullptr, o_pcap},
    {"port", required_argument, nullptr, o_port},
    {"queues", required_argument, nullptr, o_queues},
    {"sink-cores", required_argument, nullptr, o_sink_cores},
    {"ring-size", required_argument, nullptr, o_ring_size},
    {"ring-full", required_argument, nullptr, o_ring_full},
    {"eal", required_argument, nullptr, o_eal},
    {"port-map", required_argument, nullptr, o_port_map},
    {"max-exporters", required_argument, nullptr, o_max_exporters},
    {"decoder-limit", required_argument, nullptr, o_decoder_limit},
    {"verify-udp-checksum", no_argument, nullptr, o_verify_udp},
    {"frag-timeout-ms", required_argument, nullptr, o_frag_timeout},
    {"frag-max-flows", required_argument, nullptr, o_frag_max_flows},
    {"frag-max-per-source", required_argument, nullptr, o_frag_max_per_source},
    {"frag-max-bytes", required_argument, nullptr, o_frag_max_bytes},
    {"address", required_argument, nullptr, o_address},
    {"template-state", required_argument, nullptr, o_template_state},
    {"template-state-interval", required_argument, nullptr, o_template_state_interval},
    {"output", required_argument, nullptr, o_output},
    {"json-out", required_argument, nullptr, o_json_out},
    {"json-roll-bytes", required_argument, nullptr, o_json_roll_bytes},
    {"sink-discard", no_argument, nullptr, o_sink_discard},
    {"sink-delay-us", required_argument, nullptr, o_sink_delay_us},
    {"stats-interval", required_argument, nullptr, o_stats_interval},
    {"stats-json", required_argument, nullptr, o_stats_json},
    {"stats-json-interval", required_argument, nullptr, o_stats_json_interval},
    {"duration", required_argument, nullptr, o_duration},
    {"shutdown-timeout", required_argument, nullptr, o_shutdown_timeout},
    {"sampling-override", required_argument, nullptr, o_sampling_override},
    {"log-level", required_argument, nullptr, o_log_level},
    {"config", required_argument, nullptr, o_config},
    {"check-config", required_argument, nullptr, o_check_config},
    {"extrapolate", no_argument, nullptr, o_extrapolate},
    {"extrapolate-window", required_argument, nullptr, o_extrapolate_window},
    {"extrapolate-min-factor", required_argument, nullptr, o_extrapolate_min_factor},
    {"extrapolate-max-factor", required_argument, nullptr, o_extrapolate_max_factor},
    {"extrapolate-interfaces", required_argument, nullptr, o_extrapolate_interfaces},
    {"snmp-exporter", required_argument, nullptr, o_snmp_exporter},
    {"rules", required_argument, nullptr, o_rules},
    {"control-socket", required_argument, nullptr, o_control_socket},
    {"control-group", required_argument, nullptr, o_control_group},
    {"control-admin-group", required_argument, nullptr, o_control_admin_group},
    {"metrics-listen", required_argument, nullptr, o_metrics_listen},
    {"metrics-max-exporters", required_argument, nullptr, o_metrics_max_exporters},
    {"enrich-inventory", required_argument, nullptr, o_enrich_inventory},
    {"enrich-mmdb", required_argument, nullptr, o_enrich_mmdb},
    {"enrich-prefix", required_argument, nullptr, o_enrich_prefix},
    {"enrich-exporters", required_argument, nullptr, o_enrich_exporters},
    {"enrich-interfaces", required_argument, nullptr, o_enrich_interfaces},
    {"enrich-key", required_argument, nullptr, o_enrich_key},
    {"enrich-refresh", required_argument, nullptr, o_enrich_refresh},
    {"help", no_argument, nullptr, 'h'},
    {nullptr, 0, nullptr, 0},
};

// The flag as the user typed it, for messages.
std::string flag_name(int id) {
    for (const option& o : k_options)
        if (o.name != nullptr && o.val == id) return std::string("--") + o.name;
    return "?";
}

int parse_proto(const std::string& flag, std::string_view s) {
    if (s == "v5") return int(decode::protocol::netflow_v5);
    if (s == "v9") return int(decode::protocol::netflow_v9);
    if (s == "ipfix") return int(decode::protocol::ipfix);
    if (s == "sflow") return int(decode::protocol::sflow_5);
    if (s == "auto") return int(decode::protocol::auto_detect);
    if (s == "off") return -1;
    throw usage_error(flag, "unknown protocol '" + std::string(s) + "' (v5|v9|ipfix|sflow|auto|off)");
}

// Largest accepted duration: a day is far beyond any interval anyone means,
// and keeps seconds * tsc_hz well inside 64 bits.
constexpr double k_max_seconds = 86400.0 * 365;

}  // namespace

uint64_t parse_unsigned(const std::string& flag, const std::string& s, uint64_t min, uint64_t max) {
    uint64_t v = 0;
    const char* end = s.data() + s.size();
    auto [p, ec] = std::from_chars(s.data(), end, v);
    if (s.empty() || ec == std::errc::invalid_argument || p != end)
        throw usage_error(flag, "bad number '" + s + "' (want a whole number)");
    if (ec == std::errc::result_out_of_range || v < min || v > max)
        throw usage_error(flag, "'" + s + "' out of range " + std::to_string(min) + ".." + std::to_string(max));
    return v;
}

double parse_seconds(const std::string& flag, const std::string& s) {
    double v = 0;
    const char* end = s.data() + s.size();
    auto [p, ec] = std::from_chars(s.data(), end, v, std::chars_format::fixed);
    if (s.empty() || ec != std::errc{} || p != end || !std::isfinite(v))
        throw usage_error(flag, "bad number of seconds '" + s + "'");
    if (v < 0 || v > k_max_seconds) throw usage_error(flag, "'" + s + "' out of range 0.." + std::to_string(int64_t(k_max_seconds)));
    return v;
}

namespace {

// Whether option `id` adds to a list (a later source replaces the whole list).
// A new repeatable flag goes in both functions below.
bool repeatable(int id) {
    switch (id) {
    case o_pcap:
    case o_port:
    case o_port_map:
    case o_address:
    case o_sampling_override:
    case o_snmp_exporter:
    case o_enrich_inventory:
    case o_enrich_mmdb:
    case o_enrich_prefix:
    case o_enrich_key:
    case o_output: return true;
    default: return false;
    }
}

void clear_list(options& o, int id) {
    switch (id) {
    case o_pcap: o.pcaps.clear(); break;
    case o_port: o.ports.clear(); break;
    case o_port_map: o.port_map.clear(); break;
    case o_address: o.addresses.clear(); break;
    case o_sampling_override: o.sampling_overrides.clear(); break;
    case o_output: o.outputs.clear(); break;
    case o_snmp_exporter: o.snmp.agents.clear(); break;
    case o_enrich_inventory: o.enrich.inventories.clear(); break;
    case o_enrich_mmdb: o.enrich.mmdbs.clear(); break;
    case o_enrich_prefix: o.enrich.static_prefixes.clear(); break;
    case o_enrich_key: o.enrich.custom_keys.clear(); break;
    default: break;
    }
}

// argv's flags over r.opt, without the checks after the last one. With
// `replace_lists`, the first use of a repeatable flag clears the list r.opt held.
void parse_flags(parsed& r, int argc, char** argv, bool replace_lists) {
    options& o = r.opt;
    std::vector<int> seen;  // repeatable flags met so far
    opterr = 0;  // our own messages
    optind = 0;  // glibc: 0 re-initialises getopt completely (parse may run more than once)
    int id;
    int index = -1;
    // Leading ':' reports a missing value as ':' instead of '?'.
    while ((id = getopt_long(argc, argv, ":h", k_options, &index)) != -1) {
        const std::string flag = flag_name(id);
        const std::string val = optarg ? optarg : "";
        auto num = [&](uint64_t min, uint64_t max) { return parse_unsigned(flag, val, min, max); };
        if (replace_lists && repeatable(id) && std::find(seen.begin(), seen.end(), id) == seen.end()) {
            seen.push_back(id);
            clear_list(o, id);
        }
        switch (id) {
        case 'h': r.help = true; return;
        case ':': throw usage_error(argv[optind - 1], "needs a value");
        case '?': {
            const std::string bad = optopt ? flag_name(optopt) : std::string(argv[optind - 1]);
            if (optopt && bad != "?") throw usage_error(bad, "takes no value");
            throw usage_error(argv[optind - 1], "unknown option");
        }
        case o_pcap:
            if (val.find(',') != std::string::npos) throw usage_error(flag, "file names with ',' cannot be passed to net_pcap");
            o.pcaps.push_back(val);
            break;
        case o_port: o.ports.push_back(val); break;
        case o_queues: o.queues = unsigned(num(1, 64)); break;
        case o_sink_cores: o.sinks = unsigned(num(1, worker::k_max_sinks)); break;
        case o_ring_size:
            o.ring_size = unsigned(num(64, 1u << 30));
            if (o.ring_size & (o.ring_size - 1)) throw usage_error(flag, "'" + val + "' is not a power of two >= 64");
            break;
        case o_ring_full:
            if (val != "drop" && val != "wait") throw usage_error(flag, "'" + val + "': want drop or wait");
            o.ring_full_wait = val == "wait";
            break;
        case o_eal: o.eal = val; break;
        case o_port_map: {
            const auto eq = val.find('=');
            if (eq == std::string::npos) throw usage_error(flag, "want PORT=PROTO, got '" + val + "'");
            o.port_map.emplace_back(uint16_t(parse_unsigned(flag, val.substr(0, eq), 0, 65535)),
                                    parse_proto(flag, std::string_view(val).substr(eq + 1)));
            break;
        }
        case o_max_exporters: o.max_exporters = uint32_t(num(1, UINT32_MAX)); break;
        case o_decoder_limit: {
            std::string e;
            if (!decode::parse_decoder_limit(val, o.limits, &e)) throw usage_error(flag, e);
            // Only a max_exporters limit replaces --max-exporters (or the file's decoder.max_exporters).
            if (val.rfind("max_exporters=", 0) == 0) o.max_exporters = o.limits.max_exporters;
            break;
        }
        case o_verify_udp: o.verify_udp = true; break;
        case o_frag_timeout: o.frag.timeout_ms = uint32_t(num(1, UINT32_MAX)); break;
        case o_frag_max_flows: o.frag.max_flows = uint32_t(num(1, reassembly::k_max_max_flows)); break;
        case o_frag_max_per_source: o.frag.max_per_source = uint32_t(num(1, UINT32_MAX)); break;
        case o_frag_max_bytes:
            o.frag.max_bytes = uint32_t(num(reassembly::k_min_max_bytes, reassembly::k_max_max_bytes));
            break;
        case o_address: o.addresses.push_back(val); break;
        case o_sampling_override: {
            const auto eq = val.find('=');
            if (eq == std::string::npos) throw usage_error(flag, "want ADDR=RATE, got '" + val + "'");
            options::sampling_override so;
            uint8_t b[16];
            const std::string a = val.substr(0, eq);
            if (inet_pton(AF_INET, a.c_str(), b) == 1) decode::set_ipv4(so.addr.data(), b);
            else if (inet_pton(AF_INET6, a.c_str(), b) == 1) decode::set_ipv6(so.addr.data(), b);
            else throw usage_error(flag, "'" + a + "' is not an IPv4 or IPv6 address");
            so.rate = uint32_t(parse_unsigned(flag, val.substr(eq + 1), 0, UINT32_MAX));
            o.sampling_overrides.push_back(so);
            break;
        }
        case o_extrapolate: o.extrapolate.enabled = true; break;
        case o_extrapolate_window: {
            const double w = parse_seconds(flag, val);
            if (w <= 0) throw usage_error(flag, "must be > 0");
            o.extrapolate.window_ns = uint64_t(w * 1e9);
            break;
        }
        case o_extrapolate_min_factor: o.extrapolate.min_factor = parse_seconds(flag, val); break;
        case o_extrapolate_max_factor: o.extrapolate.max_factor = parse_seconds(flag, val); break;
        case o_extrapolate_interfaces: o.extrapolate.max_interfaces = uint32_t(num(enrich::extrapolate::k_ways, 1u << 24)); break;
        case o_snmp_exporter:
            try {
                o.snmp.agents.push_back(enrich::snmp::parse_agent_spec(val));
            } catch (const enrich::snmp::spec_error& e) {
                throw usage_error(flag, e.what());
            }
            break;
        case o_rules: o.rules = val; break;
        case o_control_socket:
            if (val.empty() || val.size() > 107) throw usage_error(flag, "a path of 1 to 107 bytes, or none");
            o.control_socket = val;
            o.control_socket_given = true;
            break;
        case o_control_group: o.control_group = val; break;
        case o_control_admin_group: o.control_admin_group = val; break;
        case o_metrics_listen:
            try {
                (void)metrics::parse_listen(val);
            } catch (const std::invalid_argument& e) {
                throw usage_error(flag, e.what());
            }
            o.metrics_listen = val;
            break;
        case o_metrics_max_exporters: o.metrics_max_exporters = uint32_t(num(0, 1000000)); break;
        case o_template_state: o.template_state = val; break;
        case o_template_state_interval: o.template_state_interval = parse_seconds(flag, val); break;
        case o_output:
            try {
                o.outputs.push_back(sinks::parse_output_spec(val, unsigned(o.outputs.size())));
            } catch (const sinks::spec_error& e) {
                throw usage_error(usage_error::named_t{}, flag, e.what());
            }
            break;
        case o_json_out: o.json_out = val; break;
        case o_json_roll_bytes: o.json_roll_bytes = num(0, UINT64_MAX); break;
        case o_sink_discard: o.discard = true; break;
        case o_sink_delay_us: o.sink.delay_us = uint32_t(num(0, 10'000'000)); break;
        case o_stats_interval:
            o.stats_interval = parse_seconds(flag, val);
            if (o.stats_interval <= 0) throw usage_error(flag, "must be > 0");
            break;
        case o_stats_json: o.stats_json = val; break;
        case o_stats_json_interval: o.stats_json_interval = parse_seconds(flag, val); break;
        case o_duration: o.duration = parse_seconds(flag, val); break;
        case o_shutdown_timeout:
            o.shutdown_timeout = parse_seconds(flag, val);
            if (o.shutdown_timeout <= 0) throw usage_error(flag, "must be > 0");
            break;
        case o_log_level:
            if (log_level_value(val) == 0)
                throw usage_error(flag, "'" + val + "': want emerg, alert, crit, err, warning, notice, info or debug");
            o.log_level = val;
            break;
        case o_config: o.config_file = val; break;
        case o_check_config:
            o.config_file = val;
            o.check_config = true;
            break;
        case o_enrich_inventory:
        case o_enrich_mmdb:
        case o_enrich_exporters:
        case o_enrich_interfaces:
            try {
                if (id == o_enrich_mmdb) {
                    o.enrich.mmdbs.push_back(enrich::parse_mmdb_spec(val));
                } else {
                    enrich::inventory_spec is = enrich::parse_inventory_spec(val);
                    if (id == o_enrich_inventory) {
                        o.enrich.inventories.push_back(is);
                    } else if (id == o_enrich_exporters) {
                        o.enrich.exporters_file = is.path;
                        o.enrich.exporters_opt = is.opt;
                    } else {
                        o.enrich.interfaces_file = is.path;
                        o.enrich.interfaces_opt = is.opt;
                    }
                }
            } catch (const std::invalid_argument& e) {
                throw usage_error(flag, e.what());
            }
            break;
        case o_enrich_prefix: {
            enrich::prefix p;
            const auto eq = val.find('=');
            if (eq == std::string::npos || !enrich::parse_prefix(val.substr(0, eq), p))
                throw usage_error(flag, "want PREFIX=KEY:VALUE,..., got '" + val + "'");
            o.enrich.static_prefixes.push_back(val);  // keys checked when the tables are built
            break;
        }
        case o_enrich_key: o.enrich.custom_keys.push_back(val); break;
        case o_enrich_refresh: o.enrich_refresh = parse_seconds(flag, val); break;
        default: throw usage_error(argv[optind - 1], "unknown option");
        }
    }
    if (optind < argc) throw usage_error(argv[optind], "unexpected argument");
}

}  // namespace

std::vector<option_info> option_table() {
    std::vector<option_info> t;
    for (const option& o : k_options)
        if (o.name != nullptr) t.push_back({o.name, o.has_arg != no_argument, repeatable(o.val)});
    return t;
}

unsigned log_level_value(const std::string& name) {
    static constexpr const char* levels[] = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};
    for (unsigned i = 0; i < std::size(levels); ++i)
        if (name == levels[i]) return i + 1;
    return 0;
}

parsed parse(int argc, char** argv, const options* base) {
    parsed r;
    if (base != nullptr) r.opt = *base;
    parse_flags(r, argc, argv, base != nullptr);
    if (!r.help) finish(r.opt);
    return r;
}

// One flag through parse_flags (the very same switch): "--name=value" as its own command line.
void apply_option(options& o, const std::string& name, const std::string& value) {
    const option* k = nullptr;
    for (const option& x : k_options)
        if (x.name != nullptr && name == x.name && x.val != 'h') k = &x;
    if (k == nullptr) throw usage_error("--" + name, "unknown option");
    std::string a0 = "sluiced", a1 = "--" + name + (k->has_arg != no_argument ? "=" + value : "");
    char* argv[] = {a0.data(), a1.data(), nullptr};
    parsed r;
    r.opt = std::move(o);
    try {
        parse_flags(r, 2, argv, false);
    } catch (...) {
        o = std::move(r.opt);
        throw;
    }
    o = std::move(r.opt);
}

void finish(options& o) {
    if (o.pcaps.empty() && o.ports.empty()) throw usage_error("", "no input: give --pcap FILE or --port DEVARGS");
    if (!(o.extrapolate.min_factor > 0 && o.extrapolate.min_factor <= 1 && o.extrapolate.max_factor >= 1))
        throw usage_error("--extrapolate-min-factor", "want 0 < min <= 1 <= max");
    if (o.stats_json_interval > 0 && o.stats_json.empty())
        throw usage_error("--stats-json-interval", "needs --stats-json FILE");
    if (!o.discard) {
        // --json-out PATH = one unfiltered JSON output; stdout when no output is given.
        if (!o.json_out.empty() || o.outputs.empty()) {
            sinks::output_config j;
            j.name = "json";
            j.file.path = o.json_out.empty() ? "-" : o.json_out;
            j.file.roll_bytes = o.json_roll_bytes;
            o.outputs.insert(o.outputs.begin(), j);
        }
        o.sink.outputs = o.outputs;
        try {
            sinks::check_outputs(o.sink.outputs);
            for (const auto& out : o.sink.outputs)  // the sink joins within --shutdown-timeout, its drain included
                if (out.writer == sinks::writer_kind::hdfs && out.hdfs.webhdfs && out.hdfs.drain_seconds >= o.shutdown_timeout)
                    throw sinks::spec_error("--output " + out.name + ": key 'drain_s': must be shorter than "
                                            "--shutdown-timeout (" + std::to_string(int(o.shutdown_timeout)) + " s)");
        } catch (const sinks::spec_error& e) {
            throw usage_error(usage_error::named_t{}, "--output", e.what());
        }
    }
}

}  // namespace sluice::control::cli
