// SPDX-License-Identifier: Apache-2.0
// Prefix flattening, merging, and the IPv4 / IPv6 lookup tables; see lpm.hpp.
#include "lpm.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace sluice::enrich {

namespace {

constexpr u128 k_max = ~u128(0);

inline u128 mask_of(uint8_t len) noexcept { return len == 0 ? 0 : k_max << (128 - len); }
inline u128 last_of(u128 addr, uint8_t len) noexcept { return addr | ~mask_of(len); }

}  // namespace

bool parse_address(std::string_view text, u128& out) {
    char buf[64];
    if (text.empty() || text.size() >= sizeof buf) return false;
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = 0;
    uint8_t a[16];
    if (inet_pton(AF_INET, buf, a + 12) == 1) {
        out = v4_key((uint32_t(a[12]) << 24) | (uint32_t(a[13]) << 16) | (uint32_t(a[14]) << 8) | a[15]);
        return true;
    }
    if (inet_pton(AF_INET6, buf, a) == 1) {
        out = to_u128(a);
        return true;
    }
    return false;
}

bool parse_prefix(std::string_view text, prefix& out) {
    const auto slash = text.find('/');
    u128 a;
    if (!parse_address(text.substr(0, slash), a)) return false;
    const bool v4 = text.substr(0, slash).find(':') == std::string_view::npos;
    unsigned len = 128;
    if (slash != std::string_view::npos) {
        const auto l = text.substr(slash + 1);
        if (l.empty() || l.size() > 3) return false;
        len = 0;
        for (char ch : l) {
            if (ch < '0' || ch > '9') return false;
            len = len * 10 + unsigned(ch - '0');
        }
        if (v4) {
            if (len > 32) return false;
            len += 96;
        } else if (len > 128) {
            return false;
        }
    }
    out.addr = a & mask_of(static_cast<uint8_t>(len));
    out.len = static_cast<uint8_t>(len);
    out.value = 0;
    return true;
}

std::string prefix_text(u128 addr, uint8_t len) {
    char buf[64];
    uint8_t a[16];
    from_u128(addr, a);
    if (is_v4_key(addr) && len >= 96) {
        inet_ntop(AF_INET, a + 12, buf, sizeof buf);
        return std::string(buf) + "/" + std::to_string(len - 96);
    }
    inet_ntop(AF_INET6, a, buf, sizeof buf);
    return std::string(buf) + "/" + std::to_string(len);
}

void split_range(u128 first, u128 last, uint32_t value, std::vector<prefix>& out) {
    while (first <= last) {
        // The largest aligned block starting at `first` that does not pass `last`.
        uint8_t len = 128;
        while (len > 0) {
            const uint8_t l = static_cast<uint8_t>(len - 1);
            if ((first & ~mask_of(l)) != 0) break;   // first not aligned to a /l
            if (last_of(first, l) > last) break;     // /l runs past last
            len = l;
        }
        out.push_back(prefix{first, len, value});
        const u128 end = last_of(first, len);
        if (end == k_max) break;
        first = end + 1;
    }
}

std::vector<interval> flatten(std::vector<prefix> ps) {
    for (auto& p : ps) p.addr &= mask_of(p.len);
    // Outer prefixes before the ones they contain; equal prefixes in input order (stable).
    std::stable_sort(ps.begin(), ps.end(), [](const prefix& a, const prefix& b) {
        return a.addr != b.addr ? a.addr < b.addr : a.len < b.len;
    });
    std::vector<interval> out{{0, 0}};
    auto emit = [&out](u128 lo, uint32_t v) {
        if (out.back().lo == lo) {
            out.back().value = v;
            if (out.size() >= 2 && out[out.size() - 2].value == v) out.pop_back();
        } else if (out.back().value != v) {
            out.push_back({lo, v});
        }
    };
    struct open {
        u128 last;
        uint32_t value;
    };
    std::vector<open> stack;
    auto pop_until = [&](u128 pos, bool all) {
        while (!stack.empty() && (all || stack.back().last < pos)) {
            const u128 e = stack.back().last;
            stack.pop_back();
            if (e != k_max) emit(e + 1, stack.empty() ? 0 : stack.back().value);
        }
    };
    for (std::size_t i = 0; i < ps.size(); ++i) {
        const prefix& p = ps[i];
        const u128 last = last_of(p.addr, p.len);
        pop_until(p.addr, false);
        if (!stack.empty() && stack.back().last == last && i > 0 && ps[i - 1].addr == p.addr &&
            ps[i - 1].len == p.len) {
            stack.back().value = p.value;  // same prefix again: the later one wins
        } else {
            stack.push_back({last, p.value});
        }
        emit(p.addr, p.value);
    }
    pop_until(0, true);
    return out;
}

