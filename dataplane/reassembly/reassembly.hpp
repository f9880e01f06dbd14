// SPDX-License-Identifier: Apache-2.0
// IPv4/IPv6 fragment reassembly over plain bytes (no DPDK types), shared by
// the sluiced workers and sluice-decode, so both tools reassemble alike.
//
// Each fragment's bytes are copied in (the caller frees its buffer or mbuf at
// once); a completed datagram is written, as one IP packet, into a buffer the
// caller passes. All storage is preallocated by the constructor: a slab of
// 256-byte chunks (--frag-max-bytes) holding what has arrived, fragment
// descriptors, max_flows entries with an 8-byte-unit bitmap each, and the
// hash tables. feed(), expire() and expire_all() never allocate, lock or
// make a system call.
//
// Ownership and lifetime:
//
//   owner (a worker lcore, or sluice-decode) ──owns──► reassembler
//        │                                              ├─ entries[max_flows]   (key, lists, bitmap)
//        │                                              ├─ sources[max_flows]   (per-address count + MRU list)
//        │                                              ├─ chunk slab           (fragment bytes, first header)
//        │                                              └─ fragment descriptors
//        └──owns──► counter block: the reassembler adds to counter_count
//                   consecutive uint64_t the owner passed (relaxed stores)
//
//   feed(fragment) ─► held      (kept; or an exact duplicate, ignored)
//                  ├► complete  (the whole IP packet written to `out`, result.len bytes;
//                  │             also IPv6 atomic fragments, with the fragment header removed)
//                  └► dropped   (malformed, overlapping, too big, evicted: counted by cause)
//   expire(now)    ─► incomplete datagrams older than the timeout (from their first fragment)
//   expire_all()   ─► every incomplete datagram (shutdown, end of input)
//
// Only the owner calls these; nothing is shared between threads except the
// counters, which anyone may read.
//
// Policy (RFC 791, 8200, 5722, 6946):
//   * any number of fragments, up to a 65,535-byte IP datagram (IPv4 total
//     length; IPv6 payload length); one that would be larger: frag_too_big.
//   * overlapping fragments (IPv4 too): the datagram is dropped, and its
//     fragments that arrive later are dropped with it until it times out.
//   * an exact duplicate (same offset, length and fragment bytes; the IP
//     header may differ, e.g. TTL) is ignored and counted as a deviation; a
//     duplicate with different bytes is an overlap.
//   * the IPv6 fragment header may follow any hop-by-hop, routing or
//     destination-options headers (the parser's l3_len gives its offset);
//     the unfragmentable part and next header come from the first fragment.
//   * per source address at most max_per_source sets, at most max_flows in
//     all, at most max_bytes stored: when a bound is hit, the least recently
//     touched set (of that source, or overall) is evicted and counted, so a
//     flood of incomplete sets cannot lock out a sender that completes its
//     datagrams. The timeout runs from a set's first fragment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "config.hpp"
#include "counters.hpp"
#include "dataplane/parse/packet_parse.hpp"

namespace sluice::reassembly {

// The largest packet feed() writes: an IPv6 header plus a 65,535-byte payload.
constexpr uint32_t k_max_packet = 40 + 65535;
// Storage granule: small enough that a 1,480-byte fragment wastes under 4%,
// large enough that the chunk links stay a small part of the slab.
constexpr uint32_t k_chunk = 256;

enum class status : uint8_t {
    held,      // kept (or an exact duplicate): nothing to do
    complete,  // `out` holds a whole IP packet of `len` bytes: parse it with parse::parse_ip()
    dropped,   // counted by cause; nothing to do
};

struct result {
    status st = status::held;
    uint32_t len = 0;
};

class reassembler {
public:
    // `counters` points at counter_count consecutive uint64_t, owned by the
    // caller and outliving the reassembler. Times are in ticks of
    // `ticks_per_second` (TSC cycles in sluiced, capture nanoseconds in
    // sluice-decode). Throws std::invalid_argument on a config outside the
    // documented bounds, std::bad_alloc when the slab cannot be allocated.
    reassembler(const config& cfg, uint64_t ticks_per_second, uint64_t* counters);
    ~reassembler();
    reassembler(const reassembler&) = delete;
    reassembler& operator=(const reassembler&) = delete;

