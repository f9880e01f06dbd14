// SPDX-License-Identifier: Apache-2.0
// The worker loop, top to bottom: rx burst -> parse -> checksum policy -> reassembly -> decode -> enqueue to the sinks.
//
//   rte_eth_rx_burst(32)
//     pass 1 (parse): prefetch, linearise multi-segment frames, NIC checksum
//       verdicts, parse_ethernet(); fragments -> reassembler (bytes copied,
//       mbuf freed with the burst; a completed packet in a scratch slot) -> parse_ip();
//       ARP/ICMP/ND -> exception::handle() -> tx on the worker's own tx queue
//       (tx_queue_id; none when the port has fewer tx than rx queues);
//       UDP to a mapped port -> datagram list; everything else: one drop
//       counter, mbuf freed.
//     pass 2 (decode into the rings): one zero-copy reservation per sink
//       ring and burst; each datagram's records are decoded straight into
//       the ring slots of the exporter's sink (or staged and copied across
//       the ring's wrap) and extrapolated there (--extrapolate,
//       enrich/extrapolate/) and scanned for signatures (--rules,
//       enrich/classify/), one commit per ring at the end of the burst; what
//       does not fit is counted ring_full (live: dropped; --ring-full wait:
//       the worker publishes what it has and waits for room).
//     pass 3: free the burst's mbufs in bulk.
//
// At the top of each loop: the deadlines (reassembly timeout sweep, clock
// re-anchoring, the per-exporter decode-error log once per stats interval),
// the RCU quiescent state, and the control mailbox (mailbox.hpp). Log lines
// go to the control core through the mailbox: a worker never writes stderr.
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_hash_crc.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring_elem.h>
#include <sched.h>
#include <time.h>

#include <cstdarg>
#include <cstdio>

#include <span>
#include <string>

#include "dataplane/decode/record_format.hpp"
#include "dataplane/decode/template/template_state_file.hpp"
#include "dataplane/exception/exception.hpp"
#include "dataplane/parse/packet_parse.hpp"
#include "dataplane/ring/record_ring.hpp"
#include "enrich/extrapolate/reading.hpp"
#include "worker_context.hpp"

