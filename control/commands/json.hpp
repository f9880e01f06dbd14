// SPDX-License-Identifier: Apache-2.0
// A minimal JSON writer for control replies: objects, arrays, escaped strings, numbers; no DOM.
//
// Pure code. The caller opens and closes containers in order; key() before
// each member of an object. Commas are inserted by the writer.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::control::json {

// Appends `s` as a JSON string literal (quotes included).
inline void escape(std::string& out, std::string_view s) {
    out.push_back('"');
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                char b[8];
                std::snprintf(b, sizeof b, "\\u%04x", c);
                out += b;
            } else {
                out.push_back(ch);
            }
        }
    }
    out.push_back('"');
}

class writer {
public:
    writer& begin_object() { sep(); _s.push_back('{'); _first.push_back(true); return *this; }
    writer& end_object() { _s.push_back('}'); _first.pop_back(); return *this; }
    writer& begin_array() { sep(); _s.push_back('['); _first.push_back(true); return *this; }
    writer& end_array() { _s.push_back(']'); _first.pop_back(); return *this; }
    writer& key(std::string_view k) {
        sep();
        escape(_s, k);
        _s.push_back(':');
        _after_key = true;
        return *this;
    }
    writer& str(std::string_view v) { sep(); escape(_s, v); return *this; }
    writer& num(uint64_t v) { sep(); _s += std::to_string(v); return *this; }
    writer& num_signed(int64_t v) { sep(); _s += std::to_string(v); return *this; }
    writer& real(double v) {
        sep();
        char b[32];
        std::snprintf(b, sizeof b, "%.6g", v);
        _s += b;
        return *this;
    }
    writer& boolean(bool v) { sep(); _s += v ? "true" : "false"; return *this; }
    writer& null() { sep(); _s += "null"; return *this; }
    // An already-encoded JSON value.
    writer& raw(std::string_view v) { sep(); _s += v; return *this; }

    const std::string& str() const noexcept { return _s; }
    std::string take() { return std::move(_s); }

private:
    void sep() {
        if (_after_key) {
            _after_key = false;
            return;
        }
        if (_first.empty()) return;
        if (!_first.back()) _s.push_back(',');
        _first.back() = false;
    }
    std::string _s;
    std::vector<bool> _first;
    bool _after_key = false;
};

}  // namespace sluice::control::json