std::vector<interval> merge(const std::vector<std::vector<interval>>& lists,
                            const std::function<uint32_t(std::span<const uint32_t>)>& combine) {
    const std::size_t k = lists.size();
    std::vector<std::size_t> pos(k, 0);
    std::vector<uint32_t> cur(k, 0);
    // The tuple cache: open addressing over flat keys (k values per slot), so a lookup is one probe run in
    // one array and an insert allocates nothing (a map of vectors spent more time in malloc than in merging).
    std::vector<uint32_t> keys;        // slots x k
    std::vector<uint32_t> vals;        // slots; UINT32_MAX = empty
    std::size_t used = 0, mask = 0;
    auto hash_of = [&](const uint32_t* t) {
        uint64_t h = 0x9E3779B97F4A7C15ull;
        for (std::size_t i = 0; i < k; ++i) h = (h ^ t[i]) * 0xFF51AFD7ED558CCDull;
        return static_cast<std::size_t>(h ^ (h >> 29));
    };
    auto rehash = [&](std::size_t slots) {
        std::vector<uint32_t> ok = std::move(keys), ov = std::move(vals);
        keys.assign(slots * k, 0);
        vals.assign(slots, UINT32_MAX);
        mask = slots - 1;
        for (std::size_t s = 0; s < ov.size(); ++s) {
            if (ov[s] == UINT32_MAX) continue;
            std::size_t i = hash_of(&ok[s * k]) & mask;
            while (vals[i] != UINT32_MAX) i = (i + 1) & mask;
            std::copy(&ok[s * k], &ok[s * k] + k, &keys[i * k]);
            vals[i] = ov[s];
        }
    };
    rehash(1024);
    std::vector<interval> out;
    u128 at = 0;
    for (;;) {
        for (std::size_t i = 0; i < k; ++i) {
            while (pos[i] + 1 < lists[i].size() && lists[i][pos[i] + 1].lo <= at) ++pos[i];
            cur[i] = lists[i].empty() ? 0 : lists[i][pos[i]].value;
        }
        uint32_t v;
        bool any = false;
        for (uint32_t c : cur) any |= c != 0;
        if (!any) {
            v = 0;
        } else {
            std::size_t slot = hash_of(cur.data()) & mask;
            for (;;) {
                if (vals[slot] == UINT32_MAX) {
                    v = combine(cur);
                    std::copy(cur.begin(), cur.end(), &keys[slot * k]);
                    vals[slot] = v;
                    if (++used * 2 > mask + 1) rehash((mask + 1) * 2);  // load <= 0.5
                    break;
                }
                if (std::equal(cur.begin(), cur.end(), &keys[slot * k])) {
                    v = vals[slot];
                    break;
                }
                slot = (slot + 1) & mask;
            }
        }
        if (out.empty() || out.back().value != v) out.push_back({at, v});
        // Next boundary of any list.
        bool more = false;
        u128 next = k_max;
        for (std::size_t i = 0; i < k; ++i)
            if (pos[i] + 1 < lists[i].size()) {
                more = true;
                next = std::min(next, lists[i][pos[i] + 1].lo);
            }
        if (!more) break;
        at = next;
    }
    if (out.empty()) out.push_back({0, 0});
    return out;
}

