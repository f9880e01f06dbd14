// SPDX-License-Identifier: Apache-2.0
// The control socket's dispatcher (see dispatch.hpp).
#include "dispatch.hpp"

namespace sluice::control::commands {

bool access_policy::may_admin(const sock::peer& p) const noexcept {
    if (p.uid == 0 || p.uid == owner) return true;
    return admin_group != gid_t(-1) && p.in_group(admin_group);
}

bool access_policy::may_read(const sock::peer& p) const noexcept {
    if (may_admin(p)) return true;
    return read_group != gid_t(-1) && p.in_group(read_group);
}

void dispatcher::log_denied(const sock::peer& p, std::string_view cmd) {
    const auto now = std::chrono::steady_clock::now();
    if (now - _last_log < std::chrono::seconds(1)) {
        ++_suppressed;
        return;
    }
    _last_log = now;
    std::string m = "control: denied \"" + std::string(cmd) + "\" to uid " + std::to_string(p.uid) + " gid " +
                    std::to_string(p.gid) + " pid " + std::to_string(p.pid);
    if (_suppressed) m += " (" + std::to_string(_suppressed) + " more refusals not logged)";
    _suppressed = 0;
    if (_log) _log(m);
}

std::string dispatcher::handle(std::string_view line, const sock::peer& p) {
    parse_result r = parse_request(line);
    if (!r.ok) {
        switch (r.err.code) {
        case error_code::unknown_command: count(sock::counter::unknown_command); break;
        case error_code::bad_args: count(sock::counter::bad_args); break;
        default: count(sock::counter::malformed); break;
        }
        // Only a peer allowed to read learns more than that it was refused.
        if (!_policy.may_read(p)) {
            count(sock::counter::denied);
            log_denied(p, "(unparsed)");
            count(sock::counter::replies_error);
            return error_reply(error_code::denied, "permission denied");
        }
        count(sock::counter::replies_error);
        return error_reply(r.err.code, r.err.message);
    }
    const command_info& ci = *r.req.cmd;
    const bool admin = ci.priv == privilege::admin || (ci.priv == privilege::admin_if_args && !r.req.args.empty());
    if (admin ? !_policy.may_admin(p) : !_policy.may_read(p)) {
        count(sock::counter::denied);
        count(sock::counter::replies_error);
        log_denied(p, ci.path);
        return error_reply(error_code::denied, std::string(ci.path) + (admin ? " needs root or the admin group"
                                                                             : " needs the control group"));
    }
    const handler& h = _handlers[static_cast<std::size_t>(ci.id)];
    if (!h) {
        count(sock::counter::replies_error);
        return error_reply(error_code::not_configured, "not configured: " + std::string(ci.path) +
                                                           " has no handler in this daemon");
    }
    outcome o = h(r.req, p);
    if (o.deferred) return sock::server::k_deferred;  // counted when answered
    if (!o.ok) {
        if (o.code == error_code::bad_args) count(sock::counter::bad_args);
        count(sock::counter::replies_error);
        return error_reply(o.code, o.message);
    }
    count(sock::counter::replies_ok);
    return ok_reply(o.result);
}

}  // namespace sluice::control::commands
