// SPDX-License-Identifier: Apache-2.0
// The --metrics-listen HTTP listener (see http.hpp).
#include "http.hpp"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace sluice::control::metrics {

listen_address parse_listen(const std::string& spec) {
    listen_address a;
    std::string port;
    if (spec.find_first_not_of("0123456789") == std::string::npos) {
        a.host = "127.0.0.1";
        port = spec;
    } else if (!spec.empty() && spec[0] == '[') {
        const auto e = spec.find("]:");
        if (e == std::string::npos) throw std::invalid_argument("expected [ADDR6]:PORT");
        a.host = spec.substr(1, e - 1);
        port = spec.substr(e + 2);
    } else {
        const auto c = spec.rfind(':');
        if (c == std::string::npos) throw std::invalid_argument("expected PORT, ADDR:PORT or [ADDR6]:PORT");
        a.host = spec.substr(0, c);
        port = spec.substr(c + 1);
    }
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(port) > 65535)
        throw std::invalid_argument("bad port \"" + port + "\"");
    a.port = uint16_t(std::stoul(port));
    in6_addr t6;
    in_addr t4;
    if (inet_pton(AF_INET, a.host.c_str(), &t4) != 1 && inet_pton(AF_INET6, a.host.c_str(), &t6) != 1)
        throw std::invalid_argument("\"" + a.host + "\" is not an IPv4 or IPv6 address");
    return a;
}

http_listener::http_listener(const listen_address& a, body_fn body) : _body(std::move(body)) {
    sockaddr_storage ss{};
    socklen_t len;
    const bool v6 = a.host.find(':') != std::string::npos;
    if (v6) {
        auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(a.port);
        inet_pton(AF_INET6, a.host.c_str(), &s6->sin6_addr);
        len = sizeof *s6;
    } else {
        auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
        s4->sin_family = AF_INET;
        s4->sin_port = htons(a.port);
        inet_pton(AF_INET, a.host.c_str(), &s4->sin_addr);
        len = sizeof *s4;
    }
    const std::string where = "--metrics-listen " + a.host + ":" + std::to_string(a.port);
    _fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (_fd < 0) throw std::runtime_error(where + ": socket: " + std::strerror(errno));
    const int one = 1;
    setsockopt(_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(_fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(_fd, 16) != 0) {
        const int e = errno;
        close(_fd);
        throw std::runtime_error(where + ": " + std::strerror(e));
    }
    sockaddr_storage bound{};
    socklen_t bl = sizeof bound;
    getsockname(_fd, reinterpret_cast<sockaddr*>(&bound), &bl);
    _port = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

http_listener::~http_listener() {
    for (conn& c : _conns)
        if (c.fd >= 0) close(c.fd);
    if (_fd >= 0) close(_fd);
}

void http_listener::respond(conn& c) {
    c.replied = true;
    // "GET /metrics HTTP/1.1" (a query string is ignored)
    const auto eol = c.in.find("\r\n");
    const std::string line = c.in.substr(0, eol);
    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string::npos ? std::string::npos : line.find(' ', sp1 + 1);
    std::string status = "400 Bad Request", type = "text/plain; charset=utf-8", body = "bad request\n";
    if (sp1 != std::string::npos && sp2 != std::string::npos) {
        const std::string method = line.substr(0, sp1);
        std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
        if (const auto q = target.find('?'); q != std::string::npos) target.resize(q);
        if (method != "GET" && method != "HEAD") {
            status = "405 Method Not Allowed";
            body = "only GET\n";
        } else if (target != "/metrics") {
            status = "404 Not Found";
            body = "try /metrics\n";
        } else {
            status = "200 OK";
            type = "text/plain; version=0.0.4; charset=utf-8";
            body = _body();
            ++_served;
        }
        if (method == "HEAD") {
            c.out = "HTTP/1.1 " + status + "\r\nContent-Type: " + type + "\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
            return;
        }
    }
    c.out = "HTTP/1.1 " + status + "\r\nContent-Type: " + type + "\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\nConnection: close\r\n\r\n" + body;
}

void http_listener::poll(clock::time_point now) {
    for (;;) {
        const int fd = accept4(_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        if (_conns.size() >= k_max_clients) {
            close(fd);
            continue;
        }
        _conns.push_back({fd, {}, {}, 0, now + k_timeout, false});
    }
    for (conn& c : _conns) {
        if (!c.replied) {
            char buf[4096];
            for (;;) {
                const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
                if (n > 0) {
                    c.in.append(buf, std::size_t(n));
                    if (c.in.size() > k_max_head) break;
                    continue;
                }
                if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                    close(c.fd);
                    c.fd = -1;
                }
                break;
            }
            if (c.fd < 0) continue;
            if (c.in.find("\r\n\r\n") != std::string::npos || c.in.size() > k_max_head) respond(c);
        }
        if (c.replied) {
            while (c.off < c.out.size()) {
                const ssize_t n = send(c.fd, c.out.data() + c.off, c.out.size() - c.off, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n <= 0) break;
                c.off += std::size_t(n);
            }
            if (c.off == c.out.size()) {
                close(c.fd);
                c.fd = -1;
                continue;
            }
        }
        if (now >= c.deadline) {
            close(c.fd);
            c.fd = -1;
        }
    }
    std::erase_if(_conns, [](const conn& c) { return c.fd < 0; });
}

}  // namespace sluice::control::metrics
