// SPDX-License-Identifier: Apache-2.0
// The control protocol parser, the dispatcher's privilege checks and the non-blocking socket server.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "control/commands/dispatch.hpp"
#include "control/commands/protocol.hpp"
#include "control/commands/templates.hpp"
#include "control/socket/socket.hpp"

namespace sluice::control {
namespace {

using commands::error_code;

TEST(Protocol, ParsesARequestAndItsArguments) {
    auto r = commands::parse_request(R"({"v":1,"cmd":"log-level","args":{"level":"debug"}})");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.req.cmd->id, commands::command::log_level);
    EXPECT_EQ(r.req.arg("level"), "debug");
    r = commands::parse_request(R"({"v":1,"cmd":"top","args":{"limit":10,"by":"src"}})");
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.req.arg("limit"), "10");
}

TEST(Protocol, RefusesWithTheRightCode) {
    const std::pair<const char*, error_code> cases[] = {
        {"", error_code::parse_error},
        {"{", error_code::parse_error},
        {"[]", error_code::parse_error},
        {R"({"cmd":"stats"})", error_code::unsupported_version},
        {R"({"v":"1","cmd":"stats"})", error_code::unsupported_version},
        {R"({"v":2,"cmd":"stats"})", error_code::unsupported_version},
        {R"({"v":1})", error_code::bad_request},
        {R"({"v":1,"cmd":7})", error_code::bad_request},
        {R"({"v":1,"cmd":"stats","args":"x"})", error_code::bad_request},
        {R"({"v":1,"cmd":"nope"})", error_code::unknown_command},
        {R"({"v":1,"cmd":"stats","args":{"a":1}})", error_code::bad_args},
        {R"({"v":1,"cmd":"lookup"})", error_code::bad_args},
        {R"({"v":1,"cmd":"lookup","args":{"ip":[1]}})", error_code::bad_args},
        {R"({"v":1,"cmd":"lookup","args":{"ip":"a","ip":"b"}})", error_code::bad_args},
    };
    for (const auto& [line, code] : cases) {
        const auto r = commands::parse_request(line);
        EXPECT_FALSE(r.ok) << line;
        EXPECT_EQ(commands::name(r.err.code), commands::name(code)) << line << ": " << r.err.message;
    }
}

TEST(Protocol, RepliesAreOneLineOfJson) {
    EXPECT_EQ(commands::ok_reply("{\"a\":1}"), R"({"v":1,"ok":true,"result":{"a":1}})");
    EXPECT_EQ(commands::error_reply(error_code::denied, "no \"way\"\n"),
              R"({"v":1,"ok":false,"error":{"code":"denied","message":"no \"way\"\n"}})");
    EXPECT_EQ(commands::encode_request("lookup", {{"ip", "10.0.0.1"}}), R"({"v":1,"cmd":"lookup","args":{"ip":"10.0.0.1"}})");
}

TEST(Dispatcher, ReadersReadAdminsChange) {
    commands::access_policy pol{.owner = 1000, .read_group = 50, .admin_group = 60};
    std::vector<std::string> logged;
    commands::dispatcher d(pol, [&](const std::string& m) { logged.push_back(m); });
    sock::counter_block c{};
    d.count_into(&c);
    d.bind(commands::command::status, [](const commands::request&, const sock::peer&) {
        return commands::outcome::success("1");
    });
    d.bind(commands::command::log_level, [](const commands::request&, const sock::peer&) {
        return commands::outcome::success("2");
    });
    const sock::peer root{.pid = 1, .uid = 0, .gid = 0, .groups = {}};
    const sock::peer reader{.pid = 2, .uid = 2000, .gid = 100, .groups = {50}};
    const sock::peer admin{.pid = 3, .uid = 2001, .gid = 60, .groups = {}};
    const sock::peer stranger{.pid = 4, .uid = 2002, .gid = 100, .groups = {7}};
    const sock::peer owner{.pid = 5, .uid = 1000, .gid = 100, .groups = {}};
    EXPECT_EQ(d.handle(R"({"v":1,"cmd":"status"})", reader), R"({"v":1,"ok":true,"result":1})");
    EXPECT_EQ(d.handle(R"({"v":1,"cmd":"log-level"})", reader), R"({"v":1,"ok":true,"result":2})");
    EXPECT_NE(d.handle(R"({"v":1,"cmd":"log-level","args":{"level":"debug"}})", reader).find("\"denied\""),
              std::string::npos);
    EXPECT_EQ(d.handle(R"({"v":1,"cmd":"log-level","args":{"level":"debug"}})", admin), R"({"v":1,"ok":true,"result":2})");
    EXPECT_EQ(d.handle(R"({"v":1,"cmd":"log-level","args":{"level":"debug"}})", root), R"({"v":1,"ok":true,"result":2})");
    EXPECT_EQ(d.handle(R"({"v":1,"cmd":"log-level","args":{"level":"debug"}})", owner), R"({"v":1,"ok":true,"result":2})");
    EXPECT_NE(d.handle(R"({"v":1,"cmd":"status"})", stranger).find("\"denied\""), std::string::npos);
    // A stranger's malformed request says only "denied".
    EXPECT_EQ(d.handle("garbage", stranger), R"({"v":1,"ok":false,"error":{"code":"denied","message":"permission denied"}})");
    EXPECT_NE(d.handle(R"({"v":1,"cmd":"reload"})", root).find("not configured: reload"), std::string::npos);
    EXPECT_EQ(c.get(sock::counter::denied), 3u);
    EXPECT_EQ(c.get(sock::counter::malformed), 1u);
    EXPECT_EQ(c.get(sock::counter::replies_ok), 5u);
    EXPECT_EQ(c.get(sock::counter::replies_error), 4u);
    ASSERT_EQ(logged.size(), 1u);  // rate-limited: one line per second
    EXPECT_NE(logged[0].find("denied \"log-level\" to uid 2000"), std::string::npos);
}

