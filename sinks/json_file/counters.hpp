// SPDX-License-Identifier: Apache-2.0
// Sink counters: one enum plus a constexpr {name, help, kind} table, one block per sink lcore.
//
// Names are exported as `sluice_sinks_json_file_<name>_total`. Stores are
// relaxed atomics: the sink lcore writes, the control core reads.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/counters/counters.hpp"

namespace sluice::sinks {

enum class sink_counter : uint8_t { records, bytes, write_errors, records_lost_write_error, rolls, count_ };
constexpr std::size_t sink_counter_count = static_cast<std::size_t>(sink_counter::count_);

using sink_counter_info = counters::info;
using K = counters::kind;

inline constexpr std::array<sink_counter_info, sink_counter_count> sink_counter_table{{
    {"records", "Records dequeued from the worker rings and written as JSON lines.", K::volume},
    {"bytes", "Bytes of JSON written.", K::volume},
    {"write_errors", "Writes that failed (disk full, closed pipe): those lines are lost.", K::error},
    {"records_lost_write_error", "Records dequeued but lost because their write failed (see write_errors).", K::drop},
    {"rolls", "Times the output rolled to the next numbered file.", K::volume},
}};
static_assert(sink_counter_table.back().name == "rolls");

struct sink_counter_block {
    std::array<uint64_t, sink_counter_count> v{};
    void add(sink_counter c, uint64_t n = 1) noexcept {
        std::atomic_ref<uint64_t> r(v[static_cast<std::size_t>(c)]);
        r.store(r.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    uint64_t get(sink_counter c) const noexcept {
        return std::atomic_ref<uint64_t>(const_cast<uint64_t&>(v[static_cast<std::size_t>(c)]))
            .load(std::memory_order_relaxed);
    }
};

}  // namespace sluice::sinks
