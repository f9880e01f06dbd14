// SPDX-License-Identifier: Apache-2.0
// The control protocol's framing: one JSON request per line in, one JSON reply per line out (docs/control-api.md).
//
//   request  {"v":1,"cmd":"stats","args":{...}}
//   reply    {"v":1,"ok":true,"result":...}
//            {"v":1,"ok":false,"error":{"code":"...","message":"..."}}
//
// Pure code: parse_request() validates a line with simdjson against the
// command table (commands.hpp) and either returns the request or the error
// the peer gets. Argument values may be JSON strings, numbers or booleans;
// they reach the handler as text.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "control/commands/commands.hpp"

namespace sluice::control::commands {

// Error codes a reply may carry (the "code" member). Clients branch on these.
enum class error_code : uint8_t {
    parse_error,          // not JSON, or not an object
    bad_request,          // "cmd" missing or not a string, "args" not an object
    unsupported_version,  // "v" missing or not k_protocol_version
    unknown_command,
    bad_args,             // unknown argument, missing required one, bad value
    denied,               // SO_PEERCRED says the peer may not run it
    too_large,            // request line longer than the limit (the connection is then closed)
    not_configured,       // a hook nothing provides in this build (reload, lookup, top)
    busy,                 // a command of this kind is already running
    failed,               // the command ran and failed (message says why)
};
inline constexpr std::array<std::string_view, 10> error_names{
    "parse_error", "bad_request", "unsupported_version", "unknown_command", "bad_args",
    "denied", "too_large", "not_configured", "busy", "failed"};
constexpr std::string_view name(error_code c) noexcept { return error_names[static_cast<std::size_t>(c)]; }

struct request {
    const command_info* cmd = nullptr;
    std::vector<std::pair<std::string, std::string>> args;

    // The argument's value, or `def`.
    std::string_view arg(std::string_view name, std::string_view def = {}) const noexcept {
        for (const auto& [k, v] : args)
            if (k == name) return v;
        return def;
    }
    bool has(std::string_view name) const noexcept {
        for (const auto& a : args)
            if (a.first == name) return true;
        return false;
    }
};

struct parse_failure {
    error_code code;
    std::string message;
};

struct parse_result {
    bool ok = false;
    request req;
    parse_failure err{error_code::parse_error, {}};
};

parse_result parse_request(std::string_view line);

// Encoded reply lines (no trailing newline). `result` is an encoded JSON value.
std::string ok_reply(std::string_view result);
std::string error_reply(error_code c, std::string_view message);

// An encoded request line (what sluicectl sends).
std::string encode_request(std::string_view cmd, const std::vector<std::pair<std::string, std::string>>& args);

}  // namespace sluice::control::commands
