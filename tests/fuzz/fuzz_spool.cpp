// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: recover a mutated spool segment (as is, and as well-formed entries with valid CRCs followed by
// the rest of the input as a torn tail), then replay it: nothing crashes, every entry read is one that was written,
// and recovered == entries read back.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "sinks/spool/spool.hpp"

namespace {

using namespace sluice::sinks;

std::string g_dir;
void remove_dir() { std::filesystem::remove_all(g_dir); }

// One scratch directory per process, removed at exit.
const std::string& dir() {
    if (g_dir.empty()) {
        char t[] = "/tmp/sluice-fuzz-spool-XXXXXX";
        g_dir = ::mkdtemp(t);
        std::atexit(remove_dir);
    }
    return g_dir;
}

void put_entry(std::string& seg, std::string_view key, std::string_view payload) {
    char h[k_spool_entry_header];
    const uint32_t plen = uint32_t(payload.size());
    const uint16_t klen = uint16_t(key.size()), zero = 0;
    std::memcpy(h + 4, &plen, 4);
    std::memcpy(h + 8, &klen, 2);
    std::memcpy(h + 10, &zero, 2);
    uint32_t c = crc32c(0, h + 4, 8);
    c = crc32c(c, key.data(), key.size());
    c = crc32c(c, payload.data(), payload.size());
    std::memcpy(h, &c, 4);
    seg.append(h, sizeof h);
    seg.append(key);
    seg.append(payload);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    namespace fs = std::filesystem;
    const std::string d = dir() + "/s";
    fs::remove_all(d);
    fs::create_directories(d);
    std::string seg = "SLSPOOL1";
    std::vector<std::string> written;
    const bool structured = size > 0 && (data[0] & 1);
    std::size_t at = size > 0 ? 1 : 0;
    if (structured) {
        // [klen u8][plen u8][key][payload]... while the bytes last; the rest is a raw (torn) tail.
        while (at + 2 <= size) {
            const std::size_t kl = data[at], pl = data[at + 1];
            if (at + 2 + kl + pl > size) break;
            const std::string_view k(reinterpret_cast<const char*>(data + at + 2), kl);
            const std::string_view p(reinterpret_cast<const char*>(data + at + 2 + kl), pl);
            put_entry(seg, k, p);
            written.push_back(std::string(k) + '\0' + std::string(p));
            at += 2 + kl + pl;
        }
    }
    seg.append(reinterpret_cast<const char*>(data + at), size - at);
    { std::ofstream(d + "/0000000000000001.seg", std::ios::binary) << seg; }
    spool_counter_block c{};
    spool_config cfg;
    cfg.dir = d;
    cfg.fsync_ms = 60000;
    {
        spool s(cfg, &c);
        spool::entry e;
        std::size_t n = 0;
        while (s.next(e)) {
            if (structured && n < written.size() &&
                written[n] != std::string(e.key) + '\0' + std::string(e.payload))
                std::abort();  // a well-formed entry read back differently
            ++n;
            s.done(e.ticket);
        }
        if (n != c.get(spool_counter::recovered)) std::abort();
        if (structured && n < written.size()) std::abort();  // a valid entry was lost
        // A torn tail never hides appends behind it.
        if (s.append("k", "after") != spool::status::ok || !s.next(e) || e.payload != "after") std::abort();
        s.done(e.ticket);
    }
    return 0;
}