namespace sluice::worker {

namespace {

struct datagram {
    const uint8_t* payload;
    uint32_t len;
    decode::protocol proto;
    decode::datagram_meta meta;
};

// Everything one burst gathers in pass 1 for pass 2 and 3.
struct burst_state {
    datagram dg[k_burst];
    unsigned nd = 0;
    rte_mbuf* to_free[k_burst];
    unsigned nf = 0;
    unsigned slot = 0;  // scratch slots used
};

__extension__ typedef unsigned __int128 u128;  // the tsc->ns product overflows 64 bits after ~4 s

inline uint64_t wall_ns(const context& c, uint64_t tsc) noexcept {
    return c.clock_wall_ns + uint64_t(u128(tsc - c.clock_tsc) * 1000000000u / c.cfg->tsc_hz);
}

// Takes a fresh (TSC, CLOCK_REALTIME) pair. clock_gettime is served by the
// vDSO (no system call); this runs on the sweep timer, not per packet.
void anchor_clock(context& c) noexcept {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    c.clock_tsc = rte_rdtsc();
    c.clock_wall_ns = uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// Capture time for replayed pcaps, else the burst's receive time.
inline uint64_t rx_time_ns(const context& c, const rte_mbuf* m, uint64_t index, uint64_t burst_ns) noexcept {
    if (c.pcap_timestamps && (m->ol_flags & c.ts_flag)) {
        const uint64_t us = *RTE_MBUF_DYNFIELD(m, c.ts_offset, const rte_mbuf_timestamp_t*);
        if (c.replay != nullptr && index < c.replay->ns.size() && c.replay->ns[index] / 1000 == us)
            return c.replay->ns[index];
        return us * 1000;
    }
    return burst_ns;
}

static_assert(k_scratch_slot >= reassembly::k_max_packet, "a scratch slot holds any packet the reassembler completes");

inline uint8_t* scratch_slot(context& c, burst_state& b) noexcept { return &c.scratch[std::size_t(b.slot++) * k_scratch_slot]; }

inline void drop(context& c, burst_state& b, rte_mbuf* m, counter why) noexcept {
    c.counters.add(why);
    b.to_free[b.nf++] = m;
}

// A complete UDP datagram: keep it for pass 2 if its port is mapped.
inline bool accept_udp(context& c, burst_state& b, const parse::parsed_frame& f, uint64_t ts) noexcept {
    const uint8_t p = c.cfg->port_map[f.dst_port];
    if (p == 0) [[unlikely]] {
        c.counters.add(counter::udp_port_unconfigured);
        return false;
    }
    datagram& d = b.dg[b.nd++];
    d.payload = f.payload;
    d.len = f.payload_len;
    d.proto = static_cast<decode::protocol>(p - 1);
    std::memcpy(d.meta.exporter_addr, f.src_addr, 16);
    d.meta.exporter_port = f.src_port;
    d.meta.ip_version = f.ip_version;
    d.meta.collector_port = f.dst_port;
    d.meta.time_received_ns = ts;
    return true;
}

// ARP / ICMP echo / ND: answered in place in the received mbuf when it is a
// single unshared segment, else into a fresh mbuf; sent on the same queue.
void exception_path(context& c, burst_state& b, rte_mbuf* m, const uint8_t* frame, uint32_t len) noexcept {
    rte_mbuf* out = m;
    uint32_t cap = 0;
    if (m->nb_segs == 1 && rte_mbuf_refcnt_read(m) == 1) {
        cap = m->buf_len - m->data_off;
    } else {
        out = rte_pktmbuf_alloc(c.pool);
        if (out == nullptr) [[unlikely]] {
            drop(c, b, m, counter::exception_nomem);
            return;
        }
        cap = rte_pktmbuf_tailroom(out);
    }
    const exception::result r =
        exception::handle(frame, len, *c.addresses, rte_pktmbuf_mtod(out, uint8_t*), cap);
    c.exception_counters.add(r.what);
    if (r.what != exception::outcome::reply) {
        if (out != m) rte_pktmbuf_free(out);
        drop(c, b, m, counter::exception_unhandled);
        return;
    }
    if (out == m) {
        // Trim any further segments' worth of length: the reply is in the first one.
        m->data_len = uint16_t(r.reply_len);
        m->pkt_len = r.reply_len;
    } else {
        out->data_len = uint16_t(r.reply_len);
        out->pkt_len = r.reply_len;
        b.to_free[b.nf++] = m;
    }
    out->ol_flags = 0;
    if (c.tx_queue_id < 0) [[unlikely]] {
        // The device has fewer tx queues than rx queues: this worker has none.
        c.counters.add(counter::exception_no_tx_queue);
        rte_pktmbuf_free(out);
        return;
    }
    if (rte_eth_tx_burst(c.port_id, uint16_t(c.tx_queue_id), &out, 1) != 1) [[unlikely]] {
        c.counters.add(counter::exception_tx_failed);
        rte_pktmbuf_free(out);
    }
}

// A packet the reassembler completed (in a scratch slot): parse as IP, keep or drop.
void reassembled(context& c, burst_state& b, const uint8_t* pkt, uint32_t len, uint64_t ts) noexcept {
    ++b.slot;  // the packet stays in its scratch slot until pass 2 has decoded it
    // The reassembler wrote a correct IPv4 header checksum; every fragment's
    // header was checked on the way in, so skip the check.
    const parse::parse_options po{.verify_ipv4_header_checksum = false,
                                  .verify_udp_checksum = c.cfg->verify_udp_checksum};
    parse::parsed_frame f;
    const parse::frame_class cls = parse::parse_ip(pkt, len, po, f);
    if (cls == parse::frame_class::udp) [[likely]] {
        accept_udp(c, b, f, ts);
    } else if (cls >= parse::frame_class::runt) {
        c.counters.add(drop_counter(cls));
    } else {
        c.counters.add(counter::not_udp);  // a reassembled ICMP or a fragment of a fragment
    }
}

// Pass 1 for one frame.
void classify(context& c, burst_state& b, rte_mbuf* m, uint64_t ts, uint64_t now_tsc) noexcept {
    // Replay: fragments time out by capture time, checked at every frame as sluice-decode does (O(1) unless due).
    if (c.frag_capture_clock) c.frags->expire(ts);
    uint32_t len = m->pkt_len;
    const uint8_t* data;
    if (m->nb_segs == 1) [[likely]] {
        data = rte_pktmbuf_mtod(m, const uint8_t*);
    } else {
        if (len > k_scratch_slot) [[unlikely]] {
            drop(c, b, m, counter::bad_ip_length);
            return;
        }
        data = static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, len, scratch_slot(c, b)));
    }

