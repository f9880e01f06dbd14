// SPDX-License-Identifier: Apache-2.0
// NetFlow v9 decoder tests: datagrams built byte by byte, records checked
// field by field, counters checked exactly.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "dataplane/decode/decoder.hpp"
#include "set_builder.hpp"
#include "dataplane/decode/netflow_v9/netflow_v9.hpp"

namespace sluice::decode {
namespace {

using test::expect_counters;
using test::expect_v4;

using builder = test::set_builder;

constexpr uint32_t export_secs = 1700000000;
constexpr uint64_t export_ns = uint64_t(export_secs) * 1000000000ull;
constexpr uint32_t uptime_ms = 100000;
constexpr uint64_t now_ns = export_ns + 500000000ull;

using fields = std::vector<std::pair<uint16_t, uint16_t>>;

builder header(uint16_t count, uint32_t seq = 1, uint32_t source = 7, uint32_t uptime = uptime_ms) {
    builder b;
    b.u16(9).u16(count).u32(uptime).u32(export_secs).u32(seq).u32(source);
    return b;
}

void template_record(builder& b, uint16_t id, const fields& f) {
    b.u16(id).u16(f.size());
    for (auto [t, l] : f) b.u16(t).u16(l);
}

void options_template_record(builder& b, uint16_t id, const fields& scope, const fields& opts) {
    b.u16(id).u16(scope.size() * 4).u16(opts.size() * 4);
    for (auto [t, l] : scope) b.u16(t).u16(l);
    for (auto [t, l] : opts) b.u16(t).u16(l);
}

// A softflowd/nfdump-style IPv4 template, 48 bytes per record.
const fields ipv4_fields = {{8, 4},  {12, 4}, {15, 4}, {10, 2}, {14, 2}, {2, 4}, {1, 4},  {22, 4},
                            {21, 4}, {7, 2},  {11, 2}, {6, 1},  {4, 1},  {5, 1}, {16, 2}, {17, 2},
                            {9, 1},  {13, 1}, {61, 1}, {58, 2}, {70, 3}};
constexpr uint32_t ipv4_record_len = 4 + 4 + 4 + 2 + 2 + 4 + 4 + 4 + 4 + 2 + 2 + 1 + 1 + 1 + 2 + 2 + 1 + 1 + 1 + 2 + 3;

void ipv4_record(builder& b, uint8_t last_octet, uint32_t packets, uint32_t bytes) {
    b.ip4(10, 0, 0, last_octet).ip4(192, 168, 1, 1).ip4(10, 0, 0, 254).u16(3).u16(4);
    b.u32(packets).u32(bytes).u32(90000).u32(99000);
    b.u16(12345).u16(443).u8(0x1b).u8(6).u8(0x20).u16(64512).u16(65001);
    b.u8(24).u8(16).u8(1).u16(100).u24(0x01234f);  // label 0x01234, exp/bos nibble f
}

struct v9 : ::testing::Test {
    decoder_limits limits;
    std::unique_ptr<exporter_table> table;
    std::vector<flow_record> storage = std::vector<flow_record>(64);
    record_buffer out{storage.data(), 64, 0};
    datagram_meta meta{};
    exporter_state* ex = nullptr;

