// SPDX-License-Identifier: Apache-2.0
// exporter_table: lookup, bounded creation, overrides, and protocol dispatch.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/decode/decoder.hpp"

using namespace sluice::decode;

namespace {
void addr(uint8_t out[16], uint8_t last) {
    const uint8_t a[4] = {198, 51, 100, last};
    set_ipv4(out, a);
}
}  // namespace

TEST(exporter_table, creates_once_and_finds) {
    exporter_table t;
    uint8_t a[16], b[16];
    addr(a, 1);
    addr(b, 2);
    exporter_state* ea = t.find_or_create(a, 10);
    exporter_state* eb = t.find_or_create(b, 20);
    ASSERT_NE(ea, nullptr);
    ASSERT_NE(eb, nullptr);
    EXPECT_NE(ea, eb);
    EXPECT_EQ(t.find_or_create(a, 30), ea);
    EXPECT_EQ(ea->first_seen_ns, 10u);
    EXPECT_EQ(ea->last_seen_ns, 30u);
    EXPECT_EQ(t.find(b), eb);
    EXPECT_EQ(t.size(), 2u);
}

TEST(exporter_table, bounded_by_max_exporters) {
    decoder_limits l;
    l.max_exporters = 3;
    exporter_table t(l);
    uint8_t a[16];
    for (uint8_t i = 1; i <= 5; ++i) {
        addr(a, i);
        exporter_state* e = t.find_or_create(a, 0);
        EXPECT_EQ(e != nullptr, i <= 3);
    }
    EXPECT_EQ(t.size(), 3u);
    EXPECT_EQ(t.rejected_table_full, 2u);
}

TEST(exporter_table, override_applies_before_and_after_first_sight) {
    exporter_table t;
    uint8_t a[16], b[16];
    addr(a, 1);
    addr(b, 2);
    exporter_state* ea = t.find_or_create(a, 0);
    t.set_sampling_override(a, 10);
    t.set_sampling_override(b, 20);
    EXPECT_EQ(ea->sampling_override, 10u);
    EXPECT_EQ(t.find_or_create(b, 0)->sampling_override, 20u);
}

// Subnet entries: the longest entry containing an exporter decides its rate (rate 0 = an exemption), for live
// exporters at once and for newcomers; clearing an entry falls back to the next one.
TEST(exporter_table, subnet_override_longest_entry_wins) {
    exporter_table t;
    uint8_t a[16], b[16], c[16], other[16], net[16];
    addr(a, 1);
    addr(b, 130);
    addr(c, 200);
    const uint8_t o4[4] = {203, 0, 113, 1};
    set_ipv4(other, o4);
    exporter_state* ea = t.find_or_create(a, 0);
    addr(net, 77);  // any address inside: the entry is masked
    t.set_sampling_override(net, 96 + 24, 100);  // 198.51.100.0/24
    EXPECT_EQ(ea->sampling_override, 100u);
    uint8_t half[16];
    addr(half, 128);
    t.set_sampling_override(half, 96 + 25, 0);  // 198.51.100.128/25: exempt
    t.set_sampling_override(c, 50);             // one address inside the exemption: forced again
    exporter_state* eb = t.find_or_create(b, 1);  // a newcomer inside the /25
    exporter_state* ec = t.find_or_create(c, 1);
    exporter_state* eo = t.find_or_create(other, 1);
    EXPECT_EQ(ea->sampling_override, 100u);
    EXPECT_EQ(eb->sampling_override, 0u);
    EXPECT_EQ(ec->sampling_override, 50u);
    EXPECT_EQ(eo->sampling_override, 0u);
    EXPECT_EQ(t.sampling_override_for(b), 0u);
    // Records of a forced exporter take the rate and the flag.
    flow_record r{};
    r.sampling_rate = 7;
    ea->apply_sampling(r);
    EXPECT_EQ(r.sampling_rate, 100u);
    EXPECT_NE(r.flags & record_flags::sampling_overridden, 0);
    // The exemption removed: b falls back to the /24; c keeps its own entry.
    t.clear_sampling_override(half, 96 + 25);
    EXPECT_EQ(eb->sampling_override, 100u);
    EXPECT_EQ(ec->sampling_override, 50u);
    // The /24 changed, then removed: nothing left but c's.
    t.set_sampling_override(net, 96 + 24, 300);
    EXPECT_EQ(ea->sampling_override, 300u);
    t.clear_sampling_override(net, 96 + 24);
    EXPECT_EQ(ea->sampling_override, 0u);
    EXPECT_EQ(eb->sampling_override, 0u);
    EXPECT_EQ(ec->sampling_override, 50u);
    // The host form's rate 0 removes its entry.
    t.set_sampling_override(c, 0);
    EXPECT_EQ(ec->sampling_override, 0u);
    // Counted per exporter whose rate was set or changed: a (100), c at creation (50), b (100 after the
    // exemption went), a and b (300), a and b (to 0), c (to 0).
    EXPECT_EQ(t.table_counters().get(table_counter::sampling_forced), 8u);
}

