// SPDX-License-Identifier: Apache-2.0
// One configured output of the sink stage (`sluiced --output SPEC`): what it keeps, how it encodes, where it writes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "sinks/aggregate/aggregate.hpp"
#include "sinks/file/config.hpp"
#include "sinks/hdfs/config.hpp"
#include "sinks/kafka/config.hpp"

namespace sluice::sinks {

// Encoders, chosen once per batch by a switch (no virtual call per record). Fields of each: docs/schema.md.
//   json                JSON lines, byte-identical to sluice-decode --json (dataplane/decode/record_format.hpp)
//   protobuf            sinks/proto/flow.proto, one message per record, unframed (message-framed writers only)
//   protobuf_delimited  the same messages, each behind its varint length (files; batches per Kafka message)
//   ecs_json            Elastic Common Schema JSON lines (sinks/encode/ecs_json.hpp)
//   avro                Avro object-container files (sinks/avro/flow.avsc), the hdfs writer only
enum class format : uint8_t { json, protobuf, protobuf_delimited, ecs_json, avro };
constexpr uint8_t k_format_count = 5;

// Writers, chosen once per batch by a switch.
enum class writer_kind : uint8_t { file, kafka, hdfs };

struct output_config {
    std::string name;          // unique, [A-Za-z0-9_-]+; names the counters and log lines
    format fmt = format::json;
    writer_kind writer = writer_kind::file;
    std::string filter;        // filter expression (sinks/output/README.md); empty = every record
    // Keep 1 in N records, chosen by a hash of the unordered address pair so
    // both directions of a conversation are kept or dropped together; the
    // kept records' sampling_rate is multiplied by N. 1 = keep everything.
    uint32_t sample = 1;
    file_config file{};
    // An aggregating output (`aggregate=DIMS`): records are folded into
    // windows (sinks/aggregate/aggregate.hpp) and the output writes one JSON
    // row per (window, top-K key) and an "other" row, not the records.
    bool aggregate = false;
    agg_config agg{};
    // Closed windows of this output, shared by its sink cores and read by `top` queries.
    std::shared_ptr<window_history> agg_history;
    kafka_config kafka{};  // writer == kafka (kafka=BROKERS in the spec)
    hdfs::hdfs_config hdfs{};  // writer == hdfs (key hdfs=)
};

}  // namespace sluice::sinks
