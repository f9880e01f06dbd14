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

#include "control/cli/cli.hpp"
#include "control/daemon/daemon.hpp"
#include "control/log/log_stream.hpp"

int main(int argc, char** argv) {
    using namespace sluice::control;
    sluice::control::daemon d;
    try {
        cli::parsed p = cli::parse(argc, argv);
        if (p.help) {
            std::fputs(cli::usage_text, stdout);
            return 0;
        }
        d.opt = std::move(p.opt);
    } catch (const cli::usage_error& e) {
        std::fprintf(stderr, "sluiced: %s\n(see sluiced --help)\n", e.what());
        return 2;
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
