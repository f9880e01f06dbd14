// SPDX-License-Identifier: Apache-2.0
// The compiled-template engine shared by the NetFlow v9 and IPFIX decoders:
// per-(exporter, domain) template tables, template -> decode plan
// compilation, the data-record loop, and options data (sampling rates).
//
// Ownership and lifetime:
//
//   exporter_state ──owns (unique_ptr, lazily)──► netflow_state
//                                                   │ owns, max_domains_per_exporter
//                                                   ▼
//                               template_domain  keyed (protocol version, source port, domain id):
//                               │  one transport session's domain (RFC 7011 8)
//                               │  sequence_tracker, sampling rates, sysInit
//                               │ owns, max_templates_per_domain, sorted by id
//                               ▼
//                            compiled_template  raw field list + decode plan
//
//   * Everything here belongs to the thread that owns the exporter_table
//     (decoder.hpp): no locks, no sharing. Nothing is ever shared between
//     exporters or between domains, so a bad template from one stream cannot
//     touch another stream's state.
//   * v9 source ids and IPFIX observation domains live in separate key spaces
//     (the protocol version is part of the key). Sessions are bounded
//     (max_domains_per_exporter), created only by a datagram that validates,
//     and freed when idle or superseded; a session without templates of its
//     own inherits its predecessor's (see template_domain::own_templates).
//   * Template memory is charged per session, exporter and table
//     (template_cost, account()) and bounded by template_bytes_per_exporter
//     and template_bytes_total with fair shares.
//   * Templates are created, replaced or withdrawn by the decoders, expired
//     after decoder_limits::template_timeout_ns without a refresh (0 = never),
//     and live at most as long as their exporter.
//   * Allocation happens only when a template is learned or changes, when a
//     domain or sampler is first seen, or when state is loaded. A re-sent,
//     unchanged template is compared in place and only refreshed.
//   * Workers here own their exporters outright (RSS pins an exporter to one
//     worker), so the "immutable snapshot" scheme of STYLE.md 15 is not
//     needed: there is no reader on another core.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "../decoder.hpp"