// A client socket connected to `path`.
int dial(const std::string& path) {
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path.data(), path.size());
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

// Polls the server until `fd` has a whole line (or `max` rounds).
std::string read_line(sock::server& s, int fd, int max = 200) {
    std::string out;
    char b[65536];
    for (int i = 0; i < max; ++i) {
        s.poll();
        const ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
        if (n > 0) out.append(b, std::size_t(n));
        if (n == 0) return out;
        if (!out.empty() && out.back() == '\n') return out;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return out;
}

struct SocketTest : ::testing::Test {
    std::string path = "/tmp/sluice-socket-test-" + std::to_string(getpid()) + ".sock";
    void TearDown() override {
        unlink(path.c_str());
        unlink((path + ".lock").c_str());
    }
};

TEST_F(SocketTest, ServesLinesAndCleansUp) {
    sock::config cfg{.path = path};
    {
        sock::server s(cfg, [](std::string_view line, const sock::peer& p) {
            return "echo " + std::string(line) + " uid " + std::to_string(p.uid);
        });
        struct stat st{};
        ASSERT_EQ(stat(path.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0660u);
        const int fd = dial(path);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(send(fd, "a\r\n\nb\n", 6, 0), 6);
        std::string got = read_line(s, fd);
        if (std::count(got.begin(), got.end(), '\n') < 2) got += read_line(s, fd);
        EXPECT_EQ(got, "echo a uid " + std::to_string(getuid()) + "\necho b uid " + std::to_string(getuid()) + "\n");
        close(fd);
        // A second server on a live path is refused.
        EXPECT_THROW(sock::server(cfg, {}), std::runtime_error);
    }
    EXPECT_NE(access(path.c_str(), F_OK), 0);  // unlinked
}

TEST_F(SocketTest, ReplacesAStaleSocket) {
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path.data(), path.size());
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    close(fd);  // bound, not listening: what a crash leaves
    sock::server s(sock::config{.path = path}, [](std::string_view, const sock::peer&) { return std::string("x"); });
    const int c = dial(path);
    ASSERT_GE(c, 0);
    close(c);
}

TEST_F(SocketTest, OversizedSlowAndTooManyClients) {
    sock::config cfg{.path = path, .max_clients = 2, .max_request = 100, .read_timeout = std::chrono::milliseconds(100)};
    sock::server s(cfg, [](std::string_view, const sock::peer&) { return std::string("ok"); });
    const int big = dial(path);
    const std::string line(150, 'x');
    ASSERT_EQ(send(big, line.data(), line.size(), 0), ssize_t(line.size()));
    EXPECT_NE(read_line(s, big).find("\"too_large\""), std::string::npos);
    char b[16];
    EXPECT_EQ(recv(big, b, sizeof b, 0), 0);  // closed after the reply
    close(big);
    EXPECT_EQ(s.counters().get(sock::counter::oversized), 1u);

    const int slow = dial(path);
    ASSERT_EQ(send(slow, "{\"v\":", 5, 0), 5);
    const int c2 = dial(path);
    s.poll();
    const int c3 = dial(path);  // the third: over max_clients
    EXPECT_NE(read_line(s, c3).find("\"busy\""), std::string::npos);
    EXPECT_EQ(s.counters().get(sock::counter::rejected_full), 1u);
    ASSERT_EQ(send(c2, "q\n", 2, 0), 2);
    EXPECT_EQ(read_line(s, c2), "ok\n");  // served while `slow` stalls
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    s.poll();
    EXPECT_EQ(recv(slow, b, sizeof b, 0), 0);
    EXPECT_EQ(s.counters().get(sock::counter::timeouts), 1u);
    for (int fd : {slow, c2, c3}) close(fd);
}

TEST_F(SocketTest, DeferredRepliesKeepTheOrder) {
    sock::config cfg{.path = path, .read_timeout = std::chrono::milliseconds(50)};
    uint64_t later = 0;
    sock::server* sp = nullptr;
    sock::server s(cfg, [&](std::string_view line, const sock::peer&) {
        if (line == "later") {
            later = sp->current_client();
            return sock::server::k_deferred;
        }
        return "now " + std::string(line);
    });
    sp = &s;
    const int fd = dial(path);
    ASSERT_EQ(send(fd, "later\nx\n", 8, 0), 8);
    for (int i = 0; i < 20; ++i) s.poll();
    ASSERT_NE(later, 0u);
    std::this_thread::sleep_for(std::chrono::milliseconds(80));
    s.poll();
    EXPECT_EQ(s.clients(), 1u);  // no read timeout while a reply is owed
    char b[64];
    EXPECT_LT(recv(fd, b, sizeof b, MSG_DONTWAIT), 0);  // nothing yet: "x" waits behind "later"
    EXPECT_TRUE(s.reply(later, "done"));
    EXPECT_EQ(read_line(s, fd) + read_line(s, fd, 20), "done\nnow x\n");
    close(fd);
    for (int i = 0; i < 20 && s.clients() > 0; ++i) s.poll();
    EXPECT_FALSE(s.reply(later, "gone"));
}

TEST_F(SocketTest, APeerThatDoesNotReadIsDropped) {
    sock::config cfg{.path = path, .max_reply_buffer = 1 << 20};
    const std::string huge(300000, 'r');
    sock::server s(cfg, [&](std::string_view, const sock::peer&) { return huge; });
    const int fd = dial(path);
    int rcv = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    std::string many;
    for (int i = 0; i < 20; ++i) many += "q\n";
    ASSERT_EQ(send(fd, many.data(), many.size(), 0), ssize_t(many.size()));
    s.poll();  // accept
    ASSERT_EQ(s.clients(), 1u);
    for (int i = 0; i < 50 && s.clients() > 0; ++i) s.poll();
    EXPECT_EQ(s.clients(), 0u);
    EXPECT_EQ(s.counters().get(sock::counter::reply_overflow), 1u);
    close(fd);
}

}  // namespace
}  // namespace sluice::control

