// SPDX-License-Identifier: Apache-2.0
// sluiced's command-line parser: every flag keeps its meaning, every bad value names its flag.
#include "control/cli/cli.hpp"
#include "dataplane/decode/decoder.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

using namespace sluice::control::cli;

namespace {

parsed run(std::initializer_list<const char*> args) {
    std::vector<std::string> store{"sluiced"};
    for (const char* a : args) store.emplace_back(a);
    std::vector<char*> argv;
    for (auto& s : store) argv.push_back(s.data());
    argv.push_back(nullptr);
    return parse(int(store.size()), argv.data());
}

// The flag a bad command line is blamed on, and its message.
std::pair<std::string, std::string> fails(std::initializer_list<const char*> args) {
    try {
        run(args);
    } catch (const usage_error& e) {
        return {e.flag(), e.what()};
    }
    return {"(accepted)", ""};
}

}  // namespace

TEST(Cli, EveryFlagParses) {
    const parsed p = run({"--pcap", "a.pcap", "--pcap", "b.pcap", "--port", "net_ring0", "--queues", "4",
                          "--sink-cores", "2", "--ring-size", "1024", "--ring-full", "drop", "--eal", "--no-huge -m 64",
                          "--port-map", "2056=v9", "--port-map", "9995=off", "--max-exporters", "10",
                          "--verify-udp-checksum", "--frag-timeout-ms", "500", "--frag-max-flows", "16", "--address",
                          "10.0.0.1", "--template-state", "t.state", "--template-state-interval", "0.5", "--json-out",
                          "out.json", "--json-roll-bytes", "0", "--sink-discard", "--sink-delay-us", "7",
                          "--stats-interval", "2.5", "--stats-json", "s.json", "--stats-json-interval", "0.25",
                          "--duration", "3", "--shutdown-timeout", "4"});
    const options& o = p.opt;
    EXPECT_FALSE(p.help);
    EXPECT_EQ(o.pcaps, (std::vector<std::string>{"a.pcap", "b.pcap"}));
    EXPECT_EQ(o.ports, std::vector<std::string>{"net_ring0"});
    EXPECT_EQ(o.queues, 4u);
    EXPECT_EQ(o.sinks, 2u);
    EXPECT_EQ(o.ring_size, 1024u);
    EXPECT_EQ(o.ring_full_wait, 0);
    EXPECT_EQ(o.eal, "--no-huge -m 64");
    ASSERT_EQ(o.port_map.size(), 2u);
    EXPECT_EQ(o.port_map[0].first, 2056);
    EXPECT_EQ(o.port_map[0].second, int(sluice::decode::protocol::netflow_v9));
    EXPECT_EQ(o.port_map[1].second, -1);
    EXPECT_EQ(o.max_exporters, 10u);
    EXPECT_TRUE(o.verify_udp);
    EXPECT_EQ(o.frag.timeout_ms, 500u);
    EXPECT_EQ(o.frag.max_flows, 16u);
    EXPECT_EQ(o.addresses, std::vector<std::string>{"10.0.0.1"});
    EXPECT_EQ(o.template_state, "t.state");
    EXPECT_DOUBLE_EQ(o.template_state_interval, 0.5);
    EXPECT_EQ(o.json_out, "out.json");
    EXPECT_EQ(o.json_roll_bytes, 0u);
    EXPECT_TRUE(o.discard);
    EXPECT_TRUE(o.sink.outputs.empty());  // --sink-discard: no output
    EXPECT_EQ(o.sink.delay_us, 7u);
    EXPECT_DOUBLE_EQ(o.stats_interval, 2.5);
    EXPECT_EQ(o.stats_json, "s.json");
    EXPECT_DOUBLE_EQ(o.stats_json_interval, 0.25);
    EXPECT_DOUBLE_EQ(o.duration, 3);
    EXPECT_DOUBLE_EQ(o.shutdown_timeout, 4);
}

TEST(Cli, DefaultsAndEqualsForm) {
    const parsed p = run({"--pcap=x.pcap", "--stats-interval=0.1"});
    EXPECT_EQ(p.opt.pcaps, std::vector<std::string>{"x.pcap"});
    EXPECT_DOUBLE_EQ(p.opt.stats_interval, 0.1);
    EXPECT_EQ(p.opt.queues, 1u);
    EXPECT_EQ(p.opt.ring_full_wait, -1);
    ASSERT_EQ(p.opt.sink.outputs.size(), 1u);  // no output given: JSON lines to stdout
    EXPECT_EQ(p.opt.sink.outputs[0].name, "json");
    EXPECT_EQ(p.opt.sink.outputs[0].file.path, "-");
    EXPECT_TRUE(run({"--help"}).help);
    EXPECT_TRUE(run({"-h"}).help);
}

