// SPDX-License-Identifier: Apache-2.0
// For the fuzzers of parsers that read a file by path (enrichment sources): the input written to one memfd per
// process, rewritten per input, and its /proc/self/fd path, which the readers open like any file.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace sluice::fuzz {

inline const std::string& memfd_file(const char* name, const uint8_t* data, std::size_t size) {
    static const int fd = memfd_create(name, MFD_CLOEXEC);
    static const std::string path = "/proc/self/fd/" + std::to_string(fd);
    if (fd < 0 || ftruncate(fd, 0) != 0) std::abort();
    for (std::size_t off = 0; off < size;) {
        const ssize_t w = pwrite(fd, data + off, size - off, static_cast<off_t>(off));
        if (w <= 0) std::abort();
        off += static_cast<std::size_t>(w);
    }
    return path;
}

}  // namespace sluice::fuzz
