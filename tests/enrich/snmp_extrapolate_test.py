#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""--snmp-exporter feeding --extrapolate end to end: sluiced polls a real
snmpd (started here on a loopback port, serving ifXTable rows through a
pass_persist script) while a live net_pcap port loops the pmacct sFlow
fixture's flow samples (exporter 203.0.113.254, ifIndex 5; its own counter
sample left out, so SNMP is the only source of readings).

The agent's ifHCInOctets grows by 10^15 per poll: far more than any sampled
traffic, so every closed window's factor is clamped to
--extrapolate-max-factor. Checks that polls happened, readings reached the
worker, windows closed from SNMP readings alone, and records were scaled.

usage: snmp_extrapolate_test.py SLUICED FIXTURES_DIR"""

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

SLUICED, FIXTURES = sys.argv[1:3]

SCRIPT = r'''#!/usr/bin/python3
import sys
X = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
polls = 0
def rows():
    return sorted([(X + (1, 5), "string", "ge-0/0/5"), (X + (6, 5), "counter64", str(polls * 10**15)),
                   (X + (10, 5), "counter64", "0"), (X + (15, 5), "gauge", "1000"),
                   (X + (18, 5), "string", "Transit: Example")])
def key(o): return tuple(int(x) for x in o.strip().strip(".").split("."))
while True:
    cmd = sys.stdin.readline()
    if not cmd:
        break
    cmd = cmd.strip()
    if cmd == "PING":
        print("PONG", flush=True); continue
    k = key(sys.stdin.readline())
    if cmd == "set":
        sys.stdin.readline(); print("not-writable", flush=True); continue
    if cmd == "getnext" and k == X + (6,):
        polls += 1  # a walk of ifHCInOctets starts: one poll
    hit = None
    for r in rows():
        if (cmd == "get" and r[0] == k) or (cmd == "getnext" and r[0] > k):
            hit = r; break
    if hit is None:
        print("NONE", flush=True)
    else:
        print("." + ".".join(map(str, hit[0]))); print(hit[1]); print(hit[2], flush=True)
'''


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def flows_only(src, dst):
    d = open(src, "rb").read()
    out, off = [d[:24]], 24
    while off < len(d):
        _, _, il, _ = struct.unpack("<IIII", d[off:off + 16])
        rec = d[off:off + 16 + il]
        off += 16 + il
        if il > 200:  # the counter datagram is the one 186-byte frame; flow datagrams are > 1000
            out.append(rec)
    open(dst, "wb").write(b"".join(out))
    return len(out) - 1


def main():
    if not os.access("/usr/sbin/snmpd", os.X_OK):
        print("SKIP: snmpd not installed")
        sys.exit(77)
    with tempfile.TemporaryDirectory(prefix="ifx-snmpx-") as tmp:
        port = free_port()
        script = os.path.join(tmp, "pass.py")
        open(script, "w").write(SCRIPT)
        os.chmod(script, 0o700)
        conf = os.path.join(tmp, "snmpd.conf")
        open(conf, "w").write("agentAddress udp:127.0.0.1:%d\nrocommunity ifxtest 127.0.0.1\n"
                              "pass_persist .1.3.6.1.2.1.31.1.1.1 %s\n" % (port, script))
        env = dict(os.environ, MIBS="", SNMP_PERSISTENT_DIR=tmp)
        agent = subprocess.Popen(["/usr/sbin/snmpd", "-f", "-C", "-c", conf, "-I", "-ifTable,ifXTable", "-Lf",
                                  os.path.join(tmp, "snmpd.log"), "-p", os.path.join(tmp, "pid")], env=env)
        try:
            time.sleep(0.5)
            pcap = os.path.join(tmp, "flows.pcap")
            assert flows_only(os.path.join(FIXTURES, "pmacct-sfprobe-sflow.pcap"), pcap) == 11
            st = os.path.join(tmp, "stats.json")
            cmd = [SLUICED, "--port", "net_pcap0,rx_pcap=%s,infinite_rx=1" % pcap, "--port-map", "26343=sflow",
                   "--sink-discard", "--duration", "3", "--stats-json", st, "--extrapolate",
                   "--extrapolate-window", "0.4", "--snmp-exporter",
                   "127.0.0.1,community=ifxtest,port=%d,interval=0.5,timeout=0.5,exporter=203.0.113.254" % port]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            assert p.returncode == 0, p.stderr[-3000:]
            m = json.load(open(st))["metrics"]
            # The poller's names, aliases and speeds become interface rows of the enrichment tables (a new SNMP
            # snapshot rebuilds them), and --rules derives connectivity from the alias at build time. A slow sink
            # (ring_full drops) keeps the output small while the port loops.
            out = os.path.join(tmp, "enriched.json")
            rules = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "enrich", "classify",
                                 "testdata", "rules.conf")
            cmd = [SLUICED, "--port", "net_pcap0,rx_pcap=%s,infinite_rx=1" % pcap, "--port-map", "26343=sflow",
                   "--duration", "3", "--sink-delay-us", "50000", "--json-out", out, "--control-socket", "none",
                   "--enrich-prefix", "192.0.2.0/24=name:lan", "--rules", rules, "--snmp-exporter",
                   "127.0.0.1,community=ifxtest,port=%d,interval=0.5,timeout=0.5,exporter=203.0.113.254" % port]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            assert p.returncode == 0, p.stderr[-3000:]
            named = [r for r in map(json.loads, open(out)) if r.get("InIfName")]
            assert named, "no record got the SNMP interface name"
            for r in named:
                assert r["in_if"] == 5, r
                assert (r["InIfName"], r["InIfDescription"], r["InIfSpeed"]) == ("ge-0/0/5", "Transit: Example", 1000), r
                assert (r["InIfConnectivity"], r["InIfProvider"], r["InIfBoundary"]) == ("transit", "Example",
                                                                                          "external"), r
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=10)

    def v(name):
        return m["sluice_enrich_%s_total" % name]
    print({k: x for k, x in m.items() if k.startswith("sluice_enrich_")})
    assert v("snmp_polls_ok") >= 3 and v("snmp_polls_timeout") == 0 and v("snmp_polls_error") == 0
    assert v("snmp_interfaces_polled") == v("snmp_polls_ok")
    assert v("snmp_feed_readings_dropped") == 0
    assert v("snmp_feed_readings_sent") >= 3  # one worker: one reading per poll that the control loop saw
    assert v("extrapolate_counter_readings") == v("snmp_feed_readings_sent")
    assert v("extrapolate_interfaces_tracked") == 1
    assert v("extrapolate_windows_closed") >= 1
    assert v("extrapolate_factor_clamped") == v("extrapolate_windows_closed")  # 10^15 per poll: always above 2
    assert v("extrapolate_counter_resets") == 0
    assert 0 < v("extrapolate_records_scaled") < v("extrapolate_records_extrapolated")
    print("ok")


if __name__ == "__main__":
    main()
