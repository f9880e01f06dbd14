// SPDX-License-Identifier: Apache-2.0
// NetFlow v5 decoder: field-by-field decode, time conversion, count checks,
// sequence tracking, sampling, and malformed input with exact counters.
#include <gtest/gtest.h>

#include <vector>

#include "dataplane/decode/decoder.hpp"
#include "dataplane/decode/netflow_v5/netflow_v5.hpp"

using namespace sluice::decode;

namespace {

struct v5_builder {
    std::vector<uint8_t> b;
    void u8(uint8_t v) { b.push_back(v); }
    void u16(uint16_t v) { u8(v >> 8); u8(uint8_t(v)); }
    void u32(uint32_t v) { u16(v >> 16); u16(uint16_t(v)); }
    void header(uint16_t count, uint32_t uptime, uint32_t secs, uint32_t nsecs, uint32_t seq, uint8_t et, uint8_t ei,
                uint16_t sampling) {
        u16(5); u16(count); u32(uptime); u32(secs); u32(nsecs); u32(seq); u8(et); u8(ei); u16(sampling);
    }
    void record(uint32_t src, uint32_t dst, uint32_t nh, uint16_t in, uint16_t out, uint32_t pkts, uint32_t octets,
                uint32_t first, uint32_t last, uint16_t sport, uint16_t dport, uint8_t flags, uint8_t proto,
                uint8_t tos, uint16_t sas, uint16_t das, uint8_t smask, uint8_t dmask) {
        u32(src); u32(dst); u32(nh); u16(in); u16(out); u32(pkts); u32(octets); u32(first); u32(last);
        u16(sport); u16(dport); u8(0); u8(flags); u8(proto); u8(tos); u16(sas); u16(das); u8(smask); u8(dmask); u16(0);
    }
};

struct fixture {
    exporter_table table;
    std::vector<flow_record> buf = std::vector<flow_record>(64);
    datagram_meta meta{};
    fixture() {
        const uint8_t a[4] = {192, 0, 2, 10};
        set_ipv4(meta.exporter_addr, a);
        meta.time_received_ns = 1700000100ull * 1000000000ull;
    }
    exporter_state& exp() { return *table.find_or_create(meta.exporter_addr, meta.time_received_ns); }
    decode_status run(const std::vector<uint8_t>& d, record_buffer& out) {
        return decode_netflow_v5({d.data(), d.size()}, meta, exp(), out);
    }
    record_buffer out(uint32_t cap = 64) { return record_buffer{buf.data(), cap, 0}; }
    uint64_t c(counter k) { return exp().counters.get(k); }
};

constexpr uint32_t ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return uint32_t(a) << 24 | b << 16 | c << 8 | d; }

}  // namespace

