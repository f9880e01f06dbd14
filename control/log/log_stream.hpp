// SPDX-License-Identifier: Apache-2.0
// The control core's log stream: a FILE* over stderr whose writes never block.
//
// Every log line of the process (EAL's, sluiced's, and the worker lines the
// control core prints from the workers' log rings) goes through this stream.
// A stalled reader (a full pipe, a stopped terminal) must not stall the
// control core, or shutdown: each write first polls fd 2 for room and, when
// there is none, drops the bytes and counts them. Writes go in pieces of at
// most PIPE_BUF, which a pipe that polls writable takes whole (POSIX).
//
// Ownership: one process-wide stream, created on first use, never closed
// (fd 2 belongs to the process). Line buffered. Used from the main lcore
// only (and EAL's own threads through rte_log's stream lock).
#pragma once

#include <cstdint>
#include <cstdio>

namespace sluice::control::log {

std::FILE* stream() noexcept;

// Bytes and write calls dropped because fd 2 had no room.
uint64_t dropped_bytes() noexcept;
uint64_t dropped_writes() noexcept;

}  // namespace sluice::control::log
