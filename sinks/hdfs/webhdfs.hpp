// SPDX-License-Identifier: Apache-2.0
// The WebHDFS uploader: closed Avro files wait in a local spool and are uploaded in order with libcurl.
//
// Per file, against the Hadoop WebHDFS REST API (hadoop-project-dist/hadoop-hdfs/WebHDFS.html):
//   1. PUT <root>/<table>/dt=../hour=..?op=MKDIRS                       (once per partition per run)
//   2. PUT .../.part-*.avro.tmp?op=CREATE&overwrite=true  → 307 Location: the datanode URL (not followed by curl:
//                                                           read and checked by hand)
//   3. PUT <Location> with the file's bytes                → 201 Created
//   4. PUT .../.part-*.avro.tmp?op=RENAME&destination=.../part-*.avro → {"boolean": true}
//      false: GETFILESTATUS of the destination; the same length = an earlier attempt already renamed it
//      (its reply was lost): done; another length = a conflict: the local file moves to SPOOL/conflict/, counted.
// Every request carries user.name=USER or delegation=TOKEN. A failed step is
// counted by reason and retried, the same file, after a backoff of 100 ms
// doubling up to retry_max_ms: files are delivered in the order they closed,
// and a file leaves the spool only once it is in place.
//
// Spool: <spool>/s<core>/dt=../hour=../part-*.avro, the layout of the
// destination. At start the uploader lists it: complete files are queued by
// their seq (the order they were written), temporary ones (a crash while
// writing) are deleted and counted. At stop it keeps uploading for
// drain_seconds, then leaves what is left for the next start.
//
// Ownership: the hdfs_writer owns the uploader; the uploader owns its thread
// and its curl handle. add() is called by the writer thread (a mutex: once
// per closed file, never on a sink core).
// Tested against tests/sinks/webhdfs_server.py only (there is no HDFS here).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "config.hpp"
#include "counters.hpp"

namespace sluice::sinks::hdfs {

class uploader {
public:
    uploader(const hdfs_config& c, std::string output, unsigned core, std::string spool_dir,
             upload_counter_block* counters);
    ~uploader();
    uploader(const uploader&) = delete;
    uploader& operator=(const uploader&) = delete;

    void start();  // lists the spool (throws if it cannot), starts the thread
    // Writer thread: a file closed into the spool at `rel` (dt=../hour=../part-*.avro).
    void add(const std::string& rel, uint64_t bytes);
    // Bytes in the spool (complete files not yet uploaded).
    uint64_t spool_used() const noexcept { return _used.load(std::memory_order_relaxed); }
    // Uploads for at most drain_seconds more, then joins. Idempotent.
    void finish() noexcept;

private:
    struct item {
        std::string rel;
        uint64_t bytes;
    };
    enum class step : uint8_t { ok, retry, conflict, gone };  // gone: the spool file was removed by hand

    void main() noexcept;
    void sync_spooled() noexcept;  // uploader thread: spooled_bytes += bytes add()ed since
    step upload(const item& it) noexcept;
    bool wait_backoff(unsigned attempt) noexcept;  // false: the drain deadline passed
    std::string url(const std::string& path, const std::string& op, const std::string& extra = {}) const;

    hdfs_config _cfg;
    std::string _output;
    unsigned _core;
    std::string _spool;
    upload_counter_block* _c;
    std::atomic<uint64_t> _used{0};
    std::atomic<uint64_t> _added{0};  // bytes add()ed (writer thread)
    uint64_t _added_seen = 0;         // uploader thread

    std::mutex _mu;
    std::condition_variable _cv;
    std::deque<item> _queue;
    bool _stopping = false;
    uint64_t _deadline_ns = 0;  // CLOCK_MONOTONIC, set by finish()
    std::set<std::string> _made;  // partitions MKDIRS succeeded for
    void* _curl = nullptr;
    std::thread _thread;
    bool _joined = false;
};

}  // namespace sluice::sinks::hdfs
