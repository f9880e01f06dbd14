// SPDX-License-Identifier: Apache-2.0
// A minimal non-blocking HTTP/1.1 listener for GET /metrics, polled by the control loop (--metrics-listen).
//
//   control loop tick ──poll()──► accept ──► read the request head (≤ 8 KiB, ≤ 5 s)
//                                        ──► GET /metrics: 200 + body() ; other paths 404 ; other methods 405
//                                        ──► write without blocking, then close (Connection: close)
//
// One request per connection; no keep-alive, no chunking: Prometheus
// scrapes work with that. At most 16 connections at once (a scraper or
// two; more are closed at accept). Pure code (no DPDK).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sluice::control::metrics {

// "PORT" (127.0.0.1), "ADDR:PORT" or "[ADDR6]:PORT". Throws std::invalid_argument.
struct listen_address {
    std::string host;
    uint16_t port = 0;
};
listen_address parse_listen(const std::string& spec);

class http_listener {
public:
    using clock = std::chrono::steady_clock;
    using body_fn = std::function<std::string()>;
    static constexpr std::size_t k_max_clients = 16;
    static constexpr std::size_t k_max_head = 8192;
    static constexpr auto k_timeout = std::chrono::seconds(5);

    // Binds and listens; throws std::runtime_error naming the address and errno.
    http_listener(const listen_address& a, body_fn body);
    ~http_listener();
    http_listener(const http_listener&) = delete;
    http_listener& operator=(const http_listener&) = delete;

    void poll(clock::time_point now = clock::now());
    uint16_t port() const noexcept { return _port; }  // the bound port (0 in the spec = any)
    uint64_t served() const noexcept { return _served; }

private:
    struct conn {
        int fd = -1;
        std::string in, out;
        std::size_t off = 0;
        clock::time_point deadline;
        bool replied = false;
    };
    void respond(conn& c);

    body_fn _body;
    int _fd = -1;
    uint16_t _port = 0;
    uint64_t _served = 0;
    std::vector<conn> _conns;
};

}  // namespace sluice::control::metrics
