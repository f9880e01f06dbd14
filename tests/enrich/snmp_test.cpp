// SPDX-License-Identifier: Apache-2.0
// enrich/snmp against a real snmpd on loopback: the test writes snmpd.conf and a pass_persist script serving
// ifXTable rows it chooses, polls, changes them, polls again, stops the agent (SIGSTOP) and polls once more.
#include "enrich/snmp/snmp.hpp"

#include "dataplane/decode/flow_record.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace sluice::enrich::snmp {
namespace {

namespace fs = std::filesystem;

// Serves the rows in VALUES ("OID TYPE VALUE" lines, OIDs in order), re-read at each request.
constexpr const char* k_script = R"(#!/usr/bin/python3
import sys
VALUES = sys.argv[1]
def key(o): return tuple(int(x) for x in o.strip().strip(".").split("."))
def rows():
    out = []
    for ln in open(VALUES):
        if ln.strip():
            oid, typ, val = ln.rstrip("\n").split(" ", 2)
            out.append((key(oid), oid, typ, val))
    return sorted(out)
while True:
    cmd = sys.stdin.readline()
    if not cmd:
        break
    cmd = cmd.strip()
    if cmd == "PING":
        print("PONG", flush=True)
        continue
    oid = sys.stdin.readline().strip()
    if cmd == "set":
        sys.stdin.readline()
        print("not-writable", flush=True)
        continue
    k, hit = key(oid), None
    for r in rows():
        if (cmd == "get" and r[0] == k) or (cmd == "getnext" and r[0] > k):
            hit = r
            break
    if hit is None:
        print("NONE", flush=True)
    else:
        print(hit[1]); print(hit[2]); print(hit[3], flush=True)
)";

uint16_t free_udp_port() {
    const int s = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t n = sizeof a;
    getsockname(s, reinterpret_cast<sockaddr*>(&a), &n);
    close(s);
    return ntohs(a.sin_port);
}

const char* const k_x = ".1.3.6.1.2.1.31.1.1.1";

class Snmpd : public ::testing::Test {
protected:
    void SetUp() override {
        if (access("/usr/sbin/snmpd", X_OK) != 0) GTEST_SKIP() << "snmpd not installed (apt-get install snmpd)";
        dir = fs::temp_directory_path() / ("ifx-snmp-" + std::to_string(getpid()));
        fs::create_directories(dir);
        port = free_udp_port();
        std::ofstream(dir / "pass.py") << k_script;
        fs::permissions(dir / "pass.py", fs::perms::owner_all);
        std::ofstream(dir / "snmpd.conf") << "agentAddress udp:127.0.0.1:" << port << "\n"
                                          << "rocommunity ifxtest 127.0.0.1\n"
                                          << "createUser ifxv3 SHA \"ifxauthpass\" AES \"ifxprivpass\"\n"
                                          << "rouser ifxv3 priv\n"
                                          << "pass_persist " << k_x << " " << (dir / "pass.py").string() << " "
                                          << (dir / "values").string() << "\n";
        write_values(0);
        pid = fork();
        if (pid == 0) {
            setenv("MIBS", "", 1);
            setenv("SNMP_PERSISTENT_DIR", dir.c_str(), 1);
            const std::string conf = (dir / "snmpd.conf").string(), pidf = (dir / "pid").string(),
                              log = (dir / "snmpd.log").string();
            // -I -ifTable,ifXTable: the agent's own interface tables stay out of the way of the script's rows.
            execl("/usr/sbin/snmpd", "snmpd", "-f", "-C", "-c", conf.c_str(), "-I", "-ifTable,ifXTable", "-Lf",
                  log.c_str(), "-p", pidf.c_str(), static_cast<char*>(nullptr));
            _exit(127);
        }
        ASSERT_GT(pid, 0);
    }

    void TearDown() override {
        if (pid > 0) {
            kill(pid, SIGCONT);
            kill(pid, SIGTERM);
            int st;
            waitpid(pid, &st, 0);
        }
        if (!dir.empty()) fs::remove_all(dir);
    }

    // Interface 3 and 7 with every column; 12 with a name and an empty alias only.
    void write_values(uint64_t extra) {
        std::ofstream v(dir / "values.tmp");
        v << k_x << ".1.3 string xe-0/0/1\n" << k_x << ".1.7 string ae1.100\n" << k_x << ".1.12 string lo0\n";
        v << k_x << ".6.3 counter64 " << 123456789012ull + extra << "\n";
        v << k_x << ".6.7 counter64 " << 9223372036854775813ull + extra << "\n";
        v << k_x << ".10.3 counter64 " << 987654321ull + 2 * extra << "\n";
        v << k_x << ".10.7 counter64 0\n";
        v << k_x << ".15.3 gauge 10000\n" << k_x << ".15.7 gauge 100000\n";
        v << k_x << ".18.3 string Transit: Cogent\n" << k_x << ".18.7 string Peering: AMS-IX\n"
          << k_x << ".18.12 string \n";
        v.close();
        fs::rename(dir / "values.tmp", dir / "values");
    }

