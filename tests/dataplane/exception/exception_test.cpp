// SPDX-License-Identifier: Apache-2.0
// Unit tests of the exception path: every outcome, reply field by field, in-place answering, truncation sweeps.
#include "dataplane/exception/exception.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace ex = sluice::exception;
using bytes = std::vector<uint8_t>;

namespace {

const uint8_t k_our_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
const uint8_t k_peer_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
const uint8_t k_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
const uint8_t k_our_v4[4] = {192, 0, 2, 1};
const uint8_t k_peer_v4[4] = {192, 0, 2, 2};
// 2001:db8::1 and 2001:db8::2
const uint8_t k_our_v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const uint8_t k_peer_v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
// ff02::1:ff00:1, the solicited-node group of 2001:db8::1
const uint8_t k_snm_v6[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 1};
const uint8_t k_snm_mac[6] = {0x33, 0x33, 0xff, 0x00, 0x00, 0x01};
const uint8_t k_unspec_v6[16] = {};

ex::address_config make_cfg() {
    ex::address_config c;
    EXPECT_TRUE(c.add("192.0.2.1"));
    EXPECT_TRUE(c.add("198.51.100.7"));
    EXPECT_TRUE(c.add("2001:db8::1"));
    EXPECT_TRUE(c.add("2001:db8:ffff::abcd"));
    EXPECT_TRUE(c.set_mac("02:00:00:00:00:01"));
    return c;
}

void put(bytes& b, const uint8_t* p, size_t n) { b.insert(b.end(), p, p + n); }
void put16(bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}
uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// Reference RFC 1071 sum, written independently of the implementation: 32-bit words of two bytes.
uint16_t ref_sum(const bytes& b) {
    uint32_t s = 0;
    for (size_t i = 0; i < b.size(); i += 2) s += (uint32_t{b[i]} << 8) | (i + 1 < b.size() ? b[i + 1] : 0u);
    while (s > 0xffff) s = (s >> 16) + (s & 0xffff);
    return static_cast<uint16_t>(s);
}
uint16_t ref_csum(const bytes& b) { return static_cast<uint16_t>(~ref_sum(b)); }
bytes v6_pseudo(const uint8_t* src, const uint8_t* dst, const uint8_t* msg, size_t n) {
    bytes p;
    put(p, src, 16);
    put(p, dst, 16);
    put16(p, 0);
    put16(p, static_cast<uint16_t>(n));
    put16(p, 0);
    put16(p, 58);
    put(p, msg, n);
    return p;
}

// Ethernet header, optional tags (TPID, TCI pairs), ethertype.
bytes eth(const uint8_t* dst, const uint8_t* src, uint16_t type, std::vector<std::pair<uint16_t, uint16_t>> tags = {}) {
    bytes b;
    put(b, dst, 6);
    put(b, src, 6);
    for (auto [tpid, tci] : tags) {
        put16(b, tpid);
        put16(b, tci);
    }
    put16(b, type);
    return b;
}

bytes arp(uint16_t oper, const uint8_t* sha, const uint8_t* spa, const uint8_t* tpa,
          std::vector<std::pair<uint16_t, uint16_t>> tags = {}) {
    bytes b = eth(k_bcast, sha, 0x0806, std::move(tags));
    put16(b, 1);
    put16(b, 0x0800);
    b.push_back(6);
    b.push_back(4);
    put16(b, oper);
    put(b, sha, 6);
    put(b, spa, 4);
    const uint8_t zero[6] = {};
    put(b, zero, 6);
    put(b, tpa, 4);
    return b;
}

bytes icmp_echo_body(uint8_t type, uint16_t id, uint16_t seq, size_t payload) {
    bytes m = {type, 0, 0, 0};
    put16(m, id);
    put16(m, seq);
    for (size_t i = 0; i < payload; ++i) m.push_back(static_cast<uint8_t>(i * 7 + 3));
    return m;
}

bytes ipv4(const uint8_t* src, const uint8_t* dst, uint8_t proto, bytes payload, bytes options = {},
           uint16_t frag = 0x4000) {
    bytes h = {static_cast<uint8_t>(0x40 | (5 + options.size() / 4)), 0x10};
    put16(h, static_cast<uint16_t>(20 + options.size() + payload.size()));
    put16(h, 0x1234);
    put16(h, frag);
    h.push_back(63);
    h.push_back(proto);
    put16(h, 0);
    put(h, src, 4);
    put(h, dst, 4);
    h.insert(h.end(), options.begin(), options.end());
    const uint16_t c = ref_csum(h);
    h[10] = static_cast<uint8_t>(c >> 8);
    h[11] = static_cast<uint8_t>(c);
    h.insert(h.end(), payload.begin(), payload.end());
    return h;
}

bytes ping4(const uint8_t* dst_mac, const uint8_t* dst_ip, size_t payload = 56, bytes options = {}) {
    bytes m = icmp_echo_body(8, 0xbeef, 7, payload);
    const uint16_t c = ref_csum(m);
    m[2] = static_cast<uint8_t>(c >> 8);
    m[3] = static_cast<uint8_t>(c);
    bytes f = eth(dst_mac, k_peer_mac, 0x0800);
    bytes ip = ipv4(k_peer_v4, dst_ip, 1, m, std::move(options));
    f.insert(f.end(), ip.begin(), ip.end());
    return f;
}

bytes ipv6(const uint8_t* src, const uint8_t* dst, uint8_t hop, bytes icmp) {
    const uint16_t c = ref_csum(v6_pseudo(src, dst, icmp.data(), icmp.size()));
    icmp[2] = static_cast<uint8_t>(c >> 8);
    icmp[3] = static_cast<uint8_t>(c);
    bytes h = {0x60, 0x01, 0x23, 0x45};
    put16(h, static_cast<uint16_t>(icmp.size()));
    h.push_back(58);
    h.push_back(hop);
    put(h, src, 16);
    put(h, dst, 16);
    h.insert(h.end(), icmp.begin(), icmp.end());
    return h;
}

bytes ping6(const uint8_t* dst_ip = k_our_v6, size_t payload = 56) {
    bytes f = eth(k_our_mac, k_peer_mac, 0x86dd);
    bytes ip = ipv6(k_peer_v6, dst_ip, 64, icmp_echo_body(128, 0x4242, 3, payload));
    f.insert(f.end(), ip.begin(), ip.end());
    return f;
}

bytes ns(const uint8_t* src, const uint8_t* dst, const uint8_t* target, bool with_slla, const uint8_t* eth_dst,
         uint8_t hop = 255, std::vector<std::pair<uint16_t, uint16_t>> tags = {}) {
    bytes m = {135, 0, 0, 0, 0, 0, 0, 0};
    put(m, target, 16);
    if (with_slla) {
        m.push_back(1);
        m.push_back(1);
        put(m, k_peer_mac, 6);
    }
    bytes f = eth(eth_dst, k_peer_mac, 0x86dd, std::move(tags));
    bytes ip = ipv6(src, dst, hop, m);
    f.insert(f.end(), ip.begin(), ip.end());
    return f;
}

struct run_result {
    ex::result r;
    bytes reply;
};
run_result run(const bytes& f, const ex::address_config& cfg, uint32_t cap = 2048) {
    bytes out(cap + 16, 0xaa);  // guard area past cap must stay untouched
    ex::result r = ex::handle(f.data(), static_cast<uint32_t>(f.size()), cfg, out.data(), cap);
    for (size_t i = cap; i < out.size(); ++i) EXPECT_EQ(out[i], 0xaa) << "wrote past reply_cap";
    if (r.what != ex::outcome::reply) {
        EXPECT_EQ(r.reply_len, 0u);
    }
    EXPECT_LE(r.reply_len, cap);
    out.resize(r.reply_len);
    return {r, out};
}
ex::outcome outcome_of(const bytes& f, const ex::address_config& cfg) { return run(f, cfg).r.what; }

// Answering in place must produce the same bytes as answering into a separate buffer.
void expect_same_in_place(const bytes& f, const ex::address_config& cfg) {
    run_result sep = run(f, cfg);
    bytes buf = f;
    buf.resize(std::max<size_t>(f.size() + 8, 60));
    ex::result r = ex::handle(buf.data(), static_cast<uint32_t>(f.size()), cfg, buf.data(),
                              static_cast<uint32_t>(buf.size()));
    ASSERT_EQ(r.what, sep.r.what);
    ASSERT_EQ(r.reply_len, sep.r.reply_len);
    buf.resize(r.reply_len);
    EXPECT_EQ(buf, sep.reply);
}

}  // namespace

