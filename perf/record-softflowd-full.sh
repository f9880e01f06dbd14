#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Records perf/testdata/softflowd-v5-full.pcap: a real exporter's NetFlow v5 with full datagrams
# (softflowd packs 29 records into each 1416-byte datagram), for perf/line_rate.sh.
# tests/fixtures' softflowd capture has 2.5 records per datagram, which measures per-datagram cost only.
#
# Input: 3000 one-packet flows (2/3 TCP, 1/3 UDP) written with scapy; softflowd -r exports them all at
# EOF to 127.0.0.1:20655, captured on the loopback with tcpdump. Needs root (tcpdump), softflowd, scapy.
# usage: perf/record-softflowd-full.sh [OUT.pcap]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/testdata/softflowd-v5-full.pcap}"
work="$(mktemp -d)"
td=""
cleanup() { [ -n "$td" ] && kill -INT "$td" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
/usr/bin/python3 - "$work/traffic.pcap" <<'PY'
import sys
from scapy.all import Ether, IP, UDP, TCP, wrpcap
pk = []
for i in range(3000):
    src, dst = "192.0.2.%d" % (1 + i % 250), "198.51.100.%d" % (1 + (i // 250) % 250)
    l4 = TCP(sport=10000 + i, dport=443, flags="PA") if i % 3 else UDP(sport=20000 + i, dport=53)
    p = Ether() / IP(src=src, dst=dst) / l4 / (b"x" * (20 + i % 100))
    p.time = 1700000000.0 + i * 0.001
    pk.append(p)
wrpcap(sys.argv[1], pk)
PY
tcpdump -i lo -n -U -s 0 -w "$work/cap.pcap" "udp and dst port 20655 and dst host 127.0.0.1" 2>"$work/td.err" &
td=$!
for _ in $(seq 50); do grep -q 'listening on' "$work/td.err" && break; sleep 0.1; done
/usr/bin/python3 - "$work" <<'PY'
import socket, subprocess, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 20655))
s.settimeout(3)
subprocess.run(["softflowd", "-d", "-a", "-c", "none", "-p", sys.argv[1] + "/sf.pid", "-m", "8192", "-v", "5",
                "-T", "full", "-r", sys.argv[1] + "/traffic.pcap", "-n", "127.0.0.1:20655"], check=True,
               capture_output=True, timeout=60)
try:
    while True:
        s.recv(65535)
except socket.timeout:
    pass
PY
sleep 1
kill -INT "$td"; wait "$td" || true; td=""
cp "$work/cap.pcap" "$out"
echo "wrote $out: $(tcpdump -r "$out" 2>/dev/null | wc -l) datagrams"
