#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""sluiced with an exporter table that forces a sampling rate on a subnet (the fixture's exporter 127.0.0.1
inside 127.0.0.0/8), end to end:
  - every record of the exporter gets the forced rate through the decoder's override (the records equal
    sluice-decode's with --sampling-override 127.0.0.1=RATE), the exporter table counts it;
  - a more specific entry without force inside the subnet wins: the exporter keeps its own rate;
  - a live run whose exporters file loses the force on a reload: the records stop carrying the forced rate,
    and `sluicectl exporters` shows the exporter's forced rate before and none after.

usage: test_enrich_forced_subnet.py SLUICED SLUICE_DECODE SLUICECTL FIXTURES_DIR [unittest args]"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest

SLUICED = SLUICE_DECODE = SLUICECTL = FIXTURES = ""
V5 = "softflowd-v5-ipv4.pcap"
V5_PORT = ["--port-map", "20555=v5"]


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def run(tmp, args):
    out, st = os.path.join(tmp, "run.json"), os.path.join(tmp, "run-stats.json")
    p = subprocess.run([SLUICED, "--json-out", out, "--stats-json", st, *args], capture_output=True, text=True,
                       timeout=120)
    if p.returncode != 0:
        raise AssertionError("sluiced failed (%d): %s" % (p.returncode, p.stderr[-3000:]))
    with open(out) as f:
        lines = f.read().splitlines()
    with open(st) as f:
        stats = json.load(f)
    return [json.loads(x) for x in lines], stats["metrics"]


def offline(pcap, extra):
    out = subprocess.run([SLUICE_DECODE, "--json", "--quiet-stats", *V5_PORT, *extra, pcap], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    return [json.loads(x) for x in out]


def raw(recs):  # the record without its enriched members (capitalised)
    return [{k: v for k, v in r.items() if not k[:1].isupper()} for r in recs]


class ForcedSubnet(unittest.TestCase):
    def test_force_on_a_subnet_reaches_its_exporters(self):
        pcap = os.path.join(FIXTURES, V5)
        with tempfile.TemporaryDirectory() as tmp:
            exp = write(os.path.join(tmp, "exp.csv"),
                        "prefix,name,site,sampling_rate,force\n127.0.0.0/8,loopback,lab,512,true\n")
            recs, m = run(tmp, ["--pcap", pcap, *V5_PORT, "--enrich-exporters", exp])
            self.assertEqual(len(recs), 15)
            self.assertEqual(raw(recs), offline(pcap, ["--sampling-override", "127.0.0.1=512"]))
            for r in recs:
                self.assertEqual((r["sampling_rate"], r["sampling_overridden"], r["ExporterName"], r["ExporterSite"]),
                                 (512, True, "loopback", "lab"))
            self.assertEqual(m["sluice_enrich_tables_overrides_sent_total"], 1)
            self.assertEqual(m["sluice_enrich_tables_overrides_failed_total"], 0)
            self.assertEqual(m["sluice_dataplane_exporter_table_sampling_forced_total"], 1)

    def test_a_more_specific_entry_without_force_wins(self):
        pcap = os.path.join(FIXTURES, V5)
        with tempfile.TemporaryDirectory() as tmp:
            exp = write(os.path.join(tmp, "exp.csv"),
                        "prefix,name,sampling_rate,force\n127.0.0.0/8,loopback,512,true\n127.0.0.1,lo-host,,\n")
            recs, m = run(tmp, ["--pcap", pcap, *V5_PORT, "--enrich-exporters", exp])
            self.assertEqual(len(recs), 15)
            self.assertEqual(raw(recs), offline(pcap, []))
            self.assertTrue(all(r["ExporterName"] == "lo-host" and r["sampling_overridden"] is False for r in recs))
            # The /8 and the exemption of 127.0.0.1 (rate 0) went to the workers; no exporter was forced.
            self.assertEqual(m["sluice_enrich_tables_overrides_sent_total"], 2)
            self.assertEqual(m["sluice_dataplane_exporter_table_sampling_forced_total"], 0)

    def test_reload_that_drops_the_force_stops_the_override(self):
        pcap = os.path.join(FIXTURES, V5)
        own = offline(pcap, [])[0]["sampling_rate"]
        self.assertNotEqual(own, 512)
        with tempfile.TemporaryDirectory() as tmp:
            exp = write(os.path.join(tmp, "exp.csv"), "prefix,name,sampling_rate,force\n127.0.0.0/8,lo,512,true\n")
            out, st = os.path.join(tmp, "live.json"), os.path.join(tmp, "live-stats.json")
            sock = os.path.join(tmp, "s.sock")
            # 25 M records/s of replay: an aggregation per exporter and 1-s window holds the rate (extrapolated
            # bytes / bytes) without writing every record.
            cmd = [SLUICED, "--port", "net_pcap0,rx_pcap=%s,infinite_rx=1" % pcap, *V5_PORT,
                   "--output", "name=agg,path=%s,aggregate=exporter,window=1,lateness=0" % out,
                   "--stats-json", st, "--duration", "7", "--enrich-exporters", exp,
                   "--control-socket", sock]
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            forced = []

            def exporters():
                r = subprocess.run([SLUICECTL, "-s", sock, "--json", "exporters"], capture_output=True, text=True,
                                   timeout=30)
                return {e["exporter"]: e["sampling_override"] for e in json.loads(r.stdout)} if r.returncode == 0 \
                    else None

            def rewrite():
                time.sleep(2.5)
                forced.append(exporters())
                write(exp, "prefix,name,sampling_rate,force\n127.0.0.0/8,lo,,\n")  # the row stays, the force goes
                time.sleep(2.5)
                forced.append(exporters())

            t = threading.Thread(target=rewrite)
            t.start()
            _, err = p.communicate(timeout=120)
            t.join()
            self.assertEqual(p.returncode, 0, err[-3000:])
            with open(out) as f:
                rows = [json.loads(x) for x in f.read().splitlines()]
            with open(st) as f:
                m = json.load(f)["metrics"]
            rows = [r for r in rows if not r["other"] and r["bytes"] > 0]
            rows.sort(key=lambda r: r["window_start_ns"])
            self.assertGreaterEqual(len(rows), 4)
            self.assertTrue(all(r["sampler_address"] == "127.0.0.1" for r in rows))
            ratio = [r["extrapolated_bytes"] / r["bytes"] for r in rows]
            own_ratio = max(own, 1)
            # Forced windows first, at most one window mixing both, then the exporter's own rate, never back.
            self.assertEqual(ratio[0], 512.0, ratio)
            self.assertEqual(ratio[-1], float(own_ratio), ratio)
            k = ratio.index(float(own_ratio))
            self.assertTrue(all(x == 512.0 for x in ratio[:k - 1]), ratio)
            self.assertTrue(all(x == float(own_ratio) for x in ratio[k:]), ratio)
            self.assertGreaterEqual(m["sluice_enrich_tables_builds_ok_total"], 2)
            self.assertEqual(m["sluice_enrich_tables_overrides_sent_total"], 2)  # the set, then the removal
            # `sluicectl exporters`: the forced rate while forced, none after the reload.
            self.assertEqual(forced, [{"127.0.0.1": 512}, {"127.0.0.1": 0}])


if __name__ == "__main__":
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    SLUICED, SLUICE_DECODE, SLUICECTL, FIXTURES = sys.argv[1:5]
    unittest.main(argv=[sys.argv[0]] + sys.argv[5:], verbosity=2)
