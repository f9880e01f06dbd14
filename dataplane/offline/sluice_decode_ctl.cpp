// SPDX-License-Identifier: Apache-2.0
// sluice-decode: decode captures of flow exports offline, like `nfdump -r` or
// tshark for flows. Same decoders as the appliance; one record per line on
// stdout (JSON lines or an aligned table); per-exporter stats on stderr.
#include <arpa/inet.h>
#include <sys/stat.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "dataplane/decode/record_format.hpp"
#include "offline_reader.hpp"

using namespace sluice;

namespace {

constexpr const char* usage_text =
    "usage: sluice-decode [options] FILE.pcap|FILE.pcapng|- ...\n"
    "Decode captures of NetFlow v5/v9, IPFIX and sFlow v5 exports.\n"
    "\n"
    "  --json                 JSON lines, one record per line (default)\n"
    "  --table                aligned table\n"
    "  --port-map PORT=PROTO  decode UDP port PORT as v5|v9|ipfix|sflow|auto (default: auto\n"
    "                         for every port, from the version field); repeatable\n"
    "  --sampling-override ADDR=RATE  force 1-in-RATE for exporter ADDR; repeatable\n"
    "  --decoder-limit NAME=VALUE     set a decoder limit (docs/configuration.md lists them:\n"
    "                         max_exporters, records_per_datagram, exporter_idle_timeout_ns=30s, ...); repeatable\n"
    "  --stats-json FILE      also write the final stats as JSON to FILE\n"
    "  --payloads-out DIR     write every UDP payload to DIR as NNNNNNNN-HASH (capture order, content hash)\n"
    "  --quiet-stats          no stats on stderr\n"
    "  --frag-timeout-ms N    fragment reassembly timeout, by capture time (default 30000)\n"
    "  --frag-max-flows N     incomplete datagrams held at once (default 256)\n"
    "  --frag-max-per-source N  incomplete datagrams per source address (default 16)\n"
    "  --frag-max-bytes N     fragment storage in bytes (default 8388608, at least 262144)\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0 when every file was read (decode errors are counted, not fatal),\n"
    "1 when a file could not be read, 2 on bad usage.\n";

bool parse_proto(std::string_view s, decode::protocol& p) {
    if (s == "v5") p = decode::protocol::netflow_v5;
    else if (s == "v9") p = decode::protocol::netflow_v9;
    else if (s == "ipfix") p = decode::protocol::ipfix;
    else if (s == "sflow") p = decode::protocol::sflow_5;
    else if (s == "auto") p = decode::protocol::auto_detect;
    else return false;
    return true;
}

bool parse_address(const std::string& s, uint8_t out[16]) {
    uint8_t b[16];
    if (inet_pton(AF_INET, s.c_str(), b) == 1) {
        decode::set_ipv4(out, b);
        return true;
    }
    if (inet_pton(AF_INET6, s.c_str(), b) == 1) {
        decode::set_ipv6(out, b);
        return true;
    }
    return false;
}

template <typename T>
bool parse_uint(std::string_view s, T& v) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc{} && p == s.data() + s.size();
}

std::string exporter_name(const uint8_t a[16]) {
    char t[46];
    const std::size_t n = decode::format_address(a, t);
    return n ? std::string(t, n) : std::string("0.0.0.0");
}

