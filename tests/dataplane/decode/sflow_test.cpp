// SPDX-License-Identifier: Apache-2.0
// sFlow v5 decoder and sampled-header parser tests: datagrams built byte by
// byte, decoded records checked field by field, counters checked exactly.
#include <gtest/gtest.h>

#include <cstring>
#include <initializer_list>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/decode/decoder.hpp"
#include "dataplane/decode/sflow/sampled_header.hpp"
#include "dataplane/decode/sflow/sflow.hpp"

namespace sluice::decode {
namespace {

using bytes = std::vector<uint8_t>;

constexpr uint64_t t_received = 1700000000123456789ull;

// ---------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------

// XDR writer: big-endian words, opaque data padded to 4 bytes, and length
// words patched once their body is written (open/close).
struct xdr {
    bytes b;
    xdr& u8(uint8_t v) {
        b.push_back(v);
        return *this;
    }
    xdr& u16(uint16_t v) { return u8(uint8_t(v >> 8)).u8(uint8_t(v)); }
    xdr& u32(uint32_t v) { return u16(uint16_t(v >> 16)).u16(uint16_t(v)); }
    xdr& u64(uint64_t v) { return u32(uint32_t(v >> 32)).u32(uint32_t(v)); }
    xdr& raw(const bytes& d) {
        b.insert(b.end(), d.begin(), d.end());
        return *this;
    }
    xdr& pad4() {
        while (b.size() % 4) b.push_back(0);
        return *this;
    }
    xdr& opaque(const bytes& d) { return u32(uint32_t(d.size())).raw(d).pad4(); }
    // Reserves a length word; returns where its body starts.
    std::size_t open() {
        u32(0);
        return b.size();
    }
    xdr& close(std::size_t at) { return patch(at - 4, uint32_t(b.size() - at)); }
    xdr& patch(std::size_t at, uint32_t v) {
        b[at] = uint8_t(v >> 24);
        b[at + 1] = uint8_t(v >> 16);
        b[at + 2] = uint8_t(v >> 8);
        b[at + 3] = uint8_t(v);
        return *this;
    }
};

bytes cat(std::initializer_list<bytes> parts) {
    bytes r;
    for (const auto& p : parts) r.insert(r.end(), p.begin(), p.end());
    return r;
}

// --- packet headers (network byte order) ---

bytes eth(uint16_t type) {
    return {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, uint8_t(type >> 8), uint8_t(type)};
}
// An 802.1Q/802.1ad tag body: TCI, then the next Ethernet type.
bytes tag(uint16_t tci, uint16_t next) { return {uint8_t(tci >> 8), uint8_t(tci), uint8_t(next >> 8), uint8_t(next)}; }
bytes mpls(uint32_t label, bool bottom) {
    const uint32_t e = label << 12 | (bottom ? 0x100u : 0u) | 64u;  // TTL 64
    return {uint8_t(e >> 24), uint8_t(e >> 16), uint8_t(e >> 8), uint8_t(e)};
}
bytes ipv4(uint8_t proto, std::array<uint8_t, 4> src, std::array<uint8_t, 4> dst, uint8_t tos = 0,
           uint16_t frag = 0, const bytes& options = {}) {
    const uint8_t ihl = uint8_t(5 + options.size() / 4);
    bytes h = {uint8_t(0x40 | ihl), tos, 0x05, 0xdc, 0x12, 0x34, uint8_t(frag >> 8), uint8_t(frag), 64, proto, 0, 0};
    h.insert(h.end(), src.begin(), src.end());
    h.insert(h.end(), dst.begin(), dst.end());
    h.insert(h.end(), options.begin(), options.end());
    return h;
}
using addr6 = std::array<uint8_t, 16>;
const addr6 v6_src = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
const addr6 v6_dst = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};
bytes ipv6(uint8_t next, const addr6& src = v6_src, const addr6& dst = v6_dst, uint8_t tclass = 0) {
    bytes h = {uint8_t(0x60 | tclass >> 4), uint8_t(tclass << 4), 0x00, 0x01, 0x00, 0x40, next, 64};
    h.insert(h.end(), src.begin(), src.end());
    h.insert(h.end(), dst.begin(), dst.end());
    return h;
}
// Hop-by-hop / routing / destination options: (units + 1) * 8 bytes.
bytes ext6(uint8_t next, uint8_t units) {
    bytes h((units + 1) * 8, 0);
    h[0] = next;
    h[1] = units;
    return h;
}
bytes frag6(uint8_t next, uint16_t offset_units, bool more) {
    const uint16_t v = uint16_t(offset_units << 3 | (more ? 1 : 0));
    return {next, 0, uint8_t(v >> 8), uint8_t(v), 0xde, 0xad, 0xbe, 0xef};
}
// AH: (payload_len + 2) * 4 bytes.
bytes ah6(uint8_t next, uint8_t payload_len) {
    bytes h((payload_len + 2) * 4, 0);
    h[0] = next;
    h[1] = payload_len;
    return h;
}
bytes tcp(uint16_t sport, uint16_t dport, uint8_t flags) {
    bytes h(20, 0);
    h[0] = uint8_t(sport >> 8), h[1] = uint8_t(sport), h[2] = uint8_t(dport >> 8), h[3] = uint8_t(dport);
    h[12] = 0x50;
    h[13] = flags;
    return h;
}
bytes udp(uint16_t sport, uint16_t dport) {
    return {uint8_t(sport >> 8), uint8_t(sport), uint8_t(dport >> 8), uint8_t(dport), 0, 8, 0, 0};
}
bytes icmp(uint8_t type, uint8_t code) { return {type, code, 0, 0, 0, 0, 0, 0}; }

// --- sFlow structures ---

using addr4 = std::array<uint8_t, 4>;

xdr& datagram_v4(xdr& x, addr4 agent, uint32_t sub_agent, uint32_t seq, uint32_t samples) {
    x.u32(5).u32(1);
    for (uint8_t v : agent) x.u8(v);
    return x.u32(sub_agent).u32(seq).u32(987654).u32(samples);
}
xdr& datagram_v6(xdr& x, const addr6& agent, uint32_t sub_agent, uint32_t seq, uint32_t samples) {
    x.u32(5).u32(2);
    for (uint8_t v : agent) x.u8(v);
    return x.u32(sub_agent).u32(seq).u32(987654).u32(samples);
}

// Compact flow sample up to num_records; close() the returned offset.
std::size_t flow_sample(xdr& x, uint32_t seq, uint32_t source_id, uint32_t rate, uint32_t in, uint32_t out,
                        uint32_t records) {
    x.u32(sflow::sample_flow);
    const std::size_t at = x.open();
    x.u32(seq).u32(source_id).u32(rate).u32(rate * 100).u32(0).u32(in).u32(out).u32(records);
    return at;
}
std::size_t flow_sample_expanded(xdr& x, uint32_t seq, uint32_t type, uint32_t index, uint32_t rate,
                                 uint32_t in_format, uint32_t in, uint32_t out_format, uint32_t out, uint32_t records) {
    x.u32(sflow::sample_flow_expanded);
    const std::size_t at = x.open();
    x.u32(seq).u32(type).u32(index).u32(rate).u32(rate * 100).u32(3);
    x.u32(in_format).u32(in).u32(out_format).u32(out).u32(records);
    return at;
}
void raw_header(xdr& x, uint32_t protocol, uint32_t frame_length, const bytes& header) {
    x.u32(sflow::flow_raw_header);
    const std::size_t at = x.open();
    x.u32(protocol).u32(frame_length).u32(4).opaque(header);
    x.close(at);
}
void ext_switch(xdr& x, uint32_t src_vlan, uint32_t dst_vlan) {
    x.u32(sflow::flow_ext_switch);
    const std::size_t at = x.open();
    x.u32(src_vlan).u32(0).u32(dst_vlan).u32(0);
    x.close(at);
}
void ext_router_v4(xdr& x, addr4 next_hop, uint32_t src_mask, uint32_t dst_mask) {
    x.u32(sflow::flow_ext_router);
    const std::size_t at = x.open();
    x.u32(1);
    for (uint8_t v : next_hop) x.u8(v);
    x.u32(src_mask).u32(dst_mask);
    x.close(at);
}
void ext_gateway(xdr& x, uint32_t as, uint32_t src_as, uint32_t src_peer_as,
                 const std::vector<std::vector<uint32_t>>& path) {
    x.u32(sflow::flow_ext_gateway);
    const std::size_t at = x.open();
    x.u32(1).u32(0x0a0000fd);  // BGP next hop 10.0.0.253
    x.u32(as).u32(src_as).u32(src_peer_as).u32(uint32_t(path.size()));
    for (const auto& seg : path) {
        x.u32(2).u32(uint32_t(seg.size()));  // AS_SEQUENCE
        for (uint32_t a : seg) x.u32(a);
    }
    x.u32(1).u32(0xfde80001);  // one community
    x.u32(100);                 // local_pref
    x.close(at);
}
// Any record with an opaque body.
void record(xdr& x, uint32_t format, const bytes& body) {
    x.u32(format);
    const std::size_t at = x.open();
    x.raw(body);
    x.close(at);
}

std::size_t counter_sample(xdr& x, uint32_t seq, uint32_t source_id, uint32_t records) {
    x.u32(sflow::sample_counters);
    const std::size_t at = x.open();
    x.u32(seq).u32(source_id).u32(records);
    return at;
}
std::size_t counter_sample_expanded(xdr& x, uint32_t seq, uint32_t type, uint32_t index, uint32_t records) {
    x.u32(sflow::sample_counters_expanded);
    const std::size_t at = x.open();
    x.u32(seq).u32(type).u32(index).u32(records);
    return at;
}
struct if_counters {
    uint32_t index = 3, type = 6;
    uint64_t speed = 10000000000ull;
    uint32_t direction = 1, status = 3;
    uint64_t in_octets = 0x123456789abull;
    uint32_t in_ucast = 1000, in_mcast = 20, in_bcast = 3, in_discards = 4, in_errors = 5, in_unknown = 6;
    uint64_t out_octets = 0xfedcba9876ull;
    uint32_t out_ucast = 2000, out_mcast = 40, out_bcast = 6, out_discards = 7, out_errors = 8, promisc = 0;
};
void generic_if(xdr& x, const if_counters& g) {
    x.u32(sflow::counters_generic_if);
    const std::size_t at = x.open();
    x.u32(g.index).u32(g.type).u64(g.speed).u32(g.direction).u32(g.status);
    x.u64(g.in_octets).u32(g.in_ucast).u32(g.in_mcast).u32(g.in_bcast).u32(g.in_discards).u32(g.in_errors);
    x.u32(g.in_unknown);
    x.u64(g.out_octets).u32(g.out_ucast).u32(g.out_mcast).u32(g.out_bcast).u32(g.out_discards).u32(g.out_errors);
    x.u32(g.promisc);
    x.close(at);
}

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

bytes mapped4(addr4 a) { return {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a[0], a[1], a[2], a[3]}; }
bytes addr_of(const uint8_t a[16]) { return bytes(a, a + 16); }

// Every counter equals its listed value, all others are 0.
void expect_counters(const exporter_state& e, std::initializer_list<std::pair<counter, uint64_t>> want) {
    for (std::size_t i = 0; i < counter_count; ++i) {
        uint64_t expected = 0;
        for (const auto& [k, v] : want)
            if (static_cast<std::size_t>(k) == i) expected = v;
        EXPECT_EQ(e.counters.v[i], expected) << "counter " << counter_table[i].name;
    }
}

#define EXPECT_FIELD(f) EXPECT_EQ(got.f, want.f) << #f
void expect_record(const flow_record& got, const flow_record& want) {
    EXPECT_EQ(addr_of(got.src_addr), addr_of(want.src_addr)) << "src_addr";
    EXPECT_EQ(addr_of(got.dst_addr), addr_of(want.dst_addr)) << "dst_addr";
    EXPECT_EQ(addr_of(got.next_hop), addr_of(want.next_hop)) << "next_hop";
    EXPECT_EQ(addr_of(got.sampler_address), addr_of(want.sampler_address)) << "sampler_address";
    EXPECT_FIELD(bytes);
    EXPECT_FIELD(packets);
    EXPECT_FIELD(time_flow_start_ns);
    EXPECT_FIELD(time_flow_end_ns);
    EXPECT_FIELD(time_received_ns);
    EXPECT_FIELD(if_out_bytes);
    EXPECT_FIELD(if_out_packets);
    EXPECT_FIELD(if_speed_mbps);
    EXPECT_FIELD(sampling_rate);
    EXPECT_FIELD(sequence_num);
    EXPECT_FIELD(observation_domain_id);
    EXPECT_FIELD(in_if);
    EXPECT_FIELD(out_if);
    EXPECT_FIELD(src_as);
    EXPECT_FIELD(dst_as);
    EXPECT_FIELD(mpls_label);
    EXPECT_FIELD(if_in_errors);
    EXPECT_FIELD(if_out_errors);
    EXPECT_FIELD(if_in_discards);
    EXPECT_FIELD(if_out_discards);
    EXPECT_FIELD(src_port);
    EXPECT_FIELD(dst_port);
    EXPECT_FIELD(vlan_id);
    EXPECT_FIELD(etype);
    EXPECT_FIELD(proto);
    EXPECT_FIELD(tcp_flags);
    EXPECT_FIELD(ip_tos);
    EXPECT_FIELD(src_net);
    EXPECT_FIELD(dst_net);
    EXPECT_FIELD(icmp_type);
    EXPECT_FIELD(icmp_code);
    EXPECT_EQ(int(got.direction), int(want.direction)) << "direction";
    EXPECT_EQ(int(got.type), int(want.type)) << "type";
    EXPECT_EQ(int(got.kind), int(want.kind)) << "kind";
    EXPECT_FIELD(export_version);
    EXPECT_FIELD(flags);
    EXPECT_EQ(addr_of(got.bgp_next_hop), addr_of(want.bgp_next_hop)) << "bgp_next_hop";
    EXPECT_EQ(std::memcmp(got.src_mac, want.src_mac, 6), 0) << "src_mac";
    EXPECT_EQ(std::memcmp(got.dst_mac, want.dst_mac, 6), 0) << "dst_mac";
    EXPECT_FIELD(src_vlan);
    EXPECT_FIELD(dst_vlan);
    EXPECT_FIELD(inner_vlan_id);
    EXPECT_FIELD(ip_ttl);
    EXPECT_FIELD(ipv6_flow_label);
    EXPECT_FIELD(next_hop_as);
    EXPECT_EQ(int(got.in_if_format), int(want.in_if_format)) << "in_if_format";
    EXPECT_EQ(int(got.out_if_format), int(want.out_if_format)) << "out_if_format";
    // Nothing else: the struct has no padding, so bytes equal means fields equal.
    EXPECT_EQ(std::memcmp(&got, &want, sizeof got), 0);
}
#undef EXPECT_FIELD

// The fields every sFlow flow record from the default test agent carries.
flow_record base_flow(addr4 agent, uint32_t sub_agent, uint32_t seq) {
    flow_record r{};
    const bytes a = mapped4(agent);
    std::memcpy(r.sampler_address, a.data(), 16);
    r.packets = 1;
    r.time_flow_start_ns = r.time_flow_end_ns = r.time_received_ns = t_received;
    r.sequence_num = seq;
    r.observation_domain_id = sub_agent;
    r.direction = flow_direction::unknown;
    r.type = flow_type::sflow_5;
    r.kind = record_kind::flow;
    r.export_version = 5;
    r.flags = record_flags::times_from_export;
    return r;
}

constexpr addr4 agent_a = {10, 0, 0, 1};

class SflowTest : public ::testing::Test {
protected:
    SflowTest() : records(64) {
        const bytes udp_src = mapped4({192, 0, 2, 1});  // deliberately not the agent address
        std::memcpy(meta.exporter_addr, udp_src.data(), 16);
        meta.exporter_port = 50000;
        meta.collector_port = 6343;
        meta.time_received_ns = t_received;
        std::memcpy(exporter.addr, udp_src.data(), 16);
        out = record_buffer{records.data(), uint32_t(records.size()), 0};
    }
    decode_status decode(const xdr& x) { return decode_sflow(x.b, meta, exporter, out); }
    // A datagram of one compact flow sample carrying one raw header.
    xdr one_header(uint32_t protocol, const bytes& header, uint32_t frame_length = 1000) {
        xdr x;
        datagram_v4(x, agent_a, 0, 1, 1);
        const auto s = flow_sample(x, 1, 1, 100, 1, 2, 1);
        raw_header(x, protocol, frame_length, header);
        x.close(s);
        return x;
    }

