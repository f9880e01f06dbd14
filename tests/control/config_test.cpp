// SPDX-License-Identifier: Apache-2.0
// The TOML loader: every broken config's messages exactly, the examples, flags over the file, and the docs' key table.
#include "control/config/config.hpp"
#include "control/config/keys.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

using namespace sluice::control;
namespace fs = std::filesystem;

namespace {

const std::string k_root = SLUICE_SOURCE_ROOT;

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// What --check-config reports for a file: the loader's errors or, for a
// file that loads, the start-up checks' (cli::finish) error mapped to the key.
std::vector<std::string> check(const std::string& text, const std::string& name) {
    config::load_result r = config::load_string(text, name);
    if (!r.ok()) return r.errors;
    cli::options o = r.cfg.opt;
    try {
        cli::finish(o);
    } catch (const cli::usage_error& e) {
        return {config::explain(r.cfg, e, {})};
    }
    return config::complete(r.cfg, o, {});
}

cli::options parse_over(const cli::options& base, std::initializer_list<const char*> args) {
    std::vector<std::string> store{"sluiced"};
    for (const char* a : args) store.emplace_back(a);
    std::vector<char*> argv;
    for (auto& s : store) argv.push_back(s.data());
    argv.push_back(nullptr);
    return cli::parse(int(store.size()), argv.data(), &base).opt;
}

// docs/config.md's key table, as the key table gives it.
std::string markdown_table() {
    std::string s = "| key | flag | type | default | reload | meaning |\n|---|---|---|---|---|---|\n";
    for (const config::key_info& k : config::key_table()) {
        std::string type(config::type_name(k.type));
        s += "| `" + std::string(k.key) + "` | " + (k.flag.empty() ? std::string("—") : "`--" + std::string(k.flag) + "`") +
             " | " + type + " | " + std::string(k.def) + " | " +
             (k.when == config::change::live ? "**live**" : "restart") + " | " + std::string(k.doc) + " |\n";
    }
    return s;
}

}  // namespace

// Every file under tests/control/configs/ with its .expected messages, exactly.
TEST(Config, BrokenConfigsReportExactly) {
    const fs::path dir = fs::path(k_root) / "tests/control/configs";
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() != ".toml") continue;
        ++n;
        const std::string name = e.path().filename().string();
        fs::path exp = e.path();
        exp.replace_extension(".expected");
        ASSERT_TRUE(fs::exists(exp)) << name << ": no .expected file";
        std::vector<std::string> want;
        std::istringstream in(slurp(exp.string()));
        for (std::string l; std::getline(in, l);)
            if (!l.empty()) want.push_back(l);
        EXPECT_EQ(check(slurp(e.path().string()), name), want) << name;
    }
    EXPECT_GE(n, 14u);
}

TEST(Config, MissingFile) {
    const config::load_result r = config::load_file("/nonexistent/sluice.toml");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0], "/nonexistent/sluice.toml: cannot read: No such file or directory");
}

