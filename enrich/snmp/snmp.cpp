// SPDX-License-Identifier: Apache-2.0
// The SNMP poller (snmp.hpp): net-snmp single-session API, GETBULK walks of five IF-MIB columns.
#include "snmp.hpp"

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <stdexcept>

namespace sluice::enrich::snmp {

namespace {

// IF-MIB ifXTable columns (RFC 2863), numeric: no MIB file needed.
constexpr oid k_ifx_entry[] = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1};
constexpr std::size_t k_ifx_len = sizeof k_ifx_entry / sizeof k_ifx_entry[0];
enum column : oid { if_name = 1, if_hc_in_octets = 6, if_hc_out_octets = 10, if_high_speed = 15, if_alias = 18 };
constexpr column k_columns[] = {if_name, if_alias, if_high_speed, if_hc_in_octets, if_hc_out_octets};
// Rows one agent may have: a walk that goes on past this is an agent looping (or lying): an error.
constexpr std::size_t k_max_rows = 1u << 20;
// DisplayString's limit (RFC 2579): longer values are cut.
constexpr std::size_t k_max_string = 255;

uint64_t wall_ns() noexcept {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

void init_library() {
    static std::once_flag once;
    std::call_once(once, [] {
        // No snmp.conf, no persistent state, no MIB warnings, no log lines on
        // stderr: the poller counts what goes wrong instead.
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
        netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_WARNINGS, 0);
        // Without an enabled handler net-snmp falls back to stderr: register one that drops.
        snmp_disable_log();
        netsnmp_register_loghandler(NETSNMP_LOGHANDLER_NONE, LOG_DEBUG);
        // OIDs are numeric: read no MIB file (parsing the installed ones costs ~100 ms and warnings).
        netsnmp_set_mib_directory("/nonexistent-sluice-mibs");
        init_snmp("sluice");
    });
}

enum class walk_status { ok, timeout, error };

}  // namespace

struct poller::agent_state {
    agent_config cfg;
    void* session = nullptr;  // snmp_sess_open's handle; reopened after an error
    std::vector<interface_info> rows;  // the last successful poll's, sorted by ifindex

    ~agent_state() {
        if (session != nullptr) snmp_sess_close(session);
    }

    bool open() {
        if (session != nullptr) return true;
        netsnmp_session s;
        snmp_sess_init(&s);
        const std::string peer = (cfg.host.find(':') != std::string::npos ? "udp6:[" + cfg.host + "]" : "udp:" + cfg.host) +
                                 ":" + std::to_string(cfg.port);
        s.peername = const_cast<char*>(peer.c_str());
        if (cfg.version == 3) {
            s.version = SNMP_VERSION_3;
            s.securityName = const_cast<char*>(cfg.user.c_str());
            s.securityNameLen = cfg.user.size();
            s.securityLevel = cfg.auth_pass.empty()   ? SNMP_SEC_LEVEL_NOAUTH
                              : cfg.priv_pass.empty() ? SNMP_SEC_LEVEL_AUTHNOPRIV
                                                      : SNMP_SEC_LEVEL_AUTHPRIV;
            if (!cfg.auth_pass.empty()) {
                const bool sha = cfg.auth == "SHA";
                s.securityAuthProto = sha ? usmHMACSHA1AuthProtocol : usmHMACMD5AuthProtocol;
                s.securityAuthProtoLen = sha ? USM_AUTH_PROTO_SHA_LEN : USM_AUTH_PROTO_MD5_LEN;
                s.securityAuthKeyLen = USM_AUTH_KU_LEN;
                if (generate_Ku(s.securityAuthProto, u_int(s.securityAuthProtoLen),
                                reinterpret_cast<const u_char*>(cfg.auth_pass.data()), cfg.auth_pass.size(),
                                s.securityAuthKey, &s.securityAuthKeyLen) != SNMPERR_SUCCESS)
                    return false;
            }
            if (!cfg.priv_pass.empty()) {
                const bool aes = cfg.priv == "AES";
                s.securityPrivProto = aes ? usmAESPrivProtocol : usmDESPrivProtocol;
                s.securityPrivProtoLen = aes ? USM_PRIV_PROTO_AES_LEN : USM_PRIV_PROTO_DES_LEN;
                s.securityPrivKeyLen = USM_PRIV_KU_LEN;
                if (generate_Ku(s.securityAuthProto, u_int(s.securityAuthProtoLen),
                                reinterpret_cast<const u_char*>(cfg.priv_pass.data()), cfg.priv_pass.size(),
                                s.securityPrivKey, &s.securityPrivKeyLen) != SNMPERR_SUCCESS)
                    return false;
            }
        } else {
            s.version = SNMP_VERSION_2c;
            s.community = reinterpret_cast<u_char*>(const_cast<char*>(cfg.community.data()));
            s.community_len = cfg.community.size();
        }
        s.timeout = long(cfg.timeout_s * 1e6);
        s.retries = int(cfg.retries);
        session = snmp_sess_open(&s);  // copies what it needs
        return session != nullptr;
    }