uint32_t interval_lookup(const std::vector<interval>& list, u128 k) noexcept {
    auto it = std::upper_bound(list.begin(), list.end(), k, [](u128 v, const interval& iv) { return v < iv.lo; });
    return it == list.begin() ? 0 : (it - 1)->value;
}

lpm4::lpm4() : _tbl24(new uint32_t[1u << 24]()), _iv{{0, 0}, {0xffffffffu, 0}}, _last(0) {}

lpm4::lpm4(const std::vector<interval>& all) : _tbl24(new uint32_t[1u << 24]) {
    // The IPv4-mapped part, rebased to 32 bits.
    const u128 lo4 = k_v4_mapped, hi4 = k_v4_mapped | 0xffffffffu;
    std::vector<uint64_t> starts;
    std::size_t i = 0;
    while (i + 1 < all.size() && all[i + 1].lo <= lo4) ++i;
    starts.push_back(0);
    _iv.push_back({0, all.empty() ? 0 : all[i].value});
    for (++i; i < all.size() && all[i].lo <= hi4; ++i) {
        starts.push_back(static_cast<uint64_t>(all[i].lo - lo4));
        _iv.push_back({static_cast<uint32_t>(all[i].lo - lo4), all[i].value});
    }
    starts.push_back(uint64_t(1) << 32);
    _last = static_cast<uint32_t>(_iv.size() - 1);
    _iv.push_back({0xffffffffu, 0});
    // Pass 1: the /24 blocks wholly inside an interval hold its value (std::fill: memset speed, so this is
    // ~10 ms for the 64 MiB whatever the data). Pass 2: a block with a boundary inside holds the index of
    // the interval covering its first address. Every block is one or the other.
    const std::size_t n = _last + 1;
    for (std::size_t j = 0; j < n; ++j) {
        const uint64_t first_block = (starts[j] + 255) >> 8, end_block = starts[j + 1] >> 8;  // [first, end)
        if (first_block < end_block)
            std::fill(_tbl24.get() + first_block, _tbl24.get() + end_block, _iv[j].value);
    }
    uint64_t last_ext = UINT64_MAX;
    for (std::size_t j = 1; j < n; ++j) {
        if ((starts[j] & 255) == 0) continue;
        const uint64_t b = starts[j] >> 8;
        if (b != last_ext) _tbl24[b] = k_ext | static_cast<uint32_t>(j - 1);
        last_ext = b;
    }
}

void lpm4::lookup_bulk(const uint32_t* a, uint32_t* out, unsigned n) const noexcept {
    for (unsigned i = 0; i < n; ++i) __builtin_prefetch(&_tbl24[a[i] >> 8]);
    unsigned ext = 0;
    for (unsigned i = 0; i < n; ++i) {
        out[i] = _tbl24[a[i] >> 8];
        if (out[i] & k_ext) [[unlikely]] {
            __builtin_prefetch(&_iv[(out[i] & ~k_ext) + 1]);
            ++ext;
        }
    }
    if (ext == 0) return;
    for (unsigned i = 0; i < n; ++i)
        if (out[i] & k_ext) {
            uint32_t j = out[i] & ~k_ext;
            while (j < _last && _iv[j + 1].start <= a[i]) ++j;
            out[i] = _iv[j].value;
        }
}

lpm6::lpm6() : _index(65537, 0), _starts{0}, _values{0} {}

lpm6::lpm6(const std::vector<interval>& all) : _index(65537, 0) {
    for (const auto& iv : all) {
        _starts.push_back(iv.lo);
        _values.push_back(iv.value);
    }
    if (_starts.empty()) {
        _starts.push_back(0);
        _values.push_back(0);
    }
    std::size_t j = 0;
    for (uint32_t h = 0; h < 65536; ++h) {
        const u128 base = u128(h) << 112;
        while (j + 1 < _starts.size() && _starts[j + 1] <= base) ++j;
        _index[h] = static_cast<uint32_t>(j);
    }
    _index[65536] = static_cast<uint32_t>(_starts.size() - 1);
}

}  // namespace sluice::enrich
