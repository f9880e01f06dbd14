// SPDX-License-Identifier: Apache-2.0
// The sink lcore loop: peek a batch from each ring, run every output over it in place, release; flush on deadline.
#include <rte_cycles.h>
#include <rte_log.h>
#include <rte_prefetch.h>
#include <sched.h>
#include <time.h>

#include "dataplane/decode/record_format.hpp"
#include "dataplane/ring/record_ring.hpp"
#include "stage.hpp"

namespace sluice::sinks {

namespace {

// One JSON line per kept record, encoded straight into the writer's buffer.
static_assert(decode::max_json_size + 1 <= file_writer::k_max_line);
struct json_encoder {
    void put(file_writer& w, const decode::flow_record& r) const noexcept {
        char* p = w.line(decode::max_json_size + 1);
        std::size_t len = decode::format_json(r, p, decode::max_json_size);
        p[len++] = '\n';
        w.commit(len);
    }
};

// The same, plus the enriched members resolved from the record's attribute ids (enrich/tables/resolve.hpp):
// the strings are the interner's, which outlives every table version, so no RCU read section is needed.
static_assert(decode::max_json_size + enrich::max_enriched_json + 1 <= file_writer::k_max_line);
struct json_enriched_encoder {
    const enrich::interner* in;
    const enrich::json_names* names;
    void put(file_writer& w, const decode::flow_record& r) const noexcept {
        char* p = w.line(decode::max_json_size + enrich::max_enriched_json + 1);
        std::size_t len = decode::format_json(r, p, decode::max_json_size);
        if (len) len = enrich::append_enriched(*in, *names, r, p, len);
        p[len++] = '\n';
        w.commit(len);
    }
};

// Records ahead to prefetch: the worker wrote them on another core, and the
// encoder's loads within a record are not a stream the hardware prefetcher
// follows, so without this each of a record's cache lines is a serialized
// miss. 8 records = 40 cache lines in flight at 320 B.
constexpr unsigned k_prefetch_records = 8;

inline void prefetch_record(const decode::flow_record* r) noexcept {
    const char* p = reinterpret_cast<const char*>(r);
    for (std::size_t off = 0; off < sizeof(decode::flow_record); off += 64) rte_prefetch0(p + off);
}

template <typename Enc>
void run_one(output_slot& o, const decode::flow_record* recs, unsigned n, const Enc& enc) noexcept {
    uint64_t filtered = 0, downsampled = 0, encoded = 0;
    const bool filter = !o.filter.empty();
    const uint32_t sample = o.cfg->sample;
    file_writer& w = *o.writer;
    for (unsigned i = 0; i < k_prefetch_records && i < n; ++i) prefetch_record(recs + i);
    for (unsigned i = 0; i < n; ++i) {
        if (i + k_prefetch_records < n) prefetch_record(recs + i + k_prefetch_records);
        const decode::flow_record& r = recs[i];
        if (filter && !o.filter.match(r)) {
            ++filtered;
            continue;
        }
        if (sample > 1) {
            if (!keep_sample(r, sample)) {
                ++downsampled;
                continue;
            }
            decode::flow_record k = r;  // the ring slot is shared by every output
            k.sampling_rate = scaled_rate(r.sampling_rate, sample);
            enc.put(w, k);
        } else {
            enc.put(w, r);
        }
        ++encoded;
    }
    o.counters.add(output_counter::in, n);
    if (filtered) o.counters.add(output_counter::filtered, filtered);
    if (downsampled) o.counters.add(output_counter::downsampled, downsampled);
    if (encoded) o.counters.add(output_counter::encoded, encoded);
}

// The thread's CPU time so far (a system call: called every ~25 ms, never per batch).
uint64_t thread_cpu_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

}  // namespace

void add_outputs(sink_context& s, const std::vector<output_config>& outs, unsigned sinks, uint64_t tsc_hz) {
    for (const output_config& c : outs) {
        auto o = std::make_unique<output_slot>();
        o->cfg = &c;
        if (!c.filter.empty()) o->filter = record_filter(c.filter, c.name);
        o->writer = std::make_unique<file_writer>(c.file, c.name, s.id, sinks, &o->counters, &o->file_counters);
        o->flush_tsc = tsc_hz / 1000 * c.file.flush_ms;
        s.outputs.push_back(std::move(o));
    }
}

void run_outputs(sink_context& s, const decode::flow_record* recs, unsigned n) noexcept {
    for (auto& o : s.outputs) {
        switch (o->cfg->fmt) {  // once per batch, not per record
        case format::json:
            if (s.enrich_interner != nullptr)
                run_one(*o, recs, n, json_enriched_encoder{s.enrich_interner, s.enrich_names});
            else
                run_one(*o, recs, n, json_encoder{});
            break;
        }
    }
}

void flush_outputs(sink_context& s) noexcept {
    for (auto& o : s.outputs) o->writer->flush();
}

int sink_main(void* arg) {
    sink_context& s = *static_cast<sink_context*>(arg);
    RTE_LOG(INFO, USER1, "sink %u on lcore %u: draining %zu ring(s) into %zu output(s)\n", s.id, s.lcore,
            s.rings.size(), s.outputs.size());
    const unsigned burst = s.outputs.empty() ? k_discard_burst : k_sink_burst;
    uint64_t min_flush = ~0ull;
    for (const auto& o : s.outputs) min_flush = std::min(min_flush, o->flush_tsc);
    // Check the deadlines 4x per shortest flush interval (a buffer waits at
    // most 1.25 flush_ms; the check costs one rdtsc compare per pass), and at
    // least every 25 ms (the CPU-time counter).
    const uint64_t check_every = std::max<uint64_t>(std::min<uint64_t>(min_flush / 4, rte_get_tsc_hz() / 40), 1);
    uint64_t next_check = rte_rdtsc() + check_every;
    uint64_t cpu_last = thread_cpu_ns();
    uint32_t idle = 0;

    for (;;) {
        // Read the flag before the pass: a pass that started after the stop
        // and found every ring empty proves nothing more will arrive (main
        // sets the flag only after the workers joined).
        const bool stopping = s.stop->load(std::memory_order_acquire);
        unsigned total = 0;
        for (rte_ring* r : s.rings) {
            ring::batch b;
            const unsigned n = ring::peek(r, burst, b);
            if (n == 0) continue;
            total += n;
            for (int part = 0; part < 2; ++part)
                if (b.len[part]) run_outputs(s, b.p[part], b.len[part]);
            ring::release(r, b);
            s.counters.add(stage_counter::records, n);
            s.counters.add(stage_counter::batches);
            if (s.delay_us) rte_delay_us_sleep(s.delay_us);
        }
        {
            const uint64_t now = rte_rdtsc();
            for (auto& o : s.outputs) o->writer->mark(now);
            if (now >= next_check) [[unlikely]] {
                const uint64_t cpu = thread_cpu_ns();
                s.counters.add(stage_counter::cpu_ns, cpu - cpu_last);
                cpu_last = cpu;
                for (auto& o : s.outputs) {
                    const uint64_t t = o->writer->oldest_tsc();
                    if (t != 0 && now - t >= o->flush_tsc) {
                        o->file_counters.add(file_counter::deadline_flushes);
                        o->writer->flush();
                    }
                }
                next_check = now + check_every;
            }
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
    flush_outputs(s);
    s.counters.add(stage_counter::cpu_ns, thread_cpu_ns() - cpu_last);
    return 0;
}

}  // namespace sluice::sinks