// ---------------------------------------------------------------- config

TEST(AddressConfig, AddParsesAndRejects) {
    ex::address_config c;
    EXPECT_TRUE(c.add("192.0.2.1"));
    EXPECT_TRUE(c.add("192.0.2.1"));  // duplicate: no-op
    EXPECT_EQ(c.n_v4, 1);
    EXPECT_TRUE(c.add("2001:db8::1"));
    EXPECT_EQ(c.n_v6, 1);
    for (const char* bad : {"", "192.0.2", "192.0.2.256", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::",
                            "ff02::1", "2001:db8::1/64", "hello", " 192.0.2.9"})
        EXPECT_FALSE(c.add(bad)) << bad;
    EXPECT_EQ(c.n_v4, 1);
    EXPECT_EQ(c.n_v6, 1);
    for (int i = 2; i <= 8; ++i) EXPECT_TRUE(c.add("192.0.2." + std::to_string(i)));
    EXPECT_FALSE(c.add("192.0.2.9"));  // full
    EXPECT_EQ(c.n_v4, ex::k_max_v4);
    EXPECT_EQ(c.find_v4(k_peer_v4), 1);
}

TEST(AddressConfig, SetMacAndSolicitedNode) {
    ex::address_config c;
    EXPECT_TRUE(c.set_mac("02:AB:cd:00:00:01"));
    EXPECT_EQ(c.mac[1], 0xab);
    EXPECT_FALSE(c.set_mac("01:00:5e:00:00:01"));  // multicast
    EXPECT_FALSE(c.set_mac("02:ab:cd:00:00"));
    EXPECT_FALSE(c.set_mac("02:ab:cd:00:00:0g"));
    EXPECT_EQ(c.mac[1], 0xab);
    ASSERT_TRUE(c.add("2001:db8::1"));
    EXPECT_EQ(c.find_solicited_node(k_snm_v6), 0);
    uint8_t other[16];
    std::memcpy(other, k_snm_v6, 16);
    other[15] = 2;
    EXPECT_EQ(c.find_solicited_node(other), -1);
    EXPECT_EQ(c.find_solicited_node(k_our_v6), -1);
}

