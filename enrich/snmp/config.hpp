// SPDX-License-Identifier: Apache-2.0
// SNMP poller parameters: one agent per --snmp-exporter spec, and their defaults.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace sluice::enrich::snmp {

struct agent_config {
    std::string host;                  // what to poll: an IPv4/IPv6 address (or a name net-snmp resolves)
    std::array<uint8_t, 16> exporter{};  // the records' sampler_address this agent's interfaces belong to
                                         // (IPv4-mapped for IPv4); default: host's address
    uint16_t port = 161;
    unsigned version = 2;              // 2 = SNMPv2c (community), 3 = SNMPv3 (USM user)
    std::string community = "public";  // SNMPv2c
    // SNMPv3 (RFC 3414 USM): the security level follows from what is given:
    // no passphrase = noAuthNoPriv, auth_pass = authNoPriv, both = authPriv.
    std::string user;
    std::string auth = "SHA";          // SHA (HMAC-SHA-96) or MD5
    std::string auth_pass;             // >= 8 characters (RFC 3414)
    std::string priv = "AES";          // AES (128, RFC 3826) or DES
    std::string priv_pass;
    // Seconds between polls. 60: ifHC*Octets deltas over a minute are well
    // inside the default 30 s extrapolation window's counter resolution, and
    // one poll (5 GETBULK walks) per minute per device is what NMSes do.
    double interval_s = 60.0;
    // Per request; a silent agent costs timeout x (retries + 1) per poll (the
    // first unanswered walk ends the poll). 1 s x 2 keeps a dead device from
    // delaying the others' polls by more than 2 s.
    double timeout_s = 1.0;
    unsigned retries = 1;
    // Rows per GETBULK: 25 varbinds of ifName fit any UDP datagram's 1472 bytes.
    unsigned bulk_rows = 25;  // GETBULK max-repetitions (net-snmp #defines that name)
};

struct config {
    std::vector<agent_config> agents;
};

class spec_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// "ADDR[,community=C][,port=N][,interval=S][,timeout=S][,retries=N][,exporter=ADDR]" for v2c, plus
// "version=3,user=U[,auth=SHA|MD5,auth_pass=P[,priv=AES|DES,priv_pass=P]]" for v3. Throws spec_error.
agent_config parse_agent_spec(const std::string& spec);

}  // namespace sluice::enrich::snmp
