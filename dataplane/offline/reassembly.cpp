// SPDX-License-Identifier: Apache-2.0
// Software IP reassembly for the offline reader; see reassembly.hpp.
#include "reassembly.hpp"

#include <algorithm>
#include <cstring>

#include "dataplane/decode/wire.hpp"

namespace sluice::offline {

using decode::wire::be16;
using decode::wire::be32;

std::string_view ip_reassembler::counter_name(reassembly_counter c) {
    switch (c) {
        case reassembly_counter::fragments: return "fragments";
        case reassembly_counter::reassembled: return "reassembled";
        case reassembly_counter::expired: return "expired";
        case reassembly_counter::table_full: return "table_full";
        case reassembly_counter::too_big: return "too_big";
        case reassembly_counter::malformed: return "malformed";
        case reassembly_counter::count_: break;
    }
    return "unknown";
}

bool ip_reassembler::complete(const partial& p) {
    if (!p.have_first || !p.have_last) return false;
    // Pieces are kept sorted and merged: complete when one piece spans all.
    return p.pieces.size() == 1 && p.pieces[0].first == 0 && p.pieces[0].second == p.total;
}

void ip_reassembler::expire(uint64_t now_ns) {
    for (auto it = _table.begin(); it != _table.end();) {
        if (now_ns == ~0ull || now_ns - it->second.first_seen_ns > _limits.timeout_ns) {
            add(reassembly_counter::expired);
            it = _table.erase(it);
        } else {
            ++it;
        }
    }
}

std::span<const uint8_t> ip_reassembler::feed(const uint8_t* l3, uint32_t l3_len, const parse::parsed_frame& f,
                                              uint64_t now_ns) {
    add(reassembly_counter::fragments);
    key k{};
    std::memcpy(k.src.data(), f.src_addr, 16);
    std::memcpy(k.dst.data(), f.dst_addr, 16);
    k.version = f.ip_version;
    k.proto = f.ip_proto;

    uint32_t offset, hdr_len, frag_end_of_header;
    bool more;
    uint32_t ip_len = std::min<uint32_t>(l3_len, f.ip_total_len);
    if (f.ip_version == 4) {
        k.id = be16(l3 + 4);
        const uint16_t fo = be16(l3 + 6);
        offset = (fo & 0x1fff) * 8u;
        more = (fo & 0x2000) != 0;
        hdr_len = f.l3_len;
        frag_end_of_header = hdr_len;
    } else {
        const uint8_t* fh = l3 + f.l3_len;  // fragment extension header
        k.id = be32(fh + 4);
        const uint16_t fo = be16(fh + 2);
        offset = (fo & 0xfff8u);
        more = (fo & 1) != 0;
        hdr_len = f.l3_len;              // unfragmentable part (without the fragment header)
        frag_end_of_header = f.l3_len + 8;
    }
    if (frag_end_of_header > ip_len) {
        add(reassembly_counter::malformed);
        return {};
    }
    const uint32_t data_len = ip_len - frag_end_of_header;
    if ((more && (data_len % 8) != 0) || data_len == 0) {
        add(reassembly_counter::malformed);
        return {};
    }
    if (offset + data_len > 65535 - hdr_len) {
        add(reassembly_counter::too_big);
        return {};
    }

    auto it = _table.find(k);
    if (it == _table.end()) {
        expire(now_ns);
        if (_table.size() >= _limits.max_flows) {
            add(reassembly_counter::table_full);
            return {};
        }
        it = _table.emplace(k, partial{}).first;
        it->second.first_seen_ns = now_ns;
    }
    partial& p = it->second;
    if (p.payload.size() < offset + data_len) p.payload.resize(offset + data_len);
    std::memcpy(p.payload.data() + offset, l3 + frag_end_of_header, data_len);
    if (offset == 0) {
        p.have_first = true;
        p.header.assign(l3, l3 + hdr_len);
        if (f.ip_version == 6) {
            // Find the next-header byte that names the fragment header, to
            // patch it with the fragment header's own next header.
            uint32_t at = 6, off = 40;
            uint8_t nh = l3[6];
            while (nh != 44 && off + 8 <= hdr_len) {
                at = off;
                nh = l3[off];
                off += (l3[off + 1] + 1u) * 8u;
            }
            p.prev_next_header_at = at;
            p.header[at] = l3[f.l3_len];
        }
    }
    if (!more) {
        p.have_last = true;
        p.total = offset + data_len;
    }
    // Insert and merge the received range.
    p.pieces.emplace_back(offset, offset + data_len);
    std::sort(p.pieces.begin(), p.pieces.end());
    std::vector<std::pair<uint32_t, uint32_t>> merged;
    for (const auto& r : p.pieces) {
        if (!merged.empty() && r.first <= merged.back().second)
            merged.back().second = std::max(merged.back().second, r.second);
        else
            merged.push_back(r);
    }
    p.pieces = std::move(merged);
    if (!complete(p)) return {};

    // Rebuild one IP packet: the first fragment's header, lengths fixed.
    _out.assign(p.header.begin(), p.header.end());
    _out.insert(_out.end(), p.payload.begin(), p.payload.begin() + p.total);
    if (f.ip_version == 4) {
        const uint16_t total = static_cast<uint16_t>(_out.size());
        _out[2] = uint8_t(total >> 8);
        _out[3] = uint8_t(total);
        _out[6] = 0;
        _out[7] = 0;
        _out[10] = 0;
        _out[11] = 0;
        const uint16_t sum = static_cast<uint16_t>(~parse::checksum_fold(parse::checksum_partial(_out.data(), hdr_len)));
        _out[10] = uint8_t(sum >> 8);
        _out[11] = uint8_t(sum);
    } else {
        const uint16_t plen = static_cast<uint16_t>(_out.size() - 40);
        _out[4] = uint8_t(plen >> 8);
        _out[5] = uint8_t(plen);
    }
    _table.erase(it);
    add(reassembly_counter::reassembled);
    return {_out.data(), _out.size()};
}

}  // namespace sluice::offline
