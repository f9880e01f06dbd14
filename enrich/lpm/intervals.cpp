// SPDX-License-Identifier: Apache-2.0
// Prefix parsing, range splitting, flattening and merging; see intervals.hpp.
#include "intervals.hpp"

#include <arpa/inet.h>
#include <sys/mman.h>

#include <algorithm>

namespace sluice::enrich {

namespace {

constexpr u128 k_max = ~u128(0);

inline u128 mask_of(uint8_t len) noexcept { return len == 0 ? 0 : k_max << (128 - len); }
inline u128 last_of(u128 addr, uint8_t len) noexcept { return addr | ~mask_of(len); }

}  // namespace

void hint_huge_pages(const void* p, std::size_t bytes) noexcept {
    constexpr uintptr_t k_huge = uintptr_t(2) << 20;
    if (bytes < 2 * k_huge) return;
    const uintptr_t a = (reinterpret_cast<uintptr_t>(p) + k_huge - 1) & ~(k_huge - 1);
    const uintptr_t e = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(k_huge - 1);
    if (e > a) (void)madvise(reinterpret_cast<void*>(a), e - a, MADV_HUGEPAGE);  // a hint: failure is harmless
}

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
    // Outer prefixes before the ones they contain; equal prefixes in input order (stable). A source that
    // comes in order (an mmdb walk, a sorted range file) is not sorted again.
    auto outer_first = [](const prefix& a, const prefix& b) { return a.addr != b.addr ? a.addr < b.addr : a.len < b.len; };
    if (!std::is_sorted(ps.begin(), ps.end(), outer_first)) std::stable_sort(ps.begin(), ps.end(), outer_first);
    std::vector<interval> out;
    reserve_huge(out, 2 * ps.size() + 1);  // each prefix opens and closes at most one interval
    out.push_back({0, 0, 0});
    // match: the covering prefix's length + 1 (0 where no prefix covers, or the value is 0).
    auto emit = [&out](u128 lo, uint32_t v, uint8_t match) {
        if (v == 0) match = 0;
        auto same = [&](const interval& x) { return x.value == v && x.match == match; };
        if (out.back().lo == lo) {
            out.back().value = v;
            out.back().match = match;
            if (out.size() >= 2 && same(out[out.size() - 2])) out.pop_back();
        } else if (!same(out.back())) {
            out.push_back({lo, v, match});
        }
    };
    struct open {
        u128 last;
        uint32_t value;
        uint8_t match;
    };
    std::vector<open> stack;
    auto pop_until = [&](u128 pos, bool all) {
        while (!stack.empty() && (all || stack.back().last < pos)) {
            const u128 e = stack.back().last;
            stack.pop_back();
            if (e != k_max)
                emit(e + 1, stack.empty() ? 0 : stack.back().value, stack.empty() ? 0 : stack.back().match);
        }
    };
    for (std::size_t i = 0; i < ps.size(); ++i) {
        const prefix& p = ps[i];
        const u128 last = last_of(p.addr, p.len);
        const uint8_t match = static_cast<uint8_t>(p.len + 1);
        pop_until(p.addr, false);
        if (!stack.empty() && stack.back().last == last && i > 0 && ps[i - 1].addr == p.addr &&
            ps[i - 1].len == p.len) {
            stack.back().value = p.value;  // same prefix again: the later one wins
        } else {
            stack.push_back({last, p.value, match});
        }
        emit(p.addr, p.value, match);
    }
    pop_until(0, true);
    return out;
}

std::vector<interval> merge(const std::vector<std::vector<interval>>& lists,
                            const std::function<uint32_t(std::span<const uint32_t>)>& combine, bool one_is_itself) {
    return merge_range(lists, 0, k_max, combine, one_is_itself);
}

std::vector<u128> merge_cuts(const std::vector<std::vector<interval>>& lists, unsigned n) {
    // The lists' boundaries (the sweep's steps) at addresses in (0, a]; a list's first interval, at 0, is none.
    auto upto = [&](u128 a) {
        uint64_t c = 0;
        const auto after = [](u128 v, const interval& x) { return v < x.lo; };
        for (const auto& l : lists)
            c += uint64_t(std::upper_bound(l.begin(), l.end(), a, after) - std::upper_bound(l.begin(), l.end(), u128(0), after));
        return c;
    };
    const uint64_t total = upto(k_max);
    std::vector<u128> cuts;
    for (unsigned j = 1; j < n; ++j) {
        const uint64_t want = total * j / n;
        if (want == 0) continue;
        // The address of the want-th boundary: the smallest a with want boundaries in (0, a] (bisection).
        u128 lo = 1, hi = k_max;
        while (lo < hi) {
            const u128 mid = lo + (hi - lo) / 2;
            if (upto(mid) >= want) hi = mid;
            else lo = mid + 1;
        }
        if (!cuts.empty() && lo <= cuts.back()) continue;  // several boundaries at one address
        cuts.push_back(lo);
    }
    return cuts;
}