// Writes stats as text (stderr) or JSON.
void write_stats(FILE* f, offline::offline_reader& reader, bool json) {
    const auto& st = reader.stats();
    if (json) std::fprintf(f, "{\"frames\":%llu,\"datagrams\":%llu,\"records\":%llu,\"unsupported_link_type\":%llu,\"frames_by_class\":{",
                           (unsigned long long)st.frames, (unsigned long long)st.datagrams_decoded,
                           (unsigned long long)st.records, (unsigned long long)st.unsupported_link_type);
    else std::fprintf(f, "frames %llu, datagrams %llu, records %llu\n", (unsigned long long)st.frames,
                      (unsigned long long)st.datagrams_decoded, (unsigned long long)st.records);
    bool first = true;
    for (std::size_t i = 0; i < parse::frame_class_count; ++i) {
        const auto name = parse::frame_class_name(static_cast<parse::frame_class>(i));
        if (json) {
            std::fprintf(f, "%s\"%.*s\":%llu", first ? "" : ",", int(name.size()), name.data(),
                         (unsigned long long)st.by_class[i]);
            first = false;
        } else if (st.by_class[i] && i != 0) {
            std::fprintf(f, "  frames %-24.*s %llu\n", int(name.size()), name.data(), (unsigned long long)st.by_class[i]);
        }
    }
    if (json) std::fprintf(f, "},\"reassembly\":{");
    first = true;
    for (std::size_t i = 0; i < reassembly::counter_count; ++i) {
        const auto name = reassembly::counter_table[i].name;
        const auto v = reader.reassembly_counters().at(i);
        if (json) {
            std::fprintf(f, "%s\"%.*s\":%llu", first ? "" : ",", int(name.size()), name.data(), (unsigned long long)v);
            first = false;
        } else if (v) {
            std::fprintf(f, "  reassembly %-20.*s %llu\n", int(name.size()), name.data(), (unsigned long long)v);
        }
    }
    const decode::exporter_table& table = reader.exporters();
    const decode::table_counter_block tc = table.table_counters();
    const auto refused = table.refused();
    if (json) {
        std::fprintf(f, "},\"exporters_rejected_table_full\":%llu,\"exporter_table\":{",
                     (unsigned long long)table.rejected_table_full);
        for (std::size_t i = 0; i < decode::table_counter_count; ++i)
            std::fprintf(f, "%s\"%.*s\":%llu", i ? "," : "", int(decode::table_counter_table[i].name.size()),
                         decode::table_counter_table[i].name.data(), (unsigned long long)tc.at(i));
        std::fprintf(f, "},\"refused\":[");
        for (std::size_t i = 0; i < refused.size(); ++i) {
            const auto cause = decode::table_counter_table[std::size_t(refused[i].cause)].name;
            std::fprintf(f, "%s{\"exporter\":\"%s\",\"datagrams\":%llu,\"cause\":\"%.*s\"}", i ? "," : "",
                         exporter_name(refused[i].addr).c_str(), (unsigned long long)refused[i].datagrams,
                         int(cause.size()), cause.data());
        }
        std::fprintf(f, "],\"exporters\":{");
    } else {
        for (std::size_t i = 0; i < decode::table_counter_count; ++i)
            if (tc.at(i) != 0)
                std::fprintf(f, "  exporter table %-32.*s %llu\n", int(decode::table_counter_table[i].name.size()),
                             decode::table_counter_table[i].name.data(), (unsigned long long)tc.at(i));
        for (const auto& r : refused) {
            const auto cause = decode::table_counter_table[std::size_t(r.cause)].name;
            std::fprintf(f, "refused %s: datagrams %llu (%.*s)\n", exporter_name(r.addr).c_str(),
                         (unsigned long long)r.datagrams, int(cause.size()), cause.data());
        }
    }
    first = true;
    reader.exporters().for_each([&](const decode::exporter_state& e) {
        const std::string name = exporter_name(e.addr);
        if (json) {
            std::fprintf(f, "%s\"%s\":{", first ? "" : ",", name.c_str());
            first = false;
            bool ffirst = true;
            for (std::size_t i = 0; i < decode::counter_count; ++i) {
                const auto& info = decode::counter_table[i];
                std::fprintf(f, "%s\"%.*s\":%llu", ffirst ? "" : ",", int(info.name.size()), info.name.data(),
                             (unsigned long long)e.counters.v[i]);
                ffirst = false;
            }
            std::fprintf(f, "}");
        } else {
            std::fprintf(f, "exporter %s: datagrams %llu, records %llu, counter records %llu, errors %llu\n",
                         name.c_str(), (unsigned long long)e.counters.get(decode::counter::datagrams),
                         (unsigned long long)e.counters.get(decode::counter::flow_records),
                         (unsigned long long)e.counters.get(decode::counter::counter_records),
                         (unsigned long long)e.counters.errors());
            for (std::size_t i = 4; i < decode::counter_count; ++i)
                if (e.counters.v[i])
                    std::fprintf(f, "  %-32.*s %llu\n", int(decode::counter_table[i].name.size()),
                                 decode::counter_table[i].name.data(), (unsigned long long)e.counters.v[i]);
        }
    });
    // Exporters that expired (idle past exporter_idle_timeout_ns in capture
    // time) keep their counters here.
    decode::counter_block retired;
    table.read_live([](const decode::exporter_view&) {}, &retired);
    bool any_retired = false;
    for (std::size_t i = 0; i < decode::counter_count; ++i) any_retired |= retired.v[i] != 0;
    if (json) {
        std::fprintf(f, "},\"exporters_retired\":{");
        for (std::size_t i = 0; i < decode::counter_count; ++i)
            std::fprintf(f, "%s\"%.*s\":%llu", i ? "," : "", int(decode::counter_table[i].name.size()),
                         decode::counter_table[i].name.data(), (unsigned long long)retired.v[i]);
        std::fprintf(f, "}}\n");
    } else if (any_retired) {
        std::fprintf(f, "expired exporters: datagrams %llu, records %llu, errors %llu\n",
                     (unsigned long long)retired.get(decode::counter::datagrams),
                     (unsigned long long)retired.get(decode::counter::flow_records),
                     (unsigned long long)retired.errors());
    }
}

uint64_t fnv1a(std::span<const uint8_t> b) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint8_t c : b) h = (h ^ c) * 0x100000001b3ull;
    return h;
}

}  // namespace