TEST(exporter_table, dispatch_counts_unknown_versions) {
    exporter_table t;
    std::vector<flow_record> buf(8);
    record_buffer out{buf.data(), 8, 0};
    datagram_meta m{};
    addr(m.exporter_addr, 7);
    const uint8_t junk[8] = {0, 42, 0, 0, 0, 0, 0, 0};
    const uint8_t tiny[2] = {0, 5};
    // A newcomer whose first datagram does not validate gets no slot.
    EXPECT_EQ(decode_datagram({junk, sizeof junk}, m, protocol::auto_detect, t, out), decode_status::dropped);
    EXPECT_EQ(t.find(m.exporter_addr), nullptr);
    EXPECT_EQ(t.table_counters().get(table_counter::refused_invalid_first_datagram), 1u);
    // An established exporter's bad datagrams are counted on it.
    ASSERT_NE(t.find_or_create(m.exporter_addr, 0), nullptr);
    EXPECT_EQ(decode_datagram({junk, sizeof junk}, m, protocol::auto_detect, t, out), decode_status::dropped);
    decode_datagram({tiny, sizeof tiny}, m, protocol::auto_detect, t, out);
    exporter_state* e = t.find(m.exporter_addr);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->counters.get(counter::err_unknown_version), 1u);
    EXPECT_EQ(e->counters.get(counter::err_truncated_header), 1u);
    EXPECT_EQ(e->counters.get(counter::datagrams), 2u);
}

TEST(exporter_table, detects_protocols_by_version) {
    const uint8_t v5[4] = {0, 5, 0, 0}, v9[4] = {0, 9, 0, 0}, ipfix[4] = {0, 10, 0, 0}, sflow[4] = {0, 0, 0, 5};
    EXPECT_EQ(detect_protocol({v5, 4}), protocol::netflow_v5);
    EXPECT_EQ(detect_protocol({v9, 4}), protocol::netflow_v9);
    EXPECT_EQ(detect_protocol({ipfix, 4}), protocol::ipfix);
    EXPECT_EQ(detect_protocol({sflow, 4}), protocol::sflow_5);
    EXPECT_EQ(detect_protocol({v5, 2}), protocol::auto_detect);
}

TEST(counters, table_names_match_enum_order) {
    // The {name, help} table is indexed by the enum: a name out of place
    // would report one counter under another's name. Spot-check entries from
    // each group, and that names are unique.
    EXPECT_EQ(counter_table[std::size_t(counter::datagrams)].name, "datagrams");
    EXPECT_EQ(counter_table[std::size_t(counter::sequence_lost)].name, "sequence_lost");
    EXPECT_EQ(counter_table[std::size_t(counter::dev_count_mismatch)].name, "dev_count_mismatch");
    EXPECT_EQ(counter_table[std::size_t(counter::dev_sequence_convention)].name, "dev_sequence_convention");
    EXPECT_EQ(counter_table[std::size_t(counter::dev_timeval_time_fields)].name, "dev_timeval_time_fields");
    EXPECT_EQ(counter_table[std::size_t(counter::dev_icmp_type_in_src_port)].name, "dev_icmp_type_in_src_port");
    EXPECT_EQ(counter_table[std::size_t(counter::err_truncated_header)].name, "err_truncated_header");
    EXPECT_EQ(counter_table[std::size_t(counter::err_sflow_address_type)].name, "err_sflow_address_type");
    EXPECT_EQ(counter_table[std::size_t(counter::err_template_id)].name, "err_template_id");
    for (std::size_t i = 0; i < counter_count; ++i) {
        // deviations before errors: counter_block::errors() sums the error and drop rows
        const bool is_err = counter_table[i].name.substr(0, 4) == "err_";
        EXPECT_EQ(is_err, i >= std::size_t(counter::err_truncated_header)) << counter_table[i].name;
        for (std::size_t j = i + 1; j < counter_count; ++j) EXPECT_NE(counter_table[i].name, counter_table[j].name);
    }
}