TEST(Config, ExamplesAreValid) {
    for (const char* f : {"examples/minimal.toml", "examples/production.toml"}) {
        const std::string path = k_root + "/" + f;
        const config::load_result r = config::load_file(path);
        EXPECT_EQ(r.errors, std::vector<std::string>{}) << f;
        cli::options o = r.cfg.opt;
        EXPECT_NO_THROW(cli::finish(o)) << f;
        EXPECT_EQ(config::complete(r.cfg, o, {}), std::vector<std::string>{}) << f;
    }
    const config::load_result p = config::load_file(k_root + "/examples/production.toml");
    cli::options o = p.cfg.opt;
    cli::finish(o);
    EXPECT_EQ(config::summary(p.cfg, o),
              p.cfg.file + ": OK: 0 pcap, 2 port(s) x 2 queue(s), 2 sink core(s), 6 output(s) (all, tcp, sampled, kafka, "
                           "hive, bps5m), 3 exporter(s) (2 sampling override(s)), log level info");
    EXPECT_EQ(o.ports, (std::vector<std::string>{"0000:3b:00.0", "0000:3b:00.1"}));
    EXPECT_EQ(o.ring_size, 16384u);
    EXPECT_EQ(o.ring_full_wait, 0);
    EXPECT_EQ(o.limits.records_per_datagram, 2000u);
    EXPECT_EQ(o.limits.exporter_idle_timeout_ns, 900ull * 1000000000ull);
    EXPECT_EQ(o.max_exporters, 8192u);
    ASSERT_EQ(o.sampling_overrides.size(), 2u);
    EXPECT_EQ(o.sampling_overrides[0].rate, 1000u);
    ASSERT_EQ(o.sink.outputs.size(), 6u);
    EXPECT_EQ(o.sink.outputs[3].writer, sluice::sinks::writer_kind::kafka);
    EXPECT_EQ(o.sink.outputs[3].kafka.key, sluice::sinks::kafka_key::flow_id);
    EXPECT_EQ(o.sink.outputs[4].writer, sluice::sinks::writer_kind::hdfs);
    EXPECT_TRUE(o.sink.outputs[5].aggregate);
    EXPECT_TRUE(o.extrapolate.enabled);
    ASSERT_EQ(o.enrich.inventories.size(), 1u);
    EXPECT_EQ(o.snmp.agents.size(), 1u);
    EXPECT_EQ(o.rules, "/etc/sluice/rules.conf");
    EXPECT_EQ(o.sink.outputs[2].sample, 16u);
    EXPECT_EQ(o.sink.outputs[2].file.flush_ms, 500u);
    EXPECT_EQ(o.sink.outputs[1].filter, "proto==tcp&&exporter!=10.0.0.0/8");
    EXPECT_EQ(p.cfg.control_socket, "/run/sluice/control.sock");
    EXPECT_EQ(p.cfg.exporters[0].name, "edge-ams-1");
    EXPECT_EQ(p.cfg.exporters[2].group, "core");
    EXPECT_EQ(p.cfg.values.at("output.sampled.sample"), "16");
    EXPECT_EQ(p.cfg.values.at("exporter.198.51.100.1.sampling_override"), "1000");
    EXPECT_EQ(p.cfg.values.at("collector.udp_ports.9995"), "off");
    EXPECT_EQ(p.cfg.lines.at("output.sampled.sample"), 81u);
}

TEST(Config, QueuesAuto) {
    const config::load_result r = config::load_string(
        "[ports]\nqueues = \"auto\"\n[sink]\ncores = 1\n[[port]]\ndevargs = \"net_ring0\"\n", "auto.toml");
    ASSERT_TRUE(r.ok());
    const unsigned cpus = config::available_cpus();
    cli::options o = r.cfg.opt;
    EXPECT_EQ(config::complete(r.cfg, o, {}), std::vector<std::string>{});
    EXPECT_EQ(o.queues, std::clamp(cpus > 2 ? cpus - 2 : 0u, 1u, 64u));
    EXPECT_TRUE(r.cfg.queues_auto);
    // --queues wins over auto.
    o = r.cfg.opt;
    o.queues = 5;
    config::complete(r.cfg, o, {"queues"});
    EXPECT_EQ(o.queues, 5u);
    // The cross-key checks see the command line: a too-small lcore list the flags replace is no error.
    const config::load_result l = config::load_string(
        "[eal]\nargs = \"-l 0-1\"\n[[port]]\ndevargs = \"net_ring0\"\n[sink]\ncores = 2\n", "l.toml");
    ASSERT_TRUE(l.ok());
    o = l.cfg.opt;
    EXPECT_EQ(config::complete(l.cfg, o, {}),
              std::vector<std::string>{"l.toml:2: eal.args = \"-l 0-1\": its lcore list has 2 lcore(s), the config needs 4 "
                                       "(1 control + 1 worker(s): one per queue of each port + 2 sink core(s))"});
    o.eal = "-l 0-3";
    EXPECT_EQ(config::complete(l.cfg, o, {"eal"}), std::vector<std::string>{});
}