std::vector<interval> merge_range(const std::vector<std::vector<interval>>& lists, u128 from, u128 to,
                                  const std::function<uint32_t(std::span<const uint32_t>)>& combine,
                                  bool one_is_itself, std::size_t capacity) {
    const std::size_t k = lists.size();
    std::vector<uint32_t> cur(k, 0);
    // The tuple cache: the distinct tuples once each, appended (k values, then the combined value), and an
    // open-addressing index of (hash tag << 32 | tuple number + 1) over them, so a probe reads 8-byte slots and
    // the tuple's values only on a tag match, a rehash moves slots only (the home slot is the tag's), and an
    // insert allocates nothing (a map of vectors spent more time in malloc than in merging; a table of k-value
    // slots at load 0.5 touched ~4x the memory, and its page faults were a tenth of the sweep).
    std::vector<uint32_t> tuples;   // per tuple: k values, then the value combine gave
    std::vector<uint64_t> slots;    // 0 = empty
    std::size_t used = 0, mask = 0;
    auto hash_of = [&](const uint32_t* t) {
        uint64_t h = 0x9E3779B97F4A7C15ull;
        for (std::size_t i = 0; i < k; ++i) h = (h ^ t[i]) * 0xFF51AFD7ED558CCDull;
        return h ^ (h >> 29);
    };
    auto rehash = [&](std::size_t n) {
        std::vector<uint64_t> old = std::move(slots);
        slots.assign(n, 0);
        hint_huge_pages(slots.data(), n * sizeof(uint64_t));
        mask = n - 1;
        for (uint64_t e : old) {
            if (e == 0) continue;
            std::size_t i = (e >> 32) & mask;
            while (slots[i] != 0) i = (i + 1) & mask;
            slots[i] = e;
        }
    };
    // In front of it, a small direct-mapped cache (L2-sized) of the tuples met last: the sweep mostly returns
    // to a tuple it has just left (an inner prefix ends and the outer one's tuple comes back), and the big
    // table is a cache miss per probe.
    constexpr std::size_t k_recent = 4096;
    std::vector<uint32_t> recent_keys(k_recent * k, 0), recent_vals(k_recent, UINT32_MAX);
    std::vector<interval> out;
    std::size_t bound = 1;  // every output interval starts at a boundary of some list (in the range)
    // Cursors: the interval of each list that covers `at` (an empty list is 0 everywhere).
    std::vector<const interval*> p(k, nullptr), e(k, nullptr);
    for (std::size_t i = 0; i < k; ++i)
        if (!lists[i].empty()) {
            const auto after = [](u128 v, const interval& x) { return v < x.lo; };
            const interval* const b = lists[i].data();
            p[i] = std::upper_bound(b, b + lists[i].size(), from, after);
            p[i] = p[i] == b ? b : p[i] - 1;  // the one covering `from` (lists start at 0)
            e[i] = std::upper_bound(p[i], b + lists[i].size(), to, after);  // the first one past `to`
            bound += std::size_t(e[i] - p[i]);
        }
    reserve_huge(out, std::max(bound, capacity));
    // Distinct tuples are at most the steps and were a quarter of them on the real data: sized for that at
    // load 0.5, so that one rehash at most is met (a table sized for every step would touch 4x the memory).
    {
        std::size_t n = 1024;
        while (n < bound / 2) n <<= 1;
        rehash(n);
    }
    u128 at = from;
    for (;;) {
        uint8_t match = 0;  // the longest of the sources' matched prefixes here
        uint32_t v = 0;
        unsigned nonzero = 0;
        for (std::size_t i = 0; i < k; ++i) {
            const uint32_t c = p[i] != nullptr ? p[i]->value : 0;
            cur[i] = c;
            if (c != 0) {
                match = std::max(match, p[i]->match);
                v = c;
                ++nonzero;
            }
        }
        if (nonzero > 1 || (nonzero == 1 && !one_is_itself)) {
            const uint64_t h = hash_of(cur.data());
            uint32_t* const rk = &recent_keys[(h & (k_recent - 1)) * k];
            uint32_t& rv = recent_vals[h & (k_recent - 1)];
            if (rv != UINT32_MAX && std::equal(cur.begin(), cur.end(), rk)) {
                v = rv;
                goto found;
            }
            const uint64_t tag = h & 0xffffffff00000000ull;
            for (std::size_t slot = (h >> 32) & mask;; slot = (slot + 1) & mask) {
                const uint64_t se = slots[slot];
                if (se == 0) {
                    v = combine(cur);
                    const std::size_t n = tuples.size() / (k + 1);
                    tuples.insert(tuples.end(), cur.begin(), cur.end());
                    tuples.push_back(v);
                    slots[slot] = tag | uint64_t(n + 1);
                    if (++used * 2 > mask + 1) rehash((mask + 1) * 2);  // load <= 0.5
                    break;
                }
                if ((se & 0xffffffff00000000ull) == tag) {
                    const uint32_t* t = &tuples[(uint32_t(se) - 1) * (k + 1)];
                    if (std::equal(cur.begin(), cur.end(), t)) {
                        v = t[k];
                        break;
                    }
                }
            }
            std::copy(cur.begin(), cur.end(), rk);
            rv = v;
        }
    found:
        if (v == 0) match = 0;
        if (out.empty() || out.back().value != v || out.back().match != match) out.push_back({at, v, match});
        // Next boundary of any list, and every cursor moved to it.
        bool more = false;
        u128 next = k_max;
        for (std::size_t i = 0; i < k; ++i)
            if (p[i] != nullptr && p[i] + 1 < e[i]) {
                more = true;
                next = std::min(next, u128((p[i] + 1)->lo));
            }
        if (!more) break;
        at = next;
        for (std::size_t i = 0; i < k; ++i)
            if (p[i] != nullptr)
                while (p[i] + 1 < e[i] && (p[i] + 1)->lo <= at) ++p[i];
    }
    if (out.empty()) out.push_back({0, 0, 0});
    return out;
}

uint32_t interval_lookup(const std::vector<interval>& list, u128 k) noexcept {
    auto it = std::upper_bound(list.begin(), list.end(), k, [](u128 v, const interval& iv) { return v < iv.lo; });
    return it == list.begin() ? 0 : (it - 1)->value;
}

}  // namespace sluice::enrich
