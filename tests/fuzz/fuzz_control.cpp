// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the control socket's untrusted inputs. Each input is a
// request line through parse_request() and the dispatcher (as a reader and as
// a stranger: every reply must be one line of JSON with "v":1), and the same
// bytes as a template-state snapshot for the `templates` listing (with its
// header patched so the structure walk is reached).
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "control/commands/dispatch.hpp"
#include "control/commands/protocol.hpp"
#include "control/commands/templates.hpp"

namespace {

using namespace sluice::control;

void check_reply(const std::string& r) {
    if (r.find('\n') != std::string::npos || r.rfind("{\"v\":1,\"ok\":", 0) != 0) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::string_view line(reinterpret_cast<const char*>(data), size);
    static commands::dispatcher d(commands::access_policy{.owner = 1000, .read_group = 50, .admin_group = 60},
                                  [](const std::string&) {});
    static bool bound = [] {
        for (const auto& c : commands::table)
            d.bind(c.id, [](const commands::request& rq, const sock::peer&) {
                std::string v;
                for (const auto& [k, x] : rq.args) v += k + "=" + x + ";";
                return commands::outcome::success("\"" + std::to_string(v.size()) + "\"");
            });
        return true;
    }();
    (void)bound;
    if (line.find('\n') == std::string_view::npos) {  // the server hands over lines without their newline
        check_reply(d.handle(line, sock::peer{.pid = 1, .uid = 2000, .gid = 50, .groups = {}}));
        check_reply(d.handle(line, sock::peer{.pid = 1, .uid = 2001, .gid = 7, .groups = {8}}));
    }
    std::vector<uint8_t> snap(data, data + size);
    if (snap.size() >= 24) {
        std::memcpy(snap.data(), "SLUICETS", 8);
        const uint32_t v = 2;
        std::memcpy(snap.data() + 8, &v, 4);
        const uint64_t len = snap.size() - 24;
        std::memcpy(snap.data() + 16, &len, 8);
    }
    std::string out, err;
    if (commands::templates_json({snap}, "", out, err) == err.empty()) {
        // ok with no error, or failed with one
    } else {
        std::abort();
    }
    return 0;
}
