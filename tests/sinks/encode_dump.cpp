// SPDX-License-Identifier: Apache-2.0
// Test tool: decodes pcaps as sluice-decode does and writes every record in one sink format to stdout, so the
// Python compatibility tests (protoc-generated decoder, ECS definitions) read exactly what the encoders emit.
//   encode_dump FORMAT PCAP...   FORMAT: ecs_json | protobuf_delimited | reference
//   encode_dump FORMAT --max     one synthetic record with every field set (a wide one)
//   encode_dump FORMAT --enriched      the enriched records of tests/sinks/enriched_fixture.hpp, encoded with
//                                      the enrichment (protobuf_delimited), or `avro PATH`: an Avro container
//                                      file of them; `plain_protobuf_delimited`: the same records without it
//   encode_dump ecs_json --enriched   the maxed record (twice) and an interface-counters one with enrichment sets
//                                holding every built-in key and a custom one (enrich/tables/resolve.hpp): every
//                                scope, the sets with a subdivision code and with a name both ways round
// `reference` is sluice-decode's JSON line plus "record_index", "times_from_export" and "flow_id": the values to
// check against.
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/decode/record_format.hpp"
#include "dataplane/offline/offline_reader.hpp"
#include "enrich/classify/labels.hpp"
#include "enrich/tables/resolve.hpp"
#include "sinks/encode/ecs_from_cache.hpp"
#include "sinks/encode/ecs_json.hpp"
#include "sinks/encode/flow_id.hpp"
#include "sinks/avro/avro.hpp"
#include "sinks/encode/protobuf.hpp"
#include "enriched_fixture.hpp"

using namespace sluice;

