// SPDX-License-Identifier: Apache-2.0
// The counter registry: blocks read live, readers, visitors only in the final phase, names by stage/component/row.
#include "control/registry/registry.hpp"

#include <gtest/gtest.h>

using namespace sluice;
using namespace sluice::control;

namespace {
enum class c : uint8_t { a, b, count_ };
constexpr std::array<counters::info, 2> table{{{"a", "first", counters::kind::volume}, {"b", "second", counters::kind::drop}}};
}  // namespace

TEST(Registry, BlocksReadersAndVisitors) {
    registry r;
    counters::block<c, 2> w0, w1;
    const std::size_t g = r.add_group("dataplane", "thing", table);
    r.add_block(g, {num_label("worker", 0)}, w0);
    r.add_block(g, {num_label("worker", 1)}, w1);
    const std::size_t h = r.add_group("dataplane", "per_entry", table);
    uint64_t entry[2] = {5, 6};
    r.add_visitor(h, {num_label("worker", 0)},
                  [&](const registry::emit& emit) { emit({str_label("exporter", "10.0.0.1")}, entry); }, when::after_join);
    const std::size_t k = r.add_group("control", "x", table);
    r.add_reader(k, {}, [](std::span<uint64_t> out) { out[0] = 42; out[1] = 1; });
    EXPECT_THROW(r.add_group("dataplane", "thing", table), std::logic_error);

    w0.add(c::a, 3);
    w1.add(c::a, 4);
    w1.add(c::b);
    const snapshot live = r.read(phase::live);
    EXPECT_EQ(live.sum(g, "a"), 7u);
    EXPECT_EQ(live.sum(g, "b"), 1u);
    EXPECT_EQ(live.sum(h, "a"), 0u);  // after_join: not in a live read
    EXPECT_EQ(live.sum(k, "a"), 42u);
    w0.add(c::b, 10);
    const snapshot fin = r.read(phase::final);
    EXPECT_EQ(fin.sum(g, "b"), 11u);
    EXPECT_EQ(fin.sum(h, "b"), 6u);
    std::size_t n = 0;
    fin.each(h, [&](const series& s) {
        ++n;
        EXPECT_EQ(s.find("exporter")->value, "10.0.0.1");
        EXPECT_EQ(s.find("worker")->value, "0");
    });
    EXPECT_EQ(n, 1u);
    EXPECT_EQ(registry::metric_name(r.groups()[g], 1), "sluice_dataplane_thing_b_total");
    EXPECT_EQ(fin.find_group("control", "x"), k);
    EXPECT_EQ(fin.row(g, "b"), 1u);
}
