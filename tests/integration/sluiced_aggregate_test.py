#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The aggregating output end to end: sluiced replays real exporters' captures with a JSON output and an
aggregating output in the same run; per window, the rows plus "other" sum exactly to the records' bytes and
packets (exported and extrapolated), and the top K equal a brute-force count over the JSON records.

usage: sluiced_aggregate_test.py SLUICED SLUICE_DECODE FIXTURES_DIR [unittest args]"""

import collections
import glob
import json
import os
import subprocess
import sys
import tempfile
import unittest

SLUICED = SLUICE_DECODE = FIXTURES = ""
WINDOW_NS = 300 * 10**9
MAX_AGE_NS = 3600 * 10**9


def fixtures(prefix=""):
    """(pcaps, --port-map args) of the real exporters' captures (tests/fixtures/manifest.tsv)."""
    pcaps, args = [], []
    with open(os.path.join(FIXTURES, "manifest.tsv")) as fh:
        for line in fh:
            if line.startswith("#") or not line.strip():
                continue
            name, port, _, proto = line.split("\t")[:4]
            if name.startswith(prefix) and proto != "-":
                pcaps.append(os.path.join(FIXTURES, name))
                args += ["--port-map", "%s=%s" % (port, proto)]
    return pcaps, args


def read(path):
    lines = []
    for f in sorted(glob.glob(path + "*"), key=lambda s: (len(s), s)):
        with open(f) as fh:
            lines += fh.read().splitlines()
    return [json.loads(ln) for ln in lines]


class Aggregate(unittest.TestCase):
    def run_sluiced(self, tmp, pcaps, top, extra=()):
        recs, agg, st = (os.path.join(tmp, n) for n in ("records.json", "agg.json", "stats.json"))
        cmd = [SLUICED]
        for p in pcaps:
            cmd += ["--pcap", p]
        cmd += ["--output", "name=records,path=" + recs,
                "--output", "name=agg,path=%s,aggregate=exporter+src_addr+dst_addr+proto+dst_port,top=%d,"
                "lateness=300" % (agg, top),
                "--stats-json", st, *extra]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        with open(st) as fh:
            stats = json.load(fh)
        return read(recs), read(agg), stats

    def check(self, records, rows, top):
        flows = [r for r in records if r["kind"] == "flow"]
        self.assertGreater(len(flows), 0)
        truth = collections.defaultdict(lambda: collections.defaultdict(lambda: [0, 0, 0, 0, 0]))
        for r in flows:
            end = r.get("time_flow_end_ns") or r["time_received_ns"]
            if end + MAX_AGE_NS < r["time_received_ns"]:  # the exporter's clock is wrong: by reception time
                end = r["time_received_ns"]
            key = (r["sampler_address"], r["src_addr"], r["dst_addr"], r["proto"], r["dst_port"])
            rate = r["sampling_rate"] or 1
            v = truth[end - end % WINDOW_NS][key]
            v[0] += r["bytes"]
            v[1] += r["packets"]
            v[2] += r["bytes"] * rate
            v[3] += r["packets"] * rate
            v[4] += 1
        by_window = collections.defaultdict(list)
        for row in rows:
            by_window[row["window_start_ns"]].append(row)
        self.assertEqual(sorted(by_window), sorted(truth))
        for start, keys in truth.items():
            got = sorted(by_window[start], key=lambda r: r["rank"])
            self.assertTrue(got[-1]["other"])
            names = ("bytes", "packets", "extrapolated_bytes", "extrapolated_packets", "records")
            for i, n in enumerate(names):
                self.assertEqual(sum(r[n] for r in got), sum(v[i] for v in keys.values()), (start, n))
            ranked = sorted(keys.items(), key=lambda kv: -kv[1][0])
            self.assertEqual(len(got) - 1, min(top, len(keys)))
            for row, (k, v) in zip(got[:-1], ranked):
                # Ties in bytes may rank in another order: compare the byte counts rank by rank, and each row's
                # own key against the truth.
                self.assertEqual(row["bytes"], v[0])
                rk = (row["sampler_address"], row["src_addr"], row["dst_addr"], row["proto"], row["dst_port"])
                self.assertEqual(keys[rk][:5], [row[n] for n in names])
            self.assertEqual(got[-1]["keys"], max(0, len(keys) - top))

    def test_fixtures_rows_sum_to_records(self):
        pcaps, ports = fixtures()
        with tempfile.TemporaryDirectory() as tmp:
            records, rows, stats = self.run_sluiced(tmp, pcaps, top=5, extra=ports)
            self.check(records, rows, 5)
            m = stats["metrics"]
            flows = sum(1 for r in records if r["kind"] == "flow")
            self.assertEqual(m["sluice_sinks_aggregate_records_total"], flows)
            self.assertEqual(m["sluice_sinks_aggregate_late_total"], 0)
            # softflowd replayed 2023 traffic in 2026: its flow end times are years before reception.
            skewed = sum(1 for r in records if r["kind"] == "flow" and r["time_flow_end_ns"]
                         and r["time_flow_end_ns"] + MAX_AGE_NS < r["time_received_ns"])
            self.assertGreater(skewed, 0)
            self.assertEqual(m["sluice_sinks_aggregate_clock_skew_total"], skewed)
            self.assertEqual(m["sluice_sinks_aggregate_rows_total"], len(rows))
            self.assertEqual(m["sluice_sinks_aggregate_not_flows_total"], len(records) - flows)

    def test_two_sinks_each_aggregate_their_share(self):
        pcaps, ports = fixtures("softflowd-")
        with tempfile.TemporaryDirectory() as tmp:
            records, rows, _ = self.run_sluiced(tmp, pcaps, top=1000, extra=("--sink-cores", "2", *ports))
            # With two sink cores each emits its own rows (PATH.s0, PATH.s1): summed over both, totals are exact.
            self.assertEqual(sum(r["bytes"] for r in rows), sum(r["bytes"] for r in records if r["kind"] == "flow"))
            self.assertEqual(sum(r["records"] for r in rows), sum(1 for r in records if r["kind"] == "flow"))
            self.assertLessEqual({r["sink"] for r in rows}, {0, 1})


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    SLUICED, SLUICE_DECODE, FIXTURES = sys.argv[1:4]
    unittest.main(argv=[sys.argv[0]] + sys.argv[4:], verbosity=2)