    datagram_meta meta{};
    exporter_state exporter;
    std::vector<flow_record> records;
    record_buffer out;
};

// ---------------------------------------------------------------------------
// Flow samples
// ---------------------------------------------------------------------------

TEST_F(SflowTest, CompactFlowSampleWithEveryRecordType) {
    xdr x;
    datagram_v4(x, agent_a, 7, 1000, 1);
    const auto s = flow_sample(x, 42, (0u << 24) | 5, 512, 5, 7, 4);
    raw_header(x, sflow::header_ethernet, 1518,
               cat({eth(0x8100), tag(3u << 13 | 100, 0x0800), ipv4(6, {192, 168, 1, 10}, {10, 1, 2, 3}, 0x28),
                    tcp(40000, 443, 0x18)}));
    ext_switch(x, 100, 200);
    ext_router_v4(x, {10, 0, 0, 254}, 24, 16);
    ext_gateway(x, 65000, 64512, 64513, {{65001, 65002}, {65010, 65011}});
    x.close(s);

    ASSERT_EQ(decode(x), decode_status::ok);
    ASSERT_EQ(out.size, 1u);

    flow_record want = base_flow(agent_a, 7, 1000);
    const bytes src = mapped4({192, 168, 1, 10}), dst = mapped4({10, 1, 2, 3}), nh = mapped4({10, 0, 0, 254});
    std::memcpy(want.src_addr, src.data(), 16);
    std::memcpy(want.dst_addr, dst.data(), 16);
    std::memcpy(want.next_hop, nh.data(), 16);
    want.bytes = 1518;  // frame_length: the sampled frame, L2 included
    want.sampling_rate = 512;
    want.in_if = 5;
    want.out_if = 7;
    want.src_as = 64512;
    want.dst_as = 65011;  // last AS of the path
    want.src_port = 40000;
    want.dst_port = 443;
    want.vlan_id = 100;
    want.etype = 0x0800;
    want.proto = 6;
    want.tcp_flags = 0x18;
    want.ip_tos = 0x28;
    want.src_net = 24;
    want.dst_net = 16;
    // New in the 320-byte record: the frame's MACs and TTL, the switch's
    // VLANs, the gateway's BGP next hop and first AS of the path.
    const uint8_t dmac[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55}, smac[6] = {0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb};
    std::memcpy(want.dst_mac, dmac, 6);
    std::memcpy(want.src_mac, smac, 6);
    want.ip_ttl = 64;
    want.src_vlan = 100;
    want.dst_vlan = 200;
    const bytes bgp = mapped4({10, 0, 0, 253});
    std::memcpy(want.bgp_next_hop, bgp.data(), 16);
    want.next_hop_as = 65001;
    expect_record(records[0], want);
    expect_counters(exporter, {{counter::datagrams, 1}, {counter::datagram_bytes, x.b.size()}, {counter::flow_records, 1}});
}

TEST_F(SflowTest, Ipv6AgentExpandedFlowSample) {
    const addr6 agent = {0x20, 0x01, 0x0d, 0xb8, 0xaa, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x09};
    xdr x;
    datagram_v6(x, agent, 3, 77, 1);
    // ifIndex values above 2^24 / 2^30 only fit the expanded encoding.
    const auto s = flow_sample_expanded(x, 9, 0, 0x01000001, 2048, 0, 0x01000001, 0, 0x20000002, 1);
    raw_header(x, sflow::header_ethernet, 90, cat({eth(0x86dd), ipv6(17, v6_src, v6_dst, 0xb8), udp(53, 33000)}));
    x.close(s);

    ASSERT_EQ(decode(x), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    flow_record want = base_flow({0, 0, 0, 0}, 3, 77);
    std::memcpy(want.sampler_address, agent.data(), 16);
    std::memcpy(want.src_addr, v6_src.data(), 16);
    std::memcpy(want.dst_addr, v6_dst.data(), 16);
    want.bytes = 90;
    want.sampling_rate = 2048;
    want.in_if = 0x01000001;
    want.out_if = 0x20000002;
    want.src_port = 53;
    want.dst_port = 33000;
    want.etype = 0x86dd;
    want.proto = 17;
    want.ip_tos = 0xb8;
    const uint8_t dmac[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55}, smac[6] = {0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb};
    std::memcpy(want.dst_mac, dmac, 6);
    std::memcpy(want.src_mac, smac, 6);
    want.ip_ttl = 64;          // hop limit
    want.ipv6_flow_label = 1;  // the builder's flow label
    expect_record(records[0], want);
    expect_counters(exporter, {{counter::datagrams, 1}, {counter::datagram_bytes, x.b.size()}, {counter::flow_records, 1}});
}

TEST_F(SflowTest, InterfaceFormats) {
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 4);
    // compact: discarded packet (format 1), multiple outputs (format 2), unknown input
    x.close(flow_sample(x, 1, 1, 10, 4, 1u << 30 | 259, 0));
    x.close(flow_sample(x, 2, 1, 10, 0x3fffffff, 2u << 30 | 3, 0));
    // expanded: the same formats as separate words
    x.close(flow_sample_expanded(x, 1, 0, 2, 10, 0, 8, 1, 259, 0));
    x.close(flow_sample_expanded(x, 2, 0, 2, 10, 0, 9, 2, 3, 0));
    ASSERT_EQ(decode(x), decode_status::ok);
    ASSERT_EQ(out.size, 4u);
    // Values kept as exported, with their format (docs/record.md).
    EXPECT_EQ(records[0].in_if, 4u);
    EXPECT_EQ(int(records[0].in_if_format), int(if_format::ifindex));
    EXPECT_EQ(records[0].out_if, 259u);  // drop reason
    EXPECT_EQ(int(records[0].out_if_format), int(if_format::discarded));
    EXPECT_EQ(records[1].in_if, 0x3fffffffu);  // the device itself
    EXPECT_EQ(int(records[1].in_if_format), int(if_format::local));
    EXPECT_EQ(records[1].out_if, 3u);  // interface count
    EXPECT_EQ(int(records[1].out_if_format), int(if_format::multiple));
    EXPECT_EQ(records[2].in_if, 8u);
    EXPECT_EQ(int(records[2].in_if_format), int(if_format::ifindex));
    EXPECT_EQ(records[2].out_if, 259u);
    EXPECT_EQ(int(records[2].out_if_format), int(if_format::discarded));
    EXPECT_EQ(records[3].in_if, 9u);
    EXPECT_EQ(records[3].out_if, 3u);
    EXPECT_EQ(int(records[3].out_if_format), int(if_format::multiple));
    expect_counters(exporter, {{counter::datagrams, 1}, {counter::datagram_bytes, x.b.size()}, {counter::flow_records, 4}});
}

TEST_F(SflowTest, QinqRawHeaderReportsBothTags) {
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 1);
    const auto s = flow_sample(x, 1, 1, 10, 4, 5, 1);
    raw_header(x, sflow::header_ethernet, 100,
               cat({eth(0x88a8), tag(100, 0x8100), tag(3u << 13 | 200, 0x0800),
                    ipv4(17, {10, 0, 0, 1}, {10, 0, 0, 2}), udp(1, 2)}));
    x.close(s);
    ASSERT_EQ(decode(x), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    EXPECT_EQ(records[0].vlan_id, 100);        // outer S-tag
    EXPECT_EQ(records[0].inner_vlan_id, 200);  // inner C-tag, priority bits masked
    EXPECT_EQ(records[0].etype, 0x0800);
    EXPECT_EQ(records[0].dst_port, 2);
    expect_counters(exporter, {{counter::datagrams, 1}, {counter::datagram_bytes, x.b.size()}, {counter::flow_records, 1}});
}

TEST_F(SflowTest, InterfaceReservedFormatIsCounted) {
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 1);
    // expanded form: format 3 is reserved in sFlow v5
    x.close(flow_sample_expanded(x, 1, 0, 2, 10, 0, 8, 3, 7, 0));
    ASSERT_EQ(decode(x), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    EXPECT_EQ(records[0].in_if, 8u);
    EXPECT_EQ(records[0].out_if, 0u);
    EXPECT_EQ(int(records[0].out_if_format), int(if_format::ifindex));
    expect_counters(exporter, {{counter::datagrams, 1},
                               {counter::datagram_bytes, x.b.size()},
                               {counter::flow_records, 1},
                               {counter::dev_unknown_sflow_format, 1}});
}

TEST_F(SflowTest, FallbackRecordsWithoutRawHeader) {
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 3);
    // sampled_ethernet + sampled_ipv4
    auto s = flow_sample(x, 1, 1, 64, 1, 2, 2);
    {
        xdr e;
        e.u32(1500).raw({0, 1, 2, 3, 4, 5, 0, 0}).raw({6, 7, 8, 9, 10, 11, 0, 0}).u32(0x0800);
        record(x, sflow::flow_ethernet, e.b);
        xdr v4;
        v4.u32(1482).u32(17).raw({172, 16, 0, 1}).raw({172, 16, 0, 2}).u32(5000).u32(6000).u32(0).u32(0x10);
        record(x, sflow::flow_ipv4, v4.b);
    }
    x.close(s);
    // sampled_ipv6 alone: bytes = the IP length
    s = flow_sample(x, 2, 1, 64, 1, 2, 1);
    {
        xdr v6;
        v6.u32(1240).u32(6);
        for (uint8_t v : v6_src) v6.u8(v);
        for (uint8_t v : v6_dst) v6.u8(v);
        v6.u32(443).u32(50000).u32(0x12).u32(0x20);
        record(x, sflow::flow_ipv6, v6.b);
    }
    x.close(s);
    // sampled_ipv4 before a raw header: the raw header wins
    s = flow_sample(x, 3, 1, 64, 1, 2, 2);
    {
        xdr v4;
        v4.u32(99).u32(17).raw({1, 1, 1, 1}).raw({2, 2, 2, 2}).u32(1).u32(2).u32(0).u32(0);
        record(x, sflow::flow_ipv4, v4.b);
        raw_header(x, sflow::header_ipv4, 60, cat({ipv4(6, {3, 3, 3, 3}, {4, 4, 4, 4}), tcp(7, 8, 0x02)}));
    }
    x.close(s);

