// SPDX-License-Identifier: Apache-2.0
// The file writer: buffer chunks out with writev, roll by size at line boundaries.
#include "file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace sluice::sinks {

file_writer::file_writer(const file_config& cfg, std::string_view output, unsigned sink, unsigned sinks,
                         output_counter_block* out_counters, file_counter_block* counters)
    : _chunk(cfg.chunk_bytes < k_max_line ? k_max_line : cfg.chunk_bytes),
      _buf(new char[std::size_t(k_file_chunks) * _chunk]), _out(out_counters), _c(counters) {
    const std::string name(output);
    if (cfg.path == "-") {
        if (sinks > 1)
            throw std::runtime_error("output " + name + ": path '-' (stdout) needs --sink-cores 1: lines of two sink "
                                     "cores could interleave; give a file path");
        _fd = STDOUT_FILENO;
        _own_fd = false;
        _current = "-";
        return;
    }
    struct stat st;
    const bool special = ::stat(cfg.path.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
    if (special) {
        _base = _current = cfg.path;
        _fd = ::open(cfg.path.c_str(), O_WRONLY | O_CLOEXEC);
        if (_fd < 0)
            throw std::runtime_error("output " + name + ": cannot open " + cfg.path + ": " + std::strerror(errno));
        return;
    }
    _roll_bytes = cfg.roll_bytes;
    _base = sinks > 1 ? cfg.path + ".s" + std::to_string(sink) : cfg.path;
    open_current();
    if (_fd < 0) throw std::runtime_error("output " + name + ": cannot open " + _current + ": " + std::strerror(errno));
}

file_writer::~file_writer() {
    if (_fd >= 0 && _own_fd) ::close(_fd);
}

void file_writer::open_current() {
    _current = _index == 0 ? _base : _base + "." + std::to_string(_index);
    _fd = ::open(_current.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    _file_bytes = 0;
}

bool file_writer::flush() noexcept {
    if (_pending_records == 0 && _pending_bytes == 0) return true;
    iovec iov[k_file_chunks];
    int n = 0;
    for (unsigned i = 0; i <= _cur; ++i)
        if (_len[i]) iov[n++] = {_buf.get() + std::size_t(i) * _chunk, _len[i]};
    bool ok = _fd >= 0;
    uint64_t left = _pending_bytes;
    iovec* v = iov;
    uint64_t calls = 0;
    while (ok && left != 0) {
        const ssize_t w = ::writev(_fd, v, n);
        ++calls;
        if (w < 0) {
            if (errno == EINTR) continue;
            ok = false;
            break;
        }
        left -= uint64_t(w);
        std::size_t done = std::size_t(w);
        while (n > 0 && done >= v->iov_len) {  // a short write: skip what went out
            done -= v->iov_len;
            ++v;
            --n;
        }
        if (n > 0) {
            v->iov_base = static_cast<char*>(v->iov_base) + done;
            v->iov_len -= done;
        }
    }
    _c->add(file_counter::writes, calls);
    if (ok) {
        _c->add(file_counter::bytes, _pending_bytes);
        _out->add(output_counter::written, _pending_records);
        _file_bytes += _pending_bytes;
    } else {
        // Part of the buffer may have reached the file; its records count as
        // failed all the same (the file may end in a truncated line).
        _c->add(file_counter::write_errors);
        _out->add(output_counter::failed, _pending_records);
        _file_bytes += _pending_bytes - left;
    }
    for (auto& l : _len) l = 0;
    _cur = 0;
    _pending_bytes = _pending_records = 0;
    _oldest_tsc = 0;
    return ok;
}

// The line at the cursor would take the file past roll_bytes: write what
// came before it to this file, open the next one, and move the line to the
// front of the buffer.
void file_writer::roll_before(std::size_t len) noexcept {
    char line[k_max_line];
    char* at = _buf.get() + std::size_t(_cur) * _chunk + _len[_cur];
    const std::size_t keep = len < sizeof line ? len : sizeof line;
    std::memcpy(line, at, keep);
    flush();
    if (_fd >= 0) ::close(_fd);
    ++_index;
    try {
        open_current();
    } catch (...) {  // std::string allocation: the writer stays closed, flushes count as failed
        _fd = -1;
    }
    _c->add(file_counter::rolls);
    std::memcpy(_buf.get(), line, keep);
}

}  // namespace sluice::sinks
