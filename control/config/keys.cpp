// SPDX-License-Identifier: Apache-2.0
// The key table (see keys.hpp): every TOML key, its flag, type, default, and whether a reload applies it.
#include "keys.hpp"

#include <array>

namespace sluice::control::config {

namespace {

using T = value_type;
constexpr change R = change::restart;
constexpr change L = change::live;

// Order = the order of docs/config.md. One row per key.
constexpr key_info k_keys[] = {
    {"eal.args", "eal", T::string, "`--no-huge -m 512 --no-pci --file-prefix sluiced-<pid> --lcores <map>`", R,
     "EAL arguments instead of the defaults (split on spaces); the lcore map goes here (`--lcores 0@0,1@1,...`)"},
    {"input.pcap", "pcap", T::string_list, "`[]`", R,
     "capture files replayed through net_pcap vdevs; sluiced exits when every file is consumed"},
    {"port", "", T::table_array, "none", R, "`[[port]]`: one table per port (PCI NIC or vdev)"},
    {"port.devargs", "port", T::string, "required", R,
     "a PCI address (`0000:01:00.0`) or vdev devargs (`net_af_packet0,iface=eth1`, `net_ring0`, ...)"},
    {"ports.queues", "queues", T::integer_or_auto, "1", R,
     "rx queues (= workers) per port, 1..64, RSS on the source address; `auto` = (CPUs this process may use - 1 "
     "control - sink cores) / ports, at least 1"},
    {"sink.cores", "sink-cores", T::integer, "1", R, "sink lcores, 1..16; an exporter always goes to the same sink"},
    {"sink.ring_size", "ring-size", T::integer, "4096", R, "records per worker->sink ring, a power of two >= 64"},
    {"sink.ring_full", "ring-full", T::string, "`drop` with ports, `wait` with only `input.pcap`", R,
     "a full ring: `drop` (counted ring_full) or `wait` for room (lossless replays)"},
    {"sink.discard", "sink-discard", T::boolean, "false", R,
     "sinks drain the rings and discard the records (benchmarks); conflicts with `[[output]]` and `json_out.path`"},
    {"sink.delay_us", "sink-delay-us", T::integer, "0", R,
     "TEST KNOB: the sink sleeps this many us after each batch (provokes ring_full)"},
    {"collector.addresses", "address", T::string_list, "`[]`", R,
     "`IP[/MAC]` collector addresses answered by the exception path (ARP, ping, ND)"},
    {"collector.udp_ports", "", T::map, "2055, 9995, 9996 = `auto`; 4739 = `ipfix`; 6343 = `sflow`", R,
     "table of UDP port = protocol; adds to (or overrides) the defaults"},
    {"collector.udp_ports.*", "port-map", T::string, "see above", R,
     "`PORT = PROTO`, PROTO one of `v5`, `v9`, `ipfix`, `sflow`, `auto`, `off` (`off` drops the port)"},
    {"collector.verify_udp_checksum", "verify-udp-checksum", T::boolean, "false", R,
     "verify UDP checksums in software when the NIC gives no verdict"},
    {"decoder.max_exporters", "max-exporters", T::integer, "4096", R, "exporters per worker, >= 1"},
    {"decoder.limits", "", T::map, "see docs/configuration.md", R,
     "table of decoder limit = value, names as `--decoder-limit` (docs/configuration.md)"},
    {"decoder.limits.*", "decoder-limit", T::any, "see docs/configuration.md", R,
     "e.g. `records_per_datagram = 1000`, `exporter_idle_timeout_ns = \"30s\"` (`_ns` limits take s, ms, us, ns)"},
    {"reassembly.timeout_ms", "frag-timeout-ms", T::integer, "30000", R, "IP reassembly timeout, >= 1"},
    {"reassembly.max_flows", "frag-max-flows", T::integer, "256", R, "incomplete datagrams per worker, 1..1048576"},
    {"reassembly.max_per_source", "frag-max-per-source", T::integer, "16", R,
     "incomplete datagrams per source address per worker, >= 1"},
    {"reassembly.max_bytes", "frag-max-bytes", T::integer, "8388608", R,
     "fragment storage per worker in bytes, 262144..1073741824"},
    {"exporter", "", T::table_array, "none", R, "`[[exporter]]`: one table per known exporter"},
    {"exporter.address", "", T::string, "required", L,
     "the exporter's IPv4 or IPv6 address (unique); adding or removing a table is applied through its override"},
    {"exporter.name", "", T::string, "none", L,
     "a unique name; checked and counted by `--check-config`, not used by the dataplane yet (so nothing to restart)"},
    {"exporter.group", "", T::string, "none", L, "a group name; checked, not used by the dataplane yet"},
    {"exporter.sampling_override", "sampling-override", T::integer, "none", L,
     "force 1-in-N sampling for this exporter's records (0 = none); a reload sends the change to every worker"},
    {"template_state.file", "template-state", T::string, "none", R,
     "v9/IPFIX templates and sampling rates: loaded at start, saved periodically and at a stop"},
    {"template_state.interval", "template-state-interval", T::seconds, "60", R,
     "seconds between periodic saves; 0 = only at stop"},
    {"output", "", T::table_array, "none", R,
     "`[[output]]`: one table per output; adding or removing one needs a restart"},
    {"output.*", "output", T::any, "per key", R,
     "every key of the `--output` spec (`name`, `path`, `format`, `filter`, `sample`, `roll_bytes`, `flush_ms`), "
     "passed through to its parser (docs/configuration.md, \"Outputs\")"},
    {"output.filter", "output", T::string, "every record", L,
     "the output's filter expression; a reload swaps it from the sink's next batch on"},
    {"output.sample", "output", T::integer, "1", L, "keep 1 record in N; a reload swaps it from the sink's next batch on"},
    {"json_out.path", "json-out", T::string, "`-` (stdout) when no `[[output]]`", R,
     "shorthand for an unfiltered JSON output named `json`"},
    {"json_out.roll_bytes", "json-roll-bytes", T::integer, "1073741824", R, "roll size of `json_out.path`; 0 = never"},
    {"stats.interval", "stats-interval", T::seconds, "1", R, "summary line period in seconds, > 0"},
    {"stats.json", "stats-json", T::string, "none", R, "write the final stats as JSON to this file"},
    {"stats.json_interval", "stats-json-interval", T::seconds, "0", R,
     "also rewrite `stats.json` every this many seconds while running (0 = off; needs `stats.json`)"},
    {"run.duration", "duration", T::seconds, "0", R, "stop after this many seconds (0 = run until a signal)"},
    {"shutdown.timeout", "shutdown-timeout", T::seconds, "10", R,
     "bound on each shutdown join; past it sluiced says so and exits 1"},
    {"log.level", "log-level", T::string, "DPDK's default", L,
     "`emerg`, `alert`, `crit`, `err`, `warning`, `notice`, `info` or `debug` (rte_log's global level)"},
    {"control.socket", "control-socket", T::string, "`/run/sluice/sluiced.sock`", R,
     "the control socket (docs/control-api.md); `none` = off. The default degrades to off with a warning when it "
     "cannot be created; a path given here must work"},
    {"control.group", "control-group", T::string, "none", R,
     "the socket's group: its members may run read-only commands (mode 0660)"},
    {"control.admin_group", "control-admin-group", T::string, "none (root only)", R,
     "members may also run state-changing commands (reload, log-level, flush, shutdown)"},
    {"metrics.listen", "metrics-listen", T::string, "off", R,
     "`[ADDR:]PORT`: serve GET /metrics (Prometheus text) on the control core; a bare port listens on 127.0.0.1"},
    {"metrics.max_exporters", "metrics-max-exporters", T::integer, "256", R,
     "exporters with metrics series of their own; the rest are summed into `exporter=\"_other\"`"},
    {"enrich.inventories", "enrich-inventory", T::string_list, "`[]`", R,
     "inventory files `FILE[,format=json|ndjson|csv][,columns=C1:C2:..]`: prefixes, addresses or ranges with "
     "attributes; earlier files win per field. The files are re-read when they change and on SIGHUP; the list itself "
     "changes at a restart"},
    {"enrich.mmdbs", "enrich-mmdb", T::string_list, "`[]`", R,
     "`.mmdb` files `FILE[,layout=maxmind|ip-location-db][,KEY=a.b.c]` (City, Country, ASN), flattened at build"},
    {"enrich.prefixes", "enrich-prefix", T::string_list, "`[]`", R,
     "static prefixes `PREFIX=KEY:VALUE,...`; they win over every file"},
    {"enrich.exporters", "enrich-exporters", T::string, "none", R,
     "exporter address/subnet -> name, site, region, role, group, tenant, sampling_rate, force"},
    {"enrich.interfaces", "enrich-interfaces", T::string, "none", R,
     "(exporter, ifindex) -> name, description, speed, boundary, connectivity, provider"},
    {"enrich.keys", "enrich-key", T::string_list, "`[]`", R, "custom attribute keys, declared before the first build"},
    {"enrich.refresh", "enrich-refresh", T::seconds, "0", R,
     "also rebuild the tables every this many seconds (0 = on a source file change, SIGHUP or `sluicectl reload "
     "tables`)"},
    {"enrich.extrapolate", "extrapolate", T::boolean, "false", R,
     "give flow records extrapolated bytes/packets: x sampling rate, then x the interface's counter-based factor"},
    {"enrich.extrapolate_window", "extrapolate-window", T::seconds, "30", R,
     "seconds of counter readings per factor window, > 0"},
    {"enrich.extrapolate_min_factor", "extrapolate-min-factor", T::seconds, "0.5", R,
     "lower bound of the interface factor (0 < min <= 1); outside it is clamped and counted"},
    {"enrich.extrapolate_max_factor", "extrapolate-max-factor", T::seconds, "2", R,
     "upper bound of the interface factor (>= 1)"},
    {"enrich.extrapolate_interfaces", "extrapolate-interfaces", T::integer, "8192", R,
     "(exporter, ifIndex) pairs tracked per worker, preallocated (8..16777216)"},
    {"enrich.snmp_exporters", "snmp-exporter", T::string_list, "`[]`", R,
     "IF-MIB pollers: `ADDR[,community=C][,port=N][,interval=S][,timeout=S][,retries=N][,exporter=ADDR]` or v3 "
     "(`version=3,user=U,...`), docs/configuration.md"},
    {"enrich.rules", "rules", T::string, "none", R,
     "classification rules file (enrich/classify/README.md); its content is reloaded whenever it changes (a bad "
     "file keeps the old rules); another path needs a restart"},
};

}  // namespace

std::span<const key_info> key_table() { return k_keys; }

const key_info* find_key(std::string_view path) {
    for (const key_info& k : k_keys)
        if (k.key == path) return &k;
    // Wildcards: "a.*" matches "a.x" (one more segment).
    for (const key_info& k : k_keys) {
        if (!k.key.ends_with(".*")) continue;
        const std::string_view pre = k.key.substr(0, k.key.size() - 1);  // "a."
        if (path.size() > pre.size() && path.starts_with(pre) && path.substr(pre.size()).find('.') == std::string_view::npos)
            return &k;
    }
    return nullptr;
}

const key_info* find_flag(std::string_view flag) {
    for (const key_info& k : k_keys)
        if (!flag.empty() && k.flag == flag) return &k;
    return nullptr;
}

std::string_view type_name(value_type t) {
    switch (t) {
    case T::string: return "string";
    case T::integer: return "integer";
    case T::integer_or_auto: return "integer or \"auto\"";
    case T::seconds: return "seconds (integer or float)";
    case T::boolean: return "boolean";
    case T::string_list: return "array of strings";
    case T::map: return "table";
    case T::table_array: return "array of tables";
    case T::any: return "string, integer or boolean";
    }
    return "?";
}

}  // namespace sluice::control::config
