#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Live counter reads: the periodic stats JSON (--stats-json-interval), read
while a slow sink drains a replay, moves monotonically, shows the replay in
progress, and once the replay is drained equals the final stats exactly.

The replay runs on a live port (--port net_pcap0,rx_pcap=F: the daemon keeps
running after the file) with --ring-full wait and --sink-delay-us, so the
live reads happen while records are still flowing.

usage: sluiced_live_stats_test.py SLUICED SLUICE_DECODE FIXTURES_DIR [unittest args]"""

import json
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

DATAGRAMS, RECORDS = 600, 30


def live_parts(s):
    """What the live read carries: every counter, the per-exporter ones included
    (the exporter table's slots are stable and read live, decoder.hpp)."""
    return {
        "totals": s["totals"],
        "totals_written": s["totals_written"],
        "workers": [{k: w[k] for k in ("id", "counters", "exception", "cycles", "exporters", "exporter_table",
                                      "exporters_retired", "refused")} for w in s["workers"]],
        "sinks": s["sinks"],
        "ports": s["ports"],
    }


class LiveStats(unittest.TestCase):
    def test_live_reads_equal_final(self):
        with tempfile.TemporaryDirectory() as tmp:
            pcap = os.path.join(tmp, "in.pcap")
            t.v5_capture(pcap, "10.9.5.1", DATAGRAMS, RECORDS)
            stats = os.path.join(tmp, "stats.json")
            p = subprocess.Popen([t.SLUICED, "--port", "net_pcap0,rx_pcap=" + pcap, "--ring-full", "wait",
                                  "--ring-size", "256", "--sink-delay-us", "3000", "--json-out",
                                  os.path.join(tmp, "out.json"), "--stats-json", stats, "--stats-json-interval", "0.05"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            seen, last = [], None
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and p.poll() is None:
                    time.sleep(0.02)
                    try:
                        with open(stats) as fh:
                            s = json.load(fh)  # written by rename: never half a file
                    except FileNotFoundError:
                        continue
                    seen.append(s)
                    last = s
                    if s["totals_written"] == DATAGRAMS * RECORDS:
                        # Drained: nothing moves any more. Take one more live read.
                        time.sleep(0.3)
                        with open(stats) as fh:
                            last = json.load(fh)
                        break
                self.assertIsNotNone(last, "no periodic stats JSON")
                self.assertEqual(last["totals_written"], DATAGRAMS * RECORDS, "the replay did not drain in 60 s")
            finally:
                p.send_signal(signal.SIGTERM)
                _, err = p.communicate(timeout=30)
            self.assertEqual(p.returncode, 0, err[-2000:])
            with open(stats) as fh:
                final = json.load(fh)
            # Read during the replay: some read saw it part-way.
            self.assertTrue(any(0 < s["totals_written"] < DATAGRAMS * RECORDS for s in seen),
                            [s["totals_written"] for s in seen])
            # Monotone: every counter only grows between live reads.
            for a, b in zip(seen, seen[1:]):
                for k, v in a["totals"].items():
                    self.assertLessEqual(v, b["totals"][k], k)
                self.assertLessEqual(a["totals_written"], b["totals_written"])
            # The last live read equals the final stats, counter for counter
            # (cycles and CPU time aside: an idle worker still spends rx cycles
            # polling, an idle sink core CPU time).
            live, fin = live_parts(last), live_parts(final)
            for w in live["workers"] + fin["workers"]:
                del w["cycles"]
            for k in live["sinks"] + fin["sinks"]:
                del k["cpu_ns"]
            self.assertEqual(live, fin)
            self.assertEqual(final["totals"]["records"], DATAGRAMS * RECORDS)
            self.assertEqual(final["totals"]["ring_full"], 0)
            # Per-exporter counters are live reads too: some read saw the
            # exporter part-way, and the last one equals the final stats
            # (checked in live_parts above).
            self.assertTrue(any(0 < s["workers"][0]["exporters"].get("10.9.5.1", {}).get("flow_records", 0)
                                < DATAGRAMS * RECORDS for s in seen))
            self.assertEqual(final["workers"][0]["exporters"]["10.9.5.1"]["flow_records"], DATAGRAMS * RECORDS)
            # Registry names, summed.
            self.assertEqual(final["metrics"]["sluice_dataplane_worker_records_total"], DATAGRAMS * RECORDS)
            self.assertEqual(final["metrics"]["sluice_sinks_stage_records_total"], DATAGRAMS * RECORDS)
            self.assertEqual(final["metrics"]["sluice_sinks_output_written_total"], DATAGRAMS * RECORDS)


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    t.SLUICED, t.SLUICE_DECODE, t.FIXTURES = sys.argv[1:4]
    unittest.main(argv=[sys.argv[0]] + sys.argv[4:], verbosity=2)