TEST(Cli, OutputsInOrderAfterJsonOut) {
    const parsed p = run({"--pcap", "a", "--output", "name=tcp,path=/x/tcp.json,filter=proto==6,sample=4", "--json-out",
                          "all.json", "--json-roll-bytes", "1000"});
    const auto& outs = p.opt.sink.outputs;
    ASSERT_EQ(outs.size(), 2u);
    EXPECT_EQ(outs[0].name, "json");
    EXPECT_EQ(outs[0].file.path, "all.json");
    EXPECT_EQ(outs[0].file.roll_bytes, 1000u);
    EXPECT_EQ(outs[1].name, "tcp");
    EXPECT_EQ(outs[1].file.path, "/x/tcp.json");
    EXPECT_EQ(outs[1].sample, 4u);
}

TEST(Cli, BadOutputSpecsNameTheOutput) {
    auto expect_refused = [](std::initializer_list<const char*> args, const std::string& msg) {
        try {
            run(args);
            ADD_FAILURE() << msg << ": accepted";
        } catch (const usage_error& e) {
            EXPECT_NE(std::string(e.what()).find(msg), std::string::npos) << e.what();
            EXPECT_EQ(e.flag(), "--output");
        }
    };
    expect_refused({"--pcap", "a", "--output", "name=a,path=/x,smaple=4"}, "--output a: unknown key 'smaple'");
    expect_refused({"--pcap", "a", "--output", "name=a,path=/x", "--output", "name=a,path=/y"},
                   "--output a: key 'name': used twice");
}

TEST(Cli, BadNumbersNameTheirFlag) {
    struct row {
        std::initializer_list<const char*> args;
        const char* flag;
    };
    const row rows[] = {
        {{"--pcap", "a", "--stats-interval", "abc"}, "--stats-interval"},
        {{"--pcap", "a", "--stats-interval", "nan"}, "--stats-interval"},
        {{"--pcap", "a", "--stats-interval", "inf"}, "--stats-interval"},
        {{"--pcap", "a", "--stats-interval", "-1"}, "--stats-interval"},
        {{"--pcap", "a", "--stats-interval", "0"}, "--stats-interval"},
        {{"--pcap", "a", "--stats-interval", "1s"}, "--stats-interval"},
        {{"--pcap", "a", "--stats-interval", ""}, "--stats-interval"},
        {{"--pcap", "a", "--duration", "NaN"}, "--duration"},
        {{"--pcap", "a", "--duration", "-0.5"}, "--duration"},
        {{"--pcap", "a", "--template-state-interval", "infinity"}, "--template-state-interval"},
        {{"--pcap", "a", "--template-state-interval", "1e400"}, "--template-state-interval"},
        {{"--pcap", "a", "--stats-json", "s", "--stats-json-interval", "-2"}, "--stats-json-interval"},
        {{"--pcap", "a", "--shutdown-timeout", "0"}, "--shutdown-timeout"},
        {{"--pcap", "a", "--queues", "0"}, "--queues"},
        {{"--pcap", "a", "--queues", "65"}, "--queues"},
        {{"--pcap", "a", "--queues", "-1"}, "--queues"},
        {{"--pcap", "a", "--queues", "2x"}, "--queues"},
        {{"--pcap", "a", "--sink-cores", "17"}, "--sink-cores"},
        {{"--pcap", "a", "--ring-size", "1000"}, "--ring-size"},
        {{"--pcap", "a", "--ring-size", "32"}, "--ring-size"},
        {{"--pcap", "a", "--max-exporters", "0"}, "--max-exporters"},
        {{"--pcap", "a", "--max-exporters", "4294967296"}, "--max-exporters"},
        {{"--pcap", "a", "--frag-timeout-ms", "0"}, "--frag-timeout-ms"},
        {{"--pcap", "a", "--frag-max-flows", "0"}, "--frag-max-flows"},
        {{"--pcap", "a", "--frag-max-flows", "1048577"}, "--frag-max-flows"},
        {{"--pcap", "a", "--frag-max-per-source", "0"}, "--frag-max-per-source"},
        {{"--pcap", "a", "--frag-max-bytes", "262143"}, "--frag-max-bytes"},
        {{"--pcap", "a", "--frag-max-bytes", "1073741825"}, "--frag-max-bytes"},
        {{"--pcap", "a", "--json-roll-bytes", "18446744073709551616"}, "--json-roll-bytes"},
        {{"--pcap", "a", "--sink-delay-us", "+5"}, "--sink-delay-us"},
        {{"--pcap", "a", "--port-map", "70000=v5"}, "--port-map"},
        {{"--pcap", "a", "--port-map", "2055"}, "--port-map"},
        {{"--pcap", "a", "--port-map", "2055=v7"}, "--port-map"},
        {{"--pcap", "a", "--ring-full", "maybe"}, "--ring-full"},
        {{"--pcap", "a,b"}, "--pcap"},
        {{"--pcap", "a", "--bogus"}, "--bogus"},
        {{"--pcap", "a", "--sink-discard=1"}, "--sink-discard"},
        {{"--pcap", "a", "extra"}, "extra"},
        {{"--pcap"}, "--pcap"},
        {{"--pcap", "a", "--stats-json-interval", "1"}, "--stats-json-interval"},
    };
    for (const row& r : rows) {
        const auto [flag, msg] = fails(r.args);
        EXPECT_EQ(flag, r.flag) << msg;
        EXPECT_NE(msg.find(r.flag), std::string::npos) << msg;
    }
    EXPECT_EQ(fails({"--queues", "2"}).first, "");  // no input
}

