#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Soak: sluiced runs for SLUICE_SOAK_SECONDS (default 300) on two looping
net_pcap ports (NetFlow v5 from 8 exporters, and IPFIX) with two sink cores
writing JSON to /dev/null. It must stay up, keep its resident memory flat
after warm-up, decode without errors, stop cleanly on SIGTERM, and account
for every record: records = records_enqueued + ring_full, and every enqueued
record written by a sink.

Runs only with `scripts/test --long` (suite 'soak').
usage: soak_test.py SLUICED"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapgen as g  # noqa: E402

# RSS may grow by this much after warm-up: allocator noise, not a leak.
RSS_GROWTH_LIMIT_KB = 8 * 1024
WARM_UP_S = 20


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    sluiced = sys.argv[1]
    seconds = int(os.environ.get("SLUICE_SOAK_SECONDS", "300"))
    with tempfile.TemporaryDirectory() as tmp:
        v5 = os.path.join(tmp, "v5.pcap")
        frames = []
        for i in range(512):
            exporter = "10.9.1.%d" % (1 + i % 8)
            frames.append(g.ipv4_udp_frame(exporter, "10.9.0.254", 40000, 2055, g.netflow_v5(30, i * 30), ident=i + 1))
        g.write_pcap(v5, frames)
        ipfix = os.path.join(tmp, "ipfix.pcap")
        msgs = [g.ipfix_message(7, 0, g.ipfix_template_set())]
        for i in range(256):
            msgs.append(g.ipfix_message(7, i * 30, g.ipfix_data_set(30, base=i * 30)))
        g.write_pcap(ipfix, [g.ipv4_udp_frame("10.9.2.1", "10.9.0.254", 4739, 4739, m) for m in msgs])

        stats = os.path.join(tmp, "stats.json")
        cmd = [sluiced, "--port", "net_pcap0,rx_pcap=%s,infinite_rx=1" % v5,
               "--port", "net_pcap1,rx_pcap=%s,infinite_rx=1" % ipfix, "--sink-cores", "2",
               "--json-out", "/dev/null", "--stats-json", stats, "--stats-interval", "10"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        failures = []
        samples = []
        try:
            start = time.monotonic()
            while time.monotonic() - start < seconds:
                time.sleep(5)
                if proc.poll() is not None:
                    failures.append("sluiced exited early with %s" % proc.returncode)
                    break
                samples.append((time.monotonic() - start, rss_kb(proc.pid)))
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            failures.append("exit status %s: %s" % (proc.returncode, err[-2000:]))

        warm = [kb for t, kb in samples if t >= WARM_UP_S]
        if len(warm) >= 2:
            growth = max(warm) - warm[0]
            print("rss after warm-up: first %d kB, max %d kB, growth %d kB" % (warm[0], max(warm), growth))
            if growth > RSS_GROWTH_LIMIT_KB:
                failures.append("resident memory grew by %d kB after warm-up" % growth)

        if os.path.exists(stats):
            with open(stats) as fh:
                st = json.load(fh)
            t = st["totals"]
            print("records %d, enqueued %d, ring_full %d, written %d" %
                  (t["records"], t["records_enqueued"], t["ring_full"], st["totals_written"]))
            if t["records"] == 0:
                failures.append("no records decoded")
            if t["records"] != t["records_enqueued"] + t["ring_full"]:
                failures.append("records != records_enqueued + ring_full")
            if t["records_enqueued"] != st["totals_written"]:
                failures.append("enqueued records not all written by the sinks")
            for w in st["workers"]:
                for addr, c in w["exporters"].items():
                    errs = {k: v for k, v in c.items() if k.startswith("err_") and v}
                    if errs:
                        failures.append("exporter %s errors: %s" % (addr, errs))
        else:
            failures.append("no final stats written")

    for f in failures:
        print("FAIL:", f)
    print("%d passed, %d failed" % (0 if failures else 1, 1 if failures else 0))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
