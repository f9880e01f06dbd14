#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""sluiced with enrichment, end to end (each run a subprocess with its own EAL file prefix):
  - Fields: the pmacct sFlow fixture with an inventory, an exporter table, an interface table, the ASN and
    City mmdb fixtures and a static prefix: every record's enriched members exactly, and the rest of each
    record equal to sluice-decode's;
  - a bad source at start-up: exit 1 naming file and line; the forced exporter rate through the override path;
    the demo's tables (examples/demo/, scripts/demo) with the example rules: one record's members exactly;
  - Reload: the tables rebuilt 10 times a second (SIGHUP, file rewrites) while a live net_pcap port replays
    with infinite_rx: no crash, builds published and old versions retired after grace periods, the workers
    keep their cycles per packet (the soak: windows with and without reloads alternated in one run), memory
    back to its level. RELOAD_SECONDS (default 12; the soak suite 60).

usage: test_enrich_sluiced.py SLUICED SLUICE_DECODE FIXTURES_DIR TESTDATA_DIR [unittest args]"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

SLUICED = SLUICE_DECODE = FIXTURES = TESTDATA = ""
SFLOW = "pmacct-sfprobe-sflow.pcap"
SFLOW_PORT = ["--port-map", "26343=sflow"]


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def sources(tmp):
    return [
        "--enrich-inventory", write(os.path.join(tmp, "inv.csv"),
                                    "prefix,name,role,site,region,tenant,kind,service,team\n"
                                    "192.0.2.0/24,collector-lan,collector,par1,eu,ops,,,\n"
                                    "203.0.113.53,dns1,resolver,par1,eu,infra,server,dns,netops\n"),
        "--enrich-exporters", write(os.path.join(tmp, "exp.ndjson"),
                                    '{"address":"203.0.113.254","name":"edge-sflow","group":"edge","role":"border",'
                                    '"site":"par1","region":"eu","tenant":"net"}\n'),
        "--enrich-interfaces", write(os.path.join(tmp, "if.csv"),
                                     "exporter,ifindex,name,description,speed,boundary,connectivity,provider\n"
                                     "203.0.113.254,5,et-0/0/5,Transit: Cogent,100000,external,transit,cogent\n"),
        "--enrich-mmdb", os.path.join(TESTDATA, "asn-maxmind.mmdb"),
        "--enrich-mmdb", os.path.join(TESTDATA, "city-maxmind.mmdb"),
        "--enrich-prefix", "2001:db8:1::/48=name:v6lab,tenant:lab",
    ]


def run(tmp, args, name="run", check=True):
    out, st = os.path.join(tmp, name + ".json"), os.path.join(tmp, name + "-stats.json")
    p = subprocess.run([SLUICED, "--json-out", out, "--stats-json", st, *args], capture_output=True, text=True,
                       timeout=120)
    if check and p.returncode != 0:
        raise AssertionError("sluiced failed (%d): %s" % (p.returncode, p.stderr[-3000:]))
    if p.returncode != 0:
        return p, [], None
    with open(out) as f:
        lines = f.read().splitlines()
    with open(st) as f:
        stats = json.load(f)
    return p, lines, stats


EXPORTER = {"ExporterName": "edge-sflow", "ExporterGroup": "edge", "ExporterRole": "border", "ExporterSite": "par1",
            "ExporterRegion": "eu", "ExporterTenant": "net"}
IN5 = {"InIfName": "et-0/0/5", "InIfDescription": "Transit: Cogent", "InIfSpeed": 100000,
       "InIfBoundary": "external", "InIfConnectivity": "transit", "InIfProvider": "cogent"}
SELF_OUT = {"OutIfName": "self", "OutIfDescription": "the device itself (sFlow 0x3FFFFFFF)"}
NET = {
    "192.0.2.10": {"NetName": "collector-lan", "NetRole": "collector", "NetSite": "par1", "NetRegion": "eu",
                   "NetTenant": "ops"},
    "203.0.113.53": {"NetName": "dns1", "NetRole": "resolver", "NetSite": "par1", "NetRegion": "eu",
                     "NetTenant": "infra", "NetKind": "server", "NetService": "dns", "NetTeam": "netops",
                     "Country": "JP"},
    "198.51.100.": None,  # by prefix below
}


