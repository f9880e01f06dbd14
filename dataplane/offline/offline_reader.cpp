// SPDX-License-Identifier: Apache-2.0
// Capture reader for sluice-decode; see offline_reader.hpp.
#include "offline_reader.hpp"

#include <pcap/pcap.h>

#include <cstring>

#include "dataplane/decode/wire.hpp"

namespace sluice::offline {

namespace {
constexpr int dlt_null = 0, dlt_en10mb = 1, dlt_raw = 12, dlt_loop = 108, dlt_raw_101 = 101, dlt_linux_sll = 113,
              dlt_ipv4 = 228, dlt_ipv6 = 229, dlt_linux_sll2 = 276;
}

offline_reader::offline_reader(reader_options opts)
    : _opts(std::move(opts)),
      _exporters(_opts.limits),
      _reassembler(_opts.frag, 1000000000ull, _frag_counters.v.data()),  // capture time in ns
      _frag_out(reassembly::k_max_packet),
      _buffer(decode::max_records_per_datagram) {}

void offline_reader::deliver(const parse::parsed_frame& f, uint64_t ts_ns, const records_fn& on_records,
                             const payload_fn& on_payload) {
    std::span<const uint8_t> payload(f.payload, f.payload_len);
    if (on_payload) on_payload(payload);
    decode::datagram_meta meta{};
    std::memcpy(meta.exporter_addr, f.src_addr, 16);
    meta.exporter_port = f.src_port;
    meta.ip_version = f.ip_version;
    meta.collector_port = f.dst_port;
    meta.time_received_ns = ts_ns;
    decode::protocol proto = decode::protocol::auto_detect;
    if (auto it = _opts.port_map.find(f.dst_port); it != _opts.port_map.end()) proto = it->second;
    decode::record_buffer out{_buffer.data(), static_cast<uint32_t>(_buffer.size()), 0};
    decode::decode_datagram(payload, meta, proto, _exporters, out);
    ++_stats.datagrams_decoded;
    _stats.records += out.size;
    if (on_records) on_records({out.data, out.size});
}

void offline_reader::feed_ip(const uint8_t* l3, uint32_t len, uint16_t l2_len, uint64_t ts_ns,
                             const records_fn& on_records, const payload_fn& on_payload, bool from_l2,
                             const uint8_t* frame, uint32_t frame_len) {
    parse::parsed_frame f{};
    parse::frame_class c = from_l2 ? parse::parse_ethernet(frame, frame_len, _opts.parse, f)
                                   : parse::parse_ip(l3, len, _opts.parse, f);
    if (from_l2) {
        l3 = frame + f.l2_len;
        len = frame_len - f.l2_len;
    } else {
        f.l2_len = l2_len;
    }
    ++_stats.by_class[static_cast<std::size_t>(c)];
    _reassembler.expire(ts_ns);  // by capture time: O(1) unless something is due
    if (c == parse::frame_class::ipv4_fragment || c == parse::frame_class::ipv6_fragment) {
        const reassembly::result r = _reassembler.feed(l3, len, f, ts_ns, _frag_out.data(), uint32_t(_frag_out.size()));
        if (r.st != reassembly::status::complete) return;
        parse::parsed_frame g{};
        c = parse::parse_ip(_frag_out.data(), r.len, _opts.parse, g);
        ++_stats.by_class[static_cast<std::size_t>(c)];
        if (c == parse::frame_class::udp) deliver(g, ts_ns, on_records, on_payload);
        return;
    }
    if (c == parse::frame_class::udp) deliver(f, ts_ns, on_records, on_payload);
}

void offline_reader::feed_frame(int dlt, const uint8_t* data, uint32_t len, uint64_t ts_ns,
                                const records_fn& on_records, const payload_fn& on_payload) {
    ++_stats.frames;
    switch (dlt) {
        case dlt_en10mb:
            feed_ip(nullptr, 0, 0, ts_ns, on_records, on_payload, true, data, len);
            return;
        case dlt_linux_sll:  // 16-byte cooked header, protocol at 14
            if (len < 16) break;
            if (decode::wire::be16(data + 14) == 0x0800 || decode::wire::be16(data + 14) == 0x86dd) {
                feed_ip(data + 16, len - 16, 16, ts_ns, on_records, on_payload, false, nullptr, 0);
                return;
            }
            ++_stats.by_class[static_cast<std::size_t>(parse::frame_class::unsupported_ethertype)];
            return;
        case dlt_linux_sll2:  // 20-byte cooked v2 header, protocol at 0
            if (len < 20) break;
            if (decode::wire::be16(data) == 0x0800 || decode::wire::be16(data) == 0x86dd) {
                feed_ip(data + 20, len - 20, 20, ts_ns, on_records, on_payload, false, nullptr, 0);
                return;
            }
            ++_stats.by_class[static_cast<std::size_t>(parse::frame_class::unsupported_ethertype)];
            return;
        case dlt_raw:
        case dlt_raw_101:
        case dlt_ipv4:
        case dlt_ipv6:
            feed_ip(data, len, 0, ts_ns, on_records, on_payload, false, nullptr, 0);
            return;
        case dlt_null:
        case dlt_loop:  // 4-byte address family header
            if (len < 4) break;
            feed_ip(data + 4, len - 4, 4, ts_ns, on_records, on_payload, false, nullptr, 0);
            return;
        default:
            ++_stats.unsupported_link_type;
            return;
    }
    ++_stats.by_class[static_cast<std::size_t>(parse::frame_class::runt)];
}

bool offline_reader::read_file(const std::string& path, const records_fn& on_records, std::string* error,
                               const payload_fn& on_payload) {
    char errbuf[PCAP_ERRBUF_SIZE] = {0};
    pcap_t* p = path == "-" ? pcap_fopen_offline_with_tstamp_precision(stdin, PCAP_TSTAMP_PRECISION_NANO, errbuf)
                            : pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (p == nullptr) {
        if (error) *error = path + ": " + errbuf;
        return false;
    }
    const int dlt = pcap_datalink(p);
    const bool nano = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO;
    pcap_pkthdr* hdr;
    const u_char* data;
    int rc;
    while ((rc = pcap_next_ex(p, &hdr, &data)) == 1) {
        const uint64_t ts = uint64_t(hdr->ts.tv_sec) * 1000000000ull +
                            uint64_t(hdr->ts.tv_usec) * (nano ? 1ull : 1000ull);
        feed_frame(dlt, data, hdr->caplen, ts, on_records, on_payload);
    }
    bool ok = true;
    if (rc == -1) {
        if (error) *error = path + ": " + pcap_geterr(p);
        ok = false;
    }
    pcap_close(p);
    return ok;
}

}  // namespace sluice::offline
