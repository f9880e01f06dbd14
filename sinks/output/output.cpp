// SPDX-License-Identifier: Apache-2.0
// The --output spec parser, the filter compiler and evaluator, and the downsampling hash.
#include "output.hpp"

#include <arpa/inet.h>

#include <bit>
#include <cctype>
#include <charconv>
#include <cstring>

namespace sluice::sinks {

namespace {

std::vector<std::string_view> split(std::string_view s, std::string_view sep) {
    std::vector<std::string_view> out;
    std::size_t at = 0;
    for (;;) {
        const std::size_t k = s.find(sep, at);
        out.push_back(s.substr(at, k == std::string_view::npos ? std::string_view::npos : k - at));
        if (k == std::string_view::npos) return out;
        at = k + sep.size();
    }
}

template <typename T>
bool number(std::string_view s, T& v) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc{} && p == s.data() + s.size() && !s.empty();
}

bool parse_prefix(std::string_view s, filter_value& v) {
    const auto slash = s.find('/');
    const std::string a(s.substr(0, slash));
    unsigned max = 128;
    uint8_t b4[4];
    if (inet_pton(AF_INET, a.c_str(), b4) == 1) {
        decode::set_ipv4(v.addr, b4);
        max = 32;
    } else if (inet_pton(AF_INET6, a.c_str(), v.addr) != 1) {
        return false;
    }
    unsigned len = max;
    if (slash != std::string_view::npos && (!number(s.substr(slash + 1), len) || len > max)) return false;
    v.prefix = uint8_t(max == 32 ? len + 96 : len);
    return true;
}

bool parse_proto(std::string_view s, uint32_t& n) {
    static constexpr std::pair<std::string_view, uint32_t> names[] = {
        {"icmp", 1}, {"tcp", 6}, {"udp", 17}, {"gre", 47}, {"esp", 50}, {"icmpv6", 58}, {"sctp", 132}};
    for (const auto& [k, v] : names)
        if (s == k) return n = v, true;
    return number(s, n) && n <= 255;
}

bool prefix_match(const uint8_t a[16], const filter_value& v) noexcept {
    const unsigned full = v.prefix / 8, rest = v.prefix % 8;
    if (std::memcmp(a, v.addr, full) != 0) return false;
    if (rest == 0) return true;
    const uint8_t mask = uint8_t(0xff << (8 - rest));
    return (a[full] & mask) == (v.addr[full] & mask);
}

bool compare(uint32_t x, filter_op op, uint32_t v) noexcept {
    switch (op) {
    case filter_op::eq: return x == v;
    case filter_op::ne: return x != v;
    case filter_op::lt: return x < v;
    case filter_op::le: return x <= v;
    case filter_op::gt: return x > v;
    case filter_op::ge: return x >= v;
    }
    return false;
}

group_lookup_fn g_group_fn = nullptr;
const void* g_group_ctx = nullptr;
tag_lookup_fn g_tag_fn = nullptr;
const void* g_tag_ctx = nullptr;

}  // namespace

void set_tag_lookup(tag_lookup_fn fn, const void* ctx) noexcept {
    g_tag_fn = fn;
    g_tag_ctx = ctx;
}

void set_group_lookup(group_lookup_fn fn, const void* ctx) noexcept {
    g_group_fn = fn;
    g_group_ctx = ctx;
}

