// SPDX-License-Identifier: Apache-2.0
// Attribute sets, the key registry and the append-only interner; see attrs.hpp.
#include "attrs.hpp"

#include "enrich/lpm/intervals.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace sluice::enrich {

namespace {
constexpr std::array<std::string_view, k_builtin_keys> k_names{
    "name",    "kind",  "service", "team", "role",        "site",  "region",   "tenant",       "group",   "country",
    "state",   "city",  "asn",     "as_name", "description", "speed", "boundary", "connectivity", "provider",
};
}  // namespace

std::string_view builtin_key_name(key k) noexcept { return k_names[static_cast<std::size_t>(k)]; }

key_registry::key_registry() {
    for (auto n : k_names) _names.emplace_back(n);
}

int key_registry::find(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < _names.size(); ++i)
        if (_names[i] == name) return static_cast<int>(i);
    return -1;
}

uint16_t key_registry::add(std::string_view name) {
    if (int i = find(name); i >= 0) return static_cast<uint16_t>(i);
    if (_names.size() >= k_max_keys) throw std::runtime_error("too many custom enrichment keys (max 64 in all)");
    if (name.empty()) throw std::runtime_error("empty enrichment key name");
    _names.emplace_back(name);
    return static_cast<uint16_t>(_names.size() - 1);
}

void set_builder::put(uint16_t k, std::string_view v) {
    if (v.size() > k_max_value) v = v.substr(0, k_max_value);
    for (auto& p : _kv)
        if (p.first == k) {
            if (v.empty()) {
                p = _kv.back();
                _kv.pop_back();
            } else {
                p.second.assign(v);
            }
            return;
        }
    if (!v.empty()) _kv.emplace_back(k, std::string(v));
}

void set_builder::fill_from(const attr_set& s) {
    for (const auto& p : s.kv) {
        bool have = false;
        for (const auto& q : _kv) have |= q.first == p.first;
        if (!have) _kv.push_back(p);
    }
}

attr_set set_builder::take() {
    std::sort(_kv.begin(), _kv.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    attr_set s;
    s.kv = std::move(_kv);
    _kv.clear();
    return s;
}

// ---- flat sets ----

uint64_t flat_hash(const uint8_t* p, std::size_t n) noexcept {
    // 8 bytes a step, multiply-xorshift mixing (the blobs are short: 20-200 bytes).
    constexpr uint64_t m = 0x9E3779B97F4A7C15ull;
    uint64_t h = 0xC2B2AE3D27D4EB4Full ^ (n * m);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        std::memcpy(&w, p + i, 8);
        h = (h ^ w) * m;
        h ^= h >> 32;
    }
    if (i < n) {
        uint64_t w = 0;
        std::memcpy(&w, p + i, n - i);
        h = (h ^ w) * m;
        h ^= h >> 32;
    }
    h *= 0xFF51AFD7ED558CCDull;
    return h ^ (h >> 29);
}

attr_set flat_to_set(const uint8_t* blob) {
    attr_set s;
    const uint8_t* q = blob + 4;
    const uint8_t* const end = blob + flat_size(blob);
    std::size_t n = 0;
    for (const uint8_t* c = q; c < end; c += 3 + (std::size_t(c[1]) | (std::size_t(c[2]) << 8))) ++n;
    s.kv.reserve(n);  // one allocation for the pairs
    while (q < end) {
        const std::size_t l = std::size_t(q[1]) | (std::size_t(q[2]) << 8);
        s.kv.emplace_back(q[0], std::string(reinterpret_cast<const char*>(q + 3), l));
        q += 3 + l;
    }
    return s;
}

namespace {

// Writes the sorted, unique, non-empty pairs [b, e) as a blob into out.
template <typename It>
void write_flat(It b, It e, std::vector<uint8_t>& out) {
    std::size_t n = 4;
    for (It i = b; i != e; ++i) n += 3 + std::min(i->second.size(), set_builder::k_max_value);
    out.resize(n);
    uint8_t* q = out.data();
    const uint32_t total = static_cast<uint32_t>(n);
    std::memcpy(q, &total, 4);
    q += 4;
    for (It i = b; i != e; ++i) {
        const std::size_t l = std::min(i->second.size(), set_builder::k_max_value);
        *q++ = static_cast<uint8_t>(i->first);
        *q++ = static_cast<uint8_t>(l);
        *q++ = static_cast<uint8_t>(l >> 8);
        std::memcpy(q, i->second.data(), l);
        q += l;
    }
}

}  // namespace

