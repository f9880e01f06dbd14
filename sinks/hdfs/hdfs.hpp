// SPDX-License-Identifier: Apache-2.0
// The HDFS writer: sink cores encode Avro datums into batches, a writer thread per (output, sink core) writes them into
// Hive-partitioned object-container files, renamed into place when complete (local directory) or spooled and
// uploaded through WebHDFS.
//
//   sink lcore s                         writer thread (s, output)              uploader thread (WebHDFS only)
//   reserve/commit: encode into batch ──► full ──► avro_container(.part-*.tmp) ──► rename ─► part-*.avro
//        ▲   (SPSC, k_batches)           free ◄──  (roll: size, time, hour)         │ local: in <root>/<table>/...
//        └───────────── free batches ◄────┘                                          └ webhdfs: in SPOOL/s<s>/... ──►
//                                                                                     MKDIRS, CREATE(307), PUT, RENAME
//
// The sink lcore never blocks: with no free batch (the writer thread is
// behind) it drops what it encodes until one comes back, counting
// handoff_full_records (and the output's failed). It does not wait: a
// waiting sink stalls the worker rings, which then drop by ring_full on the
// workers, losing the same records less visibly; and it does not spill to
// disk itself: the batches are the spill buffer (k_batches).
//
// Partitions: by the record's time_received_ns (UTC), the collector's
// clock: it only moves forward on a sink core, so a file never flaps between
// two partitions, and a record lands in the hour it reached the collector.
// (The flow end time would scatter late exporters' records over old
// partitions.) Layout: <root>/<table>/dt=YYYY-MM-DD/hour=HH/part-<host>-<core>-<seq>.avro,
// written as .part-<host>-<core>-<seq>.avro.tmp (Hive and Hadoop input formats
// skip names starting with '.' or '_') and renamed when closed. seq is the
// wall clock in ms when the file was opened (13 digits), bumped to stay
// increasing: unique across restarts unless a run opened more than a file
// per millisecond on average.
//
// Ownership and lifetime: the output_slot owns the hdfs_writer; the
// hdfs_writer owns the batches, its writer thread and (WebHDFS) its
// uploader. The sink lcore is the only caller of reserve/commit/flush/mark;
// finish() (sink lcore, at stop) hands over the last batch, joins the
// writer thread (every file closed) and the uploader (after its drain).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "config.hpp"
#include "counters.hpp"
#include "sinks/avro/avro.hpp"
#include "sinks/output/counters.hpp"

namespace sluice::sinks::hdfs {

struct batch {
    uint64_t hour = 0;   // time_received_ns / 1 h: every record of the batch is in it
    uint32_t n = 0;
    uint32_t bytes = 0;
    uint16_t len[k_batch_records];
    uint8_t data[k_batch_bytes];
};
static_assert(avro::k_max_datum < 65536, "datum lengths are kept as u16");

// A single-producer single-consumer queue of pointers (N a power of two).
template <typename T, unsigned N>
class spsc {
    static_assert((N & (N - 1)) == 0);

public:
    bool push(T v) noexcept {
        const uint32_t h = _head.load(std::memory_order_relaxed);
        if (h - _tail.load(std::memory_order_acquire) == N) return false;
        _slot[h % N] = v;
        _head.store(h + 1, std::memory_order_release);
        return true;
    }
    bool pop(T& v) noexcept {
        const uint32_t t = _tail.load(std::memory_order_relaxed);
        if (t == _head.load(std::memory_order_acquire)) return false;
        v = _slot[t % N];
        _tail.store(t + 1, std::memory_order_release);
        return true;
    }

private:
    alignas(64) std::atomic<uint32_t> _head{0};
    alignas(64) std::atomic<uint32_t> _tail{0};
    T _slot[N];
};

class uploader;

// mkdir -p (0755); true when path is a directory afterwards.
bool make_dirs(const std::string& path) noexcept;

// The hour partition directory of an hour index: "dt=YYYY-MM-DD/hour=HH".
std::string partition_of(uint64_t hour);

class hdfs_writer {
public:
    static constexpr uint64_t k_hour_ns = 3600ull * 1000000000ull;

    // Creates <root>/<table> (local) or the spool directory (WebHDFS) and
    // starts the threads. Throws std::runtime_error naming the output.
    hdfs_writer(const hdfs_config& c, const std::string& output, unsigned core, unsigned sinks,
                output_counter_block* out, handoff_counter_block* hc);
    ~hdfs_writer();
    hdfs_writer(const hdfs_writer&) = delete;
    hdfs_writer& operator=(const hdfs_writer&) = delete;

    // Sink lcore: room for one datum (avro::k_max_datum bytes) of a record
    // received at t_ns; then commit(len). Never blocks.
    uint8_t* reserve(uint64_t t_ns) noexcept {
        const uint64_t h = t_ns / k_hour_ns;
        batch* b = _cur;
        if (!b || b->hour != h || b->bytes + avro::k_max_datum > k_batch_bytes || b->n == k_batch_records)
            [[unlikely]] {
            b = next_batch(h);
            if (!b) return _scratch;  // dropped at commit, counted
        }
        return b->data + b->bytes;
    }
    void commit(std::size_t len) noexcept {
        batch* b = _cur;
        if (!b) [[unlikely]] {
            ++_dropped;
            return;
        }
        b->len[b->n++] = uint16_t(len);
        b->bytes += uint32_t(len);
    }
    // Sink lcore: hands the partial batch over (deadline), and settles the
    // counters of a batch's records (written, or failed when dropped).
    void flush() noexcept;
    void mark(uint64_t tsc) noexcept {
        if (_oldest_tsc == 0 && ((_cur && _cur->n) || _dropped)) _oldest_tsc = tsc;
    }
    uint64_t oldest_tsc() const noexcept { return _oldest_tsc; }
    // Sink lcore at stop: flush, join the writer thread, then the uploader
    // after its drain. Idempotent.
    void finish() noexcept;

    writer_counter_block writer_counters;  // the writer thread's
    upload_counter_block upload_counters;  // the uploader's (zero for a local destination)

private:
    batch* next_batch(uint64_t hour) noexcept;
    void settle() noexcept;
    void writer_main() noexcept;
    void write_batch(const batch& b) noexcept;
    bool open_file(uint64_t hour) noexcept;
    void close_file(writer_counter why) noexcept;
    void abandon_file() noexcept;

    hdfs_config _cfg;
    std::string _output;
    unsigned _core;
    output_counter_block* _out;
    handoff_counter_block* _hc;

    // Sink side.
    batch* _cur = nullptr;
    uint64_t _dropped = 0;  // records dropped at the handoff, not yet counted
    uint64_t _oldest_tsc = 0;
    bool _starved = false;  // no free batch since the last handoff_full_batches count
    uint8_t _scratch[avro::k_max_datum];

    std::unique_ptr<batch[]> _batches;
    spsc<batch*, k_batches> _full, _free;
    std::atomic<bool> _stop{false};
    bool _finished = false;
    std::thread _thread;

    // Writer thread side.
    std::string _dir;       // local: <root>/<table>; webhdfs: <spool>/s<core>
    std::string _host;
    avro::avro_container _file;
    std::string _tmp_path, _final_path, _rel;  // _rel: dt=../hour=../part-*.avro
    uint64_t _file_hour = 0, _file_records = 0, _file_bytes = 0, _seq = 0;
    uint64_t _opened_ns = 0;  // CLOCK_MONOTONIC
    uint64_t _spool_limit = 0;
    std::unique_ptr<uploader> _up;
};

}  // namespace sluice::sinks::hdfs
