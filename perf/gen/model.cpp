// SPDX-License-Identifier: Apache-2.0
// sluice-gen's flow model and encoders: exporters that behave like routers
// (templates first and refreshed, sequence numbers, sysUptime from a boot
// time), a traffic model (address pools per site and service, heavy-tailed
// flow sizes, a port mix, IPv4 and IPv6, sampling) and the truth of it all.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <queue>
#include <stdexcept>

#include <arpa/inet.h>

#include "perf/gen/gen.hpp"

namespace sluice::gen {

const char* proto_name(proto p) noexcept {
    switch (p) {
        case proto::v5: return "v5";
        case proto::v9: return "v9";
        case proto::ipfix: return "ipfix";
        case proto::sflow: return "sflow";
    }
    return "?";
}

const char* malformed_name(malformed m) noexcept {
    constexpr const char* n[] = {"truncated_header", "unknown_version",  "truncated_records", "set_length",
                                 "unknown_template", "sample_count", "bad_ip_checksum"};
    return n[static_cast<int>(m)];
}

const char* kind_counter(malformed m) noexcept {
    constexpr const char* n[] = {"err_truncated_header",       "err_unknown_version", "err_count_exceeds_datagram",
                                 "err_set_length",             "err_data_before_template",
                                 "err_sflow_sample_count",     "bad_ipv4_checksum"};
    return n[static_cast<int>(m)];
}

namespace {

// ---- deterministic randomness: xoshiro256** seeded through splitmix64 ----
struct rng {
    uint64_t s[4];
    explicit rng(uint64_t seed) noexcept {
        for (auto& x : s) {
            seed += 0x9e3779b97f4a7c15ull;
            uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            x = z ^ (z >> 31);
        }
    }
    static uint64_t rotl(uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
    uint64_t next() noexcept {
        const uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
        return r;
    }
    double uniform() noexcept { return double(next() >> 11) * 0x1.0p-53; }   // [0, 1)
    uint32_t below(uint32_t n) noexcept { return n == 0 ? 0 : uint32_t((next() >> 32) * n >> 32); }
    bool chance(double p) noexcept { return uniform() < p; }
    // Pareto(alpha, xm): the heavy tail of flow sizes (a few elephants, many mice).
    double pareto(double alpha, double xm) noexcept { return xm / std::pow(1.0 - uniform(), 1.0 / alpha); }
};

// ---- byte writer ----
struct buf {
    std::vector<uint8_t> v;
    void u8(uint32_t x) { v.push_back(uint8_t(x)); }
    void u16(uint32_t x) { u8(x >> 8); u8(x); }
    void u32(uint32_t x) { u16(x >> 16); u16(x); }
    void u64(uint64_t x) { u32(uint32_t(x >> 32)); u32(uint32_t(x)); }
    void raw(const void* p, std::size_t n) { auto* b = static_cast<const uint8_t*>(p); v.insert(v.end(), b, b + n); }
    void zeros(std::size_t n) { v.insert(v.end(), n, 0); }
    void pad4() { while (v.size() % 4) u8(0); }
    void put16(std::size_t at, uint32_t x) { v[at] = uint8_t(x >> 8); v[at + 1] = uint8_t(x); }
    void put32(std::size_t at, uint32_t x) { put16(at, x >> 16); put16(at + 2, x); }
    std::size_t size() const { return v.size(); }
};

// ---- the traffic model ----
constexpr uint32_t sites = 8;  // each: clients 10.<s>.0.0/16 and 2001:db8:<s>::/48, servers 172.16.<s>.0/24

struct service { uint16_t port; uint8_t proto; uint32_t weight; uint32_t mean_size; };
// A port mix like an enterprise edge: mostly web (TCP and QUIC), DNS, then a long tail.
constexpr service services[] = {
    {443, 6, 38, 900}, {80, 6, 10, 700}, {443, 17, 14, 1150}, {53, 17, 14, 90},  {123, 17, 3, 76},
    {22, 6, 3, 160},   {25, 6, 2, 620},  {993, 6, 2, 480},    {179, 6, 1, 110},  {0, 1, 3, 84},
    {0, 6, 5, 500},    {0, 17, 5, 300},  // 0: a random high port (P2P, games, RTP)
};

struct flow {
    bool v6 = false;
    uint8_t src[16]{}, dst[16]{}, nh[16]{};
    uint16_t sport = 0, dport = 0;
    uint8_t proto = 0, tos = 0, flags = 0, src_mask = 0, dst_mask = 0;
    uint32_t in_if = 0, out_if = 0, src_as = 0, dst_as = 0;
    uint64_t packets = 0, bytes = 0;
    uint64_t start_ms = 0, end_ms = 0;  // unix ms
};

void addr_v4(uint8_t* a, uint32_t x) { a[0] = uint8_t(x >> 24); a[1] = uint8_t(x >> 16); a[2] = uint8_t(x >> 8); a[3] = uint8_t(x); }

void client_addr(rng& r, uint32_t site, bool v6, uint8_t* a) {
    if (!v6) return addr_v4(a, (10u << 24) | (site << 16) | (1 + r.below(65000)));
    const uint8_t p[] = {0x20, 0x01, 0x0d, 0xb8, 0, uint8_t(site)};
    std::memcpy(a, p, 6);
    for (int i = 8; i < 16; ++i) a[i] = uint8_t(r.next());
}
void server_addr(rng& r, uint32_t site, uint32_t svc, bool v6, uint8_t* a) {
    if (!v6) return addr_v4(a, (172u << 24) | (16u << 16) | (site << 8) | (1 + svc * 16 + r.below(16)));
    const uint8_t p[] = {0x20, 0x01, 0x0d, 0xb8, 0, uint8_t(site), 0, 0x53};
    std::memcpy(a, p, 8);
    a[14] = uint8_t(svc);
    a[15] = uint8_t(1 + r.below(16));
}

uint32_t pick_service(rng& r) {
    uint32_t total = 0;
    for (auto& s : services) total += s.weight;
    uint32_t x = r.below(total);
    for (uint32_t i = 0; i < std::size(services); ++i) {
        if (x < services[i].weight) return i;
        x -= services[i].weight;
    }
    return 0;
}

// One flow as a (sampled) router sees it; now_ms: the export time.
flow draw_flow(rng& r, bool v6, uint32_t interfaces, uint64_t now_ms, uint64_t interval_ms) {
    flow f;
    f.v6 = v6;
    const uint32_t svc = pick_service(r);
    const service& s = services[svc];
    const uint32_t cs = r.below(sites), ss = (cs + 1 + r.below(sites - 1)) % sites;
    uint8_t c[16]{}, sv[16]{};
    client_addr(r, cs, v6, c);
    server_addr(r, ss, svc, v6, sv);
    const uint16_t eph = uint16_t(32768 + r.below(28232));
    const uint16_t sport_svc = s.port != 0 ? s.port : uint16_t(1024 + r.below(31744));
    f.proto = s.proto;
    const bool to_server = r.chance(0.5);
    std::memcpy(f.src, to_server ? c : sv, 16);
    std::memcpy(f.dst, to_server ? sv : c, 16);
    if (f.proto == 1) {
        f.sport = 0;
        f.dport = r.chance(0.5) ? 0x0800 : 0x0000;  // echo request / reply, type*256+code
    } else {
        f.sport = to_server ? eph : sport_svc;
        f.dport = to_server ? sport_svc : eph;
    }
    const uint32_t src_site = to_server ? cs : ss, dst_site = to_server ? ss : cs;
    f.src_as = 64512 + src_site;
    f.dst_as = 64512 + dst_site;
    f.src_mask = v6 ? 48 : (to_server ? 16 : 24);
    f.dst_mask = v6 ? 48 : (to_server ? 24 : 16);
    if (!v6) addr_v4(f.nh, (192u << 24) | (168u << 16) | (dst_site << 8) | 1);
    else { const uint8_t nh[] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, uint8_t(dst_site + 1)}; std::memcpy(f.nh, nh, 16); }
    f.in_if = 1 + src_site % interfaces;
    f.out_if = 1 + (src_site + 1 + dst_site) % interfaces;
    if (f.out_if == f.in_if) f.out_if = 1 + f.in_if % interfaces;
    f.tos = r.chance(0.1) ? 0xb8 : (r.chance(0.1) ? 0x28 : 0);
    // Heavy tail: Pareto(1.2) packets, capped where a 64-bit counter of a real
    // cache would have timed the flow out.
    f.packets = std::min<uint64_t>(uint64_t(r.pareto(1.2, 1.0)), 5000000);
    const uint32_t min_size = v6 ? 60 : 40;
    const double size = std::clamp(double(s.mean_size) * (0.5 + r.uniform()), double(min_size), 1500.0);
    f.bytes = std::max<uint64_t>(uint64_t(double(f.packets) * size), f.packets * min_size);
    if (f.proto == 6) f.flags = f.packets == 1 ? 0x02 : (r.chance(0.8) ? 0x1b : 0x18);
    f.end_ms = now_ms - r.below(uint32_t(interval_ms) + 1);
    const uint64_t dur = std::min<uint64_t>(f.packets * (5 + r.below(20)), 120000);
    f.start_ms = f.end_ms - dur;
    return f;
}

// ---- exporters ----
struct exporter {
    proto p;
    uint32_t index;
    uint32_t addr;  // IPv4, host order
    uint16_t sport, dport;
    uint32_t rate;  // 1-in-N
    uint64_t boot_ms;
    uint64_t next_ns;
    uint32_t sent = 0;
    uint32_t seq = 0;        // v5 flows, v9 packets, IPFIX records, sFlow datagrams
    uint32_t domain = 0;     // v9 source id / IPFIX observation domain / v5 engine id
    rng r;
    // sFlow: per interface the true traffic and the per-source sample sequences.
    struct sif { uint64_t pkts = 0, bytes = 0; uint32_t flow_seq = 0, ctr_seq = 0; uint64_t flow_pending = 0, ctr_pending = 0; bool flow_seen = false, ctr_seen = false; };
    std::vector<sif> ifs;
    exporter_truth* t = nullptr;
    malformed planned = malformed::count_;  // this exporter's next datagram
    bool lost_now = false;                  // the datagram being built will have a bad checksum
    uint64_t pending_lost = 0;              // sequence units lost, seen at the next well-formed datagram
    malformed prev = malformed::count_;     // the datagram before (count_: well-formed)
    bool prev_lost = false;
    uint32_t last_units = 0;                // v5/IPFIX: units of the last datagram the collector tracked
    uint32_t ctr_next = 0;                  // sFlow: first interface of the next counter datagram
};

constexpr uint16_t tid_v4 = 256, tid_v6 = 257, tid_sampling = 258, tid_ifnames = 259;
constexpr uint16_t tid_unknown = 3840;  // never defined: the unknown_template kind

uint32_t uptime_ms(const exporter& e, uint64_t now_ms) { return uint32_t(now_ms - e.boot_ms); }

void add(exporter_truth& t, const char* name, uint64_t n = 1) {
    if (n != 0) t.counters[name] += n;
}

void count_flow(exporter& e, const flow& f) {
    exporter_truth& t = *e.t;
    t.bytes += f.bytes;
    t.packets += f.packets;
    t.extrapolated_bytes += f.bytes * e.rate;
    t.extrapolated_packets += f.packets * e.rate;
    interface_truth& it = t.interfaces[f.in_if];
    it.records += 1;
    it.bytes += f.bytes;
    it.packets += f.packets;
    it.extrapolated_bytes += f.bytes * e.rate;
    it.extrapolated_packets += f.packets * e.rate;
}

std::string if_name(uint32_t i) { return "xe-0/0/" + std::to_string(i - 1); }

// ---- NetFlow v5 ----
std::vector<uint8_t> v5_datagram(exporter& e, uint64_t now_ns, uint32_t n, const std::vector<flow>& fl) {
    const uint64_t now_ms = now_ns / 1000000;
    buf b;
    b.u16(5); b.u16(n); b.u32(uptime_ms(e, now_ms));
    b.u32(uint32_t(now_ns / 1000000000)); b.u32(uint32_t(now_ns % 1000000000));
    b.u32(e.seq); b.u8(0); b.u8(e.domain);
    b.u16(e.rate > 1 ? (0x4000 | std::min<uint32_t>(e.rate, 0x3fff)) : 0);
    for (const flow& f : fl) {
        b.raw(f.src, 4); b.raw(f.dst, 4); b.raw(f.nh, 4);
        b.u16(f.in_if); b.u16(f.out_if);
        b.u32(uint32_t(f.packets)); b.u32(uint32_t(f.bytes));
        b.u32(uint32_t(f.start_ms - e.boot_ms)); b.u32(uint32_t(f.end_ms - e.boot_ms));
        b.u16(f.sport); b.u16(f.dport);
        b.u8(0); b.u8(f.flags); b.u8(f.proto); b.u8(f.tos);
        b.u16(f.src_as); b.u16(f.dst_as); b.u8(f.src_mask); b.u8(f.dst_mask); b.u16(0);
    }
    e.seq += n;
    return std::move(b.v);
}

// ---- NetFlow v9 and IPFIX share templates (same element ids below 128) ----
struct field { uint16_t id, len; };
constexpr field fields_v4_v9[] = {{1, 8},  {2, 8},  {4, 1},  {5, 1},  {6, 1},  {7, 2},  {8, 4},  {9, 1},  {10, 4},
                                  {11, 2}, {12, 4}, {13, 1}, {14, 4}, {15, 4}, {16, 4}, {17, 4}, {21, 4}, {22, 4}};
constexpr field fields_v6_v9[] = {{1, 8},  {2, 8},  {4, 1},  {5, 1},  {6, 1},  {7, 2},  {27, 16}, {29, 1}, {10, 4},
                                  {11, 2}, {28, 16}, {30, 1}, {14, 4}, {62, 16}, {16, 4}, {17, 4}, {21, 4}, {22, 4}};
// IPFIX: flowStart/EndMilliseconds (152/153) instead of sysUptime offsets; tcpControlBits 2 bytes.
constexpr field fields_v4_ipfix[] = {{1, 8},  {2, 8},  {4, 1},  {5, 1},  {6, 2},  {7, 2},  {8, 4},  {9, 1},   {10, 4},
                                     {11, 2}, {12, 4}, {13, 1}, {14, 4}, {15, 4}, {16, 4}, {17, 4}, {152, 8}, {153, 8}};
constexpr field fields_v6_ipfix[] = {{1, 8},  {2, 8},   {4, 1},  {5, 1},  {6, 2},   {7, 2},  {27, 16}, {29, 1},   {10, 4},
                                     {11, 2}, {28, 16}, {30, 1}, {14, 4}, {62, 16}, {16, 4}, {17, 4},  {152, 8}, {153, 8}};

template <std::size_t N>
constexpr uint32_t rec_len(const field (&f)[N]) { uint32_t s = 0; for (auto& x : f) s += x.len; return s; }

void put_flow(buf& b, const exporter& e, const flow& f, bool ipfix) {
    const unsigned al = f.v6 ? 16 : 4;
    b.u64(f.bytes); b.u64(f.packets); b.u8(f.proto); b.u8(f.tos);
    if (ipfix) b.u16(f.flags); else b.u8(f.flags);
    b.u16(f.sport); b.raw(f.src, al); b.u8(f.src_mask); b.u32(f.in_if);
    b.u16(f.dport); b.raw(f.dst, al); b.u8(f.dst_mask); b.u32(f.out_if);
    b.raw(f.nh, al); b.u32(f.src_as); b.u32(f.dst_as);
    if (ipfix) { b.u64(f.start_ms); b.u64(f.end_ms); }
    else { b.u32(uint32_t(f.end_ms - e.boot_ms)); b.u32(uint32_t(f.start_ms - e.boot_ms)); }
}

template <std::size_t N>
void put_template(buf& b, uint16_t id, const field (&f)[N]) {
    b.u16(id); b.u16(N);
    for (auto& x : f) { b.u16(x.id); b.u16(x.len); }
}

// Templates, options templates and options data (sampling, interface names) in
// one message, as Cisco and Juniper send them at each refresh.
std::vector<uint8_t> template_datagram(exporter& e, uint64_t now_ns, const config& cfg) {
    const bool ipfix = e.p == proto::ipfix;
    const uint64_t now_ms = now_ns / 1000000;
    buf b;
    std::size_t set;
    if (ipfix) { b.u16(10); b.u16(0); b.u32(uint32_t(now_ns / 1000000000)); b.u32(e.seq); b.u32(e.domain); }
    else { b.u16(9); b.u16(0); b.u32(uptime_ms(e, now_ms)); b.u32(uint32_t(now_ns / 1000000000)); b.u32(e.seq); b.u32(e.domain); }
    // data templates
    set = b.size(); b.u16(ipfix ? 2 : 0); b.u16(0);
    if (ipfix) { put_template(b, tid_v4, fields_v4_ipfix); put_template(b, tid_v6, fields_v6_ipfix); }
    else { put_template(b, tid_v4, fields_v4_v9); put_template(b, tid_v6, fields_v6_v9); }
    b.put16(set + 2, uint32_t(b.size() - set));
    // options templates
    set = b.size(); b.u16(ipfix ? 3 : 1); b.u16(0);
    if (ipfix) {
        // 258: scope meteringProcessId; samplingInterval, samplingAlgorithm
        b.u16(tid_sampling); b.u16(3); b.u16(1); b.u16(143); b.u16(4); b.u16(34); b.u16(4); b.u16(35); b.u16(1);
        // 259: scope ingressInterface; interfaceName (fixed 16)
        b.u16(tid_ifnames); b.u16(2); b.u16(1); b.u16(10); b.u16(4); b.u16(82); b.u16(16);
    } else {
        // 258: scope System; SAMPLING_INTERVAL, SAMPLING_ALGORITHM
        b.u16(tid_sampling); b.u16(4); b.u16(8); b.u16(1); b.u16(4); b.u16(34); b.u16(4); b.u16(35); b.u16(1);
        // 259: scope Interface; IF_NAME (16)
        b.u16(tid_ifnames); b.u16(4); b.u16(4); b.u16(2); b.u16(4); b.u16(82); b.u16(16);
    }
    b.pad4();
    b.put16(set + 2, uint32_t(b.size() - set));
    // options data: sampling
    set = b.size(); b.u16(tid_sampling); b.u16(0);
    b.u32(ipfix ? 1 : e.addr); b.u32(e.rate); b.u8(e.rate > 1 ? 1 : 0);
    b.pad4();
    b.put16(set + 2, uint32_t(b.size() - set));
    // options data: interface names
    set = b.size(); b.u16(tid_ifnames); b.u16(0);
    for (uint32_t i = 1; i <= cfg.interfaces; ++i) {
        b.u32(i);
        char name[16]{};
        const std::string n = if_name(i);
        std::memcpy(name, n.data(), std::min<std::size_t>(n.size(), 16));
        b.raw(name, 16);
        e.t->interfaces[i].name = n;
    }
    b.pad4();
    b.put16(set + 2, uint32_t(b.size() - set));
    const uint32_t opt_records = 1 + cfg.interfaces;
    exporter_truth& t = *e.t;
    add(t, "templates_learned", 2);
    add(t, "options_templates_learned", 2);
    add(t, "options_records", opt_records);
    add(t, "sampling_rates_learned", 1);
    if (ipfix) { b.put16(2, uint32_t(b.size())); e.seq += opt_records; }
    else { b.put16(2, 4 + opt_records); e.seq += 1; }
    return std::move(b.v);
}

// A data message: IPv4 and IPv6 sets as the flows come.
std::vector<uint8_t> data_datagram(exporter& e, uint64_t now_ns, const std::vector<flow>& fl) {
    const bool ipfix = e.p == proto::ipfix;
    const uint64_t now_ms = now_ns / 1000000;
    buf b;
    if (ipfix) { b.u16(10); b.u16(0); b.u32(uint32_t(now_ns / 1000000000)); b.u32(e.seq); b.u32(e.domain); }
    else { b.u16(9); b.u16(uint32_t(fl.size())); b.u32(uptime_ms(e, now_ms)); b.u32(uint32_t(now_ns / 1000000000)); b.u32(e.seq); b.u32(e.domain); }
    for (int fam = 0; fam < 2; ++fam) {
        bool any = false;
        for (const flow& f : fl) any |= (f.v6 == bool(fam));
        if (!any) continue;
        const std::size_t set = b.size();
        b.u16(fam ? tid_v6 : tid_v4); b.u16(0);
        for (const flow& f : fl) if (f.v6 == bool(fam)) put_flow(b, e, f, ipfix);
        b.pad4();
        b.put16(set + 2, uint32_t(b.size() - set));
    }
    if (ipfix) { b.put16(2, uint32_t(b.size())); e.seq += uint32_t(fl.size()); }
    else e.seq += 1;
    return std::move(b.v);
}

// ---- sFlow v5 ----
// A sampled packet's header as the agent copies it: Ethernet, IPv4/IPv6, TCP/UDP/ICMP.
void sampled_header(buf& b, const flow& f, uint32_t frame_len, uint32_t& header_len) {
    buf h;
    const uint8_t dmac[] = {0x02, 0, 0, 0, 0, 0x0a}, smac[] = {0x02, 0, 0, 0, 0, 0x0b};
    h.raw(dmac, 6); h.raw(smac, 6); h.u16(f.v6 ? 0x86dd : 0x0800);
    const uint32_t l3 = frame_len - 4 - 14;  // FCS stripped
    if (!f.v6) {
        const std::size_t at = h.size();
        h.u8(0x45); h.u8(f.tos); h.u16(l3); h.u16(0x1234); h.u16(0x4000); h.u8(64); h.u8(f.proto); h.u16(0);
        h.raw(f.src, 4); h.raw(f.dst, 4);
        uint32_t s = 0;
        for (int i = 0; i < 20; i += 2) s += (uint32_t(h.v[at + i]) << 8) | h.v[at + i + 1];
        while (s >> 16) s = (s & 0xffff) + (s >> 16);
        h.put16(at + 10, ~s & 0xffff);
    } else {
        h.u32(0x60000000u | (uint32_t(f.tos) << 20)); h.u16(l3 - 40); h.u8(f.proto == 1 ? 58 : f.proto); h.u8(64);
        h.raw(f.src, 16); h.raw(f.dst, 16);
    }
    if (f.proto == 6) { h.u16(f.sport); h.u16(f.dport); h.u32(1); h.u32(1); h.u8(0x50); h.u8(f.flags ? f.flags : 0x10); h.u16(65535); h.u32(0); }
    else if (f.proto == 17) { h.u16(f.sport); h.u16(f.dport); h.u16(l3 - (f.v6 ? 40 : 20)); h.u16(0); }
    else { h.u8(f.v6 ? 128 : 8); h.u8(0); h.u16(0); h.u32(1); }
    // Agents copy the first 128 bytes (hsflowd's default) of what is left.
    const uint32_t want = std::min<uint32_t>(128, frame_len - 4);
    if (h.size() < want) h.zeros(want - h.size());
    if (h.size() > want) h.v.resize(want);
    header_len = uint32_t(h.size());
    b.raw(h.v.data(), h.size());
    b.pad4();
}

uint32_t packet_size(rng& r, const flow& f) {
    const uint32_t avg = uint32_t(f.bytes / std::max<uint64_t>(f.packets, 1));
    const uint32_t lo = f.v6 ? 78 : 64;  // with L2 and FCS
    return std::clamp<uint32_t>(avg + 18 - 40 + r.below(81), lo, 1518);
}

// Per-source sample sequences: a sample lost with its datagram shows as a gap
// at the source's next sample that arrives; before the first one that arrives
// the collector has nothing to compare with.
void sample_seq(exporter& e, uint64_t& pending, bool& seen) {
    if (e.lost_now) { pending += 1; return; }
    if (seen) add(*e.t, "sequence_lost", pending);
    pending = 0;
    seen = true;
}

void counter_sample(buf& b, exporter& e, uint32_t ifindex) {
    exporter::sif& s = e.ifs[ifindex - 1];
    sample_seq(e, s.ctr_pending, s.ctr_seen);
    const std::size_t at = b.size();
    b.u32(2); b.u32(0);            // counters_sample, length
    b.u32(s.ctr_seq++); b.u32(ifindex); b.u32(1);
    b.u32(1); b.u32(88);            // generic interface counters
    b.u32(ifindex); b.u32(6); b.u64(10000000000ull); b.u32(1); b.u32(3);
    b.u64(s.bytes); b.u32(uint32_t(s.pkts)); b.u32(0); b.u32(0); b.u32(0); b.u32(0); b.u32(0);
    b.u64(0); b.u32(0); b.u32(0); b.u32(0); b.u32(0); b.u32(0); b.u32(0);
    b.put32(at + 4, uint32_t(b.size() - at - 8));
    interface_truth& it = e.t->interfaces[ifindex];
    it.counter_samples += 1;
    it.last_counter_bytes = s.bytes;
    it.last_counter_packets = s.pkts;
    it.name = if_name(ifindex);
}

// A flow sample: the agent's traffic on `ifindex` advances by the packets the
// sampler skipped (each of a realistic size), then one is sampled.
void flow_sample(buf& b, exporter& e, const flow& f) {
    exporter::sif& s = e.ifs[f.in_if - 1];
    sample_seq(e, s.flow_pending, s.flow_seen);
    // 1-in-N random sampling: the gap to the next sampled packet averages N.
    const uint64_t gap = e.rate <= 1 ? 1 : 1 + e.r.below(2 * e.rate - 1);
    for (uint64_t i = 1; i < gap; ++i) { s.pkts += 1; s.bytes += packet_size(e.r, f); }
    const uint32_t frame_len = packet_size(e.r, f);
    s.pkts += 1;
    s.bytes += frame_len;  // ifInOctets counts the whole frame, as frame_length does
    const std::size_t at = b.size();
    b.u32(1); b.u32(0);
    b.u32(s.flow_seq++); b.u32(f.in_if); b.u32(e.rate); b.u32(uint32_t(s.pkts)); b.u32(0);
    b.u32(f.in_if); b.u32(f.out_if); b.u32(1);
    const std::size_t rec = b.size();
    b.u32(1); b.u32(0); b.u32(1); b.u32(frame_len); b.u32(4);
    const std::size_t hl = b.size(); b.u32(0);
    uint32_t header_len = 0;
    sampled_header(b, f, frame_len, header_len);
    b.put32(hl, header_len);
    b.put32(rec + 4, uint32_t(b.size() - rec - 8));
    b.put32(at + 4, uint32_t(b.size() - at - 8));
    exporter_truth& t = *e.t;
    t.bytes += frame_len; t.packets += 1;
    t.extrapolated_bytes += uint64_t(frame_len) * e.rate; t.extrapolated_packets += e.rate;
    interface_truth& it = t.interfaces[f.in_if];
    it.records += 1; it.bytes += frame_len; it.packets += 1;
    it.extrapolated_bytes += uint64_t(frame_len) * e.rate; it.extrapolated_packets += e.rate;
}

// ---- framing ----
uint32_t csum_add(uint32_t s, const uint8_t* p, std::size_t n) {
    for (std::size_t i = 0; i + 1 < n; i += 2) s += (uint32_t(p[i]) << 8) | p[i + 1];
    if (n & 1) s += uint32_t(p[n - 1]) << 8;
    return s;
}
uint16_t csum_fold(uint32_t s) { while (s >> 16) s = (s & 0xffff) + (s >> 16); return uint16_t(~s & 0xffff); }

struct framer {
    const config& cfg;
    uint32_t collector;
    capture& cap;
    uint16_t ip_id = 1;

