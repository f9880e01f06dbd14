// SPDX-License-Identifier: Apache-2.0
// The SNMP poller: IF-MIB ifName, ifAlias, ifHighSpeed, ifHCInOctets and ifHCOutOctets of every configured
// agent, polled with net-snmp on the poller's own thread, published as immutable snapshots.
//
//   poller thread ──every interval per agent──► 5 GETBULK walks (numeric OIDs, no MIB files)
//        │ all five answered: the agent's rows are replaced
//        │ a timeout or an error: the agent's last rows stay (counted)
//        └──publish──► std::atomic<std::shared_ptr<const snapshot>> ◄──current()── control core (any thread)
//
// Ownership and lifetime: the poller owns its thread, its net-snmp sessions
// (one per agent, single-session API: no global session list, no lock in
// net-snmp) and the per-agent rows. A snapshot is immutable once published;
// readers hold it by shared_ptr for as long as they use it, so a new
// snapshot never frees one that is being read. Never touched by a worker:
// SNMP readings reach the workers' extrapolation tables by a reading ring
// (enrich/extrapolate/reading.hpp) the control core fills from snapshots.
// `counters` is written by the polling thread only (relaxed), read anywhere.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config.hpp"
#include "counters.hpp"

namespace sluice::enrich::snmp {

// Bits of interface_info::have: which columns the agent answered for the row.
namespace have {
constexpr uint8_t name = 1u << 0, alias = 1u << 1, speed = 1u << 2, in_octets = 1u << 3, out_octets = 1u << 4;
}

struct interface_info {
    std::array<uint8_t, 16> exporter{};  // agent_config::exporter
    uint32_t ifindex = 0;
    uint8_t have = 0;                    // have:: bits
    std::string name;                    // ifName (1.3.6.1.2.1.31.1.1.1.1), at most 255 bytes
    std::string alias;                   // ifAlias (.18), at most 255 bytes
    uint32_t speed_mbps = 0;             // ifHighSpeed (.15)
    uint64_t in_octets = 0;              // ifHCInOctets (.6)
    uint64_t out_octets = 0;             // ifHCOutOctets (.10)
    uint64_t polled_at_ns = 0;           // CLOCK_REALTIME when the poll that read the row ended
};

struct snapshot {
    uint64_t generation = 0;                 // 1 for the first published, +1 each
    std::vector<interface_info> interfaces;  // sorted by (exporter, ifindex)

    const interface_info* find(const uint8_t exporter[16], uint32_t ifindex) const noexcept;
};

class poller {
public:
    // Throws std::runtime_error when net-snmp cannot be initialised.
    explicit poller(config cfg);
    ~poller();  // stop()
    poller(const poller&) = delete;
    poller& operator=(const poller&) = delete;

    // The polling thread: every agent at once, then each at its interval.
    void start();
    void stop() noexcept;

    // Polls agent i now on the calling thread and publishes on success (the
    // thread's own step; tests call it directly without start()). Not to be
    // called concurrently with the thread.
    bool poll_once(std::size_t agent);

    // The latest snapshot (an empty one, generation 0, before any poll succeeded).
    std::shared_ptr<const snapshot> current() const noexcept { return _current.load(std::memory_order_acquire); }

    const config& params() const noexcept { return _cfg; }
    const counter_block& counters() const noexcept { return _counters; }

private:
    struct agent_state;
    void run();
    void publish();

    config _cfg;
    std::vector<std::unique_ptr<agent_state>> _agents;
    std::atomic<std::shared_ptr<const snapshot>> _current;
    uint64_t _generation = 0;
    counter_block _counters;
    std::thread _thread;
    std::mutex _m;
    std::condition_variable _cv;
    bool _stop = false;
};

}  // namespace sluice::enrich::snmp
