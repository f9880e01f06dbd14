// SPDX-License-Identifier: Apache-2.0
// sluiced's TOML configuration file: load one file into cli::options, with every error naming key, value and line.
//
//   FILE ──toml++──► tables ──walk, key table (keys.hpp)──► (flag, value) ──cli::apply_option──► options
//                                  │                                                    (unfinished: the
//                                  └─ unknown key: error, "did you mean X?"              command line goes
//                                                                                        on top, then finish)
// Pure code (no DPDK). Errors are collected, not thrown: a file with three
// mistakes reports three lines, each "FILE:LINE: KEY = VALUE: why (allowed)".
// Loading never starts anything; a loaded config is a value (copyable,
// comparable through `values`, which the reload diff uses).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "control/cli/cli.hpp"

namespace sluice::control::config {

// One [[exporter]] table.
struct exporter_entry {
    std::string address;  // as written
    std::string name, group;
    bool has_override = false;
    uint32_t rate = 0;
    uint32_t line = 0;
};

struct loaded {
    std::string file;
    cli::options opt;  // the file's options, not finished (cli::parse(argv, &opt) or finish_file() does that)
    // Every key the file sets, by canonical name, and its value as text:
    // lists joined with ", ", [[output]] keyed by name (output.NAME.KEY),
    // [[exporter]] by address (exporter.ADDR.KEY), [[port]] by position
    // (port[I].devargs). Two loads of equal files give equal maps; the reload
    // diffs them.
    std::map<std::string, std::string> values;
    std::map<std::string, uint32_t> lines;   // canonical name -> line in the file
    std::map<std::string, std::string> rows; // canonical name -> its key_table key ("output.*")
    std::vector<exporter_entry> exporters;
    std::string control_socket;  // control.socket (reserved)
    std::vector<uint32_t> pcap_lines;  // the line of each input.pcap element
    bool queues_auto = false;    // ports.queues = "auto" (complete() resolves it)
};

struct load_result {
    loaded cfg;
    std::vector<std::string> errors;  // empty = valid
    bool ok() const noexcept { return errors.empty(); }
};

// Reads and checks FILE (a missing or unreadable file is an error, not a throw).
load_result load_file(const std::string& path);

// The same over text already in memory; `name` stands for the file in messages.
load_result load_string(std::string_view text, const std::string& name);

// CPUs this process may run on (sched_getaffinity), for ports.queues = "auto".
unsigned available_cpus();

// The checks across keys, over the options the file and the command line
// (`argv_flags`, long names without "--") gave together, after cli::parse:
// resolves ports.queues = "auto" (unless --queues is given), checks an lcore
// list in eal.args against the lcores needed, and sink.discard against the
// outputs. Returns the errors (empty = valid), each naming the key and line.
std::vector<std::string> complete(const loaded& cfg, cli::options& merged, const std::vector<std::string>& argv_flags);

// A usage_error from cli::finish() or cli::parse() over a loaded file: the
// message names the file's key and line when the flag at fault came from it
// (and not from the command line `argv_flags`, long names without "--").
std::string explain(const loaded& cfg, const cli::usage_error& e, const std::vector<std::string>& argv_flags);

// The long options (without "--") given on a command line, for explain().
std::vector<std::string> flags_in(int argc, char** argv);

// One line: "FILE: OK: 2 ports x 2 queues (auto), 1 sink core, 3 outputs (a, b, c), 2 exporters, ..."
// over finished options.
std::string summary(const loaded& cfg, const cli::options& finished);

// Levenshtein distance (the "did you mean" of unknown keys).
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace sluice::control::config
