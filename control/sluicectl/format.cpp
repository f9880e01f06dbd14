// SPDX-License-Identifier: Apache-2.0
// sluicectl's formatting (see format.hpp).
#include "format.hpp"

#include <cmath>
#include <cstdio>

namespace sluice::control::ctl {

namespace {

std::string scaled(double v, const char* const* units, std::size_t n, double step, const char* suffix) {
    std::size_t i = 0;
    while (std::fabs(v) >= step && i + 1 < n) {
        v /= step;
        ++i;
    }
    char b[48];
    if (i == 0) std::snprintf(b, sizeof b, "%.0f %s%s", v, units[i], suffix);
    else std::snprintf(b, sizeof b, v < 10 ? "%.2f %s%s" : v < 100 ? "%.1f %s%s" : "%.0f %s%s", v, units[i], suffix);
    return b;
}

// "12", "-3", "1.2M", "98705", "1/4" and coloured numbers; not "127.0.0.1" or "w0->s0".
bool numeric(const std::string& s) {
    if (s.empty()) return false;
    if (s[0] == '\x1b') return true;
    std::size_t i = s[0] == '-' ? 1 : 0, dots = 0, digits = 0;
    for (; i < s.size(); ++i) {
        const char c = s[i];
        if (c >= '0' && c <= '9') ++digits;
        else if (c == '.' || c == '/') ++dots;
        else break;
    }
    if (digits == 0 || dots > 1) return false;
    const std::string rest = s.substr(i);
    return rest.empty() || rest == "k" || rest == "M" || rest == "G" || rest == "T" || rest == "P" || rest == "E" ||
           rest[0] == ' ';  // "1.2 Mpps"
}

}  // namespace

std::string human_count(uint64_t v) {
    if (v < 10000) return std::to_string(v);
    static const char* const u[] = {"", "k", "M", "G", "T", "P", "E"};
    double x = double(v);
    std::size_t i = 0;
    while (x >= 1000 && i + 1 < std::size(u)) {
        x /= 1000;
        ++i;
    }
    char b[32];
    std::snprintf(b, sizeof b, x < 100 ? "%.1f%s" : "%.0f%s", x, u[i]);
    return b;
}

std::string human_pps(double v) {
    static const char* const u[] = {"", "k", "M", "G"};
    return scaled(v, u, 4, 1000, "pps");
}

std::string human_bps(double v) {
    static const char* const u[] = {"", "k", "M", "G", "T"};
    return scaled(v, u, 5, 1000, "bit/s");
}

std::string human_duration(double s) {
    const uint64_t t = s < 0 ? 0 : uint64_t(s);
    char b[32];
    if (t < 60) std::snprintf(b, sizeof b, "%llus", (unsigned long long)t);
    else if (t < 3600) std::snprintf(b, sizeof b, "%llum%02llus", (unsigned long long)(t / 60), (unsigned long long)(t % 60));
    else if (t < 86400)
        std::snprintf(b, sizeof b, "%lluh%02llum", (unsigned long long)(t / 3600), (unsigned long long)(t % 3600 / 60));
    else std::snprintf(b, sizeof b, "%llud%02lluh", (unsigned long long)(t / 86400), (unsigned long long)(t % 86400 / 3600));
    return b;
}

std::size_t display_width(const std::string& s) {
    std::size_t w = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == 0x1b) {  // CSI ... final byte
            while (i < s.size() && !(s[i] >= '@' && s[i] <= '~' && s[i] != '[')) ++i;
            continue;
        }
        if ((c & 0xC0) != 0x80) ++w;
    }
    return w;
}

std::string table::render(const style& st) const {
    std::vector<std::size_t> w(_header.size(), 0);
    for (std::size_t i = 0; i < _header.size(); ++i) w[i] = display_width(_header[i]);
    for (const auto& r : _rows)
        for (std::size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], display_width(r[i]));
    std::vector<bool> right(_header.size(), true);
    for (const auto& r : _rows)
        for (std::size_t i = 0; i < r.size() && i < right.size(); ++i)
            if (!r[i].empty() && r[i] != "-" && !numeric(r[i])) right[i] = false;
    auto cell = [&](const std::string& s, std::size_t i) {
        const std::string pad(w[i] - std::min(w[i], display_width(s)), ' ');
        return right[i] ? pad + s : s + pad;
    };
    std::string out;
    std::string h;
    for (std::size_t i = 0; i < _header.size(); ++i) h += (i ? "  " : "") + cell(_header[i], i);
    while (!h.empty() && h.back() == ' ') h.pop_back();
    out += st.bold(h) + "\n";
    for (const auto& r : _rows) {
        std::string line;
        for (std::size_t i = 0; i < _header.size(); ++i) line += (i ? "  " : "") + cell(i < r.size() ? r[i] : "", i);
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line + "\n";
    }
    return out;
}

}  // namespace sluice::control::ctl