    ASSERT_EQ(decode(x), decode_status::ok);
    ASSERT_EQ(out.size, 3u);

    flow_record want = base_flow(agent_a, 0, 1);
    const bytes a1 = mapped4({172, 16, 0, 1}), a2 = mapped4({172, 16, 0, 2});
    std::memcpy(want.src_addr, a1.data(), 16);
    std::memcpy(want.dst_addr, a2.data(), 16);
    want.bytes = 1500;  // the Ethernet length wins over the IP length
    want.sampling_rate = 64;
    want.in_if = 1;
    want.out_if = 2;
    want.src_port = 5000;
    want.dst_port = 6000;
    want.etype = 0x0800;
    want.proto = 17;
    want.ip_tos = 0x10;
    expect_record(records[0], want);

    EXPECT_EQ(records[1].bytes, 1240u);
    EXPECT_EQ(records[1].etype, 0x86dd);
    EXPECT_EQ(addr_of(records[1].src_addr), bytes(v6_src.begin(), v6_src.end()));
    EXPECT_EQ(addr_of(records[1].dst_addr), bytes(v6_dst.begin(), v6_dst.end()));
    EXPECT_EQ(records[1].proto, 6);
    EXPECT_EQ(records[1].src_port, 443);
    EXPECT_EQ(records[1].dst_port, 50000);
    EXPECT_EQ(records[1].tcp_flags, 0x12);
    EXPECT_EQ(records[1].ip_tos, 0x20);

