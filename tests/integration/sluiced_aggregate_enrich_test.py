#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The aggregating output by enrichment attributes, end to end: sluiced replays the real exporters' captures with
an inventory, an exporter table and an interface table, a JSON output (whose records carry the enriched members)
and two aggregating outputs keyed by enrichment attributes in the same run. Per window, every row equals the
count over the JSON records grouped by the members' VALUES (two hosts of one site are one row), with nothing in
"other" (top larger than the keys), and no key appears twice.

The control socket's `top` on a live run (a net_pcap port, so the daemon stays up): re-grouped by one enrichment
attribute, its rows equal the aggregating file's rows of the same window merged by that attribute's value.

usage: sluiced_aggregate_enrich_test.py SLUICED SLUICECTL FIXTURES_DIR [unittest args]"""

import collections
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

SLUICED = SLUICECTL = FIXTURES = ""
WINDOW_NS = 300 * 10**9
MAX_AGE_NS = 3600 * 10**9


def fixtures():
    pcaps, args = [], []
    with open(os.path.join(FIXTURES, "manifest.tsv")) as fh:
        for line in fh:
            if line.startswith("#") or not line.strip():
                continue
            name, port, _, proto = line.split("\t")[:4]
            if proto != "-":
                pcaps.append(os.path.join(FIXTURES, name))
                args += ["--port-map", "%s=%s" % (port, proto)]
    return pcaps, args


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def read(path):
    lines = []
    for f in sorted(glob.glob(path + "*"), key=lambda s: (len(s), s)):
        with open(f) as fh:
            lines += fh.read().splitlines()
    return [json.loads(ln) for ln in lines]


# (aggregate dims as given, the row's member names, the JSON record's members they come from)
AGG1 = ("src_site+dst_service+exporter_name+proto", ("src_net_site", "dst_net_service", "exporter_name", "proto"),
        ("SrcNetSite", "DstNetService", "ExporterName", "proto"))
AGG2 = ("src_net_site+in_if_boundary+exporter_group", ("src_net_site", "in_if_boundary", "exporter_group"),
        ("SrcNetSite", "InIfBoundary", "ExporterGroup"))


class AggregateEnrich(unittest.TestCase):
    def test_rows_by_enrichment_values_equal_the_json_records(self):
        pcaps, ports = fixtures()
        with tempfile.TemporaryDirectory() as tmp:
            inv = write(os.path.join(tmp, "inv.csv"),
                        "prefix,name,site,service\n"
                        "192.0.2.10,host-a,par1,web\n"     # two hosts of par1 with their own sets...
                        "192.0.2.11,host-b,par1,db\n"
                        "192.0.2.0/24,lan,par1,\n"          # ...and the rest of the /24: one par1 row
                        "198.51.100.0/24,dmz,ams1,web\n"
                        "203.0.113.53,dns1,fra1,dns\n"
                        "2001:db8:1::/48,v6lab,lab,\n"
                        "10.0.0.0/8,ten,lab,internal\n"
                        "172.16.0.0/12,private,lab,internal\n")
            exp = write(os.path.join(tmp, "exp.csv"),
                        "prefix,name,site,group\n203.0.113.254,edge-sflow,par1,edge\n127.0.0.0/8,loopback,lab,lab\n")
            ifs = write(os.path.join(tmp, "if.csv"),
                        "exporter,ifindex,name,boundary\n203.0.113.254,5,et-0/0/5,external\n"
                        "203.0.113.254,3,et-0/0/3,internal\n")
            recs, a1, a2, st = (os.path.join(tmp, n) for n in ("records.json", "a1.json", "a2.json", "stats.json"))
            cmd = [SLUICED]
            for p in pcaps:
                cmd += ["--pcap", p]
            cmd += [*ports, "--enrich-inventory", inv, "--enrich-exporters", exp, "--enrich-interfaces", ifs,
                    "--output", "name=records,path=" + recs,
                    "--output", "name=a1,path=%s,aggregate=%s,top=1000,lateness=300" % (a1, AGG1[0]),
                    "--output", "name=a2,path=%s,aggregate=%s,top=1000,lateness=300" % (a2, AGG2[0]),
                    "--stats-json", st]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
            self.assertEqual(p.returncode, 0, p.stderr[-3000:])
            records = read(recs)
            with open(st) as fh:
                m = json.load(fh)["metrics"]
            flows = [r for r in records if r["kind"] == "flow"]
            self.assertGreater(len(flows), 100)
            for spec, row_names, members in (AGG1, AGG2):
                rows = read(a1 if spec == AGG1[0] else a2)
                self.check(flows, rows, row_names, members)
            self.assertEqual(m["sluice_sinks_aggregate_values_overflow_total"], 0)
            self.assertEqual(m["sluice_sinks_aggregate_records_total"], 2 * len(flows))
            # The merge by value is visible: par1 is one row per window although four sets carry it.
            sites = [r for r in read(a2) if not r["other"] and r["src_net_site"] == "par1"]
            self.assertEqual(len(sites), len({(r["window_start_ns"], r["in_if_boundary"], r["exporter_group"])
                                              for r in sites}))
            par1_src = {r["src_addr"] for r in flows if r.get("SrcNetSite") == "par1"}
            self.assertGreaterEqual(len(par1_src), 3)

    def check(self, flows, rows, row_names, members):
        truth = collections.defaultdict(lambda: collections.defaultdict(lambda: [0, 0, 0, 0, 0]))
        for r in flows:
            end = r.get("time_flow_end_ns") or r["time_received_ns"]
            if end + MAX_AGE_NS < r["time_received_ns"]:
                end = r["time_received_ns"]
            key = tuple(r.get(k) for k in members)
            rate = r["sampling_rate"] or 1
            v = truth[end - end % WINDOW_NS][key]
            v[0] += r["bytes"]
            v[1] += r["packets"]
            v[2] += r["bytes"] * rate
            v[3] += r["packets"] * rate
            v[4] += 1
        got = collections.defaultdict(dict)
        for row in rows:
            if row["other"]:
                self.assertEqual((row["records"], row["keys"]), (0, 0))
                continue
            key = tuple(row[k] for k in row_names)
            self.assertNotIn(key, got[row["window_start_ns"]], "a key twice: %r" % (key,))
            got[row["window_start_ns"]][key] = [row[n] for n in ("bytes", "packets", "extrapolated_bytes",
                                                                   "extrapolated_packets", "records")]
        self.assertEqual({w: dict(k) for w, k in truth.items()}, dict(got))
        # Some rows carry values (not everything null).
        self.assertTrue(any(k[0] is not None for keys in got.values() for k in keys))


class TopByEnrichment(unittest.TestCase):
    def test_top_regroups_by_value(self):
        pcap = os.path.join(FIXTURES, "softflowd-ipfix-ipv4.pcap")  # 15 flows from 127.0.0.1
        with tempfile.TemporaryDirectory() as tmp:
            inv = write(os.path.join(tmp, "inv.csv"),
                        "prefix,name,site,service\n192.0.2.10,host-a,par1,web\n192.0.2.11,host-b,par1,db\n"
                        "192.0.2.0/24,lan,par1,\n198.51.100.0/24,dmz,ams1,web\n")
            agg, sock = os.path.join(tmp, "agg.json"), os.path.join(tmp, "s.sock")
            cmd = [SLUICED, "--port", "net_pcap0,rx_pcap=" + pcap, "--port-map", "24739=ipfix",
                   "--control-socket", sock, "--enrich-inventory", inv,
                   "--output", "name=agg,path=%s,aggregate=src_site+src_service+proto,window=1,lateness=0,"
                   "max_age=60" % agg,
                   "--eal", "--no-huge -m 512 --no-pci --file-prefix aggenrich-%d" % os.getpid()]
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            try:
                def ctl(*args):
                    r = subprocess.run([SLUICECTL, "-s", sock, "--json", *args], capture_output=True, text=True,
                                       timeout=30)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    return json.loads(r.stdout)
                deadline = time.time() + 30
                while not os.path.exists(sock) and time.time() < deadline:
                    time.sleep(0.05)
                top = {"found": False}
                while not top["found"] and time.time() < deadline:
                    top = ctl("top", "--by", "src_site", "--limit", "100")
                    time.sleep(0.2)
                self.assertTrue(top["found"], top)
                self.assertEqual(top["by"], ["src_net_site"])
                svc = ctl("top", "--by", "src_service", "--limit", "100")
            finally:
                subprocess.run([SLUICECTL, "-s", sock, "shutdown"], capture_output=True, timeout=30)
                _, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 0, err[-3000:])
            rows = [r for r in read(agg) if r["window_start_ns"] == top["window_start_ns"]]
            for answer, name in ((top, "src_net_site"), (svc, "src_net_service")):
                if answer["window_start_ns"] != top["window_start_ns"]:
                    continue  # another window closed between the two queries
                want = collections.defaultdict(lambda: [0, 0])
                for r in rows:
                    if not r["other"]:
                        want[r[name]][0] += r["records"]
                        want[r[name]][1] += r["bytes"]
                got = {r[name]: [r["records"], r["bytes"]] for r in answer["rows"]}
                self.assertEqual(len(got), len(answer["rows"]))  # one row per value
                self.assertEqual(got, dict(want))
                self.assertEqual(answer["other"]["records"], 0)
            self.assertIn("par1", {r["src_net_site"] for r in top["rows"]})


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    SLUICED, SLUICECTL, FIXTURES = sys.argv[1:4]
    unittest.main(argv=[sys.argv[0]] + sys.argv[4:], verbosity=2)