TEST(Config, FlagsOverrideTheFile) {
    const config::load_result r = config::load_string(
        "[input]\npcap = [\"/dev/null\"]\n[sink]\ncores = 2\nring_size = 1024\n"
        "[[output]]\nname = \"a\"\npath = \"/tmp/a.json\"\n[[output]]\nname = \"b\"\npath = \"/tmp/b.json\"\n",
        "f.toml");
    ASSERT_TRUE(r.ok());
    // A scalar flag replaces the file's value; the rest of the file stays.
    cli::options o = parse_over(r.cfg.opt, {"--sink-cores", "3"});
    EXPECT_EQ(o.sinks, 3u);
    EXPECT_EQ(o.ring_size, 1024u);
    ASSERT_EQ(o.sink.outputs.size(), 2u);
    // A repeatable flag replaces the file's whole list.
    o = parse_over(r.cfg.opt, {"--output", "name=c,path=/tmp/c.json"});
    ASSERT_EQ(o.sink.outputs.size(), 1u);
    EXPECT_EQ(o.sink.outputs[0].name, "c");
    // A decoder limit overrides that limit only.
    const config::load_result d = config::load_string(
        "[input]\npcap = [\"/dev/null\"]\n[decoder]\nmax_exporters = 10\n[decoder.limits]\nrecords_per_datagram = 7\n"
        "max_templates_per_domain = 9\n", "d.toml");
    ASSERT_TRUE(d.ok());
    o = parse_over(d.cfg.opt, {"--decoder-limit", "records_per_datagram=8"});
    EXPECT_EQ(o.limits.records_per_datagram, 8u);
    EXPECT_EQ(o.limits.max_templates_per_domain, 9u);
    EXPECT_EQ(o.max_exporters, 10u);
    o = parse_over(r.cfg.opt, {"--pcap", "x.pcap", "--pcap", "y.pcap"});
    EXPECT_EQ(o.pcaps, (std::vector<std::string>{"x.pcap", "y.pcap"}));
    // An error a flag caused is the flag's; one the file caused names the key.
    try {
        parse_over(r.cfg.opt, {"--stats-json-interval", "1"});
        FAIL();
    } catch (const cli::usage_error& e) {
        EXPECT_EQ(config::explain(r.cfg, e, {"stats-json-interval"}), "--stats-json-interval: needs --stats-json FILE");
    }
}

TEST(Config, EqualFilesGiveEqualValues) {
    const std::string a = "[input]\npcap = [\"/dev/null\"]\n[[output]]\nname = \"x\"\npath = \"/tmp/x\"\nsample = 2\n";
    const std::string b = "\n\n[[output]]\nsample = 2\npath = \"/tmp/x\"\nname = \"x\"\n[input]\npcap = [\"/dev/null\"]\n";
    EXPECT_EQ(config::load_string(a, "a").cfg.values, config::load_string(b, "b").cfg.values);
}

TEST(Config, EditDistance) {
    EXPECT_EQ(config::edit_distance("queus", "queues"), 1u);
    EXPECT_EQ(config::edit_distance("", "abc"), 3u);
    EXPECT_EQ(config::edit_distance("kitten", "sitting"), 3u);
}

// Every long option has a key (but --config, --check-config, --help), and every key's flag exists.
TEST(Config, EveryFlagHasAKey) {
    const auto opts = cli::option_table();
    for (const cli::option_info& o : opts) {
        const bool exempt = std::find(std::begin(config::k_flags_without_key), std::end(config::k_flags_without_key),
                                      o.name) != std::end(config::k_flags_without_key);
        EXPECT_TRUE(exempt || config::find_flag(o.name) != nullptr) << "--" << o.name << " has no config key";
    }
    for (const config::key_info& k : config::key_table()) {
        if (k.flag.empty()) continue;
        EXPECT_TRUE(std::any_of(opts.begin(), opts.end(), [&](const cli::option_info& o) { return k.flag == o.name; }))
            << k.key << ": no option --" << k.flag;
    }
}

// docs/config.md holds the key table exactly (regenerate: the message below has it).
TEST(Config, DocsListEveryKey) {
    const std::string doc = slurp(k_root + "/docs/config.md");
    const std::string begin = "<!-- keys:begin (generated from control/config/keys.cpp; tests/control/config_test.cpp checks it) -->\n";
    const std::string end = "<!-- keys:end -->";
    const auto b = doc.find(begin), e = doc.find(end);
    ASSERT_NE(b, std::string::npos) << "docs/config.md: no key table marker";
    ASSERT_NE(e, std::string::npos);
    const std::string have = doc.substr(b + begin.size(), e - b - begin.size());
    EXPECT_EQ(have, markdown_table()) << "docs/config.md's key table differs from control/config/keys.cpp; want:\n"
                                      << markdown_table();
}
