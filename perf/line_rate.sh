#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Dataplane benchmark: records/s per worker end to end, from net_pcap
# (infinite_rx=1: the file is preloaded into mbufs and looped) through parse
# and decode to the sink ring, with a discarding sink; plus cycles per packet
# by stage (rx, parse, decode, enqueue) from the workers' rte_rdtsc counters.
#
# Like every perf/ benchmark it first checks its output against a reference:
# the same capture replayed by `sluiced --pcap` must equal `sluice-decode --json`.
# Then it measures a baseline in the same run (--sink-delay-us 0 with the
# JSON sink writing to /dev/null) next to the discarding sink, since absolute
# figures on shared machines are noisy.
#
# usage: perf/line_rate.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build-dp}"
secs="${2:-10}"
sluiced="$build/control/sluiced"
decode="$build/dataplane/offline/sluice-decode"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

SLUICE_SRC="$here/.." /usr/bin/python3 - "$tmp" <<'PY'
import os, sys
sys.path.insert(0, os.path.join(os.environ["SLUICE_SRC"], "tests", "integration"))
import pcapgen as g
tmp = sys.argv[1]
# NetFlow v5: 30 records per datagram (the v5 maximum), 8 exporters.
g.write_pcap(os.path.join(tmp, "v5.pcap"),
             [g.ipv4_udp_frame("10.8.0.%d" % (i % 8 + 1), "10.8.255.254", 40000, 2055,
                               g.netflow_v5(30, (i // 8) * 30)) for i in range(4096)])
# IPFIX: template once, then 30 records of 41 bytes per datagram.
msgs = [g.ipfix_message(1, 0, g.ipfix_template_set())]
for i in range(4095):
    msgs.append(g.ipfix_message(1, i * 30, g.ipfix_data_set(30, base=i * 30)))
g.write_pcap(os.path.join(tmp, "ipfix.pcap"),
             [g.ipv4_udp_frame("10.8.1.1", "10.8.255.254", 4739, 4739, m) for m in msgs])
PY

json_field() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

echo "machine:"; lscpu | head -15 | sed 's/^/  /'
for cap in v5 ipfix; do
  pcap="$tmp/$cap.pcap"
  # 1. correctness first
  "$sluiced" --pcap "$pcap" --json-out "$tmp/$cap.sluiced.json" 2>/dev/null
  "$decode" --json --quiet-stats "$pcap" > "$tmp/$cap.ref.json"
  if ! cmp -s "$tmp/$cap.sluiced.json" "$tmp/$cap.ref.json"; then
    echo "FAIL: $cap: sluiced output differs from sluice-decode" >&2
    exit 1
  fi
  echo "$cap: output checked against sluice-decode ($(wc -l < "$tmp/$cap.ref.json") records)"
  # 2. measure: discarding sink, then the JSON sink to /dev/null as the in-run baseline
  for mode in discard json; do
    extra=(--sink-discard)
    [ "$mode" = json ] && extra=(--json-out /dev/null)
    cmd=("$sluiced" --port "net_pcap0,rx_pcap=$pcap,infinite_rx=1" "${extra[@]}" --duration "$secs"
         --ring-size 16384 --stats-json "$tmp/stats.json" --stats-interval 100)
    "${cmd[@]}" 2>/dev/null
    echo "  [$mode sink] ${cmd[*]/$tmp/TMP}"
    json_field "$tmp/stats.json" '"    records/s per worker: decoded %.0f, enqueued %.0f  pkts/s: %.0f  ring_full: %d  written by sink: %d" % (
        d["totals"]["records"] / d["elapsed_s"], d["totals"]["records_enqueued"] / d["elapsed_s"],
        d["totals"]["rx_packets"] / d["elapsed_s"], d["totals"]["ring_full"], d["totals_written"])'
    json_field "$tmp/stats.json" '"    cycles/packet: " + "  ".join("%s %.0f" % kv for kv in d["cycles_per_packet"].items()) + "  (tsc %.2f GHz)" % (d["tsc_hz"] / 1e9)'
    json_field "$tmp/stats.json" '"    cycles/record (parse+decode+enqueue): %.1f" % (sum(d["cycles"][k] for k in ("parse","decode","enqueue")) / max(1, d["totals"]["records"]))'
  done
done
