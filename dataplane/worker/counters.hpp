// SPDX-License-Identifier: Apache-2.0
// Worker counters: one enum plus a constexpr {name, help, kind} table, one block per worker lcore.
//
// Every received frame increments exactly one of: `frag_received` (an IP
// fragment, handed to the reassembler), one drop cause, `exception_*`, or it
// is a whole UDP datagram for a configured port and reaches the decoder
// (`datagrams`, which also counts datagrams the reassembler completed; a
// completed datagram that then fails the IP/UDP checks counts one drop cause
// instead). Every fragment handed over ends in exactly one of the
// reassembler's terminal counters (dataplane/reassembly/counters.hpp):
// `frag_reassembled` (as part of a datagram), `frag_atomic`,
// `frag_duplicate`, a drop by cause (`frag_overlap`, `frag_too_big`,
// `frag_malformed`, `frag_evicted_*`), `frag_expired` or
// `frag_expired_at_stop`; after the worker stopped,
// frag_received = the sum of those. Each datagram the reassembler completes
// (`frag_datagrams`, plus atomic fragments) then counts once more, in
// `datagrams` or one drop cause, like a whole frame.
// Records are counted as produced, then either enqueued or dropped with
// cause ring_full: records = records_enqueued + ring_full. Enqueued records
// are decoded straight into their ring slot except `records_copied` (staged
// and copied across the ring's wrap; dataplane/ring/record_ring.hpp).
//
// Ownership: a counter_block lives in the worker's context and only that
// worker writes it. Stores are relaxed atomics (plain `mov` on x86), so the
// control core may read them at any time without a data race and without a
// lock; it sums the blocks of all workers.
//
// Names are exported as `sluice_dataplane_worker_<name>_total`.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/counters/counters.hpp"

#include "dataplane/parse/packet_parse.hpp"
#include "dataplane/reassembly/counters.hpp"