    EXPECT_EQ(records[2].bytes, 60u);
    EXPECT_EQ(addr_of(records[2].src_addr), mapped4({3, 3, 3, 3}));
    EXPECT_EQ(records[2].src_port, 7);
    EXPECT_EQ(records[2].tcp_flags, 0x02);
    expect_counters(exporter, {{counter::datagrams, 1}, {counter::datagram_bytes, x.b.size()}, {counter::flow_records, 3}});
}

TEST_F(SflowTest, SwitchVlanWhenHeaderHasNone) {
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 2);
    auto s = flow_sample(x, 1, 1, 10, 1, 2, 2);
    ext_switch(x, 300, 400);  // before the header: order does not matter
    raw_header(x, 1, 64, cat({eth(0x0800), ipv4(17, {1, 2, 3, 4}, {5, 6, 7, 8}), udp(1, 2)}));
    x.close(s);
    s = flow_sample(x, 2, 1, 10, 1, 2, 2);
    raw_header(x, 1, 64, cat({eth(0x8100), tag(55, 0x0800), ipv4(17, {1, 2, 3, 4}, {5, 6, 7, 8}), udp(1, 2)}));
    ext_switch(x, 300, 400);
    x.close(s);
    ASSERT_EQ(decode(x), decode_status::ok);
    ASSERT_EQ(out.size, 2u);
    EXPECT_EQ(records[0].vlan_id, 300);
    EXPECT_EQ(records[1].vlan_id, 55);  // the frame's tag wins
}

TEST_F(SflowTest, GatewayEmptyPathMeansLocalAs) {
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 2);
    auto s = flow_sample(x, 1, 1, 10, 1, 2, 1);
    ext_gateway(x, 65000, 64999, 64998, {});
    x.close(s);
    s = flow_sample(x, 2, 1, 10, 1, 2, 1);
    ext_gateway(x, 65000, 64999, 64998, {{}, {1, 2, 3}, {}});  // empty segments are skipped
    x.close(s);
    ASSERT_EQ(decode(x), decode_status::ok);
    ASSERT_EQ(out.size, 2u);
    EXPECT_EQ(records[0].src_as, 64999u);
    EXPECT_EQ(records[0].dst_as, 65000u);
    // No extended router record: next_hop is the BGP next hop.
    EXPECT_EQ(addr_of(records[0].next_hop), mapped4({10, 0, 0, 253}));
    EXPECT_EQ(records[1].dst_as, 3u);
}

TEST_F(SflowTest, SamplingOverride) {
    exporter.sampling_override = 1000;
    xdr x = one_header(1, cat({eth(0x0800), ipv4(17, {1, 2, 3, 4}, {5, 6, 7, 8}), udp(1, 2)}));
    ASSERT_EQ(decode(x), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    EXPECT_EQ(records[0].sampling_rate, 1000u);
    EXPECT_EQ(records[0].flags, record_flags::times_from_export | record_flags::sampling_overridden);

    exporter.sampling_override = 0;
    out.clear();
    ASSERT_EQ(decode(x), decode_status::ok);
    EXPECT_EQ(records[0].sampling_rate, 100u);
    EXPECT_EQ(records[0].flags, record_flags::times_from_export);
}

TEST_F(SflowTest, SamplingOverrideThroughExporterTable) {
    exporter_table table;
    table.set_sampling_override(meta.exporter_addr, 4096);
    xdr x = one_header(1, cat({eth(0x0800), ipv4(17, {1, 2, 3, 4}, {5, 6, 7, 8}), udp(1, 2)}));
    ASSERT_EQ(detect_protocol(x.b), protocol::sflow_5);
    ASSERT_EQ(decode_datagram(x.b, meta, protocol::auto_detect, table, out), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    EXPECT_EQ(records[0].sampling_rate, 4096u);
    EXPECT_TRUE(records[0].flags & record_flags::sampling_overridden);
    const exporter_state* e = table.find(meta.exporter_addr);
    ASSERT_NE(e, nullptr);
    ASSERT_NE(e->sflow, nullptr);
    expect_counters(*e, {{counter::datagrams, 1}, {counter::datagram_bytes, x.b.size()}, {counter::flow_records, 1}});
}

// ---------------------------------------------------------------------------
// Counter samples
// ---------------------------------------------------------------------------

TEST_F(SflowTest, CounterSamples) {
    xdr x;
    datagram_v4(x, agent_a, 2, 500, 2);
    if_counters g;
    auto s = counter_sample(x, 10, 3, 2);
    generic_if(x, g);
    record(x, 2, bytes(52, 0));  // ethernet counters: known, skipped without a counter
    x.close(s);
    if_counters g2;
    g2.index = 0x01000005;
    g2.speed = 25000000000000ull;  // 25 Tb/s: the Mb/s value still fits
    g2.direction = 4;
    s = counter_sample_expanded(x, 11, 0, 0x01000005, 3);
    record(x, 1001, bytes(28, 0));  // processor: known, skipped
    generic_if(x, g2);
    record(x, 2007, bytes(100, 0));  // mib2 IP group: known, skipped
    x.close(s);

    ASSERT_EQ(decode(x), decode_status::ok);
    ASSERT_EQ(out.size, 2u);

    flow_record want{};
    const bytes a = mapped4(agent_a);
    std::memcpy(want.sampler_address, a.data(), 16);
    want.in_if = 3;
    want.if_speed_mbps = 10000;
    want.bytes = 0x123456789abull;
    want.packets = 1023;
    want.if_out_bytes = 0xfedcba9876ull;
    want.if_out_packets = 2046;
    want.if_in_discards = 4;
    want.if_in_errors = 5;
    want.if_out_discards = 7;
    want.if_out_errors = 8;
    want.time_flow_start_ns = want.time_flow_end_ns = want.time_received_ns = t_received;
    want.sampling_rate = 0;
    want.sequence_num = 500;
    want.observation_domain_id = 2;
    want.direction = flow_direction::unknown;  // full duplex says nothing about direction
    want.type = flow_type::sflow_5;
    want.kind = record_kind::interface_counters;
    want.export_version = 5;
    want.flags = record_flags::times_from_export;
    expect_record(records[0], want);

    EXPECT_EQ(records[1].in_if, 0x01000005u);
    EXPECT_EQ(records[1].if_speed_mbps, 25000000u);
    EXPECT_EQ(records[1].direction, flow_direction::egress);
    EXPECT_EQ(records[1].kind, record_kind::interface_counters);
    expect_counters(exporter,
                    {{counter::datagrams, 1}, {counter::datagram_bytes, x.b.size()}, {counter::counter_records, 2}});
}

TEST_F(SflowTest, CounterDirectionFromIfDirection) {
    // ifDirection 0 unknown, 1 full-duplex, 2 half-duplex, 3 in, 4 out, 5 not defined
    const flow_direction want[] = {flow_direction::unknown, flow_direction::unknown, flow_direction::unknown,
                                   flow_direction::ingress, flow_direction::egress,  flow_direction::unknown};
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 1);
    auto s = counter_sample(x, 1, 3, 6);
    for (uint32_t d = 0; d < 6; ++d) {
        if_counters g;
        g.direction = d;
        generic_if(x, g);
    }
    x.close(s);
    ASSERT_EQ(decode(x), decode_status::ok);
    ASSERT_EQ(out.size, 6u);
    for (uint32_t d = 0; d < 6; ++d) EXPECT_EQ(records[d].direction, want[d]) << "ifDirection " << d;
    EXPECT_EQ(exporter.counters.get(counter::counter_records), 6u);
}

TEST_F(SflowTest, CounterSamplesIgnoreSamplingOverride) {
    exporter.sampling_override = 100;
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 1);
    auto s = counter_sample(x, 1, 3, 1);
    generic_if(x, if_counters{});
    x.close(s);
    ASSERT_EQ(decode(x), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    EXPECT_EQ(records[0].sampling_rate, 0u);
    EXPECT_EQ(records[0].flags, record_flags::times_from_export);
}

TEST_F(SflowTest, MixedFlowAndCounterSamples) {
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 3);
    auto s = flow_sample(x, 1, 1, 10, 1, 2, 1);
    raw_header(x, 1, 64, cat({eth(0x0800), ipv4(17, {1, 2, 3, 4}, {5, 6, 7, 8}), udp(1, 2)}));
    x.close(s);
    s = counter_sample(x, 1, 1, 1);
    generic_if(x, if_counters{});
    x.close(s);
    s = flow_sample(x, 2, 1, 10, 1, 2, 0);
    x.close(s);
    ASSERT_EQ(decode(x), decode_status::ok);
    ASSERT_EQ(out.size, 3u);
    EXPECT_EQ(records[0].kind, record_kind::flow);
    EXPECT_EQ(records[1].kind, record_kind::interface_counters);
    EXPECT_EQ(records[2].kind, record_kind::flow);
    EXPECT_EQ(records[2].bytes, 0u);  // a flow sample without records still counts the sample
    expect_counters(exporter, {{counter::datagrams, 1},
                               {counter::datagram_bytes, x.b.size()},
                               {counter::flow_records, 2},
                               {counter::counter_records, 1}});
}

