// SPDX-License-Identifier: Apache-2.0
// Attribute sets and their interner: the strings an enriched record points to by a 32-bit id.
//
// A set is a few (key, value) strings: an inventory row's name, role, site...; a City entry's country and city;
// an interface's name and description. Millions of prefixes share a few thousand distinct sets, so every table
// stores ids and the interner stores each distinct set once.
//
// Ids are stable for the life of the process: the interner is append-only and outlives every table version,
// so a record stamped under version V and still in a ring when V is replaced resolves to the same strings
// (the race RCU alone would not close for a sink that reads records later). A set, once published, is never
// changed or freed while the process runs.
//
//   builder thread (only writer) ──intern(set)──► chunk[id / k_chunk][id % k_chunk] = set*, then
//                                                 count.store(id + 1, release)
//                                ──intern_batched(blobs)──► ids and blobs stored, count unchanged; then
//                                  publish(threads): the batch's sets made on `threads` threads, joined,
//                                  count.store(last id + 1, release)
//   merge sweeps (builder's threads, under exclude_writers()) ──find_flat(blob)──► a published id or 0
//   any reader (sinks, workers)   ──get(id)──────► id < count.load(acquire) ? chunk[..][..] : nullptr
//
// Chunks are allocated once and never move (a fixed array of chunk pointers), so a reader never sees a
// reallocation. Growth is bounded by k_max_sets: a build that would exceed it fails (counted
// `build_failed_interner_full`) and the previous table stays. Compaction (dropping sets no live table
// references) needs every in-flight record to be gone, so it is done by a restart; see enrich/README.md.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>  // (users of this header rely on it)
#include <utility>
#include <vector>