// sFlow: more agent/sub-agent pairs behind one address than are tracked.
TEST(exporter_table, sflow_agents_past_the_tracking_limit_are_counted_untracked) {
    exporter_table t;
    std::vector<flow_record> buf(8);
    record_buffer out{buf.data(), 8, 0};
    datagram_meta m{};
    addr(m.exporter_addr, 7);
    for (uint32_t sub = 0; sub < 18; ++sub) {
        std::vector<uint8_t> d;
        auto u32 = [&](uint32_t v) {
            for (int s = 24; s >= 0; s -= 8) d.push_back(static_cast<uint8_t>(v >> s));
        };
        u32(5), u32(1), u32(0xc0000201), u32(sub), u32(1), u32(1000), u32(0);  // no samples
        EXPECT_EQ(decode_datagram({d.data(), d.size()}, m, protocol::auto_detect, t, out), decode_status::ok);
    }
    const exporter_state* e = t.find(m.exporter_addr);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->counters.get(counter::datagrams), 18u);
    EXPECT_EQ(e->counters.get(counter::dev_untracked_sequence), 2u);
}

namespace {

// A one-record NetFlow v5 datagram: always validates.
std::vector<uint8_t> v5_datagram(uint32_t seq) {
    std::vector<uint8_t> d(24 + 48, 0);
    d[1] = 5;
    d[3] = 1;
    d[16] = uint8_t(seq >> 24), d[17] = uint8_t(seq >> 16), d[18] = uint8_t(seq >> 8), d[19] = uint8_t(seq);
    d[24 + 38] = 17;  // protocol
    return d;
}

constexpr uint64_t s_ns = 1000000000ull;

decode_status send(exporter_table& t, uint8_t last, uint64_t now, std::vector<flow_record>& buf,
                   uint8_t ip_version = 4) {
    record_buffer out{buf.data(), uint32_t(buf.size()), 0};
    datagram_meta m{};
    addr(m.exporter_addr, last);
    m.time_received_ns = now;
    m.ip_version = ip_version;
    const auto d = v5_datagram(0);
    return decode_datagram({d.data(), d.size()}, m, protocol::auto_detect, t, out);
}

}  // namespace

TEST(exporter_table, full_table_refuses_newcomers_and_never_evicts_established_ones) {
    decoder_limits l;
    l.max_exporters = 4;
    exporter_table t(l);
    std::vector<flow_record> buf(64);
    for (uint8_t i = 1; i <= 4; ++i) EXPECT_EQ(send(t, i, 10 * s_ns, buf), decode_status::ok);
    // A sweep of newcomers, then one heavy sender: all refused, the 4 kept.
    for (uint8_t i = 10; i < 110; ++i) EXPECT_EQ(send(t, i, 11 * s_ns, buf), decode_status::dropped);
    for (int k = 0; k < 50; ++k) send(t, 200, 12 * s_ns, buf);
    EXPECT_EQ(t.size(), 4u);
    for (uint8_t i = 1; i <= 4; ++i) {
        EXPECT_EQ(send(t, i, 13 * s_ns, buf), decode_status::ok);
        uint8_t a[16];
        addr(a, i);
        ASSERT_NE(t.find(a), nullptr);
        EXPECT_EQ(t.find(a)->counters.get(counter::flow_records), 2u);
    }
    const table_counter_block tc = t.table_counters();
    EXPECT_EQ(tc.get(table_counter::exporters_created), 4u);
    EXPECT_EQ(tc.get(table_counter::refused_table_full), 150u);
    EXPECT_EQ(tc.get(table_counter::exporters_expired), 0u);
    EXPECT_EQ(t.rejected_table_full, 150u);
    // The refused list is bounded and keeps the heavy sender on top.
    const auto r = t.refused();
    EXPECT_EQ(r.size(), exporter_table::refused_list_size);
    uint8_t heavy[16];
    addr(heavy, 200);
    EXPECT_EQ(std::memcmp(r[0].addr, heavy, 16), 0);
    EXPECT_GE(r[0].datagrams, 50u);
    EXPECT_EQ(r[0].cause, table_counter::refused_table_full);
}

