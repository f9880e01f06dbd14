// SPDX-License-Identifier: Apache-2.0
// The Kafka writer: producer set-up, produce with spool fallback, delivery reports, replay and the stop flush.
#include "kafka.hpp"

#include "sinks/encode/flow_id.hpp"

#include <librdkafka/rdkafka.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "dataplane/decode/record_format.hpp"

namespace sluice::sinks {

namespace {

// A message's opaque: its produce order (31 bits, compared modulo 2^31: librdkafka holds far fewer messages), the
// spool ticket of a replayed entry, and bit 0 set for a replay:  order << 33 | ticket << 1 | replayed.
static_assert(sizeof(uintptr_t) == 8);
inline void* make_opaque(uint64_t order, uint32_t ticket, bool replayed) noexcept {
    return reinterpret_cast<void*>(uintptr_t((order & 0x7fffffffu) << 33 | uint64_t(ticket) << 1 | (replayed ? 1 : 0)));
}
inline uint32_t opaque_order(uintptr_t tag) noexcept { return uint32_t(tag >> 33); }
inline uint32_t opaque_ticket(uintptr_t tag) noexcept { return uint32_t(tag >> 1); }

// librdkafka logs from its own threads (connection refused every retry while
// brokers are down): at most k_log_burst lines per k_log_window_s, then a count.
constexpr unsigned k_log_burst = 20;
constexpr uint64_t k_log_window_s = 10;
std::atomic<uint64_t> g_log_window{0};
std::atomic<unsigned> g_log_lines{0};
std::atomic<uint64_t> g_log_suppressed{0};

extern "C" void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    const uint64_t w = uint64_t(ts.tv_sec) / k_log_window_s;
    if (g_log_window.exchange(w) != w) {
        const uint64_t s = g_log_suppressed.exchange(0);
        g_log_lines.store(0);
        if (s) std::fprintf(stderr, "kafka: %llu log line(s) suppressed\n", static_cast<unsigned long long>(s));
    }
    if (g_log_lines.fetch_add(1) >= k_log_burst) {
        g_log_suppressed.fetch_add(1);
        return;
    }
    std::fprintf(stderr, "kafka %s: %d %s: %s\n", rd_kafka_name(rk), level, fac, buf);
}

void set(rd_kafka_conf_t* conf, const std::string& who, const std::string& k, const std::string& v) {
    char err[512];
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(who + ": librdkafka property " + k + "=" + v + ": " + err);
    }
}

}  // namespace

std::size_t kafka_writer::key_of(const decode::flow_record& r, kafka_key k, char* out) noexcept {
    switch (k) {
    case kafka_key::none: return 0;
    case kafka_key::exporter: return decode::format_address(r.sampler_address, out);
    case kafka_key::src: return decode::format_address(r.src_addr, out);
    case kafka_key::dst: return decode::format_address(r.dst_addr, out);
    case kafka_key::flow_id: {
        static constexpr char hex[] = "0123456789abcdef";
        const uint64_t id = encode::flow_id(r);
        for (int i = 0; i < 16; ++i) out[i] = hex[(id >> (60 - 4 * i)) & 0xf];
        out[16] = 0;
        return 16;
    }
    }
    return 0;
}

kafka_writer::kafka_writer(const kafka_config& cfg, std::string_view output, unsigned sink,
                           kafka_counter_block* counters, spool_counter_block* spool_counters)
    : _cfg(cfg), _name(output), _c(counters), _scratch(new char[k_scratch]) {
    const std::string who = "output " + _name;
    spool_config sc = cfg.spool;
    sc.dir = cfg.spool_root + "/" + _name + ".s" + std::to_string(sink);
    _spool = std::make_unique<spool>(sc, spool_counters);

    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    set(conf, who, "bootstrap.servers", cfg.brokers);
    set(conf, who, "client.id", "sluice-" + _name + "-s" + std::to_string(sink));
    set(conf, who, "enable.idempotence", "true");
    set(conf, who, "acks", "all");
    set(conf, who, "compression.type",
        cfg.compression == kafka_compression::zstd  ? "zstd"
        : cfg.compression == kafka_compression::lz4 ? "lz4"
                                                    : "none");
    set(conf, who, "linger.ms", std::to_string(cfg.linger_ms));
    set(conf, who, "batch.num.messages", std::to_string(cfg.batch));
    set(conf, who, "message.timeout.ms", std::to_string(k_kafka_message_timeout_ms));
    for (const auto& [k, v] : cfg.props) set(conf, who, k, v);
    {
        char v[64];
        std::size_t n = sizeof v;
        if (rd_kafka_conf_get(conf, "queue.buffering.max.messages", v, &n) == RD_KAFKA_CONF_OK)
            _replay_limit = std::max(1, std::atoi(v) / k_kafka_replay_queue_divisor);
    }
    rd_kafka_conf_set_dr_msg_cb(conf, reinterpret_cast<void (*)(rd_kafka_t*, const rd_kafka_message_t*, void*)>(
                                          &kafka_writer::on_delivery));
    rd_kafka_conf_set_error_cb(conf, reinterpret_cast<void (*)(rd_kafka_t*, int, const char*, void*)>(
                                         &kafka_writer::on_error));
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_opaque(conf, this);
    char err[512];
    _rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);  // owns conf on success only
    if (_rk == nullptr) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(who + ": rd_kafka_new: " + err);
    }
    _rkt = rd_kafka_topic_new(_rk, cfg.topic.c_str(), nullptr);
    if (_rkt == nullptr) {
        rd_kafka_destroy(_rk);
        throw std::runtime_error(who + ": topic " + cfg.topic + ": " + rd_kafka_err2str(rd_kafka_last_error()));
    }
    if (_spool->unread())
        std::fprintf(stderr, "output %s (sink %u): spool %s holds %llu record(s) from a previous run: replaying\n",
                     _name.c_str(), sink, sc.dir.c_str(), static_cast<unsigned long long>(_spool->unread()));
}