record_filter::record_filter(std::string_view expr, std::string_view output) {
    const std::string where = "output " + std::string(output) + ": filter: ";
    if (expr.empty()) throw spec_error(where + "empty expression");
    for (std::string_view t : split(expr, "&&")) {
        static constexpr std::pair<std::string_view, filter_op> ops[] = {
            {"==", filter_op::eq}, {"!=", filter_op::ne}, {"<=", filter_op::le},
            {">=", filter_op::ge}, {"<", filter_op::lt},  {">", filter_op::gt}};
        std::size_t at = std::string_view::npos, oplen = 0;
        filter_op op{};
        for (const auto& [s, o] : ops) {
            const std::size_t k = t.find(s);
            if (k != std::string_view::npos && (at == std::string_view::npos || k < at || (k == at && s.size() > oplen))) {
                at = k;
                oplen = s.size();
                op = o;
            }
        }
        if (at == std::string_view::npos || at == 0)
            throw spec_error(where + "term '" + std::string(t) + "': want FIELD OP VALUE (OP: == != < <= > >=)");
        const std::string_view field = t.substr(0, at), rhs = t.substr(at + oplen);
        filter_term term;
        term.op = op;
        if (field == "exporter") term.field = filter_field::exporter;
        else if (field == "proto") term.field = filter_field::proto;
        else if (field == "type") term.field = filter_field::type;
        else if (field == "sampling") term.field = filter_field::sampling;
        else if (field == "kind") term.field = filter_field::kind;
        else if (field == "tag") term.field = filter_field::tag;
        else if (field == "group") term.field = filter_field::group;
        else
            throw spec_error(where + "unknown field '" + std::string(field) +
                             "' (exporter, proto, type, sampling, kind, tag, group)");
        const bool ordered = op != filter_op::eq && op != filter_op::ne;
        if (ordered && term.field != filter_field::proto && term.field != filter_field::sampling)
            throw spec_error(where + "'" + std::string(field) + "' takes only == or !=");
        const auto vals = split(rhs, "|");
        if (ordered && vals.size() != 1)
            throw spec_error(where + "'" + std::string(t) + "': < <= > >= take one value");
        for (std::string_view s : vals) {
            filter_value v;
            bool ok = false;
            switch (term.field) {
            case filter_field::exporter: ok = parse_prefix(s, v); break;
            case filter_field::proto: ok = parse_proto(s, v.n); break;
            case filter_field::sampling: ok = number(s, v.n); break;
            case filter_field::type:
                ok = true;
                if (s == "v5") v.n = uint32_t(decode::flow_type::netflow_v5);
                else if (s == "v9") v.n = uint32_t(decode::flow_type::netflow_v9);
                else if (s == "ipfix") v.n = uint32_t(decode::flow_type::ipfix);
                else if (s == "sflow") v.n = uint32_t(decode::flow_type::sflow_5);
                else ok = false;
                break;
            case filter_field::kind:
                ok = true;
                if (s == "flow") v.n = uint32_t(decode::record_kind::flow);
                else if (s == "counters") v.n = uint32_t(decode::record_kind::interface_counters);
                else ok = false;
                break;
            case filter_field::tag: {
                uint32_t bit = 0;
                if (s == "any") {
                    v.n = 0xffffffffu, ok = true;
                } else if (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) {
                    if (number(s, bit) && bit < 32) v.n = 1u << bit, ok = true;
                } else {  // a rule or tag name, matched by set_tag_lookup's function
                    ok = !s.empty();
                    for (char ch : s)
                        ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.');
                    if (ok) v.s = std::string(s);
                }
                break;
            }
            case filter_field::group:
                ok = !s.empty();
                for (char ch : s)
                    ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.');
                if (ok) v.s = s == "none" ? std::string() : std::string(s);
                break;
            }
            if (!ok) throw spec_error(where + "bad value '" + std::string(s) + "' for " + std::string(field));
            term.values.push_back(v);
        }
        _terms.push_back(std::move(term));
    }
}

bool record_filter::match(const decode::flow_record& r) const noexcept {
    for (const filter_term& t : _terms) {
        bool any = false;
        if (t.field == filter_field::exporter) {
            for (const auto& v : t.values) any |= prefix_match(r.sampler_address, v);
            if (any != (t.op == filter_op::eq)) return false;
            continue;
        }
        if (t.field == filter_field::tag) {
            for (const auto& v : t.values)
                any |= (r.signature_tags & v.n) != 0 ||
                       (!v.s.empty() && r.signature_tags != 0 && g_tag_fn != nullptr &&
                        g_tag_fn(g_tag_ctx, r.signature_tags, v.s));
            if (any != (t.op == filter_op::eq)) return false;
            continue;
        }
        if (t.field == filter_field::group) {
            const std::string_view g =
                g_group_fn != nullptr && r.exporter_attr_id != 0 ? g_group_fn(g_group_ctx, r.exporter_attr_id) : "";
            for (const auto& v : t.values) any |= g == v.s;
            if (any != (t.op == filter_op::eq)) return false;
            continue;
        }
        uint32_t x = 0;
        switch (t.field) {
        case filter_field::proto: x = r.proto; break;
        case filter_field::type: x = uint32_t(r.type); break;
        case filter_field::sampling: x = r.sampling_rate; break;
        case filter_field::kind: x = uint32_t(r.kind); break;
        case filter_field::exporter:
        case filter_field::tag:
        case filter_field::group: break;
        }
        if (t.op == filter_op::ne) {
            for (const auto& v : t.values) any |= x == v.n;
            if (any) return false;
            continue;
        }
        for (const auto& v : t.values) any |= compare(x, t.op, v.n);
        if (!any) return false;
    }
    return true;
}

