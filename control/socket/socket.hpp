// SPDX-License-Identifier: Apache-2.0
// The control socket: a non-blocking Unix stream server polled by the control loop, one JSON line per request.
//
//   control loop tick ──poll()──► epoll_wait(0) ──► accept (up to max_clients, SO_PEERCRED, SO_PEERGROUPS)
//                                             ├──► read into the client's bounded buffer ──► whole lines ──► handler
//                                             ├──► write what the kernel takes of each reply buffer
//                                             └──► close: read timeout, oversized line, unread replies, errors
//
// Nothing blocks: every fd is O_NONBLOCK and poll() never waits, so a slow
// or stuck client costs the control core one failed read or write per tick
// and never another client's turn. Limits (config below) bound memory:
// max_clients * (max_request + max_reply_buffer).
//
// Start-up: PATH.lock is flocked first (held for the server's life), so a
// second daemon is refused even in the instant between bind and listen;
// then a stale socket (connect refused) is replaced.
//
// Ownership: the server owns the listening socket (created mode 0660,
// chowned to `group`), every client fd and the path (unlinked at
// destruction only when it is still the inode this server bound). Pure code
// (no DPDK): unit-tested on its own.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "control/socket/counters.hpp"

namespace sluice::control::sock {

// Who is on the other end, from SO_PEERCRED and SO_PEERGROUPS at accept.
struct peer {
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;  // supplementary groups

    bool in_group(gid_t g) const noexcept;
};

struct config {
    std::string path;
    gid_t group = gid_t(-1);            // chown the socket to it; -1 = leave the daemon's group
    // 128: the tests run 100 concurrent clients; an fd and two buffers each.
    std::size_t max_clients = 128;
    // 64 KiB: the largest request is a command and a few short arguments.
    std::size_t max_request = 64 * 1024;
    // 16 MiB: a stats reply of thousands of exporters; a peer that does not
    // read more than this is dropped rather than buffered for.
    std::size_t max_reply_buffer = 16u << 20;
    // A request line must be complete this long after its first byte (or
    // after the connection opened): a slow-loris client is closed.
    std::chrono::milliseconds read_timeout{5000};
    // A connection that sends nothing for this long (after it opened or
    // after its last request) is closed: idle clients cannot hold every slot.
    std::chrono::milliseconds idle_timeout{60000};
};

class server {
public:
    using clock = std::chrono::steady_clock;
    // One request line (without its newline) from `p`; returns the reply line
    // (without newline), or k_deferred: the reply comes later through
    // reply(current_client(), ...). Runs on the polling thread. A client with
    // a deferred reply gets no other line handled (replies stay in order)
    // and no read timeout until it is answered.
    using handler = std::function<std::string(std::string_view line, const peer& p)>;
    static inline const std::string k_deferred{"\x01" "deferred"};

    // Creates the socket. A live socket at `path` (another daemon answers
    // connect) is an error; a stale one (connect refused) is replaced.
    // Throws std::runtime_error naming the path and errno.
    server(config cfg, handler h);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // One non-blocking round: accept, read, dispatch whole lines, write, time out.
    void poll(clock::time_point now = clock::now());
    // Tries to write every pending reply once more (before a shutdown).
    void flush();

    // The client whose line the handler is running for (0 outside a handler).
    uint64_t current_client() const noexcept { return _current; }
    // A deferred reply; false when that client has gone (the reply is dropped).
    bool reply(uint64_t client, const std::string& line);

    std::size_t clients() const noexcept { return _clients.size(); }
    const counter_block& counters() const noexcept { return _counters; }
    counter_block& counters() noexcept { return _counters; }
    const std::string& path() const noexcept { return _cfg.path; }

private:
    struct client {
        int fd = -1;
        uint64_t id = 0;             // never reused (deferred replies name it)
        bool deferred = false;       // a reply is owed: no other line is handled
        peer who;
        std::string in, out;
        std::size_t out_off = 0;
        clock::time_point deadline;  // for the current (incomplete) request
        bool closing = false;        // close once `out` is written
        bool dead = false;
    };
    void accept_all(clock::time_point now);
    void on_readable(client& c, clock::time_point now);
    void on_writable(client& c);
    void close_client(client& c, counter why);
    void handle_lines(client& c, clock::time_point now);
    client* find(int fd) noexcept;

    config _cfg;
    handler _handler;
    uint64_t _next_id = 1;
    uint64_t _current = 0;
    int _lock = -1;  // flock on PATH.lock
    int _listen = -1;
    int _epoll = -1;
    dev_t _dev = 0;
    ino_t _ino = 0;
    std::vector<client> _clients;
    counter_block _counters{};
};

}  // namespace sluice::control::sock