    void SetUp() override { reset(); }
    void reset() {
        table = std::make_unique<exporter_table>(limits);
        meta = datagram_meta{};
        meta.exporter_addr[10] = meta.exporter_addr[11] = 0xff;
        meta.exporter_addr[12] = 192;
        meta.exporter_addr[13] = 0;
        meta.exporter_addr[14] = 2;
        meta.exporter_addr[15] = 1;
        meta.time_received_ns = now_ns;
        ex = table->find_or_create(meta.exporter_addr, now_ns);
    }
    decode_status run(const builder& b, exporter_state* e = nullptr) {
        out.clear();
        return decode_netflow_v9(b.b, meta, e ? *e : *ex, out);
    }
    void learn_ipv4(uint16_t id = 256, uint32_t seq = 1, uint32_t source = 7) {
        builder b = header(1, seq, source);
        auto s = b.open(0);
        template_record(b, id, ipv4_fields);
        b.close(s);
        ASSERT_EQ(run(b), decode_status::ok);
    }
};

TEST_F(v9, template_and_data_in_one_datagram) {
    builder b = header(3, 42);
    auto s = b.open(0);
    template_record(b, 256, ipv4_fields);
    b.close(s);
    s = b.open(256);
    ipv4_record(b, 1, 10, 1500);
    ipv4_record(b, 2, 20, 3000);
    b.zeros(2);  // flowset padding
    b.close(s);
    ASSERT_EQ(run(b), decode_status::ok);
    ASSERT_EQ(out.size, 2u);
    const flow_record& r = storage[0];
    expect_v4(r.src_addr, 10, 0, 0, 1);
    expect_v4(r.dst_addr, 192, 168, 1, 1);
    expect_v4(r.next_hop, 10, 0, 0, 254);
    EXPECT_EQ(std::memcmp(r.sampler_address, meta.exporter_addr, 16), 0);
    EXPECT_EQ(r.bytes, 1500u);
    EXPECT_EQ(r.packets, 10u);
    EXPECT_EQ(r.time_flow_start_ns, export_ns - 10000000000ull);
    EXPECT_EQ(r.time_flow_end_ns, export_ns - 1000000000ull);
    EXPECT_EQ(r.time_received_ns, now_ns);
    EXPECT_EQ(r.sampling_rate, 0u);
    EXPECT_EQ(r.sequence_num, 42u);
    EXPECT_EQ(r.observation_domain_id, 7u);
    EXPECT_EQ(r.in_if, 3u);
    EXPECT_EQ(r.out_if, 4u);
    EXPECT_EQ(r.src_as, 64512u);
    EXPECT_EQ(r.dst_as, 65001u);
    EXPECT_EQ(r.mpls_label, 0x01234u);
    EXPECT_EQ(r.src_port, 12345);
    EXPECT_EQ(r.dst_port, 443);
    EXPECT_EQ(r.vlan_id, 100);
    EXPECT_EQ(r.etype, 0x0800);
    EXPECT_EQ(r.proto, 6);
    EXPECT_EQ(r.tcp_flags, 0x1b);
    EXPECT_EQ(r.ip_tos, 0x20);
    EXPECT_EQ(r.src_net, 24);
    EXPECT_EQ(r.dst_net, 16);
    EXPECT_EQ(r.icmp_type, 0);
    EXPECT_EQ(r.direction, flow_direction::egress);
    EXPECT_EQ(r.type, flow_type::netflow_v9);
    EXPECT_EQ(r.kind, record_kind::flow);
    EXPECT_EQ(r.export_version, 9);
    EXPECT_EQ(r.flags, 0);
    expect_v4(storage[1].src_addr, 10, 0, 0, 2);
    EXPECT_EQ(storage[1].bytes, 3000u);
    EXPECT_EQ(storage[1].packets, 20u);
    expect_counters(ex->counters, {{counter::datagrams, 1}, {counter::templates_learned, 1}, {counter::flow_records, 2}});
    EXPECT_EQ(ex->counters.get(counter::datagram_bytes), b.b.size());
    static_assert(ipv4_record_len == 51);
}

TEST_F(v9, data_before_template_is_dropped_then_decodes) {
    builder d = header(1, 1);
    auto s = d.open(256);
    ipv4_record(d, 1, 10, 1500);
    d.close(s);
    EXPECT_EQ(run(d), decode_status::dropped);
    EXPECT_EQ(out.size, 0u);
    expect_counters(ex->counters, {{counter::datagrams, 1}, {counter::err_data_before_template, 1}});

    learn_ipv4(256, 2);
    builder d2 = header(1, 3);
    s = d2.open(256);
    ipv4_record(d2, 1, 10, 1500);
    d2.close(s);
    EXPECT_EQ(run(d2), decode_status::ok);
    EXPECT_EQ(out.size, 1u);
    expect_counters(ex->counters, {{counter::datagrams, 3},
                                   {counter::err_data_before_template, 1},
                                   {counter::templates_learned, 1},
                                   {counter::flow_records, 1}});
}

TEST_F(v9, count_mismatch_and_trailing_bytes) {
    learn_ipv4();
    builder b = header(5, 2);
    auto s = b.open(256);
    ipv4_record(b, 1, 1, 1);
    b.close(s);
    b.u8(0).u8(7).u8(0);  // not enough for a flowset header, and not zero padding
    EXPECT_EQ(run(b), decode_status::ok);
    EXPECT_EQ(out.size, 1u);
    expect_counters(ex->counters, {{counter::datagrams, 2},
                                   {counter::templates_learned, 1},
                                   {counter::flow_records, 1},
                                   {counter::dev_count_mismatch, 1},
                                   {counter::dev_trailing_bytes, 1}});
}

TEST_F(v9, uptime_wrap_and_future_stamp) {
    learn_ipv4();
    // sysUptime just after a 2^32 wrap; FIRST_SWITCHED just before it,
    // LAST_SWITCHED 5 ms after the header's uptime.
    builder b = header(1, 2, 7, 1000);
    auto s = b.open(256);
    b.ip4(1, 1, 1, 1).ip4(2, 2, 2, 2).ip4(0, 0, 0, 0).u16(0).u16(0).u32(1).u32(100);
    b.u32(0xffffff00u).u32(1005).u16(1).u16(2).u8(0).u8(17).u8(0).u16(0).u16(0).u8(0).u8(0).u8(0).u16(0).u24(0);
    b.close(s);
    ASSERT_EQ(run(b), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    EXPECT_EQ(storage[0].time_flow_start_ns, export_ns - (1000ull + 256) * 1000000ull);
    EXPECT_EQ(storage[0].time_flow_end_ns, export_ns + 5 * 1000000ull);
    EXPECT_EQ(storage[0].direction, flow_direction::ingress);
    EXPECT_EQ(storage[0].mpls_label, 0u);
}

TEST_F(v9, absolute_times_and_ipv6) {
    builder b = header(2);
    auto s = b.open(0);
    template_record(b, 300, {{27, 16}, {28, 16}, {62, 16}, {29, 1}, {30, 1}, {152, 8}, {153, 8}, {1, 8}, {2, 8}, {139, 2}});
    b.close(s);
    s = b.open(300);
    for (int i = 0; i < 16; ++i) b.u8(i == 0 ? 0x20 : i == 15 ? 1 : 0);
    for (int i = 0; i < 16; ++i) b.u8(i == 0 ? 0x20 : i == 15 ? 2 : 0);
    for (int i = 0; i < 16; ++i) b.u8(i == 0 ? 0xfe : i == 15 ? 3 : 0);
    b.u8(48).u8(64).u64(1700000000123ull).u64(1700000000456ull).u64(5000000000ull).u64(7).u16(0x8001);
    b.close(s);
    ASSERT_EQ(run(b), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    const flow_record& r = storage[0];
    EXPECT_EQ(r.src_addr[0], 0x20);
    EXPECT_EQ(r.src_addr[15], 1);
    EXPECT_EQ(r.dst_addr[15], 2);
    EXPECT_EQ(r.next_hop[0], 0xfe);
    EXPECT_EQ(r.src_net, 48);
    EXPECT_EQ(r.dst_net, 64);
    EXPECT_EQ(r.time_flow_start_ns, 1700000000123000000ull);
    EXPECT_EQ(r.time_flow_end_ns, 1700000000456000000ull);
    EXPECT_EQ(r.bytes, 5000000000ull);
    EXPECT_EQ(r.packets, 7u);
    EXPECT_EQ(r.icmp_type, 0x80);
    EXPECT_EQ(r.icmp_code, 1);
    EXPECT_EQ(r.etype, 0x86dd);
    expect_counters(ex->counters, {{counter::datagrams, 1}, {counter::templates_learned, 1}, {counter::flow_records, 1}});
}

TEST_F(v9, dual_stack_template_picks_family_per_record) {
    builder b = header(3);
    auto s = b.open(0);
    template_record(b, 301, {{8, 4}, {12, 4}, {27, 16}, {28, 16}, {2, 4}});
    b.close(s);
    s = b.open(301);
    b.ip4(1, 2, 3, 4).ip4(5, 6, 7, 8).zeros(32).u32(1);
    b.zeros(8);
    for (int i = 0; i < 16; ++i) b.u8(i == 0 ? 0x20 : 0);
    for (int i = 0; i < 16; ++i) b.u8(i == 0 ? 0x20 : 1);
    b.u32(2);
    b.close(s);
    ASSERT_EQ(run(b), decode_status::ok);
    ASSERT_EQ(out.size, 2u);
    expect_v4(storage[0].src_addr, 1, 2, 3, 4);
    expect_v4(storage[0].dst_addr, 5, 6, 7, 8);
    EXPECT_EQ(storage[0].etype, 0x0800);
    EXPECT_EQ(storage[1].src_addr[0], 0x20);
    EXPECT_EQ(storage[1].src_addr[15], 0);
    EXPECT_EQ(storage[1].dst_addr[15], 1);
    EXPECT_EQ(storage[1].etype, 0x86dd);
}

TEST_F(v9, sequence_per_source_id) {
    learn_ipv4(256, 10, 7);
    learn_ipv4(256, 11, 7);
    learn_ipv4(256, 13, 7);  // one datagram lost
    learn_ipv4(256, 500, 8); // another source id: its own stream
    learn_ipv4(256, 501, 8);
    EXPECT_EQ(ex->counters.get(counter::sequence_lost), 1u);
    EXPECT_EQ(ex->counters.get(counter::sequence_resets), 0u);
    learn_ipv4(256, 3, 7);  // backwards: restart
    EXPECT_EQ(ex->counters.get(counter::sequence_resets), 1u);
}

TEST_F(v9, options_sampling_interval_per_domain) {
    builder b = header(2);
    auto s = b.open(1);
    options_template_record(b, 257, {{1, 4}}, {{34, 4}, {35, 1}});
    b.zeros(2);  // padding to 4 bytes
    b.close(s);
    s = b.open(257);
    b.u32(0).u32(100).u8(2);
    b.zeros(3);
    b.close(s);
    ASSERT_EQ(run(b), decode_status::ok);
    EXPECT_EQ(out.size, 0u);
    expect_counters(ex->counters, {{counter::datagrams, 1},
                                   {counter::options_templates_learned, 1},
                                   {counter::options_records, 1},
                                   {counter::sampling_rates_learned, 1}});
    learn_ipv4(256, 2);
    builder d = header(1, 3);
    s = d.open(256);
    ipv4_record(d, 1, 1, 1);
    d.close(s);
    ASSERT_EQ(run(d), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    EXPECT_EQ(storage[0].sampling_rate, 100u);

    // Another source id has no rate.
    learn_ipv4(256, 1, 9);
    builder d2 = header(1, 2, 9);
    s = d2.open(256);
    ipv4_record(d2, 1, 1, 1);
    d2.close(s);
    ASSERT_EQ(run(d2), decode_status::ok);
    EXPECT_EQ(storage[0].sampling_rate, 0u);

    // The per-exporter override wins, and is flagged.
    table->set_sampling_override(meta.exporter_addr, 10);
    ASSERT_EQ(run(d), decode_status::ok);
    EXPECT_EQ(storage[0].sampling_rate, 10u);
    EXPECT_EQ(storage[0].flags, record_flags::sampling_overridden);
}

TEST_F(v9, options_sampler_table_by_flow_sampler_id) {
    builder b = header(6);  // 1 options template + 2 options records + 1 template + 2 data records
    auto s = b.open(1);
    options_template_record(b, 258, {{2, 4}}, {{48, 1}, {49, 1}, {50, 4}});
    b.zeros(2);
    b.close(s);
    s = b.open(258);
    b.u32(1).u8(1).u8(2).u32(64);   // sampler 1: 1 in 64
    b.u32(2).u8(2).u8(2).u32(1000); // sampler 2: 1 in 1000
    b.close(s);
    s = b.open(0);
    template_record(b, 259, {{8, 4}, {12, 4}, {48, 1}, {2, 4}});
    b.close(s);
    s = b.open(259);
    b.ip4(1, 1, 1, 1).ip4(2, 2, 2, 2).u8(2).u32(5);
    b.ip4(1, 1, 1, 1).ip4(2, 2, 2, 2).u8(9).u32(5);  // unknown sampler: domain rate (unknown)
    b.zeros(2);
    b.close(s);
    ASSERT_EQ(run(b), decode_status::ok);
    ASSERT_EQ(out.size, 2u);
    EXPECT_EQ(storage[0].sampling_rate, 1000u);
    EXPECT_EQ(storage[1].sampling_rate, 0u);
    expect_counters(ex->counters, {{counter::datagrams, 1},
                                   {counter::options_templates_learned, 1},
                                   {counter::templates_learned, 1},
                                   {counter::options_records, 2},
                                   {counter::sampling_rates_learned, 2},
                                   {counter::flow_records, 2}});
}

TEST_F(v9, redefinition_and_resend) {
    learn_ipv4();
    learn_ipv4(256, 2);  // identical re-send: refresh only
    builder b = header(2, 3);
    auto s = b.open(0);
    template_record(b, 256, {{8, 4}, {2, 4}});
    b.close(s);
    s = b.open(256);
    b.ip4(9, 9, 9, 9).u32(77);
    b.close(s);
    ASSERT_EQ(run(b), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    expect_v4(storage[0].src_addr, 9, 9, 9, 9);
    EXPECT_EQ(storage[0].packets, 77u);
    EXPECT_EQ(storage[0].time_flow_start_ns, export_ns);
    EXPECT_EQ(storage[0].flags, record_flags::times_from_export);
    expect_counters(ex->counters, {{counter::datagrams, 3},
                                   {counter::templates_learned, 3},
                                   {counter::templates_redefined, 1},
                                   {counter::flow_records, 1}});
}

TEST_F(v9, template_expiry) {
    limits.template_timeout_ns = 10ull * 1000000000ull;
    reset();
    learn_ipv4();
    meta.time_received_ns = now_ns + 11ull * 1000000000ull;
    builder d = header(1, 2);
    auto s = d.open(256);
    ipv4_record(d, 1, 1, 1);
    d.close(s);
    EXPECT_EQ(run(d), decode_status::dropped);
    expect_counters(ex->counters, {{counter::datagrams, 2},
                                   {counter::templates_learned, 1},
                                   {counter::templates_expired, 1},
                                   {counter::err_data_before_template, 1}});
}

TEST_F(v9, output_full_counts_each_record) {
    learn_ipv4();
    builder d = header(3, 2);
    auto s = d.open(256);
    ipv4_record(d, 1, 1, 1);
    ipv4_record(d, 2, 1, 1);
    ipv4_record(d, 3, 1, 1);
    d.close(s);
    out.clear();
    record_buffer small{storage.data(), 1, 0};
    EXPECT_EQ(decode_netflow_v9(d.b, meta, *ex, small), decode_status::partial);
    EXPECT_EQ(small.size, 1u);
    expect_counters(ex->counters, {{counter::datagrams, 2},
                                   {counter::templates_learned, 1},
                                   {counter::flow_records, 1},
                                   {counter::err_output_full, 2}});
}

// ---- malformed input: one specific counter each ----

TEST_F(v9, truncated_header_and_bad_version) {
    builder b;
    b.u16(9).u16(0).u32(0);
    EXPECT_EQ(run(b), decode_status::dropped);
    builder v = header(0);
    v.b[1] = 8;
    EXPECT_EQ(run(v), decode_status::dropped);
    expect_counters(ex->counters,
                    {{counter::datagrams, 2}, {counter::err_truncated_header, 1}, {counter::err_unknown_version, 1}});
}

struct malformed_case {
    const char* name;
    void (*build)(builder&);
    counter expect;
};

const malformed_case malformed_cases[] = {
    {"flowset length below 4", [](builder& b) { b.u16(256).u16(2).zeros(4); }, counter::err_set_length},
    {"flowset length past end", [](builder& b) { b.u16(0).u16(100).zeros(8); }, counter::err_set_length},
    {"template with zero fields",
     [](builder& b) {
         auto s = b.open(0);
         b.u16(260).u16(0);
         b.close(s);
     },
     counter::err_template_no_fields},
    {"template field count overflows set",
     [](builder& b) {
         auto s = b.open(0);
         b.u16(260).u16(10).u16(8).u16(4).u16(12).u16(4);
         b.close(s);
     },
     counter::err_template_overflows_set},
    {"only zero-length fields",
     [](builder& b) {
         auto s = b.open(0);
         template_record(b, 260, {{8, 0}, {2, 0}});
         b.close(s);
     },
     counter::err_template_field_length},
    {"oversized field",
     [](builder& b) {
         auto s = b.open(0);
         template_record(b, 260, {{8, 4}, {82, 65534}});
         b.close(s);
     },
     counter::err_template_field_length},
    {"template id below 256",
     [](builder& b) {
         auto s = b.open(0);
         template_record(b, 5, {{8, 4}});
         b.close(s);
     },
     counter::err_template_id},
    {"options template with scope length 0",
     [](builder& b) {
         auto s = b.open(1);
         options_template_record(b, 261, {}, {{34, 4}});
         b.zeros(2);
         b.close(s);
     },
     counter::err_options_scope},
    {"options template lengths not whole fields",
     [](builder& b) {
         auto s = b.open(1);
         b.u16(261).u16(3).u16(4).zeros(8);
         b.close(s);
     },
     counter::err_options_scope},
    {"data flowset shorter than one record",
     [](builder& b) {
         auto s = b.open(256);
         b.zeros(20);
         b.close(s);
     },
     counter::err_data_record_length},
    {"reserved flowset id", [](builder& b) { b.u16(7).u16(8).zeros(4); }, counter::dev_unknown_set_id},
    {"non-zero padding",
     [](builder& b) {
         auto s = b.open(0);
         template_record(b, 262, {{8, 4}});
         b.u8(0).u8(1);
         b.close(s);
     },
     counter::dev_set_padding_nonzero},
};

TEST_F(v9, malformed_inputs_count_one_specific_counter) {
    for (const auto& mc : malformed_cases) {
        SCOPED_TRACE(mc.name);
        reset();
        learn_ipv4();
        const counter_block before = ex->counters;
        builder b = header(1, 2);
        mc.build(b);
        run(b);
        uint64_t changed = 0;
        for (std::size_t i = 0; i < counter_count; ++i) {
            const auto k = static_cast<counter>(i);
            if (k == counter::datagrams || k == counter::datagram_bytes || k == counter::dev_count_mismatch ||
                k == counter::templates_learned)
                continue;
            if (ex->counters.get(k) != before.get(k)) {
                ++changed;
                EXPECT_EQ(k, mc.expect) << "unexpected counter " << counter_table[i].name;
                EXPECT_EQ(ex->counters.get(k) - before.get(k), 1u);
            }
        }
        EXPECT_EQ(changed, 1u);
        // The good template is untouched.
        builder d = header(1, 3);
        auto s = d.open(256);
        ipv4_record(d, 1, 1, 1);
        d.close(s);
        EXPECT_EQ(run(d), decode_status::ok);
        EXPECT_EQ(out.size, 1u);
    }
}

TEST_F(v9, too_many_fields_and_table_limits) {
    limits.max_fields_per_template = 4;
    limits.max_templates_per_domain = 2;
    limits.max_domains_per_exporter = 1;
    reset();
    builder b = header(4);
    auto s = b.open(0);
    template_record(b, 256, {{8, 4}, {12, 4}, {2, 4}, {1, 4}, {4, 1}});  // 5 fields
    template_record(b, 257, {{8, 4}});
    template_record(b, 258, {{8, 4}});
    template_record(b, 259, {{8, 4}});  // third template: table full
    b.close(s);
    run(b);
    expect_counters(ex->counters, {{counter::datagrams, 1},
                                   {counter::templates_learned, 2},
                                   {counter::err_template_too_many_fields, 1},
                                   {counter::err_template_limit, 1}});
    builder o = header(1, 1, 99);  // a second source id: domain table full
    s = o.open(0);
    template_record(o, 256, {{8, 4}});
    o.close(s);
    run(o);
    EXPECT_EQ(ex->counters.get(counter::err_template_limit), 1u);
    EXPECT_EQ(ex->counters.get(counter::err_domain_table_full), 1u);
}

TEST_F(v9, isolation_between_exporters_and_source_ids) {
    learn_ipv4(256, 1, 7);
    // Exporter B: same template id, other layout, then garbage.
    uint8_t addr_b[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 2};
    exporter_state* b_ex = table->find_or_create(addr_b, now_ns);
    builder bb = header(1, 1, 7);
    auto s = bb.open(0);
    template_record(bb, 256, {{8, 4}});
    bb.close(s);
    s = bb.open(0);
    bb.u16(256).u16(50).zeros(4);  // overflows its flowset
    bb.close(s);
    run(bb, b_ex);
    EXPECT_EQ(b_ex->counters.get(counter::err_template_overflows_set), 1u);

    // A's template is intact; A's other source id has none.
    builder d = header(1, 2, 7);
    s = d.open(256);
    ipv4_record(d, 5, 1, 1);
    d.close(s);
    EXPECT_EQ(run(d), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    expect_v4(storage[0].src_addr, 10, 0, 0, 5);
    builder d2 = header(1, 2, 8);
    s = d2.open(256);
    ipv4_record(d2, 5, 1, 1);
    d2.close(s);
    EXPECT_EQ(run(d2), decode_status::dropped);
    expect_counters(ex->counters, {{counter::datagrams, 3},
                                   {counter::templates_learned, 1},
                                   {counter::flow_records, 1},
                                   {counter::err_data_before_template, 1}});
}

TEST_F(v9, every_truncation_is_safe) {
    learn_ipv4();
    builder b = header(3, 2);
    auto s = b.open(1);
    options_template_record(b, 257, {{1, 4}}, {{34, 4}});
    b.close(s);
    s = b.open(0);
    template_record(b, 258, ipv4_fields);
    b.close(s);
    s = b.open(256);
    ipv4_record(b, 1, 1, 1);
    b.close(s);
    for (std::size_t n = 0; n <= b.b.size(); ++n) {
        std::vector<uint8_t> cut(b.b.begin(), b.b.begin() + n);
        out.clear();
        decode_netflow_v9(cut, meta, *ex, out);
    }
    EXPECT_EQ(ex->counters.get(counter::datagrams), b.b.size() + 2);
}

// Juniper: options template scope `System` of length 0. The field is
// skipped, the template kept, and the sampling options apply.
TEST_F(v9, zero_length_scope_field_keeps_options_template) {
    builder b = header(3);
    auto s = b.open(1);
    options_template_record(b, 257, {{1, 0}}, {{34, 4}, {35, 1}});
    b.zeros(2);
    b.close(s);
    s = b.open(257);
    b.u32(1000).u8(2);
    b.zeros(3);
    b.close(s);
    s = b.open(0);
    template_record(b, 256, ipv4_fields);
    b.close(s);
    ASSERT_EQ(run(b), decode_status::ok);
    builder d = header(1, 2);
    s = d.open(256);
    ipv4_record(d, 1, 10, 1500);
    d.close(s);
    ASSERT_EQ(run(d), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    EXPECT_EQ(storage[0].sampling_rate, 1000u);
    EXPECT_EQ(storage[0].bytes, 1500u);
    expect_counters(ex->counters, {{counter::datagrams, 2},
                                   {counter::options_templates_learned, 1},
                                   {counter::templates_learned, 1},
                                   {counter::dev_zero_length_fields, 1},
                                   {counter::options_records, 1},
                                   {counter::sampling_rates_learned, 1},
                                   {counter::flow_records, 1}});
}

// A zero-length field inside a data template reads no bytes: the fields
// after it keep their offsets.
TEST_F(v9, zero_length_data_field_reads_nothing) {
    builder b = header(2);
    auto s = b.open(0);
    template_record(b, 256, {{8, 4}, {7, 0}, {1, 4}, {2, 4}});
    b.close(s);
    s = b.open(256);
    b.ip4(10, 9, 8, 7).u32(4000).u32(3);
    b.close(s);
    ASSERT_EQ(run(b), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    expect_v4(storage[0].src_addr, 10, 9, 8, 7);
    EXPECT_EQ(storage[0].bytes, 4000u);
    EXPECT_EQ(storage[0].packets, 3u);
    EXPECT_EQ(storage[0].src_port, 0u);
    expect_counters(ex->counters, {{counter::datagrams, 1},
                                   {counter::templates_learned, 1},
                                   {counter::dev_zero_length_fields, 1},
                                   {counter::flow_records, 1}});
}

// A redefinition Sluice refuses withdraws the old layout: the data that
// follows is dropped under its own counter until a valid template arrives.
TEST_F(v9, refused_redefinition_withdraws_old_template) {
    limits.max_fields_per_template = 21;  // ipv4_fields has 21
    reset();
    learn_ipv4(256, 1);
    fields big = ipv4_fields;
    big.push_back({1, 4});  // 22 fields: refused
    builder b = header(1, 2);
    auto s = b.open(0);
    template_record(b, 256, big);
    b.close(s);
    EXPECT_EQ(run(b), decode_status::partial);  // a template record found, refused
    builder d = header(1, 3);
    s = d.open(256);
    ipv4_record(d, 1, 1, 1);  // 48 bytes: the old layout would decode it
    d.close(s);
    EXPECT_EQ(run(d), decode_status::dropped);
    EXPECT_EQ(out.size, 0u);
    // An empty template (field count 0) refuses too; nothing more to withdraw.
    builder e = header(1, 4);
    s = e.open(0);
    e.u16(256).u16(0);
    e.close(s);
    EXPECT_EQ(run(e), decode_status::partial);
    learn_ipv4(256, 5);
    builder d2 = header(1, 6);
    s = d2.open(256);
    ipv4_record(d2, 2, 1, 1);
    d2.close(s);
    ASSERT_EQ(run(d2), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    expect_v4(storage[0].src_addr, 10, 0, 0, 2);
    expect_counters(ex->counters, {{counter::datagrams, 6},
                                   {counter::templates_learned, 2},
                                   {counter::err_template_too_many_fields, 1},
                                   {counter::err_template_no_fields, 1},
                                   {counter::templates_refused_withdrawn, 1},
                                   {counter::err_data_template_refused, 1},
                                   {counter::flow_records, 1}});
}

// A refused redefinition through validation (oversized field) also withdraws,
// and a withdrawn template is not saved as a template.
TEST_F(v9, refused_redefinition_by_field_length_withdraws) {
    learn_ipv4(256, 1);
    builder b = header(1, 2);
    auto s = b.open(0);
    template_record(b, 256, {{8, 4}, {82, 65534}});
    b.close(s);
    EXPECT_EQ(run(b), decode_status::partial);
    builder d = header(1, 3);
    s = d.open(256);
    ipv4_record(d, 1, 1, 1);
    d.close(s);
    EXPECT_EQ(run(d), decode_status::dropped);
    expect_counters(ex->counters, {{counter::datagrams, 3},
                                   {counter::templates_learned, 1},
                                   {counter::err_template_field_length, 1},
                                   {counter::templates_refused_withdrawn, 1},
                                   {counter::err_data_template_refused, 1}});
}

// Zero bytes after the last flowset are padding, not a flowset.
TEST_F(v9, zero_padding_after_last_flowset_is_legal) {
    learn_ipv4();
    uint32_t seq = 2;
    for (std::size_t pad : {1u, 3u, 4u, 8u}) {
        SCOPED_TRACE(pad);
        builder b = header(1, seq++);
        auto s = b.open(256);
        ipv4_record(b, 1, 1, 1);
        b.close(s);
        b.zeros(pad);
        ex->counters = counter_block{};
        EXPECT_EQ(run(b), decode_status::ok);
        EXPECT_EQ(out.size, 1u);
        expect_counters(ex->counters, {{counter::datagrams, 1},
                                       {counter::flow_records, 1}});
    }
}

// H3C: VRFname (236) with length 65535 in a v9 template. Decoded with the
// IPFIX variable-length rules (1-byte length, or 255 and a 2-byte length).
TEST_F(v9, variable_length_field_decoded_with_ipfix_rules) {
    builder b = header(3);
    auto s = b.open(0);
    template_record(b, 256, {{8, 4}, {236, 65535}, {1, 4}, {2, 4}});
    b.close(s);
    s = b.open(256);
    b.ip4(10, 0, 0, 1).u8(3).u8('v').u8('p').u8('n').u32(100).u32(1);
    b.ip4(10, 0, 0, 2).u8(255).u16(300);
    for (int i = 0; i < 300; ++i) b.u8('x');
    b.u32(200).u32(2);
    b.close(s);
    ASSERT_EQ(run(b), decode_status::ok);
    ASSERT_EQ(out.size, 2u);
    expect_v4(storage[0].src_addr, 10, 0, 0, 1);
    EXPECT_EQ(storage[0].bytes, 100u);
    EXPECT_EQ(storage[0].packets, 1u);
    expect_v4(storage[1].src_addr, 10, 0, 0, 2);
    EXPECT_EQ(storage[1].bytes, 200u);
    EXPECT_EQ(storage[1].packets, 2u);
    expect_counters(ex->counters, {{counter::datagrams, 1},
                                   {counter::templates_learned, 1},
                                   {counter::dev_v9_variable_length_fields, 1},
                                   {counter::flow_records, 2}});
}

}  // namespace
}  // namespace sluice::decode
