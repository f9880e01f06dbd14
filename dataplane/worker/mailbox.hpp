// SPDX-License-Identifier: Apache-2.0
// The worker's mailbox message types: commands control -> worker, events (log lines, acks) worker -> control.
//
// Neutral vocabulary (no control/ header): the worker includes it to poll its
// commands and post its events; control/mailbox/ creates the rings and sends
// and drains them. Each worker has two SPSC rte_rings of fixed-size elements:
//
//   control core ──command (32 B)──► in  ring ──poll at the loop top──► worker
//   control core ◄──event (256 B)─── out ring ◄──log line / ack──────── worker
//
// Commands (each has a use today):
//   snapshot_template_state  serialize the exporter table into context::snapshot,
//                            then ack with the same seq (the ack publishes it:
//                            the ring's release/acquire orders the bytes)
//   set_sampling_override    exporter_table::set_sampling_override(addr, rate)
//                            (rate 0 removes it); acked
//   set_sampling_override_prefix    exporter_table::set_sampling_override(addr, prefix_len, rate): every
//                            exporter inside addr/prefix_len (rate 0: an exemption); acked
//   clear_sampling_override_prefix  exporter_table::clear_sampling_override(addr, prefix_len); acked
// Events:
//   log   a formatted line (level, text); the worker never writes stderr itself
//   ack   the command of that kind and seq was carried out
//
// A full out ring drops log lines (counted log_dropped in the worker's
// counters) but keeps k_ack_reserve slots for acks, so a log flood never
// loses an answer; a full in ring makes send() fail on the control side.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice::worker {

enum class command_kind : uint16_t {
    snapshot_template_state,
    set_sampling_override,
    set_sampling_override_prefix,
    clear_sampling_override_prefix,
};

struct command {
    command_kind kind;
    uint8_t prefix_len;  // *_sampling_override_prefix: 0..128 over addr (IPv4-mapped a.b.c.d/N: 96 + N)
    uint8_t reserved;
    uint32_t rate;       // set_sampling_override*
    uint64_t seq;        // echoed in the ack
    uint8_t addr[16];    // *sampling_override*: the exporter or prefix (IPv4-mapped for IPv4)
};
static_assert(sizeof(command) == 32, "rte_ring elements: a multiple of 4 bytes; keep it small");

enum class event_kind : uint16_t { log, ack };

// Bytes of text in one log event: a worker's log line (an exporter address
// and a few counter names) fits; longer lines are cut.
constexpr std::size_t k_event_text = 232;

struct event {
    event_kind kind;
    uint8_t level;      // RTE_LOG_* (log)
    uint8_t reserved;
    uint16_t len;       // bytes of text (log)
    uint16_t reserved2;
    uint32_t worker;
    command_kind acked;  // ack
    uint64_t seq;        // ack
    char text[k_event_text];
};
static_assert(sizeof(event) == 256, "one event: 4 cache lines");

// Ring sizes (rte_ring: power of two, one slot unused).
// Commands are rare (a save round, an operator's change): 64 is ample.
constexpr unsigned k_command_ring = 64;
// A worker posts at most k_exporter_log_burst + 1 lines per stats interval
// and the control core drains every 20 ms: 256 absorbs a burst from a
// stalled control core.
constexpr unsigned k_event_ring = 256;
// Slots of the event ring a log line never takes: one per possible outstanding command.
constexpr unsigned k_ack_reserve = k_command_ring;

}  // namespace sluice::worker
