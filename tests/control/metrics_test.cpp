// SPDX-License-Identifier: Apache-2.0
// The Prometheus exposition of a registry snapshot: names, HELP/TYPE, labels, the exporter cap, renames; the HTTP listener.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "control/metrics/http.hpp"
#include "control/metrics/prometheus.hpp"

namespace sluice::control {
namespace {

using K = counters::kind;
constexpr std::array<counters::info, 2> worker_rows{{{"records", "Records.", K::volume}, {"ring_full", "Lost \"x\".", K::drop}}};
constexpr std::array<counters::info, 1> decode_rows{{{"datagrams", "Datagrams.", K::volume}}};
constexpr std::array<counters::info, 2> odd_rows{{{"not_for_us", "n", K::volume}, {"cpu_ns", "c", K::volume}}};

snapshot make(std::size_t exporters) {
    snapshot s;
    s.groups = {{"dataplane", "worker", worker_rows}, {"dataplane", "decode", decode_rows}, {"sinks", "stage", odd_rows}};
    s.all.push_back({0, {num_label("worker", 0), num_label("lcore", 1), num_label("port", 0)}, {10, 1}});
    s.all.push_back({0, {num_label("worker", 1), num_label("lcore", 2), num_label("port", 0)}, {20, 0}});
    for (std::size_t e = 0; e < exporters; ++e)
        for (unsigned w = 0; w < 2; ++w)
            s.all.push_back({1, {num_label("worker", w), str_label("exporter", "10.0.0." + std::to_string(e + 1))}, {e + 1}});
    s.all.push_back({2, {num_label("sink", 0)}, {3, 1500000000}});
    return s;
}

TEST(Exposition, FamiliesLabelsAndRenames) {
    metrics::exporter_labels ex;
    const std::string t = metrics::exposition(make(2), ex);
    EXPECT_NE(t.find("# HELP sluice_dataplane_worker_records_total Records.\n"
                     "# TYPE sluice_dataplane_worker_records_total counter\n"
                     "sluice_dataplane_worker_records_total{worker=\"0\",core=\"1\",port=\"0\"} 10\n"
                     "sluice_dataplane_worker_records_total{worker=\"1\",core=\"2\",port=\"0\"} 20\n"),
              std::string::npos)
        << t;
    EXPECT_NE(t.find("# HELP sluice_dataplane_worker_ring_full_total Lost \"x\".\n"), std::string::npos);
    // Per-exporter series are summed over the workers.
    EXPECT_NE(t.find("sluice_dataplane_decode_datagrams_total{exporter=\"10.0.0.1\"} 2\n"
                     "sluice_dataplane_decode_datagrams_total{exporter=\"10.0.0.2\"} 4\n"),
              std::string::npos);
    EXPECT_NE(t.find("sluice_sinks_stage_not_for_this_host_total{sink=\"0\"} 3\n"), std::string::npos);
    EXPECT_NE(t.find("sluice_sinks_stage_cpu_seconds_total{sink=\"0\"} 1.500000000\n"), std::string::npos);
    EXPECT_EQ(t.find("not_for_us"), std::string::npos);
}

TEST(Exposition, ExporterCardinalityIsBounded) {
    metrics::exporter_labels ex{.max = 3, .admitted = {}};
    std::string t = metrics::exposition(make(5), ex);
    EXPECT_NE(t.find("{exporter=\"10.0.0.3\"} 6\n"), std::string::npos);
    EXPECT_EQ(t.find("{exporter=\"10.0.0.4\"}"), std::string::npos);
    EXPECT_NE(t.find("{exporter=\"_other\"} 18\n"), std::string::npos);  // 2*(4+5)
    EXPECT_NE(t.find("sluice_metrics_exporters_admitted 3\n"), std::string::npos);
    // Exporter 1 and 2 expire: 4 and 5 take their places; 3 keeps its own.
    snapshot s = make(5);
    std::erase_if(s.all, [](const series& x) {
        const label* e = x.find("exporter");
        return e && (e->value == "10.0.0.1" || e->value == "10.0.0.2");
    });
    t = metrics::exposition(s, ex);
    EXPECT_NE(t.find("{exporter=\"10.0.0.3\"} 6\n"), std::string::npos);
    EXPECT_NE(t.find("{exporter=\"10.0.0.5\"} 10\n"), std::string::npos);
    EXPECT_EQ(t.find("{exporter=\"_other\"}"), std::string::npos);
}

TEST(Exposition, EscapesLabelValues) {
    EXPECT_EQ(metrics::escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(Http, ListenSpec) {
    EXPECT_EQ(metrics::parse_listen("9464").host, "127.0.0.1");
    EXPECT_EQ(metrics::parse_listen("0.0.0.0:80").port, 80);
    EXPECT_EQ(metrics::parse_listen("[::1]:9464").host, "::1");
    EXPECT_THROW(metrics::parse_listen("host:80"), std::invalid_argument);
    EXPECT_THROW(metrics::parse_listen("70000"), std::invalid_argument);
    EXPECT_THROW(metrics::parse_listen("1.2.3.4"), std::invalid_argument);
}

std::string get(metrics::http_listener& h, const std::string& req) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(h.port());
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(send(fd, req.data(), req.size(), 0), ssize_t(req.size()));
    std::string out;
    char b[4096];
    for (int i = 0; i < 500; ++i) {
        h.poll();
        const ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
        if (n == 0) break;
        if (n > 0) out.append(b, std::size_t(n));
        else std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    close(fd);
    return out;
}

TEST(Http, ServesMetricsOnly) {
    metrics::http_listener h(metrics::parse_listen("0"), [] { return std::string("m 1\n"); });
    EXPECT_EQ(get(h, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: 4\r\n"
              "Connection: close\r\n\r\nm 1\n");
    EXPECT_EQ(get(h, "GET /x HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404", 0), 0u);
    EXPECT_EQ(get(h, "POST /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 405", 0), 0u);
    EXPECT_EQ(get(h, std::string(9000, 'A')).rfind("HTTP/1.1 400", 0), 0u);
    EXPECT_EQ(h.served(), 1u);
}

}  // namespace
}  // namespace sluice::control