void set_to_flat(const attr_set& s, std::vector<uint8_t>& out) { write_flat(s.kv.begin(), s.kv.end(), out); }

void flat_builder::put(uint16_t k, std::string_view v) {
    if (v.size() > set_builder::k_max_value) v = v.substr(0, set_builder::k_max_value);
    for (auto& p : _kv)
        if (p.first == k) {
            if (v.empty()) {
                p = _kv.back();
                _kv.pop_back();
            } else {
                p.second = v;
            }
            return;
        }
    if (!v.empty()) _kv.emplace_back(k, v);
}

std::span<const uint8_t> flat_builder::encode() {
    // Insertion sort: a row has a handful of keys, each at most once here.
    for (std::size_t i = 1; i < _kv.size(); ++i)
        for (std::size_t j = i; j > 0 && _kv[j - 1].first > _kv[j].first; --j) std::swap(_kv[j - 1], _kv[j]);
    write_flat(_kv.begin(), _kv.end(), _buf);
    return {_buf.data(), _buf.size()};
}

set_table::set_table() : _off(1, 0), _slots(1024, 0), _mask(1023) {}

void set_table::grow() {
    std::vector<uint64_t> old = std::move(_slots);
    _slots.assign(old.size() * 2, 0);
    _mask = _slots.size() - 1;
    for (uint64_t e : old) {
        if (e == 0) continue;
        uint64_t i = (e >> 32) & _mask;  // the home slot is the tag's: no blob is read to rehash
        while (_slots[i] != 0) i = (i + 1) & _mask;
        _slots[i] = e;
    }
}

uint32_t set_table::add(std::span<const uint8_t> b) {
    const uint64_t h = flat_hash(b.data(), b.size());
    const uint64_t tag = h & 0xffffffff00000000ull;
    for (uint64_t i = (h >> 32) & _mask;; i = (i + 1) & _mask) {
        const uint64_t e = _slots[i];
        if (e == 0) {
            const uint32_t id = static_cast<uint32_t>(_off.size());
            _off.push_back(_bytes.size());
            _bytes.insert(_bytes.end(), b.begin(), b.end());
            _slots[i] = tag | id;
            if (uint64_t(id) * 2 > _mask) grow();
            return id;
        }
        if ((e & 0xffffffff00000000ull) == tag) {
            const uint8_t* o = blob(static_cast<uint32_t>(e));
            if (flat_size(o) == b.size() && std::memcmp(o, b.data(), b.size()) == 0) return static_cast<uint32_t>(e);
        }
    }
}

// ---- the interner ----

interner::interner() : _index(1u << 12, 0), _mask((1u << 12) - 1) {}

interner::~interner() {
    for (auto* c : _chunks) delete[] c;
    for (auto* c : _flat_chunks) delete[] c;
}

uint8_t* interner::arena(std::size_t n) {
    constexpr std::size_t k_block = 1u << 20, k_huge = 2u << 20, k_max_block = 32u << 20;
    auto block = [this](std::size_t size, std::size_t align) {
        void* p = align > alignof(std::max_align_t) ? std::aligned_alloc(align, size) : std::malloc(size);
        if (p == nullptr) throw std::bad_alloc();
        _arena.emplace_back(static_cast<uint8_t*>(p));
        _arena_bytes += size;
        _bytes += size;
        return static_cast<uint8_t*>(p);
    };
    if (n > k_block / 4) return block(n, alignof(std::max_align_t));  // a large blob: its own block (<= 64 KiB + pairs)
    if (n > _arena_left) {
        std::size_t size = std::clamp(_arena_bytes / 4, k_block, k_max_block);
        if (size >= 2 * k_huge) size = (size + k_huge - 1) & ~(k_huge - 1);
        _arena_at = block(size, size >= 2 * k_huge ? k_huge : alignof(std::max_align_t));
        if (size >= 2 * k_huge) hint_huge_pages(_arena_at, size);
        _arena_left = size;
    }
    uint8_t* p = _arena_at;
    _arena_at += n;
    _arena_left -= n;
    return p;
}

void interner::grow_index(std::size_t slots) {
    std::vector<uint64_t> old = std::move(_index);
    _index.assign(slots, 0);
    _mask = _index.size() - 1;
    for (uint64_t e : old) {
        if (e == 0) continue;
        uint64_t i = (e >> 32) & _mask;  // the home slot is the tag's: no blob is read to rehash
        while (_index[i] != 0) i = (i + 1) & _mask;
        _index[i] = e;
    }
}