TEST(Cli, NumberParsers) {
    EXPECT_EQ(parse_unsigned("--x", "18446744073709551615", 0, UINT64_MAX), UINT64_MAX);
    EXPECT_DOUBLE_EQ(parse_seconds("--x", "0"), 0);
    EXPECT_DOUBLE_EQ(parse_seconds("--x", "0.001"), 0.001);
    EXPECT_THROW(parse_seconds("--x", "1e3"), usage_error);  // plain decimal only
    EXPECT_THROW(parse_seconds("--x", " 1"), usage_error);
}

// Enrichment flags (enrich/extrapolate, enrich/snmp, enrich/classify).
TEST(Cli, EnrichmentFlags) {
    const parsed p = run({"--pcap", "a", "--extrapolate", "--extrapolate-window", "12.5", "--extrapolate-min-factor",
                          "0.8", "--extrapolate-max-factor", "1.25", "--extrapolate-interfaces", "1024",
                          "--snmp-exporter", "192.0.2.1,community=c,interval=30", "--snmp-exporter",
                          "2001:db8::1,version=3,user=u,auth_pass=12345678", "--rules", "r.conf"});
    EXPECT_TRUE(p.opt.extrapolate.enabled);
    EXPECT_EQ(p.opt.extrapolate.window_ns, 12'500'000'000ull);
    EXPECT_EQ(p.opt.extrapolate.min_factor, 0.8);
    EXPECT_EQ(p.opt.extrapolate.max_factor, 1.25);
    EXPECT_EQ(p.opt.extrapolate.max_interfaces, 1024u);
    ASSERT_EQ(p.opt.snmp.agents.size(), 2u);
    EXPECT_EQ(p.opt.snmp.agents[0].community, "c");
    EXPECT_EQ(p.opt.snmp.agents[0].interval_s, 30.0);
    EXPECT_EQ(p.opt.snmp.agents[1].version, 3u);
    EXPECT_EQ(p.opt.rules, "r.conf");
    const parsed d = run({"--pcap", "a"});
    EXPECT_FALSE(d.opt.extrapolate.enabled);
    EXPECT_TRUE(d.opt.snmp.agents.empty());
    EXPECT_TRUE(d.opt.rules.empty());

    EXPECT_EQ(fails({"--pcap", "a", "--extrapolate-window", "0"}).first, "--extrapolate-window");
    EXPECT_EQ(fails({"--pcap", "a", "--extrapolate-min-factor", "1.5"}).first, "--extrapolate-min-factor");
    EXPECT_EQ(fails({"--pcap", "a", "--extrapolate-max-factor", "0.5"}).first, "--extrapolate-min-factor");
    EXPECT_EQ(fails({"--pcap", "a", "--extrapolate-min-factor", "0"}).first, "--extrapolate-min-factor");
    EXPECT_EQ(fails({"--pcap", "a", "--extrapolate-interfaces", "7"}).first, "--extrapolate-interfaces");
    const auto bad = fails({"--pcap", "a", "--snmp-exporter", "192.0.2.1,port=99999"});
    EXPECT_EQ(bad.first, "--snmp-exporter");
    EXPECT_NE(bad.second.find("port=99999"), std::string::npos) << bad.second;
}