namespace sluice::decode {

namespace tmpl {

// IPFIX variable-length marker (RFC 7011 7). RFC 3954 has no such thing, but
// some v9 exporters (H3C) send it: decoded by the same rules, counted.
constexpr uint16_t varlen = 65535;
// RFC 5103 reverse information elements live under this enterprise number.
constexpr uint32_t pen_reverse = 29305;
// The largest record a datagram can carry: a 65535-byte IPFIX message minus
// the 16-byte message header and the 4-byte set header. A field or template
// longer than this can never match a record and is rejected at learn time.
constexpr uint32_t max_record_length = 65535 - 16 - 4;
// Selectors/samplers per domain: real exporters use a handful (one per
// sampled interface class); the bound keeps hostile options data from
// growing the table without limit.
constexpr uint32_t max_samplers_per_domain = 64;
// Expiry sweeps run at most this often per domain; a data set also checks
// the age of its own template, so expiry stays exact for lookups.
constexpr uint64_t sweep_interval_ns = 1000000000ull;
// A session silent this long while another session of the same domain (on
// another source port) is newer counts as superseded (the exporter
// restarted) and may be freed when the exporter's session table is full.
// One minute: far above the gap between two live processes' datagrams.
constexpr uint64_t superseded_after_ns = 60ull * 1000000000ull;

// One field as declared in a template (enterprise 0 = IANA / Cisco v9).
struct field_spec {
    uint16_t id = 0;       // information element id, enterprise bit cleared
    uint16_t length = 0;   // bytes, or varlen
    uint32_t enterprise = 0;
    bool operator==(const field_spec&) const = default;
};

// Converter ops: what one template field does to the record being built.
//
// The compiler first picks a semantic op (u8 .. u64, time_ms, ...) for a
// field, then specialise() narrows it to an exact-width variant where one
// exists, so the per-field work in the record loop is a single switch with a
// fixed-size load: no second dispatch on the field length. The width-generic
// ops remain for other reduced-size widths (RFC 7011 6.2) and for rare
// fields; they read through a switch on the length.
enum class op : uint8_t {
    skip,        // not mapped (only present in plans of variable-length templates)
    // --- exact widths (the common encodings) ---
    u8_from_1,
    u8_from_2,    // tcpControlBits in 2 bytes (RFC 7125): the low byte
    u16_from_2,
    u32_from_2,   // v9 INPUT_SNMP / SRC_AS in 2 bytes
    u32_from_4,
    u64_from_4,   // v9 IN_BYTES / IN_PKTS in 4 bytes
    u64_from_8,
    time_s_from_4,
    time_ms_from_8,
    uptime_hdr_from_4,
    etype_from_ipver_1,
    // --- semantic ops; integers take any width 1..8 (reduced-size unsigned,
    //     truncated to the destination) ---
    u8,
    u8_nz,       // only when non-zero (slot shared by a v4 and a v6 field)
    u16,
    u32,
    u64,
    addr4,       // 4 bytes -> IPv4-mapped 16-byte address
    addr4_nz,
    addr6,       // 16 bytes -> address
    addr6_nz,
    icmp_tc,     // 2 bytes type<<8|code -> icmp_type, icmp_code (only when non-zero)
    mpls,        // mplsTopLabelStackSection: label = first 20 bits
    direction,   // flowDirection 0/1 -> flow_direction
    time_s,      // seconds since the epoch -> ns
    time_ms,     // milliseconds since the epoch -> ns
    time_ntp,    // NTP 64-bit timestamp -> ns
    // 16-byte flowStart/End{Micro,Nano}seconds as pmacct (1.7) sends them:
    // a struct timeval, 8-byte big-endian seconds then 8-byte sub-seconds.
    time_timeval_us,
    time_timeval_ns,
    time_delta_us,  // microseconds before the export time -> ns
    // NetFlow v9 FIRST/LAST_SWITCHED when the template carries no
    // systemInitTimeMilliseconds: converted against the header's sysUptime
    // straight into the record (no per-record fix-up afterwards).
    uptime_hdr,
    // ipVersion 4/6 -> the record's etype, written directly. Only used when
    // the template's etype is otherwise fixed (etype_mode::fixed): with
    // by_address the value goes through the scratch area instead: the
    // by-address guess runs after the plan and would overwrite it.
    etype_from_ipver,
    mac,          // 6 bytes -> src_mac / dst_mac
    // vlanId (58) when the template has no dot1qVlanId (243): the ingress
    // VLAN goes to src_vlan (dst_off) and is also the record's vlan_id.
    vlan_and_vlan_id,
    // A BGP next hop (18 / 63) of a family whose IP next hop (15 / 62) the
    // template lacks: written to bgp_next_hop (dst_off) and to next_hop.
    addr4_and_next_hop,
    addr4_and_next_hop_nz,
    addr6_and_next_hop,
    addr6_and_next_hop_nz,
    // dataLinkFrameSection (315) / ipHeaderPacketSection (313): any length,
    // variable included. The plan only notes where the bytes are (a
    // section_ref in the scratch); the record loop parses them once the
    // plan has run, so template fields win over the frame's whatever the
    // field order.
    frame_section,
    ip_section,
};

// Where a step writes: the output record (or options_work) or the scratch.
enum class area : uint8_t { record = 0, scratch = 1 };

// One step of a decode plan: read `length` bytes at `src_off` within the
// record (fixed-length plans) and apply `code` at `dst_off` in area `dst`.
struct step {
    uint16_t src_off = 0;
    uint16_t length = 0;  // varlen in variable-length plans
    uint16_t dst_off = 0;
    op code = op::skip;
    area dst = area::record;
};
static_assert(sizeof(step) == 8);

// Where a record's sampled frame or IP header section lies (inside the data
// set being decoded: valid only while its record is finished).
struct section_ref {
    const uint8_t* data;
    uint32_t length;
    uint16_t ie;  // 315 or 313; 0 = none in this record
};

// What a sampled frame section may fill: the groups a template does not
// carry itself (compiled_template::frame_fill).
namespace frame_fill {
constexpr uint16_t addresses = 1u << 0;
constexpr uint16_t ports = 1u << 1;
constexpr uint16_t proto = 1u << 2;
constexpr uint16_t tos = 1u << 3;
constexpr uint16_t tcp_flags = 1u << 4;
constexpr uint16_t icmp = 1u << 5;
constexpr uint16_t vlans = 1u << 6;
constexpr uint16_t macs = 1u << 7;
constexpr uint16_t ttl = 1u << 8;
constexpr uint16_t flow_label = 1u << 9;
constexpr uint16_t mpls = 1u << 10;
constexpr uint16_t packets = 1u << 11;  // no packet count: the section is one sampled packet
}  // namespace frame_fill

// Per-record values that need post-processing before they reach the record.
// Plans write flow fields straight into the output slot; only these go to a
// separate small scratch struct.
struct data_scratch {
    uint64_t rev_bytes;
    uint64_t rev_packets;
    uint64_t rev_start_ns;
    uint64_t rev_end_ns;
    uint64_t sys_init_ms;   // systemInitTimeMilliseconds (160)
    uint64_t sampler_id;    // FLOW_SAMPLER_ID (48) / selectorId (302)
    uint32_t start_up;      // sysUptime-relative ms: FIRST_SWITCHED (22)
    uint32_t end_up;        // LAST_SWITCHED (21)
    uint32_t rev_start_up;
    uint32_t rev_end_up;
    uint32_t rate;          // SAMPLING_INTERVAL (34) / random interval (50) in a data record
    uint8_t rev_tcp_flags;
    uint8_t ip_version;
    uint8_t rev_tos;        // reverseIpClassOfService (29305/5)
    uint8_t pad[1];
    section_ref section;    // dataLinkFrameSection (315) / ipHeaderPacketSection (313)
};

// The area options-record plans write into.
struct options_work {
    uint64_t sampler_id;
    uint64_t interval;          // 34
    uint64_t random_interval;   // 50
    uint64_t packet_interval;   // 305
    uint64_t packet_space;      // 306
    uint64_t sampling_size;     // 309
    uint64_t sampling_population;  // 310
    uint64_t sys_init_ms;       // 160
};

// Where a flow time comes from, decided once per template. `direct`: the
// plan writes the record's time itself (absolute encodings, and v9 uptime
// converted against the header by op::uptime_hdr); `uptime`: the plan leaves
// sysUptime-relative ms in the scratch and the record loop places them.
enum class time_mode : uint8_t { none, direct, uptime };
// How a record's etype is found, decided once per template.
enum class etype_mode : uint8_t { fixed, by_address };

// Bits of compiled_template::flags.
namespace tflag {
constexpr uint16_t has_sampler_id = 1u << 0;
constexpr uint16_t has_rate = 1u << 1;
constexpr uint16_t has_sys_init = 1u << 2;
constexpr uint16_t has_ip_version = 1u << 3;
constexpr uint16_t biflow = 1u << 4;         // carries a reverse packet count
constexpr uint16_t rev_tcp_flags = 1u << 5;
constexpr uint16_t rev_tos = 1u << 6;
constexpr uint16_t frame_section = 1u << 7;  // carries IE 315 or 313: parsed per record
// options templates: what the options record can teach
constexpr uint16_t opt_sampler_id = 1u << 8;
constexpr uint16_t opt_interval = 1u << 9;
constexpr uint16_t opt_random_interval = 1u << 10;
constexpr uint16_t opt_packet_interval_space = 1u << 11;
constexpr uint16_t opt_size_population = 1u << 12;
constexpr uint16_t opt_sys_init = 1u << 13;
}  // namespace tflag

struct compiled_template {
    uint16_t id = 0;
    bool options = false;
    uint16_t scope_count = 0;         // options templates: leading scope fields
    std::vector<field_spec> fields;   // as declared: compared on re-send, persisted
    std::vector<step> plan;           // fixed: mapped fields only; variable: every field
    uint32_t record_length = 0;       // fixed-length templates; 0 when variable
    uint32_t min_length = 0;          // variable: every varlen field counted as 1 byte
    uint16_t flags = 0;
    uint16_t frame_fill = 0;          // tflag::frame_section: frame_fill bits the section may fill
    uint16_t etype = 0;               // etype_mode::fixed value
    etype_mode etypes = etype_mode::fixed;
    time_mode start = time_mode::none, end = time_mode::none;
    time_mode rev_start = time_mode::none, rev_end = time_mode::none;
    uint64_t last_seen_ns = 0;
    // A tombstone: this id was last redefined in a refused form. It has no
    // fields and no plan; data for it is dropped (err_data_template_refused)
    // until a valid template replaces it. Never saved to the state file.
    bool refused = false;