TEST(Outcome, NamesMatchCounterTable) {
    std::set<std::string_view> names;
    for (size_t i = 0; i < ex::outcome_count; ++i) {
        auto o = static_cast<ex::outcome>(i);
        EXPECT_EQ(ex::outcome_name(o), ex::counter_table[i].name);
        EXPECT_FALSE(ex::counter_table[i].help.empty());
        names.insert(ex::outcome_name(o));
    }
    EXPECT_EQ(names.size(), ex::outcome_count);
    EXPECT_EQ(ex::outcome_name(ex::outcome::ndp_dad_ignored), "ndp_dad_ignored");
    ex::counter_block a, b;
    a.add(ex::outcome::reply);
    b.add(ex::outcome::reply, 2);
    a += b;
    EXPECT_EQ(a.get(ex::outcome::reply), 3u);
}

// ---------------------------------------------------------------- ARP

TEST(Arp, RequestForOurAddressIsAnswered) {
    auto cfg = make_cfg();
    auto [r, out] = run(arp(1, k_peer_mac, k_peer_v4, k_our_v4), cfg);
    ASSERT_EQ(r.what, ex::outcome::reply);
    ASSERT_EQ(r.reply_len, 60u);  // 42 padded
    EXPECT_EQ(0, std::memcmp(out.data(), k_peer_mac, 6));
    EXPECT_EQ(0, std::memcmp(out.data() + 6, k_our_mac, 6));
    EXPECT_EQ(get16(&out[12]), 0x0806);
    const uint8_t* a = &out[14];
    EXPECT_EQ(get16(a), 1);
    EXPECT_EQ(get16(a + 2), 0x0800);
    EXPECT_EQ(a[4], 6);
    EXPECT_EQ(a[5], 4);
    EXPECT_EQ(get16(a + 6), 2);
    EXPECT_EQ(0, std::memcmp(a + 8, k_our_mac, 6));
    EXPECT_EQ(0, std::memcmp(a + 14, k_our_v4, 4));
    EXPECT_EQ(0, std::memcmp(a + 18, k_peer_mac, 6));
    EXPECT_EQ(0, std::memcmp(a + 24, k_peer_v4, 4));
    for (size_t i = 42; i < 60; ++i) EXPECT_EQ(out[i], 0) << i;
}

TEST(Arp, SecondAddressAndUnicastRequest) {
    auto cfg = make_cfg();
    const uint8_t second[4] = {198, 51, 100, 7};
    bytes f = arp(1, k_peer_mac, k_peer_v4, second);
    std::memcpy(f.data(), k_our_mac, 6);  // unicast refresh, as Linux sends them
    auto [r, out] = run(f, cfg);
    ASSERT_EQ(r.what, ex::outcome::reply);
    EXPECT_EQ(0, std::memcmp(&out[14 + 14], second, 4));
}

