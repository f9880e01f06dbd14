// SPDX-License-Identifier: Apache-2.0
// Template state file: serialize, validate and restore v9/IPFIX templates and
// learned sampling rates (format in template_state_file.hpp).
#include "template_state_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>

#include "template_store.hpp"

namespace sluice::decode {

namespace {

constexpr std::size_t tmpl_first_error_row = first_loss_row;
constexpr char magic[8] = {'S', 'L', 'U', 'I', 'C', 'E', 'T', 'S'};
constexpr std::size_t file_header_size = 8 + 4 + 4 + 8;

// CRC-32 (IEEE 802.3, reflected, as zlib), table built at compile time.
constexpr std::array<uint32_t, 256> crc_table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        t[i] = c;
    }
    return t;
}();

uint32_t crc32(const uint8_t* p, std::size_t n) noexcept {
    uint32_t c = 0xffffffffu;
    for (std::size_t i = 0; i < n; ++i) c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}
static_assert(crc_table[1] == 0x77073096u);

class writer {
public:
    std::vector<uint8_t> buf;
    template <typename T>
    void put(T v) {
        for (std::size_t i = 0; i < sizeof(T); ++i) buf.push_back(static_cast<uint8_t>(uint64_t(v) >> (8 * i)));
    }
    void bytes(const uint8_t* p, std::size_t n) { buf.insert(buf.end(), p, p + n); }
    void put_at(std::size_t off, uint64_t v, std::size_t width) {
        for (std::size_t i = 0; i < width; ++i) buf[off + i] = static_cast<uint8_t>(v >> (8 * i));
    }
};

// Bounds-checked little-endian reader: every read fails once past the end.
class reader {
public:
    explicit reader(std::span<const uint8_t> b) : _b(b) {}
    template <typename T>
    bool get(T& v) noexcept {
        if (_b.size() - _off < sizeof(T)) return false;
        uint64_t x = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i) x |= uint64_t(_b[_off + i]) << (8 * i);
        v = static_cast<T>(x);
        _off += sizeof(T);
        return true;
    }
    bool bytes(uint8_t* out, std::size_t n) noexcept {
        if (_b.size() - _off < n) return false;
        std::memcpy(out, _b.data() + _off, n);
        _off += n;
        return true;
    }
    std::size_t left() const noexcept { return _b.size() - _off; }

private:
    std::span<const uint8_t> _b;
    std::size_t _off = 0;
};

// Smallest encodings, to reject counts the remaining bytes cannot hold
// before reserving anything.
constexpr std::size_t min_exporter = 16 + 8 + 8 + 4;
constexpr std::size_t min_domain = 1 + 4 + 4 + 1 + 8 + 4 + 4;
constexpr std::size_t sampler_size = 8 + 4;
constexpr std::size_t min_template = 2 + 1 + 2 + 8 + 2;
constexpr std::size_t field_size = 2 + 2 + 4;

struct staged_exporter {
    uint8_t addr[16];
    uint64_t first_seen_ns = 0, last_seen_ns = 0;
    std::vector<std::unique_ptr<tmpl::template_domain>> domains;
    counter_block rejected;  // err_* counts of templates that no longer fit the limits
};

bool fail(std::string* error, std::string msg) {
    if (error != nullptr) *error = std::move(msg);
    return false;
}

std::string errno_text(const std::string& what, const std::string& path) {
    return what + " " + path + ": " + std::strerror(errno);
}

