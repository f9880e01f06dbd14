// SPDX-License-Identifier: Apache-2.0
// sluicectl's human units and tables.
#include <gtest/gtest.h>

#include "control/sluicectl/format.hpp"

namespace sluice::control::ctl {
namespace {

TEST(Units, Counts) {
    EXPECT_EQ(human_count(0), "0");
    EXPECT_EQ(human_count(9999), "9999");
    EXPECT_EQ(human_count(12345), "12.3k");
    EXPECT_EQ(human_count(1234567), "1.2M");
    EXPECT_EQ(human_count(987654321), "988M");
    EXPECT_EQ(human_count(UINT64_MAX), "18.4E");
}

TEST(Units, RatesAndDurations) {
    EXPECT_EQ(human_pps(0), "0 pps");
    EXPECT_EQ(human_pps(850), "850 pps");
    EXPECT_EQ(human_pps(12345), "12.3 kpps");
    EXPECT_EQ(human_pps(1.25e6), "1.25 Mpps");
    EXPECT_EQ(human_bps(9.9e9), "9.90 Gbit/s");
    EXPECT_EQ(human_duration(42), "42s");
    EXPECT_EQ(human_duration(187), "3m07s");
    EXPECT_EQ(human_duration(7500), "2h05m");
    EXPECT_EQ(human_duration(3 * 86400 + 4 * 3600 + 5), "3d04h");
}

TEST(Table, AlignsNumbersRightTextLeft) {
    table t({"EXPORTER", "DATAGRAMS", "LINK"});
    t.row({"127.0.0.1", "6", "up"});
    t.row({"10.0.0.10", "12.3k", "down"});
    EXPECT_EQ(t.render(style{}), "EXPORTER   DATAGRAMS  LINK\n"
                                 "127.0.0.1          6  up\n"
                                 "10.0.0.10      12.3k  down\n");
    style c{.color = true};
    table u({"A", "B"});
    u.row({c.red("7"), "x"});
    EXPECT_EQ(u.render(c), "\x1b[1mA  B\x1b[0m\n\x1b[31m7\x1b[0m  x\n");
    EXPECT_EQ(display_width(c.red("héllo")), 5u);
}

}  // namespace
}  // namespace sluice::control::ctl