    parse::parse_options po{.verify_ipv4_header_checksum = true, .verify_udp_checksum = c.cfg->verify_udp_checksum};
    bool l4_bad = false;
    if (c.nic_cksum) {
        const uint64_t ipf = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
        if (ipf == RTE_MBUF_F_RX_IP_CKSUM_BAD) [[unlikely]] {
            drop(c, b, m, counter::nic_bad_ip_checksum);
            return;
        }
        if (ipf == RTE_MBUF_F_RX_IP_CKSUM_GOOD) po.verify_ipv4_header_checksum = false;
        const uint64_t l4f = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
        l4_bad = l4f == RTE_MBUF_F_RX_L4_CKSUM_BAD;
        if (l4f == RTE_MBUF_F_RX_L4_CKSUM_GOOD) po.verify_udp_checksum = false;
    }

    parse::parsed_frame f;
    const parse::frame_class cls = parse::parse_ethernet(data, len, po, f);
    switch (cls) {
    case parse::frame_class::udp:
        if (l4_bad) [[unlikely]] {
            drop(c, b, m, counter::nic_bad_udp_checksum);
            return;
        }
        accept_udp(c, b, f, ts);
        b.to_free[b.nf++] = m;  // payload points into m (or scratch) until pass 3
        return;
    case parse::frame_class::ipv4_fragment:
    case parse::frame_class::ipv6_fragment: {
        // The reassembler copies the fragment's bytes and counts it (frag_*);
        // the mbuf is freed with the burst. A completed packet is written to
        // the next scratch slot, taken only then.
        uint8_t* out = &c.scratch[std::size_t(b.slot) * k_scratch_slot];
        const reassembly::result r =
            c.frags->feed(data + f.l2_len, len - f.l2_len, f, c.frag_capture_clock ? ts : now_tsc, out, k_scratch_slot);
        b.to_free[b.nf++] = m;
        if (r.st == reassembly::status::complete) reassembled(c, b, out, r.len, ts);
        return;
    }
    case parse::frame_class::arp:
    case parse::frame_class::icmpv4:
    case parse::frame_class::icmpv6:
        exception_path(c, b, m, data, len);
        return;
    default:
        drop(c, b, m, drop_counter(cls));
        return;
    }
}

// --rules: the payload rules over each record's sampled header (sFlow raw
// packet headers): a payload rule's bit of signature_tags when it matches. The version is
// read once per datagram; the worker's next quiescent state (loop top) is
// after this burst, so it cannot be freed under us.
void scan_headers(context& c, const decode::record_buffer& out) noexcept {
    const enrich::classify::version* v = c.classifier->acquire();
    if (v == nullptr || !v->db->has_payload_rules()) return;
    hs_scratch* s = v->scratch[c.id];
    uint64_t scanned = 0, bytes = 0, tagged = 0;
    for (uint32_t i = 0; i < out.size; ++i) {
        const decode::header_span h = out.headers[i];
        if (h.size == 0) continue;
        const uint32_t tags = v->db->scan(h.data, h.size, s);
        out.data[i].signature_tags = tags;
        ++scanned;
        bytes += h.size;
        tagged += tags != 0;
    }
    if (scanned) {
        c.classify_counters.add(enrich::classify::scan_counter::headers_scanned, scanned);
        c.classify_counters.add(enrich::classify::scan_counter::header_bytes, bytes);
        if (tagged) c.classify_counters.add(enrich::classify::scan_counter::records_tagged, tagged);
    }
}

// The most records a datagram can yield, from its bytes alone: NetFlow v5
// records are 48 bytes after a 24-byte header; any other format spends at
// least one byte of the datagram per record, two records per byte for RFC
// 5103 biflows (decode::max_records_per_datagram is this bound for 64 KiB).
inline uint32_t record_bound(const datagram& d) noexcept {
    if (d.len >= 2 && d.payload[0] == 0 && d.payload[1] == 5 &&
        (d.proto == decode::protocol::netflow_v5 || d.proto == decode::protocol::auto_detect))
        return d.len >= 24 ? (d.len - 24) / 48 : 0;
    return 2 * d.len;
}
static_assert(decode::max_records_per_datagram >= 2 * 65535);

void process_burst(context& c, rte_mbuf** pkts, uint16_t n, uint64_t t_rx) noexcept {
    burst_state b;
    const uint64_t burst_ns = wall_ns(c, t_rx);
    uint64_t bytes = 0;

    // ---- pass 1: parse ----
    for (unsigned i = 0; i < k_prefetch_ahead && i < n; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
    for (uint16_t i = 0; i < n; ++i) {
        if (i + k_prefetch_ahead < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + k_prefetch_ahead], void*));
        rte_mbuf* m = pkts[i];
        bytes += m->pkt_len;
        const uint64_t ts = rx_time_ns(c, m, c.replay_index++, burst_ns);
        classify(c, b, m, ts, t_rx);
    }
    c.counters.add(counter::rx_packets, n);
    c.counters.add(counter::rx_bytes, bytes);
    uint64_t t = rte_rdtsc();
    c.counters.add_cycles(stage::parse, t - t_rx);

