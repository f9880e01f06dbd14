// SPDX-License-Identifier: Apache-2.0
// Builds the EAL command line and owns rte_eal_init / rte_eal_cleanup.
#include "eal.hpp"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <sched.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace sluice::eal {

namespace {

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    std::string w;
    while (in >> w) out.push_back(w);
    return out;
}

bool has_any(const std::vector<std::string>& args, std::initializer_list<const char*> names) {
    for (const auto& a : args)
        for (const char* n : names) {
            const std::string ns(n);
            if (a == ns || a.rfind(ns + "=", 0) == 0) return true;
        }
    return false;
}

}  // namespace

std::vector<unsigned> thread_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::vector<unsigned> cpus;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (unsigned c = 0; c < CPU_SETSIZE; ++c)
            if (CPU_ISSET(c, &set)) cpus.push_back(c);
    if (cpus.empty()) cpus.push_back(0);
    return cpus;
}

std::string lcore_map(unsigned lcores) {
    const std::vector<unsigned> cpus = thread_cpus();
    std::string m;
    for (unsigned i = 0; i < lcores; ++i) {
        if (i) m += ',';
        m += std::to_string(i) + "@" + std::to_string(cpus[i % cpus.size()]);
    }
    return m;
}

std::vector<std::string> build_args(const eal_request& req) {
    std::vector<std::string> args{"sluiced"};
    std::vector<std::string> user = split(req.user_args);
    if (user.empty()) {
        if (req.pci.empty()) {
            args.insert(args.end(), {"--no-huge", "-m", "512", "--no-pci"});
        } else {
            args.insert(args.end(), {"-m", "512"});
        }
    } else {
        args.insert(args.end(), user.begin(), user.end());
    }
    if (!has_any(args, {"--file-prefix", "--no-shconf"})) {
        args.push_back("--file-prefix");
        args.push_back("sluiced-" + std::to_string(getpid()));
    }
    if (!has_any(args, {"-l", "--lcores", "-c"})) {
        args.push_back("--lcores");
        args.push_back(lcore_map(req.lcores));
    }
    for (const auto& p : req.pci) {
        args.push_back("-a");
        args.push_back(p);
    }
    for (const auto& v : req.vdevs) {
        args.push_back("--vdev");
        args.push_back(v);
    }
    return args;
}

std::vector<unsigned> eal_session::control_cpus() const {
    rte_cpuset_t taken;  // every worker lcore's CPUs
    CPU_ZERO(&taken);
    unsigned l;
    RTE_LCORE_FOREACH_WORKER(l) {
        const rte_cpuset_t s = rte_lcore_cpuset(l);
        CPU_OR(&taken, &taken, &s);
    }
    std::vector<unsigned> out;
    for (unsigned c : _cpus_before)
        if (c >= CPU_SETSIZE || !CPU_ISSET(c, &taken)) out.push_back(c);
    if (out.empty()) {
        const rte_cpuset_t s = rte_lcore_cpuset(rte_get_main_lcore());
        for (unsigned c = 0; c < CPU_SETSIZE; ++c)
            if (CPU_ISSET(c, &s)) out.push_back(c);
    }
    if (out.empty()) out.push_back(0);
    return out;
}

eal_session::eal_session(const std::vector<std::string>& args) : _cpus_before(thread_cpus()) {
    std::vector<char*> argv;
    std::vector<std::string> copy = args;  // rte_eal_init may permute argv
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int ret = rte_eal_init(int(argv.size() - 1), argv.data());
    if (ret < 0) {
        std::string line;
        for (const auto& a : args) line += (line.empty() ? "" : " ") + a;
        throw std::runtime_error(std::string("EAL: rte_eal_init failed: ") + rte_strerror(rte_errno) +
                                 "\n  arguments: " + line);
    }
}

eal_session::~eal_session() {
    // The runtime directory (/var/run/dpdk/<prefix>) outlives rte_eal_cleanup();
    // remove it when it is the per-process default prefix chosen above, so
    // replays and tests do not pile them up.
    const std::filesystem::path dir = rte_eal_get_runtime_dir();
    rte_eal_cleanup();
    if (dir.filename().string() == "sluiced-" + std::to_string(getpid())) {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
}

}  // namespace sluice::eal