    void close() {
        if (session != nullptr) snmp_sess_close(session);
        session = nullptr;
    }

    // One column by GETBULK, calling f(ifindex, variable) for each row.
    template <typename F>
    walk_status walk(column col, counter_block& c, F&& f) {
        oid base[k_ifx_len + 1];
        std::memcpy(base, k_ifx_entry, sizeof k_ifx_entry);
        base[k_ifx_len] = col;
        const std::size_t base_len = k_ifx_len + 1;
        oid cur[MAX_OID_LEN];
        std::memcpy(cur, base, sizeof base);
        std::size_t cur_len = base_len;
        std::size_t rows = 0;
        for (;;) {
            netsnmp_pdu* pdu = snmp_pdu_create(SNMP_MSG_GETBULK);
            if (pdu == nullptr) return walk_status::error;
            pdu->non_repeaters = 0;
            pdu->max_repetitions = long(cfg.bulk_rows);
            snmp_add_null_var(pdu, cur, cur_len);
            netsnmp_pdu* resp = nullptr;
            c.add(counter::requests);
            const int st = snmp_sess_synch_response(session, pdu, &resp);  // frees pdu
            if (st != STAT_SUCCESS || resp == nullptr || resp->errstat != SNMP_ERR_NOERROR) {
                if (resp != nullptr) snmp_free_pdu(resp);
                return st == STAT_TIMEOUT ? walk_status::timeout : walk_status::error;
            }
            bool done = false, moved = false;
            for (netsnmp_variable_list* v = resp->variables; v != nullptr; v = v->next_variable) {
                if (v->type == SNMP_ENDOFMIBVIEW || v->type == SNMP_NOSUCHOBJECT || v->type == SNMP_NOSUCHINSTANCE ||
                    v->name_length <= base_len || snmp_oid_compare(v->name, base_len, base, base_len) != 0) {
                    done = true;
                    break;
                }
                if (snmp_oid_compare(v->name, v->name_length, cur, cur_len) <= 0 || ++rows > k_max_rows) {
                    snmp_free_pdu(resp);  // not increasing: a broken agent would walk forever
                    return walk_status::error;
                }
                if (v->name_length == base_len + 1 && v->name[base_len] <= UINT32_MAX) f(uint32_t(v->name[base_len]), *v);
                std::memcpy(cur, v->name, v->name_length * sizeof(oid));
                cur_len = v->name_length;
                moved = true;
            }
            snmp_free_pdu(resp);
            if (done || !moved) return walk_status::ok;
        }
    }
};

const interface_info* snapshot::find(const uint8_t exporter[16], uint32_t ifindex) const noexcept {
    auto it = std::lower_bound(interfaces.begin(), interfaces.end(), std::pair{exporter, ifindex},
                               [](const interface_info& a, const std::pair<const uint8_t*, uint32_t>& k) {
                                   const int c = std::memcmp(a.exporter.data(), k.first, 16);
                                   return c < 0 || (c == 0 && a.ifindex < k.second);
                               });
    if (it == interfaces.end() || std::memcmp(it->exporter.data(), exporter, 16) != 0 || it->ifindex != ifindex)
        return nullptr;
    return &*it;
}