    void ip_frame(const exporter& e, uint64_t ts, const uint8_t* l4, std::size_t n, uint16_t frag_field,
                  uint32_t records, bool bad_csum) {
        buf b;
        b.raw(cfg.collector_mac.data(), 6);
        const uint8_t smac[] = {0x02, 0x00, 0x0a, uint8_t(e.addr >> 16), uint8_t(e.addr >> 8), uint8_t(e.addr)};
        b.raw(smac, 6); b.u16(0x0800);
        const std::size_t ip = b.size();
        b.u8(0x45); b.u8(0); b.u16(uint32_t(20 + n)); b.u16(ip_id); b.u16(frag_field); b.u8(64); b.u8(17); b.u16(0);
        b.u32(e.addr); b.u32(collector);
        uint16_t c = csum_fold(csum_add(0, b.v.data() + ip, 20));
        if (bad_csum) c ^= 0x5a5a;
        b.put16(ip + 10, c);
        b.raw(l4, n);
        frame fr; fr.ts_ns = ts; fr.bytes = std::move(b.v); fr.records = records;
        cap.frames.push_back(std::move(fr));
    }

    // One datagram: UDP with its checksum, fragmented when it exceeds the MTU.
    void send(exporter& e, uint64_t ts, const std::vector<uint8_t>& payload, uint32_t records, bool bad_csum) {
        buf u;
        u.u16(e.sport); u.u16(e.dport); u.u16(uint32_t(8 + payload.size())); u.u16(0);
        u.raw(payload.data(), payload.size());
        uint32_t s = 0;
        uint8_t ph[12];
        const uint32_t src = htonl(e.addr), dst = htonl(collector);
        std::memcpy(ph, &src, 4); std::memcpy(ph + 4, &dst, 4);
        ph[8] = 0; ph[9] = 17; ph[10] = uint8_t(u.size() >> 8); ph[11] = uint8_t(u.size());
        s = csum_add(s, ph, 12);
        s = csum_add(s, u.v.data(), u.size());
        uint16_t c = csum_fold(s);
        u.put16(6, c == 0 ? 0xffff : c);
        const std::size_t max_l4 = (cfg.mtu - 20) & ~std::size_t(7);
        e.t->frames += 1;
        if (u.size() + 20 <= cfg.mtu) {
            ip_frame(e, ts, u.v.data(), u.size(), 0x4000, records, bad_csum);
            if (bad_csum) cap.bad_ip_checksum_frames += 1;
        } else {
            uint64_t n = 0;
            for (std::size_t off = 0; off < u.size(); off += max_l4, ++n) {
                const std::size_t len = std::min(max_l4, u.size() - off);
                const bool last = off + len == u.size();
                // A bad checksum spoils every fragment: none reaches the reassembler.
                ip_frame(e, ts + n * 1000, u.v.data() + off, len, uint16_t((last ? 0 : 0x2000) | (off / 8)),
                         last ? records : 0, bad_csum);
            }
            e.t->frames += n - 1;
            if (bad_csum) {
                cap.bad_ip_checksum_frames += n;
            } else {
                e.t->fragments += n;
                e.t->fragmented_datagrams += 1;
                cap.fragments += n;
                cap.fragmented_datagrams += 1;
            }
            ++ip_id;
            return;
        }
        ++ip_id;
    }
};

// The sequence trackers accept one exporter quirk (softflowd numbers an IPFIX
// message including its own records; dataplane/decode/sequence.hpp): a gap of
// L units after a message of P, before a message of U = P + L, reads exactly
// like that convention and is taken as it. A router cannot be told apart there
// either, so after a loss the generator never builds that case: the next
// v5/IPFIX message carries one flow less.
void unambiguous(const exporter& e, std::vector<flow>& fl) {
    if (e.pending_lost != 0 && uint64_t(e.last_units) + e.pending_lost == fl.size() && fl.size() > 1) fl.pop_back();
}

uint32_t parse_v4(const std::string& s) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) throw std::invalid_argument("not an IPv4 address: " + s);
    return ntohl(a.s_addr);
}

