// SPDX-License-Identifier: Apache-2.0
// exporter_table: per-worker exporter lookup, and decode_datagram(): the one
// entry point that routes a UDP payload to its protocol decoder.
#include <algorithm>
#include <bit>
#include <cstring>

#include "decoder.hpp"
#include "wire.hpp"

namespace sluice::decode {

namespace {

uint64_t hash_addr(const uint8_t a[16]) noexcept {
    uint64_t w[2];
    std::memcpy(w, a, 16);
    // Fibonacci-style mixing; exporter addresses are few and well spread.
    uint64_t h = (w[0] ^ (w[1] * 0x9e3779b97f4a7c15ull));
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return h;
}

}  // namespace

exporter_table::exporter_table(decoder_limits limits) : _limits(limits) {
    const std::size_t slots = std::bit_ceil(std::max<std::size_t>(16, std::size_t(limits.max_exporters) * 2));
    _slots.assign(slots, nullptr);
    _exporters.reserve(limits.max_exporters);
}

exporter_table::~exporter_table() = default;

exporter_state* exporter_table::find(const uint8_t addr[16]) const noexcept {
    if (_last && std::memcmp(_last->addr, addr, 16) == 0) return _last;
    const std::size_t mask = _slots.size() - 1;
    for (std::size_t i = hash_addr(addr) & mask;; i = (i + 1) & mask) {
        exporter_state* e = _slots[i];
        if (e == nullptr) return nullptr;
        if (std::memcmp(e->addr, addr, 16) == 0) return e;
    }
}

exporter_state* exporter_table::find_or_create(const uint8_t addr[16], uint64_t now_ns) noexcept {
    if (_last && std::memcmp(_last->addr, addr, 16) == 0) [[likely]] {
        _last->last_seen_ns = now_ns;
        return _last;
    }
    const std::size_t mask = _slots.size() - 1;
    std::size_t i = hash_addr(addr) & mask;
    for (;; i = (i + 1) & mask) {
        exporter_state* e = _slots[i];
        if (e == nullptr) break;
        if (std::memcmp(e->addr, addr, 16) == 0) {
            e->last_seen_ns = now_ns;
            _last = e;
            return e;
        }
    }
    if (_exporters.size() >= _limits.max_exporters) [[unlikely]] {
        ++rejected_table_full;
        return nullptr;
    }
    // A new exporter: the one allocation on this path, once per exporter.
    auto st = std::make_unique<exporter_state>();
    std::memcpy(st->addr, addr, 16);
    st->limits = &_limits;
    st->first_seen_ns = st->last_seen_ns = now_ns;
    for (const auto& [a, rate] : _overrides)
        if (std::memcmp(a.data(), addr, 16) == 0) st->sampling_override = rate;
    _slots[i] = st.get();
    _last = st.get();
    _exporters.push_back(std::move(st));
    return _last;
}

void exporter_table::set_sampling_override(const uint8_t addr[16], uint32_t rate) {
    std::array<uint8_t, 16> key;
    std::memcpy(key.data(), addr, 16);
    auto it = std::find_if(_overrides.begin(), _overrides.end(), [&](const auto& p) { return p.first == key; });
    if (it != _overrides.end())
        it->second = rate;
    else
        _overrides.emplace_back(key, rate);
    if (exporter_state* e = find(addr)) e->sampling_override = rate;
}

protocol detect_protocol(std::span<const uint8_t> payload) noexcept {
    if (payload.size() < 4) return protocol::auto_detect;
    const uint16_t v16 = wire::be16(payload.data());
    switch (v16) {
        case 5: return protocol::netflow_v5;
        case 9: return protocol::netflow_v9;
        case 10: return protocol::ipfix;
        case 0:
            if (wire::be32(payload.data()) == 5) return protocol::sflow_5;
            break;
        default: break;
    }
    return protocol::auto_detect;
}

decode_status decode_datagram(std::span<const uint8_t> payload, const datagram_meta& meta, protocol proto,
                              exporter_table& exporters, record_buffer& out) noexcept {
    exporter_state* exporter = exporters.find_or_create(meta.exporter_addr, meta.time_received_ns);
    if (exporter == nullptr) [[unlikely]]
        return decode_status::dropped;
    if (proto == protocol::auto_detect) proto = detect_protocol(payload);
    switch (proto) {
        case protocol::netflow_v5: return decode_netflow_v5(payload, meta, *exporter, out);
        case protocol::netflow_v9: return decode_netflow_v9(payload, meta, *exporter, out);
        case protocol::ipfix: return decode_ipfix(payload, meta, *exporter, out);
        case protocol::sflow_5: return decode_sflow(payload, meta, *exporter, out);
        case protocol::auto_detect: break;
    }
    exporter->counters.add(counter::datagrams);
    exporter->counters.add(counter::datagram_bytes, payload.size());
    exporter->counters.add(payload.size() < 4 ? counter::err_truncated_header : counter::err_unknown_version);
    return decode_status::dropped;
}

}  // namespace sluice::decode
