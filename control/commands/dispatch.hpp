// SPDX-License-Identifier: Apache-2.0
// The control socket's dispatcher: parse a request line, check the peer's privilege, run the command's handler.
//
// Pure code (no DPDK). The handlers are bound by the composition root
// (commands_ctl.cpp) one per row of commands::table; a row without a
// handler answers not_configured. Every refusal and every malformed request
// is counted in the socket's counter block; refusals are also logged,
// at most one line per second (with how many were suppressed).
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "control/commands/protocol.hpp"
#include "control/socket/socket.hpp"

namespace sluice::control::commands {

// Who may run what (see privilege in commands.hpp).
struct access_policy {
    uid_t owner = 0;               // the daemon's own user: treated like root
    gid_t read_group = gid_t(-1);  // --control-group
    gid_t admin_group = gid_t(-1); // --control-admin-group

    bool may_read(const sock::peer& p) const noexcept;
    bool may_admin(const sock::peer& p) const noexcept;
};

struct outcome {
    bool ok = true;
    std::string result = "null";  // encoded JSON when ok
    error_code code = error_code::failed;
    std::string message;

    bool deferred = false;        // the handler answers later through sock::server::reply()

    static outcome success(std::string json) { return {true, std::move(json), error_code::failed, {}, false}; }
    static outcome error(error_code c, std::string m) { return {false, {}, c, std::move(m), false}; }
    static outcome later() { return {true, {}, error_code::failed, {}, true}; }
};

class dispatcher {
public:
    using handler = std::function<outcome(const request&, const sock::peer&)>;
    using logger = std::function<void(const std::string&)>;

    dispatcher(access_policy p, logger log) : _policy(p), _log(std::move(log)) {}

    void bind(command c, handler h) { _handlers[static_cast<std::size_t>(c)] = std::move(h); }
    // The socket whose counters refusals and malformed requests go to (set once it exists).
    void count_into(sock::counter_block* c) noexcept { _counters = c; }

    // One request line to one reply line.
    std::string handle(std::string_view line, const sock::peer& p);

    const access_policy& policy() const noexcept { return _policy; }

private:
    void count(sock::counter c) noexcept {
        if (_counters != nullptr) _counters->add(c);
    }
    void log_denied(const sock::peer& p, std::string_view cmd);

    access_policy _policy;
    logger _log;
    std::array<handler, command_count> _handlers{};
    sock::counter_block* _counters = nullptr;
    std::chrono::steady_clock::time_point _last_log{};
    uint64_t _suppressed = 0;
};

}  // namespace sluice::control::commands
