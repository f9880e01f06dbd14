// SPDX-License-Identifier: Apache-2.0
// The control socket's hooks, set by the composition root: `reload` (the config file, the rules) and `top` (the
// aggregating outputs' closed windows) and `lookup` (the live enrichment table version's answer for an address
// and its matched prefix; the merged set does not record which source gave each attribute, so the answer does
// not say).
#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "control/commands/commands_ctl.hpp"
#include "control/config/reload.hpp"
#include "control/daemon/daemon.hpp"

namespace sluice::control {

namespace {

using commands::error_code;
using commands::outcome;
using commands::request;

std::string json_string(std::string_view s) {
    std::string o = "\"";
    for (const char ch : s) {
        if (ch == '"' || ch == '\\') o += '\\';
        if (static_cast<unsigned char>(ch) < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", ch);
            o += b;
            continue;
        }
        o += ch;
    }
    return o + "\"";
}

std::string json_list(const std::vector<std::string>& v) {
    std::string o = "[";
    for (std::size_t i = 0; i < v.size(); ++i) o += (i ? "," : "") + json_string(v[i]);
    return o + "]";
}

// "300", "300s", "5m", "1h" -> seconds; 0 when it is none of those.
uint32_t window_seconds(std::string_view s) {
    if (s.empty()) return 0;
    uint32_t mult = 1;
    if (s.back() == 's') s.remove_suffix(1);
    else if (s.back() == 'm') mult = 60, s.remove_suffix(1);
    else if (s.back() == 'h') mult = 3600, s.remove_suffix(1);
    uint32_t n = 0;
    for (const char ch : s) {
        if (ch < '0' || ch > '9' || n > 86400) return 0;
        n = n * 10 + uint32_t(ch - '0');
    }
    return s.empty() ? 0 : n * mult;
}

outcome do_reload(daemon& d, const request& rq) {
    const std::string_view what = rq.arg("what", "config");
    if (what == "config") {
        if (d.config.file.empty())
            return outcome::error(error_code::not_configured, "not configured: sluiced was started without --config FILE");
        const reload_result r = reload_config(d);
        const std::string body = "{\"what\":\"config\",\"ok\":" + std::string(r.ok ? "true" : "false") +
                                 ",\"applied\":" + json_list(r.applied) + ",\"restart\":" + json_list(r.restart) +
                                 ",\"ignored\":" + json_list(r.ignored) + ",\"errors\":" + json_list(r.errors) + "}";
        if (!r.ok && !r.errors.empty())
            return outcome::error(error_code::failed, "reload refused, nothing changed: " + r.errors.front());
        return outcome::success(body);
    }
    if (what == "rules") {
        if (!d.classifier) return outcome::error(error_code::not_configured, "not configured: no --rules file");
        std::string err;
        if (!d.classifier->reload(d.opt.rules, &err))
            return outcome::error(error_code::failed, "rules not reloaded, the previous ones stay: " + err);
        if (d.enrich && compile_derive_rules(d, &err)) d.enrich->request_reload();  // attribute rules: rebuild
        return outcome::success("{\"what\":\"rules\",\"ok\":true,\"generation\":" +
                                std::to_string(d.classifier->acquire()->generation) + "}");
    }
    if (what == "tables") {
        if (!d.enrich)
            return outcome::error(error_code::not_configured,
                                  "not configured: no enrichment tables (--enrich-* or [enrich] keys)");
        d.enrich->request_reload();  // built off the workers; published when it validates (counters: enrich/tables)
        return outcome::success("{\"what\":\"tables\",\"ok\":true,\"requested\":true}");
    }
    return outcome::error(error_code::bad_args, "what: config, tables or rules");
}

outcome do_top(const daemon& d, const request& rq) {
    const uint32_t want_window = window_seconds(rq.arg("window"));
    if (rq.has("window") && want_window == 0)
        return outcome::error(error_code::bad_args, "window: seconds, or 5m, 1h, ...");
    const sinks::output_config* out = nullptr;
    for (const sinks::output_config& o : d.opt.sink.outputs)
        if (o.aggregate && (want_window == 0 || o.agg.window_s == want_window)) {
            out = &o;
            break;
        }
    if (out == nullptr)
        return outcome::error(error_code::not_configured,
                              want_window ? "not configured: no aggregating output has a " + std::to_string(want_window) + " s window"
                                          : "not configured: no aggregating output (--output ...,aggregate=DIMS)");
    sinks::top_query q;
    q.limit = 10;
    if (rq.has("limit")) {
        const std::string l(rq.arg("limit"));
        char* end = nullptr;
        const unsigned long n = std::strtoul(l.c_str(), &end, 10);
        if (l.empty() || *end != 0 || n == 0 || n > 100000)
            return outcome::error(error_code::bad_args, "limit: 1..100000");
        q.limit = uint32_t(n);
    }
    try {
        if (rq.has("by")) {
            std::string by(rq.arg("by"));
            for (char& ch : by)
                if (ch == ',') ch = '+';
            q.by = sinks::parse_agg_dims(by, false);  // names only the dimensions the outputs declared
        }
        sinks::top_answer a = sinks::query_top(*out->agg_history, out->agg.dims, q);
        std::string j = sinks::format_top_json(a);
        j.insert(1, "\"output\":" + json_string(out->name) + ",");
        return outcome::success(j);
    } catch (const std::invalid_argument& e) {
        return outcome::error(error_code::bad_args, std::string("by: ") + e.what());
    }
}

std::string attrs_json(const daemon& d, uint32_t id) {
    const enrich::attr_set* set = id ? d.enrich_interner->get(id) : nullptr;
    std::string o = "{";
    if (set != nullptr)
        for (std::size_t i = 0; i < set->kv.size(); ++i) {
            const std::string_view k = d.enrich->table_builder().keys().name(set->kv[i].first);
            o += (i ? "," : "") + json_string(k) + ":" + json_string(set->kv[i].second);
        }
    return o + "}";
}

// The control core publishes and frees table versions itself, so reading the live one here needs no RCU section.
outcome do_lookup(const daemon& d, const request& rq) {
    if (!d.enrich) return outcome::error(error_code::not_configured, "not configured: no enrichment tables");
    const std::string ip(rq.arg("ip"));
    uint8_t a[16]{};
    uint8_t b4[4];
    if (inet_pton(AF_INET, ip.c_str(), b4) == 1) decode::set_ipv4(a, b4);
    else if (inet_pton(AF_INET6, ip.c_str(), a) != 1)
        return outcome::error(error_code::bad_args, "ip: an IPv4 or IPv6 address");
    const enrich::table_version* v = d.enrich->version();
    if (v == nullptr) return outcome::error(error_code::failed, "no table version published yet");
    const enrich::table_version::address_answer hit = v->address(a);
    const uint32_t id = hit.attr_id;
    const enrich::exporter_entry* e = v->exporter(a);
    std::string j = "{\"ip\":" + json_string(ip) + ",\"version\":" + std::to_string(v->version) +
                    ",\"address\":" + attrs_json(d, id);
    if (hit.match) j += ",\"prefix\":" + json_string(enrich::table_version::matched_prefix(a, hit.match));
    if (e != nullptr)
        j += ",\"exporter\":" + attrs_json(d, e->attr_id) + ",\"exporter_sampling_rate\":" +
             std::to_string(e->sampling_rate) + ",\"exporter_sampling_force\":" + (e->force ? "true" : "false");
    return outcome::success(j + "}");
}

}  // namespace

void wire_control_hooks(daemon& d) {
    if (!d.api) return;
    d.api->reload = [&d](const request& rq) { return do_reload(d, rq); };
    d.api->top = [&d](const request& rq) { return do_top(d, rq); };
    d.api->lookup = [&d](const request& rq) { return do_lookup(d, rq); };
}

}  // namespace sluice::control