    // ---- pass 2: decode straight into the sink rings ----
    // One reservation per sink ring and burst (every free slot), filled
    // datagram by datagram, published by one commit per ring at the end.
    uint64_t dec = 0, enq = 0, enr = 0, records = 0, enqueued = 0, copied = 0;
    ring::reservation rz[k_max_sinks];
    unsigned opened[k_max_sinks];
    // One table version for the whole burst (RCU: freed only after this worker's next loop top).
    const enrich::table_version* tables =
        c.enrich_tables ? c.enrich_tables->load(std::memory_order_acquire) : nullptr;
    unsigned nopen = 0;
    for (unsigned i = 0; i < b.nd; ++i) {
        const datagram& d = b.dg[i];
        // One exporter (UDP source address) always goes to the same sink.
        const unsigned sink = c.cfg->nb_sinks == 1 ? 0 : rte_hash_crc(d.meta.exporter_addr, 16, 0) % c.cfg->nb_sinks;
        ring::reservation& z = rz[sink];
        if (!z.open) [[unlikely]] {
            ring::reserve(c.rings[sink], c.ring_capacity, z);
            opened[nopen++] = sink;
        }
        // In place when the contiguous rest of the reservation (and the ring's
        // slack at the storage end) holds the most records this datagram can
        // yield; else staged and copied (a jumbo datagram at the wrap, or a
        // ring too full for it: record_ring.hpp).
        const unsigned room = z.room_in_place();
        const bool in_place = room >= record_bound(d);
        decode::record_buffer out = in_place
                                        ? decode::record_buffer{z.cursor(), room, 0}
                                        : decode::record_buffer{c.record_storage.get(), decode::max_records_per_datagram, 0};
        if (c.classifier != nullptr) [[unlikely]]
            out.headers = c.header_spans.get();
        const uint64_t rejected_before = c.exporters->rejected_table_full;
        const decode::decode_status st =
            decode::decode_datagram(std::span<const uint8_t>(d.payload, d.len), d.meta, d.proto, *c.exporters, out);
        if (st != decode::decode_status::ok) [[unlikely]] {
            if (st == decode::decode_status::partial) {
                c.counters.add(counter::decode_partial);
            } else if (c.exporters->rejected_table_full != rejected_before) {
                c.counters.add(counter::exporter_table_full);
            } else {
                c.counters.add(counter::decode_dropped);
            }
        }
        // Extrapolation (counted in the decode stage's cycles): the records
        // are still where decode wrote them, before any is published.
        if (c.extrapolator != nullptr && out.size != 0) c.extrapolator->process(out.data, out.size);
        if (c.classifier != nullptr && out.size != 0) [[unlikely]]
            scan_headers(c, out);
        uint64_t t2 = rte_rdtsc();
        dec += t2 - t;
        t = t2;
        if (tables != nullptr && out.size != 0) {
            // Into the slots (or the staging buffer) before they are published.
            enrich::enrich_records(*tables, out.data, out.size);
            t2 = rte_rdtsc();
            enr += t2 - t;
            t = t2;
        }
        records += out.size;
        const decode::flow_record* rest = out.data;  // records not yet in a ring slot
        unsigned nrest = out.size;
        if (in_place) [[likely]] {
            const unsigned here = std::min(nrest, z.room_here());
            z.used += here;
            enqueued += here;
            rest += here;
            nrest -= here;
        }
        if (nrest == 0) [[likely]]
            continue;
        // Ran into the slack, or staged: copy on, across the wrap.
        unsigned k = z.copy_in(rest, nrest);
        if (k != nrest && c.cfg->ring_full_wait) [[unlikely]] {
            // Replay: publish what we have and wait for the sink rather than
            // lose records; a signal ends the wait.
            while (k != nrest && !c.abort->load(std::memory_order_relaxed)) {
                ring::commit(z);
                rte_pause();
                ring::reserve(c.rings[sink], c.ring_capacity, z);
                k += z.copy_in(rest + k, nrest - k);
            }
        }
        enqueued += k;
        copied += k;
        const uint64_t t3 = rte_rdtsc();
        enq += t3 - t;
        t = t3;
    }
    for (unsigned j = 0; j < nopen; ++j) ring::commit(rz[opened[j]]);
    {
        const uint64_t t3 = rte_rdtsc();
        enq += t3 - t;
        t = t3;
    }
    c.counters.add(counter::datagrams, b.nd);
    if (records) {
        c.counters.add(counter::records, records);
        c.counters.add(counter::records_enqueued, enqueued);
        if (records != enqueued) [[unlikely]]
            c.counters.add(counter::ring_full, records - enqueued);
        if (copied) [[unlikely]]
            c.counters.add(counter::records_copied, copied);
    }
    c.counters.add_cycles(stage::decode, dec);
    if (enr) c.counters.add_cycles(stage::enrich, enr);
    c.counters.add_cycles(stage::enqueue, enq);

