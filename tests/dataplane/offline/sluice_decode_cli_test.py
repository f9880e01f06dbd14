#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""sluice-decode as a user runs it: pcap and pcapng give the same records,
stdin ('-') works, the table view has one row per record, stats go to stderr
(and --stats-json), IP fragments are reassembled, and exit codes are 0/1/2.

usage: sluice_decode_cli_test.py SLUICE_DECODE FIXTURES_DIR [unittest args]"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

DECODE = FIXTURES = ""


def run(*args, stdin=None):
    return subprocess.run([DECODE, *args], input=stdin, capture_output=True, timeout=60)


class SluiceDecodeCli(unittest.TestCase):
    def fixture(self, name):
        return os.path.join(FIXTURES, name)

    def test_json_lines_and_stats(self):
        with tempfile.TemporaryDirectory() as tmp:
            stats = os.path.join(tmp, "stats.json")
            p = run("--json", "--stats-json", stats, self.fixture("softflowd-v5-ipv4.pcap"))
            self.assertEqual(p.returncode, 0, p.stderr)
            lines = p.stdout.decode().splitlines()
            self.assertEqual(len(lines), 15)
            recs = [json.loads(line) for line in lines]
            self.assertTrue(all(r["type"] == "NETFLOW_V5" for r in recs))
            self.assertIn(b"exporter 127.0.0.1: datagrams 6, records 15", p.stderr)
            with open(stats) as fh:
                st = json.load(fh)
            self.assertEqual(st["records"], 15)
            self.assertEqual(st["exporters"]["127.0.0.1"]["flow_records"], 15)
            # The reassembler's counters, by the names sluiced exports (all zero: nothing fragmented).
            self.assertEqual(st["reassembly"]["frag_received"], 0)
            self.assertEqual(len(st["reassembly"]), 13)

    @unittest.skipUnless(shutil.which("editcap"), "editcap (wireshark-common) not installed")
    def test_pcapng_equals_pcap(self):
        with tempfile.TemporaryDirectory() as tmp:
            for name in ("pmacct-nfprobe-ipfix.pcap", "pmacct-sfprobe-sflow.pcap"):
                ng = os.path.join(tmp, name + "ng")
                subprocess.run(["editcap", "-F", "pcapng", self.fixture(name), ng], check=True)
                a, b = run("--quiet-stats", self.fixture(name)), run("--quiet-stats", ng)
                self.assertEqual(a.returncode, 0)
                self.assertEqual(b.returncode, 0, b.stderr)
                self.assertGreater(len(a.stdout), 0)
                self.assertEqual(a.stdout, b.stdout, name)

    def test_stdin(self):
        with open(self.fixture("pmacct-nfprobe-v9.pcap"), "rb") as fh:
            p = run("--quiet-stats", "-", stdin=fh.read())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, run("--quiet-stats", self.fixture("pmacct-nfprobe-v9.pcap")).stdout)

    def test_table_view(self):
        p = run("--table", "--quiet-stats", self.fixture("fprobe-v5-ipv4.pcap"))
        self.assertEqual(p.returncode, 0)
        rows = p.stdout.decode().splitlines()
        self.assertTrue(rows[0].startswith("TYPE"))
        self.assertEqual(len(rows) - 1, 24)
        self.assertTrue(all(r.startswith("NETFLOW_V5") for r in rows[1:]))

    def test_port_map_and_overrides(self):
        p = run("--quiet-stats", "--port-map", "26343=sflow", "--sampling-override", "127.0.0.1=4096",
                self.fixture("pmacct-sfprobe-sflow.pcap"))
        self.assertEqual(p.returncode, 0, p.stderr)
        flows = [json.loads(x) for x in p.stdout.decode().splitlines()]
        flows = [r for r in flows if r["kind"] == "flow"]
        self.assertTrue(flows)
        self.assertTrue(all(r["sampling_rate"] == 4096 and r["sampling_overridden"] for r in flows))

    def test_exit_codes(self):
        self.assertEqual(run().returncode, 2)
        self.assertEqual(run("--no-such-option", "x.pcap").returncode, 2)
        self.assertEqual(run("--port-map", "2055=v7", "x.pcap").returncode, 2)
        # The fragment bounds, as sluiced checks them.
        for flag, bad in (("--frag-max-bytes", "1000"), ("--frag-max-bytes", "2000000000"), ("--frag-max-flows", "0"),
                          ("--frag-max-per-source", "0"), ("--frag-timeout-ms", "abc")):
            p = run(flag, bad, "x.pcap")
            self.assertEqual(p.returncode, 2, (flag, bad))
            self.assertIn(flag.encode(), p.stderr)
        self.assertEqual(run("--frag-max-bytes", "262144", "--frag-max-per-source", "1", "--frag-max-flows", "1",
                             "--quiet-stats", self.fixture("softflowd-v5-ipv4.pcap")).returncode, 0)
        p = run("/nonexistent/file.pcap")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"/nonexistent/file.pcap", p.stderr)
        with tempfile.NamedTemporaryFile(suffix=".pcap") as junk:
            junk.write(b"not a capture at all")
            junk.flush()
            self.assertEqual(run(junk.name).returncode, 1)
        self.assertEqual(run("--help").returncode, 0)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    DECODE, FIXTURES = sys.argv[1:3]
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
