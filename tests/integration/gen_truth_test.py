#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""sluice-gen's truth against both collectors: a generated capture (every
protocol, IPv4 and IPv6, fragments, every malformed kind, bad checksums,
sequence loss) through `sluice-decode`, `sluiced --pcap`, and live from the
generator's DPDK path over net_memif into `sluiced --port`; every counter and
every record total must equal the truth file exactly.

usage: gen_truth_test.py SLUICE_GEN SLUICED SLUICE_DECODE [--long] [unittest args]"""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "perf", "gen"))
import truth_check  # noqa: E402

GEN = SLUICED = DECODE = ""
# Enough of everything that each malformed kind occurs, and still a fraction of a second to build.
MODEL = ["--seed", "42", "--datagrams", "240", "--v5", "2", "--v9", "2", "--ipfix", "2", "--sflow", "2",
         "--malformed-share", "0.08", "--bad-checksum-share", "0.03", "--fragment-share", "0.1"]


class GenTruth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="gen-truth-")
        cls.pcap = os.path.join(cls.tmp.name, "g.pcap")
        cls.truth_path = os.path.join(cls.tmp.name, "g.json")
        subprocess.run([GEN, *MODEL, "--pcap", cls.pcap, "--truth", cls.truth_path], check=True, timeout=60)
        with open(cls.truth_path) as f:
            cls.truth = json.load(f)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def assert_truth(self, stats_path, records_path):
        with open(stats_path) as f:
            bad = truth_check.check_stats(self.truth, json.load(f))
        with open(records_path) as f:
            bad += truth_check.check_records(self.truth, f)
        self.assertEqual(bad, [])

    def test_capture_covers_every_case(self):
        t = self.truth["totals"]
        for kind, n in t["malformed"].items():
            self.assertGreater(n, 0, kind)
        self.assertGreater(t["fragments"], t["fragmented_datagrams"])
        self.assertGreater(t["fragmented_datagrams"], 0)
        versions = sorted({e["version"] for e in self.truth["exporters"].values()})
        self.assertEqual(versions, ["ipfix", "sflow", "v5", "v9"])
        lost = sum(e["counters"].get("sequence_lost", 0) for e in self.truth["exporters"].values())
        self.assertGreater(lost, 0)

    def test_deterministic_for_a_seed(self):
        again, other = self.path("again.pcap"), self.path("other.pcap")
        subprocess.run([GEN, *MODEL, "--pcap", again], check=True, timeout=60)
        subprocess.run([GEN, *MODEL[:1], "43", *MODEL[2:], "--pcap", other], check=True, timeout=60)
        with open(self.pcap, "rb") as a, open(again, "rb") as b, open(other, "rb") as c:
            first = a.read()
            self.assertEqual(first, b.read())
            self.assertNotEqual(first, c.read())

    def test_sflow_extrapolation_near_the_true_traffic(self):
        # Random 1-in-N sampling: samples x N estimates the agent's packets
        # (its counter samples), within a few standard errors.
        for addr, e in self.truth["exporters"].items():
            if e["version"] != "sflow":
                continue
            true_pkts = sum(i["true_packets"] for i in e["interfaces"].values())
            est = e["extrapolated_packets"]
            self.assertLess(abs(est - true_pkts) / true_pkts, 0.15, addr)

    def test_sluice_decode_equals_truth(self):
        st, rec = self.path("d.st.json"), self.path("d.rec")
        with open(rec, "w") as out:
            subprocess.run([DECODE, "--json", "--quiet-stats", "--stats-json", st, self.pcap], stdout=out,
                           check=True, timeout=120)
        self.assert_truth(st, rec)

    def test_sluiced_pcap_equals_truth(self):
        st, rec = self.path("s.st.json"), self.path("s.rec")
        # --json-roll-bytes 0: one file for the record check (the soak variant writes about 2 GB).
        subprocess.run([SLUICED, "--pcap", self.pcap, "--json-out", rec, "--json-roll-bytes", "0", "--stats-json", st],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=120)
        self.assert_truth(st, rec)

    def test_sluiced_memif_from_the_generator_equals_truth(self):
        # The generator's DPDK path, paced, into sluiced's memif port: a live run.
        # --ring-full wait: on a loaded machine a slow sink pushes back through
        # memif on the generator (which retries) instead of dropping records.
        sock = self.path("m.sock")
        st, rec, txj = self.path("m.st.json"), self.path("m.rec"), self.path("tx.json")
        sl = subprocess.Popen([SLUICED, "--port", "net_memif0,role=server,socket=" + sock, "--duration", "600",
                               "--ring-full", "wait", "--json-out", rec, "--json-roll-bytes", "0", "--stats-json", st, "--stats-json-interval", "1",
                               "--stats-interval", "100"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            # The memif socket is abstract (DPDK's default): sluiced is up when its live stats appear.
            deadline = time.time() + 20
            while not os.path.exists(st) and time.time() < deadline and sl.poll() is None:
                time.sleep(0.1)
            self.assertTrue(os.path.exists(st), "sluiced did not start")
            eal = "--no-huge -m 256 --no-pci --file-prefix gen-truth-%d --vdev net_memif0,role=client,socket=%s" % (
                os.getpid(), sock)
            subprocess.run([GEN, *MODEL, "--tx", "--eal", eal, "--rate-pps", "20000", "--tx-json", txj],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=600)
            with open(txj) as f:
                tx = json.load(f)
            self.assertEqual(tx["frames_sent"], self.truth["totals"]["frames"])
            self.assertEqual(tx["records_sent"], self.truth["totals"]["records"])
            # Records written: poll the final-stats-free way, the output file's lines.
            deadline = time.time() + 60
            while time.time() < deadline:
                with open(rec) as f:
                    if sum(1 for _ in f) >= self.truth["totals"]["records"]:
                        break
                time.sleep(0.2)
        finally:
            sl.terminate()
            _, err = sl.communicate(timeout=60)
        self.assertEqual(sl.returncode, 0, err[-2000:])
        self.assert_truth(st, rec)


# The soak variant (meson suite `soak`): 64 exporters, 2000 datagrams each
# (about 2 M records), more of every malformed kind, jumbo fragments.
LONG_MODEL = ["--seed", "4242", "--datagrams", "2000", "--v5", "16", "--v9", "16", "--ipfix", "16", "--sflow", "16",
              "--malformed-share", "0.1", "--bad-checksum-share", "0.05", "--fragment-share", "0.2",
              "--sflow-interfaces", "48", "--interfaces", "64", "--interval-us", "500"]

if __name__ == "__main__":
    GEN, SLUICED, DECODE = sys.argv[1:4]
    rest = sys.argv[4:]
    if rest[:1] == ["--long"]:
        MODEL = LONG_MODEL
        rest = rest[1:]
    unittest.main(argv=[sys.argv[0]] + rest)
