// SPDX-License-Identifier: Apache-2.0
// One configured output of the sink stage (`sluiced --output SPEC`): what it keeps, how it encodes, where it writes.
#pragma once

#include <cstdint>
#include <string>

#include "sinks/file/config.hpp"
#include "sinks/hdfs/config.hpp"

namespace sluice::sinks {

// Encoders, chosen once per batch by a switch (no virtual call per record).
// protobuf comes with the sinks issue; avro goes with the hdfs writer (sinks/hdfs/).
enum class format : uint8_t { json, avro };

// Writers, chosen once per flush by a switch. Kafka comes next.
enum class writer_kind : uint8_t { file, hdfs };

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
    hdfs::hdfs_config hdfs{};  // writer == hdfs (key hdfs=)
};

}  // namespace sluice::sinks
