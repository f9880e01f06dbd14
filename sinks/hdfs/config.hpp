// SPDX-License-Identifier: Apache-2.0
// The HDFS writer's parameters (`--output ...,format=avro,hdfs=DIR|URL,...`), their defaults, and the spec keys' parser.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sinks/avro/avro.hpp"

namespace sluice::sinks::hdfs {

// Datum bytes per handoff batch: 256 KiB, ~1700 records of ~150 B, so a
// batch crosses the handoff a few hundred times a second at 3 M records/s
// (one atomic store each way), and 8 of them (k_batches) buffer ~14 k
// records (~5 ms at full rate) while the writer thread closes or opens a file.
constexpr std::size_t k_batch_bytes = 256 * 1024;
// Records per batch at most (their lengths are kept beside the bytes).
constexpr unsigned k_batch_records = 4096;
// Batches per (output, sink core): the sink core fills one while the writer
// thread drains the others. 8 x 256 KiB = 2 MiB per output and sink core.
constexpr unsigned k_batches = 8;

struct hdfs_config {
    // hdfs=: a local or mounted directory, or a WebHDFS URL
    // http[s]://NAMENODE:PORT[/PATH] (PATH defaults to /).
    std::string dest;
    bool webhdfs = false;  // dest is a URL
    std::string base;      // webhdfs: scheme://host:port of the namenode
    std::string root;      // the directory the table lives under (local path, or the HDFS path)
    std::string table = "flows";
    // Roll a file once its Avro datum bytes (before compression: the file
    // on disk is smaller by the codec's ratio) reach this. 256 MiB
    // uncompressed is ~1.7 M records, ~2 HDFS blocks after deflate.
    uint64_t roll_bytes = 256ull << 20;
    // Roll a file this long after it was opened, so a quiet collector's
    // records reach Hive within minutes (300 s matches a 5-minute Hive
    // ingest cadence). 0 = never by time.
    uint32_t roll_seconds = 300;
    // snappy: avro-c 1.11 deflates at zlib level 9, hard-coded (its codec.c;
    // seen in libavro.so.23's deflateInit2_ call), measured at ~125 k
    // records/s per writer thread against snappy's ~7 M (perf/RESULTS.md):
    // deflate suits only low-rate outputs. Hive and Hadoop read both.
    avro::codec codec = avro::codec::snappy;
    // webhdfs: the local spool directory closed files wait in until they
    // are uploaded; it survives restarts. Default /var/spool/sluice/NAME.
    std::string spool;
    // webhdfs: the spool's bound in bytes, shared evenly by the sink cores;
    // a closed file that would take it past the bound is deleted, counted
    // (spool_full_files, spool_full_records). 1 GiB: minutes of outage at
    // full rate with deflate.
    uint64_t spool_bytes = 1ull << 30;
    std::string user;   // webhdfs: user.name= (simple authentication)
    std::string token;  // webhdfs: delegation= (instead of user.name)
    // webhdfs: at stop, keep uploading this long before leaving the rest in
    // the spool for the next start. 5 s: within sluiced's default
    // --shutdown-timeout (10 s), which bounds the sink's join (checked).
    uint32_t drain_seconds = 5;
    // webhdfs: retry backoff: 100 ms doubling up to this.
    uint32_t retry_max_ms = 30000;
    std::string host;  // part-HOST-...: gethostname() when empty
};

enum class key_result : uint8_t { unknown, ok, bad };

// Parses one hdfs-writer spec key (hdfs, table, roll_seconds, codec, spool,
// spool_bytes, user, token, drain_s, retry_max_ms, host). On `bad`, `want`
// says what the value should be.
key_result parse_key(hdfs_config& c, std::string_view k, std::string_view v, std::string& want);

}  // namespace sluice::sinks::hdfs