TEST(Arp, VlanTagIsKept) {
    auto cfg = make_cfg();
    auto [r, out] = run(arp(1, k_peer_mac, k_peer_v4, k_our_v4, {{0x8100, 0x2064}}), cfg);
    ASSERT_EQ(r.what, ex::outcome::reply);
    EXPECT_EQ(r.reply_len, 60u);
    EXPECT_EQ(get16(&out[12]), 0x8100);
    EXPECT_EQ(get16(&out[14]), 0x2064);
    EXPECT_EQ(get16(&out[16]), 0x0806);
    EXPECT_EQ(get16(&out[18 + 6]), 2);
    auto qinq = run(arp(1, k_peer_mac, k_peer_v4, k_our_v4, {{0x88a8, 0x0010}, {0x8100, 0x0020}}), cfg);
    ASSERT_EQ(qinq.r.what, ex::outcome::reply);
    EXPECT_EQ(qinq.r.reply_len, 60u);  // 22 + 28 = 50, padded
    EXPECT_EQ(get16(&qinq.reply[12]), 0x88a8);
    EXPECT_EQ(get16(&qinq.reply[16]), 0x8100);
    EXPECT_EQ(get16(&qinq.reply[18]), 0x0020);
    EXPECT_EQ(get16(&qinq.reply[20]), 0x0806);
    EXPECT_EQ(outcome_of(arp(1, k_peer_mac, k_peer_v4, k_our_v4, {{0x88a8, 1}, {0x8100, 2}, {0x8100, 3}}), cfg),
              ex::outcome::not_for_us);
}

TEST(Arp, IgnoredCases) {
    auto cfg = make_cfg();
    EXPECT_EQ(outcome_of(arp(1, k_peer_mac, k_our_v4, k_peer_v4), cfg), ex::outcome::not_for_us);
    EXPECT_EQ(outcome_of(arp(2, k_peer_mac, k_peer_v4, k_our_v4), cfg), ex::outcome::arp_not_request);
    EXPECT_EQ(outcome_of(arp(3, k_peer_mac, k_peer_v4, k_our_v4), cfg), ex::outcome::arp_not_request);
    bytes f = arp(1, k_peer_mac, k_peer_v4, k_our_v4);
    f.resize(14 + 27);
    EXPECT_EQ(outcome_of(f, cfg), ex::outcome::arp_malformed);
    f = arp(1, k_peer_mac, k_peer_v4, k_our_v4);
    f[14 + 1] = 6;  // htype 6 (IEEE 802)
    EXPECT_EQ(outcome_of(f, cfg), ex::outcome::arp_malformed);
    f = arp(1, k_peer_mac, k_peer_v4, k_our_v4);
    f[14 + 5] = 16;  // plen
    EXPECT_EQ(outcome_of(f, cfg), ex::outcome::arp_malformed);
    f = arp(1, k_peer_mac, k_peer_v4, k_our_v4);
    f[14 + 8] = 0x01;  // multicast sender MAC
    EXPECT_EQ(outcome_of(f, cfg), ex::outcome::arp_malformed);
    f = arp(1, k_peer_mac, k_peer_v4, k_our_v4);
    std::memcpy(f.data(), k_peer_mac, 6);  // unicast to someone else
    EXPECT_EQ(outcome_of(f, cfg), ex::outcome::not_for_us);
}

TEST(Arp, TooBig) {
    auto cfg = make_cfg();
    EXPECT_EQ(run(arp(1, k_peer_mac, k_peer_v4, k_our_v4), cfg, 59).r.what, ex::outcome::too_big);
    EXPECT_EQ(run(arp(1, k_peer_mac, k_peer_v4, k_our_v4), cfg, 60).r.what, ex::outcome::reply);
}

// ---------------------------------------------------------------- ICMP

void check_echo4(const bytes& req, const bytes& out, size_t l2, size_t req_ihl) {
    EXPECT_EQ(0, std::memcmp(out.data(), k_peer_mac, 6));
    EXPECT_EQ(0, std::memcmp(out.data() + 6, k_our_mac, 6));
    EXPECT_EQ(0, std::memcmp(out.data() + 12, req.data() + 12, l2 - 12));  // tags + ethertype
    const uint8_t* ip = &out[l2];
    const size_t icmp_len = req.size() - l2 - req_ihl;
    EXPECT_EQ(ip[0], 0x45);
    EXPECT_EQ(ip[1], req[l2 + 1]);
    EXPECT_EQ(get16(ip + 2), 20 + icmp_len);
    EXPECT_EQ(get16(ip + 6), 0);
    EXPECT_EQ(ip[8], 64);
    EXPECT_EQ(ip[9], 1);
    EXPECT_EQ(0, std::memcmp(ip + 12, k_our_v4, 4));
    EXPECT_EQ(0, std::memcmp(ip + 16, k_peer_v4, 4));
    EXPECT_EQ(ref_sum(bytes(ip, ip + 20)), 0xffff) << "IPv4 header checksum";
    bytes icmp(ip + 20, ip + 20 + icmp_len);
    EXPECT_EQ(icmp[0], 0);
    EXPECT_EQ(icmp[1], 0);
    EXPECT_EQ(ref_sum(icmp), 0xffff) << "ICMP checksum";
    EXPECT_EQ(0, std::memcmp(&icmp[4], &req[l2 + req_ihl + 4], icmp_len - 4)) << "id/seq/payload";
    EXPECT_EQ(out.size(), std::max<size_t>(l2 + 20 + icmp_len, 60));
}

