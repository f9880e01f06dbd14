// SPDX-License-Identifier: Apache-2.0
// The sink lcore loop: dequeue bursts of records from each worker ring, format JSON lines, write.
#include <rte_cycles.h>
#include <rte_log.h>
#include <sched.h>

#include <memory>

#include "dataplane/decode/record_format.hpp"
#include "dataplane/ring/record_ring.hpp"
#include "json_file.hpp"

namespace sluice::sinks {

namespace {
// Empty passes over all rings before yielding the CPU (see the worker's
// k_idle_polls_before_yield: same trade-off).
constexpr uint32_t k_idle_passes_before_yield = 64;
// Records per ring call when discarding: nothing to format, so take big
// bites and keep the discarding sink off the worker's critical path.
constexpr unsigned k_discard_burst = 1024;
}  // namespace

int sink_main(void* arg) {
    sink_context& s = *static_cast<sink_context*>(arg);
    RTE_LOG(INFO, USER1, "sink %u on lcore %u: draining %zu ring(s)\n", s.id, s.lcore, s.rings.size());
    std::unique_ptr<decode::flow_record[]> recs(new decode::flow_record[k_discard_burst]);
    const unsigned burst = s.writer ? k_sink_burst : k_discard_burst;
    constexpr std::size_t line_cap = decode::max_json_size + 1;
    std::unique_ptr<char[]> buf(new char[k_sink_burst * line_cap]);
    uint32_t idle = 0;

    for (;;) {
        // Read the flag before the pass: a pass that started after the stop
        // and found every ring empty proves nothing more will arrive (main
        // sets the flag only after the workers joined).
        const bool stopping = s.stop->load(std::memory_order_acquire);
        unsigned total = 0;
        for (rte_ring* r : s.rings) {
            const unsigned n = ring::dequeue_records(r, recs.get(), burst);
            if (n == 0) continue;
            total += n;
            if (s.writer == nullptr) {  // --sink-discard: benchmarks measure the workers alone
                s.counters.add(sink_counter::records, n);
                continue;
            }
            std::size_t len = 0;
            for (unsigned i = 0; i < n; ++i) {
                len += decode::format_json(recs[i], buf.get() + len, decode::max_json_size);
                buf[len++] = '\n';
            }
            if (s.writer->write(buf.get(), len, s.counters)) {
                s.counters.add(sink_counter::records, n);
                s.counters.add(sink_counter::bytes, len);
            } else {
                s.counters.add(sink_counter::write_errors);
                s.counters.add(sink_counter::records_lost_write_error, n);
            }
            if (s.delay_us) rte_delay_us_sleep(s.delay_us);
        }
        if (total == 0) {
            if (stopping) break;
            if (++idle >= k_idle_passes_before_yield) {
                idle = 0;
                sched_yield();
            }
        } else {
            idle = 0;
        }
    }
    return 0;
}

}  // namespace sluice::sinks
