// SPDX-License-Identifier: Apache-2.0
// Reassembly counters: one enum plus a constexpr {name, help, kind} table.
//
// Every fragment fed counts `frag_received` and then, exactly once, one
// terminal counter: `frag_reassembled` (part of a completed datagram),
// `frag_atomic`, `frag_duplicate`, a drop cause, `frag_expired` or
// `frag_expired_at_stop`. Until then it is held (reassembler::held_fragments()),
// so at any time:
//
//   frag_received = sum(terminal counters) + held_fragments()
//
// and after expire_all() held_fragments() is 0. `frag_datagrams` counts the
// datagrams completed (not a terminal counter).
//
// The reassembler does not own the block: its owner passes it
// `counter_count` consecutive uint64_t (the sluiced worker: the frag_* run
// of its worker counter block; sluice-decode: its own block) and the
// reassembler adds to them with relaxed stores, so the control core can read
// them live. Names are exported as `sluice_dataplane_worker_<name>_total`.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dataplane/counters/counters.hpp"

namespace sluice::reassembly {

enum class counter : uint8_t {
    received,
    reassembled,
    datagrams,
    atomic,
    duplicate,
    overlap,
    too_big,
    malformed,
    evicted_source_limit,
    evicted_table_full,
    evicted_memory,
    expired,
    expired_at_stop,
    count_  // keep last
};

constexpr std::size_t counter_count = static_cast<std::size_t>(counter::count_);

using K = counters::kind;

inline constexpr std::array<counters::info, counter_count> counter_table{{
    {"frag_received", "IP fragments handed to the reassembler.", K::volume},
    {"frag_reassembled", "Fragments that became part of a completed datagram.", K::volume},
    {"frag_datagrams", "Datagrams the reassembler completed (each counts once more in datagrams or a drop cause).",
     K::volume},
    {"frag_atomic", "IPv6 atomic fragments (offset 0, no more fragments; RFC 6946): passed through whole.",
     K::deviation},
    {"frag_duplicate",
     "Exact duplicates of a fragment already held (same offset, length and bytes): ignored. A network duplicated "
     "packets.", K::deviation},
    {"frag_overlap",
     "Fragments of datagrams with overlapping fragments (RFC 5722), held or arriving later: the datagram is dropped. "
     "A forged or broken sender.", K::error},
    {"frag_too_big", "Fragments of datagrams that would exceed 65,535 bytes reassembled: the datagram is dropped.",
     K::error},
    {"frag_malformed",
     "Fragments with an impossible length or offset (empty, non-final not a multiple of 8, past the datagram's end, "
     "two different ends): the fragment, or its datagram when inconsistent, is dropped.", K::error},
    {"frag_evicted_source_limit",
     "Fragments of the least recently touched incomplete datagram of a source that reached --frag-max-per-source: "
     "dropped. A source is flooding incomplete sets, or needs a higher bound.", K::drop},
    {"frag_evicted_table_full",
     "Fragments of the least recently touched incomplete datagram, evicted when --frag-max-flows were in progress: "
     "dropped.", K::drop},
    {"frag_evicted_memory",
     "Fragments of the least recently touched incomplete datagrams, evicted when --frag-max-bytes of fragment storage "
     "was in use: dropped.", K::drop},
    {"frag_expired",
     "Fragments of incomplete datagrams dropped by the timeout (--frag-timeout-ms): pieces lost on the way.", K::drop},
    {"frag_expired_at_stop", "Fragments of incomplete datagrams dropped at shutdown (end of replay or input, or stop).",
     K::drop},
}};

static_assert(counter_table.back().name == "frag_expired_at_stop", "counter_table must list every counter, in enum order");

}  // namespace sluice::reassembly
