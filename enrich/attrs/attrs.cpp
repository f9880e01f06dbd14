// SPDX-License-Identifier: Apache-2.0
// Attribute sets, the key registry and the append-only interner; see attrs.hpp.
#include "attrs.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace sluice::enrich {

namespace {
constexpr std::array<std::string_view, k_builtin_keys> k_names{
    "name",    "kind",  "service", "team", "role",        "site",  "region",   "tenant",       "group",   "country",
    "state",   "city",  "asn",     "as_name", "description", "speed", "boundary", "connectivity", "provider",
};
}  // namespace

std::string_view builtin_key_name(key k) noexcept { return k_names[static_cast<std::size_t>(k)]; }

key_registry::key_registry() {
    for (auto n : k_names) _names.emplace_back(n);
}

int key_registry::find(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < _names.size(); ++i)
        if (_names[i] == name) return static_cast<int>(i);
    return -1;
}

uint16_t key_registry::add(std::string_view name) {
    if (int i = find(name); i >= 0) return static_cast<uint16_t>(i);
    if (_names.size() >= k_max_keys) throw std::runtime_error("too many custom enrichment keys (max 64 in all)");
    if (name.empty()) throw std::runtime_error("empty enrichment key name");
    _names.emplace_back(name);
    return static_cast<uint16_t>(_names.size() - 1);
}

void set_builder::put(uint16_t k, std::string_view v) {
    for (auto& p : _kv)
        if (p.first == k) {
            if (v.empty()) {
                p = _kv.back();
                _kv.pop_back();
            } else {
                p.second.assign(v);
            }
            return;
        }
    if (!v.empty()) _kv.emplace_back(k, std::string(v));
}

void set_builder::fill_from(const attr_set& s) {
    for (const auto& p : s.kv) {
        bool have = false;
        for (const auto& q : _kv) have |= q.first == p.first;
        if (!have) _kv.push_back(p);
    }
}

attr_set set_builder::take() {
    std::sort(_kv.begin(), _kv.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    attr_set s;
    s.kv = std::move(_kv);
    _kv.clear();
    return s;
}

interner::interner() = default;

interner::~interner() {
    for (auto* c : _chunks) delete[] c;
    for (auto* c : _flat_chunks) delete[] c;
}

uint32_t interner::intern(attr_set&& s, bool& full) {
    if (s.kv.empty()) return 0;
    std::string enc;
    for (const auto& [k, v] : s.kv) {
        enc.push_back(static_cast<char>(k));
        enc.append(std::to_string(v.size()));
        enc.push_back(':');
        enc.append(v);
    }
    std::lock_guard<std::mutex> lock(_writer);
    if (auto it = _index.find(enc); it != _index.end()) return it->second;
    const uint32_t id = _count.load(std::memory_order_relaxed);
    if (id >= k_max_sets) {
        full = true;
        return 0;
    }
    auto*& chunk = _chunks[id >> k_chunk_bits];
    if (chunk == nullptr) chunk = new const attr_set*[1u << k_chunk_bits]();
    auto*& fchunk = _flat_chunks[id >> k_chunk_bits];
    if (fchunk == nullptr) fchunk = new const uint8_t*[1u << k_chunk_bits]();
    std::size_t flen = 4;
    for (const auto& [k, v] : s.kv) flen += 3 + std::min<std::size_t>(v.size(), 0xffff);
    std::unique_ptr<uint8_t[]> blob(new uint8_t[flen]);
    {
        uint8_t* q = blob.get();
        const uint32_t total = static_cast<uint32_t>(flen);
        std::memcpy(q, &total, 4);
        q += 4;
        for (const auto& [k, v] : s.kv) {
            const uint16_t l = static_cast<uint16_t>(std::min<std::size_t>(v.size(), 0xffff));  // values are short
            *q++ = static_cast<uint8_t>(k);
            *q++ = static_cast<uint8_t>(l);
            *q++ = static_cast<uint8_t>(l >> 8);
            std::memcpy(q, v.data(), l);
            q += l;
        }
    }
    fchunk[id & ((1u << k_chunk_bits) - 1)] = blob.get();
    _bytes += flen;
    _flat_owned.push_back(std::move(blob));
    auto owned = std::make_unique<attr_set>(std::move(s));
    for (const auto& [k, v] : owned->kv) _bytes += sizeof(std::pair<uint16_t, std::string>) + v.capacity();
    _bytes += sizeof(attr_set) + enc.size() + 64;
    chunk[id & ((1u << k_chunk_bits) - 1)] = owned.get();
    _owned.push_back(std::move(owned));
    _index.emplace(std::move(enc), id);
    _count.store(id + 1, std::memory_order_release);
    return id;
}

}  // namespace sluice::enrich