// ---------------------------------------------------------------------------
// Sampled headers through the decoder
// ---------------------------------------------------------------------------

TEST_F(SflowTest, QinQOuterTagIsTheVlan) {
    xdr x = one_header(1, cat({eth(0x88a8), tag(100, 0x8100), tag(200, 0x86dd), ipv6(6), tcp(1, 2, 0x01)}));
    ASSERT_EQ(decode(x), decode_status::ok);
    EXPECT_EQ(records[0].vlan_id, 100);
    EXPECT_EQ(records[0].etype, 0x86dd);
    EXPECT_EQ(records[0].proto, 6);
    EXPECT_EQ(records[0].tcp_flags, 0x01);
}

TEST_F(SflowTest, Ipv6ExtensionHeaders) {
    // hop-by-hop -> routing -> destination options -> first fragment -> AH -> UDP
    xdr x = one_header(1, cat({eth(0x86dd), ipv6(0), ext6(43, 0), ext6(60, 1), ext6(44, 0), frag6(51, 0, true),
                               ah6(17, 4), udp(4789, 4789)}));
    ASSERT_EQ(decode(x), decode_status::ok);
    EXPECT_EQ(records[0].proto, 17);
    EXPECT_EQ(records[0].src_port, 4789);
    EXPECT_EQ(records[0].dst_port, 4789);
    expect_counters(exporter, {{counter::datagrams, 1}, {counter::datagram_bytes, x.b.size()}, {counter::flow_records, 1}});
}

TEST_F(SflowTest, Ipv6ExtensionHeaderCutOffIsCounted) {
    bytes h = cat({eth(0x86dd), ipv6(0), ext6(17, 4)});  // hop-by-hop claims 40 bytes
    h.resize(h.size() - 10);
    xdr x = one_header(1, h);
    ASSERT_EQ(decode(x), decode_status::partial);
    ASSERT_EQ(out.size, 1u);
    EXPECT_EQ(records[0].etype, 0x86dd);
    EXPECT_EQ(addr_of(records[0].src_addr), bytes(v6_src.begin(), v6_src.end()));
    EXPECT_EQ(records[0].src_port, 0);
    expect_counters(exporter, {{counter::datagrams, 1},
                               {counter::datagram_bytes, x.b.size()},
                               {counter::flow_records, 1},
                               {counter::err_sflow_header_parse, 1}});
}

TEST_F(SflowTest, TruncatedRawHeaderKeepsWhatParsed) {
    // Ethernet + 10 bytes of IPv4: L3 cannot be read.
    bytes h = cat({eth(0x0800), ipv4(6, {1, 2, 3, 4}, {5, 6, 7, 8})});
    h.resize(14 + 10);
    xdr x = one_header(1, h, 1514);
    ASSERT_EQ(decode(x), decode_status::partial);
    ASSERT_EQ(out.size, 1u);
    EXPECT_EQ(records[0].bytes, 1514u);
    EXPECT_EQ(records[0].etype, 0x0800);
    EXPECT_TRUE(is_zero_address(records[0].src_addr));
    EXPECT_EQ(records[0].in_if, 1u);
    expect_counters(exporter, {{counter::datagrams, 1},
                               {counter::datagram_bytes, x.b.size()},
                               {counter::flow_records, 1},
                               {counter::err_sflow_header_parse, 1}});
}

TEST_F(SflowTest, UnsupportedHeaderProtocolKeepsRecord) {
    xdr x = one_header(7 /* PPP */, bytes(40, 0xff), 44);
    ASSERT_EQ(decode(x), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    EXPECT_EQ(records[0].bytes, 44u);
    EXPECT_EQ(records[0].etype, 0);
    expect_counters(exporter, {{counter::datagrams, 1},
                               {counter::datagram_bytes, x.b.size()},
                               {counter::flow_records, 1},
                               {counter::dev_unknown_sflow_format, 1}});
}

// ---------------------------------------------------------------------------
// Lies and damage
// ---------------------------------------------------------------------------

TEST_F(SflowTest, SampleCountLargerThanDatagram) {
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 5);  // says 5, holds 2
    for (uint32_t i = 0; i < 2; ++i) {
        auto s = flow_sample(x, i, 1, 10, 1, 2, 1);
        raw_header(x, 1, 64, cat({eth(0x0800), ipv4(17, {1, 2, 3, 4}, {5, 6, 7, 8}), udp(1, 2)}));
        x.close(s);
    }
    ASSERT_EQ(decode(x), decode_status::partial);
    EXPECT_EQ(out.size, 2u);
    expect_counters(exporter, {{counter::datagrams, 1},
                               {counter::datagram_bytes, x.b.size()},
                               {counter::flow_records, 2},
                               {counter::err_sflow_sample_count, 1}});
}

TEST_F(SflowTest, HugeSampleCountIsBoundedByTheBytes) {
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 0xffffffff);
    x.close(flow_sample(x, 1, 1, 10, 1, 2, 0));
    ASSERT_EQ(decode(x), decode_status::partial);
    EXPECT_EQ(out.size, 1u);
    EXPECT_EQ(exporter.counters.get(counter::err_sflow_sample_count), 1u);
}

TEST_F(SflowTest, SampleLengthPastDatagram) {
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 2);
    x.close(flow_sample(x, 1, 1, 10, 1, 2, 0));  // whole
    const auto s = flow_sample(x, 2, 1, 10, 1, 2, 0);
    x.close(s);
    x.patch(s - 4, 1000);  // second sample claims 1000 bytes
    ASSERT_EQ(decode(x), decode_status::partial);
    EXPECT_EQ(out.size, 1u);
    expect_counters(exporter, {{counter::datagrams, 1},
                               {counter::datagram_bytes, x.b.size()},
                               {counter::flow_records, 1},
                               {counter::err_sflow_length, 1}});
}

TEST_F(SflowTest, OnlySampleBrokenDropsDatagram) {
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 1);
    const auto s = flow_sample(x, 2, 1, 10, 1, 2, 0);
    x.close(s);
    x.patch(s - 4, 0xfffffff8);  // near 2^32: no wrap in the bounds check
    ASSERT_EQ(decode(x), decode_status::dropped);
    EXPECT_EQ(out.size, 0u);
    EXPECT_EQ(exporter.counters.get(counter::err_sflow_length), 1u);
}

TEST_F(SflowTest, FlowRecordLengthPastSample) {
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 2);
    auto s = flow_sample(x, 1, 1, 10, 1, 2, 2);
    raw_header(x, 1, 64, cat({eth(0x0800), ipv4(17, {1, 2, 3, 4}, {5, 6, 7, 8}), udp(1, 2)}));
    x.u32(sflow::flow_ext_switch).u32(64).u32(1).u32(0).u32(2).u32(0);  // claims 64, has 16
    x.close(s);
    // The next sample is intact and still decoded.
    s = flow_sample(x, 2, 1, 10, 1, 2, 1);
    ext_switch(x, 9, 9);
    x.close(s);
    ASSERT_EQ(decode(x), decode_status::partial);
    ASSERT_EQ(out.size, 2u);
    // What the whole records said is kept.
    EXPECT_EQ(records[0].dst_port, 2);
    EXPECT_EQ(records[0].vlan_id, 0);
    EXPECT_EQ(records[1].vlan_id, 9);
    expect_counters(exporter, {{counter::datagrams, 1},
                               {counter::datagram_bytes, x.b.size()},
                               {counter::flow_records, 2},
                               {counter::err_sflow_length, 1}});
}

TEST_F(SflowTest, RecordCountLargerThanSample) {
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 1);
    auto s = flow_sample(x, 1, 1, 10, 1, 2, 3);  // says 3 records, holds 1
    ext_switch(x, 9, 9);
    x.close(s);
    ASSERT_EQ(decode(x), decode_status::partial);
    ASSERT_EQ(out.size, 1u);
    EXPECT_EQ(records[0].vlan_id, 9);
    expect_counters(exporter, {{counter::datagrams, 1},
                               {counter::datagram_bytes, x.b.size()},
                               {counter::flow_records, 1},
                               {counter::err_sflow_length, 1}});
}

