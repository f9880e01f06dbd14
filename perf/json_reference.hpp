// SPDX-License-Identifier: Apache-2.0
// The JSON encoder as it was before it formatted addresses itself (a bounded
// writer per field, std::to_chars, glibc inet_ntop + strlen), extended to the
// same fields in the same order: the reference perf/decode_bench.cpp checks
// decode::format_json against byte for byte, and the baseline it measures
// in the same run.
#pragma once

#include <arpa/inet.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "dataplane/decode/record_format.hpp"

namespace sluice::perf {

class ref_writer {
public:
    ref_writer(char* buf, std::size_t cap) : _p(buf), _begin(buf), _end(buf + cap) {}
    void raw(std::string_view s) noexcept {
        if (_overflow || std::size_t(_end - _p) < s.size()) {
            _overflow = true;
            return;
        }
        std::memcpy(_p, s.data(), s.size());
        _p += s.size();
    }
    void num(uint64_t v) noexcept {
        if (_overflow) return;
        auto [ptr, ec] = std::to_chars(_p, _end, v);
        if (ec != std::errc{}) {
            _overflow = true;
            return;
        }
        _p = ptr;
    }
    void key(std::string_view k) noexcept {
        raw(_first ? "\"" : ",\"");
        _first = false;
        raw(k);
        raw("\":");
    }
    void field(std::string_view k, uint64_t v) noexcept {
        key(k);
        num(v);
    }
    void field_str(std::string_view k, std::string_view v) noexcept {
        key(k);
        raw("\"");
        raw(v);
        raw("\"");
    }
    void field_addr(std::string_view k, const uint8_t a[16]) noexcept {
        char text[46] = "";
        if (!decode::is_zero_address(a)) {
            const char* ok = decode::is_ipv4_mapped(a) ? inet_ntop(AF_INET, a + 12, text, 46)
                                                       : inet_ntop(AF_INET6, a, text, 46);
            if (!ok) text[0] = '\0';
        }
        field_str(k, std::string_view(text, std::strlen(text)));
    }
    void field_mac(std::string_view k, const uint8_t m[6]) noexcept {
        char text[18];
        std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
        field_str(k, std::string_view(text, 17));
    }
    void field_bool(std::string_view k, bool v) noexcept {
        key(k);
        raw(v ? "true" : "false");
    }
    std::size_t done() const noexcept { return _overflow ? 0 : std::size_t(_p - _begin); }

private:
    char* _p;
    char* _begin;
    char* _end;
    bool _first = true;
    bool _overflow = false;
};

inline std::size_t reference_json(const decode::flow_record& r, char* buf, std::size_t cap) noexcept {
    using namespace decode;
    ref_writer w(buf, cap);
    w.raw("{");
    w.field_str("type", flow_type_name(r.type));
    w.field_str("kind", r.kind == record_kind::interface_counters ? "interface_counters" : "flow");
    w.field("time_received_ns", r.time_received_ns);
    w.field("sequence_num", r.sequence_num);
    w.field_addr("sampler_address", r.sampler_address);
    w.field("observation_domain_id", r.observation_domain_id);
    if (r.kind == record_kind::interface_counters) {
        w.field("in_if", r.in_if);
        w.field("if_speed_mbps", r.if_speed_mbps);
        w.field("bytes", r.bytes);
        w.field("packets", r.packets);
        w.field("if_out_bytes", r.if_out_bytes);
        w.field("if_out_packets", r.if_out_packets);
        w.field("if_in_errors", r.if_in_errors);
        w.field("if_out_errors", r.if_out_errors);
        w.field("if_in_discards", r.if_in_discards);
        w.field("if_out_discards", r.if_out_discards);
        w.field("export_version", r.export_version);
        w.raw("}");
        return w.done();
    }
    w.field("sampling_rate", r.sampling_rate);
    w.field("time_flow_start_ns", r.time_flow_start_ns);
    w.field("time_flow_end_ns", r.time_flow_end_ns);
    w.field("bytes", r.bytes);
    w.field("packets", r.packets);
    w.field_addr("src_addr", r.src_addr);
    w.field_addr("dst_addr", r.dst_addr);
    w.field_addr("next_hop", r.next_hop);
    w.field("etype", r.etype);
    w.field("proto", r.proto);
    w.field("src_port", r.src_port);
    w.field("dst_port", r.dst_port);
    w.field("in_if", r.in_if);
    w.field("out_if", r.out_if);
    w.field("src_as", r.src_as);
    w.field("dst_as", r.dst_as);
    w.field("src_net", r.src_net);
    w.field("dst_net", r.dst_net);
    w.field("ip_tos", r.ip_tos);
    w.field("tcp_flags", r.tcp_flags);
    w.field("icmp_type", r.icmp_type);
    w.field("icmp_code", r.icmp_code);
    w.field("vlan_id", r.vlan_id);
    w.field("inner_vlan_id", r.inner_vlan_id);
    w.field("src_vlan", r.src_vlan);
    w.field("dst_vlan", r.dst_vlan);
    w.field_mac("src_mac", r.src_mac);
    w.field_mac("dst_mac", r.dst_mac);
    w.field("mpls_label", r.mpls_label);
    w.field("ip_ttl", r.ip_ttl);
    w.field("ipv6_flow_label", r.ipv6_flow_label);
    w.field("forwarding_status", r.forwarding_status);
    w.field("flow_end_reason", r.flow_end_reason);
    w.field_addr("bgp_next_hop", r.bgp_next_hop);
    w.field("next_hop_as", r.next_hop_as);
    w.field_addr("post_nat_src_addr", r.post_nat_src_addr);
    w.field_addr("post_nat_dst_addr", r.post_nat_dst_addr);
    w.field("post_nat_src_port", r.post_nat_src_port);
    w.field("post_nat_dst_port", r.post_nat_dst_port);
    w.field("in_if_format", static_cast<uint8_t>(r.in_if_format));
    w.field("out_if_format", static_cast<uint8_t>(r.out_if_format));
    w.field("flow_direction", static_cast<uint8_t>(r.direction));
    w.field_bool("biflow_reverse", (r.flags & record_flags::biflow_reverse) != 0);
    w.field_bool("sampling_overridden", (r.flags & record_flags::sampling_overridden) != 0);
    w.field("export_version", r.export_version);
    w.raw("}");
    return w.done();
}

}  // namespace sluice::perf
