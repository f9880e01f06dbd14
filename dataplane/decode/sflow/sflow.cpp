// SPDX-License-Identifier: Apache-2.0
// sFlow v5 decoder: datagram header, samples walked by their own lengths, one
// normalized record per flow sample and per generic interface counter record.
#include "sflow.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <new>

#include "../decoder.hpp"
#include "../wire.hpp"
#include "sampled_header.hpp"

namespace sluice::decode {

using namespace sflow;

void sflow_state_deleter::operator()(sflow_state* s) const noexcept { delete s; }

int sflow_state::agent(const uint8_t addr[16], uint32_t sub_agent_id) noexcept {
    for (uint32_t i = 0; i < agents_used; ++i)
        if (agents[i].sub_agent_id == sub_agent_id && std::memcmp(agents[i].addr, addr, 16) == 0)
            return static_cast<int>(i);
    if (agents_used == max_agents) [[unlikely]]
        return -1;
    agent_slot& a = agents[agents_used];
    std::memcpy(a.addr, addr, 16);
    a.sub_agent_id = sub_agent_id;
    return static_cast<int>(agents_used++);
}

sequence_tracker* sflow_state::source(int agent, sample_kind kind, uint32_t type, uint32_t index) noexcept {
    const uint64_t key = (uint64_t(type) << 32 | index) ^ (uint64_t(agent) << 56) ^ (uint64_t(kind) << 63);
    constexpr uint32_t mask = source_slots - 1;
    constexpr int shift = 64 - std::countr_zero(source_slots);
    uint32_t i = static_cast<uint32_t>((key * 0x9e3779b97f4a7c15ull) >> shift);
    // Terminates: at most max_sources of the source_slots (> max_sources) are used.
    for (;; i = (i + 1) & mask) {
        source_slot& s = sources[i];
        if (!s.used) break;
        if (s.index == index && s.type == type && s.agent == agent && s.kind == kind) return &s.seq;
    }
    if (sources_used == max_sources) [[unlikely]]
        return nullptr;
    source_slot& s = sources[i];
    s.type = type;
    s.index = index;
    s.agent = static_cast<uint8_t>(agent);
    s.kind = kind;
    s.used = true;
    ++sources_used;
    return &s.seq;
}

namespace {

constexpr uint16_t etype_ipv4 = 0x0800;
constexpr uint16_t etype_ipv6 = 0x86dd;
constexpr uint32_t bps_per_mbps = 1000000;

// Everything one datagram's samples share.
struct datagram_ctx {
    const datagram_meta& meta;
    exporter_state& exporter;
    counter_block& c;
    record_buffer& out;
    sflow_state* state;  // nullptr if it could not be allocated: no sequence tracking
    int agent;           // slot in state->agents, -1 = not tracked
    uint8_t agent_addr[16];
    uint32_t sub_agent_id;
    uint32_t sequence;
    bool rejected = false;  // some err_* counter was incremented

    void reject(counter k, uint64_t n = 1) noexcept {
        c.add(k, n);
        rejected = true;
    }

