// SPDX-License-Identifier: Apache-2.0
// The control socket's hooks, set by the composition root: `reload` (the config file, the rules) and `top` (the
// aggregating outputs' closed windows). `lookup` stays unset until the enrichment tables are composed in.
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
        return outcome::success("{\"what\":\"rules\",\"ok\":true,\"generation\":" +
                                std::to_string(d.classifier->acquire()->generation) + "}");
    }
    if (what == "tables")
        return outcome::error(error_code::not_configured,
                              "not configured: reload tables needs the enrichment tables, which this daemon does not run");
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
            q.by = sinks::parse_agg_dims(by);
        }
        sinks::top_answer a = sinks::query_top(*out->agg_history, out->agg.dims, q);
        std::string j = sinks::format_top_json(a);
        j.insert(1, "\"output\":" + json_string(out->name) + ",");
        return outcome::success(j);
    } catch (const std::invalid_argument& e) {
        return outcome::error(error_code::bad_args, std::string("by: ") + e.what());
    }
}

}  // namespace

void wire_control_hooks(daemon& d) {
    if (!d.api) return;
    d.api->reload = [&d](const request& rq) { return do_reload(d, rq); };
    d.api->top = [&d](const request& rq) { return do_top(d, rq); };
}

}  // namespace sluice::control