TEST_F(SflowTest, RawHeaderLengthPastRecord) {
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 1);
    auto s = flow_sample(x, 1, 1, 10, 1, 2, 1);
    x.u32(sflow::flow_raw_header);
    const auto r = x.open();
    x.u32(1).u32(64).u32(0).u32(200).raw(bytes(20, 0));  // header length 200, 20 present
    x.close(r);
    x.close(s);
    ASSERT_EQ(decode(x), decode_status::partial);
    ASSERT_EQ(out.size, 1u);
    EXPECT_EQ(records[0].bytes, 0u);
    expect_counters(exporter, {{counter::datagrams, 1},
                               {counter::datagram_bytes, x.b.size()},
                               {counter::flow_records, 1},
                               {counter::err_sflow_length, 1}});
}

TEST_F(SflowTest, GatewaySegmentPastRecord) {
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 1);
    auto s = flow_sample(x, 1, 1, 10, 1, 2, 1);
    x.u32(sflow::flow_ext_gateway);
    const auto r = x.open();
    x.u32(1).u32(0x0a000001).u32(65000).u32(1).u32(2).u32(1);  // one segment
    x.u32(2).u32(0x40000000).u32(65001);                         // of 2^30 ASes: 4 GiB
    x.close(r);
    x.close(s);
    ASSERT_EQ(decode(x), decode_status::partial);
    ASSERT_EQ(out.size, 1u);
    EXPECT_EQ(records[0].dst_as, 0u);
    EXPECT_EQ(records[0].src_as, 0u);
    EXPECT_EQ(exporter.counters.get(counter::err_sflow_length), 1u);
}

TEST_F(SflowTest, GenericCountersRecordTooShort) {
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 1);
    auto s = counter_sample(x, 1, 3, 1);
    record(x, sflow::counters_generic_if, bytes(80, 0));
    x.close(s);
    ASSERT_EQ(decode(x), decode_status::dropped);
    EXPECT_EQ(out.size, 0u);
    expect_counters(exporter,
                    {{counter::datagrams, 1}, {counter::datagram_bytes, x.b.size()}, {counter::err_sflow_length, 1}});
}

TEST_F(SflowTest, SampleTooShortForItsFixedFields) {
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 2);
    record(x, sflow::sample_flow, bytes(20, 0));
    record(x, sflow::sample_counters_expanded, bytes(12, 0));
    ASSERT_EQ(decode(x), decode_status::dropped);
    expect_counters(exporter,
                    {{counter::datagrams, 1}, {counter::datagram_bytes, x.b.size()}, {counter::err_sflow_length, 2}});
}

TEST_F(SflowTest, UnknownFormatsSkippedByLength) {
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 5);
    record(x, 4300u << 12 | 1003, bytes(12, 0xee));  // enterprise sample
    record(x, 77, bytes(8, 0xee));                   // unknown standard sample
    record(x, sflow::sample_discarded_packets, bytes(40, 0));  // known: skipped silently
    auto s = flow_sample(x, 1, 1, 10, 1, 2, 4);
    record(x, 9u << 12 | 1, bytes(4, 0));  // enterprise flow record
    record(x, 999, bytes(4, 0));           // unknown flow record
    record(x, 1006, bytes(12, 0));         // extended MPLS: known, not decoded
    ext_switch(x, 12, 0);
    x.close(s);
    s = counter_sample(x, 1, 1, 3);
    record(x, 555, bytes(4, 0));          // unknown counter record
    record(x, 5, bytes(4, 0));            // VLAN counters: known, skipped
    record(x, 4413u << 12 | 1, bytes(4, 0));  // enterprise counter record
    x.close(s);
    ASSERT_EQ(decode(x), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    EXPECT_EQ(records[0].vlan_id, 12);
    expect_counters(exporter, {{counter::datagrams, 1},
                               {counter::datagram_bytes, x.b.size()},
                               {counter::flow_records, 1},
                               {counter::dev_unknown_sflow_format, 6}});
}

TEST_F(SflowTest, TrailingBytes) {
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 1);
    x.close(flow_sample(x, 1, 1, 10, 1, 2, 0));
    x.u32(0);
    ASSERT_EQ(decode(x), decode_status::ok);
    expect_counters(exporter, {{counter::datagrams, 1},
                               {counter::datagram_bytes, x.b.size()},
                               {counter::flow_records, 1},
                               {counter::dev_trailing_bytes, 1}});
}

TEST_F(SflowTest, BadDatagramHeaders) {
    xdr v4;
    v4.u32(4).u32(1).u32(0x0a000001).u32(0).u32(1).u32(0).u32(0);
    EXPECT_EQ(decode(v4), decode_status::dropped);
    xdr bad_type;
    bad_type.u32(5).u32(3).u32(0x0a000001).u32(0).u32(1).u32(0).u32(0);
    EXPECT_EQ(decode(bad_type), decode_status::dropped);
    xdr short_v6;
    short_v6.u32(5).u32(2).raw(bytes(16, 1)).u32(0).u32(1).u32(0);  // num_samples missing
    EXPECT_EQ(decode(short_v6), decode_status::dropped);
    xdr tiny;
    tiny.u32(5);
    EXPECT_EQ(decode(tiny), decode_status::dropped);
    EXPECT_EQ(out.size, 0u);
    EXPECT_FALSE(exporter.sflow);  // no state for rejected datagrams
    expect_counters(exporter, {{counter::datagrams, 4},
                               {counter::datagram_bytes, v4.b.size() + bad_type.b.size() + short_v6.b.size() + 4},
                               {counter::err_unknown_version, 1},
                               {counter::err_sflow_address_type, 1},
                               {counter::err_truncated_header, 2}});
}

TEST_F(SflowTest, UnknownAgentAddressTypeUsesUdpSource) {
    xdr x;
    x.u32(5).u32(0).u32(4).u32(1).u32(0).u32(1);  // agent address type 0: no bytes
    x.close(flow_sample(x, 1, 1, 10, 1, 2, 0));
    ASSERT_EQ(decode(x), decode_status::ok);
    ASSERT_EQ(out.size, 1u);
    EXPECT_EQ(addr_of(records[0].sampler_address), addr_of(meta.exporter_addr));
    EXPECT_EQ(records[0].observation_domain_id, 4u);
}

TEST_F(SflowTest, NextHopWithUnknownAddressTypeIgnoresRecord) {
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 1);
    auto s = flow_sample(x, 1, 1, 10, 1, 2, 2);
    record(x, sflow::flow_ext_router, xdr{}.u32(9).u32(1).u32(2).b);
    ext_switch(x, 5, 0);
    x.close(s);
    ASSERT_EQ(decode(x), decode_status::partial);
    ASSERT_EQ(out.size, 1u);
    EXPECT_EQ(records[0].vlan_id, 5);
    EXPECT_EQ(records[0].src_net, 0);
    expect_counters(exporter, {{counter::datagrams, 1},
                               {counter::datagram_bytes, x.b.size()},
                               {counter::flow_records, 1},
                               {counter::err_sflow_address_type, 1}});
}

TEST_F(SflowTest, ExtendedRouterIpv6NextHop) {
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 1);
    auto s = flow_sample(x, 1, 1, 10, 1, 2, 1);
    xdr r;
    r.u32(2);
    for (uint8_t v : v6_dst) r.u8(v);
    r.u32(48).u32(64);
    record(x, sflow::flow_ext_router, r.b);
    x.close(s);
    ASSERT_EQ(decode(x), decode_status::ok);
    EXPECT_EQ(addr_of(records[0].next_hop), bytes(v6_dst.begin(), v6_dst.end()));
    EXPECT_EQ(records[0].src_net, 48);
    EXPECT_EQ(records[0].dst_net, 64);
}

TEST_F(SflowTest, OutputFull) {
    out.capacity = 1;
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 3);
    x.close(flow_sample(x, 1, 1, 10, 1, 2, 0));
    x.close(flow_sample(x, 2, 1, 10, 1, 2, 0));
    auto s = counter_sample(x, 1, 1, 1);
    generic_if(x, if_counters{});
    x.close(s);
    ASSERT_EQ(decode(x), decode_status::partial);
    EXPECT_EQ(out.size, 1u);
    expect_counters(exporter, {{counter::datagrams, 1},
                               {counter::datagram_bytes, x.b.size()},
                               {counter::flow_records, 1},
                               {counter::err_output_full, 2}});
}

// ---------------------------------------------------------------------------
// Sequence tracking
// ---------------------------------------------------------------------------

