// SPDX-License-Identifier: Apache-2.0
// Fragment reassembly over plain bytes; see reassembly.hpp.
#include "reassembly.hpp"

#include <algorithm>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>

#include "dataplane/decode/wire.hpp"

namespace sluice::reassembly {

using decode::wire::be16;
using decode::wire::be32;

struct reassembler::entry {
    key k;
    uint64_t first = 0;        // tick of its first fragment (timeout)
    uint32_t hash_next = k_none;
    links age, lru, src;       // creation order; recency overall; recency within its source
    uint32_t source = k_none;
    uint32_t frags = k_none;   // descriptor list, arrival order
    uint32_t nfrags = 0;       // fragments held
    uint32_t units = 0;        // 8-byte units covered
    uint32_t end = 0;          // fragmentable length, once the last fragment arrived
    uint32_t max_end = 0;      // furthest byte any fragment reached
    uint32_t hdr_chunk = k_none;
    uint16_t hdr_len = 0;      // first fragment's unfragmentable part (IPv4 header; IPv6 up to the fragment header)
    uint16_t nh_at = 0;        // IPv6: the byte that names the fragment header
    uint8_t next_header = 0;   // IPv6: the first fragment's fragment-header next header
    bool have_first = false, have_last = false;
    counter poisoned = counter::count_;  // count_: live; else a tombstone dropping later fragments by this cause
    bool used = false;
};

struct reassembler::source {
    uint8_t addr[16]{};
    uint32_t hash_next = k_none;
    uint32_t count = 0;  // entries of this source
    list mru;            // its entries, most recently touched first
};

namespace {

// Intrusive doubly-linked list over an index array; L selects the links.
template <typename E, typename Links, typename List>
void push_front(E* a, Links E::*l, List& li, uint32_t i) noexcept {
    (a[i].*l).prev = UINT32_MAX;
    (a[i].*l).next = li.head;
    if (li.head != UINT32_MAX) (a[li.head].*l).prev = i;
    li.head = i;
    if (li.tail == UINT32_MAX) li.tail = i;
}
template <typename E, typename Links, typename List>
void push_back(E* a, Links E::*l, List& li, uint32_t i) noexcept {
    (a[i].*l).next = UINT32_MAX;
    (a[i].*l).prev = li.tail;
    if (li.tail != UINT32_MAX) (a[li.tail].*l).next = i;
    li.tail = i;
    if (li.head == UINT32_MAX) li.head = i;
}
template <typename E, typename Links, typename List>
void unlink(E* a, Links E::*l, List& li, uint32_t i) noexcept {
    const uint32_t p = (a[i].*l).prev, n = (a[i].*l).next;
    if (p != UINT32_MAX) (a[p].*l).next = n; else li.head = n;
    if (n != UINT32_MAX) (a[n].*l).prev = p; else li.tail = p;
    (a[i].*l).prev = (a[i].*l).next = UINT32_MAX;
}

// Bitmap of 8-byte units [a, b).
bool any_set(const uint64_t* bm, uint32_t a, uint32_t b) noexcept {
    for (uint32_t u = a; u < b;) {
        const uint32_t w = u / 64, bit = u % 64, n = std::min<uint32_t>(64 - bit, b - u);
        const uint64_t mask = (n == 64 ? ~0ull : ((1ull << n) - 1)) << bit;
        if (bm[w] & mask) return true;
        u += n;
    }
    return false;
}
bool all_set(const uint64_t* bm, uint32_t a, uint32_t b) noexcept {
    for (uint32_t u = a; u < b;) {
        const uint32_t w = u / 64, bit = u % 64, n = std::min<uint32_t>(64 - bit, b - u);
        const uint64_t mask = (n == 64 ? ~0ull : ((1ull << n) - 1)) << bit;
        if ((bm[w] & mask) != mask) return false;
        u += n;
    }
    return true;
}
void set_range(uint64_t* bm, uint32_t a, uint32_t b) noexcept {
    for (uint32_t u = a; u < b;) {
        const uint32_t w = u / 64, bit = u % 64, n = std::min<uint32_t>(64 - bit, b - u);
        bm[w] |= (n == 64 ? ~0ull : ((1ull << n) - 1)) << bit;
        u += n;
    }
}

constexpr uint32_t chunks_for(uint32_t n) noexcept { return (n + k_chunk - 1) / k_chunk; }

uint32_t pow2_at_least(uint32_t n) noexcept {
    uint32_t p = 1;
    while (p < n) p <<= 1;
    return p;
}

}  // namespace

std::size_t reassembler::memory_bytes(const config& cfg) noexcept {
    const std::size_t chunks = cfg.max_bytes / k_chunk;
    const std::size_t buckets = pow2_at_least(2 * std::max<uint32_t>(cfg.max_flows, 1));
    return chunks * (k_chunk + sizeof(uint32_t) + sizeof(frag)) +
           std::size_t(cfg.max_flows) * (sizeof(entry) + k_bitmap_words * sizeof(uint64_t) + sizeof(source)) +
           2 * buckets * sizeof(uint32_t);
}

reassembler::reassembler(const config& cfg, uint64_t ticks_per_second, uint64_t* counters)
    : _counters(counters), _cfg(cfg) {
    if (cfg.max_flows < 1 || cfg.max_flows > k_max_max_flows)
        throw std::invalid_argument("reassembly: max_flows must be 1.." + std::to_string(k_max_max_flows));
    if (cfg.max_per_source < 1)
        throw std::invalid_argument("reassembly: max_per_source must be at least 1");
    if (cfg.max_bytes < k_min_max_bytes || cfg.max_bytes > k_max_max_bytes)
        throw std::invalid_argument("reassembly: max_bytes must be " + std::to_string(k_min_max_bytes) + ".." +
                                    std::to_string(k_max_max_bytes));
    _timeout = ticks_per_second / 1000 * cfg.timeout_ms + (ticks_per_second % 1000) * cfg.timeout_ms / 1000;
    // A per-process seed: a sender cannot aim its keys at one hash chain.
    std::random_device rd;
    _seed = (uint64_t(rd()) << 32) ^ rd();

    const uint32_t buckets = pow2_at_least(2 * cfg.max_flows);
    _bucket_mask = buckets - 1;
    _entries = std::make_unique<entry[]>(cfg.max_flows);
    _bitmaps = std::make_unique<uint64_t[]>(std::size_t(cfg.max_flows) * k_bitmap_words);
    _buckets = std::make_unique<uint32_t[]>(buckets);
    _sources = std::make_unique<source[]>(cfg.max_flows);
    _src_buckets = std::make_unique<uint32_t[]>(buckets);
    std::fill_n(_buckets.get(), buckets, k_none);
    std::fill_n(_src_buckets.get(), buckets, k_none);
    for (uint32_t i = cfg.max_flows; i-- > 0;) {
        _entries[i].hash_next = _free_entry;
        _free_entry = i;
        _sources[i].hash_next = _free_source;
        _free_source = i;
    }
    _chunk_count = cfg.max_bytes / k_chunk;
    _chunks = std::make_unique<uint8_t[]>(std::size_t(_chunk_count) * k_chunk);
    _chunk_next = std::make_unique<uint32_t[]>(_chunk_count);
    // Every stored fragment holds at least one chunk: as many descriptors as chunks never run out first.
    _frags = std::make_unique<frag[]>(_chunk_count);
    for (uint32_t i = _chunk_count; i-- > 0;) {
        _chunk_next[i] = _free_chunk;
        _free_chunk = i;
        _frags[i].next = _free_frag;
        _free_frag = i;
    }
    _free_chunks = _chunk_count;
    // Touch every page now (start-up), not on the data path.
    std::memset(_chunks.get(), 0, std::size_t(_chunk_count) * k_chunk);
}

reassembler::~reassembler() = default;

void reassembler::add(counter c, uint64_t n) noexcept {
    if (n) counters::relaxed_add(_counters[static_cast<std::size_t>(c)], n);
}

uint64_t reassembler::hash(const uint8_t* p, std::size_t n) const noexcept {
    uint64_t h = _seed;
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t w;
        std::memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ull;
        h ^= h >> 29;
    }
    for (std::size_t i = n & ~std::size_t(7); i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
    h ^= h >> 32;
    return h * 0xd6e8feb86659fd93ull;
}

uint32_t reassembler::find(const key& k, uint64_t h) const noexcept {
    for (uint32_t i = _buckets[h & _bucket_mask]; i != k_none; i = _entries[i].hash_next)
        if (_entries[i].k == k) return i;
    return k_none;
}

uint32_t reassembler::find_source(const uint8_t* addr, uint64_t h) const noexcept {
    for (uint32_t i = _src_buckets[h & _bucket_mask]; i != k_none; i = _sources[i].hash_next)
        if (std::memcmp(_sources[i].addr, addr, 16) == 0) return i;
    return k_none;
}

void reassembler::touch(uint32_t i) noexcept {
    entry& e = _entries[i];
    unlink(_entries.get(), &entry::lru, _lru, i);
    push_front(_entries.get(), &entry::lru, _lru, i);
    source& s = _sources[e.source];
    unlink(_entries.get(), &entry::src, s.mru, i);
    push_front(_entries.get(), &entry::src, s.mru, i);
}

uint32_t reassembler::create(const key& k, uint64_t h, uint64_t now) noexcept {
    const uint64_t sh = hash(k.src, 16);
    uint32_t s = find_source(k.src, sh);
    if (s != k_none && _sources[s].count >= _cfg.max_per_source) {
        evict(_sources[s].mru.tail, counter::evicted_source_limit);
        s = find_source(k.src, sh);  // gone if that was its last entry
    } else if (_in_use >= _cfg.max_flows) {
        evict(_lru.tail, counter::evicted_table_full);
        s = find_source(k.src, sh);
    }
    if (s == k_none) {
        s = _free_source;  // never empty: sources <= entries in use < max_flows
        _free_source = _sources[s].hash_next;
        source& src = _sources[s];
        std::memcpy(src.addr, k.src, 16);
        src.count = 0;
        src.mru = {};
        const uint32_t b = uint32_t(sh & _bucket_mask);
        src.hash_next = _src_buckets[b];
        _src_buckets[b] = s;
    }
    const uint32_t i = _free_entry;
    _free_entry = _entries[i].hash_next;
    entry& e = _entries[i];
    e = entry{};
    e.k = k;
    e.first = now;
    e.used = true;
    e.source = s;
    const uint32_t b = uint32_t(h & _bucket_mask);
    e.hash_next = _buckets[b];
    _buckets[b] = i;
    push_back(_entries.get(), &entry::age, _age, i);
    push_front(_entries.get(), &entry::lru, _lru, i);
    push_front(_entries.get(), &entry::src, _sources[s].mru, i);
    ++_sources[s].count;
    ++_in_use;
    return i;  // its bitmap is zero: zeroed at start, and cleared by release() as far as it was used

}

void reassembler::free_chain(uint32_t c, uint32_t n) noexcept {
    for (uint32_t k = chunks_for(n); k > 0; --k) {
        const uint32_t next = _chunk_next[c];
        _chunk_next[c] = _free_chunk;
        _free_chunk = c;
        ++_free_chunks;
        c = next;
    }
}

void reassembler::free_fragments(entry& e) noexcept {
    for (uint32_t d = e.frags; d != k_none;) {
        frag& fr = _frags[d];
        const uint32_t next = fr.next;
        free_chain(fr.chunk, fr.len);
        fr.next = _free_frag;
        _free_frag = d;
        d = next;
    }
    if (e.hdr_chunk != k_none) free_chain(e.hdr_chunk, e.hdr_len);
    _held_frags -= e.nfrags;
    e.frags = e.hdr_chunk = k_none;
    e.nfrags = 0;
}

void reassembler::release(uint32_t i) noexcept {
    entry& e = _entries[i];
    free_fragments(e);
    // Clear only the bitmap words a fragment can have set: up to the furthest byte stored.
    std::memset(&_bitmaps[std::size_t(i) * k_bitmap_words], 0, (e.max_end + 511) / 512 * sizeof(uint64_t));
    // Out of its hash chain.
    const uint64_t h = hash(reinterpret_cast<const uint8_t*>(&e.k), sizeof(key));
    for (uint32_t* p = &_buckets[h & _bucket_mask]; *p != k_none; p = &_entries[*p].hash_next) {
        if (*p == i) {
            *p = e.hash_next;
            break;
        }
    }
    unlink(_entries.get(), &entry::age, _age, i);
    unlink(_entries.get(), &entry::lru, _lru, i);
    source& s = _sources[e.source];
    unlink(_entries.get(), &entry::src, s.mru, i);
    if (--s.count == 0) {
        const uint64_t sh = hash(s.addr, 16);
        for (uint32_t* p = &_src_buckets[sh & _bucket_mask]; *p != k_none; p = &_sources[*p].hash_next) {
            if (*p == e.source) {
                *p = s.hash_next;
                break;
            }
        }
        s.hash_next = _free_source;
        _free_source = e.source;
    }
    e.used = false;
    e.hash_next = _free_entry;
    _free_entry = i;
    --_in_use;
}

void reassembler::evict(uint32_t i, counter why) noexcept {
    add(why, _entries[i].nfrags);
    release(i);
}

void reassembler::poison(uint32_t i, counter why) noexcept {
    entry& e = _entries[i];
    add(why, e.nfrags);
    free_fragments(e);
    e.poisoned = why;
}

bool reassembler::reserve(uint32_t need, uint32_t keep) noexcept {
    while (_free_chunks < need) {
        uint32_t victim = _lru.tail;
        if (victim == keep) victim = _entries[victim].lru.prev;
        if (victim == k_none) return false;
        evict(victim, counter::evicted_memory);
    }
    return true;
}

uint32_t reassembler::store(const uint8_t* p, uint32_t n) noexcept {
    const uint32_t first = _free_chunk;
    uint32_t c = first, last = k_none;
    for (uint32_t done = 0; done < n; done += k_chunk) {
        std::memcpy(&_chunks[std::size_t(c) * k_chunk], p + done, std::min(k_chunk, n - done));
        last = c;
        c = _chunk_next[c];
        --_free_chunks;
    }
    _free_chunk = c;
    _chunk_next[last] = k_none;
    return first;
}

void reassembler::copy_out(uint32_t c, uint32_t n, uint8_t* dst) const noexcept {
    for (uint32_t done = 0; done < n; done += k_chunk, c = _chunk_next[c])
        std::memcpy(dst + done, &_chunks[std::size_t(c) * k_chunk], std::min(k_chunk, n - done));
}

bool reassembler::equal(uint32_t c, const uint8_t* p, uint32_t n) const noexcept {
    for (uint32_t done = 0; done < n; done += k_chunk, c = _chunk_next[c])
        if (std::memcmp(p + done, &_chunks[std::size_t(c) * k_chunk], std::min(k_chunk, n - done)) != 0) return false;
    return true;
}

uint32_t reassembler::build(uint32_t i, uint8_t* out) noexcept {
    entry& e = _entries[i];
    copy_out(e.hdr_chunk, e.hdr_len, out);
    for (uint32_t d = e.frags; d != k_none; d = _frags[d].next)
        copy_out(_frags[d].chunk, _frags[d].len, out + e.hdr_len + _frags[d].offset);
    const uint32_t len = e.hdr_len + e.end;
    if (e.k.version == 4) {
        out[2] = uint8_t(len >> 8);
        out[3] = uint8_t(len);
        out[6] &= 0x40;  // keep DF; clear MF and the offset
        out[7] = 0;
        out[10] = out[11] = 0;
        const uint16_t sum = uint16_t(~parse::checksum_fold(parse::checksum_partial(out, e.hdr_len)));
        out[10] = uint8_t(sum >> 8);
        out[11] = uint8_t(sum);
    } else {
        const uint32_t plen = len - 40;
        out[4] = uint8_t(plen >> 8);
        out[5] = uint8_t(plen);
        out[e.nh_at] = e.next_header;
    }
    return len;
}

result reassembler::feed(const uint8_t* l3, uint32_t len, const parse::parsed_frame& f, uint64_t now, uint8_t* out,
                         uint32_t out_cap) noexcept {
    add(counter::received);
    if (f.ip_total_len != 0 && f.ip_total_len < len) len = f.ip_total_len;  // Ethernet padding
    key k;
    std::memset(&k, 0, sizeof k);
    std::memcpy(k.src, f.src_addr, 16);
    std::memcpy(k.dst, f.dst_addr, 16);
    k.version = f.ip_version;
    uint32_t off, unfrag, data_at;
    bool more;
    uint8_t next_header = 0;
    uint16_t nh_at = 0;
    if (f.ip_version == 4) {
        unfrag = f.l3_len;
        if (unfrag < 20 || unfrag > len) [[unlikely]] {
            add(counter::malformed);
            return {status::dropped, 0};
        }
        k.id = be16(l3 + 4);
        k.proto = l3[9];
        const uint16_t fo = be16(l3 + 6);
        off = (fo & 0x1fffu) * 8u;
        more = (fo & 0x2000u) != 0;
        data_at = unfrag;
    } else if (f.ip_version == 6) {
        unfrag = f.l3_len;  // the fragment header's offset
        if (unfrag < 40 || unfrag + 8 > len) [[unlikely]] {
            add(counter::malformed);
            return {status::dropped, 0};
        }
        const uint8_t* fh = l3 + unfrag;
        k.id = be32(fh + 4);
        k.proto = 0;  // RFC 8200: source, destination and identification
        next_header = fh[0];
        const uint16_t fo = be16(fh + 2);
        off = fo & 0xfff8u;
        more = (fo & 1u) != 0;
        data_at = unfrag + 8;
        if (off == 0) {
            // The byte naming the fragment header: walk the chain the parser walked.
            uint32_t at = 6, pos = 40;
            uint8_t nh = l3[6];
            while (nh != 44 && pos + 8 <= unfrag) {
                at = pos;
                nh = l3[pos];
                pos += (l3[pos + 1] + 1u) * 8u;
            }
            if (nh != 44 || pos != unfrag) [[unlikely]] {
                add(counter::malformed);
                return {status::dropped, 0};
            }
            nh_at = uint16_t(at);
        }
        if (off == 0 && !more) {
            // RFC 6946 atomic fragment: a whole packet; drop the fragment header.
            const uint32_t whole = len - 8;
            if (whole > out_cap) [[unlikely]] {
                add(counter::too_big);
                return {status::dropped, 0};
            }
            std::memcpy(out, l3, unfrag);
            std::memcpy(out + unfrag, l3 + data_at, len - data_at);
            out[nh_at] = next_header;
            const uint32_t plen = whole - 40;
            out[4] = uint8_t(plen >> 8);
            out[5] = uint8_t(plen);
            add(counter::atomic);
            return {status::complete, whole};
        }
    } else [[unlikely]] {
        add(counter::malformed);
        return {status::dropped, 0};
    }
    const uint8_t* data = l3 + data_at;
    const uint32_t dlen = len - data_at;
    if (dlen == 0 || (more && (dlen % 8) != 0)) [[unlikely]] {
        add(counter::malformed);
        return {status::dropped, 0};
    }
    const uint32_t end = off + dlen;

    const uint64_t h = hash(reinterpret_cast<const uint8_t*>(&k), sizeof(key));
    uint32_t i = find(k, h);
    if (i == k_none) i = create(k, h, now);
    entry& e = _entries[i];
    if (e.poisoned != counter::count_) [[unlikely]] {
        add(e.poisoned);
        return {status::dropped, 0};
    }
    // Past 65,535 bytes reassembled: with the smallest header (IPv4), or the fragment offset + length limit (IPv6).
    if (end > (k.version == 4 ? 65535u - 20u : 65535u)) [[unlikely]] {
        add(counter::too_big);
        poison(i, counter::too_big);
        return {status::dropped, 0};
    }
    // Two ends, or bytes past the end.
    if ((!more && ((e.have_last && e.end != end) || e.max_end > end)) || (more && e.have_last && end > e.end))
        [[unlikely]] {
        add(counter::malformed);
        poison(i, counter::malformed);
        return {status::dropped, 0};
    }
    uint64_t* bm = &_bitmaps[std::size_t(i) * k_bitmap_words];
    const uint32_t u0 = off / 8, u1 = (end + 7) / 8;
    if (any_set(bm, u0, u1)) [[unlikely]] {
        if (all_set(bm, u0, u1)) {
            for (uint32_t d = e.frags; d != k_none; d = _frags[d].next) {
                if (_frags[d].offset == off && _frags[d].len == dlen && equal(_frags[d].chunk, data, dlen)) {
                    add(counter::duplicate);
                    touch(i);
                    return {status::held, 0};
                }
            }
        }
        add(counter::overlap);
        poison(i, counter::overlap);
        return {status::dropped, 0};
    }
    const uint32_t need = chunks_for(dlen) + (off == 0 ? chunks_for(unfrag) : 0);
    if (!reserve(need, i)) [[unlikely]] {
        // This datagram alone exceeds the slab (many tiny fragments): drop it.
        add(counter::evicted_memory);
        evict(i, counter::evicted_memory);
        return {status::dropped, 0};
    }
    const uint32_t d = _free_frag;
    _free_frag = _frags[d].next;
    _frags[d] = frag{e.frags, store(data, dlen), off, dlen};
    e.frags = d;
    ++e.nfrags;
    ++_held_frags;
    set_range(bm, u0, u1);
    e.units += u1 - u0;
    e.max_end = std::max(e.max_end, end);
    if (off == 0) {
        e.have_first = true;
        e.hdr_chunk = store(l3, unfrag);
        e.hdr_len = uint16_t(unfrag);
        e.nh_at = nh_at;
        e.next_header = next_header;
    }
    if (!more) {
        e.have_last = true;
        e.end = end;
    }
    touch(i);
    if (!(e.have_first && e.have_last && e.units == (e.end + 7) / 8)) return {status::held, 0};

    const uint32_t total = e.hdr_len + e.end;
    if ((k.version == 4 ? total : total - 40) > 65535 || total > out_cap) [[unlikely]] {
        poison(i, counter::too_big);
        return {status::dropped, 0};
    }
    add(counter::reassembled, e.nfrags);
    add(counter::datagrams);
    const uint32_t n = build(i, out);
    release(i);
    return {status::complete, n};
}

void reassembler::expire(uint64_t now) noexcept {
    // A clock that went back (capture order) expires nothing.
    while (_age.head != k_none && now > _entries[_age.head].first && now - _entries[_age.head].first > _timeout) {
        const uint32_t i = _age.head;
        add(counter::expired, _entries[i].nfrags);
        release(i);
    }
}

void reassembler::expire_all() noexcept {
    while (_age.head != k_none) {
        const uint32_t i = _age.head;
        add(counter::expired_at_stop, _entries[i].nfrags);
        release(i);
    }
}

}  // namespace sluice::reassembly