int main(int argc, char** argv) {
    bool table = false, quiet = false;
    std::string stats_json, payloads_dir;
    std::vector<std::string> files;
    offline::reader_options opts;
    std::vector<std::pair<std::string, uint32_t>> overrides;

    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        auto need = [&](const char* what) -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "sluice-decode: %s needs a value\n", what);
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--json") table = false;
        else if (a == "--table") table = true;
        else if (a == "--quiet-stats") quiet = true;
        else if (a == "--stats-json") stats_json = need("--stats-json");
        else if (a == "--payloads-out") payloads_dir = need("--payloads-out");
        else if (a == "--frag-timeout-ms" || a == "--frag-max-flows" || a == "--frag-max-per-source" ||
                 a == "--frag-max-bytes") {
            const std::string v = need(argv[i]);
            uint32_t n;
            const bool ok = parse_uint(std::string_view(v), n);
            if (a == "--frag-timeout-ms" && ok) opts.frag.timeout_ms = n;
            else if (a == "--frag-max-flows" && ok && n >= 1 && n <= reassembly::k_max_max_flows) opts.frag.max_flows = n;
            else if (a == "--frag-max-per-source" && ok && n >= 1) opts.frag.max_per_source = n;
            else if (a == "--frag-max-bytes" && ok && n >= reassembly::k_min_max_bytes && n <= reassembly::k_max_max_bytes)
                opts.frag.max_bytes = n;
            else {
                std::fprintf(stderr, "sluice-decode: bad %s '%s'\n", argv[i - 1], v.c_str());
                return 2;
            }
        }
        else if (a == "--port-map") {
            const std::string v = need("--port-map");
            const auto eq = v.find('=');
            uint16_t port;
            decode::protocol p;
            if (eq == std::string::npos || !parse_uint(std::string_view(v).substr(0, eq), port) ||
                !parse_proto(std::string_view(v).substr(eq + 1), p)) {
                std::fprintf(stderr, "sluice-decode: bad --port-map '%s' (want PORT=v5|v9|ipfix|sflow|auto)\n", v.c_str());
                return 2;
            }
            opts.port_map[port] = p;
        } else if (a == "--sampling-override") {
            const std::string v = need("--sampling-override");
            const auto eq = v.rfind('=');
            uint32_t rate;
            uint8_t addr[16];
            if (eq == std::string::npos || !parse_address(v.substr(0, eq), addr) ||
                !parse_uint(std::string_view(v).substr(eq + 1), rate)) {
                std::fprintf(stderr, "sluice-decode: bad --sampling-override '%s' (want ADDR=RATE)\n", v.c_str());
                return 2;
            }
            overrides.emplace_back(v.substr(0, eq), rate);
        } else if (a == "--decoder-limit") {
            const std::string v = need("--decoder-limit");
            std::string err;
            if (!decode::parse_decoder_limit(v, opts.limits, &err)) {
                std::fprintf(stderr, "sluice-decode: bad --decoder-limit: %s\n", err.c_str());
                return 2;
            }
        } else if (a == "-h" || a == "--help") {
            std::fputs(usage_text, stdout);
            return 0;
        } else if (a.size() > 1 && a[0] == '-' && a != "-") {
            std::fprintf(stderr, "sluice-decode: unknown option '%s'\n%s", argv[i], usage_text);
            return 2;
        } else {
            files.emplace_back(a);
        }
    }
    if (files.empty()) {
        std::fputs(usage_text, stderr);
        return 2;
    }
    if (!payloads_dir.empty()) mkdir(payloads_dir.c_str(), 0755);

    offline::offline_reader reader(opts);
    for (const auto& [a, rate] : overrides) {
        uint8_t addr[16];
        parse_address(a, addr);
        reader.exporters().set_sampling_override(addr, rate);
    }

    static char outbuf[1 << 16];
    std::setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    if (table) std::printf("%.*s\n", int(decode::table_header().size()), decode::table_header().data());
    char line[decode::max_json_size + 1];
    auto on_records = [&](std::span<const decode::flow_record> recs) {
        for (const auto& r : recs) {
            std::size_t n = table ? decode::format_table_row(r, line, sizeof line - 1)
                                  : decode::format_json(r, line, sizeof line - 1);
            line[n] = '\n';
            std::fwrite(line, 1, n + 1, stdout);
        }
    };
    offline::offline_reader::payload_fn on_payload;
    uint64_t payload_index = 0;
    if (!payloads_dir.empty())
        on_payload = [&](std::span<const uint8_t> p) {
            char name[48];
            std::snprintf(name, sizeof name, "%08llu-%016llx", (unsigned long long)payload_index++,
                          (unsigned long long)fnv1a(p));
            std::ofstream(payloads_dir + "/" + name, std::ios::binary)
                .write(reinterpret_cast<const char*>(p.data()), std::streamsize(p.size()));
        };

    int rc = 0;
    for (const auto& file : files) {
        std::string err;
        if (!reader.read_file(file, on_records, &err, on_payload)) {
            std::fprintf(stderr, "sluice-decode: %s\n", err.c_str());
            rc = 1;
        }
    }
    reader.finish();
    std::fflush(stdout);
    if (!quiet) write_stats(stderr, reader, false);
    if (!stats_json.empty()) {
        FILE* f = std::fopen(stats_json.c_str(), "w");
        if (!f) {
            std::fprintf(stderr, "sluice-decode: cannot write %s: %s\n", stats_json.c_str(), std::strerror(errno));
            return 1;
        }
        write_stats(f, reader, true);
        std::fclose(f);
    }
    return rc;
}
