// SPDX-License-Identifier: Apache-2.0
// sluice-mock-kafka: librdkafka's mock cluster as a process, with faults injected from stdin.
//
//   sluice-mock-kafka [--brokers N] [--topic NAME[:PARTITIONS]]...
//
// Prints the bootstrap address ("127.0.0.1:PORT,127.0.0.1:PORT,...") as the
// first line of stdout, then serves the Kafka protocol over TCP until killed
// (SIGINT/SIGTERM) or until stdin closes with --exit-on-eof. Each stdin line is
// one command, answered by one stdout line ("ok ..." or "error ...") so a test
// in another process knows the fault is in place before it goes on:
//
//   down ID|all                    rd_kafka_mock_broker_set_down (connections closed, new ones refused)
//   up ID|all                      rd_kafka_mock_broker_set_up
//   rtt ID|all MS                  rd_kafka_mock_broker_set_rtt
//   errors APIKEY ERR COUNT        rd_kafka_mock_push_request_errors: the next COUNT requests of APIKEY
//                                  (0 = Produce) fail with ERR (e.g. 7 REQUEST_TIMED_OUT, 6 NOT_LEADER)
//   clear APIKEY                   rd_kafka_mock_clear_request_errors
//   topic NAME PARTITIONS          rd_kafka_mock_topic_create
//
// Broker ids are 1..N. The data lives in memory and is gone when the process
// exits. An outside `kcat -C -b BOOTSTRAPS -t T -e` reads what was produced.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;
extern "C" void on_signal(int) { g_stop = 1; }

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "sluice-mock-kafka: %s\n"
                 "usage: sluice-mock-kafka [--brokers N] [--topic NAME[:PARTITIONS]]... [--exit-on-eof]\n",
                 why);
    std::exit(2);
}

bool parse_int(const std::string& s, int& v) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc{} && p == s.data() + s.size() && !s.empty();
}

// Applies one stdin command; returns the reply line.
std::string command(rd_kafka_mock_cluster_t* mc, int brokers, const std::string& line) {
    std::istringstream in(line);
    std::string verb;
    in >> verb;
    std::vector<std::string> a;
    for (std::string w; in >> w;) a.push_back(w);
    auto each_broker = [&](const std::string& which, auto fn) -> std::string {
        int id = 0;
        if (which == "all") {
            for (int b = 1; b <= brokers; ++b)
                if (rd_kafka_resp_err_t e = fn(b)) return std::string("error ") + rd_kafka_err2str(e);
            return "ok " + line;
        }
        if (!parse_int(which, id) || id < 1 || id > brokers) return "error broker id 1.." + std::to_string(brokers);
        if (rd_kafka_resp_err_t e = fn(id)) return std::string("error ") + rd_kafka_err2str(e);
        return "ok " + line;
    };
    if (verb == "down" && a.size() == 1)
        return each_broker(a[0], [&](int b) { return rd_kafka_mock_broker_set_down(mc, b); });
    if (verb == "up" && a.size() == 1)
        return each_broker(a[0], [&](int b) { return rd_kafka_mock_broker_set_up(mc, b); });
    int x = 0, y = 0, z = 0;
    if (verb == "rtt" && a.size() == 2 && parse_int(a[1], x))
        return each_broker(a[0], [&](int b) { return rd_kafka_mock_broker_set_rtt(mc, b, x); });
    if (verb == "errors" && a.size() == 3 && parse_int(a[0], x) && parse_int(a[1], y) && parse_int(a[2], z) && z > 0) {
        std::vector<rd_kafka_resp_err_t> errs(std::size_t(z), static_cast<rd_kafka_resp_err_t>(y));
        rd_kafka_mock_push_request_errors_array(mc, int16_t(x), errs.size(), errs.data());
        return "ok " + line;
    }
    if (verb == "clear" && a.size() == 1 && parse_int(a[0], x)) {
        rd_kafka_mock_clear_request_errors(mc, int16_t(x));
        return "ok " + line;
    }
    if (verb == "topic" && a.size() == 2 && parse_int(a[1], x) && x > 0) {
        if (rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, a[0].c_str(), x, std::min(brokers, 3)))
            return std::string("error ") + rd_kafka_err2str(e);
        return "ok " + line;
    }
    return "error unknown command (down|up ID|all, rtt ID|all MS, errors APIKEY ERR COUNT, clear APIKEY, "
           "topic NAME PARTITIONS): " + line;
}

}  // namespace

int main(int argc, char** argv) {
    int brokers = 3;
    bool exit_on_eof = false;
    std::vector<std::pair<std::string, int>> topics;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) usage((a + ": missing value").c_str());
            return argv[++i];
        };
        if (a == "--brokers") {
            if (!parse_int(next(), brokers) || brokers < 1 || brokers > 32) usage("--brokers: 1..32");
        } else if (a == "--topic") {
            const std::string t = next();
            const auto colon = t.find(':');
            int parts = 4;
            if (colon != std::string::npos && (!parse_int(t.substr(colon + 1), parts) || parts < 1 || parts > 1024))
                usage("--topic NAME[:PARTITIONS], 1..1024 partitions");
            topics.emplace_back(t.substr(0, colon), parts);
        } else if (a == "--exit-on-eof") {
            exit_on_eof = true;
        } else if (a == "--help" || a == "-h") {
            usage("help");
        } else {
            usage(("unknown argument " + a).c_str());
        }
    }
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    // The handle only hosts the mock cluster's thread; it never connects anywhere.
    if (rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err) != RD_KAFKA_CONF_OK) usage(err);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk == nullptr) {
        std::fprintf(stderr, "sluice-mock-kafka: rd_kafka_new: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (mc == nullptr) {
        std::fprintf(stderr, "sluice-mock-kafka: rd_kafka_mock_cluster_new failed\n");
        return 1;
    }
    for (const auto& [name, parts] : topics)
        if (rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name.c_str(), parts, std::min(brokers, 3))) {
            std::fprintf(stderr, "sluice-mock-kafka: topic %s: %s\n", name.c_str(), rd_kafka_err2str(e));
            return 1;
        }
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
    std::printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    std::fflush(stdout);
    std::fprintf(stderr, "sluice-mock-kafka: %d broker(s) at %s\n", brokers, rd_kafka_mock_cluster_bootstraps(mc));
    // Commands from stdin; at EOF (a detached demo) keep serving until a signal.
    std::string line;
    bool eof = false;
    while (!g_stop) {
        if (!eof) {
            if (std::getline(std::cin, line)) {
                if (line.empty() || line[0] == '#') continue;
                std::printf("%s\n", command(mc, brokers, line).c_str());
                std::fflush(stdout);
                continue;
            }
            eof = true;
            if (exit_on_eof) break;
        }
        pause();
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
