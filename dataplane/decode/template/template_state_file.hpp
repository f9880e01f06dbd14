// SPDX-License-Identifier: Apache-2.0
// Persistence of NetFlow v9 / IPFIX templates and learned sampling rates, so
// that a restarted collector decodes data at once instead of dropping it
// until every exporter re-sends its templates (up to 30 minutes on some).
//
// Ownership and lifetime:
//
//   sluiced ──start──► load_template_state(table) ──► exporter_state::netflow
//           ──timer / shutdown──► save_template_state(table) ──► file
//
//   * Both functions run on the thread that owns the exporter_table (they
//     read or write its template state without locks); they do I/O and
//     allocate, so never call them from a worker's data path.
//   * Saved: per exporter address, per (protocol version, domain id): every
//     template as declared (id, kind, scope count, fields, last refresh
//     time), the domain sampling rate, per-sampler rates and the learned
//     systemInitTimeMilliseconds. Not saved: sequence state (it re-syncs on
//     the first datagram) and counters.
//   * Restored templates keep their saved refresh time, so templates older
//     than decoder_limits::template_timeout_ns expire on first use as usual.
//
// File format (version 2, little-endian), written to `path.tmp.<pid>`,
// fsynced, then renamed over `path` (readers see the old or the new file,
// never a mix):
//
//   "SLUICETS" | u32 format version | u32 CRC-32 (IEEE) of body | u64 body length | body
//   body    = u32 n_exporters, exporter*
//   exporter= addr[16], u64 first_seen_ns, u64 last_seen_ns, u32 n_domains, domain*
//   domain  = u8 version (9|10), u16 source port (format 2), u32 id, u32 sampling_rate, u8 sys_init_valid,
//             u64 sys_init_ms, u32 n_samplers, {u64 id, u32 rate}*, u32 n_templates, template*
//   template= u16 id, u8 options, u16 scope_count, u64 last_seen_ns, u16 n_fields,
//             {u16 ie, u16 length, u32 enterprise}*
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "../decoder.hpp"

namespace sluice::decode {

// 2: domains carry the session's source port. Format 1 files still load
// (their sessions get port 0, which later sessions of the domain inherit).
constexpr uint32_t template_state_format_version = 2;
// Largest state file accepted: far above what max_exporters x domains x
// templates produce in practice, small enough to read into memory.
constexpr uint64_t template_state_max_bytes = 256ull << 20;

// What one save wrote and what the size bound left out.
struct template_save_stats {
    uint64_t bytes = 0;
    uint32_t exporters = 0;
    uint32_t exporters_capped = 0;     // saved with some templates left out (over their fair share)
    uint32_t exporters_left_out = 0;   // not saved at all (not even a header fitted)
    uint64_t templates_left_out = 0;
};

// Writes every exporter's template state to `path` atomically (temp file +
// fsync + rename). Returns false and sets *error (when non-null) naming the
// path and the errno text on failure; `path` is then left as it was.
bool save_template_state(const exporter_table& exporters, const std::string& path, std::string* error);

// Several workers' tables into one file. An exporter present in several
// tables (the state is restored into every worker at start, because RSS
// decides which worker an exporter lands on) is saved from the table where
// it was seen most recently, so a template redefined on the worker that
// receives the exporter wins over an idle worker's restored copy.
bool save_template_state(std::span<const exporter_table* const> tables, const std::string& path,
                         std::string* error);

// Restores state saved by save_template_state() into `exporters` at once
// (tests, tools; sluiced restores lazily, see saved_template_state). The whole file is checked
// (magic, version, length, CRC, structure) before anything is applied: a
// corrupt or truncated file changes nothing, returns false and sets *error.
// A missing file is a first start: returns true, restores nothing.
// Templates are re-validated against the current decoder_limits; ones that no
// longer fit are skipped and counted in their err_* counter. Restored
// templates are counted in counter::templates_restored per exporter; a
// template already present (learned since start-up) is kept, not replaced.
// Returns false (after restoring what fit) when the exporter table is full.
bool load_template_state(exporter_table& exporters, const std::string& path, std::string* error);

// A file that cannot be loaded (corrupt, too large, unreadable) is renamed
// to `path.rejected.<unix time>.<pid>` (named in *error), so the next save
// cannot overwrite it.

// The same, in memory (tests, fuzzers, `sluice-decode`). The file never
// exceeds `max_bytes` (default template_state_max_bytes, what loading
// accepts): when the state does not fit, every exporter gets a fair share
// (water-filling: small exporters keep everything, the rest split what is
// left) and what is over a share is left out, counted in *stats.
// Exporters in a table's saved_state() that have not been applied yet (not
// seen since the start) are saved as they were loaded.
std::vector<uint8_t> serialize_template_state(const exporter_table& exporters);
std::vector<uint8_t> serialize_template_state(std::span<const exporter_table* const> tables);
std::vector<uint8_t> serialize_template_state(std::span<const exporter_table* const> tables, uint64_t max_bytes,
                                              template_save_stats* stats);
bool restore_template_state(exporter_table& exporters, std::span<const uint8_t> bytes, std::string* error);

// Lazy restore (sluiced): the file is read and validated once into an
// immutable saved_template_state shared by every worker's table
// (exporter_table::set_saved_state). A worker applies an exporter's saved
// state on that exporter's first datagram, before decoding it, so the state
// lands only on the worker RSS steers the exporter to, and
// templates_restored counts each template once. A missing file gives an
// empty state; a bad one nullptr (and it is kept aside).
std::shared_ptr<const saved_template_state> load_saved_template_state(const std::string& path,
                                                                      const decoder_limits& limits,
                                                                      std::string* error);
std::shared_ptr<const saved_template_state> parse_saved_template_state(std::span<const uint8_t> bytes,
                                                                       const decoder_limits& limits,
                                                                       std::string* error);
std::size_t saved_exporter_count(const saved_template_state& saved) noexcept;

}  // namespace sluice::decode