// Parses and validates the whole body into `out`; nothing touches a table.
bool parse_body(reader& r, uint32_t version, const decoder_limits& limits, std::vector<staged_exporter>& out,
                std::string* error) {
    uint32_t n_exporters = 0;
    if (!r.get(n_exporters) || n_exporters > r.left() / min_exporter)
        return fail(error, "truncated or corrupt exporter count");
    out.resize(n_exporters);
    std::vector<tmpl::field_spec> fields;
    for (uint32_t e = 0; e < n_exporters; ++e) {
        staged_exporter& ex = out[e];
        uint32_t n_domains = 0;
        if (!r.bytes(ex.addr, 16) || !r.get(ex.first_seen_ns) || !r.get(ex.last_seen_ns) || !r.get(n_domains) ||
            n_domains > r.left() / min_domain)
            return fail(error, "truncated exporter " + std::to_string(e));
        for (uint32_t d = 0; d < n_domains; ++d) {
            auto dom = std::make_unique<tmpl::template_domain>();
            uint8_t sys_init_valid = 0;
            uint32_t n_samplers = 0;
            if (!r.get(dom->version) || (version >= 2 && !r.get(dom->port)) || !r.get(dom->id) ||
                !r.get(dom->sampling_rate) || !r.get(sys_init_valid) ||
                !r.get(dom->sys_init_ms) || !r.get(n_samplers) || n_samplers > r.left() / sampler_size)
                return fail(error, "truncated domain in exporter " + std::to_string(e));
            if ((dom->version != 9 && dom->version != 10) || sys_init_valid > 1 ||
                n_samplers > tmpl::max_samplers_per_domain)
                return fail(error, "invalid domain header in exporter " + std::to_string(e));
            dom->sys_init_valid = sys_init_valid == 1;
            for (const auto& other : ex.domains)
                if (other->version == dom->version && other->id == dom->id && other->port == dom->port)
                    return fail(error, "duplicate domain in exporter " + std::to_string(e));
            dom->samplers.resize(n_samplers);
            for (auto& s : dom->samplers) r.get(s.id), r.get(s.rate);  // size checked above
            uint32_t n_templates = 0;
            if (!r.get(n_templates) || n_templates > r.left() / min_template)
                return fail(error, "truncated template count in exporter " + std::to_string(e));
            for (uint32_t t = 0; t < n_templates; ++t) {
                uint16_t id = 0, scope = 0, n_fields = 0;
                uint8_t options = 0;
                uint64_t last_seen = 0;
                if (!r.get(id) || !r.get(options) || !r.get(scope) || !r.get(last_seen) || !r.get(n_fields) ||
                    n_fields > r.left() / field_size)
                    return fail(error, "truncated template in exporter " + std::to_string(e));
                if (options > 1 || id < 256 || dom->find(id) != nullptr)
                    return fail(error, "invalid or duplicate template " + std::to_string(id));
                fields.resize(n_fields);
                for (auto& f : fields) r.get(f.id), r.get(f.length), r.get(f.enterprise);  // size checked above
                const tmpl::template_decl decl{id, options == 1, scope, fields};
                tmpl::learn_template(*dom, decl, dom->version == 10, limits, last_seen, ex.rejected);
            }
            dom->own_templates = true;  // a later session of this domain inherits them
            dom->last_seen_ns = ex.last_seen_ns;
            ex.domains.push_back(std::move(dom));
        }
    }
    if (r.left() != 0) return fail(error, "trailing bytes after the last exporter");
    return true;
}

// One exporter's saved record, ready to write: what serialize needs from a
// live exporter_state and from a saved entry alike.
struct exporter_source {
    const uint8_t* addr;
    uint64_t first_seen_ns, last_seen_ns;
    const std::vector<std::unique_ptr<tmpl::template_domain>>* domains;
};

constexpr std::size_t exporter_header_bytes = 16 + 8 + 8 + 4;
constexpr std::size_t domain_header_bytes(const tmpl::template_domain& d) {
    return 1 + 2 + 4 + 4 + 1 + 8 + 4 + d.samplers.size() * sampler_size + 4;
}
std::size_t template_bytes(const tmpl::compiled_template& t) { return min_template + t.fields.size() * field_size; }

// Bytes of one exporter's record when nothing is left out.
std::size_t full_size(const exporter_source& e) {
    std::size_t n = exporter_header_bytes;
    for (const auto& d : *e.domains) {
        n += domain_header_bytes(*d);
        for (const auto& t : d->templates)
            if (!t.refused) n += template_bytes(t);
    }
    return n;
}