TEST(netflow_v5, decodes_every_field) {
    fixture f;
    v5_builder b;
    b.header(2, 100000, 1700000000, 500, 42, 1, 2, 0x4000 | 100);
    b.record(ip(10, 0, 0, 1), ip(10, 0, 0, 2), ip(10, 0, 0, 254), 3, 4, 10, 1500, 90000, 99000, 12345, 443, 0x1b, 6,
             0x28, 64512, 64513, 24, 16);
    b.record(ip(10, 1, 0, 1), ip(10, 1, 0, 2), 0, 5, 6, 1, 84, 99500, 99500, 0, 0x0800, 0, 1, 0, 0, 0, 8, 8);
    auto out = f.out();
    ASSERT_EQ(f.run(b.b, out), decode_status::ok);
    ASSERT_EQ(out.size, 2u);
    const flow_record& r = out.data[0];
    EXPECT_TRUE(is_ipv4_mapped(r.src_addr));
    EXPECT_EQ(r.src_addr[12], 10);
    EXPECT_EQ(r.src_addr[15], 1);
    EXPECT_EQ(r.dst_addr[15], 2);
    EXPECT_EQ(r.next_hop[15], 254);
    EXPECT_EQ(r.in_if, 3u);
    EXPECT_EQ(r.out_if, 4u);
    EXPECT_EQ(r.packets, 10u);
    EXPECT_EQ(r.bytes, 1500u);
    const uint64_t export_ns = 1700000000ull * 1000000000ull + 500;
    EXPECT_EQ(r.time_flow_start_ns, export_ns - 10000ull * 1000000ull);
    EXPECT_EQ(r.time_flow_end_ns, export_ns - 1000ull * 1000000ull);
    EXPECT_EQ(r.time_received_ns, f.meta.time_received_ns);
    EXPECT_EQ(r.src_port, 12345);
    EXPECT_EQ(r.dst_port, 443);
    EXPECT_EQ(r.tcp_flags, 0x1b);
    EXPECT_EQ(r.proto, 6);
    EXPECT_EQ(r.ip_tos, 0x28);
    EXPECT_EQ(r.src_as, 64512u);
    EXPECT_EQ(r.dst_as, 64513u);
    EXPECT_EQ(r.src_net, 24);
    EXPECT_EQ(r.dst_net, 16);
    EXPECT_EQ(r.sampling_rate, 100u);
    EXPECT_EQ(r.sequence_num, 42u);
    EXPECT_EQ(r.observation_domain_id, 0x0102u);
    EXPECT_EQ(r.type, flow_type::netflow_v5);
    EXPECT_EQ(r.kind, record_kind::flow);
    EXPECT_EQ(r.export_version, 5);
    EXPECT_EQ(r.etype, 0x0800);
    EXPECT_EQ(std::memcmp(r.sampler_address, f.meta.exporter_addr, 16), 0);
    // ICMP: type/code come from the destination port.
    EXPECT_EQ(out.data[1].icmp_type, 8);
    EXPECT_EQ(out.data[1].icmp_code, 0);
    EXPECT_TRUE(is_ipv4_mapped(out.data[1].next_hop));  // 0.0.0.0 as exported, not "absent"
    EXPECT_EQ(out.data[1].next_hop[15], 0);
    EXPECT_EQ(f.c(counter::datagrams), 1u);
    EXPECT_EQ(f.c(counter::flow_records), 2u);
    EXPECT_EQ(f.exp().counters.errors(), 0u);
    EXPECT_EQ(f.buf[0].record_index, 0);  // position in the datagram: a flow id input
    EXPECT_EQ(f.buf[1].record_index, 1);
}

TEST(netflow_v5, uptime_wrap_and_first_after_uptime) {
    fixture f;
    v5_builder b;
    // Uptime wrapped to 1000 ms; the flow started at 0xffffff00 (before the wrap).
    b.header(2, 1000, 1700000000, 0, 0, 0, 0, 0);
    b.record(1, 2, 0, 0, 0, 1, 1, 0xffffff00u, 500, 0, 0, 0, 17, 0, 0, 0, 0, 0);
    // A flow stamped 20 ms after the header's uptime (exporter quirk).
    b.record(1, 2, 0, 0, 0, 1, 1, 1020, 1020, 0, 0, 0, 17, 0, 0, 0, 0, 0);
    auto out = f.out();
    f.run(b.b, out);
    const uint64_t export_ns = 1700000000ull * 1000000000ull;
    EXPECT_EQ(out.data[0].time_flow_start_ns, export_ns - (1000ull + 256ull) * 1000000ull);
    EXPECT_EQ(out.data[0].time_flow_end_ns, export_ns - 500ull * 1000000ull);
    EXPECT_EQ(out.data[1].time_flow_start_ns, export_ns + 20ull * 1000000ull);
    EXPECT_EQ(out.data[0].sampling_rate, 1u);  // interval 0: unsampled
}

TEST(netflow_v5, count_larger_than_datagram_decodes_whole_records_only) {
    fixture f;
    v5_builder b;
    b.header(5, 0, 0, 0, 0, 0, 0, 0);
    b.record(1, 2, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0);
    b.record(1, 2, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0);
    b.b.resize(b.b.size() + 20);  // a torn third record
    auto out = f.out();
    EXPECT_EQ(f.run(b.b, out), decode_status::partial);
    EXPECT_EQ(out.size, 2u);
    EXPECT_EQ(f.c(counter::err_count_exceeds_datagram), 1u);
    EXPECT_EQ(f.c(counter::dev_trailing_bytes), 1u);
    EXPECT_EQ(f.c(counter::flow_records), 2u);
}

TEST(netflow_v5, count_smaller_than_records_present_drops_and_counts_them) {
    fixture f;
    v5_builder b;
    b.header(1, 0, 0, 0, 0, 0, 0, 0);
    b.record(1, 2, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0);
    b.record(3, 4, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0);
    b.record(5, 6, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0);
    auto out = f.out();
    EXPECT_EQ(f.run(b.b, out), decode_status::partial);
    ASSERT_EQ(out.size, 1u);  // the header's count is honoured when the bytes cover it
    EXPECT_EQ(out.data[0].src_addr[15], 1);
    for (std::size_t i = 0; i < counter_count; ++i) {
        const auto k = static_cast<counter>(i);
        const uint64_t want = k == counter::datagrams || k == counter::flow_records ? 1
                              : k == counter::err_v5_records_beyond_count          ? 2
                              : k == counter::datagram_bytes                       ? b.b.size()
                                                                                   : 0;
        EXPECT_EQ(f.c(k), want) << counter_table[i].name;
    }
}

