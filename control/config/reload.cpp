// SPDX-License-Identifier: Apache-2.0
// The config reload (see reload.hpp): validate, diff, apply the live keys, report the rest.
#include "reload.hpp"

#include <rte_log.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <set>

#include "control/config/keys.hpp"
#include "control/daemon/daemon.hpp"
#include "dataplane/decode/record_format.hpp"

namespace sluice::control {

namespace {

// Keys of an [[output]] a reload applies live (the sink's output_params).
bool live_output_key(const std::string& canon) {
    return canon.starts_with("output.") && (canon.ends_with(".sample") || canon.ends_with(".filter"));
}

using override_map = std::map<std::array<uint8_t, 16>, uint32_t>;

override_map overrides_of(const cli::options& o) {
    override_map m;
    for (const auto& so : o.sampling_overrides) m[so.addr] = so.rate;  // the last one wins, as on the workers
    return m;
}

std::string show_addr(const std::array<uint8_t, 16>& a) {
    char t[46];
    const std::size_t n = decode::format_address(a.data(), t);
    return n ? std::string(t, n) : std::string("::");
}

}  // namespace

std::string describe(const reload_result& r) {
    auto join = [](const std::vector<std::string>& v) {
        std::string s;
        for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "; " : "") + v[i];
        return s;
    };
    if (!r.errors.empty() && r.applied.empty())
        return "reload failed, nothing changed: " + join(r.errors);
    std::string s = "reload: " + std::to_string(r.applied.size()) + " applied live";
    if (!r.applied.empty()) s += " (" + join(r.applied) + ")";
    s += ", " + std::to_string(r.restart.size()) + " need a restart";
    if (!r.restart.empty()) s += " (" + join(r.restart) + ")";
    if (!r.ignored.empty()) s += ", " + std::to_string(r.ignored.size()) + " set on the command line (" + join(r.ignored) + ")";
    if (!r.errors.empty()) s += ", errors: " + join(r.errors);
    return s;
}