    // ---- pass 3: free ----
    if (b.nf) rte_pktmbuf_free_bulk(b.to_free, b.nf);
}

// A log line for the control core to print (mailbox.hpp): formatted here,
// into a fixed-size event, never written to stderr by the worker. Dropped and
// counted when the event ring has no room beyond the slots kept for acks.
__attribute__((format(printf, 3, 4))) void post_log(context& c, uint8_t level, const char* fmt, ...) noexcept {
    if (c.mailbox_out == nullptr || rte_ring_free_count(c.mailbox_out) <= k_ack_reserve) [[unlikely]] {
        c.counters.add(counter::log_dropped);
        return;
    }
    event e{};
    e.kind = event_kind::log;
    e.level = level;
    e.worker = c.id;
    va_list ap;
    va_start(ap, fmt);
    const int n = std::vsnprintf(e.text, sizeof e.text, fmt, ap);
    va_end(ap);
    e.len = uint16_t(n < 0 ? 0 : std::min<std::size_t>(std::size_t(n), sizeof e.text - 1));
    if (rte_ring_sp_enqueue_elem(c.mailbox_out, &e, sizeof e) != 0) [[unlikely]] {
        c.counters.add(counter::log_dropped);
        return;
    }
    c.counters.add(counter::log_lines);
}

// The answer to a command. The ring keeps k_ack_reserve slots that log
// lines never take, one per command the in ring can hold.
void post_ack(context& c, command_kind kind, uint64_t seq) noexcept {
    event e{};
    e.kind = event_kind::ack;
    e.worker = c.id;
    e.acked = kind;
    e.seq = seq;
    rte_ring_sp_enqueue_elem(c.mailbox_out, &e, sizeof e);
}