void interner::reserve(std::size_t n) {
    std::lock_guard<std::mutex> lock(_writer);
    const std::size_t want = 2 * (std::size_t(_next) + std::min<std::size_t>(n, k_max_sets)) + 2;  // load <= 0.5
    std::size_t slots = _index.size();
    while (slots < want) slots *= 2;
    if (slots != _index.size()) grow_index(slots);
}

uint32_t interner::find_flat(std::span<const uint8_t> blob, uint64_t h) const noexcept {
    const uint64_t tag = h & 0xffffffff00000000ull;
    const uint32_t published = _count.load(std::memory_order_acquire);
    for (uint64_t i = (h >> 32) & _mask;; i = (i + 1) & _mask) {
        const uint64_t e = _index[i];
        if (e == 0) return 0;
        if ((e & 0xffffffff00000000ull) == tag) {
            const uint32_t id = static_cast<uint32_t>(e);
            const uint8_t* o = _flat_chunks[id >> k_chunk_bits][id & ((1u << k_chunk_bits) - 1)];
            if (flat_size(o) == blob.size() && std::memcmp(o, blob.data(), blob.size()) == 0)
                return id < published ? id : 0;
        }
    }
}

uint32_t interner::intern_locked(std::span<const uint8_t> blob, uint64_t h, attr_set* s, bool& full, bool now) {
    const uint64_t tag = h & 0xffffffff00000000ull;
    uint64_t i = (h >> 32) & _mask;
    for (;; i = (i + 1) & _mask) {
        const uint64_t e = _index[i];
        if (e == 0) break;
        if ((e & 0xffffffff00000000ull) == tag) {
            const uint32_t id = static_cast<uint32_t>(e);
            const uint8_t* o = _flat_chunks[id >> k_chunk_bits][id & ((1u << k_chunk_bits) - 1)];
            if (flat_size(o) == blob.size() && std::memcmp(o, blob.data(), blob.size()) == 0) {
                if (now) publish_locked(1);  // the caller may read it: the batch it is in goes out first
                return id;
            }
        }
    }
    const uint32_t id = _next;
    if (id >= k_max_sets) {
        full = true;
        return 0;
    }
    auto*& chunk = _chunks[id >> k_chunk_bits];
    if (chunk == nullptr) chunk = new const attr_set*[1u << k_chunk_bits]();
    auto*& fchunk = _flat_chunks[id >> k_chunk_bits];
    if (fchunk == nullptr) fchunk = new const uint8_t*[1u << k_chunk_bits]();
    uint8_t* b = arena(blob.size());
    std::memcpy(b, blob.data(), blob.size());
    fchunk[id & ((1u << k_chunk_bits) - 1)] = b;
    // The sets live in blocks of k_chunk (one allocation per 4,096 sets), never moved: block id >> k_chunk_bits.
    if ((id & ((1u << k_chunk_bits) - 1)) == 0 || _sets.empty()) {
        _sets.emplace_back(new attr_set[1u << k_chunk_bits]);
        _bytes += sizeof(attr_set) << k_chunk_bits;
    }
    _index[i] = tag | id;
    _next = id + 1;
    if (uint64_t(id) * 2 > _mask) grow_index(_index.size() * 2);  // load <= 0.5
    if (s != nullptr) {  // intern(): the caller's strings, moved in (publish makes the others')
        attr_set* owned = &_sets[id >> k_chunk_bits][id & ((1u << k_chunk_bits) - 1)];
        *owned = std::move(*s);
        chunk[id & ((1u << k_chunk_bits) - 1)] = owned;
    }
    if (now) publish_locked(1);
    return id;
}

