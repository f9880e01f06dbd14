// SPDX-License-Identifier: Apache-2.0
// exporter_table: lookup, bounded creation, overrides, and protocol dispatch.
#include <gtest/gtest.h>

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

TEST(exporter_table, dispatch_counts_unknown_versions) {
    exporter_table t;
    std::vector<flow_record> buf(8);
    record_buffer out{buf.data(), 8, 0};
    datagram_meta m{};
    addr(m.exporter_addr, 7);
    const uint8_t junk[8] = {0, 42, 0, 0, 0, 0, 0, 0};
    EXPECT_EQ(decode_datagram({junk, sizeof junk}, m, protocol::auto_detect, t, out), decode_status::dropped);
    const uint8_t tiny[2] = {0, 5};
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
