// SPDX-License-Identifier: Apache-2.0
// The disk spool: buffered appends to segment files, CRC32C per entry, recovery at open, in-order replay with a cursor.
#include "spool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

namespace sluice::sinks {

namespace {

constexpr char k_magic[k_spool_segment_header] = {'S', 'L', 'S', 'P', 'O', 'O', 'L', '1'};
constexpr std::size_t k_cursor_size = 20;
// The read buffer holds the largest entry plus one ordinary read.
constexpr std::size_t k_rbuf_size = k_spool_max_entry + k_spool_entry_header + k_spool_read_buffer;

inline uint32_t load32(const char* p) noexcept {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
inline uint16_t load16(const char* p) noexcept {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}

// An entry's CRC: over the 8 bytes of lengths after the CRC field, then key, then payload.
uint32_t entry_crc(const char* lengths, std::string_view key, std::string_view payload) noexcept {
    uint32_t c = crc32c(0, lengths, 8);
    c = crc32c(c, key.data(), key.size());
    return crc32c(c, payload.data(), payload.size());
}

// Parses the entry at p (avail bytes there). Returns its total size, 0 when
// more bytes are needed (need says how many in all), or SIZE_MAX when it is
// invalid (bad lengths or CRC).
std::size_t parse_entry(const char* p, std::size_t avail, std::size_t& need, std::string_view& key,
                        std::string_view& payload) noexcept {
    if (avail < k_spool_entry_header) {
        need = k_spool_entry_header;
        return 0;
    }
    const uint32_t crc = load32(p), plen = load32(p + 4);
    const uint16_t klen = load16(p + 8), zero = load16(p + 10);
    if (zero != 0 || std::size_t(plen) + klen > k_spool_max_entry) return SIZE_MAX;
    const std::size_t total = k_spool_entry_header + klen + plen;
    if (avail < total) {
        need = total;
        return 0;
    }
    key = std::string_view(p + k_spool_entry_header, klen);
    payload = std::string_view(p + k_spool_entry_header + klen, plen);
    if (entry_crc(p + 4, key, payload) != crc) return SIZE_MAX;
    return total;
}

bool write_all(int fd, const char* p, std::size_t n) noexcept {
    while (n) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += w;
        n -= std::size_t(w);
    }
    return true;
}

}  // namespace

uint32_t crc32c(uint32_t crc, const void* data, std::size_t len) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    crc = ~crc;
#if defined(__SSE4_2__)
    uint64_t c = crc;
    while (len >= 8) {
        uint64_t v;
        std::memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        len -= 8;
    }
    crc = uint32_t(c);
    while (len--) crc = _mm_crc32_u8(crc, *p++);
#else
    while (len--) {
        crc ^= *p++;
        for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
#endif
    return ~crc;
}

spool::spool(const spool_config& cfg, spool_counter_block* counters)
    : _cfg(cfg),
      _c(counters),
      _wbuf(new char[k_spool_write_buffer]),
      _rbuf(new char[k_rbuf_size]),
      _wend(k_spool_window),
      _wdone(k_spool_window) {
    std::error_code ec;
    std::filesystem::create_directories(_cfg.dir, ec);
    if (ec) throw std::runtime_error("spool " + _cfg.dir + ": " + ec.message());
    const std::string cpath = _cfg.dir + "/cursor";
    _cfd = ::open(cpath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (_cfd < 0) throw std::runtime_error("spool " + cpath + ": " + std::strerror(errno));
    // One owner per directory: a second sluiced (or output) on it would interleave segments.
    if (::flock(_cfd, LOCK_EX | LOCK_NB) != 0) {
        const int e = errno;
        ::close(_cfd);
        _cfd = -1;
        throw std::runtime_error("spool " + _cfg.dir + ": " +
                                 (e == EWOULDBLOCK ? std::string("in use by another process") : std::strerror(e)));
    }
    recover();
}

spool::~spool() {
    flush();
    if (_wfd >= 0) {
        if (_unsynced) ::fdatasync(_wfd);
        ::close(_wfd);
    }
    if (_cursor_dirty) {
        write_cursor();
        ::fdatasync(_cfd);
    }
    if (_rfd >= 0) ::close(_rfd);
    if (_cfd >= 0) ::close(_cfd);
}

std::string spool::seg_path(uint64_t id) const {
    char name[32];
    std::snprintf(name, sizeof name, "/%016llx.seg", static_cast<unsigned long long>(id));
    return _cfg.dir + name;
}

uint64_t spool::now_ms() const noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

void spool::recover() {
    std::vector<uint64_t> ids;
    if (DIR* d = ::opendir(_cfg.dir.c_str())) {
        while (dirent* e = ::readdir(d)) {
            const std::string_view n = e->d_name;
            if (n.size() != 20 || n.substr(16) != ".seg") continue;
            uint64_t id = 0;
            bool ok = true;
            for (char ch : n.substr(0, 16)) {
                const int v = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
                if (v < 0) ok = false;
                id = id * 16 + uint64_t(v < 0 ? 0 : v);
            }
            if (ok && id != 0) ids.push_back(id);
        }
        ::closedir(d);
    }
    std::sort(ids.begin(), ids.end());

    position cur{};
    bool have_cursor = false;
    {
        char b[k_cursor_size];
        if (::pread(_cfd, b, sizeof b, 0) == ssize_t(sizeof b) && crc32c(0, b, 16) == load32(b + 16)) {
            std::memcpy(&cur.seg, b, 8);
            std::memcpy(&cur.off, b + 8, 8);
            have_cursor = cur.seg != 0;
        }
    }
    for (uint64_t id : ids) {
        const std::string path = seg_path(id);
        _next_id = std::max(_next_id, id + 1);
        if (have_cursor && id < cur.seg) {  // wholly replayed before the stop
            ::unlink(path.c_str());
            _c->add(spool_counter::segments_deleted);
            continue;
        }
        const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0) throw std::runtime_error("spool " + path + ": " + std::strerror(errno));
        struct stat st{};
        ::fstat(fd, &st);
        const uint64_t size = uint64_t(st.st_size);
        char hdr[k_spool_segment_header];
        if (size < k_spool_segment_header || ::pread(fd, hdr, sizeof hdr, 0) != ssize_t(sizeof hdr) ||
            std::memcmp(hdr, k_magic, sizeof hdr) != 0) {
            // Torn at creation (or not ours): nothing in it can be read.
            _c->add(spool_counter::torn);
            if (size) _c->add(spool_counter::skipped_bytes, size);
            ::close(fd);
            ::unlink(path.c_str());
            continue;
        }
        // Scan every entry: the first invalid one ends the segment.
        const uint64_t count_from = have_cursor && id == cur.seg ? cur.off : k_spool_segment_header;
        uint64_t off = k_spool_segment_header, entries = 0;
        std::size_t len = 0, pos = 0;
        uint64_t file_at = k_spool_segment_header;  // file offset of _rbuf[0]
        bool bad = false;
        for (;;) {
            std::size_t need = 0;
            std::string_view k, p;
            const std::size_t n = parse_entry(_rbuf.get() + pos, len - pos, need, k, p);
            if (n == SIZE_MAX) {
                bad = true;
                break;
            }
            if (n != 0) {
                pos += n;
                off += n;
                if (off > count_from) ++entries;
                continue;
            }
            // More bytes.
            std::memmove(_rbuf.get(), _rbuf.get() + pos, len - pos);
            file_at += pos;
            len -= pos;
            pos = 0;
            const ssize_t r = ::pread(fd, _rbuf.get() + len, k_rbuf_size - len, off_t(file_at + len));
            if (r < 0) throw std::runtime_error("spool " + path + ": read: " + std::strerror(errno));
            if (r == 0) {
                bad = len != 0;  // a partial entry at the end
                break;
            }
            len += std::size_t(r);
        }
        if (bad) {
            _c->add(spool_counter::torn);
            _c->add(spool_counter::skipped_bytes, size - off);
            if (::ftruncate(fd, off_t(off)) != 0)
                throw std::runtime_error("spool " + path + ": truncate: " + std::strerror(errno));
            ::fdatasync(fd);
        }
        ::close(fd);
        _segs.push_back({id, off});
        _bytes += off;
        _unread += entries;
        _c->add(spool_counter::recovered, entries);
    }
    // Read (and commit) from the cursor when its segment is still here, else from the oldest segment.
    if (!_segs.empty()) {
        if (have_cursor && _segs.front().id == cur.seg)
            _commit = {cur.seg, std::min(std::max<uint64_t>(cur.off, k_spool_segment_header), _segs.front().size)};
        else
            _commit = {_segs.front().id, k_spool_segment_header};
        _rseg = _commit.seg;
        _roff = _commit.off;
    }
    _next_id = std::max(_next_id, cur.seg + 1);
    _last_sync_ms = _last_cursor_ms = now_ms();
    apply_commit();
}

bool spool::open_write_segment() noexcept {
    const uint64_t id = _next_id++;
    const std::string path = seg_path(id);
    _wfd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (_wfd < 0) return false;
    if (!write_all(_wfd, k_magic, sizeof k_magic)) {
        ::close(_wfd);
        _wfd = -1;
        ::unlink(path.c_str());
        return false;
    }
    // The new name must survive a power loss too: sync the directory (once per segment).
    if (const int d = ::open(_cfg.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
        ::fsync(d);
        ::close(d);
    }
    _segs.push_back({id, k_spool_segment_header});
    _bytes += k_spool_segment_header;
    _unsynced = true;
    _c->add(spool_counter::segments_created);
    return true;
}

bool spool::close_write_segment() noexcept {
    if (_wfd < 0) return true;
    const bool ok = write_buffer();
    ::fdatasync(_wfd);
    _c->add(spool_counter::fsyncs);
    ::close(_wfd);
    _wfd = -1;
    _unsynced = false;
    return ok;
}

bool spool::write_buffer() noexcept {
    if (_wlen == 0) return true;
    segment& s = _segs.back();
    if (!write_all(_wfd, _wbuf.get(), _wlen)) {
        // Keep the file whole: cut back what part of the buffer made it.
        if (::ftruncate(_wfd, off_t(s.size)) == 0) ::lseek(_wfd, off_t(s.size), SEEK_SET);
        _c->add(spool_counter::io_errors, _wbuffered_entries);
        _unread -= _wbuffered_entries;
        _bytes -= _wlen;
        _wlen = 0;
        _wbuffered_entries = 0;
        return false;
    }
    s.size += _wlen;
    _wlen = 0;
    _wbuffered_entries = 0;
    _unsynced = true;
    return true;
}

spool::status spool::append(std::string_view key, std::string_view payload) noexcept {
    const std::size_t size = k_spool_entry_header + key.size() + payload.size();
    if (key.size() > 0xffff || key.size() + payload.size() > k_spool_max_entry) [[unlikely]] {
        _c->add(spool_counter::dropped_too_big);
        return status::too_big;
    }
    if (_bytes + size + (_wfd < 0 ? k_spool_segment_header : 0) > _cfg.max_bytes) {
        _c->add(spool_counter::dropped_full);
        return status::full;
    }
    if (_wfd >= 0 && _segs.back().size + _wlen + size > _cfg.segment_bytes &&
        _segs.back().size + _wlen > k_spool_segment_header) {
        close_write_segment();
    }
    if (_wfd < 0 && !open_write_segment()) {
        _c->add(spool_counter::io_errors);
        return status::io_error;
    }
    if (_wlen + size > k_spool_write_buffer && !write_buffer()) {
        _c->add(spool_counter::io_errors);
        return status::io_error;
    }
    char hdr[k_spool_entry_header];
    const uint32_t plen = uint32_t(payload.size());
    const uint16_t klen = uint16_t(key.size()), zero = 0;
    std::memcpy(hdr + 4, &plen, 4);
    std::memcpy(hdr + 8, &klen, 2);
    std::memcpy(hdr + 10, &zero, 2);
    const uint32_t crc = entry_crc(hdr + 4, key, payload);
    std::memcpy(hdr, &crc, 4);
    if (size > k_spool_write_buffer) {  // larger than the buffer: straight to the file
        segment& s = _segs.back();
        if (!write_all(_wfd, hdr, sizeof hdr) || !write_all(_wfd, key.data(), key.size()) ||
            !write_all(_wfd, payload.data(), payload.size())) {
            if (::ftruncate(_wfd, off_t(s.size)) == 0) ::lseek(_wfd, off_t(s.size), SEEK_SET);
            _c->add(spool_counter::io_errors);
            return status::io_error;
        }
        s.size += size;
        _unsynced = true;
    } else {
        char* p = _wbuf.get() + _wlen;
        std::memcpy(p, hdr, sizeof hdr);
        std::memcpy(p + sizeof hdr, key.data(), key.size());
        std::memcpy(p + sizeof hdr + key.size(), payload.data(), payload.size());
        _wlen += size;
        ++_wbuffered_entries;
    }
    _bytes += size;
    ++_unread;
    _c->add(spool_counter::appended);
    _c->add(spool_counter::appended_bytes, size);
    return status::ok;
}

void spool::write_cursor() noexcept {
    char b[k_cursor_size];
    std::memcpy(b, &_commit.seg, 8);
    std::memcpy(b + 8, &_commit.off, 8);
    const uint32_t c = crc32c(0, b, 16);
    std::memcpy(b + 16, &c, 4);
    if (::pwrite(_cfd, b, sizeof b, 0) == ssize_t(sizeof b)) _cursor_dirty = false;
    _last_cursor_ms = now_ms();
}

bool spool::flush() noexcept {
    const bool ok = write_buffer();
    if (_unsynced && _wfd >= 0) {
        const uint64_t now = _cfg.fsync_ms == 0 ? 0 : now_ms();
        if (_cfg.fsync_ms == 0 || now - _last_sync_ms >= _cfg.fsync_ms) {
            ::fdatasync(_wfd);
            _c->add(spool_counter::fsyncs);
            _unsynced = false;
            _last_sync_ms = _cfg.fsync_ms == 0 ? now_ms() : now;
        }
    }
    if (_cursor_dirty && now_ms() - _last_cursor_ms >= k_cursor_write_ms) write_cursor();
    return ok;
}

bool spool::next(entry& e) noexcept {
    if (_unread == 0 || _issued - _head >= k_spool_window) return false;
    for (;;) {
        if (_rfd < 0) {
            const segment* s = nullptr;
            for (const segment& x : _segs)
                if (x.id >= _rseg) {
                    s = &x;
                    break;
                }
            if (s == nullptr) return false;
            if (s->id != _rseg) _roff = k_spool_segment_header;
            _rseg = s->id;
            _rfd = ::open(seg_path(_rseg).c_str(), O_RDONLY | O_CLOEXEC);
            if (_rfd < 0) return false;
            _rlen = _rpos = 0;
        }
        std::size_t need = 0;
        const std::size_t n = parse_entry(_rbuf.get() + _rpos, _rlen - _rpos, need, e.key, e.payload);
        if (n == SIZE_MAX) [[unlikely]] {
            // Only entries this process wrote or recovered are here: the file
            // changed under us. Skip the rest of this segment, counted (its
            // entries stay in unread(): the spool then never reports empty
            // this run, which keeps later records behind it, in order).
            _c->add(spool_counter::torn);
            for (const segment& x : _segs)
                if (x.id == _rseg) _c->add(spool_counter::skipped_bytes, x.size - (_roff + _rpos));
            ::close(_rfd);
            _rfd = -1;
            ++_rseg;
            _roff = k_spool_segment_header;
            continue;
        }
        if (n != 0) {
            _rpos += n;
            const uint64_t idx = _issued % k_spool_window;
            _wend[idx] = {_rseg, _roff + _rpos};
            _wdone[idx] = 0;
            e.ticket = uint32_t(_issued);
            ++_issued;
            --_unread;
            _c->add(spool_counter::read);
            return true;
        }
        // Refill from the file, up to what was written of this segment.
        std::memmove(_rbuf.get(), _rbuf.get() + _rpos, _rlen - _rpos);
        _roff += _rpos;
        _rlen -= _rpos;
        _rpos = 0;
        uint64_t written = 0;
        bool is_write_seg = false;
        for (const segment& x : _segs)
            if (x.id == _rseg) written = x.size;
        is_write_seg = _wfd >= 0 && _segs.back().id == _rseg;
        const uint64_t at = _roff + _rlen;
        if (at < written) {
            const std::size_t want = std::size_t(std::min<uint64_t>(k_rbuf_size - _rlen, written - at));
            const ssize_t r = ::pread(_rfd, _rbuf.get() + _rlen, want, off_t(at));
            if (r <= 0) return false;
            _rlen += std::size_t(r);
            continue;
        }
        if (is_write_seg) {
            if (_wlen == 0 || !write_buffer()) return false;  // nothing more written yet
            continue;
        }
        // End of a closed segment: on to the next.
        ::close(_rfd);
        _rfd = -1;
        ++_rseg;
        _roff = k_spool_segment_header;
    }
}

void spool::done(uint32_t ticket) noexcept {
    _wdone[ticket % k_spool_window] = 1;
    bool moved = false;
    while (_head < _issued && _wdone[_head % k_spool_window]) {
        _commit = _wend[_head % k_spool_window];
        ++_head;
        moved = true;
        _c->add(spool_counter::committed);
    }
    if (moved) {
        _cursor_dirty = true;
        apply_commit();
    }
}

void spool::apply_commit() noexcept {
    // Everything replayed and settled, and nothing buffered: retire the write
    // segment too, so the spool's bytes go back to zero after an outage.
    if (_wfd >= 0 && _unread == 0 && _head == _issued && _wlen == 0 && _commit.seg == _segs.back().id &&
        _commit.off >= _segs.back().size)
        close_write_segment();
    while (!_segs.empty()) {
        const segment& f = _segs.front();
        const bool writing = _wfd >= 0 && _segs.size() == 1;
        if (writing || !(f.id < _commit.seg || (f.id == _commit.seg && _commit.off >= f.size))) break;
        if (_rfd >= 0 && _rseg == f.id) {
            ::close(_rfd);
            _rfd = -1;
            _rseg = f.id + 1;
        }
        ::unlink(seg_path(f.id).c_str());
        _bytes -= f.size;
        _c->add(spool_counter::segments_deleted);
        _segs.pop_front();
    }
    if (_segs.empty()) {
        // Nothing left: the next entry starts a new segment; the cursor points there.
        _commit = {_next_id, k_spool_segment_header};
        _rseg = _next_id;
        _roff = k_spool_segment_header;
        _cursor_dirty = true;
    }
}

}  // namespace sluice::sinks