TEST(Icmp, EchoRequestIsAnswered) {
    auto cfg = make_cfg();
    for (size_t payload : {0, 1, 18, 56, 1472}) {
        bytes req = ping4(k_our_mac, k_our_v4, payload);
        auto [r, out] = run(req, cfg);
        ASSERT_EQ(r.what, ex::outcome::reply) << payload;
        check_echo4(req, out, 14, 20);
        expect_same_in_place(req, cfg);
    }
}

TEST(Icmp, OptionsAreDroppedAndPayloadMoves) {
    auto cfg = make_cfg();
    bytes req = ping4(k_our_mac, k_our_v4, 33, bytes{1, 1, 1, 0, 0x94, 4, 0, 0});  // NOP NOP NOP EOL, router alert
    auto [r, out] = run(req, cfg);
    ASSERT_EQ(r.what, ex::outcome::reply);
    check_echo4(req, out, 14, 28);
    expect_same_in_place(req, cfg);
}

TEST(Icmp, VlanTaggedEcho) {
    auto cfg = make_cfg();
    bytes req = ping4(k_our_mac, k_our_v4, 56);
    const uint8_t tag[4] = {0x81, 0x00, 0x00, 0x64};
    req.insert(req.begin() + 12, tag, tag + 4);
    auto [r, out] = run(req, cfg);
    ASSERT_EQ(r.what, ex::outcome::reply);
    check_echo4(req, out, 18, 20);
    expect_same_in_place(req, cfg);
}

TEST(Icmp, EthernetPaddingAfterIpIsIgnored) {
    auto cfg = make_cfg();
    bytes req = ping4(k_our_mac, k_our_v4, 4);  // 14 + 20 + 12 = 46 bytes, padded on the wire
    bytes padded_req = req;
    padded_req.resize(60, 0);
    auto [r, out] = run(padded_req, cfg);
    ASSERT_EQ(r.what, ex::outcome::reply);
    check_echo4(req, out, 14, 20);
}

TEST(Icmp, IgnoredCases) {
    auto cfg = make_cfg();
    // Not our address / not our MAC / not ICMP.
    EXPECT_EQ(outcome_of(ping4(k_our_mac, k_peer_v4), cfg), ex::outcome::not_for_us);
    EXPECT_EQ(outcome_of(ping4(k_peer_mac, k_our_v4), cfg), ex::outcome::not_for_us);
    bytes udp = eth(k_our_mac, k_peer_mac, 0x0800);
    bytes ip = ipv4(k_peer_v4, k_our_v4, 17, bytes(16, 0));
    udp.insert(udp.end(), ip.begin(), ip.end());
    EXPECT_EQ(outcome_of(udp, cfg), ex::outcome::not_for_us);

    // Not an echo request: destination unreachable, echo reply.
    for (uint8_t type : {3, 0}) {
        bytes m = icmp_echo_body(type, 1, 1, 28);
        const uint16_t c = ref_csum(m);
        m[2] = static_cast<uint8_t>(c >> 8);
        m[3] = static_cast<uint8_t>(c);
        bytes f = eth(k_our_mac, k_peer_mac, 0x0800);
        bytes p = ipv4(k_peer_v4, k_our_v4, 1, m);
        f.insert(f.end(), p.begin(), p.end());
        EXPECT_EQ(outcome_of(f, cfg), ex::outcome::icmp_not_echo_request) << int(type);
    }

    bytes f = ping4(k_our_mac, k_our_v4);
    f[14 + 20 + 9] ^= 0x01;  // payload bit flip
    EXPECT_EQ(outcome_of(f, cfg), ex::outcome::icmp_bad_checksum);

    f = ping4(k_our_mac, k_our_v4);
    f[14 + 10] ^= 0x01;  // IPv4 header checksum
    EXPECT_EQ(outcome_of(f, cfg), ex::outcome::icmp_malformed);

    f = ping4(k_our_mac, k_our_v4);
    f.resize(f.size() - 1);  // total length past the frame
    EXPECT_EQ(outcome_of(f, cfg), ex::outcome::icmp_malformed);

    // Fragment (MF set): not reassembled.
    bytes m = icmp_echo_body(8, 1, 1, 8);
    f = eth(k_our_mac, k_peer_mac, 0x0800);
    bytes frag = ipv4(k_peer_v4, k_our_v4, 1, m, {}, 0x2000);
    f.insert(f.end(), frag.begin(), frag.end());
    EXPECT_EQ(outcome_of(f, cfg), ex::outcome::icmp_malformed);

    // Broadcast source and multicast source MAC.
    f = ping4(k_our_mac, k_our_v4);
    const uint8_t bc[4] = {255, 255, 255, 255};
    bytes m2 = icmp_echo_body(8, 1, 1, 8);
    const uint16_t c2 = ref_csum(m2);
    m2[2] = static_cast<uint8_t>(c2 >> 8);
    m2[3] = static_cast<uint8_t>(c2);
    f = eth(k_our_mac, k_peer_mac, 0x0800);
    bytes bsrc = ipv4(bc, k_our_v4, 1, m2);
    f.insert(f.end(), bsrc.begin(), bsrc.end());
    EXPECT_EQ(outcome_of(f, cfg), ex::outcome::icmp_malformed);
    f = ping4(k_our_mac, k_our_v4);
    f[6] = 0x01;
    EXPECT_EQ(outcome_of(f, cfg), ex::outcome::icmp_malformed);
}

