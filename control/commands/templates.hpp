// SPDX-License-Identifier: Apache-2.0
// The `templates` reply: a worker's template-state snapshot (dataplane/decode/template/template_state_file.hpp, format 2) listed as JSON.
//
// Pure code over bytes: every length and count is checked against the
// buffer (a snapshot is ours, but a parser that trusts counts is a bug
// waiting). Several workers' snapshots are merged: an exporter seen by more
// than one worker is listed from the snapshot that saw it last.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::control::commands {

// `only`: an exporter address as exporters prints it ("" = every exporter).
// Returns false (with `error`) on a malformed snapshot.
bool templates_json(const std::vector<std::span<const uint8_t>>& snapshots, std::string_view only, std::string& out,
                    std::string& error);

}  // namespace sluice::control::commands