// Writes one exporter within `cap` bytes: domains and templates in order
// until the cap, the rest left out and counted in *dropped.
void write_exporter(writer& w, const exporter_source& e, std::size_t cap, uint64_t& dropped) {
    const std::size_t start = w.buf.size();
    w.bytes(e.addr, 16);
    w.put<uint64_t>(e.first_seen_ns);
    w.put<uint64_t>(e.last_seen_ns);
    const std::size_t n_domains_at = w.buf.size();
    w.put<uint32_t>(0);
    uint32_t n_domains = 0;
    for (const auto& dp : *e.domains) {
        const tmpl::template_domain& d = *dp;
        if (w.buf.size() - start + domain_header_bytes(d) > cap) {
            for (const auto& t : d.templates) dropped += t.refused ? 0 : 1;
            continue;
        }
        ++n_domains;
        w.put<uint8_t>(d.version);
        w.put<uint16_t>(d.port);
        w.put<uint32_t>(d.id);
        w.put<uint32_t>(d.sampling_rate);
        w.put<uint8_t>(d.sys_init_valid ? 1 : 0);
        w.put<uint64_t>(d.sys_init_ms);
        w.put<uint32_t>(static_cast<uint32_t>(d.samplers.size()));
        for (const auto& sr : d.samplers) {
            w.put<uint64_t>(sr.id);
            w.put<uint32_t>(sr.rate);
        }
        const std::size_t n_templates_at = w.buf.size();
        w.put<uint32_t>(0);
        uint32_t n_templates = 0;  // tombstones (refused redefinitions) are not saved
        for (const auto& t : d.templates) {
            if (t.refused) continue;
            if (w.buf.size() - start + template_bytes(t) > cap) {
                ++dropped;
                continue;
            }
            ++n_templates;
            w.put<uint16_t>(t.id);
            w.put<uint8_t>(t.options ? 1 : 0);
            w.put<uint16_t>(t.scope_count);
            w.put<uint64_t>(t.last_seen_ns);
            w.put<uint16_t>(static_cast<uint16_t>(t.fields.size()));
            for (const auto& f : t.fields) {
                w.put<uint16_t>(f.id);
                w.put<uint16_t>(f.length);
                w.put<uint32_t>(f.enterprise);
            }
        }
        w.put_at(n_templates_at, n_templates, 4);
    }
    w.put_at(n_domains_at, n_domains, 4);
}

// Fair shares of `budget` bytes over exporters needing `need[i]`
// (water-filling): the small ones keep everything, the rest split what is
// left equally. Returns the cap for each.
std::vector<std::size_t> fair_caps(const std::vector<std::size_t>& need, std::size_t budget) {
    std::vector<std::size_t> caps(need.size(), 0);
    std::vector<std::size_t> order(need.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return need[a] < need[b]; });
    std::size_t left = budget;
    for (std::size_t k = 0; k < order.size(); ++k) {
        const std::size_t share = left / (order.size() - k);
        const std::size_t give = std::min(need[order[k]], share);
        caps[order[k]] = give;
        left -= give;
    }
    return caps;
}

}  // namespace

struct saved_template_state {
    std::vector<staged_exporter> exporters;  // sorted by address

    const staged_exporter* find(const uint8_t addr[16]) const noexcept {
        auto it = std::lower_bound(exporters.begin(), exporters.end(), addr, [](const staged_exporter& e, const uint8_t* a) {
            return std::memcmp(e.addr, a, 16) < 0;
        });
        return it != exporters.end() && std::memcmp(it->addr, addr, 16) == 0 ? &*it : nullptr;
    }
};

