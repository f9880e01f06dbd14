// SPDX-License-Identifier: Apache-2.0
// An output of the sink stage: its `--output` spec parser, its compiled filter and its 1-in-N downsampling.
//
// Spec (one `--output` per output, keys in any order, no spaces):
//   name=NAME,path=PATH[,format=json|ecs_json|protobuf_delimited|protobuf][,filter=EXPR][,sample=N][,roll_bytes=N][,flush_ms=N]
//   name=NAME,kafka=HOST:PORT[;HOST:PORT...],topic=T[,format=json|ecs_json|protobuf|protobuf_delimited][,filter=EXPR][,sample=N][,key=exporter|src|dst|none]
//        [,compression=zstd|lz4|none][,linger_ms=N][,batch=N][,rdkafka.PROP=VALUE...]
//        [,spool=DIR][,spool_bytes=N][,spool_segment_bytes=N][,spool_fsync_ms=N]     (sinks/kafka/README.md)
//   name=NAME,format=avro,hdfs=DIR|http[s]://NN:PORT[/PATH][,table=flows][,roll_bytes=N][,roll_seconds=N]
//        [,codec=deflate|snappy|null][,spool=DIR][,spool_bytes=N][,user=U|,token=T][,drain_s=N]  (sinks/hdfs/)
// Filter (a conjunction of terms; a term matches when any of its values does):
//   EXPR  := TERM ( '&&' TERM )*
//   TERM  := FIELD OP VALUE ( '|' VALUE )*
//   FIELD := exporter | proto | type | sampling | kind | tag | group
//   OP    := == | !=            (proto and sampling also < <= > >=, one value)
//   exporter values: an address or prefix (10.0.0.1, 10.0.0.0/8, 2001:db8::/32)
//   proto: a number or tcp|udp|icmp|icmpv6|sctp|gre|esp
//   type: v5|v9|ipfix|sflow    kind: flow|counters    sampling: the record's 1-in-N rate
//   tag: a signature rule's bit 0..31 (--rules payload rules, signature_tags), any, or a NAME: a matched payload
//        rule named NAME or carrying the tag NAME (set_tag_lookup; a number is a bit)   (== and != only)
//   group: the exporter's group from the enrichment tables (--enrich-exporters), or none (== and != only)
// Example: filter=proto==6|17&&exporter!=10.0.0.0/8&&sampling>1
// Details and examples: sinks/output/README.md.
//
// Pure code over records: no DPDK, no I/O. The sink lcore calls match() and
// keep() per record; both are branch-light and allocation free.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"
#include "dataplane/decode/flow_record.hpp"

namespace sluice::sinks {

// A bad --output spec or filter. what() names the output (by name, or by
// position when it has none yet) and the key.
struct spec_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A format's spec name ("json", "protobuf", "protobuf_delimited", "ecs_json") and back.
bool parse_format(std::string_view s, format& out) noexcept;
std::string_view format_name(format f) noexcept;

// Parses one --output SPEC; `index` (0-based) names it in errors until its name is known.
output_config parse_output_spec(std::string_view spec, unsigned index);

// Checks a set of outputs together (unique names); throws spec_error.
void check_outputs(const std::vector<output_config>& outs);

enum class filter_field : uint8_t { exporter, proto, type, sampling, kind, tag, group };
enum class filter_op : uint8_t { eq, ne, lt, le, gt, ge };

struct filter_value {
    uint8_t addr[16]{};  // exporter: IPv4-mapped for IPv4
    uint8_t prefix = 0;  // exporter: prefix length over the 16 bytes
    uint32_t n = 0;      // proto / type / sampling / kind; tag: the bit mask (any = every bit; 0: by name)
    std::string s;       // group: the group name ("" = none); tag: a rule or tag name
};

// The exporter group of a record's exporter_attr_id (the enrichment tables' `group` attribute; "" = none).
// Set once by the composition root before the sink cores start, read-only after; unset = every record's
// group is "" (no enrichment).
using group_lookup_fn = std::string_view (*)(const void* ctx, uint32_t exporter_attr_id) noexcept;
void set_group_lookup(group_lookup_fn fn, const void* ctx) noexcept;

// Whether a record's signature_tags include a payload rule named `name` or tagged `name` (--rules:
// enrich/classify/labels.hpp). Set like the group lookup; unset = no name matches.
using tag_lookup_fn = bool (*)(const void* ctx, uint32_t signature_tags, std::string_view name) noexcept;
void set_tag_lookup(tag_lookup_fn fn, const void* ctx) noexcept;

struct filter_term {
    filter_field field;
    filter_op op;
    std::vector<filter_value> values;
};

class record_filter {
public:
    record_filter() = default;  // matches everything
    // Throws spec_error("output NAME: filter: ...").
    record_filter(std::string_view expr, std::string_view output);
    bool empty() const noexcept { return _terms.empty(); }
    bool match(const decode::flow_record& r) const noexcept;

private:
    std::vector<filter_term> _terms;
};

// Symmetric hash of the record's address pair: the same for (src, dst) and
// (dst, src), so a 1-in-N choice keeps both directions of a conversation.
//   a, b = the two 16-byte addresses ordered by memcmp (a <= b)
//   x = lo64(a) ^ hi64(a), y = lo64(b) ^ hi64(b)   (little-endian loads of bytes 0-7 / 8-15)
//   h = x * 0x9E3779B97F4A7C15 + y;  h ^= h >> 32;  h *= 0xC2B2AE3D27D4EB4F;  h ^= h >> 32   (mod 2^64)
//   kept when h % N == 0
// The xor-shifts fold the high bits (where IPv4-mapped addresses differ) into the low ones.
uint64_t pair_hash(const decode::flow_record& r) noexcept;

inline bool keep_sample(const decode::flow_record& r, uint32_t n) noexcept { return pair_hash(r) % n == 0; }

// The kept record's rate: sampling_rate * N, where an unknown rate (0) counts
// as 1 (unsampled); saturates at 2^32 - 1.
inline uint32_t scaled_rate(uint32_t rate, uint32_t n) noexcept {
    const uint64_t v = uint64_t(rate == 0 ? 1 : rate) * n;
    return v > 0xffffffffull ? 0xffffffffu : uint32_t(v);
}

}  // namespace sluice::sinks
