// SPDX-License-Identifier: Apache-2.0
// The non-blocking log stream (see log_stream.hpp).
#include "log_stream.hpp"

#include <limits.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace sluice::control::log {

namespace {

std::atomic<uint64_t> g_dropped_bytes{0};
std::atomic<uint64_t> g_dropped_writes{0};

ssize_t cookie_write(void*, const char* buf, size_t len) {
    size_t done = 0;
    while (done < len) {
        const size_t n = len - done < PIPE_BUF ? len - done : PIPE_BUF;
        pollfd p{.fd = STDERR_FILENO, .events = POLLOUT, .revents = 0};
        const int r = poll(&p, 1, 0);
        if (r != 1 || (p.revents & POLLOUT) == 0) break;
        const ssize_t w = ::write(STDERR_FILENO, buf + done, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            break;
        }
        done += size_t(w);
    }
    if (done < len) {
        g_dropped_bytes.fetch_add(len - done, std::memory_order_relaxed);
        g_dropped_writes.fetch_add(1, std::memory_order_relaxed);
    }
    return ssize_t(len);  // what could not be written is dropped, not retried
}

std::FILE* open_stream() noexcept {
    cookie_io_functions_t io{};
    io.write = cookie_write;
    std::FILE* f = fopencookie(nullptr, "w", io);
    if (f == nullptr) return stderr;
    // Line buffered: one write per line, so a drop loses whole lines.
    setvbuf(f, nullptr, _IOLBF, 4096);
    return f;
}

}  // namespace

std::FILE* stream() noexcept {
    static std::FILE* const f = open_stream();
    return f;
}

uint64_t dropped_bytes() noexcept { return g_dropped_bytes.load(std::memory_order_relaxed); }
uint64_t dropped_writes() noexcept { return g_dropped_writes.load(std::memory_order_relaxed); }

}  // namespace sluice::control::log
