// SPDX-License-Identifier: Apache-2.0
// The JSON-lines writer: one output per run, rolled by size at line boundaries.
#include "json_file.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace sluice::sinks {

json_file_writer::json_file_writer(const json_file_config& cfg) : _cfg(cfg) {
    if (_cfg.path == "-") {
        _f = stdout;
        return;
    }
    _f = std::fopen(_cfg.path.c_str(), "w");
    if (_f == nullptr)
        throw std::runtime_error("json sink: cannot open " + _cfg.path + ": " + std::strerror(errno));
}

json_file_writer::~json_file_writer() {
    if (_f == stdout) std::fflush(stdout);
    else if (_f) std::fclose(_f);
}

std::string json_file_writer::path_of(unsigned index) const {
    return index == 0 ? _cfg.path : _cfg.path + "." + std::to_string(index);
}

std::string json_file_writer::current_path() const {
    std::lock_guard lock(_mu);
    return _f == stdout ? std::string("-") : path_of(_index);
}

bool json_file_writer::roll(sink_counter_block& counters) {
    std::fclose(_f);
    ++_index;
    _written = 0;
    _f = std::fopen(path_of(_index).c_str(), "w");
    counters.add(sink_counter::rolls);
    return _f != nullptr;
}

bool json_file_writer::write(const char* buf, std::size_t len, sink_counter_block& counters) {
    std::lock_guard lock(_mu);
    if (_f == nullptr) return false;
    const bool rolling = _f != stdout && _cfg.roll_bytes != 0;
    std::size_t off = 0;
    bool ok = true;
    while (off < len) {
        std::size_t take = len - off;
        if (rolling && _written + take > _cfg.roll_bytes) {
            // The longest run of whole lines that still fits in this file.
            const std::size_t room = _written < _cfg.roll_bytes ? std::size_t(_cfg.roll_bytes - _written) : 0;
            const void* nl = room ? memrchr(buf + off, '\n', std::min(room, take)) : nullptr;
            if (nl != nullptr) {
                take = std::size_t(static_cast<const char*>(nl) - (buf + off)) + 1;
            } else if (_written == 0) {
                // A line longer than the roll size gets a file of its own.
                const void* end = std::memchr(buf + off, '\n', take);
                take = end ? std::size_t(static_cast<const char*>(end) - (buf + off)) + 1 : take;
            } else {
                if (!roll(counters)) return false;
                continue;
            }
        }
        if (std::fwrite(buf + off, 1, take, _f) != take) ok = false;
        _written += take;
        off += take;
    }
    return ok;
}

void json_file_writer::flush() {
    std::lock_guard lock(_mu);
    if (_f) std::fflush(_f);
}

}  // namespace sluice::sinks
