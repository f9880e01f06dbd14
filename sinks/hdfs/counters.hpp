// SPDX-License-Identifier: Apache-2.0
// HDFS writer counters: three tables, one per owning thread, one block each per (sink lcore, output).
//
// Exported as `sluice_sinks_{hdfs_handoff,hdfs,webhdfs}_<name>_total{sink="S",output="NAME"}`.
// Each block has one writer (relaxed stores): the sink lcore, the writer
// thread, the uploader thread. After a clean stop, per (sink, output):
//   output written  = hdfs records + hdfs error_records + hdfs spool_full_records
//   output failed  >= handoff_full_records            (the sink's drops at the handoff)
//   webhdfs spooled_bytes - unspooled_bytes = the bytes still in the spool
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dataplane/counters/counters.hpp"

namespace sluice::sinks::hdfs {

// Owned by the sink lcore.
enum class handoff_counter : uint8_t { batches, handoff_full_batches, handoff_full_records, count_ };
inline constexpr std::array<counters::info, std::size_t(handoff_counter::count_)> handoff_counter_table{{
    {"batches", "Batches of encoded records handed to the writer thread.", counters::kind::volume},
    {"handoff_full_batches",
     "Times the sink found no free batch (the writer thread is behind): the records it then encoded were dropped.",
     counters::kind::error},
    {"handoff_full_records",
     "Records dropped because the handoff to the writer thread was full (also in the output's failed).",
     counters::kind::drop},
}};
static_assert(counters::table_complete(handoff_counter_table));
using handoff_counter_block = counters::block<handoff_counter, std::size_t(handoff_counter::count_)>;

// Owned by the writer thread.
enum class writer_counter : uint8_t {
    files, records, data_bytes, rolls_size, rolls_time, rolls_partition, open_errors, write_errors, error_records,
    spool_full_files, spool_full_records, count_
};
inline constexpr std::array<counters::info, std::size_t(writer_counter::count_)> writer_counter_table{{
    {"files", "Avro files completed (renamed into place, or into the spool for WebHDFS).", counters::kind::volume},
    {"records", "Records in completed files.", counters::kind::volume},
    {"data_bytes", "Avro datum bytes (before compression) in completed files.", counters::kind::volume},
    {"rolls_size", "Files closed because they reached roll_bytes.", counters::kind::volume},
    {"rolls_time", "Files closed because they were open roll_seconds.", counters::kind::volume},
    {"rolls_partition", "Files closed because the records moved to the next hour partition.", counters::kind::volume},
    {"open_errors", "Files that could not be created (directory, permissions, disk full).", counters::kind::error},
    {"write_errors", "Files abandoned because a write, close or rename failed.", counters::kind::error},
    {"error_records", "Records lost with a file that could not be created or completed: non-zero means loss.",
     counters::kind::drop},
    {"spool_full_files", "Closed files deleted because the spool was at spool_bytes (their records: spool_full_records).",
     counters::kind::error},
    {"spool_full_records", "Records in files deleted because the spool was full: non-zero means loss.",
     counters::kind::drop},
}};
static_assert(counters::table_complete(writer_counter_table));
using writer_counter_block = counters::block<writer_counter, std::size_t(writer_counter::count_)>;

// Owned by the uploader thread (WebHDFS destinations only).
enum class upload_counter : uint8_t {
    uploaded_files, uploaded_bytes, retries, fail_connect, fail_http_4xx, fail_http_5xx, fail_redirect,
    fail_datanode, fail_rename, rename_conflicts, spooled_bytes, unspooled_bytes, recovered_files,
    discarded_partial_files, count_
};
inline constexpr std::array<counters::info, std::size_t(upload_counter::count_)> upload_counter_table{{
    {"uploaded_files", "Files created, written and renamed into place on HDFS.", counters::kind::volume},
    {"uploaded_bytes", "Bytes of the uploaded files.", counters::kind::volume},
    {"retries", "Upload steps retried after a failure (each failure below is retried with backoff).",
     counters::kind::deviation},
    {"fail_connect", "Namenode requests that failed at the transport (refused, reset, timeout).",
     counters::kind::error},
    {"fail_http_4xx", "Requests answered 4xx (403: permission, 401: authentication; RemoteException logged).",
     counters::kind::error},
    {"fail_http_5xx", "Requests answered 5xx.", counters::kind::error},
    {"fail_redirect", "CREATE answered without a usable 307 redirect to a datanode, or the datanode refused.",
     counters::kind::error},
    {"fail_datanode", "Datanode writes that failed at the transport (the connection dropped mid-file).",
     counters::kind::error},
    {"fail_rename", "RENAME answered false with no file at the destination (the temporary file went missing).",
     counters::kind::error},
    {"rename_conflicts",
     "RENAME refused because a different file already has the name: the local file is moved to SPOOL/conflict/ "
     "(kept, not uploaded).",
     counters::kind::drop},
    {"spooled_bytes", "Bytes that entered the spool (closed files, and files found there at start).",
     counters::kind::volume},
    {"unspooled_bytes", "Bytes that left the spool (uploaded, or moved to conflict/); spooled - unspooled = spool size.",
     counters::kind::volume},
    {"recovered_files", "Complete files found in the spool at start (uploaded in order, before new ones).",
     counters::kind::volume},
    {"discarded_partial_files", "Temporary (incomplete) files found in the spool at start, from a crash: deleted.",
     counters::kind::drop},
}};
static_assert(counters::table_complete(upload_counter_table));
using upload_counter_block = counters::block<upload_counter, std::size_t(upload_counter::count_)>;

}  // namespace sluice::sinks::hdfs