namespace sluice::enrich {

// Key ids: the built-in keys first, then the custom keys declared in the config (key_registry::add).
enum class key : uint16_t {
    name,          // hostname / network name (SrcNetName); exporter name; interface name
    kind,          // server, router, load balancer, VIP, ...
    service,       // service or project
    team,          // owner team
    role,
    site,
    region,
    tenant,
    group,         // exporter group
    country,       // ISO 3166 code
    state,         // subdivision
    city,
    asn,           // decimal AS number
    as_name,       // AS organisation
    description,   // interface description (ifAlias)
    speed,         // interface speed, Mbit/s, decimal
    boundary,      // internal | external
    connectivity,  // transit, peering, pni, ix, ...
    provider,
    builtin_count_,
};
constexpr uint16_t k_builtin_keys = static_cast<uint16_t>(key::builtin_count_);

// The config-file / inventory column spelling of each built-in key.
std::string_view builtin_key_name(key k) noexcept;

// Built-in and custom key names <-> ids. Custom keys are declared before the first build and never removed.
class key_registry {
public:
    key_registry();
    // The id of `name` (built-in or already declared custom); -1 when unknown.
    int find(std::string_view name) const noexcept;
    // Declares a custom key; returns its id (the existing id if declared). Throws when there are too many.
    uint16_t add(std::string_view name);
    std::string_view name(uint16_t id) const noexcept { return id < _names.size() ? _names[id] : std::string_view{}; }
    std::size_t size() const noexcept { return _names.size(); }
    static constexpr std::size_t k_max_keys = 64;  // a set is small; 64 keys is far past any inventory seen

private:
    std::vector<std::string> _names;
};

// One attribute set: (key id, value) sorted by key id, each key at most once.
struct attr_set {
    std::vector<std::pair<uint16_t, std::string>> kv;
    const std::string* get(uint16_t k) const noexcept {
        for (const auto& p : kv)
            if (p.first == k) return &p.second;
        return nullptr;
    }
    const std::string* get(key k) const noexcept { return get(static_cast<uint16_t>(k)); }
    bool empty() const noexcept { return kv.empty(); }
};

// Builds a canonical set: sorts by key, later puts of a key replace earlier ones, empty values are dropped.
// A value is at most k_max_value bytes (longer ones are cut there: the flat blob's length is 16 bits).
class set_builder {
public:
    static constexpr std::size_t k_max_value = 0xffff;
    void put(uint16_t k, std::string_view v);
    void put(key k, std::string_view v) { put(static_cast<uint16_t>(k), v); }
    // Fields of `s` this builder does not have yet (lower precedence merge).
    void fill_from(const attr_set& s);
    attr_set take();
    void clear() noexcept { _kv.clear(); }

private:
    std::vector<std::pair<uint16_t, std::string>> _kv;
};

// ---- the builder's flat sets (no per-set strings) ----
//
// The canonical bytes of a set are its flat blob (interner::flat): u32 total length, then per pair sorted by
// key: u8 key, u16 value length (little endian), the value. Two sets are equal iff their blobs are; the
// builder's sources, memo tables and the interner's index all work on these bytes.

// 64-bit hash of canonical bytes (the interner's index and the sources' local tables).
uint64_t flat_hash(const uint8_t* p, std::size_t n) noexcept;
inline uint32_t flat_size(const uint8_t* blob) noexcept {
    uint32_t n;
    std::memcpy(&n, blob, 4);
    return n;
}
// The pairs of a blob as a set (strings: for the interner's attr_set and the deriver's argument).
attr_set flat_to_set(const uint8_t* blob);
// The canonical bytes of `s` (sorted, unique keys, non-empty values, as set_builder makes them) into `out`.
void set_to_flat(const attr_set& s, std::vector<uint8_t>& out);

// A set under construction from borrowed strings (the values stay owned by the caller until encode()):
// put() like set_builder's (later replaces earlier, empty removes), encode() the canonical bytes, reused
// across rows with no allocation once warm.
class flat_builder {
public:
    void clear() noexcept { _kv.clear(); }
    void put(uint16_t k, std::string_view v);
    bool empty() const noexcept { return _kv.empty(); }
    // The canonical bytes (valid until the next call on this builder).
    std::span<const uint8_t> encode();

private:
    std::vector<std::pair<uint16_t, std::string_view>> _kv;
    std::vector<uint8_t> _buf;
};

// A table of distinct flat sets with dense ids 1..size() in order of first add (0 = the empty set), private
// to one thread: a source's sets before they are interned, a merge's memo. Open addressing over
// (hash tag, id); the bytes compared on a tag match.
class set_table {
public:
    set_table();
    // Id of the blob (canonical bytes, flat_size(blob) long), added when new.
    uint32_t add(std::span<const uint8_t> blob);
    uint32_t size() const noexcept { return static_cast<uint32_t>(_off.size() - 1); }
    const uint8_t* blob(uint32_t id) const noexcept { return _bytes.data() + _off[id]; }
    std::size_t bytes() const noexcept { return _bytes.capacity() + _off.capacity() * 8 + _slots.capacity() * 8; }

private:
    void grow();
    std::vector<uint8_t> _bytes;
    std::vector<uint64_t> _off;     // per id: offset in _bytes (id 0: unused)
    std::vector<uint64_t> _slots;   // (hash >> 32) << 32 | id; 0 = empty
    uint64_t _mask = 0;
};

class interner {
public:
    static constexpr uint32_t k_chunk_bits = 12;   // 4,096 sets per chunk: a chunk is 32 KiB of pointers
    static constexpr uint32_t k_chunks = 1024;     // so k_max_sets = 4 M sets: 1000x a large inventory's count
    static constexpr uint32_t k_max_sets = k_chunks << k_chunk_bits;

    interner();
    ~interner();
    interner(const interner&) = delete;
    interner& operator=(const interner&) = delete;