kafka_writer::~kafka_writer() {
    if (_rkt) rd_kafka_topic_destroy(_rkt);
    if (_rk) {
        // Anything still queued (stop() was not called: a failed start-up) goes to the spool first.
        purge(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_destroy(_rk);
    }
    _spool.reset();
}

uint64_t kafka_writer::now_ms() const noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

void kafka_writer::to_spool(std::string_view key, std::string_view payload) noexcept {
    if (_spool->append(key, payload) == spool::status::ok) _c->add(kafka_counter::spooled);
    // else: counted by the spool (dropped_full, dropped_too_big, io_errors)
}

void kafka_writer::produce(const decode::flow_record& r, std::size_t len) noexcept {
    char key[46];
    const std::size_t klen = key_of(r, _cfg.key, key);
    produce(std::string_view(key, klen), std::string_view(_scratch.get(), len));
}

void kafka_writer::produce(std::string_view key, std::string_view payload) noexcept {
    if (_down || !_spool->empty()) {
        // Brokers down: librdkafka would only hold it in memory. Spool not
        // empty: older records are waiting, keep the order behind them.
        _c->add(kafka_counter::diverted);
        to_spool(key, payload);
        return;
    }
    // RD_KAFKA_MSG_F_COPY: the payload is in a scratch buffer the next record
    // reuses; librdkafka copies it into its message (one allocation inside
    // librdkafka per message; a zero-copy scheme would have to keep the ring
    // slot or the encoded bytes alive until the delivery report).
    if (rd_kafka_produce(_rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, const_cast<char*>(payload.data()),
                         payload.size(), key.empty() ? nullptr : key.data(), key.size(),
                         make_opaque(_order, 0, false)) == 0) [[likely]] {
        ++_order;
        _c->add(kafka_counter::produced);
        return;
    }
    const rd_kafka_resp_err_t e = rd_kafka_last_error();
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        _c->add(kafka_counter::failed_queue_full);
    } else if (e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
        _c->add(kafka_counter::rejected);
        return;
    } else {
        _c->add(kafka_counter::failed_produce);
    }
    to_spool(key, payload);
}

void kafka_writer::on_delivery(rd_kafka_s* rk, const rd_kafka_message_s* m, void*) {
    auto* self = static_cast<kafka_writer*>(rd_kafka_opaque(rk));
    const auto tag = reinterpret_cast<uintptr_t>(m->_private);
    const bool replayed = (tag & 1) != 0;
    if (replayed && self->_probe_in_flight) {
        self->_probe_in_flight = false;
        self->_last_probe_ms = self->now_ms();
    }
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        self->_c->add(kafka_counter::delivered);
        self->_c->add(kafka_counter::delivered_bytes, m->len);
        self->_down = false;
        if (replayed) self->_spool->done(opaque_ticket(tag));
        return;
    }
    switch (m->err) {
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT: self->_c->add(kafka_counter::failed_timeout); break;
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT: self->_c->add(kafka_counter::failed_purged); break;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
        self->_c->add(kafka_counter::rejected_dr);
        if (replayed) self->_spool->done(opaque_ticket(tag));
        return;
    default: self->_c->add(kafka_counter::failed_broker); break;
    }
    if (self->_collecting) {
        // A purge: librdkafka reports its queues' messages queue by queue, not
        // in the order they were produced. Gathered here, spooled in order by poll().
        self->_purged.push_back({opaque_order(tag), replayed, opaque_ticket(tag),
                                 std::string(static_cast<const char*>(m->key), m->key ? m->key_len : 0),
                                 std::string(static_cast<const char*>(m->payload), m->payload ? m->len : 0)});
        return;
    }
    // At-least-once: back to the spool (at its tail), then the replayed entry is settled.
    self->to_spool(std::string_view(static_cast<const char*>(m->key), m->key ? m->key_len : 0),
                   std::string_view(static_cast<const char*>(m->payload), m->payload ? m->len : 0));
    if (replayed) self->_spool->done(opaque_ticket(tag));
}