std::vector<uint8_t> serialize_template_state(std::span<const exporter_table* const> tables, uint64_t max_bytes,
                                              template_save_stats* stats) {
    // One entry per exporter address: the copy seen most recently. An
    // exporter's saved state is applied on the worker its first datagram
    // reaches; a restored snapshot (the periodic save's merge) may still
    // hold older copies elsewhere.
    std::map<std::array<uint8_t, 16>, const exporter_state*> freshest;
    std::vector<exporter_source> chosen;
    for (const exporter_table* t : tables)
        t->for_each([&](const exporter_state& e) {
            if (e.netflow == nullptr || e.netflow->domains.empty()) return;
            std::array<uint8_t, 16> key;
            std::memcpy(key.data(), e.addr, 16);
            auto [it, added] = freshest.emplace(key, &e);
            if (!added && e.last_seen_ns > it->second->last_seen_ns) it->second = &e;
        });
    for (const exporter_table* t : tables)  // keep first-seen order for a stable file
        t->for_each([&](const exporter_state& e) {
            std::array<uint8_t, 16> key;
            std::memcpy(key.data(), e.addr, 16);
            if (auto it = freshest.find(key); it != freshest.end() && it->second == &e)
                chosen.push_back({e.addr, e.first_seen_ns, e.last_seen_ns, &e.netflow->domains});
        });
    // Saved state not applied yet (its exporter has not sent since the
    // start): kept as it was, so a periodic save never loses it.
    std::vector<const saved_template_state*> saved;
    for (const exporter_table* t : tables)
        if (const saved_template_state* s = t->saved_state(); s != nullptr &&
            std::find(saved.begin(), saved.end(), s) == saved.end())
            saved.push_back(s);
    for (const saved_template_state* s : saved)
        for (const staged_exporter& e : s->exporters) {
            std::array<uint8_t, 16> key;
            std::memcpy(key.data(), e.addr, 16);
            if (freshest.count(key) != 0 || e.domains.empty()) continue;
            freshest.emplace(key, nullptr);
            chosen.push_back({e.addr, e.first_seen_ns, e.last_seen_ns, &e.domains});
        }

    // The same bound as loading: when everything does not fit, each
    // exporter gets a fair share and what is over its share is left out.
    const std::size_t budget = max_bytes > file_header_size + 4 ? max_bytes - file_header_size - 4 : 0;
    std::vector<std::size_t> need(chosen.size());
    std::size_t total = 0;
    for (std::size_t i = 0; i < chosen.size(); ++i) total += need[i] = full_size(chosen[i]);
    std::vector<std::size_t> caps = total <= budget ? need : fair_caps(need, budget);

    writer w;
    w.bytes(reinterpret_cast<const uint8_t*>(magic), sizeof magic);
    w.put<uint32_t>(template_state_format_version);
    w.put<uint32_t>(0);  // CRC, patched below
    w.put<uint64_t>(0);  // body length, patched below
    const std::size_t body = w.buf.size();
    w.put<uint32_t>(0);  // exporter count, patched below
    uint32_t n_exporters = 0;
    template_save_stats st;
    for (std::size_t i = 0; i < chosen.size(); ++i) {
        if (caps[i] < exporter_header_bytes) {  // not even its header fits
            for (const auto& d : *chosen[i].domains)
                for (const auto& t : d->templates) st.templates_left_out += t.refused ? 0 : 1;
            ++st.exporters_left_out;
            continue;
        }
        const uint64_t before = st.templates_left_out;
        write_exporter(w, chosen[i], caps[i], st.templates_left_out);
        if (st.templates_left_out != before) ++st.exporters_capped;
        ++n_exporters;
    }
    st.exporters = n_exporters;
    w.put_at(body, n_exporters, 4);
    w.put_at(12, crc32(w.buf.data() + body, w.buf.size() - body), 4);
    w.put_at(16, w.buf.size() - body, 8);
    st.bytes = w.buf.size();
    if (stats != nullptr) *stats = st;
    return std::move(w.buf);
}

std::vector<uint8_t> serialize_template_state(std::span<const exporter_table* const> tables) {
    return serialize_template_state(tables, template_state_max_bytes, nullptr);
}

std::vector<uint8_t> serialize_template_state(const exporter_table& exporters) {
    const exporter_table* one[] = {&exporters};
    return serialize_template_state(one);
}