uint64_t pair_hash(const decode::flow_record& r) noexcept {
    const bool swap = std::memcmp(r.src_addr, r.dst_addr, 16) > 0;
    const uint8_t* a = swap ? r.dst_addr : r.src_addr;
    const uint8_t* b = swap ? r.src_addr : r.dst_addr;
    uint64_t a0, a1, b0, b1;
    std::memcpy(&a0, a, 8);
    std::memcpy(&a1, a + 8, 8);
    std::memcpy(&b0, b, 8);
    std::memcpy(&b1, b + 8, 8);
    uint64_t h = (a0 ^ a1) * 0x9E3779B97F4A7C15ull + (b0 ^ b1);
    h ^= h >> 32;
    h *= 0xC2B2AE3D27D4EB4Full;
    return h ^ (h >> 32);
}
static_assert(std::endian::native == std::endian::little, "pair_hash's documented value assumes little-endian loads");

bool parse_format(std::string_view s, format& out) noexcept {
    for (uint8_t i = 0; i < k_format_count; ++i)
        if (s == format_name(static_cast<format>(i))) {
            out = static_cast<format>(i);
            return true;
        }
    return false;
}

std::string_view format_name(format f) noexcept {
    switch (f) {
        case format::json: return "json";
        case format::protobuf: return "protobuf";
        case format::protobuf_delimited: return "protobuf_delimited";
        case format::ecs_json: return "ecs_json";
        case format::avro: return "avro";
    }
    return "?";
}