def expected_net(addr):
    """The enriched members of one address, with the Src/Dst prefix left out."""
    if addr == "203.0.113.53":
        return dict(NET[addr])
    if addr.startswith("192.0.2."):
        return dict(NET["192.0.2.10"])
    if addr.startswith("203.0.113."):
        return {"Country": "JP"}
    if addr.startswith("198.51.100."):
        last = int(addr.split(".")[-1])
        geo = {"Country": "FR", "GeoCity": "Lyon"} if last >= 128 else \
            {"Country": "FR", "GeoCity": "Paris", "GeoState": "IDF"}
        return dict(geo, AS=64500, ASName='Example "Transit"')
    if addr.startswith("198.51.101."):
        return {"AS": 64500, "ASName": 'Example "Transit"'}
    if addr.startswith("2001:db8:1:"):
        return {"NetName": "v6lab", "NetTenant": "lab", "Country": "DE", "GeoCity": "Berlin", "AS": 64501,
                "ASName": "Example v6"}
    if addr.startswith("2001:db8:"):
        return {"AS": 64501, "ASName": "Example v6"}
    return {}


def expected_prefix(addr):
    """The matched prefix (SrcNetPrefix / DstNetPrefix) of one address: the longest prefix of any source that has
    it. The City fixture's /24 with a /25 inside is stored as two /25s (the mmdb tree), so 198.51.100.x is a /25."""
    if addr == "203.0.113.53":
        return "203.0.113.53/32"
    if addr.startswith("203.0.113."):
        return "203.0.113.0/24"
    if addr.startswith("192.0.2."):
        return "192.0.2.0/24"
    if addr.startswith("198.51.100."):
        return "198.51.100.128/25" if int(addr.split(".")[-1]) >= 128 else "198.51.100.0/25"
    if addr.startswith("198.51.101."):
        return "198.51.100.0/23"
    if addr.startswith("2001:db8:1:"):
        return "2001:db8:1::/48"
    if addr.startswith("2001:db8:"):
        return "2001:db8::/32"
    return None


def enriched_keys(r):
    return {k: v for k, v in r.items() if k[:1].isupper()}


