// SPDX-License-Identifier: Apache-2.0
// MaxMind .mmdb files flattened into prefixes by walking their search tree (libmaxminddb); see inventory.hpp.
#include <maxminddb.h>

#include <array>
#include <cinttypes>
#include <cstdio>
#include <vector>

#include "inventory.hpp"

namespace sluice::enrich {

mmdb_layout mmdb_layout::maxmind() {
    return {{{key::country, {"country", "iso_code"}},
             {key::state, {"subdivisions", "0", "iso_code"}},
             {key::city, {"city", "names", "en"}},
             {key::asn, {"autonomous_system_number"}},
             {key::as_name, {"autonomous_system_organization"}}}};
}

mmdb_layout mmdb_layout::ip_location_db() {
    return {{{key::country, {"country_code"}},
             {key::state, {"state1"}},
             {key::city, {"city"}},
             {key::asn, {"autonomous_system_number"}},
             {key::as_name, {"autonomous_system_organization"}}}};
}

namespace {

class walker {
public:
    walker(MMDB_s& db, const mmdb_layout& layout, local_source& out) : _db(db), _out(out) {
        for (const auto& [k, path] : layout.paths) {
            std::vector<const char*> p;
            for (const auto& s : path) p.push_back(s.c_str());
            p.push_back(nullptr);
            _paths.emplace_back(k, std::move(p));
        }
        _num.resize(_paths.size());
    }

    void run() {
        const bool v4db = _db.metadata.ip_version == 4;
        _bits = v4db ? 32 : 128;
        if (!v4db) {
            // The IPv4 subtree: 96 left turns from the root.
            uint32_t node = 0;
            for (int d = 0; d < 96 && node < _db.metadata.node_count; ++d) {
                MMDB_search_node_s n;
                if (MMDB_read_node(&_db, node, &n) != MMDB_SUCCESS || n.left_record_type != MMDB_RECORD_TYPE_SEARCH_NODE) {
                    node = UINT32_MAX;
                    break;
                }
                node = static_cast<uint32_t>(n.left_record);
            }
            _v4_node = node;
        }
        walk(0, 0, 0);
    }

private:
    // Depth = bits already decided; addr holds them at the top of a _bits-wide number.
    void walk(uint32_t node, u128 addr, unsigned depth) {
        if (!_out.report.fatal.empty()) return;
        // An alias of the IPv4 subtree (::ffff:0:0/96, 2002::/16, ...): walked once, from ::/96.
        if (_bits == 128 && node == _v4_node && !(depth == 96 && addr == 0)) return;
        // A tree reaches each node once (the aliases above excepted): a file whose records point back into
        // the tree (node i's both sides to node i + 1, 32 deep: 2^32 networks from 32 nodes) is cut here,
        // before its walk outgrows the file.
        if (++_visited > _db.metadata.node_count) {
            _out.report.fatal = _out.report.file + ": search tree is not a tree (more than its " +
                                std::to_string(_db.metadata.node_count) + " nodes reached)";
            return;
        }
        MMDB_search_node_s n;
        if (MMDB_read_node(&_db, node, &n) != MMDB_SUCCESS) {
            _out.report.fatal = _out.report.file + ": corrupt search tree at node " + std::to_string(node);
            return;
        }
        for (int side = 0; side < 2; ++side) {
            const u128 a = addr | (side ? u128(1) << (_bits - 1 - depth) : 0);
            const uint8_t type = side ? n.right_record_type : n.left_record_type;
            if (type == MMDB_RECORD_TYPE_SEARCH_NODE) {
                if (depth + 1 >= _bits) {
                    _out.report.fatal = _out.report.file + ": search tree deeper than the address";
                    return;
                }
                walk(static_cast<uint32_t>(side ? n.right_record : n.left_record), a, depth + 1);
            } else if (type == MMDB_RECORD_TYPE_DATA) {
                emit(a, depth + 1, side ? n.right_record_entry : n.left_record_entry);
            } else if (type == MMDB_RECORD_TYPE_INVALID) {
                _out.report.fatal = _out.report.file + ": invalid record at node " + std::to_string(node);
                return;
            }
        }
    }

