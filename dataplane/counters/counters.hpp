// SPDX-License-Identifier: Apache-2.0
// The counter vocabulary every component shares: a kind per counter, one
// `{name, help, kind}` row per counter, and a per-lcore block of relaxed
// atomics written only by its owner.
//
// Each component declares one table: an enum plus a constexpr array of
// `info` rows in enum order (checked with a static_assert), so no output
// decides by position what a drop is: it asks the row's kind. The control
// core's registry (control/registry/) walks every table and sums the blocks
// of all lcores on read; the summary line, the JSON stats and (control-plane
// issue) Prometheus and DPDK telemetry all walk that one registry.
//
// Ownership:
//
//   owner lcore ──add() (relaxed load + relaxed store: a plain add on x86)──► block
//   any core    ──get() / snapshot() (relaxed load)──────────────────────────► block
//
// Only the owner writes, so the load-add-store needs no read-modify-write
// atomic and is exact. Readers see each value atomically (never torn); two
// values read one after the other may be from slightly different instants.
//
// Header only and dependency free: the decoders (which depend on nothing)
// use it too.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::counters {

// What a non-zero value means to an operator.
enum class kind : uint8_t {
    volume,     // work done: packets, records, bytes, templates learned
    deviation,  // accepted, but the sender broke a rule or a quirk was tolerated
    error,      // bytes rejected by validation (the datagram or part of it dropped)
    drop,       // data that was accepted and then lost (ring full, write failed, table full)
};

inline constexpr std::array<std::string_view, 4> kind_names{"volume", "deviation", "error", "drop"};

constexpr std::string_view kind_name(kind k) noexcept { return kind_names[static_cast<std::size_t>(k)]; }

// true for the kinds that mean something was not delivered.
constexpr bool is_loss(kind k) noexcept { return k == kind::error || k == kind::drop; }

struct info {
    std::string_view name;  // snake_case, exported as sluice_<stage>_<component>_<name>_total
    std::string_view help;  // what a non-zero value means
    kind k;
};

// Owner-only add, any-core read.
inline void relaxed_add(uint64_t& v, uint64_t n) noexcept {
    std::atomic_ref<uint64_t> r(v);
    r.store(r.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
inline uint64_t relaxed_get(const uint64_t& v) noexcept {
    return std::atomic_ref<uint64_t>(const_cast<uint64_t&>(v)).load(std::memory_order_relaxed);
}

// One lcore's (or one exporter's) counters of one table. E is the table's
// enum; N its row count. Copyable: a copy is a snapshot once taken with
// snapshot(); operator+= sums snapshots on the reading core.
template <typename E, std::size_t N>
struct block {
    std::array<uint64_t, N> v{};

    static constexpr std::size_t size() noexcept { return N; }
    void add(E c, uint64_t n = 1) noexcept { relaxed_add(v[static_cast<std::size_t>(c)], n); }
    uint64_t get(E c) const noexcept { return relaxed_get(v[static_cast<std::size_t>(c)]); }
    uint64_t at(std::size_t i) const noexcept { return relaxed_get(v[i]); }
    block snapshot() const noexcept {
        block s;
        for (std::size_t i = 0; i < N; ++i) s.v[i] = relaxed_get(v[i]);
        return s;
    }
    block& operator+=(const block& o) noexcept {
        for (std::size_t i = 0; i < N; ++i) v[i] += o.v[i];
        return *this;
    }
};

// Sum of the rows of one kind (on a snapshot).
template <typename E, std::size_t N>
uint64_t sum_kind(const block<E, N>& b, const std::array<info, N>& table, kind k) noexcept {
    uint64_t s = 0;
    for (std::size_t i = 0; i < N; ++i)
        if (table[i].k == k) s += b.v[i];
    return s;
}

// Compile-time check that a table lists every enumerator, in order, and that
// every row has a name and a help text.
template <std::size_t N>
constexpr bool table_complete(const std::array<info, N>& t) noexcept {
    for (const auto& r : t)
        if (r.name.empty() || r.help.empty()) return false;
    return true;
}

}  // namespace sluice::counters
