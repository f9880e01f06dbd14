// SPDX-License-Identifier: Apache-2.0
// The periodic template-state save (see template_saver.hpp).
#include "template_saver.hpp"

#include <rte_log.h>

#include <memory>
#include <string>
#include <vector>

#include "control/daemon/daemon.hpp"
#include "dataplane/decode/template/template_state_file.hpp"

namespace sluice::control {

template_saver::template_saver(daemon& d)
    : _d(d),
      _interval(std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(d.opt.template_state_interval))),
      _next(clock::now() + _interval) {}

void template_saver::tick(clock::time_point now) {
    if (_d.opt.template_state.empty() || _interval.count() == 0) return;
    if (!_pending) {
        if (now < _next) return;
        ++_round;
        _answered.assign(_d.workers.size(), false);
        _answers = 0;
        const worker::command cmd{.kind = worker::command_kind::snapshot_template_state, .rate = 0, .seq = _round, .addr = {}};
        if (!_d.mail.send_all(cmd)) {
            // A full mailbox: that worker is not polling. Its stale command
            // is answered later with an old round number, which is ignored.
            RTE_LOG(WARNING, USER1, "template state: a worker mailbox is full; periodic save skipped\n");
            _next = now + _interval;
            return;
        }
        _asked = now;
        _pending = true;
        return;
    }
    if (_answers == _d.workers.size()) {
        write();
    } else if (now - _asked < k_answer_timeout) {
        return;
    } else {
        RTE_LOG(WARNING, USER1, "template state: a worker did not answer within 5 s; periodic save skipped\n");
    }
    _pending = false;
    _next = now + _interval;
}

void template_saver::on_ack(const worker::event& e) {
    if (!_pending || e.acked != worker::command_kind::snapshot_template_state || e.seq != _round) return;
    if (e.worker < _answered.size() && !_answered[e.worker]) {
        _answered[e.worker] = true;
        ++_answers;
    }
}

void template_saver::write() {
    std::vector<std::unique_ptr<decode::exporter_table>> tables;
    std::vector<const decode::exporter_table*> views;
    std::string err;
    for (const auto& w : _d.workers) {
        if (w->snapshot.empty()) {
            RTE_LOG(WARNING, USER1, "template state: worker %u could not serialize (out of memory); save skipped\n", w->id);
            return;
        }
        tables.push_back(std::make_unique<decode::exporter_table>(_d.wcfg.limits));
        if (!decode::restore_template_state(*tables.back(), w->snapshot, &err)) {
            RTE_LOG(ERR, USER1, "template state: worker %u snapshot unreadable: %s\n", w->id, err.c_str());
            return;
        }
        views.push_back(tables.back().get());
    }
    if (decode::save_template_state(views, _d.opt.template_state, &err))
        RTE_LOG(DEBUG, USER1, "template state saved to %s (periodic)\n", _d.opt.template_state.c_str());
    else
        RTE_LOG(ERR, USER1, "template state not saved: %s\n", err.c_str());
}

}  // namespace sluice::control
