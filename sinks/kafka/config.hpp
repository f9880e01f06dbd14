// SPDX-License-Identifier: Apache-2.0
// The Kafka writer's parameters (`--output ...,kafka=BROKERS,topic=T,...`) and their defaults.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sinks/spool/config.hpp"

namespace sluice::sinks {

// The message key, from the record. Each is the address as text (the same
// text as the JSON's): readable with `kcat -K`, and the same record always
// lands on the same partition. flow_id: the record's flow id
// (sinks/encode/flow_id.hpp) as 16 lowercase hex digits, the same text as
// ECS JSON's event.id, so Kafka Connect's document id equals Logstash's.
enum class kafka_key : uint8_t { none, exporter, src, dst, flow_id };
enum class kafka_compression : uint8_t { none, lz4, zstd };

// A replay pass stops reading the spool once librdkafka holds this share of
// queue.buffering.max.messages (1/2: live records still find room while the
// spool drains; 50,000 with librdkafka's default of 100,000).
constexpr int k_kafka_replay_queue_divisor = 2;
// Spool entries replayed per sink-loop pass at most (bounds the time a pass
// spends replaying; 4096 x ~1 us of copy + produce = ~4 ms).
constexpr unsigned k_kafka_replay_per_pass = 4096;
// While every broker is down, one spool entry is produced this often as a
// probe: its delivery report says the cluster is back.
constexpr uint32_t k_kafka_probe_ms = 1000;
// At a stop, librdkafka's queue gets this long to deliver (rd_kafka_flush);
// what is left is purged into the spool. Below --shutdown-timeout's default
// (10 s), so the sink core joins in time.
constexpr uint32_t k_kafka_stop_flush_ms = 5000;
// librdkafka's message.timeout.ms default here (its own default is 300 s):
// a record not delivered within 30 s comes back in its delivery report and
// goes to the spool, which survives a restart; librdkafka's memory does not.
constexpr uint32_t k_kafka_message_timeout_ms = 30000;

struct kafka_config {
    std::string brokers;  // bootstrap.servers
    std::string topic;
    kafka_key key = kafka_key::exporter;
    // lz4: cheap on the sink core and ~3-4x on JSON; zstd compresses better for more CPU.
    kafka_compression compression = kafka_compression::lz4;
    // linger.ms: 5 ms fills batches at high rates and adds little latency at low ones.
    uint32_t linger_ms = 5;
    // batch.num.messages: librdkafka's default (10000).
    uint32_t batch = 10000;
    // rdkafka.PROP=VALUE, applied last (they override everything above, and the defaults:
    // enable.idempotence=true, acks=all, message.timeout.ms=30000).
    std::vector<std::pair<std::string, std::string>> props;
    // The spool root; this output's spool on sink core k is ROOT/NAME.s<k>.
    std::string spool_root = "/var/lib/sluice/spool";
    spool_config spool{};
};

}  // namespace sluice::sinks
