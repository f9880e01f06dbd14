// SPDX-License-Identifier: Apache-2.0
// IPFIX decoder tests: messages built byte by byte, records checked field by
// field, counters checked exactly.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <tuple>
#include <vector>

#include "dataplane/decode/decoder.hpp"
#include "set_builder.hpp"
#include "dataplane/decode/ipfix/ipfix.hpp"
#include "dataplane/decode/template/template_store.hpp"

namespace sluice::decode {
namespace {

using test::expect_counters;
using test::expect_v4;

// An IPFIX message builder: done() patches the message length.
struct builder : test::set_builder {
    std::vector<uint8_t>& done() {
        close(0);
        return b;
    }
};

constexpr uint32_t export_secs = 1700000000;
constexpr uint64_t export_ns = uint64_t(export_secs) * 1000000000ull;
constexpr uint64_t now_ns = export_ns + 250000000ull;

struct field {
    uint16_t id;
    uint16_t len;
    uint32_t pen = 0;
};
using fields = std::vector<field>;

builder header(uint32_t seq = 0, uint32_t domain = 1) {
    builder b;
    b.u16(10).u16(0).u32(export_secs).u32(seq).u32(domain);
    return b;
}

void specs(builder& b, const fields& f) {
    for (const auto& x : f) {
        if (x.pen != 0)
            b.u16(x.id | 0x8000).u16(x.len).u32(x.pen);
        else
            b.u16(x.id).u16(x.len);
    }
}

void template_set(builder& b, uint16_t id, const fields& f) {
    auto s = b.open(2);
    b.u16(id).u16(f.size());
    specs(b, f);
    b.close(s);
}

void options_template_set(builder& b, uint16_t id, uint16_t scope, const fields& f) {
    auto s = b.open(3);
    b.u16(id).u16(f.size()).u16(scope);
    specs(b, f);
    b.close(s);
}

// pmacct-style IPv4 template with ms times; 4-byte (reduced-size) octet count.
const fields ipv4_fields = {{8, 4}, {12, 4}, {7, 2}, {11, 2}, {4, 1}, {6, 2}, {1, 4}, {2, 8},
                            {152, 8}, {153, 8}, {10, 4}, {14, 4}, {61, 1}};

void ipv4_record(builder& b, uint8_t last, uint64_t packets) {
    b.ip4(10, 1, 1, last).ip4(10, 2, 2, 2).u16(5353).u16(53).u8(17).u16(0x0112).u32(4000).u64(packets);
    b.u64(1700000000100ull).u64(1700000000900ull).u32(11).u32(12).u8(0);
}

struct ipfix_fx : ::testing::Test {
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
        meta.exporter_addr[0] = 0x20;
        meta.exporter_addr[1] = 0x01;
        meta.exporter_addr[15] = 9;
        meta.time_received_ns = now_ns;
        ex = table->find_or_create(meta.exporter_addr, now_ns);
    }
    // A header carrying the sequence number the domain expects next.
    builder hdr(uint32_t domain = 1) {
        uint32_t seq = 0;
        if (ex->netflow)
            if (const auto* d = ex->netflow->find(10, meta.exporter_port, domain)) seq = d->seq.next();
        return header(seq, domain);
    }
    decode_status run(builder& b) { return run_raw(b.done()); }
    decode_status run_raw(const std::vector<uint8_t>& bytes) {
        out.clear();
        return decode_ipfix(bytes, meta, *ex, out);
    }
    void learn(uint16_t id, const fields& f, uint32_t domain = 1) {
        builder b = hdr(domain);
        template_set(b, id, f);
        ASSERT_EQ(run(b), decode_status::ok);
    }
};

TEST_F(ipfix_fx, template_and_data_field_by_field) {
    builder b = header(100, 42);
    template_set(b, 256, ipv4_fields);
    auto s = b.open(256);
    ipv4_record(b, 1, 3);
    ipv4_record(b, 2, 4);
    b.close(s);
    ASSERT_EQ(run(b), decode_status::ok);
    ASSERT_EQ(out.size, 2u);
    const flow_record& r = storage[0];
    expect_v4(r.src_addr, 10, 1, 1, 1);
    expect_v4(r.dst_addr, 10, 2, 2, 2);
    EXPECT_TRUE(is_zero_address(r.next_hop));
    EXPECT_EQ(std::memcmp(r.sampler_address, meta.exporter_addr, 16), 0);
    EXPECT_EQ(r.bytes, 4000u);
    EXPECT_EQ(r.packets, 3u);
    EXPECT_EQ(r.time_flow_start_ns, 1700000000100000000ull);
    EXPECT_EQ(r.time_flow_end_ns, 1700000000900000000ull);
    EXPECT_EQ(r.time_received_ns, now_ns);
    EXPECT_EQ(r.sampling_rate, 0u);
    EXPECT_EQ(r.sequence_num, 100u);
    EXPECT_EQ(r.observation_domain_id, 42u);
    EXPECT_EQ(r.in_if, 11u);
    EXPECT_EQ(r.out_if, 12u);
    EXPECT_EQ(r.src_port, 5353);
    EXPECT_EQ(r.dst_port, 53);
    EXPECT_EQ(r.etype, 0x0800);
    EXPECT_EQ(r.proto, 17);
    EXPECT_EQ(r.tcp_flags, 0x12);  // 2-byte tcpControlBits: low byte
    EXPECT_EQ(r.direction, flow_direction::ingress);
    EXPECT_EQ(r.type, flow_type::ipfix);
    EXPECT_EQ(r.kind, record_kind::flow);
    EXPECT_EQ(r.export_version, 10);
    EXPECT_EQ(r.flags, 0);
    expect_v4(storage[1].src_addr, 10, 1, 1, 2);
    EXPECT_EQ(storage[1].packets, 4u);
    expect_counters(ex->counters, {{counter::datagrams, 1}, {counter::templates_learned, 1}, {counter::flow_records, 2}});
}

// record_index: 0-based over the records the message yields, across its sets, restarting with each datagram
// appended to the same buffer; a set whose template is unknown yields nothing and takes no index.
TEST_F(ipfix_fx, record_index_counts_yielded_records_per_datagram) {
    learn(256, ipv4_fields);
    builder b = hdr();
    auto s1 = b.open(300);  // no such template
    ipv4_record(b, 9, 1);
    b.close(s1);
    auto s2 = b.open(256);
    ipv4_record(b, 1, 1);
    ipv4_record(b, 2, 1);
    b.close(s2);
    auto s3 = b.open(256);
    ipv4_record(b, 3, 1);
    b.close(s3);
    const std::vector<uint8_t> first = b.done();
    out.clear();
    EXPECT_EQ(decode_ipfix(first, meta, *ex, out), decode_status::partial);
    builder c = hdr();
    auto s4 = c.open(256);
    ipv4_record(c, 4, 1);
    ipv4_record(c, 5, 1);
    c.close(s4);
    EXPECT_EQ(decode_ipfix(c.done(), meta, *ex, out), decode_status::ok);  // appended after the first
    ASSERT_EQ(out.size, 5u);
    const uint16_t want[5] = {0, 1, 2, 0, 1};
    for (unsigned i = 0; i < 5; ++i) {
        EXPECT_EQ(storage[i].record_index, want[i]) << i;
        expect_v4(storage[i].src_addr, 10, 1, 1, uint8_t(i + 1));
    }
}

TEST_F(ipfix_fx, sequence_counts_data_records_per_domain) {
    learn(256, ipv4_fields, 1);
    learn(256, ipv4_fields, 2);
    auto data = [&](uint32_t seq, uint32_t domain, int n) {
        builder b = header(seq, domain);
        auto s = b.open(256);
        for (int i = 0; i < n; ++i) ipv4_record(b, 1, 1);
        b.close(s);
        EXPECT_EQ(run(b), decode_status::ok);
    };
    data(0, 1, 3);
    data(3, 1, 2);
    data(0, 2, 1);  // domain 2 has its own numbering
    data(1, 2, 1);
    data(9, 1, 1);  // 4 records of domain 1 lost
    EXPECT_EQ(ex->counters.get(counter::sequence_lost), 4u);
    EXPECT_EQ(ex->counters.get(counter::sequence_resets), 0u);
}

TEST_F(ipfix_fx, message_length_checked_against_datagram) {
    learn(256, ipv4_fields);
    builder b = hdr();
    auto s = b.open(256);
    ipv4_record(b, 1, 1);
    b.close(s);
    std::vector<uint8_t> longer = b.done();
    longer.insert(longer.end(), {0xde, 0xad});  // bytes after the message
    EXPECT_EQ(run_raw(longer), decode_status::ok);
    EXPECT_EQ(out.size, 1u);
    std::vector<uint8_t> shorter = b.done();
    shorter[3] += 8;  // header claims more than arrived
    EXPECT_EQ(run_raw(shorter), decode_status::ok);
    EXPECT_EQ(out.size, 1u);
    std::vector<uint8_t> tiny = b.done();
    tiny[2] = 0;
    tiny[3] = 8;  // below the header size
    EXPECT_EQ(run_raw(tiny), decode_status::dropped);
    std::vector<uint8_t> cut(b.b.begin(), b.b.begin() + 10);
    EXPECT_EQ(run_raw(cut), decode_status::dropped);
    std::vector<uint8_t> v9 = b.done();
    v9[1] = 9;
    EXPECT_EQ(run_raw(v9), decode_status::dropped);
    expect_counters(ex->counters, {{counter::datagrams, 6},
                                   {counter::templates_learned, 1},
                                   {counter::flow_records, 2},
                                   {counter::dev_trailing_bytes, 1},
                                   {counter::dev_count_mismatch, 1},
                                   {counter::sequence_resets, 1},  // the same message twice
                                   {counter::err_truncated_header, 2},
                                   {counter::err_unknown_version, 1}});
}

TEST_F(ipfix_fx, withdrawals) {
    learn(256, ipv4_fields);
    learn(257, {{8, 4}});
    builder o = hdr();
    options_template_set(o, 258, 1, {{302, 4}, {305, 4}, {306, 4}});
    ASSERT_EQ(run(o), decode_status::ok);

    builder w = hdr();
    auto s = w.open(2);
    w.u16(256).u16(0);  // withdraw 256
    w.u16(300).u16(0);  // unknown
    w.close(s);
    EXPECT_EQ(run(w), decode_status::partial);
    builder d = hdr();
    s = d.open(256);
    ipv4_record(d, 1, 1);
    d.close(s);
    EXPECT_EQ(run(d), decode_status::dropped);

    builder all = hdr();
    s = all.open(2);
    all.u16(2).u16(0);  // withdraw all data templates
    all.close(s);
    EXPECT_EQ(run(all), decode_status::ok);
    builder d2 = hdr();
    s = d2.open(257);
    d2.ip4(1, 1, 1, 1);
    d2.close(s);
    EXPECT_EQ(run(d2), decode_status::dropped);
    // The options template survived; withdraw all options templates.
    builder alo = hdr();
    s = alo.open(3);
    alo.u16(3).u16(0);
    alo.close(s);
    EXPECT_EQ(run(alo), decode_status::ok);
    builder d3 = hdr();
    s = d3.open(258);
    d3.u32(1).u32(1).u32(9);
    d3.close(s);
    EXPECT_EQ(run(d3), decode_status::dropped);
    expect_counters(ex->counters, {{counter::datagrams, 9},
                                   {counter::templates_learned, 2},
                                   {counter::options_templates_learned, 1},
                                   {counter::template_withdrawals, 3},
                                   {counter::err_withdrawal_unknown, 1},
                                   {counter::err_data_before_template, 3}});
}

// Each sampling variant: {options fields, record bytes, expected rate}.
TEST_F(ipfix_fx, options_sampling_variants) {
    struct variant {
        const char* name;
        fields f;
        std::vector<uint32_t> values;  // all 4-byte
        uint32_t rate;
    };
    const variant variants[] = {
        {"samplingInterval", {{34, 4}}, {100}, 100},
        {"samplerRandomInterval", {{50, 4}}, {512}, 512},
        {"interval+space", {{305, 4}, {306, 4}}, {1, 99}, 100},
        {"size/population", {{309, 4}, {310, 4}}, {10, 1000}, 100},
        {"interval+space rounded", {{305, 4}, {306, 4}}, {3, 7}, 3},
    };
    for (const auto& v : variants) {
        SCOPED_TRACE(v.name);
        reset();
        builder b = hdr();
        fields f = {{149, 4}};  // scope: observationDomainId
        f.insert(f.end(), v.f.begin(), v.f.end());
        options_template_set(b, 400, 1, f);
        auto s = b.open(400);
        b.u32(1);
        for (uint32_t x : v.values) b.u32(x);
        b.close(s);
        template_set(b, 256, ipv4_fields);
        s = b.open(256);
        ipv4_record(b, 1, 1);
        b.close(s);
        ASSERT_EQ(run(b), decode_status::ok);
        ASSERT_EQ(out.size, 1u);
        EXPECT_EQ(storage[0].sampling_rate, v.rate);
        expect_counters(ex->counters, {{counter::datagrams, 1},
                                       {counter::options_templates_learned, 1},
                                       {counter::templates_learned, 1},
                                       {counter::options_records, 1},
                                       {counter::sampling_rates_learned, 1},
                                       {counter::flow_records, 1}});
    }
}

TEST_F(ipfix_fx, selector_rates_and_sys_init_from_options) {
    builder b = hdr();
    // Scope selectorId (302, 8 bytes); packet interval/space.
    options_template_set(b, 400, 1, {{302, 8}, {305, 4}, {306, 4}});
    auto s = b.open(400);
    b.u64(7).u32(1).u32(9);    // selector 7: 1 in 10
    b.u64(8).u32(1).u32(199);  // selector 8: 1 in 200
    b.close(s);
    options_template_set(b, 401, 1, {{149, 4}, {34, 4}, {160, 8}});
    s = b.open(401);
    b.u32(1).u32(50).u64(1699999000000ull);  // domain rate 50, sysInit
    b.close(s);
    template_set(b, 256, {{8, 4}, {302, 8}, {22, 4}, {21, 4}});
    s = b.open(256);
    b.ip4(1, 1, 1, 1).u64(8).u32(1000).u32(2000);
    b.ip4(1, 1, 1, 2).u64(3).u32(1000).u32(2000);  // unknown selector: domain rate
    b.close(s);
    ASSERT_EQ(run(b), decode_status::ok);
    ASSERT_EQ(out.size, 2u);
    EXPECT_EQ(storage[0].sampling_rate, 200u);
    EXPECT_EQ(storage[1].sampling_rate, 50u);
    EXPECT_EQ(storage[0].time_flow_start_ns, (1699999000000ull + 1000) * 1000000ull);
    EXPECT_EQ(storage[0].time_flow_end_ns, (1699999000000ull + 2000) * 1000000ull);
    EXPECT_EQ(storage[0].flags, 0);
    expect_counters(ex->counters, {{counter::datagrams, 1},
                                   {counter::options_templates_learned, 2},
                                   {counter::templates_learned, 1},
                                   {counter::options_records, 3},
                                   {counter::sampling_rates_learned, 3},
                                   {counter::flow_records, 2}});
}

TEST_F(ipfix_fx, time_encodings) {
    const uint64_t ms = 1700000000123ull;
    const uint64_t ntp_secs = 1700000000ull + 2208988800ull;
    const uint64_t half = 0x80000000ull;  // .5 s
    struct tc {
        const char* name;
        fields f;
        std::vector<std::pair<uint64_t, int>> values;  // value, byte width
        uint64_t start, end;
        uint8_t flags;
    };
    const tc cases[] = {
        {"seconds", {{150, 4}, {151, 4}}, {{1700000000, 4}, {1700000005, 4}}, 1700000000000000000ull, 1700000005000000000ull, 0},
        {"milliseconds", {{152, 8}, {153, 8}}, {{ms, 8}, {ms + 1, 8}}, ms * 1000000, (ms + 1) * 1000000, 0},
        {"microseconds ntp", {{154, 8}, {155, 8}}, {{ntp_secs << 32 | half, 8}, {(ntp_secs + 1) << 32, 8}},
         1700000000500000000ull, 1700000001000000000ull, 0},
        {"nanoseconds ntp", {{156, 8}, {157, 8}}, {{ntp_secs << 32 | half, 8}, {ntp_secs << 32 | (half >> 1), 8}},
         1700000000500000000ull, 1700000000250000000ull, 0},
        {"delta microseconds", {{158, 4}, {159, 4}}, {{3000000, 4}, {1000, 4}}, export_ns - 3000000000ull,
         export_ns - 1000000ull, 0},
        {"uptime with sysInit in record", {{22, 4}, {21, 4}, {160, 8}}, {{500, 4}, {700, 4}, {ms, 8}},
         (ms + 500) * 1000000, (ms + 700) * 1000000, 0},
        {"uptime without sysInit", {{22, 4}, {21, 4}}, {{500, 4}, {700, 4}}, export_ns, export_ns,
         record_flags::times_from_export},
        {"no times", {{4, 1}}, {{6, 1}}, export_ns, export_ns, record_flags::times_from_export},
        {"start only", {{152, 8}}, {{ms, 8}}, ms * 1000000, ms * 1000000, 0},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        reset();
        builder b = hdr();
        fields f = {{8, 4}};
        f.insert(f.end(), c.f.begin(), c.f.end());
        template_set(b, 256, f);
        auto s = b.open(256);
        b.ip4(1, 2, 3, 4);
        for (auto [v, w] : c.values) {
            if (w == 1) b.u8(v);
            if (w == 4) b.u32(v);
            if (w == 8) b.u64(v);
        }
        b.close(s);
        ASSERT_EQ(run(b), decode_status::ok);
        ASSERT_EQ(out.size, 1u);
        EXPECT_EQ(storage[0].time_flow_start_ns, c.start);
        EXPECT_EQ(storage[0].time_flow_end_ns, c.end);
        EXPECT_EQ(storage[0].flags, c.flags);
    }
}

TEST_F(ipfix_fx, pmacct_timeval_time_fields) {
    // pmacct 1.7 sends flowStart/EndMicroseconds with length 16: 8-byte
    // seconds then 8-byte microseconds (a struct timeval), not NTP format.
    // Nanoseconds in the same form get the same treatment.
    for (const uint16_t first_ie : {uint16_t(154), uint16_t(156)}) {
        SCOPED_TRACE(first_ie);
        reset();
        builder b = hdr();
        template_set(b, 256, {{8, 4}, {first_ie, 16}, {uint16_t(first_ie + 1), 16}});
        auto s = b.open(256);
        b.ip4(1, 2, 3, 4);
        const uint64_t sub = first_ie == 154 ? 500000 : 500000000;  // .5 s in the unit
        b.u64(1700000000).u64(sub).u64(1700000001).u64(0);
        b.close(s);
        ASSERT_EQ(run(b), decode_status::ok);
        ASSERT_EQ(out.size, 1u);
        EXPECT_EQ(storage[0].time_flow_start_ns, 1700000000500000000ull);
        EXPECT_EQ(storage[0].time_flow_end_ns, 1700000001000000000ull);
        EXPECT_EQ(storage[0].flags, 0);
        EXPECT_EQ(ex->counters.get(counter::dev_timeval_time_fields), 2u);
        EXPECT_EQ(ex->counters.get(counter::dev_unsupported_field_length), 0u);
    }
}

TEST_F(ipfix_fx, field_mappings_and_fallbacks) {
    builder b = hdr();
    // No delta counters: totals used; post counters ignored when totals exist.
    // BGP next hop as fallback; icmp type/code 176/177; dot1q vlan; mpls;
    // ipVersion; flowEndReason ignored.
    template_set(b, 256, {{8, 4}, {12, 4}, {85, 8}, {86, 8}, {23, 8}, {24, 8}, {18, 4}, {176, 1}, {177, 1},
                          {243, 2}, {70, 3}, {60, 1}, {136, 1}, {16, 4}, {17, 4}, {9, 1}, {13, 1}, {5, 1}, {4, 1}});
    auto s = b.open(256);
    b.ip4(1, 1, 1, 1).ip4(2, 2, 2, 2).u64(9000).u64(9).u64(1).u64(1).ip4(3, 3, 3, 3).u8(8).u8(0).u16(42);
    b.u24(0xfffff1).u8(4).u8(3).u32(4200000000u).u32(13335).u8(32).u8(24).u8(0xb8).u8(1);
    b.close(s);
    // Only post counters: used as the fallback. icmpTypeCodeIPv4.
    template_set(b, 257, {{8, 4}, {23, 4}, {24, 4}, {32, 2}, {58, 2}});
    s = b.open(257);
    b.ip4(1, 1, 1, 1).u32(700).u32(7).u16(0x0300).u16(5);
    b.close(s);
    ASSERT_EQ(run(b), decode_status::ok);
    ASSERT_EQ(out.size, 2u);
    const flow_record& r = storage[0];
    EXPECT_EQ(r.bytes, 9000u);
    EXPECT_EQ(r.packets, 9u);
    expect_v4(r.next_hop, 3, 3, 3, 3);
    EXPECT_EQ(r.icmp_type, 8);
    EXPECT_EQ(r.icmp_code, 0);
    EXPECT_EQ(r.vlan_id, 42);
    EXPECT_EQ(r.mpls_label, 0xfffffu);
    EXPECT_EQ(r.etype, 0x0800);
    EXPECT_EQ(r.src_as, 4200000000u);
    EXPECT_EQ(r.dst_as, 13335u);
    EXPECT_EQ(r.src_net, 32);
    EXPECT_EQ(r.dst_net, 24);
    EXPECT_EQ(r.ip_tos, 0xb8);
    EXPECT_EQ(r.proto, 1);
    EXPECT_EQ(r.direction, flow_direction::unknown);
    EXPECT_EQ(storage[1].bytes, 700u);
    EXPECT_EQ(storage[1].packets, 7u);
    EXPECT_EQ(storage[1].icmp_type, 3);
    EXPECT_EQ(storage[1].icmp_code, 0);
    EXPECT_EQ(storage[1].vlan_id, 5);
    expect_counters(ex->counters, {{counter::datagrams, 1}, {counter::templates_learned, 2}, {counter::flow_records, 2}});
}

TEST_F(ipfix_fx, ip_version_sets_etype_and_unsupported_lengths_are_counted_once) {
    // sourceIPv4Address with length 5 is ignored (counted once at learn).
    learn(256, {{8, 5}, {60, 1}, {2, 4}});
    for (int i = 0; i < 2; ++i) {
        builder b = hdr();
        auto s = b.open(256);
        b.u8(1).u8(2).u8(3).u8(4).u8(5).u8(6).u32(1);
        b.close(s);
        ASSERT_EQ(run(b), decode_status::ok);
        ASSERT_EQ(out.size, 1u);
        EXPECT_EQ(storage[0].etype, 0x86dd);
        EXPECT_TRUE(is_zero_address(storage[0].src_addr));
    }
    expect_counters(ex->counters, {{counter::datagrams, 3},
                                   {counter::templates_learned, 1},
                                   {counter::dev_unsupported_field_length, 1},
                                   {counter::flow_records, 2}});
}

TEST_F(ipfix_fx, variable_length_fields) {
    // interfaceName (82) is variable length; 1-byte and 3-byte length forms.
    learn(256, {{8, 4}, {82, 65535}, {2, 4}});
    builder b = hdr();
    auto s = b.open(256);
    b.ip4(1, 1, 1, 1).u8(3).u8('e').u8('t').u8('h').u32(10);
    b.ip4(1, 1, 1, 2).u8(255).u16(300).zeros(300).u32(20);
    b.ip4(1, 1, 1, 3).u8(0).u32(30);  // zero-length value
    b.close(s);
    ASSERT_EQ(run(b), decode_status::ok);
    ASSERT_EQ(out.size, 3u);
    expect_v4(storage[0].src_addr, 1, 1, 1, 1);
    EXPECT_EQ(storage[0].packets, 10u);
    EXPECT_EQ(storage[1].packets, 20u);
    EXPECT_EQ(storage[2].packets, 30u);

    // A length running past the set: the rest of the set is dropped.
    builder bad = hdr();
    s = bad.open(256);
    bad.ip4(1, 1, 1, 1).u8(2).u8('a').u8('b').u32(1);
    bad.ip4(1, 1, 1, 2).u8(200).u32(2).u32(3);
    bad.close(s);
    EXPECT_EQ(run(bad), decode_status::partial);
    EXPECT_EQ(out.size, 1u);
    builder bad3 = hdr();
    s = bad3.open(256);
    bad3.ip4(1, 1, 1, 1).u8(255).u16(300).zeros(5);  // 3-byte length past the set
    bad3.close(s);
    EXPECT_EQ(run(bad3), decode_status::dropped);
    expect_counters(ex->counters, {{counter::datagrams, 4},
                                   {counter::templates_learned, 1},
                                   {counter::flow_records, 4},
                                   {counter::err_varlen_past_end, 2}});
}

TEST_F(ipfix_fx, enterprise_fields_skipped_and_counted_once_per_learn) {
    learn(256, {{8, 4}, {1, 4, 9}, {100, 65535, 6871}, {2, 4}});
    for (int i = 0; i < 3; ++i) {
        builder b = hdr();
        auto s = b.open(256);
        b.ip4(1, 1, 1, 1).u32(0xffffffff).u8(2).u8(0xaa).u8(0xbb).u32(5);
        b.close(s);
        ASSERT_EQ(run(b), decode_status::ok);
        ASSERT_EQ(out.size, 1u);
        EXPECT_EQ(storage[0].packets, 5u);
        EXPECT_EQ(storage[0].bytes, 0u);  // the enterprise "1" is not octetDeltaCount
    }
    learn(256, {{8, 4}, {1, 4, 9}, {100, 65535, 6871}, {2, 4}});  // re-send: not recompiled
    expect_counters(ex->counters, {{counter::datagrams, 5},
                                   {counter::templates_learned, 2},
                                   {counter::dev_enterprise_fields_skipped, 2},
                                   {counter::flow_records, 3}});
}

TEST_F(ipfix_fx, biflow_reverse_record_only_with_reverse_packets) {
    learn(256, {{8, 4}, {12, 4}, {7, 2}, {11, 2}, {4, 1}, {1, 8}, {2, 8}, {6, 1}, {152, 8}, {153, 8},
                {1, 8, 29305}, {2, 8, 29305}, {6, 1, 29305}, {152, 8, 29305}, {153, 8, 29305},
                {9, 1}, {13, 1}, {16, 4}, {17, 4}, {40, 8, 29305}, {5, 1}, {5, 1, 29305}});
    builder b = hdr();
    auto s = b.open(256);
    auto rec = [&](uint64_t rev_packets) {
        b.ip4(10, 0, 0, 1).ip4(10, 0, 0, 2).u16(40000).u16(80).u8(6).u64(1000).u64(10).u8(0x02);
        b.u64(1700000000000ull).u64(1700000001000ull);
        b.u64(5000).u64(rev_packets).u8(0x12).u64(1700000000010ull).u64(1700000000990ull);
        b.u8(24).u8(16).u32(65000).u32(65001).u64(0);
        b.u8(0x20).u8(0xc0);  // ToS each way: the reverse keeps its own
    };
    rec(7);
    rec(0);
    b.close(s);
    ASSERT_EQ(run(b), decode_status::ok);
    ASSERT_EQ(out.size, 3u);
    const flow_record& f = storage[0];
    const flow_record& r = storage[1];
    expect_v4(f.src_addr, 10, 0, 0, 1);
    EXPECT_EQ(f.bytes, 1000u);
    EXPECT_EQ(f.packets, 10u);
    EXPECT_EQ(f.tcp_flags, 0x02);
    EXPECT_EQ(f.ip_tos, 0x20);
    EXPECT_EQ(f.flags, 0);
    expect_v4(r.src_addr, 10, 0, 0, 2);
    expect_v4(r.dst_addr, 10, 0, 0, 1);
    EXPECT_EQ(r.src_port, 80);
    EXPECT_EQ(r.dst_port, 40000);
    EXPECT_EQ(r.src_net, 16);
    EXPECT_EQ(r.dst_net, 24);
    EXPECT_EQ(r.src_as, 65001u);
    EXPECT_EQ(r.dst_as, 65000u);
    EXPECT_EQ(r.bytes, 5000u);
    EXPECT_EQ(r.packets, 7u);
    EXPECT_EQ(r.tcp_flags, 0x12);
    EXPECT_EQ(r.ip_tos, 0xc0);
    EXPECT_EQ(r.proto, 6);
    EXPECT_EQ(r.time_flow_start_ns, 1700000000010000000ull);
    EXPECT_EQ(r.time_flow_end_ns, 1700000000990000000ull);
    EXPECT_EQ(r.flags, record_flags::biflow_reverse);
    EXPECT_EQ(storage[2].flags, 0);  // second record: forward only
    // The reverse half takes the next index (flow id input, sinks/encode/flow_id.hpp).
    EXPECT_EQ(f.record_index, 0);
    EXPECT_EQ(r.record_index, 1);
    EXPECT_EQ(storage[2].record_index, 2);
    expect_counters(ex->counters, {{counter::datagrams, 2},
                                   {counter::templates_learned, 1},
                                   {counter::dev_enterprise_fields_skipped, 1},  // reverse IE 40: not mapped
                                   {counter::flow_records, 3}});
}

TEST_F(ipfix_fx, domain_isolation) {
    learn(256, ipv4_fields, 1);
    learn(256, {{8, 4}}, 2);  // same id, other layout, other domain
    builder bad = hdr(2);
    auto s = bad.open(2);
    bad.u16(256).u16(3).u16(8).u16(4);  // runs past its set
    bad.close(s);
    run(bad);
    builder d = hdr(1);
    s = d.open(256);
    ipv4_record(d, 9, 1);
    d.close(s);
    ASSERT_EQ(run(d), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    expect_v4(storage[0].src_addr, 10, 1, 1, 9);
    EXPECT_EQ(storage[0].observation_domain_id, 1u);
    builder d3 = hdr(3);
    s = d3.open(256);
    ipv4_record(d3, 9, 1);
    d3.close(s);
    EXPECT_EQ(run(d3), decode_status::dropped);
    expect_counters(ex->counters, {{counter::datagrams, 5},
                                   {counter::templates_learned, 2},
                                   {counter::flow_records, 1},
                                   {counter::err_template_overflows_set, 1},
                                   {counter::err_data_before_template, 1}});
}

struct malformed_case {
    const char* name;
    void (*build)(builder&);
    counter expect;
};

const malformed_case malformed_cases[] = {
    {"set length below 4", [](builder& b) { b.u16(256).u16(3).zeros(4); }, counter::err_set_length},
    {"set length past end", [](builder& b) { b.u16(2).u16(64).zeros(8); }, counter::err_set_length},
    {"trailing partial set header", [](builder& b) { b.u8(0).u8(0).u8(1); }, counter::err_set_length},
    {"template fields overflow set",
     [](builder& b) {
         auto s = b.open(2);
         b.u16(260).u16(4).u16(8).u16(4);
         b.close(s);
     },
     counter::err_template_overflows_set},
    {"enterprise number cut off",
     [](builder& b) {
         auto s = b.open(2);
         b.u16(260).u16(1).u16(0x8001).u16(4).u16(0);
         b.close(s);
     },
     counter::err_template_overflows_set},
    {"only zero-length fields",
     [](builder& b) {
         auto s = b.open(2);
         b.u16(260).u16(2).u16(8).u16(0).u16(2).u16(0);
         b.close(s);
     },
     counter::err_template_field_length},
    {"field longer than any set",
     [](builder& b) {
         auto s = b.open(2);
         b.u16(260).u16(1).u16(8).u16(65534);
         b.close(s);
     },
     counter::err_template_field_length},
    {"options template scope count 0",
     [](builder& b) {
         auto s = b.open(3);
         b.u16(260).u16(1).u16(0).u16(34).u16(4);
         b.zeros(2);
         b.close(s);
     },
     counter::err_options_scope},
    {"options template scope count above field count",
     [](builder& b) {
         auto s = b.open(3);
         b.u16(260).u16(1).u16(2).u16(34).u16(4);
         b.zeros(2);
         b.close(s);
     },
     counter::err_options_scope},
    {"template id below 256",
     [](builder& b) {
         auto s = b.open(2);
         b.u16(17).u16(1).u16(8).u16(4);
         b.close(s);
     },
     counter::err_template_id},
    {"withdrawal of unknown id",
     [](builder& b) {
         auto s = b.open(2);
         b.u16(999).u16(0);
         b.close(s);
     },
     counter::err_withdrawal_unknown},
    {"data set shorter than one record",
     [](builder& b) {
         auto s = b.open(256);
         b.zeros(10);
         b.close(s);
     },
     counter::err_data_record_length},
    {"empty data set",
     [](builder& b) {
         auto s = b.open(256);
         b.close(s);
     },
     counter::err_data_record_length},
    {"reserved set id", [](builder& b) { b.u16(4).u16(8).zeros(4); }, counter::dev_unknown_set_id},
    {"non-zero set padding",
     [](builder& b) {
         auto s = b.open(256);
         ipv4_record(b, 1, 1);
         b.u8(0).u8(0).u8(7);
         b.close(s);
     },
     counter::dev_set_padding_nonzero},
};

TEST_F(ipfix_fx, malformed_inputs_count_one_specific_counter) {
    for (const auto& mc : malformed_cases) {
        SCOPED_TRACE(mc.name);
        reset();
        learn(256, ipv4_fields);
        const counter_block before = ex->counters;
        builder b = hdr();
        mc.build(b);
        run(b);
        uint64_t changed = 0;
        for (std::size_t i = 0; i < counter_count; ++i) {
            const auto k = static_cast<counter>(i);
            if (k == counter::datagrams || k == counter::datagram_bytes || k == counter::flow_records ||
                k == counter::sequence_lost)
                continue;
            if (ex->counters.get(k) != before.get(k)) {
                ++changed;
                EXPECT_EQ(k, mc.expect) << "unexpected counter " << counter_table[i].name;
                EXPECT_EQ(ex->counters.get(k) - before.get(k), 1u);
            }
        }
        EXPECT_EQ(changed, 1u);
        builder d = hdr();
        auto s = d.open(256);
        ipv4_record(d, 1, 1);
        d.close(s);
        EXPECT_EQ(run(d), decode_status::ok);
        EXPECT_EQ(out.size, 1u);
    }
}

TEST_F(ipfix_fx, every_truncation_and_bit_flip_is_safe) {
    builder b = hdr();
    options_template_set(b, 400, 1, {{302, 8}, {305, 4}, {306, 4}});
    template_set(b, 256, {{8, 4}, {82, 65535}, {1, 4, 29305}, {2, 4, 29305}, {2, 4}, {22, 4}});
    auto s = b.open(256);
    b.ip4(1, 1, 1, 1).u8(2).u8('a').u8('b').u32(1).u32(2).u32(3).u32(4);
    b.close(s);
    s = b.open(400);
    b.u64(1).u32(1).u32(9);
    b.close(s);
    const std::vector<uint8_t> good = b.done();
    for (std::size_t n = 0; n <= good.size(); ++n) {
        std::vector<uint8_t> cut(good.begin(), good.begin() + n);
        run_raw(cut);
    }
    for (std::size_t i = 0; i < good.size(); ++i)
        for (int bit = 0; bit < 8; ++bit) {
            std::vector<uint8_t> flip = good;
            flip[i] ^= static_cast<uint8_t>(1u << bit);
            run_raw(flip);
            EXPECT_LE(out.size, max_records_per_datagram);
        }
    SUCCEED();
}

// A zero-length scope field (Juniper's System) is skipped: the options
// template is kept and its sampling rate applies.
TEST_F(ipfix_fx, zero_length_scope_field_keeps_options_template) {
    builder b = hdr();
    options_template_set(b, 400, 1, {{1, 0}, {34, 4}});
    auto s = b.open(400);
    b.u32(512);
    b.close(s);
    template_set(b, 256, ipv4_fields);
    s = b.open(256);
    ipv4_record(b, 1, 1);
    b.close(s);
    ASSERT_EQ(run(b), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    EXPECT_EQ(storage[0].sampling_rate, 512u);
    expect_counters(ex->counters, {{counter::datagrams, 1},
                                   {counter::options_templates_learned, 1},
                                   {counter::templates_learned, 1},
                                   {counter::dev_zero_length_fields, 1},
                                   {counter::options_records, 1},
                                   {counter::sampling_rates_learned, 1},
                                   {counter::flow_records, 1}});
}

// An options template redefined with scope count 0 is refused and withdraws
// the old one; its data is dropped and counted until a valid one arrives.
TEST_F(ipfix_fx, refused_redefinition_withdraws_old_template) {
    learn(256, ipv4_fields);
    builder b = hdr();
    auto s = b.open(2);
    b.u16(256).u16(1).u16(8).u16(0);  // redefined with only a zero-length field
    b.close(s);
    EXPECT_EQ(run(b), decode_status::partial);  // a template record found, refused
    builder d = hdr();
    s = d.open(256);
    ipv4_record(d, 1, 1);
    d.close(s);
    EXPECT_EQ(run(d), decode_status::dropped);
    EXPECT_EQ(out.size, 0u);
    builder o = hdr();
    options_template_set(o, 400, 1, {{149, 4}, {34, 4}});
    ASSERT_EQ(run(o), decode_status::ok);
    builder o2 = hdr();
    s = o2.open(3);
    o2.u16(400).u16(1).u16(0).u16(34).u16(4);  // scope count 0: refused
    o2.zeros(2);
    o2.close(s);
    EXPECT_EQ(run(o2), decode_status::partial);
    builder od = hdr();
    s = od.open(400);
    od.u32(1).u32(100);
    od.close(s);
    EXPECT_EQ(run(od), decode_status::dropped);
    learn(256, ipv4_fields);
    builder d2 = hdr();
    s = d2.open(256);
    ipv4_record(d2, 2, 1);
    d2.close(s);
    ASSERT_EQ(run(d2), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    expect_v4(storage[0].src_addr, 10, 1, 1, 2);
    EXPECT_EQ(storage[0].sampling_rate, 0u);
    expect_counters(ex->counters, {{counter::datagrams, 8},
                                   {counter::templates_learned, 2},
                                   {counter::options_templates_learned, 1},
                                   {counter::err_template_field_length, 1},
                                   {counter::err_options_scope, 1},
                                   {counter::templates_refused_withdrawn, 2},
                                   {counter::err_data_template_refused, 2},
                                   {counter::flow_records, 1}});
}

// Zero bytes after the last set are padding: not a set-length error.
TEST_F(ipfix_fx, zero_padding_after_last_set_is_legal) {
    learn(256, ipv4_fields);
    for (std::size_t pad : {1u, 3u, 4u, 12u}) {
        SCOPED_TRACE(pad);
        builder b = hdr();
        auto s = b.open(256);
        ipv4_record(b, 1, 1);
        b.close(s);
        b.zeros(pad);
        ex->counters = counter_block{};
        EXPECT_EQ(run(b), decode_status::ok);
        EXPECT_EQ(out.size, 1u);
        expect_counters(ex->counters, {{counter::datagrams, 1}, {counter::flow_records, 1}});
    }
    // Non-zero bytes there are still a broken set.
    builder b = hdr();
    auto s = b.open(256);
    ipv4_record(b, 1, 1);
    b.close(s);
    b.u8(0).u8(0).u8(1);
    ex->counters = counter_block{};
    EXPECT_EQ(run(b), decode_status::partial);
    expect_counters(ex->counters, {{counter::datagrams, 1}, {counter::flow_records, 1}, {counter::err_set_length, 1}});
}

// A legal template of 1-byte records: one datagram would yield thousands.
// decode_datagram() caps the records per datagram and counts the excess.
TEST_F(ipfix_fx, records_per_datagram_cap) {
    limits.records_per_datagram = 100;
    reset();
    std::vector<flow_record> big(2000);
    builder b = hdr();
    template_set(b, 256, {{4, 1}});
    auto s = b.open(256);
    for (int i = 0; i < 1000; ++i) b.u8(17);
    b.close(s);
    record_buffer o{big.data(), 2000, 0};
    EXPECT_EQ(decode_datagram(b.done(), meta, protocol::auto_detect, *table, o), decode_status::partial);
    EXPECT_EQ(o.size, 100u);
    EXPECT_EQ(big[99].proto, 17);
    expect_counters(ex->counters, {{counter::datagrams, 1},
                                   {counter::templates_learned, 1},
                                   {counter::flow_records, 100},
                                   {counter::err_records_per_datagram, 900}});
}

// RFC 7011 8: templates belong to the transport session. Two exporting
// processes on one host (two source ports, same domain) keep their own.
TEST_F(ipfix_fx, templates_are_per_source_port) {
    meta.exporter_port = 4739;
    learn(256, ipv4_fields);
    meta.exporter_port = 4740;
    learn(256, {{8, 4}, {2, 8}});
    builder d = hdr();
    auto s = d.open(256);
    d.ip4(10, 9, 9, 9).u64(77);
    d.close(s);
    ASSERT_EQ(run(d), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    expect_v4(storage[0].src_addr, 10, 9, 9, 9);
    EXPECT_EQ(storage[0].packets, 77u);
    meta.exporter_port = 4739;
    builder d2 = hdr();
    s = d2.open(256);
    ipv4_record(d2, 5, 3);
    d2.close(s);
    ASSERT_EQ(run(d2), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    expect_v4(storage[0].src_addr, 10, 1, 1, 5);
    EXPECT_EQ(storage[0].packets, 3u);
    EXPECT_EQ(ex->netflow->domains.size(), 2u);
    expect_counters(ex->counters, {{counter::datagrams, 4}, {counter::templates_learned, 2}, {counter::flow_records, 2}});
}

// An exporter restart that changes the source port: the new session decodes
// with the old session's templates until it sends its own; its sequence
// numbers are tracked on their own (no false loss or reset).
TEST_F(ipfix_fx, restarted_exporter_on_a_new_port_inherits_templates_until_it_sends_its_own) {
    meta.exporter_port = 50000;
    learn(256, ipv4_fields);
    meta.exporter_port = 50001;
    builder d = header(0);  // restart: sequence from 0
    auto s = d.open(256);
    ipv4_record(d, 1, 1);
    ipv4_record(d, 2, 1);
    d.close(s);
    ASSERT_EQ(run(d), decode_status::ok);
    ASSERT_EQ(out.size, 2u);
    expect_v4(storage[1].src_addr, 10, 1, 1, 2);
    learn(256, {{8, 4}, {2, 8}});  // its own template now
    builder d2 = hdr();
    s = d2.open(256);
    d2.ip4(10, 9, 9, 9).u64(5);
    d2.close(s);
    ASSERT_EQ(run(d2), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    EXPECT_EQ(storage[0].packets, 5u);
    expect_counters(ex->counters, {{counter::datagrams, 4},
                                   {counter::templates_learned, 2},
                                   {counter::dev_session_inherited, 1},
                                   {counter::flow_records, 3}});
}

// Sessions are a bounded table: a full one frees superseded sessions (an
// older port of the same domain, silent for a minute) but never a live one.
TEST_F(ipfix_fx, session_table_frees_superseded_sessions_never_live_ones) {
    limits.max_domains_per_exporter = 2;
    reset();
    meta.exporter_port = 1000;
    learn(256, ipv4_fields);
    meta.exporter_port = 1001;
    learn(256, ipv4_fields);
    meta.exporter_port = 1002;  // both live: refused
    builder b = hdr();
    template_set(b, 256, ipv4_fields);
    EXPECT_EQ(run(b), decode_status::dropped);
    EXPECT_EQ(ex->counters.get(counter::err_domain_table_full), 1u);
    // 61 s on, port 1000 is superseded by 1001 (seen later): freed for 1002.
    meta.time_received_ns = now_ns + 61ull * 1000000000ull;
    meta.exporter_port = 1001;
    learn(256, ipv4_fields);
    meta.exporter_port = 1002;
    learn(256, ipv4_fields);
    EXPECT_EQ(ex->netflow->find(10, 1000, 1), nullptr);
    EXPECT_NE(ex->netflow->find(10, 1001, 1), nullptr);
    EXPECT_NE(ex->netflow->find(10, 1002, 1), nullptr);
    EXPECT_EQ(ex->counters.get(counter::err_domain_table_full), 1u);
}

// An active exporter's sessions that fall idle (an old source port after a
// restart) are freed by the table's incremental sweep, counted
// sessions_expired; the live session is kept.
TEST_F(ipfix_fx, idle_sessions_of_an_active_exporter_expire) {
    limits.max_exporters = 4;  // a small table: the sweep visits every slot within a few lookups
    limits.exporter_idle_timeout_ns = 10ull * 1000000000ull;
    reset();
    meta.exporter_port = 1000;
    learn(256, ipv4_fields);
    meta.exporter_port = 1001;
    learn(256, ipv4_fields);
    ASSERT_EQ(ex->netflow->domains.size(), 2u);
    // 11 s on, only port 1001 still sends; another exporter's datagrams
    // between them make the table look up (and sweep) on every switch.
    meta.time_received_ns = now_ns + 11ull * 1000000000ull;
    datagram_meta other = meta;
    other.exporter_addr[15] = 10;
    for (int i = 0; i < 8; ++i) {
        builder a = hdr();
        template_set(a, 256, ipv4_fields);
        out.clear();
        ASSERT_EQ(decode_datagram(a.done(), meta, protocol::ipfix, *table, out), decode_status::ok);
        builder b = header(uint32_t(i), 1);
        template_set(b, 256, ipv4_fields);
        out.clear();
        decode_datagram(b.done(), other, protocol::ipfix, *table, out);
    }
    EXPECT_EQ(ex->netflow->find(10, 1000, 1), nullptr);
    EXPECT_NE(ex->netflow->find(10, 1001, 1), nullptr);
    EXPECT_EQ(ex->netflow->domains.size(), 1u);
    EXPECT_EQ(ex->counters.get(counter::sessions_expired), 1u);
}

// A session gets its slot only from a datagram that validated.
TEST_F(ipfix_fx, a_session_whose_first_datagram_is_invalid_gets_no_slot) {
    learn(256, ipv4_fields);
    builder b = hdr(7);
    b.u16(2).u16(2);  // set length below 4
    EXPECT_EQ(run(b), decode_status::dropped);
    EXPECT_EQ(ex->netflow->domains.size(), 1u);
    EXPECT_EQ(ex->counters.get(counter::err_set_length), 1u);
    builder d = hdr(8);  // data before its template: a real, early session
    auto s = d.open(300);
    d.zeros(8);
    d.close(s);
    EXPECT_EQ(run(d), decode_status::dropped);
    EXPECT_EQ(ex->netflow->domains.size(), 2u);
}

// Template memory: a per-exporter budget, and a worker total shared fairly
// once it is reached. Every refusal counted; the accounting returns to zero.
TEST_F(ipfix_fx, template_memory_budget_per_exporter_and_fair_share_of_the_total) {
    learn(256, ipv4_fields);
    const uint64_t one = ex->netflow->bytes;  // what one such template costs
    ASSERT_GT(one, 0u);
    EXPECT_EQ(table->template_memory().bytes, one);
    limits.template_bytes_per_exporter = 3 * one;
    limits.template_bytes_total = 4 * one;
    reset();
    for (uint16_t id = 256; id < 260; ++id) {
        builder b = hdr();
        template_set(b, id, ipv4_fields);
        run(b);
    }
    EXPECT_EQ(ex->counters.get(counter::templates_learned), 3u);
    EXPECT_EQ(ex->counters.get(counter::err_template_memory), 1u);
    EXPECT_EQ(ex->netflow->bytes, 3 * one);
    // A second exporter: the total (4) would be passed, but its fair share
    // (4 / 2 holders = 2 templates) is not reached yet.
    datagram_meta other = meta;
    other.exporter_addr[15] = 10;
    exporter_state* b_ex = table->find_or_create(other.exporter_addr, now_ns);
    for (uint16_t id = 256; id < 259; ++id) {
        builder b = header(0);
        template_set(b, id, ipv4_fields);
        out.clear();
        decode_ipfix(b.done(), other, *b_ex, out);
    }
    EXPECT_EQ(b_ex->counters.get(counter::templates_learned), 2u);
    EXPECT_EQ(b_ex->counters.get(counter::err_template_memory), 1u);
    EXPECT_EQ(table->template_memory().bytes, 5 * one);
    EXPECT_EQ(table->template_memory().holders, 2u);
    // The first exporter, over its share, cannot grow any more: a
    // redefinition to a larger layout is refused and withdraws the old one.
    fields bigger = ipv4_fields;
    bigger.push_back({5, 1});
    builder r = hdr();
    template_set(r, 256, bigger);
    run(r);
    EXPECT_EQ(ex->counters.get(counter::err_template_memory), 2u);
    EXPECT_EQ(ex->counters.get(counter::templates_refused_withdrawn), 1u);
    // Withdrawals give memory back.
    builder w = hdr();
    auto s = w.open(2);
    w.u16(2).u16(0);  // withdraw all data templates
    w.close(s);
    ASSERT_EQ(run(w), decode_status::ok);
    EXPECT_EQ(ex->netflow->bytes, 0u);
    EXPECT_EQ(table->template_memory().bytes, 2 * one);
}

}  // namespace
}  // namespace sluice::decode