class Fields(unittest.TestCase):
    def test_every_record_of_the_sflow_fixture(self):
        pcap = os.path.join(FIXTURES, SFLOW)
        with tempfile.TemporaryDirectory() as tmp:
            p, lines, stats = run(tmp, ["--pcap", pcap, *SFLOW_PORT, *sources(tmp)])
            offline = subprocess.run([SLUICE_DECODE, "--json", "--quiet-stats", *SFLOW_PORT, pcap],
                                     capture_output=True, text=True, check=True).stdout.splitlines()
            self.assertEqual(len(lines), 47)
            recs = [json.loads(x) for x in lines]
            # Without the enriched members, each record is sluice-decode's, in order.
            self.assertEqual([{k: v for k, v in r.items() if not k[:1].isupper()} for r in recs],
                             [json.loads(x) for x in offline])
            kinds = {"flow": 0, "interface_counters": 0}
            for r in recs:
                kinds[r["kind"]] += 1
                want = dict(EXPORTER)
                if r["kind"] == "interface_counters":
                    # in_if = the counter sample's ifIndex (5: in the table); no out side.
                    self.assertEqual(r["in_if"], 5)
                    want.update(IN5)
                else:
                    for side, addr in (("Src", r["src_addr"]), ("Dst", r["dst_addr"])):
                        want.update({side + k: v for k, v in expected_net(addr).items()})
                        if expected_prefix(addr):
                            want[side + "NetPrefix"] = expected_prefix(addr)
                    self.assertEqual((r["in_if"], r["out_if"], r["out_if_format"]), (5, 0x3FFFFFFF, 3))
                    want.update(IN5)
                    want.update(SELF_OUT)
                self.assertEqual(enriched_keys(r), want, r)
            self.assertEqual(kinds, {"flow": 46, "interface_counters": 1})
            m = stats["metrics"]
            self.assertEqual(m["sluice_enrich_tables_builds_ok_total"], 1)
            self.assertEqual(m["sluice_enrich_tables_versions_published_total"], 1)
            # The live version's sizes (levels read from the version): 2 inventory rows + 6 + 4 mmdb networks
            # + 1 static prefix; 1 exporter, 1 interface.
            self.assertEqual((m["sluice_enrich_table_size_version_total"], m["sluice_enrich_table_size_prefixes_total"],
                              m["sluice_enrich_table_size_exporters_total"],
                              m["sluice_enrich_table_size_interfaces_total"]), (1, 9, 1, 1))
            self.assertIn("enrichment tables: version 1 built", p.stderr)
            # The first build's threads ran on every CPU the process had, not only on the main lcore's one that
            # rte_eal_init pins the main thread to (and every thread made after it).
            self.assertIn("threads over %d CPUs" % len(os.sched_getaffinity(0)), p.stderr)

    def test_outputs_filter_by_exporter_group(self):
        # filter=group==NAME reads the exporter's group from the enrichment tables: the sFlow fixture's agent is in
        # group "edge", the v5 fixture's exporter (127.0.0.1) in none.
        with tempfile.TemporaryDirectory() as tmp:
            edge, other = os.path.join(tmp, "edge.json"), os.path.join(tmp, "other.json")
            _, lines, stats = run(tmp, ["--pcap", os.path.join(FIXTURES, SFLOW), *SFLOW_PORT,
                                        "--pcap", os.path.join(FIXTURES, "softflowd-v5-ipv4.pcap"),
                                        "--port-map", "20555=v5", *sources(tmp),
                                        "--output", "name=edge,path=%s,filter=group==edge" % edge,
                                        "--output", "name=other,path=%s,filter=group==none" % other])
            recs = [json.loads(x) for x in lines]
            with open(edge) as f:
                got_edge = [json.loads(x) for x in f]
            with open(other) as f:
                got_other = [json.loads(x) for x in f]
            self.assertEqual(len(got_edge), 47)
            self.assertTrue(all(r["ExporterGroup"] == "edge" for r in got_edge))
            self.assertEqual(len(got_other), sum(1 for r in recs if "ExporterGroup" not in r))
            self.assertGreater(len(got_other), 0)
            self.assertTrue(all(r["sampler_address"] == "127.0.0.1" for r in got_other))
            self.assertEqual(len(got_edge) + len(got_other), len(recs))

    def test_bad_source_stops_startup_naming_file_and_line(self):
        with tempfile.TemporaryDirectory() as tmp:
            inv = write(os.path.join(tmp, "bad.ndjson"), '{"prefix":"10.0.0.0/8","name":"a"}\n{"prefix":"10.0.0.0/40"}\n')
            p, _, _ = run(tmp, ["--pcap", os.path.join(FIXTURES, SFLOW), "--enrich-inventory", inv], check=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn(inv + ':2: bad prefix "10.0.0.0/40"', p.stderr)

    def test_rules_derive_attributes_when_the_tables_are_built(self):
        # --rules' attribute rules (enrich/classify/testdata/rules.conf) run on the table builder: a hostname that
        # follows service-NN.site.domain gets service and site, an interface description "Transit: X" gets
        # boundary, connectivity and provider. What a source gives explicitly wins (none here).
        with tempfile.TemporaryDirectory() as tmp:
            inv = write(os.path.join(tmp, "inv.csv"), "prefix,name\n203.0.113.53,web-01.ams1.example.net\n")
            ifs = write(os.path.join(tmp, "if.csv"), "exporter,ifindex,name,description\n"
                                                     "203.0.113.254,5,et-0/0/5,Transit: Cogent\n")
            rules = os.path.join(os.path.dirname(TESTDATA), "..", "..", "enrich", "classify", "testdata", "rules.conf")
            _, lines, _ = run(tmp, ["--pcap", os.path.join(FIXTURES, SFLOW), *SFLOW_PORT, "--enrich-inventory", inv,
                                    "--enrich-interfaces", ifs, "--rules", rules])
            recs = [json.loads(ln) for ln in lines]
            dns = [r for r in recs if r.get("src_addr") == "203.0.113.53"]
            self.assertGreater(len(dns), 0)
            for r in dns:
                self.assertEqual((r["SrcNetName"], r["SrcNetService"], r["SrcNetSite"]),
                                 ("web-01.ams1.example.net", "web", "ams1"))
            in5 = [r for r in recs if r.get("in_if") == 5 and r["kind"] == "flow"]
            self.assertGreater(len(in5), 0)
            for r in in5:
                self.assertEqual((r["InIfBoundary"], r["InIfConnectivity"], r["InIfProvider"]),
                                 ("external", "transit", "Cogent"))

    def test_the_demos_tables(self):
        # examples/demo/ (what scripts/demo enriches with) loads without a bad line, and with the example rules gives
        # the sFlow fixture's DNS response these members exactly: the inventory's range and host rows, names
        # derived by the rules (service and site from the hostname, the exporter's role, site and group, the
        # interface's boundary, connectivity and provider from "PNI: ExampleCDN"), the labels, the signature.
        src = os.path.join(os.path.dirname(TESTDATA), "..", "..")
        demo = os.path.join(src, "examples", "demo")
        rules = os.path.join(src, "enrich", "classify", "testdata", "rules.conf")
        with tempfile.TemporaryDirectory() as tmp:
            p, lines, _ = run(tmp, ["--pcap", os.path.join(FIXTURES, SFLOW), *SFLOW_PORT,
                                    "--enrich-inventory", os.path.join(demo, "inventory.json"),
                                    "--enrich-exporters", os.path.join(demo, "exporters.csv"),
                                    "--enrich-interfaces", os.path.join(demo, "interfaces.csv"), "--rules", rules])
            # 12 rows; the range 198.51.100.20-22 splits into 2 prefixes.
            self.assertIn("13 prefixes, 17 IPv4 / 8 IPv6 intervals, 2 exporters, 4 interfaces", p.stderr)
            recs = [json.loads(ln) for ln in lines]
            dns = [r for r in recs if r.get("signature_tags")]
            self.assertEqual(len(dns), 2)
            got = {k: v for k, v in dns[0].items() if k[0].isupper() or k.startswith("signature_")}
            self.assertEqual(got, {
                "SrcNetName": "dns-01.fra1.example.net", "SrcNetKind": "server", "SrcNetService": "dns",
                "SrcNetTeam": "infra", "SrcNetRole": "resolver", "SrcNetSite": "fra1", "SrcNetRegion": "eu-central",
                "SrcNetPrefix": "203.0.113.53/32",
                "DstNetName": "web-01.par1.example.net", "DstNetKind": "server", "DstNetService": "web",
                "DstNetTeam": "web", "DstNetRole": "server", "DstNetSite": "par1", "DstNetPrefix": "192.0.2.10/31",
                "ExporterName": "edge1.fra1.example.net", "ExporterRole": "edge", "ExporterSite": "fra1",
                "ExporterRegion": "eu-central", "ExporterTenant": "corp", "ExporterGroup": "fra1-edge",
                "InIfName": "ge-0/0/5", "InIfDescription": "PNI: ExampleCDN", "InIfSpeed": 1000,
                "InIfBoundary": "external", "InIfConnectivity": "pni", "InIfProvider": "ExampleCDN",
                "OutIfName": "self", "OutIfDescription": "the device itself (sFlow 0x3FFFFFFF)",
                "signature_tags": 2, "signature_rules": ["dns_response_v4"], "signature_labels": ["dns"]})

    def test_forced_exporter_rate_uses_the_override_path(self):
        # NetFlow v5 from 127.0.0.1 (the UDP source, which keys the decoder's per-exporter override, is the
        # sampler address here; an sFlow agent behind a relay is named by its UDP source for `force`).
        pcap = os.path.join(FIXTURES, "softflowd-v5-ipv4.pcap")
        port = ["--port-map", "20555=v5"]
        with tempfile.TemporaryDirectory() as tmp:
            exp = write(os.path.join(tmp, "exp.csv"), "address,name,sampling_rate,force\n127.0.0.1,e,512,true\n")
            _, lines, stats = run(tmp, ["--pcap", pcap, *port, "--enrich-exporters", exp])
            recs = [json.loads(x) for x in lines]
            # The same records as sluice-decode with --sampling-override: the decoder applied it.
            offline = subprocess.run([SLUICE_DECODE, "--json", "--quiet-stats", *port, "--sampling-override",
                                      "127.0.0.1=512", pcap], capture_output=True, text=True,
                                     check=True).stdout.splitlines()
            self.assertEqual([{k: v for k, v in r.items() if not k[:1].isupper()} for r in recs],
                             [json.loads(x) for x in offline])
            self.assertEqual(len(recs), 15)
            self.assertTrue(all(r["sampling_rate"] == 512 and r["sampling_overridden"] and r["ExporterName"] == "e"
                                for r in recs))
            self.assertEqual(stats["metrics"]["sluice_enrich_tables_overrides_sent_total"], 1)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Reload(unittest.TestCase):
    SECONDS = float(os.environ.get("RELOAD_SECONDS", "12"))

    def live(self, tmp, name, extra, seconds, during=None):
        pcap = os.path.join(FIXTURES, SFLOW)
        st = os.path.join(tmp, name + "-stats.json")
        cmd = [SLUICED, "--port", "net_pcap0,rx_pcap=%s,infinite_rx=1" % pcap, *SFLOW_PORT,
               "--output", "name=all,path=/dev/null", "--stats-json", st, "--duration", str(seconds), *extra]
        if during:
            cmd += ["--stats-json-interval", "1"]
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        rss = []
        if during:
            during(p, rss, st)
        _, err = p.communicate(timeout=seconds + 60)
        self.assertEqual(p.returncode, 0, err[-3000:])
        with open(st) as f:
            return json.load(f), rss, err

    @staticmethod
    def cycles_per_packet(s):
        m = s["metrics"]
        work = sum(m["sluice_dataplane_worker_cycles_%s_total" % k] for k in ("parse", "decode", "enrich"))
        return work / max(m["sluice_dataplane_worker_rx_packets_total"], 1)

    @staticmethod
    def work_and_packets(m):
        work = sum(m["sluice_dataplane_worker_cycles_%s_total" % k] for k in ("parse", "decode", "enrich"))
        return work, m["sluice_dataplane_worker_rx_packets_total"]

    # The soak (RELOAD_SECONDS >= 30) alternates PHASE-second windows of reloading and of none in the one run and
    # compares the worker's cycles per packet between the two kinds (each window measured from 2 s after it
    # starts to its end, off the live stats file): on a shared machine the load drifts over a minute far more
    # than 10%, so a 3 s base run before it measures the neighbours, not the reloads. The short variant keeps
    # the base run and reloads throughout.
    PHASE = 6.0

    def test_reload_ten_times_a_second(self):
        with tempfile.TemporaryDirectory() as tmp:
            src = sources(tmp)
            inv = src[1]
            base, _, _ = self.live(tmp, "base", src, 3)

            self.rx_samples = []
            interleave = self.SECONDS >= 30
            self.windows = {True: [0, 0, 0], False: [0, 0, 0]}  # reloading?: [work cycles, packets, windows]

            def read_metrics(st):
                try:
                    with open(st) as f:
                        return json.load(f)["metrics"]
                except (OSError, ValueError, KeyError):
                    return None

            def reload(p, rss, st):
                time.sleep(1.5)  # EAL up, first build done
                rss.append(rss_kb(p.pid))
                start = time.time()
                end = start + self.SECONDS - 4.5
                i = 0
                next_sample = start
                phase, opened = 0, None  # the current window and its first snapshot (work, packets)
                while time.time() < end and p.poll() is None:
                    now = time.time()
                    if now >= next_sample:
                        m = read_metrics(st)
                        if m:
                            self.rx_samples.append(m["sluice_dataplane_worker_rx_packets_total"])
                        next_sample += 1.0
                    if interleave:
                        k = int((now - start) // self.PHASE)
                        if k != phase:  # window `phase` ends: its last snapshot
                            m = read_metrics(st)
                            if opened and m:
                                w, n = self.work_and_packets(m)
                                acc = self.windows[phase % 2 == 0]
                                acc[0] += w - opened[0]
                                acc[1] += n - opened[1]
                                acc[2] += 1
                            phase, opened = k, None
                        if opened is None and now - start - phase * self.PHASE >= 2.0:
                            m = read_metrics(st)
                            if m:
                                opened = self.work_and_packets(m)
                    if not interleave or phase % 2 == 0:
                        i += 1
                        self.requests = i
                        if i % 2:
                            # A changed file (the control loop's mtime check also sees it) ...
                            write(inv, "prefix,name\n192.0.2.0/24,lan-%d\n203.0.113.53,dns-%d\n" % (i, i))
                        p.send_signal(signal.SIGHUP)  # ... and a reload request
                    time.sleep(0.1)
                time.sleep(2.0)  # the last build (at nice 10) and its grace period
                rss.append(rss_kb(p.pid))

            s, rss, err = self.live(tmp, "reload", src, self.SECONDS, reload)
            m = s["metrics"]
            started = m["sluice_enrich_tables_builds_started_total"]
            ok = m["sluice_enrich_tables_builds_ok_total"]
            # Roughly 10 requests a second; every started build succeeded; a request arriving while a build runs
            # is deferred, counted, and retried by the next one.
            info = "builds %d, build ms %.1f each, deferred %d" % (
                started, m["sluice_enrich_tables_build_ns_total"] / 1e6 / max(ok, 1),
                m["sluice_enrich_tables_builds_deferred_total"])
            print(info, file=sys.stderr)
            # Each request starts a build or, while one runs, is counted deferred (SIGHUP: kept and retried):
            # on this shared 2-CPU box a build takes tens of ms of wall time at nice 10 while the worker and
            # sink lcores spin, so requests coalesce; none is lost.
            deferred = m["sluice_enrich_tables_builds_deferred_total"]
            self.assertGreaterEqual(started, 5, info)
            self.assertGreaterEqual(started - 1 + deferred, self.requests * 0.9, info)
            # Every build succeeded, but for one still running when the replay stopped (joined and dropped).
            self.assertIn(ok, (started - 1, started), info)
            self.assertEqual(m["sluice_enrich_tables_builds_failed_invalid_total"] +
                             m["sluice_enrich_tables_builds_failed_read_total"], 0)
            self.assertEqual(m["sluice_enrich_tables_versions_published_total"], ok)
            # Every replaced version was freed after a grace period, but for at most the last few.
            self.assertGreaterEqual(m["sluice_enrich_tables_versions_retired_total"], ok - 1 - 4)
            self.assertGreater(m["sluice_dataplane_worker_records_total"], 0)
            # No stall: the worker received packets in every 2-second window of the reloads (the live stats file
            # is rewritten each second, sampled each second: two samples may see the same rewrite) ...
            self.assertGreaterEqual(len(self.rx_samples), 3, self.rx_samples)
            self.assertTrue(all(b > a for a, b in zip(self.rx_samples, self.rx_samples[2:])), self.rx_samples)
            # ... and its cycles per packet stay near the run without reloads. TSC cycles include the time other
            # processes take the CPU: on the shared 2-CPU box the short variant allows 2x; the soak, meant for a
            # quiet machine, 10% (RELOAD_CPP_TOLERANCE).
            limit = float(os.environ.get("RELOAD_CPP_TOLERANCE", "1.0"))
            if interleave:
                (wr, nr, kr), (wq, nq, kq) = self.windows[True], self.windows[False]
                self.assertGreaterEqual(min(kr, kq), 2, self.windows)
                with_reloads, without = wr / max(nr, 1), wq / max(nq, 1)
                how = "%d reloading / %d quiet windows of %.0f s, alternated in one run" % (kr, kq, self.PHASE)
            else:
                with_reloads, without = self.cycles_per_packet(s), self.cycles_per_packet(base)
                how = "the whole run against a 3 s run without reloads"
            print("cycles per packet: %.1f reloading, %.1f without (x%.3f, bound x%.2f; %s)" % (
                with_reloads, without, with_reloads / max(without, 1e-9), 1 + limit, how), file=sys.stderr)
            self.assertLess(with_reloads, without * (1 + limit), (with_reloads, without, how))
            # Memory back to its level 2 s after the last reload: old versions (a few 2 MiB regions of their
            # tbl24 each, up to 65 MiB for a large table) are freed, not accumulated.
            self.assertEqual(len(rss), 2)
            self.assertLess(rss[1], rss[0] + 100 * 1024, rss)


if __name__ == "__main__":
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    SLUICED, SLUICE_DECODE, FIXTURES, TESTDATA = sys.argv[1:5]
    unittest.main(argv=[sys.argv[0]] + sys.argv[5:], verbosity=2)