namespace sluice::control {
namespace {

// A format-2 snapshot with one IPFIX exporter, one domain, one two-field template.
std::vector<uint8_t> tiny_snapshot() {
    std::vector<uint8_t> b;
    b.reserve(256);
    auto put = [&](auto v) {
        const std::size_t at = b.size();
        b.resize(at + sizeof v);
        std::memcpy(b.data() + at, &v, sizeof v);
    };
    for (const char c : std::string_view("SLUICETS")) put(uint8_t(c));
    put(uint32_t(2));
    put(uint32_t(0));
    put(uint64_t(0));  // body length, patched
    const std::size_t body = b.size();
    put(uint32_t(1));  // exporters
    for (const uint8_t x : {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3}) put(x);
    put(uint64_t(100));
    put(uint64_t(200));
    put(uint32_t(1));  // domains
    put(uint8_t(10));
    put(uint16_t(4739));
    put(uint32_t(7));
    put(uint32_t(64));  // sampling rate
    put(uint8_t(0));
    put(uint64_t(0));
    put(uint32_t(1));  // samplers
    put(uint64_t(3));
    put(uint32_t(128));
    put(uint32_t(1));  // templates
    put(uint16_t(256));
    put(uint8_t(0));
    put(uint16_t(0));
    put(uint64_t(150));
    put(uint16_t(2));
    put(uint16_t(8));
    put(uint16_t(4));
    put(uint32_t(0));
    put(uint16_t(100));
    put(uint16_t(0xffff));
    put(uint32_t(9));
    const uint64_t len = b.size() - body;
    std::memcpy(b.data() + 16, &len, 8);
    return b;
}

TEST(Templates, ListsASnapshot) {
    const auto snap = tiny_snapshot();
    std::string out, err;
    ASSERT_TRUE(commands::templates_json({snap}, "", out, err)) << err;
    EXPECT_EQ(out, R"([{"exporter":"10.1.2.3","first_seen_ns":100,"last_seen_ns":200,"domains":[{"version":10,)"
                   R"("domain":7,"source_port":4739,"sampling_rate":64,"samplers":[{"id":3,"rate":128}],"templates":[)"
                   R"({"id":256,"options":false,"scope_fields":0,"last_seen_ns":150,"fields":[[8,4],[100,65535,9]],)"
                   R"("record_length":4}]}]}])");
    ASSERT_TRUE(commands::templates_json({snap}, "10.9.9.9", out, err));
    EXPECT_EQ(out, "[]");
}

TEST(Templates, EveryTruncationIsAnErrorNotACrash) {
    const auto snap = tiny_snapshot();
    for (std::size_t n = 0; n < snap.size(); ++n) {
        std::vector<uint8_t> cut(snap.begin(), snap.begin() + std::ptrdiff_t(n));
        if (n >= 24) {  // keep the body length consistent so the parser walks into the cut
            const uint64_t len = n - 24;
            std::memcpy(cut.data() + 16, &len, 8);
        }
        std::string out, err;
        EXPECT_FALSE(commands::templates_json({cut}, "", out, err)) << n;
    }
    // A count far past the end.
    auto bad = snap;
    const uint32_t huge = 0x7fffffff;
    std::memcpy(bad.data() + 24, &huge, 4);
    std::string out, err;
    EXPECT_FALSE(commands::templates_json({bad}, "", out, err));
}

}  // namespace
}  // namespace sluice::control
