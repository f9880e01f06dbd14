#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Shutdown never hangs: sluiced writing JSON to a stdout pipe nobody reads
(and with a stderr pipe that is already full) stops within 5 s of a second
SIGTERM, or of one SIGTERM after --shutdown-timeout, and the template state
is saved either way (a restart from it decodes data sent without its template).

usage: sluiced_shutdown_test.py SLUICED SLUICE_DECODE FIXTURES_DIR [unittest args]"""

import fcntl
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapgen as g  # noqa: E402
import sluiced_pcap_test as t  # noqa: E402

EXPORTER = "10.9.6.1"


def full_pipe():
    """A pipe whose buffer is already full: every blocking write to it would block."""
    r, w = os.pipe()
    fcntl.fcntl(w, 1031, 4096)  # F_SETPIPE_SZ: small, so it fills fast
    os.set_blocking(w, False)
    try:
        while True:
            os.write(w, b"x" * 4096)
    except BlockingIOError:
        pass
    os.set_blocking(w, True)  # sluiced gets an ordinary, blocking, full pipe
    return r, w


class StalledOutputs(unittest.TestCase):
    def start(self, tmp, *extra, stall_stderr=False):
        # 300 IPFIX datagrams of 10 records: far more JSON than a pipe holds,
        # and more records than the ring: the sink blocks in write(2), the
        # ring fills, the worker waits for room (lossless replay).
        msgs = t.ipfix_payloads(300, 10)
        pcap = os.path.join(tmp, "in.pcap")
        g.write_pcap(pcap, [g.ipv4_udp_frame(EXPORTER, "10.9.0.254", 4739, 4739, m) for m in msgs])
        self.state = os.path.join(tmp, "templates.state")
        self.out_r, out_w = os.pipe()
        fcntl.fcntl(out_w, 1031, 4096)
        if stall_stderr:
            self.err_r, err_w = full_pipe()
            err = err_w
        else:
            self.err_r, err = None, open(os.path.join(tmp, "stderr.log"), "w")
        p = subprocess.Popen([t.SLUICED, "--pcap", pcap, "--json-out", "-", "--ring-size", "64",
                              "--template-state", self.state, "--template-state-interval", "0", *extra],
                             stdout=out_w, stderr=err)
        os.close(out_w)
        if stall_stderr:
            os.close(err_w)
        else:
            err.close()
        self.stderr_path = os.path.join(tmp, "stderr.log")
        # Let it start, learn the template and stall on the full pipe.
        time.sleep(3)
        self.assertIsNone(p.poll(), "sluiced exited before the test could stall it")
        return p

    def wait_exit(self, p, within):
        t0 = time.monotonic()
        try:
            rc = p.wait(timeout=within)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            self.fail("sluiced did not exit within %.0f s" % within)
        return rc, time.monotonic() - t0

    def check_state(self, tmp):
        self.assertTrue(os.path.exists(self.state), "template state not saved")
        data_only = os.path.join(tmp, "data-only.pcap")
        msgs = t.ipfix_payloads(2, 10)
        g.write_pcap(data_only, [g.ipv4_udp_frame(EXPORTER, "10.9.0.254", 4739, 4739, m) for m in msgs[1:]])
        r = t.sluiced(tmp, [data_only], "--template-state", self.state, name="restart")
        self.assertEqual(r.total("records"), 20)
        self.assertEqual(r.exporter(EXPORTER)[0]["templates_restored"], 1)

    def tearDown(self):
        for fd in (getattr(self, "out_r", None), getattr(self, "err_r", None)):
            if fd is not None:
                os.close(fd)

    def test_second_sigterm_exits_at_once(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = self.start(tmp)
            p.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            p.send_signal(signal.SIGTERM)
            rc, _ = self.wait_exit(p, 5)
            self.assertEqual(rc, 1)
            with open(self.stderr_path) as fh:
                log = fh.read()
            self.assertIn("template state saved to", log)
            self.assertIn("not joined at the second signal", log)
            self.check_state(tmp)

    def test_stalled_stderr_too(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = self.start(tmp, stall_stderr=True)
            p.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            p.send_signal(signal.SIGTERM)
            rc, _ = self.wait_exit(p, 5)
            self.assertEqual(rc, 1)
            self.check_state(tmp)

    def test_one_sigterm_gives_up_after_the_timeout(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = self.start(tmp, "--shutdown-timeout", "1")
            p.send_signal(signal.SIGTERM)
            rc, took = self.wait_exit(p, 5)
            self.assertEqual(rc, 1)
            self.assertGreaterEqual(took, 0.9)
            with open(self.stderr_path) as fh:
                log = fh.read()
            self.assertIn("sink 0 did not stop within --shutdown-timeout", log)
            self.check_state(tmp)

    def test_no_signal_stalled_replay_ends_bounded(self):
        # No signal at all: the replay stalls (the worker waits for ring room
        # behind the stalled sink), the replay guard stops it after 5 s of no
        # progress, the worker's wait is ended after --shutdown-timeout, the
        # state is saved, the sink join times out: exit 1, bounded.
        with tempfile.TemporaryDirectory() as tmp:
            p = self.start(tmp, "--shutdown-timeout", "1")
            rc, _ = self.wait_exit(p, 20)
            self.assertEqual(rc, 1)
            with open(self.stderr_path) as fh:
                log = fh.read()
            self.assertIn("no packet for 5 s", log)
            self.assertIn("still waiting for ring room", log)
            self.assertIn("sink 0 did not stop within --shutdown-timeout", log)
            self.check_state(tmp)


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    t.SLUICED, t.SLUICE_DECODE, t.FIXTURES = sys.argv[1:4]
    unittest.main(argv=[sys.argv[0]] + sys.argv[4:], verbosity=2)
