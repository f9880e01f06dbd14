// SPDX-License-Identifier: Apache-2.0
// The HDFS writer: the sink side of the batch handoff, the writer thread, rolling and Hive partition naming.
#include "hdfs.hpp"

#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "webhdfs.hpp"

namespace sluice::sinks::hdfs {

namespace {

uint64_t mono_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}
uint64_t wall_ms() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return uint64_t(ts.tv_sec) * 1000ull + uint64_t(ts.tv_nsec) / 1000000ull;
}

// The writer thread's sleep when the handoff is empty: bounds the latency it
// adds to a batch (1 ms, against the sink's 100 ms flush deadline) and costs
// 1000 wake-ups a second when idle.
constexpr useconds_t k_idle_sleep_us = 1000;

}  // namespace

bool make_dirs(const std::string& path) noexcept {
    std::string p;
    std::size_t at = 0;
    while (at != std::string::npos) {
        at = path.find('/', at + 1);
        p = path.substr(0, at);
        if (p.empty()) continue;
        if (::mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) return false;
    }
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string partition_of(uint64_t hour) {
    const time_t t = time_t(hour * 3600);
    tm g{};
    gmtime_r(&t, &g);
    char buf[40];
    std::snprintf(buf, sizeof buf, "dt=%04d-%02d-%02d/hour=%02d", g.tm_year + 1900, g.tm_mon + 1, g.tm_mday,
                  g.tm_hour);
    return buf;
}

hdfs_writer::hdfs_writer(const hdfs_config& c, const std::string& output, unsigned core, unsigned sinks,
                         output_counter_block* out, handoff_counter_block* hc)
    : _cfg(c), _output(output), _core(core), _out(out), _hc(hc) {
    const std::string who = "--output " + output + ": ";
    _host = c.host;
    if (_host.empty()) {
        char h[256] = {};
        if (gethostname(h, sizeof h - 1) != 0) std::strcpy(h, "localhost");
        for (char* p = h; *p; ++p)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.'))
                *p = '_';  // '-' separates the name's parts
        _host = h;
    }
    if (c.webhdfs) {
        const std::string spool = c.spool.empty() ? "/var/spool/sluice/" + output : c.spool;
        _dir = spool + "/s" + std::to_string(core);
        _spool_limit = c.spool_bytes / (sinks ? sinks : 1);
    } else {
        _dir = c.root + "/" + c.table;
    }
    if (!make_dirs(_dir)) throw std::runtime_error(who + "cannot create " + _dir + ": " + std::strerror(errno));
    _batches = std::make_unique<batch[]>(k_batches);
    for (unsigned i = 0; i < k_batches; ++i) _free.push(&_batches[i]);
    if (c.webhdfs) {
        _up = std::make_unique<uploader>(c, output, core, _dir, &upload_counters);
        _up->start();  // recovers what a previous run left in the spool
    }
    _thread = std::thread([this] { writer_main(); });
    pthread_setname_np(_thread.native_handle(), ("hdfs-w" + std::to_string(core)).substr(0, 15).c_str());
}

hdfs_writer::~hdfs_writer() { finish(); }

void hdfs_writer::settle() noexcept {
    if (_dropped) {
        _hc->add(handoff_counter::handoff_full_records, _dropped);
        _out->add(output_counter::failed, _dropped);
        _dropped = 0;
    }
}

batch* hdfs_writer::next_batch(uint64_t hour) noexcept {
    if (_cur) {
        if (_cur->n == 0) {  // an empty batch of another hour: reuse it
            _cur->hour = hour;
            return _cur;
        }
        _full.push(_cur);  // never full: it holds at most the k_batches batches there are
        _hc->add(handoff_counter::batches);
        _out->add(output_counter::written, _cur->n);
        _cur = nullptr;
    }
    batch* b = nullptr;
    if (_free.pop(b)) {
        b->hour = hour;
        b->n = b->bytes = 0;
        _cur = b;
        _starved = false;
        return b;
    }
    if (!_starved) {
        _hc->add(handoff_counter::handoff_full_batches);
        _starved = true;
    }
    return nullptr;
}

void hdfs_writer::flush() noexcept {
    if (_cur && _cur->n) {
        _full.push(_cur);
        _hc->add(handoff_counter::batches);
        _out->add(output_counter::written, _cur->n);
        _cur = nullptr;
    }
    settle();
    _oldest_tsc = 0;
}

void hdfs_writer::finish() noexcept {
    if (_finished) return;
    _finished = true;
    flush();
    if (_cur) {  // an empty batch goes back to the pool
        _free.push(_cur);
        _cur = nullptr;
    }
    _stop.store(true, std::memory_order_release);
    if (_thread.joinable()) _thread.join();
    if (_up) _up->finish();
}

void hdfs_writer::writer_main() noexcept {
    for (;;) {
        batch* b = nullptr;
        if (_full.pop(b)) {
            write_batch(*b);
            _free.push(b);
            continue;
        }
        if (_stop.load(std::memory_order_acquire)) {
            if (_full.pop(b)) {  // pushed before the flag was set
                write_batch(*b);
                _free.push(b);
                continue;
            }
            break;
        }
        if (_file.is_open() && _cfg.roll_seconds != 0 &&
            mono_ns() - _opened_ns >= uint64_t(_cfg.roll_seconds) * 1000000000ull)
            close_file(writer_counter::rolls_time);
        ::usleep(k_idle_sleep_us);
    }
    if (_file.is_open()) close_file(writer_counter::count_);
}

bool hdfs_writer::open_file(uint64_t hour) noexcept {
    try {
        const std::string part = partition_of(hour);
        const std::string dir = _dir + "/" + part;
        _seq = std::max(wall_ms(), _seq + 1);
        char name[96];
        std::snprintf(name, sizeof name, "part-%s-%u-%013llu.avro", _host.c_str(), _core,
                      static_cast<unsigned long long>(_seq));
        _rel = part + "/" + name;
        _final_path = dir + "/" + name;
        _tmp_path = dir + "/." + name + ".tmp";
        if (!make_dirs(dir) || !_file.open(_tmp_path, _cfg.codec)) {
            writer_counters.add(writer_counter::open_errors);
            std::fprintf(stderr, "sluiced: output %s: sink %u: cannot create %s: %s\n", _output.c_str(), _core,
                         _tmp_path.c_str(), _file.error().empty() ? std::strerror(errno) : _file.error().c_str());
            return false;
        }
    } catch (...) {  // std::string allocation
        writer_counters.add(writer_counter::open_errors);
        return false;
    }
    _file_hour = hour;
    _file_records = _file_bytes = 0;
    _opened_ns = mono_ns();
    return true;
}

void hdfs_writer::abandon_file() noexcept {
    writer_counters.add(writer_counter::write_errors);
    writer_counters.add(writer_counter::error_records, _file_records);
    std::fprintf(stderr, "sluiced: output %s: sink %u: %s: %s (%llu records lost)\n", _output.c_str(), _core,
                 _tmp_path.c_str(), _file.error().c_str(), static_cast<unsigned long long>(_file_records));
    _file.close();
    ::unlink(_tmp_path.c_str());
    _file_records = 0;
}

void hdfs_writer::close_file(writer_counter why) noexcept {
    if (!_file.close()) {
        abandon_file();
        return;
    }
    if (why != writer_counter::count_) writer_counters.add(why);
    struct stat st{};
    const uint64_t size = ::stat(_tmp_path.c_str(), &st) == 0 ? uint64_t(st.st_size) : 0;
    if (_up && _up->spool_used() + size > _spool_limit) {
        ::unlink(_tmp_path.c_str());
        writer_counters.add(writer_counter::spool_full_files);
        writer_counters.add(writer_counter::spool_full_records, _file_records);
        std::fprintf(stderr, "sluiced: output %s: sink %u: spool full (%llu of %llu bytes): %llu records dropped\n",
                     _output.c_str(), _core, static_cast<unsigned long long>(_up->spool_used()),
                     static_cast<unsigned long long>(_spool_limit), static_cast<unsigned long long>(_file_records));
        return;
    }
    if (::rename(_tmp_path.c_str(), _final_path.c_str()) != 0) {
        _file.close();
        writer_counters.add(writer_counter::write_errors);
        writer_counters.add(writer_counter::error_records, _file_records);
        ::unlink(_tmp_path.c_str());
        return;
    }
    writer_counters.add(writer_counter::files);
    writer_counters.add(writer_counter::records, _file_records);
    writer_counters.add(writer_counter::data_bytes, _file_bytes);
    if (_up) _up->add(_rel, size);
}

void hdfs_writer::write_batch(const batch& b) noexcept {
    if (_file.is_open() && _file_hour != b.hour) close_file(writer_counter::rolls_partition);
    const uint8_t* p = b.data;
    for (uint32_t i = 0; i < b.n; ++i) {
        const std::size_t len = b.len[i];
        if (_file.is_open() && _file_records != 0 && _cfg.roll_bytes != 0 && _file_bytes + len > _cfg.roll_bytes)
            close_file(writer_counter::rolls_size);
        if (!_file.is_open() && !open_file(b.hour)) {
            writer_counters.add(writer_counter::error_records, b.n - i);
            return;
        }
        if (!_file.append(p, len)) {
            ++_file_records;  // this one is lost with the file
            abandon_file();
            p += len;
            continue;
        }
        ++_file_records;
        _file_bytes += len;
        p += len;
    }
}

}  // namespace sluice::sinks::hdfs
