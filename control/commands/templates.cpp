// SPDX-License-Identifier: Apache-2.0
// The `templates` reply from template-state snapshots (see templates.hpp).
#include "templates.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <map>

#include "control/commands/json.hpp"

namespace sluice::control::commands {

namespace {

struct reader {
    std::span<const uint8_t> b;
    std::size_t off = 0;
    bool ok = true;
    template <typename T>
    T get() {
        T v{};
        if (!ok || b.size() - off < sizeof(T)) {
            ok = false;
            return v;
        }
        std::memcpy(&v, b.data() + off, sizeof(T));  // little-endian on disk, as on x86
        off += sizeof(T);
        return v;
    }
    const uint8_t* take(std::size_t n) {
        if (!ok || b.size() - off < n) {
            ok = false;
            return nullptr;
        }
        const uint8_t* p = b.data() + off;
        off += n;
        return p;
    }
    // A count whose entries are at least `min_each` bytes: refused (and the
    // reader failed) when they cannot fit in what is left.
    bool count_fits(uint64_t n, std::size_t min_each) {
        if (ok && n > (b.size() - off) / min_each) ok = false;
        return ok;
    }
};

std::string addr_text(const uint8_t a[16]) {
    static constexpr uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char t[INET6_ADDRSTRLEN];
    if (std::memcmp(a, mapped, 12) == 0) inet_ntop(AF_INET, a + 12, t, sizeof t);
    else inet_ntop(AF_INET6, a, t, sizeof t);
    return t;
}

struct exporter_entry {
    uint64_t first = 0, last = 0;
    std::string json;  // the "domains" array
};

}  // namespace

bool templates_json(const std::vector<std::span<const uint8_t>>& snapshots, std::string_view only, std::string& out,
                    std::string& error) {
    std::map<std::string, exporter_entry> all;
    for (std::size_t si = 0; si < snapshots.size(); ++si) {
        reader r{snapshots[si]};
        const uint8_t* magic = r.take(8);
        const uint32_t version = r.get<uint32_t>();
        r.get<uint32_t>();  // CRC: the snapshot never left memory
        const uint64_t body = r.get<uint64_t>();
        if (!r.ok || std::memcmp(magic, "SLUICETS", 8) != 0 || version != 2 || body != r.b.size() - r.off) {
            error = "snapshot " + std::to_string(si) + ": not a format-2 template state";
            return false;
        }
        const uint32_t n_exp = r.get<uint32_t>();
        if (!r.count_fits(n_exp, 36)) {
            error = "snapshot " + std::to_string(si) + ": exporter count past the end";
            return false;
        }
        for (uint32_t e = 0; e < n_exp && r.ok; ++e) {
            const uint8_t* a = r.take(16);
            const uint64_t first = r.get<uint64_t>(), last = r.get<uint64_t>();
            const uint32_t n_dom = r.get<uint32_t>();
            if (!r.ok || !r.count_fits(n_dom, 28)) break;
            const std::string addr = addr_text(a);
            json::writer w;
            w.begin_array();
            for (uint32_t d = 0; d < n_dom && r.ok; ++d) {
                const uint8_t ver = r.get<uint8_t>();
                const uint16_t sport = r.get<uint16_t>();
                const uint32_t id = r.get<uint32_t>(), rate = r.get<uint32_t>();
                r.get<uint8_t>();
                r.get<uint64_t>();
                const uint32_t n_samplers = r.get<uint32_t>();
                if (!r.count_fits(n_samplers, 12)) break;
                w.begin_object().key("version").num(ver).key("domain").num(id).key("source_port").num(sport);
                w.key("sampling_rate").num(rate);
                w.key("samplers").begin_array();
                for (uint32_t k = 0; k < n_samplers && r.ok; ++k) {
                    const uint64_t sid = r.get<uint64_t>();
                    const uint32_t srate = r.get<uint32_t>();
                    w.begin_object().key("id").num(sid).key("rate").num(srate).end_object();
                }
                w.end_array();
                const uint32_t n_t = r.get<uint32_t>();
                if (!r.count_fits(n_t, 15)) break;
                w.key("templates").begin_array();
                for (uint32_t t = 0; t < n_t && r.ok; ++t) {
                    const uint16_t tid = r.get<uint16_t>();
                    const uint8_t options = r.get<uint8_t>();
                    const uint16_t scope = r.get<uint16_t>();
                    const uint64_t seen = r.get<uint64_t>();
                    const uint16_t n_f = r.get<uint16_t>();
                    if (!r.count_fits(n_f, 8)) break;
                    w.begin_object().key("id").num(tid).key("options").boolean(options != 0);
                    w.key("scope_fields").num(scope).key("last_seen_ns").num(seen);
                    uint64_t len = 0;
                    w.key("fields").begin_array();
                    for (uint16_t f = 0; f < n_f && r.ok; ++f) {
                        const uint16_t ie = r.get<uint16_t>(), fl = r.get<uint16_t>();
                        const uint32_t pen = r.get<uint32_t>();
                        len += fl == 0xffff ? 0 : fl;
                        w.begin_array().num(ie).num(fl);
                        if (pen != 0) w.num(pen);
                        w.end_array();
                    }
                    w.end_array();
                    w.key("record_length").num(len).end_object();
                }
                w.end_array().end_object();
            }
            w.end_array();
            if (!r.ok) break;
            auto [it, fresh] = all.try_emplace(addr);
            if (fresh || last > it->second.last) it->second = {first, last, w.take()};
        }
        if (!r.ok) {
            error = "snapshot " + std::to_string(si) + ": truncated";
            return false;
        }
    }
    json::writer w;
    w.begin_array();
    for (const auto& [addr, e] : all) {
        if (!only.empty() && addr != only) continue;
        w.begin_object().key("exporter").str(addr).key("first_seen_ns").num(e.first).key("last_seen_ns").num(e.last);
        w.key("domains").raw(e.json).end_object();
    }
    w.end_array();
    out = w.take();
    return true;
}

}  // namespace sluice::control::commands