output_config parse_output_spec(std::string_view spec, unsigned index) {
    output_config o;
    std::string who = "--output #" + std::to_string(index + 1);
    // The name first, so every later error names the output.
    for (std::string_view kv : split(spec, ","))
        if (kv.substr(0, 5) == "name=") {
            o.name = std::string(kv.substr(5));
            who = "--output " + o.name;
        }
    if (o.name.empty()) throw spec_error(who + ": missing key 'name' (want name=NAME,path=PATH,...)");
    for (char ch : o.name)
        if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-'))
            throw spec_error(who + ": key 'name': only letters, digits, '_' and '-'");
    bool have_path = false, seen_name = false, have_filter = false, agg_keys = false, kafka_key_given = false;
    bool hdfs_keys = false, spool_keys = false;
    std::string spool_bytes_text;
    std::string filter, want;
    hdfs::key_result hk{};
    for (std::string_view kv : split(spec, ",")) {
        const auto eq = kv.find('=');
        if (eq == std::string_view::npos || eq == 0)
            throw spec_error(who + ": '" + std::string(kv) + "' is not KEY=VALUE");
        const std::string_view k = kv.substr(0, eq), v = kv.substr(eq + 1);
        auto bad = [&](const char* want) {
            return spec_error(who + ": key '" + std::string(k) + "': bad value '" + std::string(v) + "' (" + want + ")");
        };
        if (k == "name") {
            if (seen_name) throw spec_error(who + ": key 'name' given twice");
            seen_name = true;
        } else if (k == "kafka") {
            if (v.empty()) throw bad("bootstrap brokers HOST:PORT[;HOST:PORT...] (';' between brokers)");
            // ',' separates spec keys: brokers are listed with ';' and handed to librdkafka with ','.
            o.kafka.brokers = std::string(v);
            for (char& ch : o.kafka.brokers)
                if (ch == ';') ch = ',';
            o.writer = writer_kind::kafka;
        } else if (k == "topic") {
            if (v.empty() || v.size() > 249) throw bad("a Kafka topic name, 1..249 characters");
            for (char ch : v)
                if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-'))
                    throw bad("a Kafka topic name: letters, digits, '.', '_', '-'");
            o.kafka.topic = std::string(v);
        } else if (k == "key") {
            if (v == "exporter") o.kafka.key = kafka_key::exporter;
            else if (v == "src") o.kafka.key = kafka_key::src;
            else if (v == "dst") o.kafka.key = kafka_key::dst;
            else if (v == "none") o.kafka.key = kafka_key::none;
            else if (v == "flow_id") o.kafka.key = kafka_key::flow_id;
            else throw bad("exporter, src, dst, flow_id or none");
            kafka_key_given = true;
        } else if (k == "compression") {
            if (v == "zstd") o.kafka.compression = kafka_compression::zstd;
            else if (v == "lz4") o.kafka.compression = kafka_compression::lz4;
            else if (v == "none") o.kafka.compression = kafka_compression::none;
            else throw bad("zstd, lz4 or none");
            kafka_key_given = true;
        } else if (k == "linger_ms") {
            if (!number(v, o.kafka.linger_ms) || o.kafka.linger_ms > 900000) throw bad("0..900000 ms");
            kafka_key_given = true;
        } else if (k == "batch") {
            if (!number(v, o.kafka.batch) || o.kafka.batch == 0 || o.kafka.batch > 1000000)
                throw bad("1..1000000 messages per batch");
            kafka_key_given = true;
        } else if (k.substr(0, 8) == "rdkafka.") {
            if (k.size() == 8) throw bad("rdkafka.PROPERTY=VALUE");
            o.kafka.props.emplace_back(std::string(k.substr(8)), std::string(v));
            kafka_key_given = true;
        } else if (k == "spool") {  // Kafka's and hdfs's alike
            if (v.empty()) throw bad("a directory");
            o.kafka.spool_root = std::string(v);
            if (hdfs::parse_key(o.hdfs, k, v, want) == hdfs::key_result::bad) throw bad(want.c_str());
            spool_keys = true;
        } else if (k == "spool_bytes") {  // Kafka's and hdfs's alike
            if (hdfs::parse_key(o.hdfs, k, v, want) == hdfs::key_result::bad) throw bad(want.c_str());
            if (!number(v, o.kafka.spool.max_bytes)) throw bad("bytes");
            spool_bytes_text = std::string(v);  // Kafka's bound (>= 4096) is checked once the writer is known
            spool_keys = true;
        } else if (k == "spool_segment_bytes") {
            if (!number(v, o.kafka.spool.segment_bytes) || o.kafka.spool.segment_bytes < 4096)
                throw bad("bytes, >= 4096");
            kafka_key_given = true;
        } else if (k == "spool_fsync_ms") {
            if (!number(v, o.kafka.spool.fsync_ms) || o.kafka.spool.fsync_ms > 600000)
                throw bad("0..600000 ms, 0 = every flush");
            kafka_key_given = true;
        } else if (k == "path") {
            if (v.empty()) throw bad("a file path, or - for stdout");
            o.file.path = std::string(v);
            have_path = true;
        } else if (k == "format") {
            if (!parse_format(v, o.fmt)) throw bad("json, ecs_json, protobuf, protobuf_delimited, or avro with hdfs=");
        } else if (k == "filter") {
            filter = std::string(v);
            have_filter = true;
        } else if (k == "sample") {
            if (!number(v, o.sample) || o.sample == 0) throw bad("N >= 1: keep 1 record in N");
        } else if (k == "roll_bytes") {
            if (!number(v, o.file.roll_bytes)) throw bad("bytes, 0 = never roll");
            o.hdfs.roll_bytes = o.file.roll_bytes;
        } else if (k == "flush_ms") {
            if (!number(v, o.file.flush_ms) || o.file.flush_ms == 0 || o.file.flush_ms > 60000)
                throw bad("1..60000 ms");
        } else if (k == "aggregate") {
            try {
                o.agg.dims = parse_agg_dims(v);
            } catch (const std::invalid_argument& e) {
                throw spec_error(who + ": key 'aggregate': " + e.what());
            }
            o.aggregate = true;
        } else if (k == "window" || k == "lateness" || k == "top" || k == "max_keys" || k == "history" ||
                   k == "max_age") {
            uint32_t n = 0;
            if (!number(v, n)) throw bad("a whole number");
            (k == "window" ? o.agg.window_s : k == "lateness" ? o.agg.lateness_s : k == "top" ? o.agg.top_k
             : k == "max_keys" ? o.agg.max_keys : k == "max_age" ? o.agg.max_age_s : o.agg.history) = n;
            agg_keys = true;
        } else if ((hk = hdfs::parse_key(o.hdfs, k, v, want)) != hdfs::key_result::unknown) {
            if (hk == hdfs::key_result::bad) throw bad(want.c_str());
            if (k == "hdfs") o.writer = writer_kind::hdfs;
            hdfs_keys = true;
        } else {
            throw spec_error(who + ": unknown key '" + std::string(k) +
                             "' (name, path, format, filter, sample, roll_bytes, flush_ms, aggregate, window, "
                             "lateness, top, max_keys, history, max_age; with kafka=: topic, key, compression, "
                             "linger_ms, batch, rdkafka.PROP, spool, spool_bytes, spool_segment_bytes, spool_fsync_ms; "
                             "with hdfs=: table, roll_seconds, codec, spool, spool_bytes, user, token, drain_s, "
                             "retry_max_ms, host)");
        }
    }
    if (agg_keys && !o.aggregate)
        throw spec_error(who + ": window, lateness, top, max_keys, history and max_age need aggregate=DIMS");
    if (o.aggregate) {
        try {
            check_agg_config(o.agg);
        } catch (const std::invalid_argument& e) {
            throw spec_error(who + ": aggregate: " + e.what());
        }
        if (o.writer != writer_kind::file || o.fmt != format::json)
            throw spec_error(who + ": aggregate: rows are JSON lines written to a file (path=)");
        o.agg_history = std::make_shared<window_history>(o.agg.history);
    }
    if (o.writer == writer_kind::kafka) {
        if (have_path) throw spec_error(who + ": 'path' and 'kafka' exclude each other (one writer per output)");
        if (hdfs_keys) throw spec_error(who + ": 'kafka' and 'hdfs' exclude each other (one writer per output)");
        if (o.kafka.topic.empty()) throw spec_error(who + ": missing key 'topic' (kafka=BROKERS needs topic=T)");
        if (o.fmt == format::avro) throw spec_error(who + ": key 'format': avro needs hdfs=DIR|URL");
        if (!spool_bytes_text.empty() && o.kafka.spool.max_bytes < 4096)
            throw spec_error(who + ": key 'spool_bytes': bad value '" + spool_bytes_text + "' (bytes, >= 4096)");
    } else if (o.writer == writer_kind::hdfs) {
        if (have_path) throw spec_error(who + ": key 'path': an hdfs= output writes under its directory, not a path");
        if (kafka_key_given || !o.kafka.topic.empty())
            throw spec_error(who + ": Kafka keys (topic, key, compression, ...) need kafka=BROKERS");
        if (o.fmt != format::avro) throw spec_error(who + ": key 'format': hdfs= writes Avro (format=avro)");
    } else {
        if (kafka_key_given || !o.kafka.topic.empty())
            throw spec_error(who + ": Kafka keys (topic, key, compression, ...) need kafka=BROKERS");
        if (hdfs_keys) throw spec_error(who + ": table, roll_seconds, codec, user, ... need key 'hdfs'");
        if (spool_keys) throw spec_error(who + ": spool and spool_bytes need kafka=BROKERS or hdfs=DIR|URL");
        if (o.fmt == format::avro) throw spec_error(who + ": key 'format': avro needs hdfs=DIR|URL");
        if (!have_path) throw spec_error(who + ": missing key 'path'");
        if (o.fmt == format::protobuf)
            throw spec_error(who + ": key 'format': protobuf (one message per record, unframed) needs a writer that "
                                   "keeps message boundaries; a file takes protobuf_delimited");
    }
    if (have_filter) {
        record_filter(filter, o.name);  // validates; throws naming the output
        o.filter = filter;
    }
    return o;
}

void check_outputs(const std::vector<output_config>& outs) {
    for (std::size_t i = 0; i < outs.size(); ++i)
        for (std::size_t j = 0; j < i; ++j) {
            if (outs[i].name == outs[j].name) throw spec_error("--output " + outs[i].name + ": key 'name': used twice");
            if (outs[i].writer == writer_kind::file && outs[j].writer == writer_kind::file &&
                outs[i].file.path == outs[j].file.path && outs[i].file.path != "/dev/null")
                throw spec_error("--output " + outs[i].name + ": key 'path': " + outs[i].file.path +
                                 " is also output " + outs[j].name + "'s");
        }
}

}  // namespace sluice::sinks