namespace sluice::worker {

enum class counter : uint16_t {
    rx_packets,
    rx_bytes,
    datagrams,
    records,
    records_enqueued,
    ring_full,
    records_copied,
    decode_dropped,
    decode_partial,
    exporter_table_full,
    // ---- drops by parse class (same order as parse::frame_class from runt on) ----
    runt,
    unsupported_ethertype,
    bad_ipv4_header,
    bad_ipv4_checksum,
    bad_ip_length,
    bad_ipv6_header,
    not_udp,
    bad_udp_length,
    bad_udp_checksum,
    // ---- other drops ----
    nic_bad_ip_checksum,
    nic_bad_udp_checksum,
    udp_port_unconfigured,
    exception_unhandled,
    exception_tx_failed,
    exception_nomem,
    exception_no_tx_queue,
    // ---- mailbox ----
    mailbox_commands,
    log_lines,
    log_dropped,
    // ---- reassembly: the run reassembly::counter, in its order (the reassembler writes these); keep it last ----
    frag_received,
    frag_reassembled,
    frag_datagrams,
    frag_atomic,
    frag_duplicate,
    frag_overlap,
    frag_too_big,
    frag_malformed,
    frag_evicted_source_limit,
    frag_evicted_table_full,
    frag_evicted_memory,
    frag_expired,
    frag_expired_at_stop,
    count_  // keep last
};

constexpr std::size_t counter_count = static_cast<std::size_t>(counter::count_);

using counter_info = counters::info;
using K = counters::kind;

inline constexpr std::array<counter_info, counter_count> counter_table{{
    {"rx_packets", "Frames received from the port queue.", K::volume},
    {"rx_bytes", "Bytes of the frames received.", K::volume},
    {"datagrams", "UDP datagrams (whole or reassembled) handed to the decoders.", K::volume},
    {"records", "Records the decoders produced.", K::volume},
    {"records_enqueued", "Records enqueued onto a sink ring.", K::volume},
    {"ring_full", "Records dropped because the sink ring was full: the sink is too slow.", K::drop},
    {"records_copied", "Records decoded into the worker's staging buffer and then copied into a ring slot (the "
                       "ring reservation wrapped, or the ring was nearly full); every other enqueued record was "
                       "decoded in place, written once.", K::volume},
    {"decode_dropped", "Datagrams the decoder rejected entirely (see the exporter's err_* counters).", K::error},
    {"decode_partial", "Datagrams the decoder accepted only in part (see the exporter's counters).", K::deviation},
    {"exporter_table_full", "Datagrams dropped because the worker's exporter table reached --max-exporters.", K::drop},
    {"runt", "Frames shorter than an Ethernet header: dropped.", K::error},
    {"unsupported_ethertype", "Frames neither IPv4, IPv6 nor ARP: dropped.", K::error},
    {"bad_ipv4_header", "IPv4 version/IHL wrong or header past the frame: dropped.", K::error},
    {"bad_ipv4_checksum", "IPv4 header checksum wrong (software check): dropped.", K::error},
    {"bad_ip_length", "IP length field inconsistent with the frame: dropped.", K::error},
    {"bad_ipv6_header", "IPv6 header or extension chain malformed: dropped.", K::error},
    {"not_udp", "IP packets that are not UDP (and not for the exception path): dropped.", K::error},
    {"bad_udp_length", "UDP length disagrees with the IP payload: dropped.", K::error},
    {"bad_udp_checksum", "UDP checksum wrong (software check, --verify-udp-checksum): dropped.", K::error},
    {"nic_bad_ip_checksum", "The NIC flagged the IPv4 header checksum bad: dropped.", K::error},
    {"nic_bad_udp_checksum", "The NIC flagged the UDP checksum bad: dropped.", K::error},
    {"udp_port_unconfigured", "UDP to a port not in the port map: dropped. Check --port-map or the exporters.", K::drop},
    {"exception_unhandled", "ARP/ICMP/ND frames the exception path did not answer (see the exception counters).", K::drop},
    {"exception_tx_failed", "Exception replies the port did not accept for transmission: dropped.", K::drop},
    {"exception_nomem", "No mbuf for an exception reply: nothing sent. The mempool is exhausted.", K::drop},
    {"exception_no_tx_queue",
     "Exception replies not sent because this worker's port has fewer tx queues than rx queues (this worker has "
     "none). Non-zero: the NIC's tx queue limit is below --queues.", K::drop},
    {"mailbox_commands", "Commands the worker took from its control mailbox (snapshot requests, overrides).", K::volume},
    {"log_lines", "Log lines the worker posted to the control core (it never writes stderr itself).", K::volume},
    {"log_dropped",
     "Log lines dropped because the worker's event ring was full: the control core is not draining it.", K::drop},
    reassembly::counter_table[0],
    reassembly::counter_table[1],
    reassembly::counter_table[2],
    reassembly::counter_table[3],
    reassembly::counter_table[4],
    reassembly::counter_table[5],
    reassembly::counter_table[6],
    reassembly::counter_table[7],
    reassembly::counter_table[8],
    reassembly::counter_table[9],
    reassembly::counter_table[10],
    reassembly::counter_table[11],
    reassembly::counter_table[12],
}};

static_assert(counter_table.back().name == "frag_expired_at_stop", "counter_table must list every counter, in enum order");

// The frag_* run mirrors reassembly::counter, so the reassembler can count straight into the worker's block.
constexpr std::size_t frag_first = static_cast<std::size_t>(counter::frag_received);
static_assert(counter_count - frag_first == reassembly::counter_count,
              "the worker's frag_* counters must mirror reassembly::counter");
static_assert(counter_table[frag_first + static_cast<std::size_t>(reassembly::counter::expired)].name == "frag_expired",
              "the worker's frag_* counters must be in reassembly::counter order");

// parse::frame_class drop causes map 1:1 onto the run of counters starting at runt.
static_assert(static_cast<std::size_t>(parse::frame_class::count_) - static_cast<std::size_t>(parse::frame_class::runt) ==
                  static_cast<std::size_t>(counter::nic_bad_ip_checksum) - static_cast<std::size_t>(counter::runt),
              "worker drop counters must mirror parse::frame_class drop classes");

constexpr counter drop_counter(parse::frame_class c) noexcept {
    return static_cast<counter>(static_cast<std::size_t>(counter::runt) + static_cast<std::size_t>(c) -
                                static_cast<std::size_t>(parse::frame_class::runt));
}

// The worker's cycle accounting, by stage (rte_rdtsc deltas).
enum class stage : uint8_t { rx, parse, decode, enqueue, enrich, count_ };
constexpr std::size_t stage_count = static_cast<std::size_t>(stage::count_);
inline constexpr std::array<std::string_view, stage_count> stage_names{"rx", "parse", "decode", "enqueue", "enrich"};
// The same, as a counter table (the registry's `dataplane/worker_cycles`
// group: sluice_dataplane_worker_cycles_<stage>_total).
inline constexpr std::array<counters::info, stage_count> cycle_table{{
    {"rx", "TSC cycles spent in rte_eth_rx_burst (including empty polls before a burst).", K::volume},
    {"parse", "TSC cycles spent parsing, reassembling and answering exception frames.", K::volume},
    {"decode", "TSC cycles spent in the decoders.", K::volume},
    {"enqueue", "TSC cycles spent enqueueing records onto the sink rings (waits included).", K::volume},
    {"enrich", "TSC cycles spent in the enrichment lookups (enrich/tables) of the decoded records.", K::volume},
}};

using counters::relaxed_add;
using counters::relaxed_get;

// One worker's counters (the shared per-lcore block) plus its cycle
// accounting by stage; both written only by the worker, relaxed.
struct counter_block : counters::block<counter, counter_count> {
    std::array<uint64_t, stage_count> cycles{};

    // The reassembler's counters: reassembly::counter_count values from frag_received on.
    uint64_t* frag_counters() noexcept { return v.data() + frag_first; }
    void add_cycles(stage s, uint64_t n) noexcept { relaxed_add(cycles[static_cast<std::size_t>(s)], n); }
    uint64_t get_cycles(stage s) const noexcept { return relaxed_get(cycles[static_cast<std::size_t>(s)]); }

    // A consistent-enough copy for the control core (each value read atomically).
    counter_block snapshot() const noexcept {
        counter_block s;
        for (std::size_t i = 0; i < counter_count; ++i) s.v[i] = relaxed_get(v[i]);
        for (std::size_t i = 0; i < stage_count; ++i) s.cycles[i] = relaxed_get(cycles[i]);
        return s;
    }
    counter_block& operator+=(const counter_block& o) noexcept {
        for (std::size_t i = 0; i < counter_count; ++i) v[i] += o.v[i];
        for (std::size_t i = 0; i < stage_count; ++i) cycles[i] += o.cycles[i];
        return *this;
    }
};

}  // namespace sluice::worker