void kafka_writer::on_error(rd_kafka_s* rk, int err, const char* reason, void*) {
    auto* self = static_cast<kafka_writer*>(rd_kafka_opaque(rk));
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        if (!self->_down) {
            self->_c->add(kafka_counter::brokers_down);
            std::fprintf(stderr, "output %s: every broker is down (%s): spooling\n", self->_name.c_str(), reason);
        }
        self->_down = true;
        self->_purge_pending = true;
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512];
        rd_kafka_fatal_error(rk, why, sizeof why);
        self->_c->add(kafka_counter::fatal_errors);
        std::fprintf(stderr, "output %s: fatal producer error: %s\n", self->_name.c_str(), why);
        return;
    }
}

void kafka_writer::replay() noexcept {
    const uint64_t now = now_ms();
    unsigned budget = k_kafka_replay_per_pass;
    if (_down) {
        // One probe at a time, a second apart: its delivery report tells us the cluster is back.
        if (_probe_in_flight || now - _last_probe_ms < k_kafka_probe_ms) return;
        _probe_in_flight = true;
        budget = 1;
    }
    spool::entry e;
    while (budget-- && rd_kafka_outq_len(_rk) < _replay_limit && _spool->next(e)) {
        if (rd_kafka_produce(_rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, const_cast<char*>(e.payload.data()),
                             e.payload.size(), e.key.empty() ? nullptr : e.key.data(), e.key.size(),
                             make_opaque(_order, e.ticket, true)) == 0) {
            ++_order;
            _c->add(kafka_counter::replayed);
            continue;
        }
        // Refused: back to the tail (the order of this one record is lost), settled.
        const rd_kafka_resp_err_t err = rd_kafka_last_error();
        if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
            _c->add(kafka_counter::rejected);
        } else {
            _c->add(err == RD_KAFKA_RESP_ERR__QUEUE_FULL ? kafka_counter::failed_queue_full
                                                         : kafka_counter::failed_produce);
            to_spool(e.key, e.payload);
        }
        _spool->done(e.ticket);
        break;
    }
}

void kafka_writer::poll() noexcept {
    rd_kafka_poll(_rk, 0);
    if (_purge_pending) {
        // Every broker down: what waits in librdkafka's queues (not in flight)
        // comes back as ERR__PURGE_QUEUE delivery reports and goes to the spool
        // now, not after message.timeout.ms, and not lost by a kill -9.
        _purge_pending = false;
        purge(RD_KAFKA_PURGE_F_QUEUE);
    }
    if (!_spool->empty()) replay();
    _spool->flush();
}

void kafka_writer::stop() noexcept {
    // Replay what the spool holds while the brokers take it, then flush. While
    // every broker is down the probes go on: brokers back within the bound
    // still get the spool (bounded: a stop with brokers down takes 5 s).
    const uint64_t deadline = now_ms() + k_kafka_stop_flush_ms;
    while (now_ms() < deadline && (rd_kafka_outq_len(_rk) > 0 || !_spool->empty())) {
        poll();
        rd_kafka_poll(_rk, 10);
    }
    // Whatever is left goes to the spool (in flight too: it may also be
    // delivered, then replayed again after the restart: at-least-once).
    purge(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    _spool->flush();
}

void kafka_writer::purge(int flags) noexcept {
    // Off the data path (an outage, a stop): the purged messages are copied
    // out of their delivery reports, put back in produce order, then spooled.
    _collecting = true;
    rd_kafka_purge(_rk, flags);
    rd_kafka_poll(_rk, 0);
    _collecting = false;
    std::sort(_purged.begin(), _purged.end(), [base = _order](const purged& a, const purged& b) {
        // Distance back from the next order number, modulo 2^31: larger = older.
        return ((uint32_t(base) - a.order) & 0x7fffffffu) > ((uint32_t(base) - b.order) & 0x7fffffffu);
    });
    for (const purged& p : _purged) {
        to_spool(p.key, p.payload);
        if (p.replayed) _spool->done(p.ticket);
    }
    _purged.clear();
}

}  // namespace sluice::sinks