TEST(Icmp, TooBig) {
    auto cfg = make_cfg();
    bytes req = ping4(k_our_mac, k_our_v4, 100);
    EXPECT_EQ(run(req, cfg, static_cast<uint32_t>(req.size() - 1)).r.what, ex::outcome::too_big);
    EXPECT_EQ(run(req, cfg, static_cast<uint32_t>(req.size())).r.what, ex::outcome::reply);
}

// ---------------------------------------------------------------- ICMPv6 echo

TEST(Icmpv6, EchoRequestIsAnswered) {
    auto cfg = make_cfg();
    for (size_t payload : {0, 5, 56, 1452}) {
        bytes req = ping6(k_our_v6, payload);
        auto [r, out] = run(req, cfg);
        ASSERT_EQ(r.what, ex::outcome::reply);
        ASSERT_EQ(r.reply_len, std::max<size_t>(req.size(), 60));
        EXPECT_EQ(0, std::memcmp(out.data(), k_peer_mac, 6));
        EXPECT_EQ(0, std::memcmp(out.data() + 6, k_our_mac, 6));
        const uint8_t* ip = &out[14];
        EXPECT_EQ(0, std::memcmp(ip, req.data() + 14, 4));  // version, class, flow label
        EXPECT_EQ(get16(ip + 4), 8 + payload);
        EXPECT_EQ(ip[6], 58);
        EXPECT_EQ(ip[7], 64);
        EXPECT_EQ(0, std::memcmp(ip + 8, k_our_v6, 16));
        EXPECT_EQ(0, std::memcmp(ip + 24, k_peer_v6, 16));
        EXPECT_EQ(ip[40], 129);
        EXPECT_EQ(ip[41], 0);
        EXPECT_EQ(ref_sum(v6_pseudo(ip + 8, ip + 24, ip + 40, 8 + payload)), 0xffff);
        EXPECT_EQ(0, std::memcmp(ip + 44, req.data() + 14 + 44, 4 + payload)) << "id/seq/payload";
        expect_same_in_place(req, cfg);
    }
}

TEST(Icmpv6, IgnoredCases) {
    auto cfg = make_cfg();
    EXPECT_EQ(outcome_of(ping6(k_peer_v6), cfg), ex::outcome::not_for_us);
    bytes f = ping6();
    f[14 + 40 + 10] ^= 0x80;
    EXPECT_EQ(outcome_of(f, cfg), ex::outcome::icmpv6_bad_checksum);
    f = ping6();
    f[14 + 4 + 1] += 1;  // payload length past the frame
    EXPECT_EQ(outcome_of(f, cfg), ex::outcome::icmpv6_malformed);
    // Echo to our solicited-node group is not for us.
    bytes g = eth(k_snm_mac, k_peer_mac, 0x86dd);
    bytes ip = ipv6(k_peer_v6, k_snm_v6, 64, icmp_echo_body(128, 1, 1, 8));
    g.insert(g.end(), ip.begin(), ip.end());
    EXPECT_EQ(outcome_of(g, cfg), ex::outcome::not_for_us);
    // Router advertisement / neighbour advertisement / MLD to our address: not handled.
    for (uint8_t type : {134, 136, 143, 1}) {
        bytes h = eth(k_our_mac, k_peer_mac, 0x86dd);
        bytes body(24, 0);
        body[0] = type;
        bytes p = ipv6(k_peer_v6, k_our_v6, 255, body);
        h.insert(h.end(), p.begin(), p.end());
        EXPECT_EQ(outcome_of(h, cfg), ex::outcome::icmpv6_not_handled) << int(type);
    }
    // Next header not ICMPv6 (UDP to us).
    f = ping6();
    f[14 + 6] = 17;
    EXPECT_EQ(outcome_of(f, cfg), ex::outcome::not_for_us);
}

// ---------------------------------------------------------------- neighbour discovery