poller::poller(config cfg) : _cfg(std::move(cfg)), _current(std::make_shared<const snapshot>()) {
    init_library();
    for (const agent_config& a : _cfg.agents) {
        auto s = std::make_unique<agent_state>();
        s->cfg = a;
        _agents.push_back(std::move(s));
    }
}

poller::~poller() { stop(); }

bool poller::poll_once(std::size_t i) {
    agent_state& a = *_agents.at(i);
    _counters.add(counter::polls);
    if (!a.open()) {
        _counters.add(counter::polls_error);
        return false;
    }
    std::map<uint32_t, interface_info> rows;
    for (const column col : k_columns) {
        const walk_status st = a.walk(col, _counters, [&](uint32_t ifindex, const netsnmp_variable_list& v) {
            interface_info& r = rows[ifindex];
            r.ifindex = ifindex;
            switch (col) {
            case if_name:
            case if_alias:
                if (v.type == ASN_OCTET_STR) {
                    (col == if_name ? r.name : r.alias)
                        .assign(reinterpret_cast<const char*>(v.val.string), std::min(v.val_len, k_max_string));
                    r.have |= col == if_name ? have::name : have::alias;
                }
                break;
            case if_high_speed:
                if (v.type == ASN_GAUGE || v.type == ASN_UNSIGNED || v.type == ASN_INTEGER) {
                    r.speed_mbps = uint32_t(*v.val.integer);
                    r.have |= have::speed;
                }
                break;
            case if_hc_in_octets:
            case if_hc_out_octets:
                if (v.type == ASN_COUNTER64) {
                    const uint64_t x = (uint64_t(v.val.counter64->high) << 32) | uint32_t(v.val.counter64->low);
                    (col == if_hc_in_octets ? r.in_octets : r.out_octets) = x;
                    r.have |= col == if_hc_in_octets ? have::in_octets : have::out_octets;
                }
                break;
            }
        });
        if (st != walk_status::ok) {
            // A silent or failing agent keeps its last rows; an error reopens the session next time.
            _counters.add(st == walk_status::timeout ? counter::polls_timeout : counter::polls_error);
            if (st == walk_status::error) a.close();
            return false;
        }
    }
    const uint64_t now = wall_ns();
    a.rows.clear();
    for (auto& [ifindex, r] : rows) {
        r.exporter = a.cfg.exporter;
        r.polled_at_ns = now;
        a.rows.push_back(std::move(r));
    }
    _counters.add(counter::polls_ok);
    _counters.add(counter::interfaces_polled, a.rows.size());
    publish();
    return true;
}

void poller::publish() {
    auto s = std::make_shared<snapshot>();
    s->generation = ++_generation;
    for (const auto& a : _agents) s->interfaces.insert(s->interfaces.end(), a->rows.begin(), a->rows.end());
    std::sort(s->interfaces.begin(), s->interfaces.end(), [](const interface_info& x, const interface_info& y) {
        const int c = std::memcmp(x.exporter.data(), y.exporter.data(), 16);
        return c < 0 || (c == 0 && x.ifindex < y.ifindex);
    });
    _current.store(std::move(s), std::memory_order_release);
    _counters.add(counter::snapshots_published);
}

void poller::start() {
    if (_thread.joinable() || _agents.empty()) return;
    _thread = std::thread([this] { run(); });
}

void poller::stop() noexcept {
    {
        std::lock_guard<std::mutex> g(_m);
        _stop = true;
    }
    _cv.notify_all();
    if (_thread.joinable()) _thread.join();
}

void poller::run() {
    using clock = std::chrono::steady_clock;
    std::vector<clock::time_point> next(_agents.size(), clock::now());
    std::unique_lock<std::mutex> lk(_m);
    while (!_stop) {
        const clock::time_point now = clock::now();
        for (std::size_t i = 0; i < _agents.size() && !_stop; ++i) {
            if (now < next[i]) continue;
            lk.unlock();
            poll_once(i);
            lk.lock();
            next[i] = now + std::chrono::duration_cast<clock::duration>(
                                std::chrono::duration<double>(_agents[i]->cfg.interval_s));
        }
        _cv.wait_until(lk, *std::min_element(next.begin(), next.end()), [this] { return _stop; });
    }
}

}  // namespace sluice::enrich::snmp
