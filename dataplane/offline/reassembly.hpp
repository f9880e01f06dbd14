// SPDX-License-Identifier: Apache-2.0
// Software IPv4/IPv6 fragment reassembly for the offline reader (sluice-decode).
// sluiced uses DPDK's rte_ip_frag instead; this one works on plain bytes and
// may allocate (it is not on the appliance's data path).
//
// Bounded: at most `max_flows` partial datagrams, each expiring `timeout_ns`
// after its first fragment (by capture time). Overlapping fragments with
// different bytes, oversize datagrams and table overflow are counted.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string_view>
#include <vector>

#include "dataplane/parse/packet_parse.hpp"

namespace sluice::offline {

enum class reassembly_counter : uint8_t {
    fragments,         // fragments fed
    reassembled,       // complete datagrams produced
    expired,           // partial datagrams dropped by timeout (or at end of input)
    table_full,        // fragments dropped: too many partial datagrams
    too_big,           // fragments dropped: reassembled size past 65535
    malformed,         // fragments dropped: bad offset/length (non-final not multiple of 8)
    count_
};

struct reassembly_limits {
    uint32_t max_flows = 4096;
    uint64_t timeout_ns = 30ull * 1000000000ull;  // Linux ipfrag_time default
};

class ip_reassembler {
public:
    explicit ip_reassembler(reassembly_limits limits = {}) : _limits(limits) {}

    // Feeds one fragment (l3 = IP header, `frame` the parse result for it).
    // Returns the complete IP packet once every piece has arrived, else empty.
    // The returned bytes stay valid until the next call.
    std::span<const uint8_t> feed(const uint8_t* l3, uint32_t l3_len, const parse::parsed_frame& frame,
                                  uint64_t now_ns);

    // Drops partial datagrams older than the timeout; `now_ns` = ~0 drops all.
    void expire(uint64_t now_ns);

    uint64_t counter(reassembly_counter c) const { return _counters[static_cast<std::size_t>(c)]; }
    static std::string_view counter_name(reassembly_counter c);

private:
    struct key {
        std::array<uint8_t, 16> src, dst;
        uint32_t id;
        uint8_t version, proto;
        auto operator<=>(const key&) const = default;
    };
    struct partial {
        uint64_t first_seen_ns = 0;
        std::vector<uint8_t> header;   // unfragmentable part, from the first fragment
        std::vector<uint8_t> payload;  // fragmentable part, by offset
        std::vector<std::pair<uint32_t, uint32_t>> pieces;  // [begin, end) received
        uint32_t total = 0;             // payload length once the last fragment arrived
        bool have_first = false;
        bool have_last = false;
        uint32_t prev_next_header_at = 6;  // IPv6: where the fragment header's predecessor names it
    };

    void add(reassembly_counter c) { ++_counters[static_cast<std::size_t>(c)]; }
    static bool complete(const partial& p);

    reassembly_limits _limits;
    std::map<key, partial> _table;
    std::vector<uint8_t> _out;
    std::array<uint64_t, static_cast<std::size_t>(reassembly_counter::count_)> _counters{};
};

}  // namespace sluice::offline
