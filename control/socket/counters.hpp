// SPDX-License-Identifier: Apache-2.0
// The control socket's counter table (registered as group control/socket: sluice_control_socket_*_total).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dataplane/counters/counters.hpp"

namespace sluice::control::sock {

enum class counter : uint8_t {
    connections, rejected_full, closed, requests, replies_ok, replies_error, malformed, unknown_command,
    bad_args, denied, oversized, timeouts, reply_overflow, io_errors,
};
inline constexpr std::size_t counter_count = 14;
using K = counters::kind;

inline constexpr std::array<counters::info, counter_count> counter_table{{
    {"connections", "Control clients accepted.", K::volume},
    {"rejected_full", "Connections closed at once: --control-max-clients clients were already connected.", K::error},
    {"closed", "Control connections closed (by the peer, a timeout, an oversized request or an error).", K::volume},
    {"requests", "Request lines received.", K::volume},
    {"replies_ok", "Replies with ok:true.", K::volume},
    {"replies_error", "Replies with ok:false (each is also counted by cause below when it is the peer's fault).", K::volume},
    {"malformed", "Requests that were not JSON, not an object, of another protocol version or without cmd.", K::error},
    {"unknown_command", "Requests naming a command that does not exist.", K::error},
    {"bad_args", "Requests with an unknown, missing or malformed argument.", K::error},
    {"denied", "Requests refused by SO_PEERCRED (not in --control-group, or not admin for a state-changing command).",
     K::error},
    {"oversized", "Requests longer than the request size limit: an error reply, then the connection is closed.",
     K::error},
    {"timeouts", "Connections closed because a request line was not complete within the read timeout.", K::error},
    {"reply_overflow", "Connections closed because the peer did not read its replies (output buffer limit).", K::error},
    {"io_errors", "Connections closed on a read or write error other than the peer hanging up.", K::error},
}};
static_assert(counter_table.back().name == "io_errors");

using counter_block = counters::block<counter, counter_count>;

}  // namespace sluice::control::sock