// Flows per full datagram (payload budget: MTU minus IP and UDP headers).
uint32_t fill_flows(exporter& e, const config& cfg, uint64_t now_ms, std::vector<flow>& out, std::size_t budget,
                    bool big) {
    out.clear();
    const bool v5 = e.p == proto::v5;
    const std::size_t header = v5 ? 24 : (e.p == proto::ipfix ? 16 : 20);
    std::size_t used = header + 8;  // room for two set headers
    const uint32_t cap = v5 ? 30 : 4000;
    // Most datagrams are full (a busy cache); some are flushed early.
    const double fill = big ? 1.0 : (e.r.chance(0.7) ? 1.0 : 0.2 + 0.8 * e.r.uniform());
    const std::size_t target = std::size_t(double(budget) * fill);
    const uint64_t interval_ms = std::max<uint64_t>(cfg.interval_us / 1000, 1);
    while (out.size() < cap) {
        const bool v6 = !v5 && e.r.chance(cfg.ipv6_share);
        const std::size_t len = v5 ? 48 : (e.p == proto::ipfix ? (v6 ? rec_len(fields_v6_ipfix) : rec_len(fields_v4_ipfix))
                                                             : (v6 ? rec_len(fields_v6_v9) : rec_len(fields_v4_v9)));
        if (used + len + 3 > target) break;
        used += len;
        flow f = draw_flow(e.r, v6, cfg.interfaces, now_ms, interval_ms);
        if (e.rate > 1) {
            // A sampled cache only counts the packets it sampled.
            f.packets = std::max<uint64_t>(1, f.packets / e.rate);
            f.bytes = std::max<uint64_t>(f.bytes / e.rate, f.packets * (v6 ? 60 : 40));
        }
        out.push_back(f);
    }
    if (out.empty()) out.push_back(draw_flow(e.r, false, cfg.interfaces, now_ms, interval_ms));
    return uint32_t(out.size());
}

}  // namespace

