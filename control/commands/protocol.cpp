// SPDX-License-Identifier: Apache-2.0
// The control protocol's request parser and reply encoder (see protocol.hpp).
#include "protocol.hpp"

#include <simdjson.h>

#include "control/commands/json.hpp"

namespace sluice::control::commands {

namespace {

parse_result fail(error_code c, std::string m) {
    parse_result r;
    r.err = {c, std::move(m)};
    return r;
}

}  // namespace

parse_result parse_request(std::string_view line) {
    // The DOM parser copies the line into its padded buffer: the caller's
    // bytes need no SIMDJSON_PADDING. One parser per thread, reused.
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (auto e = parser.parse(line.data(), line.size()).get(doc); e)
        return fail(error_code::parse_error, std::string("not JSON: ") + simdjson::error_message(e));
    simdjson::dom::object obj;
    if (doc.get(obj)) return fail(error_code::parse_error, "a request is a JSON object");

    simdjson::dom::element v;
    if (obj["v"].get(v)) return fail(error_code::unsupported_version, "\"v\" missing (this daemon speaks v1)");
    uint64_t ver = 0;
    if (v.get(ver) || ver != k_protocol_version)
        return fail(error_code::unsupported_version, "protocol version " + simdjson::to_string(v) +
                                                         " not supported (this daemon speaks v1)");
    std::string_view cmd;
    if (obj["cmd"].get(cmd)) return fail(error_code::bad_request, "\"cmd\" missing or not a string");
    const command_info* ci = find(cmd);
    if (ci == nullptr) return fail(error_code::unknown_command, "unknown command \"" + std::string(cmd) + "\"");

    parse_result r;
    r.req.cmd = ci;
    simdjson::dom::element a;
    if (!obj["args"].get(a)) {
        simdjson::dom::object ao;
        if (a.get(ao)) return fail(error_code::bad_request, "\"args\" is not an object");
        for (auto [k, val] : ao) {
            const arg_spec* spec = nullptr;
            for (const arg_spec& s : ci->args)
                if (s.name == k) spec = &s;
            if (spec == nullptr)
                return fail(error_code::bad_args, ci->args.empty()
                                                      ? std::string(ci->path) + " takes no argument"
                                                      : "unknown argument \"" + std::string(k) + "\" for " +
                                                            std::string(ci->path));
            std::string text;
            std::string_view s;
            if (!val.get(s)) text = s;
            else if (val.is_int64() || val.is_uint64() || val.is_double() || val.is_bool()) text = simdjson::to_string(val);
            else return fail(error_code::bad_args, "argument \"" + std::string(k) + "\" must be a string or a number");
            for (const auto& prev : r.req.args)
                if (prev.first == k) return fail(error_code::bad_args, "argument \"" + std::string(k) + "\" given twice");
            r.req.args.emplace_back(std::string(k), std::move(text));
        }
    }
    for (const arg_spec& s : ci->args)
        if (s.required && !r.req.has(s.name))
            return fail(error_code::bad_args, std::string(ci->path) + " needs \"" + std::string(s.name) + "\"");
    r.ok = true;
    return r;
}

std::string ok_reply(std::string_view result) {
    std::string s = "{\"v\":1,\"ok\":true,\"result\":";
    s += result;
    s += '}';
    return s;
}

std::string error_reply(error_code c, std::string_view message) {
    json::writer w;
    w.begin_object().key("v").num(k_protocol_version).key("ok").boolean(false);
    w.key("error").begin_object().key("code").str(name(c)).key("message").str(message).end_object();
    w.end_object();
    return w.take();
}

std::string encode_request(std::string_view cmd, const std::vector<std::pair<std::string, std::string>>& args) {
    json::writer w;
    w.begin_object().key("v").num(k_protocol_version).key("cmd").str(cmd);
    if (!args.empty()) {
        w.key("args").begin_object();
        for (const auto& [k, v] : args) w.key(k).str(v);
        w.end_object();
    }
    w.end_object();
    return w.take();
}

}  // namespace sluice::control::commands