namespace {

// Checks the whole file and parses it into `staged`; nothing is applied.
bool parse_file(std::span<const uint8_t> bytes, const decoder_limits& limits, std::vector<staged_exporter>& staged,
                std::string* error) {
    if (bytes.size() < file_header_size) return fail(error, "truncated header (" + std::to_string(bytes.size()) + " bytes)");
    if (std::memcmp(bytes.data(), magic, sizeof magic) != 0) return fail(error, "not a Sluice template state file (bad magic)");
    if (bytes.size() > template_state_max_bytes)
        return fail(error, "larger than " + std::to_string(template_state_max_bytes) + " bytes");
    reader h(bytes.subspan(sizeof magic, file_header_size - sizeof magic));
    uint32_t version = 0, crc = 0;
    uint64_t body_len = 0;
    h.get(version), h.get(crc), h.get(body_len);
    if (version != template_state_format_version && version != 1)
        return fail(error, "unsupported format version " + std::to_string(version) + " (expected " +
                               std::to_string(template_state_format_version) + ")");
    const std::span<const uint8_t> body = bytes.subspan(file_header_size);
    if (body_len != body.size())
        return fail(error, "length mismatch: header says " + std::to_string(body_len) + " body bytes, file has " +
                               std::to_string(body.size()) + " (truncated?)");
    if (crc32(body.data(), body.size()) != crc) return fail(error, "checksum mismatch: file is corrupt");
    reader r(body);
    try {
        return parse_body(r, version, limits, staged, error);
    } catch (const std::bad_alloc&) {
        return fail(error, "out of memory while reading the state file");
    }
}

// Applies one saved exporter to `e` (copies: the saved state stays intact
// for a later save or another worker). Templates already live are kept.
// Returns false only when memory ran out.
bool apply_staged(const staged_exporter& s, exporter_state& e) noexcept {
    const decoder_limits& limits = tmpl::limits_of(e);
    try {
        if (e.first_seen_ns > s.first_seen_ns) store_relaxed(e.first_seen_ns, s.first_seen_ns);
        for (std::size_t i = tmpl_first_error_row; i < counter_count; ++i)
            if (s.rejected.v[i] != 0) e.counters.add(static_cast<counter>(i), s.rejected.v[i]);
        netflow_state* st = tmpl::netflow_of(e);
        if (st == nullptr) return false;
        for (const auto& dp : s.domains) {
            const tmpl::template_domain& d = *dp;
            tmpl::template_domain* live = st->find(d.version, d.port, d.id);
            if (live == nullptr) {
                if (st->domains.size() >= limits.max_domains_per_exporter) {
                    e.counters.add(counter::err_domain_table_full);
                    continue;
                }
                if (st->bytes + d.bytes > limits.template_bytes_per_exporter) {
                    e.counters.add(counter::err_template_memory, d.templates.size());
                    continue;
                }
                auto copy = std::make_unique<tmpl::template_domain>(d);
                copy->owner = nullptr;
                e.counters.add(counter::templates_restored, copy->templates.size());
                st->adopt(std::move(copy));
                continue;
            }
            // Learned since start-up: keep what is live, add what is missing.
            if (live->sampling_rate == 0) live->sampling_rate = d.sampling_rate;
            if (!live->sys_init_valid) {
                live->sys_init_valid = d.sys_init_valid;
                live->sys_init_ms = d.sys_init_ms;
            }
            for (const auto& sr : d.samplers)
                if (live->rate_for(sr.id) == 0 && live->samplers.size() < tmpl::max_samplers_per_domain)
                    live->samplers.push_back(sr);
            for (const auto& t : d.templates) {
                if (live->find(t.id) != nullptr) continue;
                if (live->templates.size() >= limits.max_templates_per_domain) {
                    e.counters.add(counter::err_template_limit);
                    continue;
                }
                const int64_t cost = static_cast<int64_t>(tmpl::template_cost(t));
                if (st->bytes + uint64_t(cost) > limits.template_bytes_per_exporter) {
                    e.counters.add(counter::err_template_memory);
                    continue;
                }
                auto at = std::lower_bound(live->templates.begin(), live->templates.end(), t.id,
                                           [](const tmpl::compiled_template& x, uint16_t id) { return x.id < id; });
                live->templates.insert(at, t);
                tmpl::account(*live, cost);
                live->own_templates = true;
                e.counters.add(counter::templates_restored);
            }
        }
    } catch (...) {
        return false;
    }
    return true;
}

}  // namespace

bool restore_template_state(exporter_table& exporters, std::span<const uint8_t> bytes, std::string* error) {
    std::vector<staged_exporter> staged;
    if (!parse_file(bytes, exporters.limits(), staged, error)) return false;
    uint32_t not_restored = 0;
    for (const staged_exporter& s : staged) {
        exporter_state* e = exporters.find_or_create(s.addr, s.last_seen_ns);
        if (e == nullptr) {
            ++not_restored;
            continue;
        }
        if (!apply_staged(s, *e)) return fail(error, "out of memory while restoring templates");
    }
    if (not_restored != 0)
        return fail(error, "exporter table full: " + std::to_string(not_restored) + " exporters not restored");
    return true;
}

std::shared_ptr<const saved_template_state> parse_saved_template_state(std::span<const uint8_t> bytes,
                                                                       const decoder_limits& limits,
                                                                       std::string* error) {
    try {
        auto s = std::make_shared<saved_template_state>();
        if (!parse_file(bytes, limits, s->exporters, error)) return nullptr;
        std::stable_sort(s->exporters.begin(), s->exporters.end(),
                         [](const staged_exporter& a, const staged_exporter& b) { return std::memcmp(a.addr, b.addr, 16) < 0; });
        return s;
    } catch (const std::bad_alloc&) {
        fail(error, "out of memory while reading the state file");
        return nullptr;
    }
}

bool apply_saved_template_state(const saved_template_state& saved, exporter_state& e) noexcept {
    const staged_exporter* s = saved.find(e.addr);
    if (s == nullptr || s->domains.empty()) return false;
    return apply_staged(*s, e);
}