TEST(netflow_v5, engines_past_the_tracking_limit_are_counted_untracked) {
    fixture f;
    for (uint8_t engine = 0; engine < 10; ++engine) {
        v5_builder b;
        b.header(1, 0, 0, 0, 100, 0, engine, 0);
        b.record(1, 2, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0);
        auto out = f.out();
        EXPECT_EQ(f.run(b.b, out), decode_status::ok);
        EXPECT_EQ(out.size, 1u);
    }
    EXPECT_EQ(f.c(counter::dev_untracked_sequence), 2u);  // engines 8 and 9
    EXPECT_EQ(f.c(counter::flow_records), 10u);
    EXPECT_EQ(f.c(counter::sequence_lost), 0u);
}

TEST(netflow_v5, records_per_datagram_cap_through_decode_datagram) {
    decoder_limits l;
    l.records_per_datagram = 2;
    exporter_table t(l);
    std::vector<flow_record> buf(64);
    record_buffer out{buf.data(), 64, 0};
    datagram_meta m{};
    const uint8_t a[4] = {192, 0, 2, 10};
    set_ipv4(m.exporter_addr, a);
    v5_builder b;
    b.header(3, 0, 0, 0, 0, 0, 0, 0);
    for (int i = 0; i < 3; ++i) b.record(1, 2, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0);
    EXPECT_EQ(decode_datagram({b.b.data(), b.b.size()}, m, protocol::auto_detect, t, out), decode_status::partial);
    EXPECT_EQ(out.size, 2u);
    EXPECT_EQ(out.capacity, 64u);  // restored
    EXPECT_EQ(out.full_cause, counter::err_output_full);
    const exporter_state* e = t.find(m.exporter_addr);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->counters.get(counter::err_records_per_datagram), 1u);
    EXPECT_EQ(e->counters.get(counter::err_output_full), 0u);
    EXPECT_EQ(e->counters.get(counter::flow_records), 2u);
    // The cap counts per datagram: the next one gets its own 2.
    EXPECT_EQ(decode_datagram({b.b.data(), b.b.size()}, m, protocol::auto_detect, t, out), decode_status::partial);
    EXPECT_EQ(out.size, 4u);
    EXPECT_EQ(e->counters.get(counter::err_records_per_datagram), 2u);
    // A real buffer shortage still counts err_output_full.
    record_buffer small{buf.data(), 1, 0};
    decode_datagram({b.b.data(), b.b.size()}, m, protocol::auto_detect, t, small);
    EXPECT_EQ(e->counters.get(counter::err_output_full), 2u);
    EXPECT_EQ(e->counters.get(counter::err_records_per_datagram), 2u);
}

TEST(netflow_v5, truncated_header_and_wrong_version) {
    fixture f;
    auto out = f.out();
    std::vector<uint8_t> shortd = {0, 5, 0, 1, 0, 0};
    EXPECT_EQ(f.run(shortd, out), decode_status::dropped);
    EXPECT_EQ(f.c(counter::err_truncated_header), 1u);
    v5_builder b;
    b.header(0, 0, 0, 0, 0, 0, 0, 0);
    b.b[1] = 7;
    EXPECT_EQ(f.run(b.b, out), decode_status::dropped);
    EXPECT_EQ(f.c(counter::err_unknown_version), 1u);
    EXPECT_EQ(out.size, 0u);
    EXPECT_EQ(f.c(counter::datagrams), 2u);
}

TEST(netflow_v5, sequence_loss_and_reset_per_engine) {
    fixture f;
    auto send = [&](uint32_t seq, uint16_t count, uint8_t engine) {
        v5_builder b;
        b.header(count, 0, 0, 0, seq, 0, engine, 0);
        for (int i = 0; i < count; ++i) b.record(1, 2, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0);
        auto out = f.out();
        f.run(b.b, out);
    };
    send(100, 3, 0);
    send(103, 2, 0);   // in order
    send(100, 1, 1);   // another engine: its own stream
    send(110, 1, 0);   // 5 flows lost
    send(5, 1, 0);     // went backwards: reset
    EXPECT_EQ(f.c(counter::sequence_lost), 5u);
    EXPECT_EQ(f.c(counter::sequence_resets), 1u);
}

