// SPDX-License-Identifier: Apache-2.0
// The control socket server (see socket.hpp).
#include "socket.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "control/commands/protocol.hpp"

namespace sluice::control::sock {

bool peer::in_group(gid_t g) const noexcept {
    return gid == g || std::find(groups.begin(), groups.end(), g) != groups.end();
}

namespace {

[[noreturn]] void fail(const std::string& path, const char* what, int err) {
    throw std::runtime_error("control socket " + path + ": " + what + ": " + std::strerror(err));
}

sockaddr_un address_of(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof a.sun_path)
        throw std::runtime_error("control socket " + path + ": path empty or longer than " +
                                 std::to_string(sizeof a.sun_path - 1) + " bytes");
    std::memcpy(a.sun_path, path.data(), path.size());
    return a;
}

// Something at `path`: a socket a daemon answers on (error), a stale socket
// (removed), or another kind of file (error).
void clear_stale(const std::string& path, const sockaddr_un& a) {
    struct stat st{};
    if (lstat(path.c_str(), &st) != 0) return;
    if (!S_ISSOCK(st.st_mode)) throw std::runtime_error("control socket " + path + ": exists and is not a socket");
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail(path, "socket", errno);
    const int rc = connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
    const int err = errno;
    close(fd);
    if (rc == 0) throw std::runtime_error("control socket " + path + ": another daemon is listening on it");
    if (err != ECONNREFUSED && err != ENOENT) fail(path, "probing the existing socket", err);
    if (unlink(path.c_str()) != 0 && errno != ENOENT) fail(path, "removing the stale socket", errno);
}

peer credentials(int fd) {
    peer p;
    ucred cr{};
    socklen_t len = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0) {
        p.pid = cr.pid;
        p.uid = cr.uid;
        p.gid = cr.gid;
    } else {
        p.uid = uid_t(-1);  // unknown: no privilege
        p.gid = gid_t(-1);
    }
    // 64 groups first; the kernel says how many there are when it is more.
    std::vector<gid_t> g(64);
    socklen_t glen = socklen_t(g.size() * sizeof(gid_t));
    int rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g.data(), &glen);
    if (rc != 0 && errno == ERANGE) {
        g.resize(glen / sizeof(gid_t));
        rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g.data(), &glen);
    }
    if (rc == 0) {
        g.resize(glen / sizeof(gid_t));
        p.groups = std::move(g);
    }
    return p;
}

}  // namespace

server::server(config cfg, handler h) : _cfg(std::move(cfg)), _handler(std::move(h)) {
    const sockaddr_un a = address_of(_cfg.path);
    // PATH.lock, held for the server's life: two daemons starting at once
    // cannot both judge the other's socket stale (bind and listen are two steps).
    const std::string lock = _cfg.path + ".lock";
    _lock = open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (_lock < 0) fail(lock, "open", errno);
    if (flock(_lock, LOCK_EX | LOCK_NB) != 0) {
        const int e = errno;
        close(_lock);
        _lock = -1;
        if (e == EWOULDBLOCK) throw std::runtime_error("control socket " + _cfg.path + ": another daemon is listening on it");
        fail(lock, "flock", e);
    }
    try {
        clear_stale(_cfg.path, a);
    } catch (...) {
        close(_lock);
        throw;
    }
    _listen = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (_listen < 0) fail(_cfg.path, "socket", errno);
    // The inode is created by bind() with the umask applied: no moment where
    // it is wider than 0660. Then the group, then the exact mode.
    const mode_t old = umask(0117);
    const int rc = bind(_listen, reinterpret_cast<const sockaddr*>(&a), sizeof a);
    const int err = errno;
    umask(old);
    if (rc != 0) {
        close(_listen);
        close(_lock);
        fail(_cfg.path, "bind", err);
    }
    auto undo = [&](const char* what, int e) {
        close(_listen);
        unlink(_cfg.path.c_str());
        close(_lock);
        fail(_cfg.path, what, e);
    };
    if (_cfg.group != gid_t(-1) && chown(_cfg.path.c_str(), uid_t(-1), _cfg.group) != 0) undo("chown to the group", errno);
    if (chmod(_cfg.path.c_str(), 0660) != 0) undo("chmod 0660", errno);
    struct stat st{};
    if (stat(_cfg.path.c_str(), &st) != 0) undo("stat", errno);
    _dev = st.st_dev;
    _ino = st.st_ino;
    if (listen(_listen, 128) != 0) undo("listen", errno);
    _epoll = epoll_create1(EPOLL_CLOEXEC);
    if (_epoll < 0) undo("epoll_create1", errno);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = _listen;
    if (epoll_ctl(_epoll, EPOLL_CTL_ADD, _listen, &ev) != 0) {
        close(_epoll);
        undo("epoll_ctl", errno);
    }
    _clients.reserve(_cfg.max_clients);
}

