// SPDX-License-Identifier: Apache-2.0
// ARP / ICMP echo / ICMPv6 echo / neighbour solicitation responder over raw Ethernet bytes.
//
// Structure of every handler: validate and copy into locals everything the
// reply needs, then write the reply. The copy-first order is what makes
// reply == frame (in-place answering) safe.
#include "dataplane/exception/exception.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace sluice::exception {

namespace {

constexpr uint16_t k_ethertype_ipv4 = 0x0800;
constexpr uint16_t k_ethertype_arp = 0x0806;
constexpr uint16_t k_ethertype_ipv6 = 0x86dd;
constexpr uint16_t k_ethertype_vlan = 0x8100;    // 802.1Q
constexpr uint16_t k_ethertype_qinq = 0x88a8;    // 802.1ad service tag
constexpr uint32_t k_eth_hdr = 14;
constexpr uint32_t k_vlan_tag = 4;
// One service tag plus one customer tag covers every deployment we have seen;
// deeper stacks are not for us.
constexpr uint32_t k_max_tags = 2;
constexpr uint32_t k_max_l2 = k_eth_hdr + k_max_tags * k_vlan_tag;

constexpr uint32_t k_arp_len = 28;  // Ethernet/IPv4 ARP body
constexpr uint32_t k_ipv4_hdr = 20;
constexpr uint32_t k_ipv6_hdr = 40;
constexpr uint32_t k_icmp_echo_hdr = 8;  // type, code, checksum, id, seq
constexpr uint32_t k_ns_len = 24;        // type, code, checksum, reserved, target
constexpr uint32_t k_na_len = 32;        // NA body (24) + target link-layer address option (8)

constexpr uint8_t k_proto_icmp = 1;
constexpr uint8_t k_proto_icmpv6 = 58;
constexpr uint8_t k_icmp_echo_reply = 0;
constexpr uint8_t k_icmp_echo_request = 8;
constexpr uint8_t k_icmpv6_echo_request = 128;
constexpr uint8_t k_icmpv6_echo_reply = 129;
constexpr uint8_t k_icmpv6_ns = 135;
constexpr uint8_t k_icmpv6_na = 136;
constexpr uint8_t k_nd_opt_slla = 1;
constexpr uint8_t k_nd_opt_tlla = 2;
constexpr uint8_t k_na_flags = 0x60;  // R=0 (not a router), S=1 (solicited), O=1 (override)

// Hop limits: 64 is the common default for locally originated packets
// (Linux, BSD); RFC 4861 7.1 requires 255 on every ND message.
constexpr uint8_t k_reply_ttl = 64;
constexpr uint8_t k_nd_hop_limit = 255;

inline uint16_t load16(const uint8_t* p) noexcept { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline void store16(uint8_t* p, uint16_t v) noexcept {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
inline bool is_multicast_mac(const uint8_t* m) noexcept { return (m[0] & 1) != 0; }

// RFC 1071 one's complement sum over n bytes, big-endian 16-bit words, odd
// tail padded with zero. Returns the unfolded 32-bit partial sum so callers
// can chain pieces (pseudo-header + message); every piece but the last must
// have an even length.
uint32_t sum_bytes(const uint8_t* p, uint32_t n, uint32_t acc = 0) noexcept {
    uint64_t s = acc;
    uint32_t i = 0;
    for (; i + 1 < n; i += 2) s += load16(p + i);
    if (i < n) s += static_cast<uint32_t>(p[i]) << 8;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<uint32_t>(s);
}
inline uint16_t fold(uint32_t s) noexcept {
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<uint16_t>(s);
}
// Checksum field value for data summing to s (with the field zeroed).
inline uint16_t finish(uint32_t s) noexcept { return static_cast<uint16_t>(~fold(s)); }
// A received message verifies when its sum, checksum field included, is 0xffff.
inline bool verifies(uint32_t s) noexcept { return fold(s) == 0xffff; }

uint32_t sum_v6_pseudo(const uint8_t* src, const uint8_t* dst, uint32_t upper_len) noexcept {
    uint32_t s = sum_bytes(src, 16);
    s = sum_bytes(dst, 16, s);
    s += upper_len >> 16;
    s += upper_len & 0xffff;
    s += k_proto_icmpv6;
    return s;
}

// The L2 header as received, to be mirrored into the reply.
struct l2_header {
    uint8_t bytes[k_max_l2];  // dst, src, tags..., ethertype
    uint32_t len;             // bytes of L2 header in the frame (14 / 18 / 22)
    uint16_t ethertype;       // innermost
};

// Writes the reply's L2 header (dst, our MAC, the request's tags verbatim, ethertype). Returns its length.
uint32_t write_l2(uint8_t* out, const l2_header& h, const uint8_t* dst_mac, const address_config& cfg) noexcept {
    std::memcpy(out, dst_mac, 6);
    std::memcpy(out + 6, cfg.mac.data(), 6);
    std::memcpy(out + 12, h.bytes + 12, h.len - 12);
    return h.len;
}

inline result done(outcome o) noexcept { return {o, 0}; }

// Pads to the Ethernet minimum and returns the reply result.
inline result reply_of(uint8_t* reply, uint32_t n) noexcept {
    if (n < k_min_frame) {
        std::memset(reply + n, 0, k_min_frame - n);
        n = k_min_frame;
    }
    return {outcome::reply, n};
}
inline uint32_t padded(uint32_t n) noexcept { return std::max(n, k_min_frame); }

result handle_arp(const uint8_t* frame, uint32_t len, const l2_header& l2, const address_config& cfg,
                  uint8_t* reply, uint32_t cap) noexcept {
    const uint8_t* a = frame + l2.len;
    if (len - l2.len < k_arp_len) [[unlikely]]
        return done(outcome::arp_malformed);
    if (load16(a) != 1 || load16(a + 2) != k_ethertype_ipv4 || a[4] != 6 || a[5] != 4) [[unlikely]]
        return done(outcome::arp_malformed);
    if (load16(a + 6) != 1) return done(outcome::arp_not_request);
    const uint8_t* tpa = a + 24;
    if (cfg.find_v4(tpa) < 0) return done(outcome::not_for_us);
    if (is_multicast_mac(a + 8)) [[unlikely]]
        return done(outcome::arp_malformed);

    uint8_t sha[6], spa[4], ours[4];
    std::memcpy(sha, a + 8, 6);
    std::memcpy(spa, a + 14, 4);
    std::memcpy(ours, tpa, 4);
    if (padded(l2.len + k_arp_len) > cap) [[unlikely]]
        return done(outcome::too_big);

    uint32_t n = write_l2(reply, l2, sha, cfg);
    uint8_t* r = reply + n;
    store16(r, 1);
    store16(r + 2, k_ethertype_ipv4);
    r[4] = 6;
    r[5] = 4;
    store16(r + 6, 2);  // reply
    std::memcpy(r + 8, cfg.mac.data(), 6);
    std::memcpy(r + 14, ours, 4);
    std::memcpy(r + 18, sha, 6);
    std::memcpy(r + 24, spa, 4);
    return reply_of(reply, n + k_arp_len);
}

result handle_ipv4(const uint8_t* frame, uint32_t len, const l2_header& l2, const address_config& cfg,
                   uint8_t* reply, uint32_t cap) noexcept {
    const uint8_t* ip = frame + l2.len;
    const uint32_t avail = len - l2.len;
    if (avail < k_ipv4_hdr || (ip[0] >> 4) != 4) return done(outcome::not_for_us);
    if (cfg.find_v4(ip + 16) < 0 || ip[9] != k_proto_icmp) return done(outcome::not_for_us);

    const uint32_t ihl = (ip[0] & 0x0fu) * 4;
    const uint32_t total = load16(ip + 2);
    if (ihl < k_ipv4_hdr || ihl > avail || total < ihl + k_icmp_echo_hdr || total > avail) [[unlikely]]
        return done(outcome::icmp_malformed);
    if ((load16(ip + 6) & 0x3fff) != 0) [[unlikely]]  // MF or fragment offset: not reassembled
        return done(outcome::icmp_malformed);
    if (!verifies(sum_bytes(ip, ihl))) [[unlikely]]
        return done(outcome::icmp_malformed);
    const uint8_t* icmp = ip + ihl;
    const uint32_t icmp_len = total - ihl;
    if (!verifies(sum_bytes(icmp, icmp_len))) [[unlikely]]
        return done(outcome::icmp_bad_checksum);
    if (icmp[0] != k_icmp_echo_request || icmp[1] != 0) return done(outcome::icmp_not_echo_request);
    // Never answer towards multicast, class E / limited broadcast or 0.0.0.0.
    const uint8_t* src = ip + 12;
    if (src[0] >= 224 || (src[0] | src[1] | src[2] | src[3]) == 0 || is_multicast_mac(l2.bytes + 6)) [[unlikely]]
        return done(outcome::icmp_malformed);

    const uint32_t out_len = l2.len + k_ipv4_hdr + icmp_len;
    if (padded(out_len) > cap) [[unlikely]]
        return done(outcome::too_big);

    uint8_t peer_mac[6], peer[4], ours[4], tos = ip[1], id[2] = {ip[4], ip[5]};
    std::memcpy(peer_mac, l2.bytes + 6, 6);
    std::memcpy(peer, src, 4);
    std::memcpy(ours, ip + 16, 4);
    // Payload (id, seq, data) first: it may move towards the front when the
    // request had IP options and reply == frame.
    uint8_t* r_ip = reply + l2.len;
    uint8_t* r_icmp = r_ip + k_ipv4_hdr;
    std::memmove(r_icmp + 4, icmp + 4, icmp_len - 4);

    write_l2(reply, l2, peer_mac, cfg);
    r_ip[0] = 0x45;  // options are not echoed back
    r_ip[1] = tos;
    store16(r_ip + 2, static_cast<uint16_t>(k_ipv4_hdr + icmp_len));
    r_ip[4] = id[0];
    r_ip[5] = id[1];
    store16(r_ip + 6, 0);
    r_ip[8] = k_reply_ttl;
    r_ip[9] = k_proto_icmp;
    store16(r_ip + 10, 0);
    std::memcpy(r_ip + 12, ours, 4);
    std::memcpy(r_ip + 16, peer, 4);
    store16(r_ip + 10, finish(sum_bytes(r_ip, k_ipv4_hdr)));

    r_icmp[0] = k_icmp_echo_reply;
    r_icmp[1] = 0;
    store16(r_icmp + 2, 0);
    store16(r_icmp + 2, finish(sum_bytes(r_icmp, icmp_len)));
    return reply_of(reply, out_len);
}

inline bool is_unspecified_v6(const uint8_t* a) noexcept {
    uint8_t acc = 0;
    for (int i = 0; i < 16; ++i) acc |= a[i];
    return acc == 0;
}

result handle_ipv6(const uint8_t* frame, uint32_t len, const l2_header& l2, const address_config& cfg,
                   uint8_t* reply, uint32_t cap) noexcept {
    const uint8_t* ip = frame + l2.len;
    const uint32_t avail = len - l2.len;
    if (avail < k_ipv6_hdr || (ip[0] >> 4) != 6) return done(outcome::not_for_us);
    const uint8_t* src = ip + 8;
    const uint8_t* dst = ip + 24;
    const bool dst_unicast = cfg.find_v6(dst) >= 0;
    if (!dst_unicast && cfg.find_solicited_node(dst) < 0) return done(outcome::not_for_us);
    // Extension headers before ICMPv6 are not walked: echo and ND never carry them in practice.
    if (ip[6] != k_proto_icmpv6) return done(outcome::not_for_us);

    const uint32_t plen = load16(ip + 4);
    if (plen < 4 || k_ipv6_hdr + plen > avail) [[unlikely]]
        return done(outcome::icmpv6_malformed);
    const uint8_t* icmp = ip + k_ipv6_hdr;
    if (!verifies(sum_bytes(icmp, plen, sum_v6_pseudo(src, dst, plen)))) [[unlikely]]
        return done(outcome::icmpv6_bad_checksum);

    const uint8_t type = icmp[0];
    if (type == k_icmpv6_echo_request) {
        if (!dst_unicast) return done(outcome::not_for_us);  // echo to our solicited-node group
        if (plen < k_icmp_echo_hdr || icmp[1] != 0 || src[0] == 0xff || is_unspecified_v6(src) ||
            is_multicast_mac(l2.bytes + 6)) [[unlikely]]
            return done(outcome::icmpv6_malformed);
        const uint32_t out_len = l2.len + k_ipv6_hdr + plen;
        if (padded(out_len) > cap) [[unlikely]]
            return done(outcome::too_big);

        uint8_t vtf[4], peer_mac[6], peer[16], ours[16];
        std::memcpy(vtf, ip, 4);  // version, traffic class, flow label: reflected
        std::memcpy(peer_mac, l2.bytes + 6, 6);
        std::memcpy(peer, src, 16);
        std::memcpy(ours, dst, 16);
        uint8_t* r_ip = reply + l2.len;
        uint8_t* r_icmp = r_ip + k_ipv6_hdr;
        if (reply != frame) std::memcpy(r_icmp + 4, icmp + 4, plen - 4);  // same offsets in place

        write_l2(reply, l2, peer_mac, cfg);
        std::memcpy(r_ip, vtf, 4);
        store16(r_ip + 4, static_cast<uint16_t>(plen));
        r_ip[6] = k_proto_icmpv6;
        r_ip[7] = k_reply_ttl;
        std::memcpy(r_ip + 8, ours, 16);
        std::memcpy(r_ip + 24, peer, 16);
        r_icmp[0] = k_icmpv6_echo_reply;
        r_icmp[1] = 0;
        store16(r_icmp + 2, 0);
        store16(r_icmp + 2, finish(sum_bytes(r_icmp, plen, sum_v6_pseudo(ours, peer, plen))));
        return reply_of(reply, out_len);
    }
    if (type != k_icmpv6_ns) return done(outcome::icmpv6_not_handled);

    // RFC 4861 7.1.1 validation.
    if (ip[7] != k_nd_hop_limit || icmp[1] != 0 || plen < k_ns_len) [[unlikely]]
        return done(outcome::icmpv6_malformed);
    const uint8_t* target = icmp + 8;
    if (target[0] == 0xff) [[unlikely]]
        return done(outcome::icmpv6_malformed);
    if (cfg.find_v6(target) < 0) return done(outcome::not_for_us);
    const uint8_t* slla = nullptr;
    for (uint32_t off = k_ns_len; off < plen;) {
        if (plen - off < 2) [[unlikely]]
            return done(outcome::icmpv6_malformed);
        const uint32_t opt_len = icmp[off + 1] * 8u;
        if (opt_len == 0 || opt_len > plen - off) [[unlikely]]
            return done(outcome::icmpv6_malformed);
        if (icmp[off] == k_nd_opt_slla && opt_len >= 8) slla = icmp + off + 2;
        off += opt_len;
    }
    if (is_unspecified_v6(src)) return done(outcome::ndp_dad_ignored);
    if (src[0] == 0xff) [[unlikely]]
        return done(outcome::icmpv6_malformed);
    // Answer to the advertised link-layer address; without one (unicast NUD
    // probe) to the frame's source, as the sender evidently has ours.
    const uint8_t* to_mac = slla != nullptr ? slla : l2.bytes + 6;
    if (is_multicast_mac(to_mac)) [[unlikely]]
        return done(outcome::icmpv6_malformed);
    const uint32_t out_len = l2.len + k_ipv6_hdr + k_na_len;
    if (padded(out_len) > cap) [[unlikely]]
        return done(outcome::too_big);

    uint8_t peer_mac[6], peer[16], ours[16];
    std::memcpy(peer_mac, to_mac, 6);
    std::memcpy(peer, src, 16);
    std::memcpy(ours, target, 16);
    write_l2(reply, l2, peer_mac, cfg);
    uint8_t* r_ip = reply + l2.len;
    uint8_t* r_icmp = r_ip + k_ipv6_hdr;
    store16(r_ip, 0x6000);
    store16(r_ip + 2, 0);
    store16(r_ip + 4, k_na_len);
    r_ip[6] = k_proto_icmpv6;
    r_ip[7] = k_nd_hop_limit;
    std::memcpy(r_ip + 8, ours, 16);  // from the target address itself
    std::memcpy(r_ip + 24, peer, 16);
    r_icmp[0] = k_icmpv6_na;
    r_icmp[1] = 0;
    store16(r_icmp + 2, 0);
    r_icmp[4] = k_na_flags;
    r_icmp[5] = r_icmp[6] = r_icmp[7] = 0;
    std::memcpy(r_icmp + 8, ours, 16);
    r_icmp[24] = k_nd_opt_tlla;
    r_icmp[25] = 1;  // in units of 8 bytes
    std::memcpy(r_icmp + 26, cfg.mac.data(), 6);
    store16(r_icmp + 2, finish(sum_bytes(r_icmp, k_na_len, sum_v6_pseudo(ours, peer, k_na_len))));
    return reply_of(reply, out_len);
}

}  // namespace

result handle(const uint8_t* frame, uint32_t len, const address_config& cfg, uint8_t* reply,
              uint32_t reply_cap) noexcept {
    if (frame == nullptr || len < k_eth_hdr) [[unlikely]]
        return done(outcome::not_for_us);
    // Unicast frames must be addressed to our MAC; multicast/broadcast are
    // filtered further by the L3 checks.
    if (!is_multicast_mac(frame) && std::memcmp(frame, cfg.mac.data(), 6) != 0)
        return done(outcome::not_for_us);

    l2_header l2;
    uint32_t off = 12;
    uint16_t et = load16(frame + off);
    for (uint32_t tags = 0; et == k_ethertype_vlan || et == k_ethertype_qinq; ++tags) {
        if (tags == k_max_tags || len < off + 2 + k_vlan_tag) return done(outcome::not_for_us);
        off += k_vlan_tag;
        et = load16(frame + off);
    }
    l2.len = off + 2;
    l2.ethertype = et;
    std::memcpy(l2.bytes, frame, l2.len);

    switch (et) {
        case k_ethertype_arp:
            return handle_arp(frame, len, l2, cfg, reply, reply_cap);
        case k_ethertype_ipv4:
            return handle_ipv4(frame, len, l2, cfg, reply, reply_cap);
        case k_ethertype_ipv6:
            return handle_ipv6(frame, len, l2, cfg, reply, reply_cap);
        default:
            return done(outcome::not_for_us);
    }
}

// ---- address_config (start-up code: may use libc parsing) ----

bool address_config::add(std::string_view ip) {
    char buf[INET6_ADDRSTRLEN + 1];
    if (ip.empty() || ip.size() >= sizeof buf) return false;
    std::memcpy(buf, ip.data(), ip.size());
    buf[ip.size()] = '\0';
    uint8_t a[16];
    if (inet_pton(AF_INET, buf, a) == 1) {
        const bool zero = (a[0] | a[1] | a[2] | a[3]) == 0;
        if (zero || a[0] >= 224) return false;  // unspecified, multicast, class E, broadcast
        if (find_v4(a) >= 0) return true;
        if (n_v4 == k_max_v4) return false;
        std::memcpy(v4[n_v4++].data(), a, 4);
        return true;
    }
    if (inet_pton(AF_INET6, buf, a) == 1) {
        if (a[0] == 0xff || is_unspecified_v6(a)) return false;
        if (find_v6(a) >= 0) return true;
        if (n_v6 == k_max_v6) return false;
        std::memcpy(v6[n_v6++].data(), a, 16);
        return true;
    }
    return false;
}

bool address_config::set_mac(std::string_view text) {
    // Exactly "xx:xx:xx:xx:xx:xx" (or '-' separated), hex digits either case.
    if (text.size() != 17) return false;
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    uint8_t m[6];
    for (int i = 0; i < 6; ++i) {
        const int hi = hex(text[i * 3]), lo = hex(text[i * 3 + 1]);
        if (hi < 0 || lo < 0) return false;
        if (i < 5 && text[i * 3 + 2] != ':' && text[i * 3 + 2] != '-') return false;
        m[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    if (is_multicast_mac(m)) return false;
    set_mac(m);
    return true;
}

int address_config::find_v4(const uint8_t* p) const noexcept {
    for (int i = 0; i < n_v4; ++i)
        if (std::memcmp(v4[i].data(), p, 4) == 0) return i;
    return -1;
}

int address_config::find_v6(const uint8_t* p) const noexcept {
    for (int i = 0; i < n_v6; ++i)
        if (std::memcmp(v6[i].data(), p, 16) == 0) return i;
    return -1;
}

int address_config::find_solicited_node(const uint8_t* p) const noexcept {
    // ff02:0000:0000:0000:0000:0001:ffXX:XXXX with XX:XXXX = low 24 bits of the address.
    static constexpr uint8_t prefix[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};
    if (std::memcmp(p, prefix, sizeof prefix) != 0) return -1;
    for (int i = 0; i < n_v6; ++i)
        if (std::memcmp(v6[i].data() + 13, p + 13, 3) == 0) return i;
    return -1;
}

}  // namespace sluice::exception
