// SPDX-License-Identifier: Apache-2.0
// The sink lcore loop: peek a batch from each ring, run every output over it in place, release; flush on deadline.
#include <rte_cycles.h>
#include <rte_log.h>
#include <rte_prefetch.h>
#include <sched.h>
#include <time.h>

#include <type_traits>

#include "dataplane/decode/record_format.hpp"
#include "dataplane/ring/record_ring.hpp"
#include "sinks/encode/ecs_from_cache.hpp"
#include "sinks/encode/ecs_json.hpp"
#include "sinks/encode/protobuf.hpp"
#include "stage.hpp"

namespace sluice::sinks {

namespace {

using enrich::classify::signature_labels;

// --rules: a tagged record's rule names and tags inserted before the object's last `closing` braces.
inline std::size_t with_signatures(const signature_labels* sig, const decode::flow_record& r, char* p, std::size_t len,
                                   unsigned closing) noexcept {
    if (sig == nullptr || r.signature_tags == 0 || len == 0) [[likely]]
        return len;
    return sig->insert_json(r.signature_tags, p, len, closing);
}

// One JSON line per kept record, encoded straight into the writer's buffer.
constexpr std::size_t k_json_max = decode::max_json_size + signature_labels::k_max_json;
static_assert(k_json_max + 1 <= file_writer::k_max_line);
struct json_encoder {
    const signature_labels* sig = nullptr;
    std::size_t encode(const decode::flow_record& r, char* p) const noexcept {
        return with_signatures(sig, r, p, decode::format_json(r, p, decode::max_json_size), 1);
    }
    void put(file_writer& w, const decode::flow_record& r) const noexcept {
        char* p = w.line(k_json_max + 1);
        std::size_t len = encode(r, p);
        p[len++] = '\n';
        w.commit(len);
    }
    // One Kafka message per record, encoded into the writer's scratch buffer.
    void put(kafka_writer& k, const decode::flow_record& r) const noexcept { k.produce(r, encode(r, k.scratch())); }
};
static_assert(k_json_max <= kafka_writer::k_scratch);

// The enrichment's look-ahead over the batch: the member cache's index lines of the record 3 ahead, the arena
// lines (or the interner's slots) of the record 2 ahead, the blobs of its misses 1 ahead, so that put() finds
// them in cache. A record that is not in the batch's slots (a downsampled copy on the stack) prefetches nothing.
struct enrich_lookahead {
    const decode::flow_record* recs = nullptr;
    unsigned n = 0;
    void ahead(const enrich::member_cache& c, const decode::flow_record& r) const noexcept {
        const std::uintptr_t off = reinterpret_cast<std::uintptr_t>(&r) - reinterpret_cast<std::uintptr_t>(recs);
        if (off >= std::uintptr_t(n) * sizeof(decode::flow_record)) return;
        const std::size_t i = off / sizeof(decode::flow_record);
        if (i + 3 < n) c.prefetch_index(recs[i + 3]);
        if (i + 2 < n) c.prefetch_data(recs[i + 2]);
        if (i + 1 < n) c.prefetch_blobs(recs[i + 1]);
    }
};

// The same, plus the enriched members resolved from the record's attribute ids (enrich/tables/resolve.hpp):
// the strings are the interner's, which outlives every table version, so no RCU read section is needed. With
// the sink core's member cache, each (set, scope) is rendered once and copied afterwards.
constexpr std::size_t k_json_enriched_max = k_json_max + enrich::max_enriched_json;
static_assert(k_json_enriched_max + 1 <= file_writer::k_max_line);
static_assert(k_json_enriched_max <= kafka_writer::k_scratch);
struct json_enriched_encoder {
    const enrich::interner* in;
    const enrich::json_names* names;
    enrich::member_cache* cache = nullptr;  // null: rendered from the interner each time
    enrich_lookahead la{};
    const signature_labels* sig = nullptr;
    std::size_t encode(const decode::flow_record& r, char* p) const noexcept {
        std::size_t len = decode::format_json(r, p, decode::max_json_size);
        if (len == 0) return 0;
        if (cache == nullptr) {
            len = enrich::append_enriched(*in, *names, r, p, len);
        } else {
            la.ahead(*cache, r);
            len = cache->append_json(r, p, len);
        }
        return with_signatures(sig, r, p, len, 1);
    }
    void put(file_writer& w, const decode::flow_record& r) const noexcept {
        char* p = w.line(k_json_enriched_max + 1);
        std::size_t len = encode(r, p);
        p[len++] = '\n';
        w.commit(len);
    }
    void put(kafka_writer& k, const decode::flow_record& r) const noexcept {
        k.produce(r, encode(r, k.scratch()));
    }
};

// One ECS JSON line per kept record (sinks/encode/ecs_json.hpp); with the member cache (enrichment on), the
// record's enriched members in their ECS and sluice.* places.
// --rules: the signature names in the sluice object, which the encoder closes last ("}}" ends the line).
constexpr std::size_t k_ecs_max = encode::k_ecs_json_max + signature_labels::k_max_json;
constexpr std::size_t k_ecs_enriched_max = encode::k_ecs_json_max_enriched + signature_labels::k_max_json;
static_assert(k_ecs_max + 1 <= file_writer::k_max_line);
static_assert(k_ecs_enriched_max + 1 <= file_writer::k_max_line);
static_assert(k_ecs_enriched_max <= kafka_writer::k_scratch);
static_assert(enrich::max_enriched_ecs <= encode::k_ecs_enriched_room);
struct ecs_json_encoder {
    enrich::member_cache* cache = nullptr;  // null: no enrichment
    enrich_lookahead la{};
    const signature_labels* sig = nullptr;
    std::size_t encode(const decode::flow_record& r, char* p) const noexcept {
        if (cache == nullptr) return with_signatures(sig, r, p, encode::ecs_json_encode(r, p), 2);
        la.ahead(*cache, r);
        enrich::ecs_parts x;
        cache->ecs(r, x);
        const sinks::encode::ecs_enrichment e = sinks::encode::ecs_enrichment_of(x);
        return with_signatures(sig, r, p, encode::ecs_json_encode(r, p, e), 2);
    }
    void put(file_writer& w, const decode::flow_record& r) const noexcept {
        char* p = w.line((cache ? k_ecs_enriched_max : k_ecs_max) + 1);
        std::size_t len = encode(r, p);
        p[len++] = '\n';
        w.commit(len);
    }
    // One Kafka message per record.
    void put(kafka_writer& k, const decode::flow_record& r) const noexcept { k.produce(r, encode(r, k.scratch())); }
};
static_assert(k_ecs_max <= kafka_writer::k_scratch);

// One unframed FlowMessage per Kafka message (what goflow2's consumers read). Refused for files. With
// enrichment on (en != nullptr) each message carries the enriched attributes too (sinks/encode/enriched.hpp:
// the interner's blobs, no RCU read section, no allocation).
static_assert(encode::k_protobuf_enriched_max <= kafka_writer::k_scratch);
struct protobuf_encoder {
    const encode::enrichment* en = nullptr;
    void put(kafka_writer& k, const decode::flow_record& r) const noexcept {
        auto* p = reinterpret_cast<uint8_t*>(k.scratch());
        k.produce(r, en ? encode::protobuf_encode(r, *en, p) : encode::protobuf_encode(r, p));
    }
};

// One varint-length-delimited FlowMessage per kept record (sinks/encode/protobuf.hpp); a file of them is what
// protobuf's parseDelimitedFrom reads back.
static_assert(encode::k_protobuf_enriched_delimited_max <= file_writer::k_max_line);
struct protobuf_delimited_encoder {
    const encode::enrichment* en = nullptr;
    void put(file_writer& w, const decode::flow_record& r) const noexcept {
        if (en) {
            auto* p = reinterpret_cast<uint8_t*>(w.line(encode::k_protobuf_enriched_delimited_max));
            w.commit(encode::protobuf_encode_delimited(r, *en, p));
            return;
        }
        auto* p = reinterpret_cast<uint8_t*>(w.line(encode::k_protobuf_delimited_max));
        w.commit(encode::protobuf_encode_delimited(r, p));
    }
    // Batched: many delimited messages per Kafka message (the throughput framing).
    void put(kafka_writer& k, const decode::flow_record& r) const noexcept {
        if (en) {
            k.batch_commit(encode::protobuf_encode_delimited(
                r, *en, k.batch_tail(encode::k_protobuf_enriched_delimited_max)));
            return;
        }
        k.batch_commit(encode::protobuf_encode_delimited(r, k.batch_tail(encode::k_protobuf_delimited_max)));
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

// One Avro datum per kept record, encoded straight into the HDFS writer's batch; the enriched fields filled
// when enrichment is on (en != nullptr), null otherwise.
struct avro_encoder {
    const encode::enrichment* en = nullptr;
    void put(hdfs::hdfs_writer& w, const decode::flow_record& r) const noexcept {
        w.commit(avro::encode_flow(r, w.reserve(r.time_received_ns), en));
    }
};

// The deadline interface of the writers, chosen by writer kind (once per pass, not per record). The Kafka writer
// has no deadline of its own (librdkafka's linger.ms): each pass polls it instead.
inline void mark(output_slot& o, uint64_t now) noexcept {
    if (o.writer) o.writer->mark(now);
    else if (o.hdfs) o.hdfs->mark(now);
    else o.kafka->poll();  // delivery reports, spool writes, replay
}
inline uint64_t oldest_tsc(const output_slot& o) noexcept {
    return o.writer ? o.writer->oldest_tsc() : o.hdfs ? o.hdfs->oldest_tsc() : 0;
}
inline void flush(output_slot& o) noexcept {
    if (o.writer) o.writer->flush();
    else if (o.hdfs) o.hdfs->flush();
}

template <typename Enc, typename W>
void run_one(output_slot& o, W& w, const decode::flow_record* recs, unsigned n, const Enc& enc) noexcept {
    uint64_t filtered = 0, downsampled = 0, encoded = 0;
    // Once per batch: a reload may publish a new block; this batch keeps the one it loaded.
    const output_params& p = *o.params.load(std::memory_order_seq_cst);
    const bool filter = !p.filter.empty();
    const uint32_t sample = p.sample;
    for (unsigned i = 0; i < k_prefetch_records && i < n; ++i) prefetch_record(recs + i);
    for (unsigned i = 0; i < n; ++i) {
        if (i + k_prefetch_records < n) prefetch_record(recs + i + k_prefetch_records);
        const decode::flow_record& r = recs[i];
        if (filter && !p.filter.match(r)) {
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
            k.extrapolated_bytes = r.extrapolated_bytes * sample;  // totals downstream stay right
            k.extrapolated_packets = r.extrapolated_packets * sample;
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
    // The Kafka writer owns every record it is handed (librdkafka's queue or
    // the spool; its own counters say what became of each).
    if constexpr (std::is_same_v<W, kafka_writer>) {
        w.flush_batch();  // protobuf_delimited: one message per sink batch at most
        if (encoded) o.counters.add(output_counter::written, encoded);
        w.end_batch();
    }
}

// Enc can write into a W (parse_output_spec refuses the other pairs: protobuf to a file, avro outside hdfs).
template <typename Enc, typename W>
concept encodes_to = requires(const Enc& e, W& w, const decode::flow_record& r) { e.put(w, r); };

template <typename Enc>
void run_writer(output_slot& o, const decode::flow_record* recs, unsigned n, const Enc& enc = Enc{}) noexcept {
    switch (o.cfg->writer) {  // once per batch
    case writer_kind::file:
        if constexpr (encodes_to<Enc, file_writer>) run_one(o, *o.writer, recs, n, enc);
        break;
    case writer_kind::kafka:
        if constexpr (encodes_to<Enc, kafka_writer>) run_one(o, *o.kafka, recs, n, enc);
        break;
    case writer_kind::hdfs:
        if constexpr (encodes_to<Enc, hdfs::hdfs_writer>) run_one(o, *o.hdfs, recs, n, enc);
        break;
    }
}

// An aggregating output: the records it keeps are folded into its windows;
// rows are written when a window closes (sinks/aggregate/aggregate.hpp).
void run_agg(output_slot& o, const decode::flow_record* recs, unsigned n) noexcept {
    uint64_t filtered = 0, downsampled = 0, encoded = 0;
    const output_params& p = *o.params.load(std::memory_order_seq_cst);  // once per batch (reloads swap it)
    const bool filter = !p.filter.empty();
    const uint32_t sample = p.sample;
    aggregator& a = *o.agg;
    if (!filter && sample == 1) {  // every record: the prefetching burst path
        a.add_burst(recs, n);
        o.counters.add(output_counter::in, n);
        o.counters.add(output_counter::encoded, n);
        o.agg_last_tsc = rte_rdtsc();
        return;
    }
    for (unsigned i = 0; i < n; ++i) {
        const decode::flow_record& r = recs[i];
        if (filter && !p.filter.match(r)) {
            ++filtered;
            continue;
        }
        if (sample > 1 && !keep_sample(r, sample)) {
            ++downsampled;
            continue;
        }
        a.add(r, sample);
        ++encoded;
    }
    o.counters.add(output_counter::in, n);
    if (filtered) o.counters.add(output_counter::filtered, filtered);
    if (downsampled) o.counters.add(output_counter::downsampled, downsampled);
    if (encoded) o.counters.add(output_counter::encoded, encoded);
    o.agg_last_tsc = rte_rdtsc();
}

// The member caches' counts into the sink core's counter block (the cache counts in plain integers: the
// control core reads the block). Once per batch: a few loads and relaxed stores, none per record.
inline void publish_cache(stage_counter_block& b, const enrich::member_cache* c, stage_counter hits,
                          stage_counter misses) noexcept {
    if (c == nullptr) return;
    const enrich::member_cache::counts& n = c->stats();
    b.add(hits, n.hits - b.get(hits));  // the owner's block: get() is its last copy
    b.add(misses, n.fills - b.get(misses));
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
        auto p = std::make_unique<output_params>();
        p->sample = c.sample;
        p->filter_text = c.filter;
        if (!c.filter.empty()) p->filter = record_filter(c.filter, c.name);
        o->params.store(p.get(), std::memory_order_relaxed);
        o->owned = std::move(p);
        if (c.writer == writer_kind::kafka)
            o->kafka = std::make_unique<kafka_writer>(c.kafka, c.name, s.id, &o->kafka_counters, &o->spool_counters);
        else if (c.writer == writer_kind::hdfs)
            o->hdfs = std::make_unique<hdfs::hdfs_writer>(c.hdfs, c.name, s.id, sinks, &o->counters,
                                                          &o->handoff_counters);
        else
            o->writer = std::make_unique<file_writer>(c.file, c.name, s.id, sinks, &o->counters, &o->file_counters);
        o->flush_tsc = tsc_hz / 1000 * c.file.flush_ms;
        if (c.aggregate) {
            file_writer* w = o->writer.get();
            o->agg = std::make_unique<aggregator>(
                c.agg, s.id, c.agg_history,
                [w](const closed_window& cw) {
                    for (std::size_t i = 0; i < cw.rows.size(); ++i) {
                        char* p = w->line(k_agg_row_json + 1);
                        std::size_t len = format_row_json(cw, cw.rows[i], unsigned(i + 1), p);
                        p[len++] = '\n';
                        w->commit(len);
                    }
                },
                &o->agg_counters, s.enrich_interner);
        }
        s.outputs.push_back(std::move(o));
    }
}

std::unique_ptr<const output_params> publish_params(output_slot& o, std::unique_ptr<const output_params> next) noexcept {
    // seq_cst, as the sink's load and its passes store: the control core's
    // later read of `passes` cannot be ordered before this store.
    o.params.store(next.get(), std::memory_order_seq_cst);
    std::swap(o.owned, next);
    return next;
}

void run_outputs(sink_context& s, const decode::flow_record* recs, unsigned n) noexcept {
    // Enrichment on: the protobuf and Avro encoders resolve the ids too (nullptr: the plain encodings).
    const encode::enrichment enriched{s.enrich_interner, s.enrich_keys};
    const encode::enrichment* const en =
        s.enrich_interner != nullptr && s.enrich_keys != nullptr ? &enriched : nullptr;
    for (auto& o : s.outputs) {
        if (o->agg) {
            run_agg(*o, recs, n);
            continue;
        }
        switch (o->cfg->fmt) {  // once per batch, not per record
        case format::json:
            if (s.enrich_interner != nullptr)
                run_writer(*o, recs, n,
                           json_enriched_encoder{s.enrich_interner, s.enrich_names, s.enrich_json_cache.get(), {recs, n},
                                                 s.signature_labels});
            else
                run_writer(*o, recs, n, json_encoder{s.signature_labels});
            break;
        case format::ecs_json:
            run_writer(*o, recs, n, ecs_json_encoder{s.enrich_ecs_cache.get(), {recs, n}, s.signature_labels});
            break;
        case format::protobuf_delimited: run_writer(*o, recs, n, protobuf_delimited_encoder{en}); break;
        case format::protobuf: run_writer(*o, recs, n, protobuf_encoder{en}); break;
        case format::avro: run_writer(*o, recs, n, avro_encoder{en}); break;
        }
    }
    publish_cache(s.counters, s.enrich_json_cache.get(), stage_counter::member_cache_json_hits,
                  stage_counter::member_cache_json_misses);
    publish_cache(s.counters, s.enrich_ecs_cache.get(), stage_counter::member_cache_ecs_hits,
                  stage_counter::member_cache_ecs_misses);
}

void flush_outputs(sink_context& s) noexcept {
    for (auto& o : s.outputs) {
        flush(*o);
        if (o->kafka) o->kafka->stop();
    }
}

void finish_outputs(sink_context& s) noexcept {
    for (auto& o : s.outputs)
        if (o->agg) o->agg->close_all();
    for (auto& o : s.outputs) {
        if (o->hdfs) o->hdfs->finish();
        else if (o->writer) o->writer->flush();
        else if (o->kafka) o->kafka->stop();
    }
}

void advance_aggregates(sink_context& s, uint64_t now_tsc, uint64_t tsc_hz) noexcept {
    for (auto& o : s.outputs)
        if (o->agg && o->agg_last_tsc != 0 && now_tsc > o->agg_last_tsc)
            o->agg->advance(uint64_t(double(now_tsc - o->agg_last_tsc) * 1e9 / double(tsc_hz)));
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
            for (auto& o : s.outputs) mark(*o, now);
            if (now >= next_check) [[unlikely]] {
                const uint64_t cpu = thread_cpu_ns();
                s.counters.add(stage_counter::cpu_ns, cpu - cpu_last);
                cpu_last = cpu;
                advance_aggregates(s, now, rte_get_tsc_hz());
                for (auto& o : s.outputs) {
                    const uint64_t t = oldest_tsc(*o);
                    if (t != 0 && now - t >= o->flush_tsc) {
                        o->file_counters.add(file_counter::deadline_flushes);
                        flush(*o);
                    }
                }
                next_check = now + check_every;
            }
        }
        // The quiescent point: no output_params is held past here.
        s.passes.store(s.passes.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
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
    finish_outputs(s);  // hdfs: every file closed, the WebHDFS drain done
    s.counters.add(stage_counter::cpu_ns, thread_cpu_ns() - cpu_last);
    return 0;
}

}  // namespace sluice::sinks