    bool fixed() const noexcept { return record_length != 0; }
};

struct sampler_rate {
    uint64_t id;
    uint32_t rate;
};

// One template session: RFC 7011 8 scopes templates to the transport session
// (for UDP: the exporter's address and source port) and the observation
// domain, so two exporting processes on one host keep their own templates.
struct template_domain {
    uint8_t version = 0;  // 9 or 10: v9 source ids and IPFIX domains never mix
    uint16_t port = 0;    // the exporter's UDP source port (0 in a format-1 state file)
    uint32_t id = 0;
    uint64_t last_seen_ns = 0;  // last datagram of this session: idle sessions expire
    // This session learned (or restored) a template itself. Until it has, a
    // data set whose template it lacks is decoded with the freshest other
    // session of the same (address, version, domain): an exporter restart
    // that changed the source port keeps decoding, as before sessions had
    // ports, and a restored state file still applies.
    bool own_templates = false;
    netflow_state* owner = nullptr;  // whose memory account the templates are charged to
    uint64_t bytes = 0;              // template memory of this session (template_cost)
    sequence_tracker seq;
    uint32_t sampling_rate = 0;         // from options data without a sampler id; 0 = unknown
    std::vector<sampler_rate> samplers; // per sampler / selector id
    uint64_t sys_init_ms = 0;           // systemInitTimeMilliseconds from options data
    bool sys_init_valid = false;
    uint64_t last_sweep_ns = 0;
    std::vector<compiled_template> templates;  // sorted by id

