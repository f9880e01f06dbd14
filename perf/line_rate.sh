#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Dataplane benchmark: records/s per worker end to end, from net_pcap
# (infinite_rx=1: the file is preloaded into mbufs and looped) through parse
# and decode to the sink rings, with a discarding sink and with the JSON sink
# writing a file; plus cycles per packet by stage (rx, parse, decode,
# enqueue) from the workers' rte_rdtsc counters. One worker, one sink core.
#
# Like every perf/ benchmark it first checks its output against a reference:
# each capture replayed by `sluiced --pcap` must equal `sluice-decode --json`.
# Absolute figures on shared machines are noisy: give the binary to compare
# with as BASELINE and every case runs old and new back to back, in one run.
#
# usage: [BASELINE=/path/to/old/sluiced | BASELINE_REF=GIT_REF] perf/line_rate.sh [BUILD_DIR] [SECONDS]
#   BASELINE_REF=158988b perf/line_rate.sh build 8   builds that commit (release, in a temporary git
#   worktree, removed afterwards) and measures it next to BUILD_DIR's sluiced, case by case.
# Captures: generated NetFlow v5 (4096 datagrams x 30 records, 8 exporters),
# generated IPFIX (1 template + 4095 x 30 records), and a real softflowd v5
# capture, perf/testdata/softflowd-v5-full.pcap (104 datagrams, 3000 records,
# 29 per full datagram, one exporter; recorded by perf/record-softflowd-full.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
secs="${2:-10}"
sluiced="$build/control/sluiced"
decode="$build/dataplane/offline/sluice-decode"
baseline="${BASELINE:-}"
tmp="$(mktemp -d)"
base_tree=""
cleanup() {
  rm -rf "$tmp"
  if [ -n "$base_tree" ]; then git -C "$here/.." worktree remove --force "$base_tree" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
if [ -z "$baseline" ] && [ -n "${BASELINE_REF:-}" ]; then
  base_tree="$(mktemp -d -u /tmp/sluice-baseline.XXXXXX)"
  git -C "$here/.." worktree add --detach "$base_tree" "$BASELINE_REF" >/dev/null
  echo "building the baseline $BASELINE_REF in $base_tree (release)"
  (cd "$base_tree" && meson setup b --buildtype=release >/dev/null && ninja -j2 -C b control/sluiced >/dev/null)
  baseline="$base_tree/b/control/sluiced"
fi

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
cp "$here/testdata/softflowd-v5-full.pcap" "$tmp/softflowd-v5.pcap"

json_field() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

echo "machine:"; lscpu | head -15 | sed 's/^/  /'; uptime | sed 's/^/  load:/'
bins=("new=$sluiced")
[ -n "$baseline" ] && bins=("old=$baseline" "${bins[@]}")
for cap in v5 ipfix softflowd-v5; do
  pcap="$tmp/$cap.pcap"
  pm=()
  [ "$cap" = softflowd-v5 ] && pm=(--port-map 20655=v5)
  # 1. correctness first
  "$sluiced" --pcap "$pcap" "${pm[@]}" --json-out "$tmp/$cap.sluiced.json" 2>/dev/null
  "$decode" --json --quiet-stats "${pm[@]}" "$pcap" > "$tmp/$cap.ref.json"
  if ! cmp -s "$tmp/$cap.sluiced.json" "$tmp/$cap.ref.json"; then
    echo "FAIL: $cap: sluiced output differs from sluice-decode" >&2
    exit 1
  fi
  echo "$cap: output checked against sluice-decode ($(wc -l < "$tmp/$cap.ref.json") records)"
  # 2. measure: discarding sink (the workers' rate), then JSON into a file (the sink core's rate)
  for mode in discard json-file; do
    for b in "${bins[@]}"; do
      name="${b%%=*}"; bin="${b#*=}"
      extra=(--sink-discard); t="$secs"
      if [ "$mode" = json-file ]; then extra=(--json-out "$tmp/out.json" --json-roll-bytes 0); t=$(( secs < 4 ? secs : 4 )); fi
      cmd=("$bin" --port "net_pcap0,rx_pcap=$pcap,infinite_rx=1" "${pm[@]}" "${extra[@]}" --duration "$t"
           --ring-size 16384 --stats-json "$tmp/stats.json" --stats-interval 100)
      "${cmd[@]}" 2>/dev/null
      rm -f "$tmp"/out.json*
      echo "  [$mode sink, $name] ${cmd[*]//$tmp/TMP}"
      json_field "$tmp/stats.json" '"    records/s per worker: decoded %.0f, enqueued %.0f  pkts/s: %.0f  ring_full: %d  taken by the sink: %d (%.0f/s; %s per sink CPU-second)" % (
          d["totals"]["records"] / d["elapsed_s"], d["totals"]["records_enqueued"] / d["elapsed_s"],
          d["totals"]["rx_packets"] / d["elapsed_s"], d["totals"]["ring_full"], d["totals_written"],
          d["totals_written"] / d["elapsed_s"],
          "%.0f" % (d["totals_written"] / (d["sinks"][0]["cpu_ns"] / 1e9)) if d["sinks"][0].get("cpu_ns") else "n/a")'
      json_field "$tmp/stats.json" '"    cycles/packet: " + "  ".join("%s %.0f" % kv for kv in d["cycles_per_packet"].items()) + "  (tsc %.2f GHz)" % (d["tsc_hz"] / 1e9)'
      json_field "$tmp/stats.json" '"    cycles/record: enqueue %.1f, parse+decode+enqueue %.1f, records copied %d" % (d["cycles"]["enqueue"] / max(1, d["totals"]["records"]), sum(d["cycles"][k] for k in ("parse","decode","enqueue")) / max(1, d["totals"]["records"]), d["totals"].get("records_copied", -1))'
    done
  done
done