void check_na(const bytes& out, size_t l2, const uint8_t* dst_mac, const uint8_t* dst_ip, const uint8_t* target) {
    ASSERT_EQ(out.size(), l2 + 40 + 32);
    EXPECT_EQ(0, std::memcmp(out.data(), dst_mac, 6));
    EXPECT_EQ(0, std::memcmp(out.data() + 6, k_our_mac, 6));
    EXPECT_EQ(get16(&out[l2 - 2]), 0x86dd);
    const uint8_t* ip = &out[l2];
    EXPECT_EQ(ip[0], 0x60);
    EXPECT_EQ(get16(ip + 4), 32);
    EXPECT_EQ(ip[6], 58);
    EXPECT_EQ(ip[7], 255);
    EXPECT_EQ(0, std::memcmp(ip + 8, target, 16));
    EXPECT_EQ(0, std::memcmp(ip + 24, dst_ip, 16));
    const uint8_t* na = ip + 40;
    EXPECT_EQ(na[0], 136);
    EXPECT_EQ(na[1], 0);
    EXPECT_EQ(na[4], 0x60) << "R=0 S=1 O=1";
    EXPECT_EQ(na[5] | na[6] | na[7], 0);
    EXPECT_EQ(0, std::memcmp(na + 8, target, 16));
    EXPECT_EQ(na[24], 2);
    EXPECT_EQ(na[25], 1);
    EXPECT_EQ(0, std::memcmp(na + 26, k_our_mac, 6));
    EXPECT_EQ(ref_sum(v6_pseudo(ip + 8, ip + 24, na, 32)), 0xffff);
}

TEST(Ndp, MulticastSolicitationIsAdvertised) {
    auto cfg = make_cfg();
    bytes req = ns(k_peer_v6, k_snm_v6, k_our_v6, true, k_snm_mac);
    auto [r, out] = run(req, cfg);
    ASSERT_EQ(r.what, ex::outcome::reply);
    check_na(out, 14, k_peer_mac, k_peer_v6, k_our_v6);
    expect_same_in_place(req, cfg);
}

TEST(Ndp, LinkLocalSourceAndSecondAddress) {
    auto cfg = make_cfg();
    const uint8_t ll[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 0, 2};
    const uint8_t second[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd};
    const uint8_t snm[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0xab, 0xcd};
    const uint8_t mac[6] = {0x33, 0x33, 0xff, 0x00, 0xab, 0xcd};
    auto [r, out] = run(ns(ll, snm, second, true, mac), cfg);
    ASSERT_EQ(r.what, ex::outcome::reply);
    check_na(out, 14, k_peer_mac, ll, second);
    // Solicited-node group of one address, target another of ours: answered (the target decides).
    EXPECT_EQ(outcome_of(ns(ll, k_snm_v6, second, true, k_snm_mac), cfg), ex::outcome::reply);
}

TEST(Ndp, UnicastProbeWithoutSllaGoesToFrameSource) {
    auto cfg = make_cfg();
    auto [r, out] = run(ns(k_peer_v6, k_our_v6, k_our_v6, false, k_our_mac), cfg);
    ASSERT_EQ(r.what, ex::outcome::reply);
    check_na(out, 14, k_peer_mac, k_peer_v6, k_our_v6);
    EXPECT_EQ(r.reply_len, 86u);  // NS without option was 78: the reply grows by 8
    bytes req = ns(k_peer_v6, k_our_v6, k_our_v6, false, k_our_mac);
    expect_same_in_place(req, cfg);
}

TEST(Ndp, VlanTaggedSolicitation) {
    auto cfg = make_cfg();
    bytes req = ns(k_peer_v6, k_snm_v6, k_our_v6, true, k_snm_mac, 255, {{0x8100, 0xe00a}});
    auto [r, out] = run(req, cfg);
    ASSERT_EQ(r.what, ex::outcome::reply);
    EXPECT_EQ(get16(&out[12]), 0x8100);
    EXPECT_EQ(get16(&out[14]), 0xe00a);
    check_na(out, 18, k_peer_mac, k_peer_v6, k_our_v6);
}

TEST(Ndp, DadIsIgnored) {
    auto cfg = make_cfg();
    EXPECT_EQ(outcome_of(ns(k_unspec_v6, k_snm_v6, k_our_v6, false, k_snm_mac), cfg), ex::outcome::ndp_dad_ignored);
}