reload_result reload_config(daemon& d) {
    reload_result res;
    config_state& st = d.config;
    ++st.reloads;
    auto fail = [&](std::vector<std::string> why) {
        ++st.failed;
        res.errors = std::move(why);
        RTE_LOG(ERR, USER1, "%s\n", describe(res).c_str());
        return res;
    };
    if (st.file.empty()) return fail({"sluiced was started without --config FILE"});

    config::load_result next = config::load_file(st.file);
    if (!next.ok()) return fail(next.errors);
    // The command line on top, as at start (the flags win).
    std::vector<std::string> args = st.argv;
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    cli::options eff;
    try {
        eff = cli::parse(int(args.size()), argv.data(), &next.cfg.opt).opt;
    } catch (const cli::usage_error& e) {
        return fail({config::explain(next.cfg, e, config::flags_in(int(args.size()), argv.data()))});
    }
    const std::vector<std::string> cmdline = config::flags_in(int(args.size()), argv.data());
    if (std::vector<std::string> e = config::complete(next.cfg, eff, cmdline); !e.empty()) return fail(std::move(e));

    // The diff over the file's canonical keys.
    std::set<std::string> keys;
    for (const auto& [k, v] : st.running.values) keys.insert(k);
    for (const auto& [k, v] : next.cfg.values) keys.insert(k);
    std::vector<std::string> live;
    for (const std::string& k : keys) {
        const auto a = st.running.values.find(k), b = next.cfg.values.find(k);
        const std::string av = a == st.running.values.end() ? "(unset)" : a->second;
        const std::string bv = b == next.cfg.values.end() ? "(unset)" : b->second;
        if (av == bv) continue;
        const std::string row = b != next.cfg.values.end() ? next.cfg.rows.at(k) : st.running.rows.at(k);
        const config::key_info* info = config::find_key(row);
        const std::string what = k + ": " + av + " -> " + bv;
        if (info != nullptr && !info->flag.empty() &&
            std::find(cmdline.begin(), cmdline.end(), std::string(info->flag)) != cmdline.end()) {
            res.ignored.push_back(what);
            continue;
        }
        bool is_live = info != nullptr && info->when == config::change::live;
        if (live_output_key(k)) {
            // Live only for an output that runs now (adding one is a restart).
            const std::string name = k.substr(7, k.rfind('.') - 7);
            is_live = std::any_of(d.opt.sink.outputs.begin(), d.opt.sink.outputs.end(),
                                  [&](const sinks::output_config& o) { return o.name == name; }) &&
                      std::any_of(eff.sink.outputs.begin(), eff.sink.outputs.end(),
                                  [&](const sinks::output_config& o) { return o.name == name; });
        }
        if (is_live) live.push_back(k), res.applied.push_back(what);
        else res.restart.push_back(what);
    }

    // Apply. Everything below was validated by the load.
    if (eff.log_level != d.opt.log_level && !eff.log_level.empty()) {
        rte_log_set_global_level(cli::log_level_value(eff.log_level));
        d.opt.log_level = eff.log_level;
    }
    for (std::size_t i = 0; i < d.opt.sink.outputs.size() && !d.sinks.empty(); ++i) {
        const sinks::output_config& cur = d.opt.sink.outputs[i];
        const auto n = std::find_if(eff.sink.outputs.begin(), eff.sink.outputs.end(),
                                    [&](const sinks::output_config& o) { return o.name == cur.name; });
        if (n == eff.sink.outputs.end()) continue;
        const sinks::output_params& now = *d.sinks[0]->outputs[i]->owned;
        if (n->sample == now.sample && n->filter == now.filter_text) continue;
        for (auto& s : d.sinks) {
            auto p = std::make_unique<sinks::output_params>();
            p->sample = n->sample;
            p->filter_text = n->filter;
            if (!n->filter.empty()) p->filter = sinks::record_filter(n->filter, n->name);
            auto old = sinks::publish_params(*s->outputs[i], std::move(p));
            st.retired.push_back({std::move(old), s.get(), s->passes.load(std::memory_order_seq_cst)});
            ++st.retired_total;
        }
        RTE_LOG(NOTICE, USER1, "reload: output %s: sample %u, filter '%s' (from the next batch on)\n", cur.name.c_str(),
                n->sample, n->filter.c_str());
    }
    const override_map was = overrides_of(d.opt), now = overrides_of(eff);
    uint64_t seq = 1ull << 48;  // apart from the template saver's rounds
    bool sent = true;
    auto send = [&](const std::array<uint8_t, 16>& a, uint32_t rate) {
        worker::command cmd{.kind = worker::command_kind::set_sampling_override, .rate = rate, .seq = seq + st.reloads,
                            .addr = {}};
        std::memcpy(cmd.addr, a.data(), 16);
        if (!d.mail.send_all(cmd)) {
            sent = false;
            res.errors.push_back("sampling override of " + show_addr(a) + ": a worker's mailbox is full (not applied)");
        }
    };
    for (const auto& [a, r] : now)
        if (auto w = was.find(a); w == was.end() || w->second != r) send(a, r);
    for (const auto& [a, r] : was)
        if (now.count(a) == 0) send(a, 0);
    if (sent) d.opt.sampling_overrides = eff.sampling_overrides;

    // The running config takes the applied keys only: restart keys keep their
    // start-up value, so the next reload reports them again.
    for (const std::string& k : live) {
        if (const auto b = next.cfg.values.find(k); b != next.cfg.values.end()) {
            st.running.values[k] = b->second;
            st.running.rows[k] = next.cfg.rows.at(k);
            st.running.lines[k] = next.cfg.lines.at(k);
        } else {
            st.running.values.erase(k);
        }
    }
    res.ok = res.errors.empty();
    if (!res.ok) ++st.failed;
    RTE_LOG(NOTICE, USER1, "%s\n", describe(res).c_str());
    return res;
}

void reclaim(daemon& d) {
    auto& r = d.config.retired;
    const std::size_t before = r.size();
    r.erase(std::remove_if(r.begin(), r.end(),
                           [&](const config_state::retired_params& p) {
                               return d.sinks_joined || p.sink->passes.load(std::memory_order_seq_cst) > p.mark;
                           }),
            r.end());
    d.config.freed_total += before - r.size();
}

}  // namespace sluice::control