void interner::publish_locked(unsigned threads) {
    const uint32_t from = _count.load(std::memory_order_relaxed), to = _next;
    if (from == to) return;
    // Makes the attr_set of every id in [lo, hi) that has none yet (intern() moved its own in); returns the
    // heap bytes they hold. The ids' slots are disjoint between threads, and nothing reads them before the
    // release store below.
    auto make = [this](uint32_t lo, uint32_t hi) {
        std::size_t bytes = 0;
        for (uint32_t id = lo; id < hi; ++id) {
            const uint32_t c = id >> k_chunk_bits, j = id & ((1u << k_chunk_bits) - 1);
            attr_set* owned = &_sets[c][j];
            if (_chunks[c][j] == nullptr) {
                *owned = flat_to_set(_flat_chunks[c][j]);
                _chunks[c][j] = owned;
            }
            bytes += owned->kv.capacity() * sizeof(std::pair<uint16_t, std::string>);
            for (const auto& [k, v] : owned->kv)
                if (v.size() >= sizeof(std::string)) bytes += v.capacity() + 1;  // not in the small-string buffer
        }
        return bytes;
    };
    constexpr uint32_t k_min_per_thread = 16384;  // below this a thread costs more than it saves
    const uint32_t n = to - from;
    threads = std::clamp(threads, 1u, std::max(1u, n / k_min_per_thread));
    std::vector<std::size_t> bytes(threads, 0);
    std::vector<std::thread> ts;
    const auto lo_of = [&](unsigned t) { return from + uint32_t(uint64_t(n) * t / threads); };
    for (unsigned t = 1; t < threads; ++t) {
        try {
            ts.emplace_back([&, t] { bytes[t] = make(lo_of(t), lo_of(t + 1)); });
        } catch (const std::system_error&) {
            bytes[t] = make(lo_of(t), lo_of(t + 1));  // no thread to be had: this one does it
        }
    }
    bytes[0] = make(lo_of(0), lo_of(1));
    for (auto& t : ts) t.join();
    for (std::size_t b : bytes) _bytes += b;
    _count.store(to, std::memory_order_release);
}

void interner::publish(unsigned threads) {
    std::lock_guard<std::mutex> lock(_writer);
    publish_locked(threads);
}

uint32_t interner::intern_flat(std::span<const uint8_t> blob, bool& full) {
    if (blob.size() <= 4) return 0;
    const uint64_t h = flat_hash(blob.data(), blob.size());
    std::lock_guard<std::mutex> lock(_writer);
    return intern_locked(blob, h, nullptr, full, true);
}

uint32_t interner::intern_flat_batched(std::span<const uint8_t> blob, bool& full) {
    if (blob.size() <= 4) return 0;
    const uint64_t h = flat_hash(blob.data(), blob.size());
    std::lock_guard<std::mutex> lock(_writer);
    return intern_locked(blob, h, nullptr, full, false);
}

void interner::intern_batched(const set_table& t, std::vector<uint32_t>& ids, bool& full) {
    const uint32_t n = t.size();
    ids.assign(std::size_t(n) + 1, 0);
    constexpr uint32_t k_ahead = 8;  // index slots in flight: enough to cover a DRAM miss per blob
    uint64_t hs[k_ahead];
    std::lock_guard<std::mutex> lock(_writer);
    auto start = [&](uint32_t i) {  // the hash of blob i, and its home slot on the way
        const uint8_t* b = t.blob(i);
        const uint64_t h = flat_hash(b, flat_size(b));
        hs[i % k_ahead] = h;
        __builtin_prefetch(&_index[(h >> 32) & _mask]);
    };
    for (uint32_t i = 1; i <= n && i < 1 + k_ahead; ++i) start(i);
    for (uint32_t i = 1; i <= n && !full; ++i) {
        const uint64_t h = hs[i % k_ahead];
        if (i + k_ahead <= n) start(i + k_ahead);
        const uint8_t* b = t.blob(i);
        const std::size_t size = flat_size(b);
        ids[i] = size <= 4 ? 0 : intern_locked({b, size}, h, nullptr, full, false);
    }
}

uint32_t interner::intern(attr_set&& s, bool& full) {
    // Canonical form: sorted by key, the last of a repeated key, no empty values, values cut at the maximum.
    auto& kv = s.kv;
    std::stable_sort(kv.begin(), kv.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::size_t w = 0;
    for (std::size_t r = 0; r < kv.size(); ++r) {
        if (kv[r].second.empty()) continue;
        if (kv[r].second.size() > set_builder::k_max_value) kv[r].second.resize(set_builder::k_max_value);
        if (w > 0 && kv[w - 1].first == kv[r].first) kv[w - 1] = std::move(kv[r]);
        else if (w != r) kv[w++] = std::move(kv[r]);
        else ++w;
    }
    kv.resize(w);
    if (kv.empty()) return 0;
    std::lock_guard<std::mutex> lock(_writer);
    set_to_flat(s, _enc);
    const uint64_t h = flat_hash(_enc.data(), _enc.size());
    return intern_locked({_enc.data(), _enc.size()}, h, &s, full, true);
}

}  // namespace sluice::enrich