server::~server() {
    for (client& c : _clients)
        if (c.fd >= 0) close(c.fd);
    if (_epoll >= 0) close(_epoll);
    if (_listen >= 0) close(_listen);
    // Only our own inode: a successor daemon may already have replaced it.
    struct stat st{};
    if (stat(_cfg.path.c_str(), &st) == 0 && st.st_dev == _dev && st.st_ino == _ino) unlink(_cfg.path.c_str());
    // The lock file stays (unlinking it would let a third daemon lock a new
    // inode while a second still holds the old one); only the lock is released.
    if (_lock >= 0) close(_lock);
}

server::client* server::find(int fd) noexcept {
    for (client& c : _clients)
        if (c.fd == fd) return &c;
    return nullptr;
}

void server::close_client(client& c, counter why) {
    if (c.dead) return;
    c.dead = true;
    epoll_ctl(_epoll, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
    c.fd = -1;
    _counters.add(counter::closed);
    if (why != counter::closed) _counters.add(why);
}

void server::accept_all(clock::time_point now) {
    for (;;) {
        const int fd = accept4(_listen, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;  // EAGAIN, or an error the next tick retries
        if (_clients.size() >= _cfg.max_clients) {
            _counters.add(counter::rejected_full);
            // A best-effort reason: the socket buffer of a new connection is empty.
            const std::string r =
                commands::error_reply(commands::error_code::busy, "too many control clients connected") + "\n";
            (void)!send(fd, r.data(), r.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            close(fd);
            continue;
        }
        client c;
        c.fd = fd;
        c.id = _next_id++;
        c.who = credentials(fd);
        c.deadline = now + _cfg.idle_timeout;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.fd = fd;
        if (epoll_ctl(_epoll, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            _counters.add(counter::io_errors);
            continue;
        }
        _counters.add(counter::connections);
        _clients.push_back(std::move(c));
    }
}

void server::on_readable(client& c, clock::time_point now) {
    char buf[16384];
    for (;;) {
        if (c.closing) return;
        const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
        if (n == 0) {
            // The peer closed its side; replies still pending are written if it reads them.
            if (c.out.size() == c.out_off && !c.deferred) close_client(c, counter::closed);
            else c.closing = true;
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
            close_client(c, errno == ECONNRESET ? counter::closed : counter::io_errors);
            return;
        }
        const bool was_empty = c.in.empty();
        c.in.append(buf, std::size_t(n));
        if (was_empty) c.deadline = now + _cfg.read_timeout;
        handle_lines(c, now);
        if (c.dead) return;
        if (c.out.size() > c.out_off) on_writable(c);
        if (c.dead) return;
    }
}

void server::handle_lines(client& c, clock::time_point now) {
    std::size_t start = 0;
    while (!c.deferred) {
        const std::size_t nl = c.in.find('\n', start);
        if (nl == std::string::npos) break;
        std::string_view line(c.in.data() + start, nl - start);
        if (line.size() > _cfg.max_request) break;  // left in `in`: handled below as oversized
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        start = nl + 1;
        if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank lines are ignored
        _counters.add(counter::requests);
        _current = c.id;
        std::string r = _handler(line, c.who);
        _current = 0;
        if (r == k_deferred) {
            c.deferred = true;
            break;
        }
        c.out += r;
        c.out.push_back('\n');
        if (c.out.size() - c.out_off > _cfg.max_reply_buffer) {
            close_client(c, counter::reply_overflow);
            return;
        }
    }
    c.in.erase(0, start);
    if (start > 0) c.deadline = now + (c.in.empty() ? _cfg.idle_timeout : _cfg.read_timeout);
    // Oversized: no newline within the limit (lines waiting behind a
    // deferred reply are not judged until they are reached).
    const std::size_t first_nl = c.in.find('\n');
    const std::size_t pending_line = first_nl == std::string::npos ? c.in.size() : first_nl;
    // A client with a deferred reply may pipeline at most one request's worth.
    if ((pending_line > _cfg.max_request || (c.deferred && c.in.size() > _cfg.max_request)) && !c.closing) {
        _counters.add(counter::requests);
        _counters.add(counter::oversized);
        c.out += commands::error_reply(commands::error_code::too_large,
                                       "request longer than " + std::to_string(_cfg.max_request) + " bytes; closing") +
                 "\n";
        c.in.clear();
        c.closing = true;
        c.deferred = false;
    }
    if (c.out.size() > c.out_off) on_writable(c);
}

bool server::reply(uint64_t id, const std::string& line) {
    for (client& c : _clients) {
        if (c.id != id || c.dead) continue;
        c.deferred = false;
        c.out += line;
        c.out.push_back('\n');
        const auto now = clock::now();
        c.deadline = now + (c.in.empty() ? _cfg.idle_timeout : _cfg.read_timeout);
        handle_lines(c, now);  // what was pipelined behind it
        return true;
    }
    return false;
}

void server::on_writable(client& c) {
    while (c.out_off < c.out.size()) {
        const ssize_t n = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
            close_client(c, errno == EPIPE || errno == ECONNRESET ? counter::closed : counter::io_errors);
            return;
        }
        c.out_off += std::size_t(n);
    }
    if (c.out_off == c.out.size()) {
        c.out.clear();
        c.out_off = 0;
        if (c.closing) {
            shutdown(c.fd, SHUT_WR);
            close_client(c, counter::closed);
            return;
        }
    } else if (c.out_off > (1u << 20)) {
        c.out.erase(0, c.out_off);  // keep the buffer bounded by what is unsent
        c.out_off = 0;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (c.out.empty() ? 0u : unsigned(EPOLLOUT));
    ev.data.fd = c.fd;
    epoll_ctl(_epoll, EPOLL_CTL_MOD, c.fd, &ev);
}

void server::poll(clock::time_point now) {
    // 64 events per round: the rest stay ready for the next tick (level-triggered).
    epoll_event evs[64];
    const int n = epoll_wait(_epoll, evs, 64, 0);
    for (int i = 0; i < n; ++i) {
        if (evs[i].data.fd == _listen) {
            accept_all(now);
            continue;
        }
        client* c = find(evs[i].data.fd);
        if (c == nullptr || c->dead) continue;
        if (evs[i].events & EPOLLOUT) on_writable(*c);
        if (!c->dead && (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) on_readable(*c, now);
    }
    for (client& c : _clients) {
        if (c.dead) continue;
        // A client that sent part of a line (or nothing at all) and then
        // stalled. An idle connection between requests waits as long as it likes.
        // Part of a line past the read timeout (a slow-loris client), or
        // nothing at all past the idle timeout: the slot is freed.
        if (!c.deferred && now >= c.deadline) close_client(c, counter::timeouts);
    }
    std::erase_if(_clients, [](const client& c) { return c.dead; });
}

void server::flush() {
    for (client& c : _clients)
        if (!c.dead && c.out.size() > c.out_off) on_writable(c);
    std::erase_if(_clients, [](const client& c) { return c.dead; });
}

}  // namespace sluice::control::sock
