// SPDX-License-Identifier: Apache-2.0
// The Kafka writer of one output on one sink core: librdkafka's idempotent producer, with the disk spool behind it.
//
//   encoder ──bytes──► produce(key, payload) ──► rd_kafka_produce (F_COPY) ──► librdkafka queue ──► brokers
//                        │  every broker down, or the spool not empty (order)      │ delivery report (rd_kafka_poll
//                        │  queue full / produce error                             │ on this sink core)
//                        ▼                                                         ▼ failed / purged
//                      spool (disk) ◄──────────────────────────────────────────────┘
//                        │ poll(): brokers up → replay in order, at most k_kafka_replay_per_pass per pass
//                        └──► rd_kafka_produce (opaque = spool ticket) ──► delivered: spool.done(ticket)
//
// The writer takes encoded bytes: one message per record (produce(record, len)
// keys it from the record), or any framing an encoder chooses (produce(key,
// payload): one message per batch of length-delimited records, say).
//
// Ownership and lifetime:
//
//   main (setup) ──creates──► kafka_writer (one per output per sink core: its own rd_kafka_t and spool directory)
//   sink lcore s ──only caller──► produce(), poll(), stop(); delivery reports and errors run inside rd_kafka_poll
//                                  on that lcore, so counters and the spool have one writer
//   librdkafka threads ──never touch this object (log lines only, rate limited to stderr)
//   main (after the sink joined) ──destroy (rd_kafka_destroy; the spool closes, fsynced)
//
// Delivery: at-least-once. A record leaves the spool only once a broker
// acknowledged it (acks=all); a kill -9 can lose what was only in
// librdkafka's memory (not yet delivered, not yet spooled: at most
// message.timeout.ms of records, less when every broker is down since the
// queue is then purged into the spool at once), and replays after a restart
// whatever was read from the spool but not yet confirmed (duplicates).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"
#include "counters.hpp"
#include "dataplane/decode/flow_record.hpp"
#include "sinks/output/counters.hpp"
#include "sinks/spool/spool.hpp"

struct rd_kafka_s;
struct rd_kafka_topic_s;
struct rd_kafka_message_s;

namespace sluice::sinks {

class kafka_writer {
public:
    // Room the scratch buffer gives one encoded record (a JSON line is at most 1536 bytes).
    static constexpr std::size_t k_scratch = 64 * 1024;

    // Creates the producer and opens the spool. Throws std::runtime_error naming the output and the property.
    kafka_writer(const kafka_config& cfg, std::string_view output, unsigned sink, kafka_counter_block* counters,
                 spool_counter_block* spool_counters);
    ~kafka_writer();
    kafka_writer(const kafka_writer&) = delete;
    kafka_writer& operator=(const kafka_writer&) = delete;

    // Where an encoder writes one record before produce(r, len).
    char* scratch() noexcept { return _scratch.get(); }
    // One message: the scratch's first len bytes, keyed from r per config.
    void produce(const decode::flow_record& r, std::size_t len) noexcept;
    // One message with an explicit key (empty = none).
    void produce(std::string_view key, std::string_view payload) noexcept;
    // Batches (protobuf_delimited): length-delimited records appended in the
    // scratch buffer, produced as one unkeyed message when the next would not
    // fit and at the end of every sink batch (flush_batch).
    uint8_t* batch_tail(std::size_t need) noexcept {
        if (_batch + need > k_scratch) flush_batch();
        return reinterpret_cast<uint8_t*>(_scratch.get()) + _batch;
    }
    void batch_commit(std::size_t n) noexcept { _batch += n; }
    void flush_batch() noexcept {
        if (_batch == 0) return;
        const std::size_t n = _batch;
        _batch = 0;
        produce(std::string_view(), std::string_view(_scratch.get(), n));
    }
    // Once per sink-loop pass: delivery reports (rd_kafka_poll(0)), spool writes, replay or probe.
    void poll() noexcept;
    // After each batch of produce() calls: records diverted to the spool are written (one write(2), only when
    // some were), so a kill -9 never loses a record the counters already show as spooled.
    void end_batch() noexcept { _spool->flush(); }
    // At stop, on the sink core: flush (bounded), purge the rest into the spool, sync it.
    void stop() noexcept;

    // Bytes of the key for r (kafka_key): the address as text. out holds 46 bytes.
    static std::size_t key_of(const decode::flow_record& r, kafka_key k, char* out) noexcept;

    const spool& spool_() const noexcept { return *_spool; }
    bool down() const noexcept { return _down; }

private:
    static void on_delivery(rd_kafka_s* rk, const rd_kafka_message_s* m, void* opaque);
    static void on_error(rd_kafka_s* rk, int err, const char* reason, void* opaque);
    void to_spool(std::string_view key, std::string_view payload) noexcept;
    void replay() noexcept;
    void purge(int flags) noexcept;  // rd_kafka_purge, then spool the purged messages in produce order
    uint64_t now_ms() const noexcept;

    kafka_config _cfg;
    std::string _name;
    kafka_counter_block* _c;
    std::unique_ptr<spool> _spool;
    std::unique_ptr<char[]> _scratch;
    rd_kafka_s* _rk = nullptr;
    rd_kafka_topic_s* _rkt = nullptr;
    std::size_t _batch = 0;      // bytes of the open batch in _scratch
    bool _down = false;          // every broker down (error callback); cleared by any delivery
    bool _purge_pending = false; // purge the queue into the spool after this poll
    bool _probe_in_flight = false; // one probe at a time (until its delivery report)
    uint64_t _last_probe_ms = 0;
    uint64_t _order = 0;
    int _replay_limit = 50000;     // queue.buffering.max.messages / k_kafka_replay_queue_divisor           // produce order of the next message (in its opaque)
    struct purged {
        uint32_t order;
        bool replayed;
        uint32_t ticket;
        std::string key, payload;
    };
    bool _collecting = false;      // inside purge(): failed reports gather in _purged
    std::vector<purged> _purged;
};

}  // namespace sluice::sinks