    agent_config agent(double timeout_s = 1.0) const {
        agent_config a = parse_agent_spec("127.0.0.1,community=ifxtest,port=" + std::to_string(port) +
                                          ",retries=0,exporter=192.0.2.1,timeout=" + std::to_string(timeout_s));
        return a;
    }

    // snmpd takes a moment to bind: poll until it answers (each failure counted, so the test subtracts them).
    unsigned first_poll(poller& p) {
        for (unsigned i = 0; i < 50; ++i) {
            if (p.poll_once(0)) return i;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return 50;
    }

    fs::path dir;
    uint16_t port = 0;
    pid_t pid = -1;
};

uint64_t get(const poller& p, counter c) { return p.counters().get(c); }

TEST_F(Snmpd, NamesAliasesSpeedsCountersThenASilentAgentKeepsItsValues) {
    config cfg;
    cfg.agents.push_back(agent(0.3));
    poller p(cfg);
    EXPECT_EQ(p.current()->generation, 0u);
    const unsigned failed = first_poll(p);
    ASSERT_LT(failed, 50u) << "snmpd did not answer";
    uint8_t exp[16];
    const uint8_t v4[4] = {192, 0, 2, 1};
    decode::set_ipv4(exp, v4);

    auto s = p.current();
    EXPECT_EQ(s->generation, 1u);
    ASSERT_EQ(s->interfaces.size(), 3u);
    const interface_info* i3 = s->find(exp, 3);
    const interface_info* i7 = s->find(exp, 7);
    const interface_info* i12 = s->find(exp, 12);
    ASSERT_TRUE(i3 && i7 && i12);
    EXPECT_EQ(s->find(exp, 4), nullptr);
    EXPECT_EQ(i3->name, "xe-0/0/1");
    EXPECT_EQ(i3->alias, "Transit: Cogent");
    EXPECT_EQ(i3->speed_mbps, 10000u);
    EXPECT_EQ(i3->in_octets, 123456789012ull);
    EXPECT_EQ(i3->out_octets, 987654321ull);
    EXPECT_EQ(i3->have, have::name | have::alias | have::speed | have::in_octets | have::out_octets);
    EXPECT_EQ(i7->name, "ae1.100");
    EXPECT_EQ(i7->alias, "Peering: AMS-IX");
    EXPECT_EQ(i7->speed_mbps, 100000u);
    EXPECT_EQ(i7->in_octets, 9223372036854775813ull);  // above 2^63: all 64 bits kept
    EXPECT_EQ(i7->out_octets, 0u);
    EXPECT_EQ(i12->name, "lo0");
    EXPECT_EQ(i12->alias, "");
    EXPECT_EQ(i12->have, have::name | have::alias);  // no speed, no HC counters
    EXPECT_GT(i3->polled_at_ns, 0u);
    EXPECT_EQ(get(p, counter::polls_ok), 1u);
    EXPECT_EQ(get(p, counter::interfaces_polled), 3u);

    // New counter values: the next poll publishes them.
    write_values(1000);
    ASSERT_TRUE(p.poll_once(0));
    auto s2 = p.current();
    EXPECT_EQ(s2->generation, 2u);
    EXPECT_EQ(s2->find(exp, 3)->in_octets, 123456789012ull + 1000);
    EXPECT_EQ(s2->find(exp, 3)->out_octets, 987654321ull + 2000);
    EXPECT_EQ(s->find(exp, 3)->in_octets, 123456789012ull);  // the old snapshot is immutable and still alive

    // A stopped agent: the poll times out, is counted, and the last values stay.
    ASSERT_EQ(kill(pid, SIGSTOP), 0);
    write_values(5000);
    EXPECT_FALSE(p.poll_once(0));
    auto s3 = p.current();
    EXPECT_EQ(s3->generation, 2u);
    EXPECT_EQ(s3->find(exp, 3)->in_octets, 123456789012ull + 1000);
    EXPECT_EQ(s3->find(exp, 7)->alias, "Peering: AMS-IX");
    EXPECT_EQ(get(p, counter::polls), 3u + failed);
    EXPECT_EQ(get(p, counter::polls_ok), 2u);
    EXPECT_EQ(get(p, counter::polls_timeout), 1u + failed);
    EXPECT_EQ(get(p, counter::polls_error), 0u);
    EXPECT_EQ(get(p, counter::snapshots_published), 2u);
    EXPECT_EQ(get(p, counter::interfaces_polled), 6u);
    // Five columns, one GETBULK each (every column fits 25 rows), then one unanswered request.
    EXPECT_EQ(get(p, counter::requests), 5u + 5u + 1u + failed);

    // It answers again: the values it serves now.
    ASSERT_EQ(kill(pid, SIGCONT), 0);
    ASSERT_TRUE(p.poll_once(0));
    EXPECT_EQ(p.current()->find(exp, 3)->in_octets, 123456789012ull + 5000);
}

TEST_F(Snmpd, ThreadPollsAtTheInterval) {
    config cfg;
    agent_config a = agent();
    a.interval_s = 0.2;
    cfg.agents.push_back(a);
    poller p(cfg);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // snmpd up
    p.start();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (p.current()->generation < 3 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    p.stop();
    EXPECT_GE(p.current()->generation, 3u);
    EXPECT_EQ(p.current()->interfaces.size(), 3u);
}

TEST_F(Snmpd, Version3AuthPriv) {
    config cfg;
    const std::string base = "127.0.0.1,port=" + std::to_string(port) + ",exporter=192.0.2.1,retries=0,timeout=0.5";
    cfg.agents.push_back(parse_agent_spec(base + ",version=3,user=ifxv3,auth=SHA,auth_pass=ifxauthpass,priv=AES,"
                                                 "priv_pass=ifxprivpass"));
    // An unknown user. (A wrong passphrase for a user this process already
    // knows is not testable here: net-snmp keeps one USM key set per user and engine per process.)
    cfg.agents.push_back(parse_agent_spec(base + ",version=3,user=ifxnobody,auth_pass=ifxauthpass,priv_pass=ifxprivpass"));
    poller p(cfg);
    ASSERT_LT(first_poll(p), 50u) << "snmpd did not answer SNMPv3";
    const auto s = p.current();
    uint8_t exp[16];
    const uint8_t v4[4] = {192, 0, 2, 1};
    decode::set_ipv4(exp, v4);
    ASSERT_NE(s->find(exp, 3), nullptr);
    EXPECT_EQ(s->find(exp, 3)->alias, "Transit: Cogent");
    EXPECT_EQ(s->find(exp, 7)->in_octets, 9223372036854775813ull);
    // The agent reports usmStatsUnknownUserNames: counted, nothing published.
    const uint64_t ok = get(p, counter::polls_ok);
    EXPECT_FALSE(p.poll_once(1));
    EXPECT_EQ(get(p, counter::polls_ok), ok);
    EXPECT_GE(get(p, counter::polls_error), 1u);
    EXPECT_EQ(get(p, counter::polls_error) + get(p, counter::polls_timeout), get(p, counter::polls) - ok);  // every other poll failed
    EXPECT_EQ(p.current()->generation, s->generation);
}

TEST(SnmpSpec, Parses) {
    const agent_config a = parse_agent_spec("2001:db8::1,community=s3cret,port=1161,interval=30,timeout=0.5,retries=3");
    EXPECT_EQ(a.host, "2001:db8::1");
    EXPECT_EQ(a.community, "s3cret");
    EXPECT_EQ(a.port, 1161);
    EXPECT_EQ(a.interval_s, 30.0);
    EXPECT_EQ(a.timeout_s, 0.5);
    EXPECT_EQ(a.retries, 3u);
    EXPECT_EQ(a.exporter[0], 0x20);
    EXPECT_EQ(a.exporter[15], 1);
    const agent_config b = parse_agent_spec("192.0.2.7");
    EXPECT_EQ(b.community, "public");
    EXPECT_EQ(b.port, 161);
    EXPECT_EQ(b.exporter[10], 0xff);
    EXPECT_EQ(b.exporter[15], 7);
    EXPECT_THROW(parse_agent_spec("router1"), spec_error);  // a name needs exporter=
    EXPECT_NO_THROW(parse_agent_spec("router1,exporter=192.0.2.9"));
    EXPECT_THROW(parse_agent_spec("192.0.2.7,port=0"), spec_error);
    EXPECT_THROW(parse_agent_spec("192.0.2.7,interval=-1"), spec_error);
    EXPECT_THROW(parse_agent_spec("192.0.2.7,colour=blue"), spec_error);
    EXPECT_THROW(parse_agent_spec(""), spec_error);
    const agent_config v3 = parse_agent_spec("192.0.2.7,version=3,user=u,auth=MD5,auth_pass=12345678");
    EXPECT_EQ(v3.version, 3u);
    EXPECT_EQ(v3.auth, "MD5");
    EXPECT_TRUE(v3.priv_pass.empty());
    EXPECT_THROW(parse_agent_spec("192.0.2.7,version=3"), spec_error);                       // no user
    EXPECT_THROW(parse_agent_spec("192.0.2.7,version=3,user=u,auth_pass=short"), spec_error);  // < 8
    EXPECT_THROW(parse_agent_spec("192.0.2.7,version=3,user=u,priv_pass=12345678"), spec_error);
    EXPECT_THROW(parse_agent_spec("192.0.2.7,user=u"), spec_error);                           // v2c
    EXPECT_THROW(parse_agent_spec("192.0.2.7,version=1"), spec_error);
}

}  // namespace
}  // namespace sluice::enrich::snmp