TEST(Ndp, IgnoredCases) {
    auto cfg = make_cfg();
    const uint8_t other_snm[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 9};
    const uint8_t other[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
    // For someone else (group not ours; group ours but target not).
    EXPECT_EQ(outcome_of(ns(k_peer_v6, other_snm, other, true, k_snm_mac), cfg), ex::outcome::not_for_us);
    EXPECT_EQ(outcome_of(ns(k_peer_v6, k_snm_v6, other, true, k_snm_mac), cfg), ex::outcome::not_for_us);
    // Hop limit not 255 (off-link forgery).
    EXPECT_EQ(outcome_of(ns(k_peer_v6, k_snm_v6, k_our_v6, true, k_snm_mac, 64), cfg), ex::outcome::icmpv6_malformed);
    // Multicast target.
    EXPECT_EQ(outcome_of(ns(k_peer_v6, k_snm_v6, k_snm_v6, true, k_snm_mac), cfg), ex::outcome::icmpv6_malformed);
    // Bad checksum.
    bytes f = ns(k_peer_v6, k_snm_v6, k_our_v6, true, k_snm_mac);
    f[14 + 40 + 8 + 15] ^= 1;  // inside the target: now checksum is wrong (and the target too)
    EXPECT_EQ(outcome_of(f, cfg), ex::outcome::icmpv6_bad_checksum);
    // Option with length 0 (RFC 4861 says: discard).
    bytes m = {135, 0, 0, 0, 0, 0, 0, 0};
    m.insert(m.end(), k_our_v6, k_our_v6 + 16);
    m.insert(m.end(), {1, 0, 0, 0, 0, 0, 0, 0});
    bytes g = eth(k_snm_mac, k_peer_mac, 0x86dd);
    bytes ip = ipv6(k_peer_v6, k_snm_v6, 255, m);
    g.insert(g.end(), ip.begin(), ip.end());
    EXPECT_EQ(outcome_of(g, cfg), ex::outcome::icmpv6_malformed);
    // Option running past the message.
    m.back() = 0;
    m[24 + 1] = 2;
    g = eth(k_snm_mac, k_peer_mac, 0x86dd);
    ip = ipv6(k_peer_v6, k_snm_v6, 255, m);
    g.insert(g.end(), ip.begin(), ip.end());
    EXPECT_EQ(outcome_of(g, cfg), ex::outcome::icmpv6_malformed);
    // Too short to hold a target.
    bytes s = {135, 0, 0, 0, 0, 0, 0, 0, 0x20, 0x01};
    g = eth(k_snm_mac, k_peer_mac, 0x86dd);
    ip = ipv6(k_peer_v6, k_snm_v6, 255, s);
    g.insert(g.end(), ip.begin(), ip.end());
    EXPECT_EQ(outcome_of(g, cfg), ex::outcome::icmpv6_malformed);
    // Too big for the caller's buffer.
    EXPECT_EQ(run(ns(k_peer_v6, k_snm_v6, k_our_v6, true, k_snm_mac), cfg, 85).r.what, ex::outcome::too_big);
}

// ---------------------------------------------------------------- robustness

TEST(Robustness, NonIpAndShortFrames) {
    auto cfg = make_cfg();
    EXPECT_EQ(outcome_of(bytes{}, cfg), ex::outcome::not_for_us);
    EXPECT_EQ(outcome_of(bytes(13, 0xff), cfg), ex::outcome::not_for_us);
    EXPECT_EQ(outcome_of(eth(k_bcast, k_peer_mac, 0x88cc), cfg), ex::outcome::not_for_us);  // LLDP
    EXPECT_EQ(ex::handle(nullptr, 0, cfg, nullptr, 0).what, ex::outcome::not_for_us);
    bytes tag_only = eth(k_bcast, k_peer_mac, 0x8100);
    tag_only.push_back(0);
    EXPECT_EQ(outcome_of(tag_only, cfg), ex::outcome::not_for_us);
}

TEST(Robustness, EveryTruncationAndBitFlipIsSafe) {
    auto cfg = make_cfg();
    std::vector<bytes> seeds = {
        arp(1, k_peer_mac, k_peer_v4, k_our_v4, {{0x8100, 5}}),
        ping4(k_our_mac, k_our_v4, 40, bytes{1, 1, 1, 0}),
        ping6(k_our_v6, 40),
        ns(k_peer_v6, k_snm_v6, k_our_v6, true, k_snm_mac),
        ns(k_peer_v6, k_our_v6, k_our_v6, false, k_our_mac, 255, {{0x88a8, 1}, {0x8100, 2}}),
    };
    std::mt19937 rng(12345);
    for (const bytes& seed : seeds) {
        for (size_t n = 0; n <= seed.size(); ++n) {
            // Exact-size heap copies so ASan sees any read past the frame.
            std::vector<uint8_t> f(seed.begin(), seed.begin() + static_cast<std::ptrdiff_t>(n));
            (void)run(f, cfg);
        }
        for (int i = 0; i < 3000; ++i) {
            bytes f = seed;
            const int flips = 1 + static_cast<int>(rng() % 3);
            for (int k = 0; k < flips; ++k) f[rng() % f.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
            f.resize(rng() % (f.size() + 1));
            f = bytes(f.begin(), f.end());  // exact capacity, so ASan sees over-reads
            run_result rr = run(f, cfg, static_cast<uint32_t>(std::max<size_t>(f.size() + 8, 60)));
            ASSERT_LT(static_cast<size_t>(rr.r.what), ex::outcome_count);
        }
    }
}
