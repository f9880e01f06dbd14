// SPDX-License-Identifier: Apache-2.0
// --snmp-exporter spec parsing (snmp/config.hpp).
#include <arpa/inet.h>

#include <charconv>
#include <cmath>
#include <string_view>

#include "config.hpp"
#include "dataplane/decode/flow_record.hpp"

namespace sluice::enrich::snmp {

namespace {

bool parse_addr(const std::string& s, std::array<uint8_t, 16>& out) {
    uint8_t b[16];
    if (inet_pton(AF_INET, s.c_str(), b) == 1) {
        decode::set_ipv4(out.data(), b);
        return true;
    }
    if (inet_pton(AF_INET6, s.c_str(), b) == 1) {
        decode::set_ipv6(out.data(), b);
        return true;
    }
    return false;
}

uint64_t number(const std::string& key, std::string_view v, uint64_t min, uint64_t max) {
    uint64_t x = 0;
    const auto r = std::from_chars(v.data(), v.data() + v.size(), x);
    if (r.ec != std::errc{} || r.ptr != v.data() + v.size() || x < min || x > max)
        throw spec_error(key + "=" + std::string(v) + ": want a whole number " + std::to_string(min) + ".." +
                         std::to_string(max));
    return x;
}

double seconds(const std::string& key, std::string_view v) {
    double x = 0;
    const auto r = std::from_chars(v.data(), v.data() + v.size(), x);
    if (r.ec != std::errc{} || r.ptr != v.data() + v.size() || !std::isfinite(x) || x <= 0 || x > 86400)
        throw spec_error(key + "=" + std::string(v) + ": want seconds, > 0 and at most 86400");
    return x;
}

}  // namespace

agent_config parse_agent_spec(const std::string& spec) {
    agent_config a;
    std::string_view rest(spec);
    bool first = true, exporter_set = false;
    while (!rest.empty() || first) {
        const auto comma = rest.find(',');
        const std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        if (first) {
            first = false;
            a.host = std::string(item);
            if (a.host.empty()) throw spec_error("no agent address");
            continue;
        }
        const auto eq = item.find('=');
        if (eq == std::string_view::npos) throw spec_error("'" + std::string(item) + "': want KEY=VALUE");
        const std::string key(item.substr(0, eq));
        const std::string_view v = item.substr(eq + 1);
        if (key == "community") {
            if (v.empty()) throw spec_error("community=: empty");
            a.community = std::string(v);
        } else if (key == "port") {
            a.port = uint16_t(number(key, v, 1, 65535));
        } else if (key == "interval") {
            a.interval_s = seconds(key, v);
        } else if (key == "timeout") {
            a.timeout_s = seconds(key, v);
        } else if (key == "retries") {
            a.retries = unsigned(number(key, v, 0, 10));
        } else if (key == "version") {
            if (v == "2c" || v == "2") a.version = 2;
            else if (v == "3") a.version = 3;
            else throw spec_error("version=" + std::string(v) + ": want 2c or 3");
        } else if (key == "user") {
            a.user = std::string(v);
        } else if (key == "auth") {
            if (v != "SHA" && v != "MD5") throw spec_error("auth=" + std::string(v) + ": want SHA or MD5");
            a.auth = std::string(v);
        } else if (key == "priv") {
            if (v != "AES" && v != "DES") throw spec_error("priv=" + std::string(v) + ": want AES or DES");
            a.priv = std::string(v);
        } else if (key == "auth_pass") {
            a.auth_pass = std::string(v);
        } else if (key == "priv_pass") {
            a.priv_pass = std::string(v);
        } else if (key == "exporter") {
            if (!parse_addr(std::string(v), a.exporter)) throw spec_error("exporter=" + std::string(v) + ": not an address");
            exporter_set = true;
        } else {
            throw spec_error("unknown key '" + key +
                             "' (community, port, interval, timeout, retries, exporter, version, user, auth, auth_pass, "
                             "priv, priv_pass)");
        }
    }
    if (a.version == 3) {
        if (a.user.empty()) throw spec_error("version=3 needs user=");
        if (!a.priv_pass.empty() && a.auth_pass.empty()) throw spec_error("priv_pass= needs auth_pass= (authPriv)");
        if ((!a.auth_pass.empty() && a.auth_pass.size() < 8) || (!a.priv_pass.empty() && a.priv_pass.size() < 8))
            throw spec_error("SNMPv3 passphrases have at least 8 characters (RFC 3414)");
    } else if (!a.user.empty() || !a.auth_pass.empty() || !a.priv_pass.empty()) {
        throw spec_error("user=, auth_pass=, priv_pass= need version=3");
    }
    if (!exporter_set && !parse_addr(a.host, a.exporter))
        throw spec_error(a.host + ": not an IPv4/IPv6 address; give exporter=ADDR for a host name");
    return a;
}

}  // namespace sluice::enrich::snmp
