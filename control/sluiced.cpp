// SPDX-License-Identifier: Apache-2.0
// sluiced: the DPDK dataplane daemon's entry point: parse the command line, compose, run.
//
//   main lcore (control)      worker lcores (one per port rx queue)        sink lcores
//   ─────────────────────     ─────────────────────────────────────        ───────────
//   cli::parse, setup():      rx ─► parse ─► reassembly ─► decode ─►  ring[w][s] ─► JSON lines
//   EAL, ports, rings,                                      (SPSC, by value)        (PATH, PATH.1, ...)
//   contexts; launch;
//   control_loop(); shutdown (control/daemon/daemon.hpp has the order)
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include "control/cli/cli.hpp"
#include "control/config/config.hpp"
#include "control/daemon/daemon.hpp"
#include "control/log/log_stream.hpp"

namespace {

// The value of --config / --check-config (the last one), before the full parse: the file is the base the flags override.
std::string config_arg(int argc, char** argv) {
    std::string file;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--") break;
        for (const std::string_view f : {"--config", "--check-config"}) {
            if (a == f && i + 1 < argc) file = argv[i + 1];
            else if (a.size() > f.size() && a.starts_with(f) && a[f.size()] == '=') file = a.substr(f.size() + 1);
        }
    }
    return file;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace sluice::control;
    sluice::control::daemon d;
    const std::string file = config_arg(argc, argv);
    config::load_result cfg;
    if (!file.empty()) {
        cfg = config::load_file(file);
        if (!cfg.ok()) {
            for (const std::string& e : cfg.errors) std::fprintf(stderr, "sluiced: %s\n", e.c_str());
            std::fprintf(stderr, "sluiced: %s: %zu error(s) (keys: docs/config.md)\n", file.c_str(), cfg.errors.size());
            return 2;
        }
    }
    try {
        cli::parsed p = cli::parse(argc, argv, file.empty() ? nullptr : &cfg.cfg.opt);
        if (p.help) {
            std::fputs(cli::usage_text, stdout);
            return 0;
        }
        d.opt = std::move(p.opt);
    } catch (const cli::usage_error& e) {
        if (!file.empty()) {
            std::fprintf(stderr, "sluiced: %s\n", config::explain(cfg.cfg, e, config::flags_in(argc, argv)).c_str());
            return 2;
        }
        std::fprintf(stderr, "sluiced: %s\n(see sluiced --help)\n", e.what());
        return 2;
    }
    if (!file.empty()) {
        const std::vector<std::string> errors = config::complete(cfg.cfg, d.opt, config::flags_in(argc, argv));
        for (const std::string& e : errors) std::fprintf(stderr, "sluiced: %s\n", e.c_str());
        if (!errors.empty()) {
            std::fprintf(stderr, "sluiced: %s: %zu error(s) (keys: docs/config.md)\n", file.c_str(), errors.size());
            return 2;
        }
    }
    if (d.opt.check_config) {
        // What setup checks without EAL or tables: the aggregation dimensions' custom keys.
        try {
            resolve_aggregate_keys(d.opt);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "sluiced: %s\n", e.what());
            return 2;
        }
        std::printf("%s\n", config::summary(cfg.cfg, d.opt).c_str());
        return 0;
    }
    if (!file.empty()) {
        d.config.file = file;
        d.config.argv.assign(argv, argv + argc);
        d.config.running = std::move(cfg.cfg);
    }
    try {
        setup(d);
        return run(d);
    } catch (const std::exception& e) {
        std::fprintf(sluice::control::log::stream(), "sluiced: %s\n", e.what());
        std::fflush(sluice::control::log::stream());
        return 1;
    }
}