    void emit(u128 a, unsigned len, MMDB_entry_s entry) {
        uint32_t id;
        uint64_t* const slot = _cache.find(entry.offset);
        if (*slot != 0) {
            id = static_cast<uint32_t>(*slot);
        } else {
            _b.clear();
            std::size_t pi = 0;
            for (const auto& [k, path] : _paths) {
                MMDB_entry_data_s d;
                char* num = _num[pi++].data();
                if (MMDB_aget_value(&entry, &d, path.data()) != MMDB_SUCCESS || !d.has_data) continue;
                switch (d.type) {
                case MMDB_DATA_TYPE_UTF8_STRING: _b.put(uint16_t(k), std::string_view(d.utf8_string, d.data_size)); break;
                case MMDB_DATA_TYPE_UINT16: _b.put(uint16_t(k), {num, size_t(std::snprintf(num, 24, "%u", unsigned(d.uint16)))}); break;
                case MMDB_DATA_TYPE_UINT32: _b.put(uint16_t(k), {num, size_t(std::snprintf(num, 24, "%" PRIu32, d.uint32))}); break;
                case MMDB_DATA_TYPE_INT32: _b.put(uint16_t(k), {num, size_t(std::snprintf(num, 24, "%" PRId32, d.int32))}); break;
                case MMDB_DATA_TYPE_UINT64: _b.put(uint16_t(k), {num, size_t(std::snprintf(num, 24, "%" PRIu64, d.uint64))}); break;
                default: break;  // maps, arrays, floats: not an attribute value
                }
            }
            // The strings point into the mmap'd file and _num: both outlive the encode.
            id = _b.empty() ? 0 : _out.sets.add(_b.encode());
            _cache.insert(slot, entry.offset, id);
        }
        if (id == 0) return;
        prefix p;
        if (_bits == 32) {
            p = {v4_key(static_cast<uint32_t>(a)), static_cast<uint8_t>(96 + len), id};
        } else if (len >= 96 && (a >> 32) == 0) {
            p = {k_v4_mapped | (a & 0xffffffffu), static_cast<uint8_t>(len), id};  // ::a.b.c.d -> ::ffff:a.b.c.d
        } else {
            p = {a, static_cast<uint8_t>(len), id};
        }
        _out.prefixes.push_back(p);
        ++_out.report.rows;
        ++_out.report.prefixes;
    }

    MMDB_s& _db;
    local_source& _out;
    std::vector<std::pair<key, std::vector<const char*>>> _paths;
    // Data offset -> local set id: many networks share a record (City: 3.7 M networks, 72 k records), so this
    // is looked up once per network. Open addressing over (offset + 1) << 32 | id (0 = empty), load <= 0.5: a
    // node-based map spent a sixth of the walk in its lookups.
    struct offset_cache {
        std::vector<uint64_t> slots = std::vector<uint64_t>(4096, 0);
        std::size_t used = 0;
        static uint64_t home(uint32_t off) noexcept { return (uint64_t(off) * 0x9E3779B97F4A7C15ull) >> 32; }
        uint64_t* find(uint32_t off) noexcept {  // the entry of `off`, or the empty slot it would go in
            const std::size_t mask = slots.size() - 1;
            for (std::size_t i = home(off) & mask;; i = (i + 1) & mask)
                if (slots[i] == 0 || slots[i] >> 32 == uint64_t(off) + 1) return &slots[i];
        }
        void insert(uint64_t* slot, uint32_t off, uint32_t id) {
            *slot = (uint64_t(off) + 1) << 32 | id;
            if (++used * 2 <= slots.size()) return;
            std::vector<uint64_t> old = std::move(slots);
            slots.assign(old.size() * 2, 0);
            for (uint64_t e : old)
                if (e != 0) *find(uint32_t((e >> 32) - 1)) = e;
        }
    } _cache;
    flat_builder _b;
    std::vector<std::array<char, 24>> _num;  // the numbers' text, one per path, until the encode
    unsigned _bits = 128;
    uint32_t _v4_node = UINT32_MAX;
    uint64_t _visited = 0;  // nodes walked, at most the metadata's node_count
};

}  // namespace

local_source read_mmdb(const std::string& path, const mmdb_layout& layout) {
    local_source out;
    out.report.file = path;
    MMDB_s db;
    const int rc = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db);
    if (rc != MMDB_SUCCESS) {
        out.report.fatal = path + ": " + MMDB_strerror(rc);
        return out;
    }
    reserve_huge(out.prefixes, std::size_t(db.metadata.node_count) + 1);  // a tree's leaves: at most nodes + 1
    walker(db, layout, out).run();
    MMDB_close(&db);
    if (!out.report.fatal.empty()) out.prefixes.clear();
    return out;
}

}  // namespace sluice::enrich