TEST_F(SflowTest, SequenceLossAndResets) {
    auto send = [&](addr4 agent, uint32_t sub, uint32_t dseq, uint32_t flow_seq, uint32_t counter_seq) {
        xdr x;
        datagram_v4(x, agent, sub, dseq, 3);
        x.close(flow_sample(x, flow_seq, 7, 10, 1, 2, 0));
        x.close(flow_sample(x, flow_seq + 1, 7, 10, 1, 2, 0));
        x.close(counter_sample(x, counter_seq, 7, 0));
        out.clear();
        return decode(x);
    };
    ASSERT_EQ(send(agent_a, 0, 10, 100, 50), decode_status::ok);
    ASSERT_EQ(send(agent_a, 0, 11, 102, 51), decode_status::ok);  // all in order
    expect_counters(exporter, {{counter::datagrams, 2},
                               {counter::datagram_bytes, exporter.counters.get(counter::datagram_bytes)},
                               {counter::flow_records, 4}});
    // Datagrams 12-13 lost: 2 datagrams, 4 flow samples, 2 counter samples missing.
    ASSERT_EQ(send(agent_a, 0, 14, 108, 54), decode_status::ok);
    EXPECT_EQ(exporter.counters.get(counter::sequence_lost), 2u + 4u + 2u);
    EXPECT_EQ(exporter.counters.get(counter::sequence_resets), 0u);
    // Another sub-agent and another agent are separate streams: no loss.
    ASSERT_EQ(send(agent_a, 1, 500, 9000, 300), decode_status::ok);
    ASSERT_EQ(send({10, 0, 0, 2}, 0, 1, 1, 1), decode_status::ok);
    EXPECT_EQ(exporter.counters.get(counter::sequence_lost), 8u);
    // Agent restart: every stream goes backwards.
    ASSERT_EQ(send(agent_a, 0, 1, 1, 1), decode_status::ok);
    EXPECT_EQ(exporter.counters.get(counter::sequence_resets), 3u);
    EXPECT_EQ(exporter.counters.get(counter::sequence_lost), 8u);
    ASSERT_NE(exporter.sflow, nullptr);
    EXPECT_EQ(exporter.sflow->agents_used, 3u);
    EXPECT_EQ(exporter.sflow->sources_used, 6u);
}

TEST_F(SflowTest, ExpandedAndCompactSourceIdsAreTheSameStream) {
    xdr x;
    datagram_v4(x, agent_a, 0, 1, 2);
    x.close(flow_sample(x, 100, 0x00000005, 10, 1, 2, 0));
    x.close(flow_sample_expanded(x, 102, 0, 5, 10, 0, 1, 0, 2, 0));  // 101 missing
    ASSERT_EQ(decode(x), decode_status::ok);
    EXPECT_EQ(exporter.counters.get(counter::sequence_lost), 1u);
    EXPECT_EQ(exporter.sflow->sources_used, 1u);
}

TEST_F(SflowTest, TrackingTablesAreBounded) {
    // 20 agents: the 4 beyond max_agents decode but are not tracked.
    for (uint32_t a = 0; a < 20; ++a) {
        xdr x;
        datagram_v4(x, {10, 0, 1, uint8_t(a)}, 0, 1, 1);
        x.close(flow_sample(x, 1, 1, 10, 1, 2, 0));
        out.clear();
        ASSERT_EQ(decode(x), decode_status::ok);
    }
    EXPECT_EQ(exporter.sflow->agents_used, sflow::max_agents);
    // 300 sources from the first agent: 256 tracked in total (16 are the
    // first loop's source 1 of each agent).
    for (uint32_t src = 0; src < 300; ++src) {
        xdr x;
        datagram_v4(x, {10, 0, 1, 0}, 0, 2 + src, 1);
        x.close(flow_sample(x, 2, src, 10, 1, 2, 0));
        out.clear();
        ASSERT_EQ(decode(x), decode_status::ok);
        ASSERT_EQ(out.size, 1u);
    }
    EXPECT_EQ(exporter.sflow->sources_used, sflow::max_sources);
    EXPECT_EQ(exporter.counters.get(counter::sequence_lost), 0u);
    EXPECT_EQ(exporter.counters.get(counter::sequence_resets), 0u);
    EXPECT_EQ(exporter.counters.get(counter::flow_records), 320u);
}

// ---------------------------------------------------------------------------
// Robustness: every prefix and random corruption of a rich datagram stays in
// bounds (run under ASan/UBSan) and keeps counters consistent.
// ---------------------------------------------------------------------------

xdr rich_datagram() {
    xdr x;
    datagram_v6(x, v6_src, 1, 1, 4);
    auto s = flow_sample(x, 1, 1, 10, 1, 2, 4);
    raw_header(x, 1, 128, cat({eth(0x8100), tag(7, 0x86dd), ipv6(0), ext6(44, 1), frag6(6, 0, false), tcp(1, 2, 3)}));
    ext_switch(x, 1, 2);
    ext_router_v4(x, {1, 2, 3, 4}, 8, 16);
    ext_gateway(x, 1, 2, 3, {{4, 5}, {6}});
    x.close(s);
    s = flow_sample_expanded(x, 1, 0, 2, 10, 0, 1, 0, 2, 1);
    raw_header(x, 1, 128, cat({eth(0x8847), mpls(100, false), mpls(200, true), ipv4(1, {1, 1, 1, 1}, {2, 2, 2, 2}), icmp(8, 0)}));
    x.close(s);
    s = counter_sample(x, 1, 1, 2);
    generic_if(x, if_counters{});
    record(x, 2, bytes(52, 0));
    x.close(s);
    s = counter_sample_expanded(x, 1, 0, 1, 1);
    generic_if(x, if_counters{});
    x.close(s);
    return x;
}

TEST_F(SflowTest, EveryPrefixDecodesSafely) {
    const xdr full = rich_datagram();
    for (std::size_t n = 0; n <= full.b.size(); ++n) {
        bytes prefix(full.b.begin(), full.b.begin() + n);  // exact-size buffer: ASan sees overreads
        out.clear();
        const decode_status st = decode_sflow(prefix, meta, exporter, out);
        EXPECT_LE(out.size, 4u);
        if (n == full.b.size()) {
            EXPECT_EQ(st, decode_status::ok);
            EXPECT_EQ(out.size, 4u);
        }
    }
}

TEST_F(SflowTest, RandomCorruptionDecodesSafely) {
    const xdr full = rich_datagram();
    std::mt19937 rng(12345);
    for (int iter = 0; iter < 20000; ++iter) {
        bytes b = full.b;
        const int flips = 1 + int(rng() % 4);
        for (int i = 0; i < flips; ++i) b[rng() % b.size()] = uint8_t(rng());
        b.resize(b.size() - rng() % 16);
        out.clear();
        decode_sflow(b, meta, exporter, out);
        EXPECT_LE(out.size, 4u);
        for (uint32_t r = 0; r < out.size; ++r) EXPECT_EQ(records[r].type, flow_type::sflow_5);
    }
}

// ---------------------------------------------------------------------------
// parse_sampled_header on its own
// ---------------------------------------------------------------------------

struct header_case {
    const char* name;
    uint32_t protocol;
    bytes header;
    sflow::header_status status;
    uint16_t etype, vlan;
    uint32_t mpls;
    uint8_t proto;
    uint16_t sport, dport;
    uint8_t tcp_flags, icmp_type, icmp_code, tos;
};

class SampledHeader : public ::testing::TestWithParam<header_case> {};

TEST_P(SampledHeader, Parses) {
    const header_case& c = GetParam();
    // Copy into an exact-size heap buffer so ASan catches any overread.
    const bytes h = c.header;
    flow_record r{};
    EXPECT_EQ(sflow::parse_sampled_header(c.protocol, h, r), c.status);
    EXPECT_EQ(r.etype, c.etype);
    EXPECT_EQ(r.vlan_id, c.vlan);
    EXPECT_EQ(r.mpls_label, c.mpls);
    EXPECT_EQ(r.proto, c.proto);
    EXPECT_EQ(r.src_port, c.sport);
    EXPECT_EQ(r.dst_port, c.dport);
    EXPECT_EQ(r.tcp_flags, c.tcp_flags);
    EXPECT_EQ(r.icmp_type, c.icmp_type);
    EXPECT_EQ(r.icmp_code, c.icmp_code);
    EXPECT_EQ(r.ip_tos, c.tos);
}

using hs = sflow::header_status;
const addr4 h_a = {192, 0, 2, 1}, h_b = {198, 51, 100, 2};
// IPv4 fragment field: MF flag 0x2000, offset in 8-byte units.
constexpr uint16_t first_fragment = 0x2000, later_fragment = 0x2000 | 185;