std::size_t saved_exporter_count(const saved_template_state& saved) noexcept { return saved.exporters.size(); }

bool save_template_state(const exporter_table& exporters, const std::string& path, std::string* error) {
    const exporter_table* one[] = {&exporters};
    return save_template_state(one, path, error);
}

bool save_template_state(std::span<const exporter_table* const> tables, const std::string& path, std::string* error) {
    std::vector<uint8_t> bytes;
    try {
        bytes = serialize_template_state(tables);
    } catch (const std::bad_alloc&) {
        return fail(error, "out of memory while serializing template state for " + path);
    }
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return fail(error, errno_text("cannot create", tmp));
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            const std::string msg = errno_text("cannot write", tmp);
            ::close(fd);
            ::unlink(tmp.c_str());
            return fail(error, msg);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
        const std::string msg = errno_text("cannot fsync", tmp);
        ::close(fd);
        ::unlink(tmp.c_str());
        return fail(error, msg);
    }
    if (::close(fd) != 0) {
        const std::string msg = errno_text("cannot close", tmp);
        ::unlink(tmp.c_str());
        return fail(error, msg);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string msg = errno_text("cannot rename " + tmp + " to", path);
        ::unlink(tmp.c_str());
        return fail(error, msg);
    }
    // Make the rename itself durable.
    const std::size_t slash = path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return true;
}

namespace {

enum class read_result : uint8_t { ok, missing, failed };

read_result read_file(const std::string& path, std::vector<uint8_t>& bytes, std::string* error) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return read_result::missing;  // first start: nothing to restore
        fail(error, errno_text("cannot open", path));
        return read_result::failed;
    }
    uint8_t chunk[65536];
    try {
        for (;;) {
            const ssize_t n = ::read(fd, chunk, sizeof chunk);
            if (n < 0) {
                if (errno == EINTR) continue;
                fail(error, errno_text("cannot read", path));
                ::close(fd);
                return read_result::failed;
            }
            if (n == 0) break;
            if (bytes.size() + static_cast<std::size_t>(n) > template_state_max_bytes) {
                ::close(fd);
                fail(error, path + ": larger than " + std::to_string(template_state_max_bytes) + " bytes");
                return read_result::failed;
            }
            bytes.insert(bytes.end(), chunk, chunk + n);
        }
    } catch (const std::bad_alloc&) {
        ::close(fd);
        fail(error, path + ": out of memory");
        return read_result::failed;
    }
    ::close(fd);
    return read_result::ok;
}

// A file that cannot be loaded is moved aside, so the next save (which
// renames over `path`) never destroys it: an operator can still inspect or
// repair it.
void keep_aside(const std::string& path, std::string* error) {
    const std::string aside = path + ".rejected." + std::to_string(::time(nullptr)) + "." + std::to_string(::getpid());
    if (::rename(path.c_str(), aside.c_str()) == 0) {
        if (error != nullptr) *error += " (kept aside as " + aside + ")";
    } else if (error != nullptr) {
        *error += " (" + errno_text("could not move it aside to", aside) + ")";
    }
}

}  // namespace

bool load_template_state(exporter_table& exporters, const std::string& path, std::string* error) {
    std::vector<uint8_t> bytes;
    switch (read_file(path, bytes, error)) {
        case read_result::missing: return true;
        case read_result::failed: keep_aside(path, error); return false;
        case read_result::ok: break;
    }
    std::vector<staged_exporter> staged;
    std::string why;
    if (!parse_file(bytes, exporters.limits(), staged, &why)) {
        fail(error, path + ": " + why);
        keep_aside(path, error);
        return false;
    }
    if (!restore_template_state(exporters, bytes, &why)) return fail(error, path + ": " + why);
    return true;
}

std::shared_ptr<const saved_template_state> load_saved_template_state(const std::string& path,
                                                                      const decoder_limits& limits,
                                                                      std::string* error) {
    std::vector<uint8_t> bytes;
    switch (read_file(path, bytes, error)) {
        case read_result::missing: return std::make_shared<saved_template_state>();
        case read_result::failed: keep_aside(path, error); return nullptr;
        case read_result::ok: break;
    }
    std::string why;
    auto s = parse_saved_template_state(bytes, limits, &why);
    if (s == nullptr) {
        fail(error, path + ": " + why);
        keep_aside(path, error);
    }
    return s;
}

}  // namespace sluice::decode
