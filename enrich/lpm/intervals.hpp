// SPDX-License-Identifier: Apache-2.0
// Prefixes and disjoint intervals: parsing, range splitting, per-source flattening and the n-way merge of the
// sources (the builder's side of the longest-prefix match; the lookup tables are lpm.hpp). Pure code, no DPDK.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::enrich {

__extension__ typedef unsigned __int128 u128;  // GCC and Clang; -Wpedantic needs __extension__

inline u128 to_u128(const uint8_t a[16]) noexcept {
    u128 v = 0;
    for (int i = 0; i < 16; ++i) v = (v << 8) | a[i];
    return v;
}
inline void from_u128(u128 v, uint8_t out[16]) noexcept {
    for (int i = 15; i >= 0; --i) {
        out[i] = static_cast<uint8_t>(v);
        v >>= 8;
    }
}
constexpr u128 k_v4_mapped = u128(0xffff) << 32;  // ::ffff:0.0.0.0
inline u128 v4_key(uint32_t a) noexcept { return k_v4_mapped | a; }
inline bool is_v4_key(u128 k) noexcept { return (k >> 32) == 0xffff; }

// prefix and interval are packed to 8-byte alignment (24 bytes, not 32): a build holds ~7.5 M prefixes and as
// many intervals, and x86 loads a u128 at any alignment. Read their members by value (no u128& to them).
struct __attribute__((packed, aligned(8))) prefix {
    u128 addr;     // network address (host bits cleared by flatten)
    uint8_t len;   // 0..128 (IPv4: 96 + the IPv4 length)
    uint32_t value;
};
static_assert(sizeof(prefix) == 24);

// An interval [lo, next interval's lo - 1]; the list covers the whole space from lo = 0.
// match = the length (of the 128-bit key) of the prefix the value came from, plus 1: after flatten, the
// innermost covering prefix of that source; after merge, the longest of the sources that have the address
// (the "matched prefix", SrcNetPrefix). 0 when value is 0. Adjacent intervals coalesce only when both the
// value and the match are equal, so a table that reports the matched prefix keeps a boundary wherever the
// covering prefix changes.
struct __attribute__((packed, aligned(8))) interval {
    u128 lo;
    uint32_t value;
    uint8_t match = 0;
};
static_assert(sizeof(interval) == 24);

// Parses "a.b.c.d", "a.b.c.d/n", an IPv6 address or "x::/n" into a prefix (value 0). false when invalid.
bool parse_prefix(std::string_view text, prefix& out);
// Parses one address (no length) into its 128-bit key.
bool parse_address(std::string_view text, u128& out);
// Text of a prefix ("10.0.0.0/8", "2001:db8::/32").
std::string prefix_text(u128 addr, uint8_t len);

// Appends the prefixes that exactly cover [first, last] (inclusive), at most 2 x 128.
void split_range(u128 first, u128 last, uint32_t value, std::vector<prefix>& out);

// Longest-prefix match of one source as disjoint intervals. Among equal prefixes the later one in the
// list wins (a file's later line overrides an earlier one).
std::vector<interval> flatten(std::vector<prefix> ps);

// Merges several full-coverage lists: the result's value at each address is combine(values of the lists
// at that address). combine is called once per distinct tuple (cached by the caller if it wants), never for
// the all-zero tuple (0). one_is_itself: the caller's combine returns the one non-zero value of a tuple
// that has only one, so merge takes it without calling combine or caching the tuple (the builder's case).
std::vector<interval> merge(const std::vector<std::vector<interval>>& lists,
                            const std::function<uint32_t(std::span<const uint32_t>)>& combine,
                            bool one_is_itself = false);

// The sweep of merge() over [from, to] only (inclusive): the result covers [from, to] and its first interval
// starts at `from` (then the parts of consecutive ranges, concatenated, are merge()'s result but for adjacent
// equal intervals at the cuts, which the caller coalesces). Each range has its own tuple cache, so combine is
// called once per distinct tuple of the range; ranges can be swept on different threads (the builder's merge).
// The result's capacity is at least `capacity` (untouched reserved pages cost nothing: the builder appends the
// later ranges' results to the first's without a reallocation).
std::vector<interval> merge_range(const std::vector<std::vector<interval>>& lists, u128 from, u128 to,
                                  const std::function<uint32_t(std::span<const uint32_t>)>& combine,
                                  bool one_is_itself = false, std::size_t capacity = 0);

// Up to n - 1 ascending cut addresses, every one > 0 and a list boundary, that split the merge of `lists` into
// ranges [0, cut0 - 1], [cut0, cut1 - 1], ..., [cut_last, max] of about equal numbers of list boundaries (the
// sweep's steps): cut j is the address of boundary number total * (j + 1) / n in address order. Fewer when the
// lists have too few distinct boundaries.
std::vector<u128> merge_cuts(const std::vector<std::vector<interval>>& lists, unsigned n);

// Asks for transparent huge pages over [p, p + bytes) (the builder's large, short-lived arrays: a build
// touches ~1 GB of fresh memory, and 4 KiB page faults were a fifth of its time). Only a hint.
void hint_huge_pages(const void* p, std::size_t bytes) noexcept;
// v.reserve(n), with the huge-page hint when the reservation is new memory. Reserved but untouched pages
// cost no memory, so upper bounds are fine.
template <typename T>
void reserve_huge(std::vector<T>& v, std::size_t n) {
    if (n <= v.capacity()) return;
    v.reserve(n);
    hint_huge_pages(v.data(), v.capacity() * sizeof(T));
}

// Value at `k` in a full-coverage list (binary search: the reference for tests).
uint32_t interval_lookup(const std::vector<interval>& list, u128 k) noexcept;

}  // namespace sluice::enrich
