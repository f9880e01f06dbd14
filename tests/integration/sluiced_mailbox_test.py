#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The worker mailboxes and the RCU domain, end to end:
  - --sampling-override reaches the workers as a mailbox command (applied at
    their first loop top): the records equal sluice-decode's with the same override;
  - workers' log lines travel worker -> control through the event ring and are
    printed by the control core, every one counted;
  - the control core completes RCU grace periods while the workers run, which
    needs every worker's quiescent report.
(The periodic template save, the other command in use, is tested by
sluiced_template_state: TemplateState.test_periodic_save_while_running.)

usage: sluiced_mailbox_test.py SLUICED SLUICE_DECODE FIXTURES_DIR [unittest args]"""

import json
import subprocess
import os
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapgen as g  # noqa: E402
import sluiced_pcap_test as t  # noqa: E402


class Mailbox(unittest.TestCase):
    def test_sampling_override_command(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, "v5.pcap")
            t.v5_capture(p, "10.9.3.1", 20, 30)
            override = ["--sampling-override", "10.9.3.1=64"]
            r = t.sluiced(tmp, [p], *override)
            self.assertEqual(len(r.lines), 600)
            recs = [json.loads(x) for x in r.lines]
            self.assertTrue(all(x["sampling_rate"] == 64 and x["sampling_overridden"] for x in recs))
            self.assertEqual(sorted(r.lines), sorted(t.offline(p, extra=override)))
            w = r.stats["workers"][0]["counters"]
            self.assertEqual(w["mailbox_commands"], 1)
            # Another exporter's override leaves this one alone.
            r2 = t.sluiced(tmp, [p], "--sampling-override", "10.9.3.2=64", name="other")
            self.assertFalse(any(json.loads(x)["sampling_overridden"] for x in r2.lines))

    def test_worker_log_lines_go_through_the_control_core(self):
        # IPFIX data before its template: the worker logs the exporter's decode
        # errors (err_data_before_template) once per stats interval and at stop.
        msgs = t.ipfix_payloads(3, 5)[1:]
        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, "no-template.pcap")
            g.write_pcap(p, [g.ipv4_udp_frame("10.9.2.1", "10.9.0.254", 4739, 4739, m) for m in msgs])
            r = t.sluiced(tmp, [p])
            self.assertIn("worker 0: exporter 10.9.2.1 decode errors: err_data_before_template +3", r.stderr)
            self.assertIn("worker 0 on lcore", r.stderr)
            c = r.stats["totals"]
            self.assertEqual(c["log_dropped"], 0)
            self.assertGreaterEqual(c["log_lines"], 2)
            # Every line a worker posted was printed by the control core.
            self.assertEqual(r.stats["control"]["log"]["worker_lines"], c["log_lines"])

    def test_full_log_ring_drops_and_counts(self):
        # 24 exporters sending IPFIX data without a template, looped
        # (infinite_rx): every exporter's err_* counters move all the time, so
        # with a 1 ms stats interval the worker posts 17 lines per interval it
        # runs in (16 exporters and a "more" line). The ring must overflow
        # whatever the scheduling: the control core, which drains it every
        # 20 ms, is held off draining by its own periodic stats write, which
        # blocks in open() on a FIFO at the path it writes first
        # (FILE.tmp) until this test reads it. (Relying on the worker
        # outpacing the 20 ms drains failed under load: a worker that runs
        # in fewer than 12 of every 20 ms posts fewer lines than the ring
        # holds.) The worker fills the ring's 192 log slots in its first 12
        # intervals; the test holds the control core for 2 s after the
        # worker's first line was printed.
        msgs = t.ipfix_payloads(2, 5)[1:]
        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, "flood.pcap")
            g.write_pcap(p, [g.ipv4_udp_frame("10.9.9.%d" % (i + 1), "10.9.0.254", 4739, 4739, m)
                             for i in range(24) for m in msgs])
            st = os.path.join(tmp, "stats.json")
            os.mkfifo(st + ".tmp")
            d = subprocess.Popen([t.SLUICED, "--port", "net_pcap0,rx_pcap=%s,infinite_rx=1" % p, "--sink-discard",
                                  "--stats-interval", "0.001", "--stats-json", st, "--stats-json-interval", "0.05",
                                  "--duration", "1.5"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            err, started = [], threading.Event()

            def read_stderr():
                for line in d.stderr:
                    err.append(line)
                    if "worker 0 on lcore" in line:
                        started.set()
            reader = threading.Thread(target=read_stderr, daemon=True)
            reader.start()
            try:
                # Printed by the control core's first drains, before its first stats write (50 ms in) blocks.
                self.assertTrue(started.wait(60), "".join(err)[-2000:])
                time.sleep(2)
                # Opening the read end lets the control core go on; read to the end (no SIGPIPE). In a thread,
                # so that a daemon that never opened the FIFO fails the test instead of hanging it.
                got = []

                def read_fifo():
                    with open(st + ".tmp") as fh:
                        got.append(fh.read())
                fifo = threading.Thread(target=read_fifo, daemon=True)
                fifo.start()
                fifo.join(30)
                if fifo.is_alive():  # no writer: release the reader's open() with one of our own
                    os.close(os.open(st + ".tmp", os.O_WRONLY | os.O_NONBLOCK))
                    self.fail("sluiced never opened %s.tmp: the stats JSON's temporary path changed?" % st)
                json.loads(got[0])  # the snapshot the control core took before the block
                self.assertEqual(d.wait(timeout=60), 0, "".join(err)[-2000:])
            finally:
                if d.poll() is None:
                    d.kill()
                    d.wait()
            reader.join(10)
            with open(st) as fh:
                s = json.load(fh)
            c = s["totals"]
            self.assertGreater(c["log_dropped"], 0)
            self.assertGreater(c["log_lines"], 0)
            # What was posted was printed, to the line; what was not is counted.
            self.assertEqual(s["control"]["log"]["worker_lines"], c["log_lines"])
            self.assertIn(c["log_dropped"], [v for k, v in s["metrics"].items() if k.endswith("worker_log_dropped_total")])

    def test_rcu_grace_periods_complete_while_workers_run(self):
        with tempfile.TemporaryDirectory() as tmp:
            a, b = os.path.join(tmp, "a.pcap"), os.path.join(tmp, "b.pcap")
            t.v5_capture(a, "10.9.1.1", 5)
            t.v5_capture(b, "10.9.1.2", 5)
            st = os.path.join(tmp, "stats.json")
            # Two live ports (the daemon keeps running after the files): two workers for 1.5 s.
            r = subprocess.run([t.SLUICED, "--port", "net_pcap0,rx_pcap=" + a, "--port", "net_pcap1,rx_pcap=" + b,
                                  "--json-out", os.path.join(tmp, "o.json"), "--stats-json", st, "--duration", "1.5"],
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            with open(st) as fh:
                s = json.load(fh)
            self.assertEqual(len(s["workers"]), 2)
            q = s["control"]["qsbr"]
            # One grace period per 100 ms is started; each completes once both
            # workers passed their loop top: nearly all of them.
            self.assertGreaterEqual(q["grace_periods_completed"], 5)
            self.assertLessEqual(q["grace_periods_started"] - q["grace_periods_completed"], 1)
            self.assertEqual(s["totals"]["records"], 300)


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    t.SLUICED, t.SLUICE_DECODE, t.FIXTURES = sys.argv[1:4]
    unittest.main(argv=[sys.argv[0]] + sys.argv[4:], verbosity=2)
