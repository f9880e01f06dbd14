// SPDX-License-Identifier: Apache-2.0
// sluicectl's formatting: human units, aligned tables, colour only on a terminal.
//
// Pure code, unit-tested (tests/control/sluicectl_format_test.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::control::ctl {

// 999 -> "999", 12345 -> "12.3k", 1234567 -> "1.2M" (exact below 10000).
std::string human_count(uint64_t v);
// Packets per second: "850 pps", "12.3 kpps", "1.25 Mpps".
std::string human_pps(double v);
// Bits per second: "850 bit/s", "12.3 Mbit/s", "1.25 Gbit/s".
std::string human_bps(double v);
// Seconds: "42s", "3m07s", "2h05m", "3d04h".
std::string human_duration(double s);

struct style {
    bool color = false;
    std::string bold(const std::string& s) const { return color ? "\x1b[1m" + s + "\x1b[0m" : s; }
    std::string red(const std::string& s) const { return color ? "\x1b[31m" + s + "\x1b[0m" : s; }
    std::string green(const std::string& s) const { return color ? "\x1b[32m" + s + "\x1b[0m" : s; }
    std::string dim(const std::string& s) const { return color ? "\x1b[2m" + s + "\x1b[0m" : s; }
};

// Columns padded to their widest cell (escape sequences not counted);
// numeric-looking cells are right-aligned, text left-aligned.
class table {
public:
    explicit table(std::vector<std::string> header) : _header(std::move(header)) {}
    void row(std::vector<std::string> cells) { _rows.push_back(std::move(cells)); }
    std::string render(const style& st) const;
    bool empty() const noexcept { return _rows.empty(); }

private:
    std::vector<std::string> _header;
    std::vector<std::vector<std::string>> _rows;
};

// The printed width of a cell (UTF-8 code points, ANSI escapes skipped).
std::size_t display_width(const std::string& s);

}  // namespace sluice::control::ctl