    void track(sample_kind kind, uint32_t type, uint32_t index, uint32_t seq) noexcept {
        if (agent < 0) return;
        if (sequence_tracker* t = state->source(agent, kind, type, index))
            t->observe(seq, 1, c);
        else
            c.add(counter::dev_untracked_sequence);
    }
};

// Interface values (sFlow v5, flow_sample input/output): kept as exported,
// with their format. Format 0 is an ifIndex (0 = unknown) except for
// 0x3FFFFFFF, the device itself; 1 a discarded packet (value = reason); 2
// several output interfaces (value = their count). The compact form packs
// the format into the top two bits; the expanded form has its own word. A
// reserved format (3, or above in the expanded form) is counted and leaves
// the interface 0.
struct interface_value {
    uint32_t value;
    if_format format;
};
inline interface_value decode_interface(uint32_t format, uint32_t value, counter_block& c) noexcept {
    switch (format) {
        case if_format_index:
            return {value, value == if_unknown ? if_format::local : if_format::ifindex};
        case if_format_discarded: return {value, if_format::discarded};
        case if_format_multiple: return {value, if_format::multiple};
        default: c.add(counter::dev_unknown_sflow_format); return {0, if_format::ifindex};
    }
}
inline interface_value compact_interface(uint32_t v, counter_block& c) noexcept {
    return decode_interface(v >> 30, v & if_value_mask, c);
}

inline bool is_standard(uint32_t data_format) noexcept { return (data_format >> 12) == enterprise_standard; }

// An XDR address (type + 0/4/16 bytes) at p with len bytes available.
enum class address_result : uint8_t { ok, truncated, bad_type };
address_result read_address(const uint8_t* p, uint32_t len, uint8_t out[16], uint32_t& consumed) noexcept {
    if (len < 4) [[unlikely]]
        return address_result::truncated;
    switch (wire::be32(p)) {
        case address_unknown:
            std::memset(out, 0, 16);
            consumed = 4;
            return address_result::ok;
        case address_ipv4:
            if (len < 8) [[unlikely]]
                return address_result::truncated;
            set_ipv4(out, p + 4);
            consumed = 8;
            return address_result::ok;
        case address_ipv6:
            if (len < 20) [[unlikely]]
                return address_result::truncated;
            set_ipv6(out, p + 4);
            consumed = 20;
            return address_result::ok;
        default: return address_result::bad_type;
    }
}

// What a flow sample's records contributed, applied once all are read so the
// raw header wins over the fallbacks whatever the record order.
struct flow_parts {
    const uint8_t* ethernet = nullptr;  // sampled_ethernet body (24 bytes)
    const uint8_t* ipv4 = nullptr;      // sampled_ipv4 body (32 bytes)
    const uint8_t* ipv6 = nullptr;      // sampled_ipv6 body (56 bytes)
    bool have_header = false;
    bool have_router = false;      // extended router: its next hop is the record's next_hop
    bool have_bgp_next_hop = false;
    uint16_t switch_vlan = 0;
    uint8_t bgp_next_hop[16];      // extended gateway: next_hop too when no router record
};

enum class walk : uint8_t { next, stop };  // stop: the rest of the sample is dropped

walk flow_record_raw_header(datagram_ctx& x, const uint8_t* d, uint32_t len, flow_record& f, flow_parts& parts) noexcept {
    if (len < raw_header_fixed) [[unlikely]] {
        x.reject(counter::err_sflow_length);
        return walk::stop;
    }
    const uint32_t header_len = wire::be32(d + 12);
    if (header_len > len - raw_header_fixed) [[unlikely]] {
        x.reject(counter::err_sflow_length);
        return walk::stop;
    }
    if (parts.have_header) return walk::next;  // one per sample in practice; the first one wins
    parts.have_header = true;
    // frame_length: the sampled frame's original length, L2 header (and FCS) included.
    f.bytes = wire::be32(d + 4);
    if (x.out.headers != nullptr) [[unlikely]]  // f is the slot x.out.next() gave
        x.out.headers[&f - x.out.data] = {d + raw_header_fixed, header_len};
    switch (parse_sampled_header(wire::be32(d), {d + raw_header_fixed, header_len}, f)) {
        case header_status::ok: break;
        case header_status::truncated:
        case header_status::malformed: x.reject(counter::err_sflow_header_parse); break;
        case header_status::unsupported: x.c.add(counter::dev_unknown_sflow_format); break;
    }
    return walk::next;
}

walk flow_record_gateway(datagram_ctx& x, const uint8_t* d, uint32_t len, flow_record& f,
                         flow_parts& parts) noexcept {
    uint32_t off = 0;
    switch (read_address(d, len, parts.bgp_next_hop, off)) {
        case address_result::ok: break;
        case address_result::truncated: x.reject(counter::err_sflow_length); return walk::stop;
        case address_result::bad_type: x.reject(counter::err_sflow_address_type); return walk::next;
    }
    // as, src_as, src_peer_as, number of dst_as_path segments
    if (len - off < 16) [[unlikely]] {
        x.reject(counter::err_sflow_length);
        return walk::stop;
    }
    const uint32_t router_as = wire::be32(d + off);
    const uint32_t src_as = wire::be32(d + off + 4);
    const uint32_t segments = wire::be32(d + off + 12);
    off += 16;
    uint32_t last_as = 0, first_as = 0;
    bool path_empty = true;
    // Bounded by the bytes: every segment takes at least 8 of them.
    for (uint32_t s = 0; s < segments; ++s) {
        if (len - off < 8) [[unlikely]] {
            x.reject(counter::err_sflow_length);
            return walk::stop;
        }
        const uint64_t n = wire::be32(d + off + 4);  // segment type at +0 (set / sequence) is not needed
        off += 8;
        if (n * 4 > len - off) [[unlikely]] {
            x.reject(counter::err_sflow_length);
            return walk::stop;
        }
        if (n != 0) {
            if (path_empty) first_as = wire::be32(d + off);
            last_as = wire::be32(d + off + (n - 1) * 4);
            path_empty = false;
        }
        off += static_cast<uint32_t>(n * 4);
    }
    // Communities and local_pref follow; nothing in the record holds them.
    parts.have_bgp_next_hop = true;
    std::memcpy(f.bgp_next_hop, parts.bgp_next_hop, 16);
    // The neighbouring AS the packet leaves to: the first AS of the path
    // (goflow2's reading); 0 when the path is empty (the router's own AS).
    f.next_hop_as = first_as;
    f.src_as = src_as;
    // An empty AS path means the destination is in the router's own AS.
    f.dst_as = path_empty ? router_as : last_as;
    return walk::next;
}

// One flow record of a flow sample.
walk flow_record_one(datagram_ctx& x, uint32_t format, const uint8_t* d, uint32_t len, flow_record& f,
                     flow_parts& parts) noexcept {
    if (!is_standard(format)) [[unlikely]] {
        x.c.add(counter::dev_unknown_sflow_format);
        return walk::next;
    }
    format &= 0xfff;
    switch (format) {
        case flow_raw_header: return flow_record_raw_header(x, d, len, f, parts);
        case flow_ethernet:
        case flow_ipv4:
        case flow_ipv6: {
            const uint32_t need = format == flow_ethernet ? ethernet_size : format == flow_ipv4 ? ipv4_data_size : ipv6_data_size;
            if (len < need) [[unlikely]] {
                x.reject(counter::err_sflow_length);
                return walk::stop;
            }
            if (format == flow_ethernet)
                parts.ethernet = d;
            else if (format == flow_ipv4)
                parts.ipv4 = d;
            else
                parts.ipv6 = d;
            return walk::next;
        }
        case flow_ext_switch:
            if (len < ext_switch_size) [[unlikely]] {
                x.reject(counter::err_sflow_length);
                return walk::stop;
            }
            // src_vlan, src_priority, dst_vlan, dst_priority
            parts.switch_vlan = wire::be32(d) & 0x0fff;  // src_vlan: the frame's VLAN on ingress
            f.src_vlan = parts.switch_vlan;
            f.dst_vlan = static_cast<uint16_t>(wire::be32(d + 8) & 0x0fff);
            return walk::next;
        case flow_ext_router: {
            uint32_t off = 0;
            switch (read_address(d, len, f.next_hop, off)) {
                case address_result::ok: break;
                case address_result::truncated: x.reject(counter::err_sflow_length); return walk::stop;
                case address_result::bad_type: x.reject(counter::err_sflow_address_type); return walk::next;
            }
            parts.have_router = true;
            if (len - off < 8) [[unlikely]] {
                x.reject(counter::err_sflow_length);
                return walk::stop;
            }
            f.src_net = static_cast<uint8_t>(std::min(wire::be32(d + off), 128u));
            f.dst_net = static_cast<uint8_t>(std::min(wire::be32(d + off + 4), 128u));
            return walk::next;
        }
        case flow_ext_gateway: return flow_record_gateway(x, d, len, f, parts);
        default:
            if (!is_known_flow_format(format)) [[unlikely]]
                x.c.add(counter::dev_unknown_sflow_format);
            return walk::next;
    }
}

// Fallbacks for samples without a raw packet header record.
void apply_parts(const flow_parts& parts, flow_record& f) noexcept {
    if (!parts.have_header) {
        if (parts.ethernet) {
            f.bytes = wire::be32(parts.ethernet);  // MAC frame length, FCS included
            f.etype = static_cast<uint16_t>(wire::be32(parts.ethernet + 20));
        }
        if (const uint8_t* d = parts.ipv4) {
            if (!parts.ethernet) f.bytes = wire::be32(d);  // IP packet length
            f.etype = etype_ipv4;
            f.proto = static_cast<uint8_t>(wire::be32(d + 4));
            set_ipv4(f.src_addr, d + 8);
            set_ipv4(f.dst_addr, d + 12);
            f.src_port = static_cast<uint16_t>(wire::be32(d + 16));
            f.dst_port = static_cast<uint16_t>(wire::be32(d + 20));
            f.tcp_flags = static_cast<uint8_t>(wire::be32(d + 24));
            f.ip_tos = static_cast<uint8_t>(wire::be32(d + 28));
        } else if (const uint8_t* d6 = parts.ipv6) {
            if (!parts.ethernet) f.bytes = wire::be32(d6);
            f.etype = etype_ipv6;
            f.proto = static_cast<uint8_t>(wire::be32(d6 + 4));
            set_ipv6(f.src_addr, d6 + 8);
            set_ipv6(f.dst_addr, d6 + 24);
            f.src_port = static_cast<uint16_t>(wire::be32(d6 + 40));
            f.dst_port = static_cast<uint16_t>(wire::be32(d6 + 44));
            f.tcp_flags = static_cast<uint8_t>(wire::be32(d6 + 48));
            f.ip_tos = static_cast<uint8_t>(wire::be32(d6 + 52));
        }
    }
    if (f.vlan_id == 0) f.vlan_id = parts.switch_vlan;
    // docs/record.md: next_hop is the IP next hop, or the BGP next hop when
    // only that is exported.
    if (!parts.have_router && parts.have_bgp_next_hop) std::memcpy(f.next_hop, parts.bgp_next_hop, 16);
}

void decode_flow_sample(datagram_ctx& x, const uint8_t* b, uint32_t len, bool expanded) noexcept {
    const uint32_t fixed = expanded ? flow_sample_expanded_fixed : flow_sample_fixed;
    if (len < fixed) [[unlikely]] {
        x.reject(counter::err_sflow_length);
        return;
    }
    const uint32_t seq = wire::be32(b);
    uint32_t type, index, rate, records;
    interface_value in_if, out_if;
    if (expanded) {
        type = wire::be32(b + 4);
        index = wire::be32(b + 8);
        rate = wire::be32(b + 12);
        // sample_pool at +16, drops at +20: cumulative agent totals, not per-record data
        in_if = decode_interface(wire::be32(b + 24), wire::be32(b + 28), x.c);
        out_if = decode_interface(wire::be32(b + 32), wire::be32(b + 36), x.c);
        records = wire::be32(b + 40);
    } else {
        const uint32_t source_id = wire::be32(b + 4);
        type = source_id >> 24;
        index = source_id & 0x00ffffff;
        rate = wire::be32(b + 8);
        // sample_pool at +12, drops at +16
        in_if = compact_interface(wire::be32(b + 20), x.c);
        out_if = compact_interface(wire::be32(b + 24), x.c);
        records = wire::be32(b + 28);
    }
    x.track(sample_kind::flow, type, index, seq);

    flow_record* f = x.out.next();
    if (f == nullptr) [[unlikely]] {
        x.reject(x.out.full_cause);
        return;
    }
    std::memcpy(f->sampler_address, x.agent_addr, 16);
    f->packets = 1;
    f->time_flow_start_ns = x.meta.time_received_ns;
    f->time_flow_end_ns = x.meta.time_received_ns;
    f->time_received_ns = x.meta.time_received_ns;
    f->sampling_rate = rate;
    f->sequence_num = x.sequence;
    f->observation_domain_id = x.sub_agent_id;
    f->in_if = in_if.value;
    f->out_if = out_if.value;
    f->in_if_format = in_if.format;
    f->out_if_format = out_if.format;
    f->direction = flow_direction::unknown;
    f->type = flow_type::sflow_5;
    f->kind = record_kind::flow;
    f->export_version = 5;
    f->flags = record_flags::times_from_export;

    // The record is emitted even when a later flow record is broken: what was
    // read from whole records before it is sound.
    flow_parts parts;
    const uint8_t* r = b + fixed;
    uint32_t left = len - fixed;
    for (uint32_t i = 0; i < records; ++i) {
        if (left < tlv_header_size) [[unlikely]] {  // record count larger than the sample
            x.reject(counter::err_sflow_length);
            break;
        }
        const uint32_t format = wire::be32(r);
        const uint32_t rlen = wire::be32(r + 4);
        if (rlen > left - tlv_header_size) [[unlikely]] {
            x.reject(counter::err_sflow_length);
            break;
        }
        const uint8_t* d = r + tlv_header_size;
        r = d + rlen;
        left -= tlv_header_size + rlen;
        if (flow_record_one(x, format, d, rlen, *f, parts) == walk::stop) [[unlikely]]
            break;
    }
    apply_parts(parts, *f);
    x.exporter.apply_sampling(*f);
    x.c.add(counter::flow_records);
}

void emit_interface_counters(datagram_ctx& x, const uint8_t* d) noexcept {
    flow_record* f = x.out.next();
    if (f == nullptr) [[unlikely]] {
        x.reject(x.out.full_cause);
        return;
    }
    std::memcpy(f->sampler_address, x.agent_addr, 16);
    f->in_if = wire::be32(d + gi_index);
    f->if_speed_mbps = static_cast<uint32_t>(std::min<uint64_t>(wire::be64(d + gi_speed) / bps_per_mbps, UINT32_MAX));
    f->bytes = wire::be64(d + gi_in_octets);
    f->packets = uint64_t(wire::be32(d + gi_in_ucast)) + wire::be32(d + gi_in_mcast) + wire::be32(d + gi_in_bcast);
    f->if_in_discards = wire::be32(d + gi_in_discards);
    f->if_in_errors = wire::be32(d + gi_in_errors);
    f->if_out_bytes = wire::be64(d + gi_out_octets);
    f->if_out_packets =
        uint64_t(wire::be32(d + gi_out_ucast)) + wire::be32(d + gi_out_mcast) + wire::be32(d + gi_out_bcast);
    f->if_out_discards = wire::be32(d + gi_out_discards);
    f->if_out_errors = wire::be32(d + gi_out_errors);
    // ifDirection: 0 unknown, 1 full-duplex, 2 half-duplex, 3 in, 4 out.
    // Only the one-way values say anything about a direction.
    switch (wire::be32(d + gi_direction)) {
        case 3: f->direction = flow_direction::ingress; break;
        case 4: f->direction = flow_direction::egress; break;
        default: f->direction = flow_direction::unknown; break;
    }
    f->time_flow_start_ns = x.meta.time_received_ns;
    f->time_flow_end_ns = x.meta.time_received_ns;
    f->time_received_ns = x.meta.time_received_ns;
    f->sampling_rate = 0;  // counters are not sampled; the sampling override does not apply
    f->sequence_num = x.sequence;
    f->observation_domain_id = x.sub_agent_id;
    f->type = flow_type::sflow_5;
    f->kind = record_kind::interface_counters;
    f->export_version = 5;
    f->flags = record_flags::times_from_export;
    x.c.add(counter::counter_records);
}

void decode_counter_sample(datagram_ctx& x, const uint8_t* b, uint32_t len, bool expanded) noexcept {
    const uint32_t fixed = expanded ? counter_sample_expanded_fixed : counter_sample_fixed;
    if (len < fixed) [[unlikely]] {
        x.reject(counter::err_sflow_length);
        return;
    }
    const uint32_t seq = wire::be32(b);
    uint32_t type, index, records;
    if (expanded) {
        type = wire::be32(b + 4);
        index = wire::be32(b + 8);
        records = wire::be32(b + 12);
    } else {
        const uint32_t source_id = wire::be32(b + 4);
        type = source_id >> 24;
        index = source_id & 0x00ffffff;
        records = wire::be32(b + 8);
    }
    x.track(sample_kind::counters, type, index, seq);

    const uint8_t* r = b + fixed;
    uint32_t left = len - fixed;
    for (uint32_t i = 0; i < records; ++i) {
        if (left < tlv_header_size) [[unlikely]] {
            x.reject(counter::err_sflow_length);
            return;
        }
        const uint32_t format = wire::be32(r);
        const uint32_t rlen = wire::be32(r + 4);
        if (rlen > left - tlv_header_size) [[unlikely]] {
            x.reject(counter::err_sflow_length);
            return;
        }
        const uint8_t* d = r + tlv_header_size;
        r = d + rlen;
        left -= tlv_header_size + rlen;
        if (!is_standard(format)) [[unlikely]] {
            x.c.add(counter::dev_unknown_sflow_format);
            continue;
        }
        if ((format & 0xfff) == counters_generic_if) {
            if (rlen < generic_if_size) [[unlikely]] {
                x.reject(counter::err_sflow_length);
                return;
            }
            emit_interface_counters(x, d);
        } else if (!is_known_counter_format(format & 0xfff)) [[unlikely]] {
            x.c.add(counter::dev_unknown_sflow_format);
        }
    }
}

sflow_state* state_for(exporter_state& exporter) noexcept {
    // Once per exporter: the only allocation of this decoder. If it fails the
    // datagrams still decode, without sequence tracking.
    if (!exporter.sflow) [[unlikely]]
        exporter.sflow.reset(new (std::nothrow) sflow_state{});
    return exporter.sflow.get();
}

}  // namespace

decode_status decode_sflow(std::span<const uint8_t> payload, const datagram_meta& meta, exporter_state& exporter,
                           record_buffer& out) noexcept {
    counter_block& c = exporter.counters;
    c.add(counter::datagrams);
    c.add(counter::datagram_bytes, payload.size());

    const uint8_t* p = payload.data();
    // A UDP payload is < 64 KiB; clamp so the uint32_t offsets below cannot wrap.
    const uint32_t len = payload.size() > 0xffffffffu ? 0xffffffffu : static_cast<uint32_t>(payload.size());
    if (len < header_prefix_size) [[unlikely]] {
        c.add(counter::err_truncated_header);
        return decode_status::dropped;
    }
    if (wire::be32(p) != version) [[unlikely]] {
        c.add(counter::err_unknown_version);
        return decode_status::dropped;
    }
    const uint32_t address_type = wire::be32(p + 4);
    uint32_t address_len;
    switch (address_type) {
        case address_unknown: address_len = 0; break;
        case address_ipv4: address_len = 4; break;
        case address_ipv6: address_len = 16; break;
        default: c.add(counter::err_sflow_address_type); return decode_status::dropped;
    }
    const uint32_t header_size = header_prefix_size + address_len + header_suffix_size;
    if (len < header_size) [[unlikely]] {
        c.add(counter::err_truncated_header);
        return decode_status::dropped;
    }

    const uint32_t emitted_before = out.size;
    datagram_ctx x{meta, exporter, c, out, state_for(exporter), -1, {}, 0, 0};
    const uint8_t* a = p + header_prefix_size;
    if (address_type == address_ipv4)
        set_ipv4(x.agent_addr, a);
    else if (address_type == address_ipv6)
        set_ipv6(x.agent_addr, a);
    else
        std::memcpy(x.agent_addr, meta.exporter_addr, 16);  // agent did not say: the UDP source
    const uint8_t* h = a + address_len;
    x.sub_agent_id = wire::be32(h);
    x.sequence = wire::be32(h + 4);
    // uptime at h + 8: sFlow carries no flow times, so it is not needed
    const uint32_t samples = wire::be32(h + 12);

    if (x.state != nullptr) {
        x.agent = x.state->agent(x.agent_addr, x.sub_agent_id);
        if (x.agent >= 0)
            x.state->agents[x.agent].seq.observe(x.sequence, 1, c);
        else
            c.add(counter::dev_untracked_sequence);
    }

    const uint8_t* s = p + header_size;
    uint32_t left = len - header_size;
    uint32_t i = 0;
    for (; i < samples; ++i) {
        if (left < tlv_header_size) [[unlikely]] {  // the count promised more than the bytes hold
            x.reject(counter::err_sflow_sample_count);
            break;
        }
        const uint32_t format = wire::be32(s);
        const uint32_t slen = wire::be32(s + 4);
        if (slen > left - tlv_header_size) [[unlikely]] {
            x.reject(counter::err_sflow_length);
            break;
        }
        const uint8_t* body = s + tlv_header_size;
        s = body + slen;
        left -= tlv_header_size + slen;
        if (!is_standard(format)) [[unlikely]] {
            c.add(counter::dev_unknown_sflow_format);
            continue;
        }
        switch (format & 0xfff) {
            case sample_flow: decode_flow_sample(x, body, slen, false); break;
            case sample_flow_expanded: decode_flow_sample(x, body, slen, true); break;
            case sample_counters: decode_counter_sample(x, body, slen, false); break;
            case sample_counters_expanded: decode_counter_sample(x, body, slen, true); break;
            case sample_discarded_packets: break;  // specified, not decoded: skipped without a counter
            default: c.add(counter::dev_unknown_sflow_format); break;
        }
    }
    if (i == samples && left != 0) [[unlikely]]
        c.add(counter::dev_trailing_bytes);
    number_records(out, emitted_before);

    if (!x.rejected) return decode_status::ok;
    return out.size == emitted_before ? decode_status::dropped : decode_status::partial;
}

}  // namespace sluice::decode