// Commands from the control core, at the loop top (a timer-rate event, not per packet).
void poll_mailbox(context& c) noexcept {
    command cmd[8];
    const unsigned n = rte_ring_sc_dequeue_burst_elem(c.mailbox_in, cmd, sizeof(command), 8, nullptr);
    for (unsigned i = 0; i < n; ++i) {
        switch (cmd[i].kind) {
        case command_kind::snapshot_template_state:
            // Out of memory leaves the snapshot empty: the control core skips that round.
            try {
                c.snapshot = decode::serialize_template_state(*c.exporters);
            } catch (const std::bad_alloc&) {
                c.snapshot.clear();
            }
            break;
        case command_kind::set_sampling_override:
        case command_kind::set_sampling_override_prefix:
        case command_kind::clear_sampling_override_prefix:
            try {
                if (cmd[i].kind == command_kind::set_sampling_override)
                    c.exporters->set_sampling_override(cmd[i].addr, cmd[i].rate);
                else if (cmd[i].kind == command_kind::set_sampling_override_prefix)
                    c.exporters->set_sampling_override(cmd[i].addr, cmd[i].prefix_len, cmd[i].rate);
                else
                    c.exporters->clear_sampling_override(cmd[i].addr, cmd[i].prefix_len);
            } catch (const std::bad_alloc&) {
                post_log(c, RTE_LOG_ERR, "worker %u: out of memory applying a sampling override\n", c.id);
            }
            break;
        }
        post_ack(c, cmd[i].kind, cmd[i].seq);
    }
    if (n) c.counters.add(counter::mailbox_commands, n);
}

// SNMP counter readings into the extrapolation table (a timer-rate event, not per packet).
void take_readings(context& c) noexcept {
    enrich::extrapolate::reading r[enrich::extrapolate::k_reading_burst];
    const unsigned n = rte_ring_sc_dequeue_burst_elem(c.readings, r, sizeof r[0], enrich::extrapolate::k_reading_burst,
                                                      nullptr);
    for (unsigned i = 0; i < n; ++i)
        c.extrapolator->reading(r[i].exporter, r[i].ifindex, r[i].in_octets, r[i].out_octets, r[i].t_ns);
}

void log_exporter_errors(context& c) {
    // Indexed by slot, with the slot's generation: an exporter that expired
    // and whose slot was reused starts from zero, not from its predecessor's
    // counters. Sized at set-up to the slot array (which never grows); the
    // resize is a no-op then, and sizes a context built elsewhere (tests).
    c.logged.resize(c.exporters->capacity());
    c.logged_generation.resize(c.exporters->capacity());
    unsigned lines = 0, more = 0;
    c.exporters->for_each_slot([&](uint32_t slot, uint32_t generation, const decode::exporter_state& e) {
        if (c.logged_generation[slot] != generation) {
            c.logged_generation[slot] = generation;
            c.logged[slot] = decode::counter_block{};
        }
        const std::string moved = moved_errors(e.counters, c.logged[slot]);
        if (moved.empty()) return;
        if (lines++ >= k_exporter_log_burst) {
            ++more;
            return;
        }
        char addr[46];
        decode::format_address(e.addr, addr);
        post_log(c, RTE_LOG_WARNING, "worker %u: exporter %s decode errors: %s\n", c.id, addr[0] ? addr : "::",
                 moved.c_str());
    });
    if (more)
        post_log(c, RTE_LOG_WARNING, "worker %u: %u more exporters with new decode errors (log limit %u per interval)\n",
                 c.id, more, k_exporter_log_burst);
}

// Fragment losses, rate-limited: at most one line per stats interval (checked
// on the sweep timer) and one at stop, naming the frag_* loss counters that
// moved since the last line. Off the per-packet path.
void log_fragment_losses(context& c, uint64_t now) {
    if (now < c.frag_next_log) return;
    c.frag_next_log = now + c.cfg->stats_interval_tsc;
    std::string s;
    for (std::size_t i = 0; i < reassembly::counter_count; ++i) {
        const uint64_t v = c.counters.v[frag_first + i];  // this worker's own counters
        if (counters::is_loss(reassembly::counter_table[i].k) && v != c.frag_logged[i]) {
            if (!s.empty()) s += ", ";
            s += std::string(reassembly::counter_table[i].name) + " +" + std::to_string(v - c.frag_logged[i]);
        }
        c.frag_logged[i] = v;
    }
    if (!s.empty()) post_log(c, RTE_LOG_WARNING, "worker %u: fragments dropped: %s\n", c.id, s.c_str());
}

}  // namespace

