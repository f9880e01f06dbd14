// SPDX-License-Identifier: Apache-2.0
// Per-exporter decode counters: one enum plus a constexpr {name, help, kind} table
// (dataplane/counters/counters.hpp).
//
// Every datagram a decoder sees increments `datagrams`; every reason a byte
// range was rejected, skipped or distrusted increments exactly one counter
// below. Counters are plain uint64_t owned by the exporter's state on the
// worker that owns the exporter (RSS keeps one exporter on one worker); the
// control core sums them across workers when asked.
//
// Names are exported as `sluice_dataplane_decode_<name>_total` with an
// `exporter` label. The help text says what a non-zero value means.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "dataplane/counters/counters.hpp"

namespace sluice::decode {

enum class counter : uint16_t {
    // ---- volume ----
    datagrams,
    datagram_bytes,
    flow_records,
    counter_records,
    // ---- template life cycle (v9 / IPFIX) ----
    templates_learned,
    options_templates_learned,
    templates_redefined,
    template_withdrawals,
    templates_expired,
    sessions_expired,
    templates_restored,
    templates_refused_withdrawn,
    options_records,
    sampling_rates_learned,
    // ---- sequence tracking ----
    sequence_lost,
    sequence_resets,
    // ---- deviations: accepted, but the exporter broke a rule ----
    dev_count_mismatch,
    dev_set_padding_nonzero,
    dev_enterprise_fields_skipped,
    dev_unknown_set_id,
    dev_unknown_sflow_format,
    dev_trailing_bytes,
    dev_unsupported_field_length,
    dev_sequence_convention,
    dev_timeval_time_fields,
    dev_icmp_type_in_src_port,
    dev_zero_length_fields,
    dev_v9_variable_length_fields,
    dev_untracked_sequence,
    dev_session_inherited,
    // ---- errors: bytes rejected ----
    err_truncated_header,
    err_unknown_version,
    err_record_truncated,
    err_count_exceeds_datagram,
    err_set_length,
    err_template_no_fields,
    err_template_field_length,
    err_template_overflows_set,
    err_template_too_many_fields,
    err_template_limit,
    err_options_scope,
    err_varlen_past_end,
    err_data_before_template,
    err_data_record_length,
    err_withdrawal_unknown,
    err_sflow_length,
    err_sflow_sample_count,
    err_sflow_header_parse,
    err_sflow_address_type,
    err_template_id,
    err_frame_section_parse,
    err_data_template_refused,
    err_domain_table_full,
    err_template_memory,
    err_v5_records_beyond_count,
    err_records_per_datagram,
    err_output_full,
    count_  // keep last
};

constexpr std::size_t counter_count = static_cast<std::size_t>(counter::count_);

using counter_info = counters::info;
using K = counters::kind;

// Same order as the enum; checked by the static_assert below.
inline constexpr std::array<counter_info, counter_count> counter_table{{
    {"datagrams", "Export datagrams received from this exporter.", K::volume},
    {"datagram_bytes", "UDP payload bytes received from this exporter.", K::volume},
    {"flow_records", "Flow records decoded and emitted.", K::volume},
    {"counter_records", "sFlow interface counter records decoded and emitted.", K::volume},
    {"templates_learned", "Data templates learned (v9/IPFIX), including re-sends.", K::volume},
    {"options_templates_learned", "Options templates learned (v9/IPFIX).", K::volume},
    {"templates_redefined", "A template id was redefined with a different layout; the old one was replaced at once.", K::volume},
    {"template_withdrawals", "IPFIX template withdrawals applied (single or all).", K::volume},
    {"templates_expired", "Templates dropped after their timeout without a refresh.", K::volume},
    {"sessions_expired", "Template sessions (a v9 source id / IPFIX observation domain from one source port) idle past exporter_idle_timeout_ns while the exporter stays active: freed with their templates by the table's incremental sweep.", K::volume},
    {"templates_restored", "Templates restored from the state file at start-up.", K::volume},
    {"templates_refused_withdrawn", "A known template id was redefined in a form that was refused (its err_* counter says why): the old layout was withdrawn so it never decodes the new layout's data; that data counts err_data_template_refused until a valid template arrives.", K::volume},
    {"options_records", "Options data records consumed (sampling parameters and other metadata).", K::volume},
    {"sampling_rates_learned", "Sampling rates learned from options data.", K::volume},
    {"sequence_lost", "Export units missing according to sequence numbers (flows for v5, datagrams for v9, records for IPFIX; for sFlow, datagrams per agent plus samples per source).", K::deviation},
    {"sequence_resets", "Sequence numbers went backwards or jumped too far: exporter restart or reordering.", K::deviation},
    {"dev_count_mismatch", "Header record/set count disagreed with what the datagram held (v9/IPFIX; v5 above 30 records): the bytes were trusted. A v5 count below the records present counts err_v5_records_beyond_count instead.", K::deviation},
    {"dev_set_padding_nonzero", "Set padding held non-zero bytes; ignored.", K::deviation},
    {"dev_enterprise_fields_skipped", "Enterprise-specific fields skipped by their declared length.", K::deviation},
    {"dev_unknown_set_id", "Sets with a reserved or unknown set id, skipped by their length.", K::deviation},
    {"dev_unknown_sflow_format", "sFlow samples or records of an unknown format, skipped by their length.", K::deviation},
    {"dev_trailing_bytes", "Bytes left after the last record or sample, ignored.", K::deviation},
    {"dev_unsupported_field_length", "A known field came with an unexpected length and was ignored.", K::deviation},
    {"dev_sequence_convention", "The exporter numbers each message including its own records (softflowd's IPFIX does): sequence tracked that way, not counted as loss.", K::deviation},
    {"dev_timeval_time_fields", "Template time fields (flowStart/End Micro/Nanoseconds) in 16-byte struct timeval form (pmacct) instead of NTP: decoded as seconds + sub-seconds, counted per template learned.", K::deviation},
    {"dev_icmp_type_in_src_port", "NetFlow v5 ICMP records with the type in the source port and the code in the destination port (fprobe) instead of type*256+code in the destination port: decoded that way.", K::deviation},
    {"dev_zero_length_fields", "Template fields of length 0 (Juniper's options scope System): skipped, the template kept; counted per template learned.", K::deviation},
    {"dev_v9_variable_length_fields", "NetFlow v9 template fields of length 65535 (H3C's VRFname), which RFC 3954 does not define: decoded with the IPFIX variable-length rules; counted per template learned.", K::deviation},
    {"dev_untracked_sequence", "Decoded, but the sequence number was not tracked: the exporter has more streams than are tracked per address (NetFlow v5: 8 engines, counted per datagram; sFlow: 16 agent/sub-agent pairs, counted per datagram, and 256 sample sources, counted per sample).", K::deviation},
    {"dev_session_inherited", "Data sets of a new transport session (same address and domain, new source port: an exporter restart) decoded with the templates of the session before it, because the new one has sent none yet.", K::deviation},
    {"err_truncated_header", "Datagram shorter than its protocol header: dropped.", K::error},
    {"err_unknown_version", "Unknown export protocol version: dropped.", K::error},
    {"err_record_truncated", "A record or sample ended past the datagram: the rest of the datagram was dropped.", K::error},
    {"err_count_exceeds_datagram", "Header count larger than the datagram can hold: only whole records decoded.", K::error},
    {"err_set_length", "A set length below the set header or past the datagram end: the rest dropped.", K::error},
    {"err_template_no_fields", "A template with zero fields (not a withdrawal): ignored.", K::error},
    {"err_template_field_length", "A template field longer than any record, or a template whose records would be empty or longer than a datagram: template rejected.", K::error},
    {"err_template_overflows_set", "A template's field count runs past its set: rejected.", K::error},
    {"err_template_too_many_fields", "A template with more fields than the configured maximum: rejected.", K::error},
    {"err_template_limit", "The exporter's template table is full: new template rejected.", K::error},
    {"err_options_scope", "An options template with scope field count or length 0: rejected.", K::error},
    {"err_varlen_past_end", "A variable-length field ran past its record or set: the rest of the set dropped.", K::error},
    {"err_data_before_template", "Data sets whose template is not known (yet): dropped, never guessed.", K::error},
    {"err_data_record_length", "Data set too short for one record of its template: dropped.", K::error},
    {"err_withdrawal_unknown", "Withdrawal for a template id that was not known.", K::error},
    {"err_sflow_length", "sFlow nested length overflowed its container: the rest dropped.", K::error},
    {"err_sflow_sample_count", "sFlow sample count larger than the datagram holds: only whole samples decoded.", K::error},
    {"err_sflow_header_parse", "sFlow raw packet header that could not be parsed past L2/L3: record kept with what parsed.", K::error},
    {"err_sflow_address_type", "sFlow address of an unknown type: for the agent address the datagram was dropped, for a next hop the record was ignored.", K::error},
    {"err_template_id", "A template (or template withdrawal) with an id below 256, which is reserved for set ids: rejected.", K::error},
    {"err_frame_section_parse", "IPFIX dataLinkFrameSection (315) / ipHeaderPacketSection (313) that could not be parsed to its end (truncated inside a header, malformed, or not IPv4/IPv6): record kept with what parsed.", K::error},
    {"err_data_template_refused", "Data sets for a template id whose last redefinition was refused: dropped until a valid template arrives.", K::error},
    {"err_domain_table_full", "A datagram for a new template session (v9 source id / IPFIX observation domain, per source port) while the exporter held max_domains_per_exporter live sessions: its sets dropped, established sessions kept (idle and superseded ones are freed first).", K::error},
    {"err_template_memory", "A template refused by the template memory budget (template_bytes_per_exporter, or the worker's template_bytes_total beyond this exporter's fair share): refused like any invalid template.", K::error},
    {"err_v5_records_beyond_count", "NetFlow v5 records present after the header's record count: not decoded (the count says they are not records), counted per record.", K::error},
    {"err_records_per_datagram", "Records beyond decoder_limits::records_per_datagram in one datagram: dropped, counted per record.", K::drop},
    {"err_output_full", "Records dropped because the caller's output buffer was full.", K::drop},
}};

static_assert(counter_table.back().name == "err_output_full",
              "counter_table must list every counter, in enum order");

// The first error/drop row; every row from it on is an error or a drop and none before is.
inline constexpr std::size_t first_loss_row = [] {
    std::size_t i = 0;
    while (i < counter_count && !counters::is_loss(counter_table[i].k)) ++i;
    return i;
}();
static_assert([] {
    for (std::size_t i = 0; i < counter_count; ++i)
        if (counters::is_loss(counter_table[i].k) != (i >= first_loss_row)) return false;
    return true;
}(), "decode counters: keep the error and drop rows together at the end of the table");

// One exporter's counters: the shared per-owner block (relaxed stores by the
// worker that owns the exporter, relaxed loads by any reader; see
// dataplane/counters/counters.hpp), plus the decoders' "did anything fail".
struct counter_block : counters::block<counter, counter_count> {
    // Sum of the error and drop rows. They form one run at the end of the
    // table (checked at compile time above), so the decoders' per-datagram
    // "did anything fail" test is one contiguous sum.
    uint64_t errors() const noexcept {
        uint64_t s = 0;
        for (std::size_t i = first_loss_row; i < counter_count; ++i) s += at(i);
        return s;
    }
    counter_block snapshot() const noexcept {
        counter_block s;
        for (std::size_t i = 0; i < counter_count; ++i) s.v[i] = at(i);
        return s;
    }
};

// Counters of one exporter table as a whole (per worker): what happened to
// exporters that have, or were refused, a slot. Exported as
// `sluice_dataplane_decode_exporters_<name>_total`.
enum class table_counter : uint16_t {
    exporters_created,
    exporters_expired,
    exporters_restored_lazily,
    refused_table_full,
    refused_invalid_first_datagram,
    refused_ipv4_mapped_ipv6_source,
    sampling_forced,
    count_
};
constexpr std::size_t table_counter_count = static_cast<std::size_t>(table_counter::count_);

inline constexpr std::array<counter_info, table_counter_count> table_counter_table{{
    {"exporters_created", "Exporters given a slot (after a first datagram that validated).", K::volume},
    {"exporters_expired", "Exporters idle for longer than decoder_limits::exporter_idle_timeout_ns: slot freed, counters kept in the table's retired totals.", K::volume},
    {"exporters_restored_lazily", "Exporters whose saved template state was applied on their first datagram.", K::volume},
    {"refused_table_full", "Datagrams from a new exporter while the table held max_exporters live exporters: dropped (established exporters are never evicted). The refused list names the top senders.", K::drop},
    {"refused_invalid_first_datagram", "Datagrams from a new exporter that did not validate (bad header, or nothing but errors): dropped without giving the sender a slot.", K::error},
    {"refused_ipv4_mapped_ipv6_source", "Datagrams whose IPv6 source address is IPv4-mapped (::ffff:a.b.c.d), which no real exporter sends from: dropped, never merged with the IPv4 exporter a.b.c.d.", K::error},
    {"sampling_forced", "Exporters whose forced sampling rate was set or changed (--sampling-override, or a forced exporter-table address or subnet): once when an exporter inside a forced entry gets its slot, and once per live exporter an entry's change reaches (a removal included).", K::volume},
}};
static_assert(table_counter_table.back().name == "sampling_forced",
              "table_counter_table must list every counter, in enum order");
static_assert(counters::table_complete(table_counter_table));

using table_counter_block = counters::block<table_counter, table_counter_count>;

}  // namespace sluice::decode
