// SPDX-License-Identifier: Apache-2.0
// Avro encoding of flow_record (schema sinks/avro/flow.avsc) and an object-container file over avro-c.
//
// The datum encoder writes the Avro binary encoding of one record itself
// (zigzag varints, length-prefixed strings, union branch indexes) straight
// into the caller's buffer: no avro_value_t per record, no allocation, no
// libc call. avro-c owns the object-container format (header, schema, sync
// markers, blocks, deflate/snappy) through avro_file_writer_append_encoded,
// which copies the datum bytes into its block buffer. Why: building an
// avro_value_t per record through the generic API and avro_value_write ran
// at ~0.5 M records/s of CPU time here (perf/avro_bench
// BM_avro_generic_value), the hand encoder at ~13 M (BM_avro_encode), in the
// same run; perf/avro_bench checks the two produce the same bytes for every
// fixture record. See perf/RESULTS.md.
//
// The encoder and flow.avsc must agree field for field: tests/sinks/avro_test
// decodes with avro-c's generic reader against flow.avsc, and the integration
// test with python3-avro.
//
// Ownership: avro_container owns its avro-c writer and schema (RAII); one
// thread uses it (the HDFS writer thread, sinks/hdfs/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dataplane/decode/flow_record.hpp"
#include "sinks/encode/enriched.hpp"

struct avro_file_writer_t_;
struct avro_obj_t;

namespace sluice::sinks::avro {

// The largest datum encode_flow writes: 116 fields, six addresses of at most
// 39 characters, two MACs, varints of at most 10 bytes (the flow id's 10 too),
// one byte per null enriched field: under 1 KiB (the widest record is tested), plus at most
// k_max_enriched_values bytes of enriched values (strings with their lengths,
// numbers, the maps' entries): a value that would not fit is null (an entry
// left out of its map), never cut.
constexpr std::size_t k_max_base_datum = 1024;
constexpr std::size_t k_max_enriched_values = 3072;
constexpr std::size_t k_max_datum = k_max_base_datum + k_max_enriched_values;

// Writes r's datum at out (at least k_max_datum bytes); returns its length. With e (enrichment on), the
// enriched attributes of the record's ids (encode/enriched.hpp) fill the fields after if_out_discards; without,
// they are null (extrapolated_bytes, _packets and signature_tags are the record's either way). The last two,
// flow_id (encode/flow_id.hpp) and record_index, are always set.
std::size_t encode_flow(const decode::flow_record& r, uint8_t* out,
                        const encode::enrichment* e = nullptr) noexcept;

// The schema text (flow.avsc, embedded at build time).
std::string_view flow_schema() noexcept;

enum class codec : uint8_t { null, deflate, snappy };
std::string_view codec_name(codec c) noexcept;  // "null", "deflate", "snappy": the avro.codec metadata value

// avro-c's block buffer: a block is written (and compressed) when the next
// datum would not fit. 1 MiB: ~7000 records per block, few sync markers,
// and a compression window large enough for deflate and snappy to find
// the repetition between records (measured: perf/RESULTS.md).
constexpr std::size_t k_block_bytes = 1 << 20;

// One object-container file being written. Not copyable.
class avro_container {
public:
    avro_container() = default;
    ~avro_container();
    avro_container(const avro_container&) = delete;
    avro_container& operator=(const avro_container&) = delete;

    // Creates (truncates) path; false with error() set on failure.
    bool open(const std::string& path, codec c, std::size_t block_bytes = k_block_bytes) noexcept;
    // Appends one encoded datum; false on failure (the file is then unusable).
    bool append(const void* datum, std::size_t len) noexcept;
    // Writes the last block and closes; false on failure.
    bool close() noexcept;
    bool is_open() const noexcept { return _w != nullptr; }
    const std::string& error() const noexcept { return _error; }

private:
    avro_file_writer_t_* _w = nullptr;
    avro_obj_t* _schema = nullptr;
    std::string _error;
};

}  // namespace sluice::sinks::avro