TEST(exporter_table, idle_exporters_expire_and_their_counters_are_kept) {
    decoder_limits l;
    l.max_exporters = 2;
    l.exporter_idle_timeout_ns = 60 * s_ns;
    exporter_table t(l);
    std::vector<flow_record> buf(64);
    EXPECT_EQ(send(t, 1, 100 * s_ns, buf), decode_status::ok);
    EXPECT_EQ(send(t, 2, 100 * s_ns, buf), decode_status::ok);
    EXPECT_EQ(send(t, 3, 120 * s_ns, buf), decode_status::dropped);  // full, nobody idle yet
    EXPECT_EQ(send(t, 2, 150 * s_ns, buf), decode_status::ok);       // 2 stays active
    EXPECT_EQ(send(t, 3, 170 * s_ns, buf), decode_status::ok);       // 1 idle 70 s: expired, 3 admitted
    uint8_t a1[16], a2[16], a3[16];
    addr(a1, 1), addr(a2, 2), addr(a3, 3);
    EXPECT_EQ(t.find(a1), nullptr);
    ASSERT_NE(t.find(a2), nullptr);
    ASSERT_NE(t.find(a3), nullptr);
    EXPECT_EQ(t.size(), 2u);
    const table_counter_block tc = t.table_counters();
    EXPECT_EQ(tc.get(table_counter::exporters_created), 3u);
    EXPECT_EQ(tc.get(table_counter::exporters_expired), 1u);
    EXPECT_EQ(tc.get(table_counter::refused_table_full), 1u);
    counter_block retired;
    uint64_t live_records = 0, n = 0;
    ASSERT_TRUE(t.read_live(
        [&](const exporter_view& v) {
            ++n;
            live_records += v.counters.get(counter::flow_records);
            EXPECT_EQ(v.generation & 1u, 1u);
        },
        &retired));
    EXPECT_EQ(n, 2u);
    EXPECT_EQ(live_records, 3u);
    EXPECT_EQ(retired.get(counter::flow_records), 1u);
    EXPECT_EQ(retired.get(counter::datagrams), 1u);
    // The expired exporter comes back as a new one.
    EXPECT_EQ(send(t, 1, 300 * s_ns, buf), decode_status::ok);
    ASSERT_NE(t.find(a1), nullptr);
    EXPECT_EQ(t.find(a1)->counters.get(counter::datagrams), 1u);
}

TEST(exporter_table, ipv4_mapped_ipv6_source_is_refused) {
    exporter_table t;
    std::vector<flow_record> buf(64);
    EXPECT_EQ(send(t, 1, 0, buf, 6), decode_status::dropped);  // ::ffff:198.51.100.1 in an IPv6 header
    EXPECT_EQ(t.size(), 0u);
    EXPECT_EQ(send(t, 1, 0, buf, 4), decode_status::ok);       // the IPv4 exporter itself
    EXPECT_EQ(send(t, 1, 0, buf, 6), decode_status::dropped);  // cannot reach the IPv4 exporter's state
    uint8_t a[16];
    addr(a, 1);
    ASSERT_NE(t.find(a), nullptr);
    EXPECT_EQ(t.find(a)->counters.get(counter::datagrams), 1u);
    EXPECT_EQ(t.table_counters().get(table_counter::refused_ipv4_mapped_ipv6_source), 2u);
    EXPECT_EQ(t.refused().at(0).cause, table_counter::refused_ipv4_mapped_ipv6_source);
}