    // Id of `s` (0 for the empty set), interning it if new. One writer at a time (the builder); returns 0 and
    // sets `full` when k_max_sets would be exceeded. `s` is canonicalised first (sorted by key, the last of
    // a repeated key kept, empty values dropped, values cut at set_builder::k_max_value).
    uint32_t intern(attr_set&& s, bool& full);
    // The same from the canonical bytes (flat_builder::encode, set_table::blob, set_to_flat): nothing is
    // allocated when the set is known (a hash probe and one compare with the stored blob).
    uint32_t intern_flat(std::span<const uint8_t> blob, bool& full);
    // Batched interning (the builder's merge, ~1.5 M new sets on a process's first build): the id intern_flat
    // would give, the bytes stored, but a new set stays unpublished (get/flat/size do not see it) until
    // publish(), which makes the batch's attr_sets (the strings: most of a new set's cost) on `threads`
    // threads and then publishes the batch at once. intern() and intern_flat() publish a pending batch first
    // (on the calling thread), so ids never depend on how the calls were batched.
    uint32_t intern_flat_batched(std::span<const uint8_t> blob, bool& full);
    // intern_flat_batched of every blob of `t` in id order: ids[i] for t's id i (ids[0] = 0). The hashes are
    // computed and the index slots prefetched a few blobs ahead (the index is a cache miss per probe).
    void intern_batched(const set_table& t, std::vector<uint32_t>& ids, bool& full);
    void publish(unsigned threads = 1);
    // Room in the index for `n` more sets (no rehash while they are interned).
    void reserve(std::size_t n);
    // The id of canonical bytes already interned and published (0: none), from their flat_hash. A read of
    // the writer's index: only while the caller holds exclude_writers() (any number of threads may look up
    // under it: the builder's merge sweeps do, so a reload's known sets are not stored again).
    uint32_t find_flat(std::span<const uint8_t> blob, uint64_t hash) const noexcept;
    [[nodiscard]] std::unique_lock<std::mutex> exclude_writers() { return std::unique_lock<std::mutex>(_writer); }
    // The set of `id`, nullptr for 0 or an id not published yet. Any thread, lock free.
    const attr_set* get(uint32_t id) const noexcept {
        if (id == 0 || id >= _count.load(std::memory_order_acquire)) return nullptr;
        return _chunks[id >> k_chunk_bits][id & ((1u << k_chunk_bits) - 1)];
    }
    // The set of `id` as one contiguous blob, for the encoders (one cache miss per set, not one per string):
    // u32 total length, then per pair: u8 key, u16 value length (little endian), the value's bytes.
    // nullptr like get().
    const uint8_t* flat(uint32_t id) const noexcept {
        if (id == 0 || id >= _count.load(std::memory_order_acquire)) return nullptr;
        return _flat_chunks[id >> k_chunk_bits][id & ((1u << k_chunk_bits) - 1)];
    }
    // Prefetches the pointer slot of `id` (the first of the two misses flat() takes).
    void prefetch(uint32_t id) const noexcept {
        if (id == 0 || id >= _count.load(std::memory_order_acquire)) return;
        __builtin_prefetch(&_flat_chunks[id >> k_chunk_bits][id & ((1u << k_chunk_bits) - 1)]);
    }
    uint32_t size() const noexcept { return _count.load(std::memory_order_acquire); }  // ids in use + 1
    std::size_t bytes() const noexcept { return _bytes; }  // approximate heap bytes of the sets

private:
    uint32_t intern_locked(std::span<const uint8_t> blob, uint64_t h, attr_set* s, bool& full, bool now);
    void publish_locked(unsigned threads);
    void grow_index(std::size_t slots);
    uint8_t* arena(std::size_t n);

    std::array<const attr_set**, k_chunks> _chunks{};
    std::array<const uint8_t**, k_chunks> _flat_chunks{};
    std::atomic<uint32_t> _count{1};  // id 0 = the empty set, never stored; ids below it are published
    uint32_t _next = 1;               // writer only: the next id; [_count, _next) is the unpublished batch
    // Writer only (and find_flat under exclude_writers): open addressing over (hash >> 32) << 32 | id (0 =
    // empty slot), home slot from the same 32 bits (a rehash reads no blob), load <= 0.5; the blob of the id
    // compared on a tag match. 8 bytes a slot, no string per set.
    std::vector<uint64_t> _index;
    uint64_t _mask = 0;
    struct free_block {
        void operator()(uint8_t* p) const noexcept { std::free(p); }
    };
    // The blobs, packed in blocks (never moved or freed): 1 MiB at first, then a quarter of what the arena
    // holds, up to 32 MiB, 2 MiB-aligned with the transparent-huge-page hint (a first build writes ~170 MB
    // of new blobs: 4 KiB page faults were a large part of interning them).
    std::vector<std::unique_ptr<uint8_t, free_block>> _arena;
    std::size_t _arena_bytes = 0;
    std::size_t _arena_left = 0;
    uint8_t* _arena_at = nullptr;
    std::vector<std::unique_ptr<attr_set[]>> _sets;  // block b holds ids b * k_chunk .. (the first: from id 1)
    std::vector<uint8_t> _enc;  // intern()'s scratch (under _writer)
    std::size_t _bytes = 0;
    std::mutex _writer;  // intern() from one builder at a time (a build and a test may overlap)
};

}  // namespace sluice::enrich