namespace {

decode::flow_record max_record() {
    decode::flow_record r{};
    auto v6 = [](uint8_t* a, uint8_t last) {
        for (int i = 0; i < 16; ++i) a[i] = static_cast<uint8_t>(0x20 + i);
        a[15] = last;
    };
    v6(r.src_addr, 1);
    v6(r.dst_addr, 2);
    v6(r.next_hop, 3);
    const uint8_t exp[4] = {192, 0, 2, 1};
    decode::set_ipv4(r.sampler_address, exp);
    v6(r.bgp_next_hop, 4);
    const uint8_t n1[4] = {198, 51, 100, 1}, n2[4] = {198, 51, 100, 2};
    decode::set_ipv4(r.post_nat_src_addr, n1);
    decode::set_ipv4(r.post_nat_dst_addr, n2);
    r.bytes = 0xffffffffffffffffull;
    r.packets = 0xfffffffffffffffeull;
    r.time_flow_start_ns = 1764547200123456789ull;
    r.time_flow_end_ns = 1764547260987654321ull;
    r.time_received_ns = 1764547261000000001ull;
    r.sampling_rate = 0xffffffffu;
    r.sequence_num = 0xfffffffeu;
    r.observation_domain_id = 0xfffffffdu;
    r.in_if = 0xfffffffcu;
    r.out_if = 0xfffffffbu;
    r.src_as = 4200000000u;
    r.dst_as = 4200000001u;
    r.mpls_label = 0xfffff;
    r.src_port = 65535;
    r.dst_port = 65534;
    r.vlan_id = 4094;
    r.etype = 0x86dd;
    r.proto = 6;
    r.tcp_flags = 0xff;
    r.ip_tos = 0xff;
    r.src_net = 128;
    r.dst_net = 127;
    r.icmp_type = 255;
    r.icmp_code = 254;
    r.direction = decode::flow_direction::egress;
    r.type = decode::flow_type::ipfix;
    r.kind = decode::record_kind::flow;
    r.export_version = 10;
    r.flags = decode::record_flags::biflow_reverse | decode::record_flags::sampling_overridden;
    const uint8_t sm[6] = {0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc}, dm[6] = {0xfe, 0xff, 0x00, 0x01, 0x02, 0x0f};
    std::memcpy(r.src_mac, sm, 6);
    std::memcpy(r.dst_mac, dm, 6);
    r.src_vlan = 4093;
    r.dst_vlan = 4092;
    r.extrapolated_bytes = 0xfffffffffffffff0ull;
    r.extrapolated_packets = 0xfffffffffffffff1ull;
    r.ipv6_flow_label = 0xfffff;
    r.next_hop_as = 4200000002u;
    r.post_nat_src_port = 65533;
    r.post_nat_dst_port = 65532;
    r.inner_vlan_id = 4091;
    r.ip_ttl = 255;
    r.forwarding_status = 0xff;
    r.flow_end_reason = 5;
    r.in_if_format = decode::if_format::local;
    r.out_if_format = decode::if_format::multiple;
    r.signature_tags = 0xffffffffu;
    r.record_index = 0xffff;
    return r;
}

void emit(std::string_view fmt, const decode::flow_record& r) {
    static char text[8192];
    static uint8_t bin[sinks::encode::k_protobuf_delimited_max];
    if (fmt == "ecs_json") {
        const std::size_t n = sinks::encode::ecs_json_encode(r, text);
        text[n] = '\n';
        std::fwrite(text, 1, n + 1, stdout);
    } else if (fmt == "protobuf_delimited") {
        std::fwrite(bin, 1, sinks::encode::protobuf_encode_delimited(r, bin), stdout);
    } else {
        std::size_t n = decode::format_json(r, text, sizeof text);
        if (r.kind == decode::record_kind::interface_counters) {
            // The counters line leaves out the flow fields; the record still has them (times, direction, ...):
            // append its flow-shaped rendering so the reference holds every field ("as_flow", merged by the test).
            decode::flow_record f = r;
            f.kind = decode::record_kind::flow;
            std::memcpy(text + n - 1, ",\"as_flow\":", 11);
            n += 10;
            n += decode::format_json(f, text + n, sizeof text - n);
            text[n++] = '}';
        }
        n += static_cast<std::size_t>(std::snprintf(text + n - 1, sizeof text - n, ",\"record_index\":%u,\"times_from_export\":%s,\"flow_id\":%llu}\n",
                                                    unsigned(r.record_index),
                                                    (r.flags & decode::record_flags::times_from_export) ? "true" : "false",
                                                    static_cast<unsigned long long>(sinks::encode::flow_id(r))) - 1);
        std::fwrite(text, 1, n, stdout);
    }
}

// Every key with a value of its kind, the state as an ISO subdivision code or a name.
uint32_t full_set(enrich::interner& in, const enrich::key_registry& keys, bool state_code, const char* tag) {
    using enrich::key;
    enrich::set_builder b;
    for (uint16_t k = 0; k < keys.size(); ++k) {
        std::string v = std::string(keys.name(k).substr(0, 2)) + tag;  // short: all five scopes fit the room
        switch (k < enrich::k_builtin_keys ? static_cast<key>(k) : key::builtin_count_) {
        case key::country: v = "FR"; break;
        case key::state: v = state_code ? "IDF" : "Ile-de-France"; break;
        case key::asn: v = "64500"; break;
        case key::speed: v = "100000"; break;
        case key::boundary: v = "external"; break;
        default: break;
        }
        b.put(k, v);
    }
    bool full = false;
    return in.intern(b.take(), full);
}

int enriched_dump() {
    enrich::key_registry keys;
    keys.add("rack");
    enrich::interner in;
    const uint32_t code = full_set(in, keys, true, "a"), name = full_set(in, keys, false, "b");
    const enrich::json_names names(keys);
    enrich::member_cache cache(in, names, enrich::member_cache::style::ecs);
    // --rules: every bit named, as the sink stage inserts the names into the sluice object (sinks/stage).
    enrich::classify::signature_labels sig;
    for (unsigned b = 0; b < enrich::classify::signature_labels::k_bits; ++b)
        sig.set(b, "rule" + std::to_string(b), {"tag" + std::to_string(b % 4)});
    static char text[sinks::encode::k_ecs_json_max_enriched + enrich::classify::signature_labels::k_max_json + 1];
    for (int i = 0; i < 3; ++i) {
        decode::flow_record r = max_record();
        r.src_attr_id = i == 1 ? name : code;
        r.dst_attr_id = i == 1 ? code : name;
        r.exporter_attr_id = i == 1 ? name : code;
        r.in_if_attr_id = i == 1 ? 0 : code;  // four scopes a record: five full sets pass the room (1,536 bytes)
        r.out_if_attr_id = i == 1 ? name : 0;
        r.src_net_match = 49;  // 2021:2223:2425::/48
        r.dst_net_match = 129;
        if (i == 2) r.kind = decode::record_kind::interface_counters;
        enrich::ecs_parts x;
        cache.ecs(r, x);
        const sinks::encode::ecs_enrichment e = sinks::encode::ecs_enrichment_of(x);
        const std::size_t n = sig.insert_json(r.signature_tags, text, sinks::encode::ecs_json_encode(r, text, e), 2);
        text[n] = '\n';
        std::fwrite(text, 1, n + 1, stdout);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: encode_dump ecs_json|protobuf_delimited|reference PCAP...|--max; encode_dump ecs_json|protobuf_delimited|plain_protobuf_delimited|avro PATH --enriched\n");
        return 2;
    }
    const std::string_view fmt = argv[1];
    if (fmt == "ecs_json" && std::string_view(argv[2]) == "--enriched") return enriched_dump();
    if (std::string_view(argv[2]) == "--enriched") {
        static test_fixtures::enriched_fixture fx;
        if (fmt == "avro") {
            if (argc < 4) return 2;
            sinks::avro::avro_container c;
            static uint8_t datum[sinks::avro::k_max_datum];
            if (!c.open(argv[3], sinks::avro::codec::null)) return std::fprintf(stderr, "%s\n", c.error().c_str()), 1;
            for (const auto& r : fx.recs)
                if (!c.append(datum, sinks::avro::encode_flow(r, datum, &fx.en))) return 1;
            return c.close() ? 0 : 1;
        }
        static uint8_t bin[sinks::encode::k_protobuf_enriched_delimited_max];
        for (const auto& r : fx.recs) {
            if (fmt == "protobuf_delimited")
                std::fwrite(bin, 1, sinks::encode::protobuf_encode_delimited(r, fx.en, bin), stdout);
            else if (fmt == "plain_protobuf_delimited")
                std::fwrite(bin, 1, sinks::encode::protobuf_encode_delimited(r, bin), stdout);
            else
                emit(fmt, r);
        }
        return 0;
    }
    if (std::string_view(argv[2]) == "--max") {
        emit(fmt, max_record());
        return 0;
    }
    offline::offline_reader reader(offline::reader_options{});
    for (int i = 2; i < argc; ++i) {
        std::string err;
        const bool ok = reader.read_file(
            argv[i],
            [&](std::span<const decode::flow_record> recs) {
                for (const auto& r : recs) emit(fmt, r);
            },
            &err);
        if (!ok) {
            std::fprintf(stderr, "encode_dump: %s\n", err.c_str());
            return 1;
        }
    }
    reader.finish();
    return 0;
}