// The control core reads the table while the owner decodes, admits and
// expires: every consistent read sees live counters + retired totals that
// never go backwards. (Run under ASan/UBSan in CI; the protocol is the one
// documented in decoder.hpp.)
TEST(exporter_table, live_reads_while_the_owner_churns) {
    decoder_limits l;
    l.max_exporters = 8;
    l.exporter_idle_timeout_ns = 2;  // nearly every new lookup retires someone
    exporter_table t(l);
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> reads{0}, regressions{0};
    std::thread reader([&] {
        uint64_t last = 0;
        while (!stop.load(std::memory_order_relaxed)) {
            counter_block retired;
            uint64_t sum = 0;
            if (!t.read_live([&](const exporter_view& v) { sum += v.counters.get(counter::datagrams); }, &retired, 64))
                continue;
            sum += retired.get(counter::datagrams);
            if (sum < last) regressions.fetch_add(1);
            last = sum;
            reads.fetch_add(1);
        }
    });
    std::vector<flow_record> buf(64);
    uint64_t sent = 0;
    for (uint64_t i = 0; i < 20000 || reads.load() < 10; ++i) {
        send(t, uint8_t(i % 29), 10 * i, buf);
        ++sent;
    }
    stop = true;
    reader.join();
    EXPECT_EQ(regressions.load(), 0u);
    counter_block retired;
    uint64_t sum = 0;
    ASSERT_TRUE(t.read_live([&](const exporter_view& v) { sum += v.counters.get(counter::datagrams); }, &retired));
    sum += retired.get(counter::datagrams);
    EXPECT_EQ(sum + t.table_counters().get(table_counter::refused_table_full), sent);
}

TEST(exporter_table, decoder_limits_parse_by_name) {
    decoder_limits l;
    std::string err;
    EXPECT_TRUE(parse_decoder_limit("records_per_datagram=100", l, &err));
    EXPECT_EQ(l.records_per_datagram, 100u);
    EXPECT_TRUE(parse_decoder_limit("exporter_idle_timeout_ns=30s", l, &err));
    EXPECT_EQ(l.exporter_idle_timeout_ns, 30ull * s_ns);
    EXPECT_TRUE(parse_decoder_limit("template_timeout_ns=1500ms", l, &err));
    EXPECT_EQ(l.template_timeout_ns, 1500000000ull);
    EXPECT_FALSE(parse_decoder_limit("max_exporters=0", l, &err));
    EXPECT_FALSE(parse_decoder_limit("max_exporters=abc", l, &err));
    EXPECT_FALSE(parse_decoder_limit("no_such_limit=1", l, &err));
    EXPECT_NE(err.find("max_exporters"), std::string::npos);  // lists the names
    EXPECT_FALSE(parse_decoder_limit("records_per_datagram", l, &err));
}

// sFlow: sample sources past the per-address tracking limit (256) are
// decoded but not sequence-tracked, counted per sample.
TEST(exporter_table, sflow_sources_past_the_tracking_limit_are_counted_untracked) {
    exporter_table t;
    std::vector<flow_record> buf(8);
    record_buffer out{buf.data(), 8, 0};
    datagram_meta m{};
    addr(m.exporter_addr, 8);
    std::vector<uint8_t> d;
    auto u32 = [&](uint32_t v) {
        for (int s = 24; s >= 0; s -= 8) d.push_back(static_cast<uint8_t>(v >> s));
    };
    constexpr uint32_t n = 300;
    u32(5), u32(1), u32(0xc0000201), u32(0), u32(1), u32(1000), u32(n);
    for (uint32_t i = 0; i < n; ++i) u32(2), u32(12), u32(1), u32(i), u32(0);  // counters sample, no records
    EXPECT_EQ(decode_datagram({d.data(), d.size()}, m, protocol::auto_detect, t, out), decode_status::ok);
    const exporter_state* e = t.find(m.exporter_addr);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->counters.get(counter::dev_untracked_sequence), n - 256);
    EXPECT_EQ(e->counters.errors(), 0u);
}