    compiled_template* find(uint16_t tid) noexcept;
    // The template for a data set, or nullptr; drops it first when it has
    // outlived the timeout (counted templates_expired).
    compiled_template* find_live(uint16_t tid, uint64_t now_ns, uint64_t timeout_ns, counter_block& c) noexcept;
    void sweep(uint64_t now_ns, uint64_t timeout_ns, counter_block& c) noexcept;
    bool erase(uint16_t tid) noexcept;
    uint32_t erase_all(bool options) noexcept;  // withdraw all data or all options templates
    uint32_t rate_for(uint64_t sampler) const noexcept;
};

}  // namespace tmpl

struct netflow_state {
    netflow_state() = default;
    netflow_state(const netflow_state&) = delete;
    netflow_state& operator=(const netflow_state&) = delete;
    ~netflow_state();
    uint64_t bytes = 0;                           // template memory of every session
    template_accounting* acct = nullptr;          // the table's total, or none
    std::vector<std::unique_ptr<tmpl::template_domain>> domains;  // sessions, max_domains_per_exporter
    tmpl::template_domain* last = nullptr;                       // bursts come from one session
    std::vector<tmpl::field_spec> scratch_fields;                // parser scratch: no allocation on re-sends

    tmpl::template_domain* find(uint8_t version, uint16_t port, uint32_t id) noexcept;
    // The session, created on first sight (`created` says so). When the
    // exporter already has max_domains_per_exporter sessions, idle ones
    // (exporter_idle_timeout_ns) and ones superseded by a newer session of
    // the same domain on another port are freed first; nullptr when none
    // can be (the caller counts err_domain_table_full): live sessions are
    // never evicted for a newcomer.
    tmpl::template_domain* find_or_create(uint8_t version, uint16_t port, uint32_t id, const decoder_limits& limits,
                                          uint64_t now_ns, bool& created) noexcept;
    // The freshest other session of (version, id) that has templates of its
    // own, or nullptr.
    tmpl::template_domain* predecessor(const tmpl::template_domain& d) noexcept;
    // Frees one session (a new one whose first datagram did not validate).
    void erase(const tmpl::template_domain* d) noexcept;
    // Takes a session built elsewhere (state restore) and charges its templates.
    void adopt(std::unique_ptr<tmpl::template_domain> d);
    // Frees the sessions idle past `idle_ns` (0 = never) with their templates;
    // returns how many. The exporter table's sweep calls it for exporters that
    // stay active, so an old port's or an abandoned domain's session does not
    // linger until the exporter needs its slot.
    uint32_t expire_idle(uint64_t now_ns, uint64_t idle_ns) noexcept;
};

namespace tmpl {

// Memory charged for one template: the struct, its field list and its plan.
std::size_t template_cost(const compiled_template& t) noexcept;
// Applies a change in one session's template memory to the session, its
// exporter and the table.
void account(template_domain& d, int64_t delta) noexcept;

// The exporter's limits (a default set for an exporter_state built by hand,
// as tests do).
const decoder_limits& limits_of(const exporter_state& exporter) noexcept;

// The exporter's template state, created on first use. nullptr only when
// allocation fails.
netflow_state* netflow_of(exporter_state& exporter) noexcept;

// What a template record looked like on the wire, after the protocol parser
// found its extent.
struct template_decl {
    uint16_t id = 0;
    bool options = false;
    uint16_t scope_count = 0;
    std::span<const field_spec> fields;
};

enum class learn_result : uint8_t { learned, refreshed, redefined, rejected };

// Validates and learns (or refreshes, or replaces) one template. Counts
// templates_learned / options_templates_learned / templates_redefined on
// success, exactly one err_* counter on rejection, and
// dev_enterprise_fields_skipped / dev_unsupported_field_length once per
// learn (never per record). Zero-length fields are skipped (the template is
// kept, dev_zero_length_fields); NetFlow v9 fields of length 65535 follow the
// IPFIX variable-length rules (dev_v9_variable_length_fields). A refused
// declaration withdraws a template already known under its id (see
// refuse_template). `ipfix`: IPFIX rather than NetFlow v9.
learn_result learn_template(template_domain& dom, const template_decl& decl, bool ipfix, const decoder_limits& limits,
                            uint64_t now_ns, counter_block& c) noexcept;

// A template id refused outright by a protocol parser (before
// learn_template: too many fields, no fields): a template already known
// under `id` becomes a tombstone (counted templates_refused_withdrawn), so
// its old layout never decodes the new layout's data. false when there was
// nothing to withdraw.
bool refuse_template(template_domain& dom, uint16_t id, uint64_t now_ns, counter_block& c) noexcept;

// Per-datagram facts a data set needs.
struct datagram_ctx {
    const datagram_meta* meta = nullptr;
    uint64_t export_ns = 0;
    uint32_t sys_uptime_ms = 0;  // v9 header
    uint32_t sequence = 0;
    uint8_t version = 0;         // 9 or 10
};

// Outcome of one data set.
struct data_set_result {
    uint32_t records = 0;  // data records found (options records included), emitted or not
    uint32_t emitted = 0;  // flow records appended to `out`
};

// Decodes the records of one data set (`p`, `len`: the set body, header
// excluded) with a known template. Flow records go to `out`; options records
// update the domain's sampling state. Every rejected byte range is counted.
data_set_result decode_data_set(const compiled_template& t, template_domain& dom, const uint8_t* p, uint32_t len,
                                const datagram_ctx& ctx, exporter_state& exporter, record_buffer& out) noexcept;

// The template for data set `id` in `dom` (null when the domain could not be
// created), a stale one expiring on the way: the data-set step of both v9
// and IPFIX. nullptr means the set is dropped, counted
// err_data_before_template, never guessed at. A session without templates of
// its own uses its predecessor's (dev_session_inherited) and `dom` is set to
// that session, whose sampling state then applies.
inline const compiled_template* data_template(uint16_t id, template_domain*& dom, netflow_state& st, uint64_t now,
                                              const decoder_limits& lim, counter_block& c) noexcept {
    const compiled_template* t = dom != nullptr ? dom->find_live(id, now, lim.template_timeout_ns, c) : nullptr;
    if (t == nullptr && dom != nullptr && !dom->own_templates) [[unlikely]] {
        if (template_domain* p = st.predecessor(*dom)) {
            t = p->find_live(id, now, lim.template_timeout_ns, c);
            if (t != nullptr) {
                c.add(counter::dev_session_inherited);
                dom = p;
            }
        }
    }
    if (t == nullptr) [[unlikely]] {
        c.add(counter::err_data_before_template);
        return nullptr;
    }
    if (t->refused) [[unlikely]] {
        c.add(counter::err_data_template_refused);
        return nullptr;
    }
    return t;
}

// What a v9/IPFIX message's decode is judged against at its end: the
// exporter's error count and its data-before-template count when it began.
struct message_start {
    uint64_t errors;
    uint64_t before_template;
    explicit message_start(const counter_block& c) noexcept
        : errors(c.errors()), before_template(c.get(counter::err_data_before_template)) {}
};

// The message's status from what its decode counted. A session this message
// created (`created`) keeps its slot only if the message validated: data for
// templates not known yet is fine (the session is real, just early); any
// other error frees it.
inline decode_status message_status(const counter_block& c, const message_start& at, uint32_t emitted,
                                    uint32_t records, bool created, netflow_state& st,
                                    const template_domain* dom) noexcept {
    const uint64_t errors = c.errors() - at.errors;
    if (errors == 0) return decode_status::ok;
    if (emitted != 0 || records != 0) return decode_status::partial;
    if (created && errors != c.get(counter::err_data_before_template) - at.before_template) [[unlikely]]
        st.erase(dom);
    return decode_status::dropped;
}

}  // namespace tmpl

}  // namespace sluice::decode
