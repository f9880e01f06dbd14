// SPDX-License-Identifier: Apache-2.0
// EAL arguments for sluiced and the RAII EAL session.
//
// Default arguments (when --eal is not given):
//   no PCI port:   --no-huge -m 512 --no-pci --file-prefix sluiced-<pid> --lcores <map>
//   a PCI port:    -m 512 --file-prefix sluiced-<pid> -a <pci>... --lcores <map>   (hugepages)
// plus one --vdev per vdev port and per --pcap file.
//
// The lcore map puts lcore i on CPU allowed[i % n] ("0@0,1@1,2@0,..."), so
// any number of lcores (main + workers + sinks) runs on a 2-CPU box; on a
// dedicated box give one CPU per lcore through --eal "--lcores ...".
//
// Ownership: one eal_session per process (EAL starts once); it calls
// rte_eal_cleanup() in its destructor, after every port, ring and pool is gone.
#pragma once

#include <string>
#include <vector>

namespace sluice::eal {

struct eal_request {
    std::string user_args;              // --eal "ARGS" (split on spaces), empty = defaults
    std::vector<std::string> vdevs;     // "net_pcap0,rx_pcap=/x.pcap", "net_ring0", ...
    std::vector<std::string> pci;       // "0000:01:00.0"
    unsigned lcores = 1;                // main + workers + sinks
};

// The argv (argv[0] included) that eal_session passes to rte_eal_init.
std::vector<std::string> build_args(const eal_request& req);

// The "0@c0,1@c1,..." map over the CPUs this process may run on.
std::string lcore_map(unsigned lcores);

// The CPUs the calling thread may run on (sched_getaffinity), ascending; {0} when it cannot be read.
std::vector<unsigned> thread_cpus();

class eal_session {
public:
    // Throws std::runtime_error with rte_strerror when rte_eal_init fails.
    explicit eal_session(const std::vector<std::string>& args);
    ~eal_session();
    eal_session(const eal_session&) = delete;
    eal_session& operator=(const eal_session&) = delete;

    // The CPUs the process could run on before rte_eal_init pinned the main thread to the main lcore's (every
    // thread made after it inherits that one CPU): for work that runs before the lcores are launched, such as
    // the first enrichment build.
    const std::vector<unsigned>& cpus_before_init() const noexcept { return _cpus_before; }
    // Those CPUs minus every worker lcore's (rte_lcore_cpuset): where control-plane threads can run without
    // taking a polling lcore's CPU once the lcores are launched; the main lcore's CPUs when nothing is left
    // (a 2-CPU box with one worker lcore). Call after rte_eal_init.
    std::vector<unsigned> control_cpus() const;

private:
    std::vector<unsigned> _cpus_before;
};

}  // namespace sluice::eal