    // One fragment: `l3` is its IP header, `len` bytes up to the end of the
    // frame (trimmed here to f.ip_total_len), `f` what parse_ethernet() or
    // parse_ip() returned for it (class ipv4_fragment or ipv6_fragment).
    // `out` must hold k_max_packet bytes; it is written only on complete.
    result feed(const uint8_t* l3, uint32_t len, const parse::parsed_frame& f, uint64_t now, uint8_t* out,
                uint32_t out_cap) noexcept;

    // Drops incomplete datagrams whose first fragment is older than the timeout (frag_expired).
    void expire(uint64_t now) noexcept;
    // Drops every incomplete datagram (frag_expired_at_stop).
    void expire_all() noexcept;

    uint32_t held_fragments() const noexcept { return _held_frags; }
    uint64_t held_bytes() const noexcept { return uint64_t(_chunk_count - _free_chunks) * k_chunk; }
    uint32_t in_progress() const noexcept { return _in_use; }
    uint64_t timeout_ticks() const noexcept { return _timeout; }
    // What the constructor allocates for `cfg`: the documented peak memory.
    static std::size_t memory_bytes(const config& cfg) noexcept;

private:
    static constexpr uint32_t k_none = UINT32_MAX;
    static constexpr uint32_t k_units = 65536 / 8;  // 8-byte fragment-offset units in the largest datagram
    static constexpr uint32_t k_bitmap_words = k_units / 64;

    struct links {
        uint32_t prev = k_none, next = k_none;
    };
    struct list {
        uint32_t head = k_none, tail = k_none;  // head: newest / most recently touched
    };
    struct key {
        uint8_t src[16], dst[16];
        uint32_t id;
        uint8_t version, proto;
        uint8_t pad[2];  // zeroed: the key is hashed as bytes
        bool operator==(const key&) const noexcept = default;
    };
    static_assert(sizeof(key) == 40, "key has no implicit padding");
    struct frag {
        uint32_t next;    // next descriptor of the same datagram, or the free list
        uint32_t chunk;   // first chunk of its bytes
        uint32_t offset;  // in the fragmentable part
        uint32_t len;
    };
    struct entry;
    struct source;

    void add(counter c, uint64_t n = 1) noexcept;
    uint64_t hash(const uint8_t* p, std::size_t n) const noexcept;
    uint32_t find(const key& k, uint64_t h) const noexcept;
    uint32_t find_source(const uint8_t* addr, uint64_t h) const noexcept;
    uint32_t create(const key& k, uint64_t h, uint64_t now) noexcept;
    void release(uint32_t e) noexcept;                 // frees an entry's bytes and slot
    void evict(uint32_t e, counter why) noexcept;      // counts its fragments, then release
    void poison(uint32_t e, counter why) noexcept;     // counts and frees its fragments, keeps a tombstone
    void free_fragments(entry& e) noexcept;
    void touch(uint32_t e) noexcept;
    bool reserve(uint32_t chunks, uint32_t keep) noexcept;
    uint32_t store(const uint8_t* p, uint32_t n) noexcept;
    void copy_out(uint32_t chunk, uint32_t n, uint8_t* dst) const noexcept;
    bool equal(uint32_t chunk, const uint8_t* p, uint32_t n) const noexcept;
    void free_chain(uint32_t chunk, uint32_t n) noexcept;
    uint32_t build(uint32_t e, uint8_t* out) noexcept;

    uint64_t* _counters;
    config _cfg;
    uint64_t _timeout = 0;
    uint64_t _seed = 0;
    uint32_t _bucket_mask = 0;
    uint32_t _in_use = 0;
    uint32_t _held_frags = 0;

    std::unique_ptr<entry[]> _entries;
    std::unique_ptr<uint64_t[]> _bitmaps;  // k_bitmap_words per entry
    std::unique_ptr<uint32_t[]> _buckets;  // entry chains
    uint32_t _free_entry = k_none;
    list _age, _lru;

    std::unique_ptr<source[]> _sources;
    std::unique_ptr<uint32_t[]> _src_buckets;
    uint32_t _free_source = k_none;

    uint32_t _chunk_count = 0;
    uint32_t _free_chunks = 0;
    uint32_t _free_chunk = k_none;
    std::unique_ptr<uint8_t[]> _chunks;
    std::unique_ptr<uint32_t[]> _chunk_next;
    std::unique_ptr<frag[]> _frags;
    uint32_t _free_frag = k_none;
};

}  // namespace sluice::reassembly