TEST(netflow_v5, output_full_is_counted) {
    fixture f;
    v5_builder b;
    b.header(3, 0, 0, 0, 0, 0, 0, 0);
    for (int i = 0; i < 3; ++i) b.record(1, 2, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0);
    auto out = f.out(2);
    EXPECT_EQ(f.run(b.b, out), decode_status::partial);
    EXPECT_EQ(out.size, 2u);
    EXPECT_EQ(f.c(counter::err_output_full), 1u);
}

TEST(netflow_v5, sampling_override_wins) {
    fixture f;
    f.table.set_sampling_override(f.meta.exporter_addr, 1000);
    v5_builder b;
    b.header(1, 0, 0, 0, 0, 0, 0, 64);
    b.record(1, 2, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0);
    auto out = f.out();
    f.run(b.b, out);
    EXPECT_EQ(out.data[0].sampling_rate, 1000u);
    EXPECT_TRUE(out.data[0].flags & record_flags::sampling_overridden);
}

TEST(netflow_v5, no_stale_bytes) {
    // The decoder fills slots without zeroing them first: every byte of a
    // record must be written, whatever the buffer held before.
    v5_builder b;
    b.header(1, 5000, 1700000000, 0, 9, 0, 0, 0);
    b.record(ip(10, 0, 0, 1), ip(10, 0, 0, 2), 0, 1, 2, 3, 4, 4000, 4500, 5, 6, 0x10, 17, 0, 0, 0, 0, 0);
    std::vector<uint8_t> zero_bytes, junk_bytes;
    for (uint8_t fill : {uint8_t(0x00), uint8_t(0xab)}) {
        fixture f;
        std::memset(static_cast<void*>(f.buf.data()), fill, sizeof(flow_record));
        auto out = f.out();
        f.run(b.b, out);
        const auto* p = reinterpret_cast<const uint8_t*>(&out.data[0]);
        (fill ? junk_bytes : zero_bytes).assign(p, p + sizeof(flow_record));
    }
    EXPECT_EQ(zero_bytes, junk_bytes);
}

TEST(sequence_tracker, counts_through_message_convention_is_a_deviation_not_loss) {
    counter_block c;
    sequence_tracker t;
    // softflowd IPFIX: each message carries the count including its own records.
    t.observe(2, 3, c);
    t.observe(4, 2, c);
    t.observe(7, 3, c);
    t.observe(10, 3, c);
    t.observe(11, 1, c);
    EXPECT_EQ(c.get(counter::sequence_lost), 0u);
    EXPECT_EQ(c.get(counter::sequence_resets), 0u);
    EXPECT_EQ(c.get(counter::dev_sequence_convention), 1u);
    t.observe(20, 4, c);  // real loss under that convention: 20 - (11 + 4) = 5
    EXPECT_EQ(c.get(counter::sequence_lost), 5u);
    // Standard numbering resumes (exporter upgraded): switch back silently.
    sequence_tracker s;
    s.observe(100, 5, c);
    s.observe(105, 2, c);
    s.observe(107, 7, c);
    EXPECT_EQ(c.get(counter::sequence_lost), 5u);
    EXPECT_EQ(c.get(counter::dev_sequence_convention), 1u);
}

TEST(netflow_v5, icmp_type_code_in_either_port_convention) {
    fixture f;
    v5_builder b;
    b.header(3, 0, 0, 0, 0, 0, 0, 0);
    b.record(1, 2, 0, 0, 0, 1, 1, 0, 0, 0, 0x0303, 0, 1, 0, 0, 0, 0, 0);  // Cisco: 3/3 in dst port
    b.record(1, 2, 0, 0, 0, 1, 1, 0, 0, 3, 3, 0, 1, 0, 0, 0, 0, 0);       // fprobe: type in src, code in dst
    b.record(1, 2, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0);       // echo reply 0/0: same either way
    auto out = f.out();
    f.run(b.b, out);
    ASSERT_EQ(out.size, 3u);
    for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(out.data[i].icmp_type, 3) << i;
        EXPECT_EQ(out.data[i].icmp_code, 3) << i;
    }
    EXPECT_EQ(out.data[1].src_port, 3);  // ports keep their exported values
    EXPECT_EQ(out.data[2].icmp_type, 0);
    EXPECT_EQ(f.c(counter::dev_icmp_type_in_src_port), 1u);
}