capture generate(const config& cfg) {
    const uint32_t total = cfg.v5_exporters + cfg.v9_exporters + cfg.ipfix_exporters + cfg.sflow_exporters;
    if (total == 0) throw std::invalid_argument("no exporters");
    if (total > 60000) throw std::invalid_argument("at most 60000 exporters");
    if (cfg.mtu < 576 || cfg.mtu > 9000) throw std::invalid_argument("--mtu must be 576..9000");
    if (cfg.interfaces == 0 || cfg.interfaces > 1000) throw std::invalid_argument("--interfaces must be 1..1000");
    if (cfg.sflow_interfaces == 0 || cfg.sflow_interfaces > 1000) throw std::invalid_argument("--sflow-interfaces must be 1..1000");
    if (cfg.sampling == 0 || cfg.sampling > 16383) throw std::invalid_argument("--sampling must be 1..16383");
    if (cfg.template_refresh == 0) throw std::invalid_argument("--template-refresh must be at least 1");
    capture cap;
    cap.exporters.resize(total);
    const uint32_t collector = parse_v4(cfg.collector);
    framer fr{cfg, collector, cap};
    std::vector<exporter> ex;
    ex.reserve(total);
    rng master(cfg.seed);
    const uint64_t start_ns = cfg.start_unix_s * 1000000000ull;
    const proto order[] = {proto::v5, proto::v9, proto::ipfix, proto::sflow};
    const uint32_t per[] = {cfg.v5_exporters, cfg.v9_exporters, cfg.ipfix_exporters, cfg.sflow_exporters};
    const uint8_t second_octet[] = {105, 109, 110, 106};  // 10.105 v5, 10.109 v9, 10.110 IPFIX, 10.106 sFlow
    for (int k = 0; k < 4; ++k)
        for (uint32_t i = 0; i < per[k]; ++i) {
            const uint64_t seed = master.next();
            exporter e{order[k], i, (10u << 24) | (uint32_t(second_octet[k]) << 16) | ((i / 254) << 8) | (1 + i % 254),
                       0, 0, 1, 0, 0, 0, 0, 0, rng(seed), {}, nullptr, malformed::count_, false, 0};
            e.sport = uint16_t(order[k] == proto::sflow ? 50000 + i % 1000 : 40000 + i % 1000);
            e.dport = order[k] == proto::v5 ? cfg.port_v5 : order[k] == proto::v9 ? cfg.port_v9
                    : order[k] == proto::ipfix ? cfg.port_ipfix : cfg.port_sflow;
            e.rate = (order[k] == proto::sflow || (i % 2) == 1) ? cfg.sampling : 1;
            // Up between one hour and 40 days; exporters start spread over one interval.
            e.boot_ms = start_ns / 1000000 - 3600000 - e.r.below(40u * 86400000u);
            e.next_ns = start_ns + e.r.below(uint32_t(std::max<uint64_t>(cfg.interval_us, 1))) * 1000ull;
            e.domain = order[k] == proto::v5 ? 0 : 1 + i % 8;
            e.seq = e.r.below(1u << 20);  // not a fresh boot
            e.ifs.resize(cfg.sflow_interfaces);
            exporter_truth& t = cap.exporters[ex.size()];
            char a[INET_ADDRSTRLEN];
            const uint32_t na = htonl(e.addr);
            inet_ntop(AF_INET, &na, a, sizeof a);
            t.address = a; t.version = e.p; t.src_port = e.sport; t.dst_port = e.dport; t.sampling_rate = e.rate;
            e.t = &t;
            ex.push_back(std::move(e));
        }

    // Exporters send in time order.
    auto later = [&](uint32_t a, uint32_t b) { return ex[a].next_ns > ex[b].next_ns || (ex[a].next_ns == ex[b].next_ns && a > b); };
    std::priority_queue<uint32_t, std::vector<uint32_t>, decltype(later)> q(later);
    for (uint32_t i = 0; i < total; ++i) q.push(i);
    std::vector<flow> fl;
    const std::size_t budget = cfg.mtu - 28;
    const uint64_t interval_ms = std::max<uint64_t>(cfg.interval_us / 1000, 1);
    // Malformed kinds are planned one datagram ahead, so that a datagram lost
    // to a bad checksum is always followed by a well-formed one, which is where
    // the collector sees the gap in the sequence numbers.
    auto plan = [&](exporter& e, uint32_t k) {
        const bool tmpl = (e.p == proto::v9 || e.p == proto::ipfix) && k % cfg.template_refresh == 0;
        if (tmpl || k < 2 || k + 1 >= cfg.datagrams || !e.r.chance(cfg.malformed_share)) return malformed::count_;
        static constexpr malformed v5k[] = {malformed::truncated_header, malformed::unknown_version, malformed::truncated_records};
        static constexpr malformed v9k[] = {malformed::truncated_header, malformed::unknown_version, malformed::set_length, malformed::unknown_template};
        static constexpr malformed ipk[] = {malformed::truncated_header, malformed::set_length, malformed::unknown_template};
        static constexpr malformed sfk[] = {malformed::truncated_header, malformed::sample_count};
        switch (e.p) {
            case proto::v5: return v5k[e.r.below(3)];
            case proto::v9: return v9k[e.r.below(4)];
            case proto::ipfix: return ipk[e.r.below(3)];
            case proto::sflow: return sfk[e.r.below(2)];
        }
        return malformed::count_;
    };
    for (auto& e : ex) e.planned = plan(e, 0);
    while (!q.empty()) {
        const uint32_t idx = q.top();
        q.pop();
        exporter& e = ex[idx];
        exporter_truth& t = *e.t;
        const uint64_t now = e.next_ns;
        const uint64_t now_ms = now / 1000000;
        const bool last = e.sent + 1 == cfg.datagrams;
        const malformed kind = e.planned;
        e.planned = plan(e, e.sent + 1);
        // Never a new exporter's first two datagrams (the first must validate),
        // never the last, never next to a malformed one.
        const bool may_break = e.sent >= 2 && !last;
        const bool tmpl = (e.p == proto::v9 || e.p == proto::ipfix) && e.sent % cfg.template_refresh == 0;
        // A lost datagram sits between two well-formed ones, and is not followed
        // by a template datagram (whose size cannot bend, see below).
        const bool next_tmpl = (e.p == proto::v9 || e.p == proto::ipfix) && (e.sent + 1) % cfg.template_refresh == 0;
        const bool bad_csum = may_break && kind == malformed::count_ && e.planned == malformed::count_ &&
                              (e.prev == malformed::count_ || e.prev_lost) && !next_tmpl &&
                              e.r.chance(cfg.bad_checksum_share);
        // A datagram with a bad checksum never reaches a decoder: what its
        // encoding counts is rolled back, only its sequence gap remains.
        exporter_truth backup;
        if (bad_csum) backup = t;
        e.lost_now = bad_csum;
        const uint32_t seq_before = e.seq;
        std::vector<uint8_t> payload;
        uint32_t flows = 0, counters = 0;
        if (kind == malformed::truncated_header) {
            buf b;
            if (e.p == proto::sflow) { b.u32(5); b.u32(1); b.u32(e.addr); }
            else { b.u16(e.p == proto::v5 ? 5 : e.p == proto::v9 ? 9 : 10); b.u16(1); b.u32(uptime_ms(e, now_ms)); b.u32(uint32_t(now / 1000000000)); }
            payload = std::move(b.v);
        } else if (kind == malformed::unknown_version) {
            buf b;
            b.u16(99); b.u16(1); b.zeros(44);
            payload = std::move(b.v);
        } else if (kind == malformed::truncated_records) {
            // A full v5 datagram cut in transit after 10 of its 30 records: the
            // router counted 30 in its sequence, the collector decodes 10.
            fl.clear();
            for (int i = 0; i < 30; ++i) {
                flow f = draw_flow(e.r, false, cfg.interfaces, now_ms, interval_ms);
                if (e.rate > 1) { f.packets = std::max<uint64_t>(1, f.packets / e.rate); f.bytes = std::max<uint64_t>(f.bytes / e.rate, f.packets * 40); }
                fl.push_back(f);
            }
            payload = v5_datagram(e, now, 30, fl);
            payload.resize(24 + 10 * 48);
            for (int i = 0; i < 10; ++i) count_flow(e, fl[std::size_t(i)]);
            flows = 10;
        } else if (kind == malformed::set_length || kind == malformed::unknown_template) {
            const bool ipfix = e.p == proto::ipfix;
            buf b;
            if (ipfix) { b.u16(10); b.u16(0); b.u32(uint32_t(now / 1000000000)); b.u32(e.seq); b.u32(e.domain); }
            else { b.u16(9); b.u16(1); b.u32(uptime_ms(e, now_ms)); b.u32(uint32_t(now / 1000000000)); b.u32(e.seq); b.u32(e.domain); }
            if (kind == malformed::set_length) { b.u16(tid_v4); b.u16(400); b.zeros(44); }  // 400 bytes claimed, 48 there
            else { b.u16(tid_unknown); b.u16(4 + 64); b.zeros(64); }
            if (ipfix) b.put16(2, uint32_t(b.size()));
            else e.seq += 1;  // v9 numbers packets; IPFIX numbers records (none decodable here)
            payload = std::move(b.v);
        } else if (tmpl) {
            payload = template_datagram(e, now, cfg);
        } else if (e.p == proto::v5) {
            flows = fill_flows(e, cfg, now_ms, fl, budget, false);
            unambiguous(e, fl);
            flows = uint32_t(fl.size());
            payload = v5_datagram(e, now, flows, fl);
            for (const flow& f : fl) count_flow(e, f);
        } else if (e.p == proto::v9 || e.p == proto::ipfix) {
            const bool big = !bad_csum && may_break && e.planned == malformed::count_ && e.r.chance(cfg.fragment_share);
            flows = fill_flows(e, cfg, now_ms, fl, big ? budget * (2 + e.r.below(2)) : budget, big);
            if (e.p == proto::ipfix) unambiguous(e, fl);
            flows = uint32_t(fl.size());
            payload = data_datagram(e, now, fl);
            for (const flow& f : fl) count_flow(e, f);
        } else {
            // sFlow: flow samples; counter samples for every interface (as many
            // as fit) every Nth datagram and in the last one.
            buf b;
            b.u32(5); b.u32(1); b.u32(e.addr); b.u32(0); b.u32(e.seq++); b.u32(uptime_ms(e, now_ms)); b.u32(0);
            const bool with_counters = last || (e.sent % cfg.sflow_counter_every) == 0;
            const uint32_t nflow = with_counters ? 2 : 3 + e.r.below(5);
            // A flow sample takes at most 200 bytes (128 of header): agents fill up to the MTU.
            for (uint32_t i = 0; i < nflow && (i == 0 || b.size() + 200 <= budget); ++i) {
                flow f = draw_flow(e.r, e.r.chance(cfg.ipv6_share), cfg.sflow_interfaces, now_ms, interval_ms);
                flow_sample(b, e, f);
                ++flows;
            }
            // As many interfaces as fit, going round when they do not all fit.
            if (with_counters)
                for (uint32_t k = 0; k < cfg.sflow_interfaces && b.size() + 100 <= budget; ++k) {
                    counter_sample(b, e, 1 + e.ctr_next);
                    e.ctr_next = (e.ctr_next + 1) % cfg.sflow_interfaces;
                    ++counters;
                }
            b.put32(24, flows + counters + (kind == malformed::sample_count ? 3 : 0));
            payload = std::move(b.v);
        }
        if (bad_csum) {
            t = backup;
            t.malformed[static_cast<std::size_t>(malformed::bad_ip_checksum)] += 1;  // a frame counter, not a decode one
            // The collector will see the gap at this stream's next datagram
            // (v5 flows, v9 packets, IPFIX data records, sFlow datagrams).
            e.pending_lost += e.seq - seq_before;
        } else {
            if (kind != malformed::count_) {
                t.malformed[static_cast<std::size_t>(kind)] += 1;
                add(t, kind_counter(kind));
            } else {
                add(t, "sequence_lost", e.pending_lost);
                e.pending_lost = 0;
            }
            add(t, "datagrams");
            add(t, "datagram_bytes", payload.size());
            add(t, "flow_records", flows);
            add(t, "counter_records", counters);
            if (kind == malformed::count_ || kind == malformed::truncated_records)
                e.last_units = e.seq - seq_before;
        }
        e.prev = kind;
        e.prev_lost = bad_csum;
        fr.send(e, now, payload, bad_csum ? 0 : flows + counters, bad_csum);
        e.sent += 1;
        if (e.sent < cfg.datagrams) {
            e.next_ns = now + cfg.interval_us * 1000;
            q.push(idx);
        }
    }
    // sFlow: the agents' true traffic per interface (the last datagram's counter samples say the same).
    for (auto& e : ex)
        if (e.p == proto::sflow)
            for (uint32_t i = 1; i <= cfg.sflow_interfaces; ++i) {
                interface_truth& it = e.t->interfaces[i];  // (created if no counter sample of it got through)
                it.true_bytes = e.ifs[i - 1].bytes;
                it.true_packets = e.ifs[i - 1].pkts;
                it.name = if_name(i);
            }
    return cap;
}

}  // namespace sluice::gen
