#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""--rules end to end in sluiced.

1. Replay of the pmacct sFlow fixture with enrich/classify/testdata/rules.conf:
   every record's signature_tags equals what the test derives from the
   decoded fields of the same sampled header (a DNS response over IPv4 sets
   bit 1, over IPv6 bit 2; nothing else in the fixture matches), and the scan
   counters add up. The JSON and ECS JSON lines of a tagged record also name
   its rules and their tags (signature_rules, signature_labels), and an output
   filtered by tag==dns gets exactly the records tagged dns.
2. Reloads on a live port: the rules file is replaced by one with a bad
   pattern (the log names file, line and rule; the old rules stay), then by a
   good one (published; the old version freed after a grace period).

usage: classify_sluiced_test.py SLUICED SLUICE_DECODE SOURCE_DIR"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

SLUICED, SLUICE_DECODE, SRC = sys.argv[1:4]
FIXTURE = os.path.join(SRC, "tests", "fixtures", "pmacct-sfprobe-sflow.pcap")
RULES = os.path.join(SRC, "enrich", "classify", "testdata", "rules.conf")


def replay(tmp):
    out, st = os.path.join(tmp, "out.json"), os.path.join(tmp, "stats.json")
    ecs, dns = os.path.join(tmp, "out.ecs.json"), os.path.join(tmp, "dns.json")
    p = subprocess.run([SLUICED, "--pcap", FIXTURE, "--port-map", "26343=sflow", "--rules", RULES, "--json-out", out,
                        "--output", "name=ecs,format=ecs_json,path=" + ecs,
                        "--output", "name=dns,path=" + dns + ",filter=tag==dns", "--stats-json", st],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    recs = [json.loads(ln) for ln in open(out).read().splitlines()]
    ecs_recs = [json.loads(ln) for ln in open(ecs).read().splitlines()]
    dns_recs = [json.loads(ln) for ln in open(dns).read().splitlines()]
    return recs, ecs_recs, dns_recs, json.load(open(st))["metrics"]


def live_reloads(tmp):
    rules = os.path.join(tmp, "rules.conf")
    open(rules, "w").write("[payload first]\npattern = \\x00\\x35\n")
    st = os.path.join(tmp, "live-stats.json")
    p = subprocess.Popen([SLUICED, "--port", "net_pcap0,rx_pcap=" + FIXTURE, "--port-map", "26343=sflow", "--rules",
                          rules, "--sink-discard", "--stats-json", st], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2.0)
        open(rules, "w").write("[payload ok]\npattern = abc\n\n[payload broken]\npattern = (unclosed\n")
        time.sleep(2.0)
        open(rules, "w").write("[payload second]\npattern = \\x00\\x35\n[payload third]\npattern = xyz\n")
        time.sleep(2.0)
    finally:
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
    assert p.returncode == 0, err[-3000:]
    return err, json.load(open(st))["metrics"]


def main():
    with tempfile.TemporaryDirectory(prefix="ifx-classify-") as tmp:
        recs, ecs_recs, dns_recs, m = replay(tmp)
        flows = [r for r in recs if r["kind"] == "flow"]
        assert len(flows) == 46
        dns4 = dns6 = 0
        for r in flows:
            dns = r["proto"] == 17 and r["src_port"] == 53 and r["vlan_id"] == 0
            want = 0 if not dns else (2 if r["etype"] == 0x0800 else 4)
            dns4 += want == 2
            dns6 += want == 4
            assert r.get("signature_tags", 0) == want, (r["src_port"], r.get("signature_tags"), want)
            names = {2: (["dns_response_v4"], ["dns"]), 4: (["dns_response_v6"], ["dns"])}.get(want)
            assert (r.get("signature_rules"), r.get("signature_labels")) == (names or (None, None)), r
        assert len(ecs_recs) == len(recs)
        # filter=tag==dns: the records whose matched rules carry the tag "dns", exactly.
        assert dns_recs == [r for r in recs if "dns" in r.get("signature_labels", [])], dns_recs
        for r, e in zip(recs, ecs_recs):
            s = e["sluice"]
            assert (s.get("signature_tags"), s.get("signature_rules"), s.get("signature_labels")) == \
                (r.get("signature_tags"), r.get("signature_rules"), r.get("signature_labels")), e
        for r in recs:
            if r["kind"] != "flow":
                assert "signature_tags" not in r
        print("fixture: %d flow records, %d DNS responses over IPv4, %d over IPv6" % (len(flows), dns4, dns6))
        assert dns4 + dns6 > 0
        assert m["sluice_enrich_classify_scan_headers_scanned_total"] == 46
        assert m["sluice_enrich_classify_scan_records_tagged_total"] == dns4 + dns6
        assert m["sluice_enrich_classify_reloads_total"] == 1

        err, m = live_reloads(tmp)
        assert "bad.conf" not in err
        want = "rules.conf:4: rule broken: Hyperscan: "
        assert want in err, err[-3000:]
        assert "rules not reloaded, the previous ones stay" in err
        assert "reloaded: generation 2" in err, err[-3000:]
        assert m["sluice_enrich_classify_reloads_total"] == 2, m
        assert m["sluice_enrich_classify_reload_errors_total"] == 1
        assert m["sluice_enrich_classify_versions_retired_total"] == 1
        assert m["sluice_enrich_classify_versions_freed_total"] == 1, m
    print("ok")


if __name__ == "__main__":
    main()
