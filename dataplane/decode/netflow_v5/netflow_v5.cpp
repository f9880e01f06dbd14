// SPDX-License-Identifier: Apache-2.0
// NetFlow v5 decoder: header checks, count checked against the bytes, one
// normalized record per 48-byte flow record.
#include "netflow_v5.hpp"

#include "../decoder.hpp"
#include "../prologue.hpp"
#include "../time.hpp"
#include "../wire.hpp"

namespace sluice::decode {

namespace {

v5_stream* stream_for(exporter_state& exporter, uint16_t engine) noexcept {
    for (auto& s : exporter.v5)
        if (s.used && s.engine == engine) return &s;
    for (auto& s : exporter.v5)
        if (!s.used) {
            s.used = true;
            s.engine = engine;
            return &s;
        }
    return nullptr;  // more engines than slots: sequence not tracked for this one
}

}  // namespace

decode_status decode_netflow_v5(std::span<const uint8_t> payload, const datagram_meta& meta,
                                exporter_state& exporter, record_buffer& out) noexcept {
    using namespace netflow_v5;
    counter_block& c = exporter.counters;
    if (!accept_datagram(payload, header_size, 5, c)) [[unlikely]]
        return decode_status::dropped;
    const uint8_t* p = payload.data();
    const std::size_t len = payload.size();

    const uint32_t count = wire::be16(p + off_count);
    const uint32_t fit = static_cast<uint32_t>((len - header_size) / record_size);
    uint32_t n = count;
    decode_status status = decode_status::ok;
    if (count > fit) [[unlikely]] {
        c.add(counter::err_count_exceeds_datagram);
        n = fit;
        status = decode_status::partial;
    } else if (count < fit) [[unlikely]] {
        // The header says the rest are not records: trusted, but what is
        // dropped that way is counted per record.
        c.add(counter::err_v5_records_beyond_count, fit - count);
        status = decode_status::partial;
    } else if (count > max_records) [[unlikely]] {
        c.add(counter::dev_count_mismatch);
    }
    if (header_size + std::size_t(fit) * record_size != len) [[unlikely]]
        c.add(counter::dev_trailing_bytes);

    const uint32_t sys_uptime = wire::be32(p + off_sys_uptime);
    const uint64_t export_ns = wire::be32(p + off_unix_secs) * ns_per_s + wire::be32(p + off_unix_nsecs);
    const uint32_t sequence = wire::be32(p + off_flow_sequence);
    const uint16_t engine = static_cast<uint16_t>(p[off_engine_type] << 8 | p[off_engine_id]);
    // Top 2 bits: sampling mode; low 14 bits: interval. 0 means unsampled.
    const uint32_t interval = wire::be16(p + off_sampling) & 0x3fff;
    const uint32_t rate = interval == 0 ? 1 : interval;

    if (v5_stream* s = stream_for(exporter, engine)) [[likely]]
        s->seq.observe(sequence, count, c);
    else
        c.add(counter::dev_untracked_sequence);

    uint8_t sampler[16];
    std::memcpy(sampler, meta.exporter_addr, 16);

    uint32_t icmp_in_ports = 0;
    const uint8_t* r = p + header_size;
    for (uint32_t i = 0; i < n; ++i, r += record_size) {
        // Every field of the record is written below (checked by the
        // netflow_v5.no_stale_bytes test), so the slot is not zeroed first.
        flow_record* f = out.next_uninitialized();
        if (f == nullptr) [[unlikely]] {
            c.add(out.full_cause, n - i);
            c.add(counter::flow_records, i);  // the ones emitted before the buffer filled
            if (icmp_in_ports != 0) c.add(counter::dev_icmp_type_in_src_port, icmp_in_ports);
            return decode_status::partial;
        }
        set_ipv4(f->src_addr, r + r_srcaddr);
        set_ipv4(f->dst_addr, r + r_dstaddr);
        set_ipv4(f->next_hop, r + r_nexthop);
        std::memcpy(f->sampler_address, sampler, 16);
        f->bytes = wire::be32(r + r_doctets);
        f->packets = wire::be32(r + r_dpkts);
        f->time_flow_start_ns = uptime_to_unix_ns(export_ns, sys_uptime, wire::be32(r + r_first));
        f->time_flow_end_ns = uptime_to_unix_ns(export_ns, sys_uptime, wire::be32(r + r_last));
        f->time_received_ns = meta.time_received_ns;
        f->if_out_bytes = 0;
        f->if_out_packets = 0;
        f->if_speed_mbps = 0;
        f->sampling_rate = rate;
        f->sequence_num = sequence;
        f->observation_domain_id = engine;
        f->in_if = wire::be16(r + r_input);
        f->out_if = wire::be16(r + r_output);
        f->src_as = wire::be16(r + r_src_as);
        f->dst_as = wire::be16(r + r_dst_as);
        f->mpls_label = 0;
        f->if_in_errors = 0;
        f->if_out_errors = 0;
        f->if_in_discards = 0;
        f->if_out_discards = 0;
        f->src_port = wire::be16(r + r_srcport);
        f->dst_port = wire::be16(r + r_dstport);
        f->etype = 0x0800;
        f->proto = r[r_prot];
        f->tcp_flags = r[r_tcp_flags];
        f->ip_tos = r[r_tos];
        f->src_net = r[r_src_mask];
        f->dst_net = r[r_dst_mask];
        f->icmp_type = 0;
        f->icmp_code = 0;
        if (f->proto == 1 || f->proto == 58) [[unlikely]] {
            // ICMP type/code travel in the ports. Cisco: source port 0,
            // destination port type*256+code. fprobe: type in the source
            // port, code in the destination port (a deviation, counted).
            if (f->src_port != 0 && f->dst_port <= 0xff) {
                f->icmp_type = static_cast<uint8_t>(f->src_port);
                f->icmp_code = static_cast<uint8_t>(f->dst_port);
                ++icmp_in_ports;
            } else {
                f->icmp_type = static_cast<uint8_t>(f->dst_port >> 8);
                f->icmp_code = static_cast<uint8_t>(f->dst_port);
            }
        }
        f->vlan_id = 0;
        f->direction = flow_direction::unknown;
        f->type = flow_type::netflow_v5;
        f->kind = record_kind::flow;
        f->export_version = 5;
        f->flags = 0;
        clear_extended(*f);  // v5 exports nothing past the first three cache lines
        f->record_index = static_cast<uint16_t>(i);  // i < 65535 / 48: no saturation needed
        exporter.apply_sampling(*f);
    }
    c.add(counter::flow_records, n);
    if (icmp_in_ports != 0) [[unlikely]]
        c.add(counter::dev_icmp_type_in_src_port, icmp_in_ports);
    return status;
}

}  // namespace sluice::decode