bytes cut(bytes b, std::size_t n) {
    b.resize(n);
    return b;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SampledHeader,
    ::testing::Values(
        header_case{"eth_ipv4_tcp", 1, cat({eth(0x0800), ipv4(6, h_a, h_b, 0x10), tcp(1234, 80, 0x12)}), hs::ok,
                    0x0800, 0, 0, 6, 1234, 80, 0x12, 0, 0, 0x10},
        header_case{"ipv4_options", 1, cat({eth(0x0800), ipv4(17, h_a, h_b, 0, 0, bytes(8, 1)), udp(67, 68)}), hs::ok,
                    0x0800, 0, 0, 17, 67, 68, 0, 0, 0, 0},
        header_case{"ipv4_first_fragment", 1, cat({eth(0x0800), ipv4(17, h_a, h_b, 0, first_fragment), udp(5, 6)}),
                    hs::ok, 0x0800, 0, 0, 17, 5, 6, 0, 0, 0, 0},
        header_case{"ipv4_later_fragment", 1, cat({eth(0x0800), ipv4(17, h_a, h_b, 0, later_fragment), udp(5, 6)}),
                    hs::ok, 0x0800, 0, 0, 17, 0, 0, 0, 0, 0, 0},
        header_case{"ipv4_icmp", 1, cat({eth(0x0800), ipv4(1, h_a, h_b), icmp(3, 13)}), hs::ok, 0x0800, 0, 0, 1, 0,
                    0, 0, 3, 13, 0},
        header_case{"ipv6_icmpv6", 1, cat({eth(0x86dd), ipv6(58), icmp(135, 0)}), hs::ok, 0x86dd, 0, 0, 58, 0, 0, 0,
                    135, 0, 0},
        header_case{"ipv6_tclass", 1, cat({eth(0x86dd), ipv6(132, v6_src, v6_dst, 0xfe), udp(9, 10)}), hs::ok, 0x86dd,
                    0, 0, 132, 9, 10, 0, 0, 0, 0xfe},
        header_case{"ipv6_later_fragment", 1, cat({eth(0x86dd), ipv6(0), ext6(44, 0), frag6(17, 100, true), udp(1, 2)}),
                    hs::ok, 0x86dd, 0, 0, 17, 0, 0, 0, 0, 0, 0},
        header_case{"ipv6_first_fragment", 1, cat({eth(0x86dd), ipv6(44), frag6(6, 0, true), tcp(1, 2, 0x02)}), hs::ok,
                    0x86dd, 0, 0, 6, 1, 2, 0x02, 0, 0, 0},
        header_case{"ipv6_routing_dest_opts", 1, cat({eth(0x86dd), ipv6(43), ext6(60, 2), ext6(58, 0), icmp(128, 0)}),
                    hs::ok, 0x86dd, 0, 0, 58, 0, 0, 0, 128, 0, 0},
        header_case{"ipv6_no_next_header", 1, cat({eth(0x86dd), ipv6(59)}), hs::ok, 0x86dd, 0, 0, 59, 0, 0, 0, 0, 0, 0},
        header_case{"ipv6_ext_chain_too_long", 1,
                    cat({eth(0x86dd), ipv6(60), ext6(60, 0), ext6(60, 0), ext6(60, 0), ext6(60, 0), ext6(60, 0),
                         ext6(60, 0), ext6(60, 0), ext6(60, 0), ext6(60, 0), ext6(60, 0), ext6(60, 0), ext6(60, 0),
                         ext6(60, 0), ext6(60, 0), ext6(60, 0), ext6(60, 0), ext6(6, 0), tcp(1, 2, 3)}),
                    hs::malformed, 0x86dd, 0, 0, 60, 0, 0, 0, 0, 0, 0},
        header_case{"ipv6_ext_cut", 1, cut(cat({eth(0x86dd), ipv6(60), ext6(6, 3)}), 14 + 40 + 1), hs::truncated,
                    0x86dd, 0, 0, 60, 0, 0, 0, 0, 0, 0},
        header_case{"vlan", 1, cat({eth(0x8100), tag(0xe000 | 42, 0x0800), ipv4(6, h_a, h_b), tcp(1, 2, 0x11)}),
                    hs::ok, 0x0800, 42, 0, 6, 1, 2, 0x11, 0, 0, 0},
        header_case{"qinq_9100", 1, cat({eth(0x9100), tag(10, 0x8100), tag(20, 0x0806), bytes(28, 0)}), hs::ok, 0x0806,
                    10, 0, 0, 0, 0, 0, 0, 0, 0},
        header_case{"too_many_tags", 1,
                    cat({eth(0x8100), tag(1, 0x8100), tag(2, 0x8100), tag(3, 0x8100), tag(4, 0x8100), tag(5, 0x0800)}),
                    hs::malformed, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
        header_case{"vlan_cut", 1, cut(cat({eth(0x8100), tag(7, 0x0800)}), 16), hs::truncated, 0, 0, 0, 0, 0, 0, 0, 0,
                    0, 0},
        header_case{"arp", 1, cat({eth(0x0806), bytes(28, 0)}), hs::ok, 0x0806, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        header_case{"llc", 1, cat({eth(0x0026), bytes(38, 0)}), hs::ok, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        header_case{"mpls_ipv4", 1, cat({eth(0x8847), mpls(16001, false), mpls(24, true), ipv4(17, h_a, h_b), udp(1, 2)}),
                    hs::ok, 0x0800, 0, 16001, 17, 1, 2, 0, 0, 0, 0},
        header_case{"mpls_ipv6", 1, cat({eth(0x8847), mpls(3, true), ipv6(6), tcp(3, 4, 0x10)}), hs::ok, 0x86dd, 0, 3, 6,
                    3, 4, 0x10, 0, 0, 0},
        header_case{"mpls_pseudowire", 1, cat({eth(0x8847), mpls(99, true), bytes(4, 0), eth(0x0800)}), hs::ok, 0x8847,
                    0, 99, 0, 0, 0, 0, 0, 0, 0},
        header_case{"mpls_no_bottom", 1, cut(cat({eth(0x8847), mpls(5, false), mpls(6, false)}), 22), hs::truncated,
                    0x8847, 0, 5, 0, 0, 0, 0, 0, 0, 0},
        header_case{"raw_ipv4", 11, cat({ipv4(6, h_a, h_b, 0x04), tcp(22, 2222, 0x10)}), hs::ok, 0x0800, 0, 0, 6, 22,
                    2222, 0x10, 0, 0, 0x04},
        header_case{"raw_ipv6", 12, cat({ipv6(17), udp(123, 123)}), hs::ok, 0x86dd, 0, 0, 17, 123, 123, 0, 0, 0, 0},
        header_case{"raw_mpls", 13, cat({mpls(1000, true), ipv4(17, h_a, h_b), udp(1, 2)}), hs::ok, 0x0800, 0, 1000, 17,
                    1, 2, 0, 0, 0, 0},
        header_case{"raw_ipv4_wrong_version", 11, cat({ipv6(17), udp(1, 2)}), hs::malformed, 0x0800, 0, 0, 0, 0, 0, 0,
                    0, 0, 0},
        header_case{"ipv4_bad_ihl", 11, [] {
                        bytes b = ipv4(6, h_a, h_b);
                        b[0] = 0x44;
                        return b;
                    }(),
                    hs::malformed, 0x0800, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        header_case{"ipv4_options_cut", 11, cut(ipv4(6, h_a, h_b, 0, 0, bytes(12, 1)), 24), hs::truncated, 0x0800, 0, 0,
                    6, 0, 0, 0, 0, 0, 0},
        header_case{"tcp_ports_only", 11, cut(cat({ipv4(6, h_a, h_b), tcp(80, 81, 0x3f)}), 20 + 8), hs::truncated,
                    0x0800, 0, 0, 6, 80, 81, 0, 0, 0, 0},
        header_case{"udp_cut", 11, cut(cat({ipv4(17, h_a, h_b), udp(80, 81)}), 22), hs::truncated, 0x0800, 0, 0, 17, 0,
                    0, 0, 0, 0, 0},
        header_case{"eth_short", 1, bytes(13, 0), hs::truncated, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        header_case{"empty", 1, bytes{}, hs::truncated, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        header_case{"unsupported", 7, bytes(20, 0x45), hs::unsupported, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
    [](const ::testing::TestParamInfo<header_case>& i) { return std::string(i.param.name); });

TEST(SampledHeaderAddresses, Ipv4AndIpv6) {
    flow_record r{};
    const bytes h4 = cat({eth(0x0800), ipv4(6, h_a, h_b), tcp(1, 2, 0)});
    ASSERT_EQ(sflow::parse_sampled_header(1, h4, r), hs::ok);
    EXPECT_EQ(addr_of(r.src_addr), mapped4(h_a));
    EXPECT_EQ(addr_of(r.dst_addr), mapped4(h_b));
    flow_record r6{};
    const bytes h6 = cat({eth(0x86dd), ipv6(6), tcp(1, 2, 0)});
    ASSERT_EQ(sflow::parse_sampled_header(1, h6, r6), hs::ok);
    EXPECT_EQ(addr_of(r6.src_addr), bytes(v6_src.begin(), v6_src.end()));
    EXPECT_EQ(addr_of(r6.dst_addr), bytes(v6_dst.begin(), v6_dst.end()));
}

TEST(SampledHeaderRobustness, EveryPrefixAndCorruption) {
    const bytes full = cat({eth(0x88a8), tag(1, 0x8100), tag(2, 0x8847), mpls(7, false), mpls(8, true), ipv6(0),
                            ext6(43, 1), ext6(51, 0), ah6(44, 1), frag6(6, 0, true), tcp(1, 2, 3)});
    for (std::size_t n = 0; n <= full.size(); ++n) {
        const bytes b(full.begin(), full.begin() + n);
        flow_record r{};
        const auto st = sflow::parse_sampled_header(1, b, r);
        // TCP flags sit at byte 13: 14 bytes of the 20-byte TCP header complete the parse.
        EXPECT_EQ(st, n >= full.size() - 6 ? hs::ok : hs::truncated) << n;
    }
    std::mt19937 rng(7);
    for (int i = 0; i < 20000; ++i) {
        bytes b = full;
        for (int k = 0; k < 3; ++k) b[rng() % b.size()] = uint8_t(rng());
        b.resize(b.size() - rng() % 8);
        flow_record r{};
        sflow::parse_sampled_header(1 + rng() % 13, b, r);
    }
}

}  // namespace
}  // namespace sluice::decode
