// SPDX-License-Identifier: Apache-2.0
// JSON-lines and table renderings of flow_record; see record_format.hpp.
#include "record_format.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstdio>
#include <cstring>

namespace sluice::decode {

namespace {

// Bounded append-only writer over the caller's buffer; on overflow it stops
// writing and reports 0 from done().
class writer {
public:
    writer(char* buf, std::size_t cap) : _p(buf), _begin(buf), _end(buf + cap) {}

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
        char text[46];
        const std::size_t n = format_address(a, text);
        field_str(k, std::string_view(text, n));
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

std::string_view kind_name(record_kind k) noexcept {
    return k == record_kind::interface_counters ? "interface_counters" : "flow";
}

}  // namespace

std::string_view flow_type_name(flow_type t) noexcept {
    switch (t) {
        case flow_type::sflow_5: return "SFLOW_5";
        case flow_type::netflow_v5: return "NETFLOW_V5";
        case flow_type::netflow_v9: return "NETFLOW_V9";
        case flow_type::ipfix: return "IPFIX";
        case flow_type::unknown: break;
    }
    return "FLOWUNKNOWN";
}

std::size_t format_address(const uint8_t a[16], char* out) noexcept {
    if (is_zero_address(a)) {
        out[0] = '\0';
        return 0;
    }
    const char* ok = is_ipv4_mapped(a) ? inet_ntop(AF_INET, a + 12, out, 46) : inet_ntop(AF_INET6, a, out, 46);
    return ok ? std::strlen(out) : 0;
}

std::size_t format_json(const flow_record& r, char* buf, std::size_t cap) noexcept {
    writer w(buf, cap);
    w.raw("{");
    w.field_str("type", flow_type_name(r.type));
    w.field_str("kind", kind_name(r.kind));
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
    w.field("mpls_label", r.mpls_label);
    w.field("flow_direction", static_cast<uint8_t>(r.direction));
    w.field_bool("biflow_reverse", (r.flags & record_flags::biflow_reverse) != 0);
    w.field_bool("sampling_overridden", (r.flags & record_flags::sampling_overridden) != 0);
    w.field("export_version", r.export_version);
    w.raw("}");
    return w.done();
}

std::string_view table_header() noexcept {
    return "TYPE        START(ns)            PROTO SRC                                      SPORT DST                                      DPORT IN    OUT         BYTES    PKTS  RATE EXPORTER";
}

std::size_t format_table_row(const flow_record& r, char* buf, std::size_t cap) noexcept {
    char src[46], dst[46], exp[46];
    format_address(r.src_addr, src);
    format_address(r.dst_addr, dst);
    format_address(r.sampler_address, exp);
    int n;
    if (r.kind == record_kind::interface_counters) {
        n = std::snprintf(buf, cap,
                          "%-11s %-20llu %-5s %-40s %5s %-40s %5s %-5u %-5s %11llu %7llu %5s %s",
                          "SFLOW_CNT", static_cast<unsigned long long>(r.time_received_ns), "-", "-", "-", "-", "-",
                          r.in_if, "-", static_cast<unsigned long long>(r.bytes),
                          static_cast<unsigned long long>(r.packets), "-", exp);
    } else {
        n = std::snprintf(buf, cap, "%-11.*s %-20llu %-5u %-40s %5u %-40s %5u %-5u %-5u %11llu %7llu %5u %s",
                          int(flow_type_name(r.type).size()), flow_type_name(r.type).data(),
                          static_cast<unsigned long long>(r.time_flow_start_ns), r.proto, src, r.src_port, dst,
                          r.dst_port, r.in_if, r.out_if, static_cast<unsigned long long>(r.bytes),
                          static_cast<unsigned long long>(r.packets), r.sampling_rate, exp);
    }
    if (n < 0 || std::size_t(n) >= cap) return 0;
    return std::size_t(n);
}

}  // namespace sluice::decode
