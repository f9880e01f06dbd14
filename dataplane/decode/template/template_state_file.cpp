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
#include <map>
#include <memory>

#include "template_store.hpp"

namespace sluice::decode {

namespace {

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

}  // namespace

std::vector<uint8_t> serialize_template_state(std::span<const exporter_table* const> tables) {
    // One entry per exporter address: the copy seen most recently. With
    // several workers, the saved state was restored into every worker at
    // start, but only the worker RSS steers the exporter to keeps it fresh.
    std::map<std::array<uint8_t, 16>, const exporter_state*> freshest;
    std::vector<const exporter_state*> chosen;
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
            if (auto it = freshest.find(key); it != freshest.end() && it->second == &e) chosen.push_back(&e);
        });

    writer w;
    w.bytes(reinterpret_cast<const uint8_t*>(magic), sizeof magic);
    w.put<uint32_t>(template_state_format_version);
    w.put<uint32_t>(0);  // CRC, patched below
    w.put<uint64_t>(0);  // body length, patched below
    const std::size_t body = w.buf.size();
    w.put<uint32_t>(0);  // exporter count, patched below
    uint32_t n_exporters = 0;
    for (const exporter_state* ep : chosen) {
        const exporter_state& e = *ep;
        const netflow_state* st = e.netflow.get();
        ++n_exporters;
        w.bytes(e.addr, 16);
        w.put<uint64_t>(e.first_seen_ns);
        w.put<uint64_t>(e.last_seen_ns);
        w.put<uint32_t>(static_cast<uint32_t>(st->domains.size()));
        for (const auto& d : st->domains) {
            w.put<uint8_t>(d->version);
            w.put<uint16_t>(d->port);
            w.put<uint32_t>(d->id);
            w.put<uint32_t>(d->sampling_rate);
            w.put<uint8_t>(d->sys_init_valid ? 1 : 0);
            w.put<uint64_t>(d->sys_init_ms);
            w.put<uint32_t>(static_cast<uint32_t>(d->samplers.size()));
            for (const auto& s : d->samplers) {
                w.put<uint64_t>(s.id);
                w.put<uint32_t>(s.rate);
            }
            uint32_t n_templates = 0;  // tombstones (refused redefinitions) are not saved
            for (const auto& t : d->templates) n_templates += t.refused ? 0 : 1;
            w.put<uint32_t>(n_templates);
            for (const auto& t : d->templates) {
                if (t.refused) continue;
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
        }
    }
    w.put_at(body, n_exporters, 4);
    w.put_at(12, crc32(w.buf.data() + body, w.buf.size() - body), 4);
    w.put_at(16, w.buf.size() - body, 8);
    return std::move(w.buf);
}

std::vector<uint8_t> serialize_template_state(const exporter_table& exporters) {
    const exporter_table* one[] = {&exporters};
    return serialize_template_state(one);
}

bool restore_template_state(exporter_table& exporters, std::span<const uint8_t> bytes, std::string* error) {
    if (bytes.size() < file_header_size) return fail(error, "truncated header (" + std::to_string(bytes.size()) + " bytes)");
    if (std::memcmp(bytes.data(), magic, sizeof magic) != 0) return fail(error, "not a Sluice template state file (bad magic)");
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

    std::vector<staged_exporter> staged;
    reader r(body);
    try {
        if (!parse_body(r, version, exporters.limits(), staged, error)) return false;
    } catch (const std::bad_alloc&) {
        return fail(error, "out of memory while reading the state file");
    }

    // Apply: everything validated above.
    const decoder_limits& limits = exporters.limits();
    uint32_t not_restored = 0;
    for (staged_exporter& s : staged) {
        exporter_state* e = exporters.find_or_create(s.addr, s.last_seen_ns);
        if (e == nullptr) {
            ++not_restored;
            continue;
        }
        if (e->first_seen_ns > s.first_seen_ns) e->first_seen_ns = s.first_seen_ns;
        for (std::size_t i = static_cast<std::size_t>(counter::err_truncated_header); i < counter_count; ++i)
            e->counters.v[i] += s.rejected.v[i];
        netflow_state* st = tmpl::netflow_of(*e);
        if (st == nullptr) return fail(error, "out of memory while restoring templates");
        for (auto& d : s.domains) {
            tmpl::template_domain* live = st->find(d->version, d->port, d->id);
            if (live == nullptr) {
                if (st->domains.size() >= limits.max_domains_per_exporter) {
                    e->counters.add(counter::err_template_limit);
                    continue;
                }
                e->counters.add(counter::templates_restored, d->templates.size());
                st->adopt(std::move(d));
                continue;
            }
            // Learned since start-up: keep what is live, add what is missing.
            if (live->sampling_rate == 0) live->sampling_rate = d->sampling_rate;
            if (!live->sys_init_valid) {
                live->sys_init_valid = d->sys_init_valid;
                live->sys_init_ms = d->sys_init_ms;
            }
            for (const auto& sr : d->samplers)
                if (live->rate_for(sr.id) == 0 && live->samplers.size() < tmpl::max_samplers_per_domain)
                    live->samplers.push_back(sr);
            for (auto& t : d->templates) {
                if (live->find(t.id) != nullptr) continue;
                if (live->templates.size() >= limits.max_templates_per_domain) {
                    e->counters.add(counter::err_template_limit);
                    continue;
                }
                auto at = std::lower_bound(live->templates.begin(), live->templates.end(), t.id,
                                           [](const tmpl::compiled_template& x, uint16_t id) { return x.id < id; });
                const int64_t cost = static_cast<int64_t>(tmpl::template_cost(t));
                live->templates.insert(at, std::move(t));
                tmpl::account(*live, cost);
                e->counters.add(counter::templates_restored);
            }
        }
    }
    if (not_restored != 0)
        return fail(error, "exporter table full: " + std::to_string(not_restored) + " exporters not restored");
    return true;
}

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

bool load_template_state(exporter_table& exporters, const std::string& path, std::string* error) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return true;  // first start: nothing to restore
        return fail(error, errno_text("cannot open", path));
    }
    std::vector<uint8_t> bytes;
    uint8_t chunk[65536];
    try {
        for (;;) {
            const ssize_t n = ::read(fd, chunk, sizeof chunk);
            if (n < 0) {
                if (errno == EINTR) continue;
                const std::string msg = errno_text("cannot read", path);
                ::close(fd);
                return fail(error, msg);
            }
            if (n == 0) break;
            if (bytes.size() + static_cast<std::size_t>(n) > template_state_max_bytes) {
                ::close(fd);
                return fail(error, path + ": larger than " + std::to_string(template_state_max_bytes) + " bytes");
            }
            bytes.insert(bytes.end(), chunk, chunk + n);
        }
    } catch (const std::bad_alloc&) {
        ::close(fd);
        return fail(error, path + ": out of memory");
    }
    ::close(fd);
    std::string why;
    if (!restore_template_state(exporters, bytes, &why)) return fail(error, path + ": " + why);
    return true;
}

}  // namespace sluice::decode