std::string moved_errors(const decode::counter_block& now, decode::counter_block& last) {
    std::string s;
    for (std::size_t i = 0; i < decode::counter_count; ++i) {
        if (counters::is_loss(decode::counter_table[i].k) && now.v[i] != last.v[i]) {
            if (!s.empty()) s += ", ";
            s += std::string(decode::counter_table[i].name) + " +" + std::to_string(now.v[i] - last.v[i]);
        }
    }
    last = now;
    return s;
}

int worker_main(void* arg) {
    context& c = *static_cast<context*>(arg);
    post_log(c, RTE_LOG_INFO, "worker %u on lcore %u: port %u rx queue %u tx queue %d -> %u sink ring(s)\n", c.id,
             c.lcore, c.port_id, c.queue_id, c.tx_queue_id, c.cfg->nb_sinks);
    if (c.qsbr != nullptr) {
        rte_rcu_qsbr_thread_register(c.qsbr, c.id);
        rte_rcu_qsbr_thread_online(c.qsbr, c.id);
    }
    rte_mbuf* pkts[k_burst];
    anchor_clock(c);
    uint64_t now = rte_rdtsc();
    // Re-anchoring every 10 ms bounds the receive-time error to 10 us even
    // with a TSC frequency estimate 0.1% off.
    const uint64_t anchor_interval_tsc = c.cfg->tsc_hz / 100;
    uint64_t next_anchor = now + anchor_interval_tsc;
    uint64_t next_sweep = now + c.cfg->sweep_interval_tsc;
    uint64_t next_log = now + c.cfg->stats_interval_tsc;
    uint32_t idle = 0;

    while (!c.stop->load(std::memory_order_relaxed)) {
        now = rte_rdtsc();
        // 1. deadlines
        if (now >= next_sweep) [[unlikely]] {
            if (!c.frag_capture_clock) c.frags->expire(now);  // counts frag_expired
            log_fragment_losses(c, now);
            next_sweep = now + c.cfg->sweep_interval_tsc;
        }
        if (now >= next_anchor) [[unlikely]] {
            anchor_clock(c);
            next_anchor = now + anchor_interval_tsc;
        }
        if (now >= next_log) [[unlikely]] {
            log_exporter_errors(c);
            next_log = now + c.cfg->stats_interval_tsc;
        }
        // Not offline while idle-yielding: a yield is microseconds, and
        // staying online keeps every grace period a proof that this worker
        // passed its loop top.
        if (c.qsbr != nullptr) rte_rcu_qsbr_quiescent(c.qsbr, c.id);
        if (!rte_ring_empty(c.mailbox_in)) [[unlikely]]
            poll_mailbox(c);
        if (c.readings != nullptr && !rte_ring_empty(c.readings)) [[unlikely]]
            take_readings(c);
        // 2. rx
        const uint16_t n = rte_eth_rx_burst(c.port_id, c.queue_id, pkts, k_burst);
        if (n == 0) {
            if (++idle >= k_idle_polls_before_yield) {
                idle = 0;
                sched_yield();
            }
            continue;
        }
        idle = 0;
        const uint64_t t = rte_rdtsc();
        c.counters.add_cycles(stage::rx, t - now);
        // 3. process
        process_burst(c, pkts, n, t);
    }

    // Stopped: nothing can complete the datagrams still in pieces.
    c.frags->expire_all();  // counts frag_expired_at_stop
    log_fragment_losses(c, UINT64_MAX);
    log_exporter_errors(c);
    if (c.qsbr != nullptr) {
        rte_rcu_qsbr_thread_offline(c.qsbr, c.id);
        rte_rcu_qsbr_thread_unregister(c.qsbr, c.id);
    }
    c.finished.store(true, std::memory_order_release);
    return 0;
}

}  // namespace sluice::worker
