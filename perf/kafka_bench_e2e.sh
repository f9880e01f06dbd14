#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End to end with Kafka: one worker, one sink core and sluice-mock-kafka (librdkafka's mock cluster, 3 brokers,
# another process, TCP on loopback), records/s from net_pcap (infinite_rx=1: a generated NetFlow v5 capture
# looped from mbufs) through decode, the ring, the JSON encoder and the Kafka writer to the brokers.
#
# Checks first: the capture replayed once (--pcap) to a Kafka output reads back with kcat equal to
# `sluice-decode --json`. Then measures for SECONDS and reports, from --stats-json: records decoded/s, records
# delivered/s (broker-acknowledged), the sink core's CPU per record, and what went to the spool (with infinite_rx
# the input outruns the brokers: records the brokers cannot take yet are spooled, not lost; the figure to read is
# `delivered/s`).
#
# usage: perf/kafka_bench_e2e.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
secs="${2:-5}"
tmp="$(mktemp -d)"
mock_pid=
cleanup() { [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

SLUICE_SRC="$here/.." /usr/bin/python3 - "$tmp" <<'PY'
import os, sys
sys.path.insert(0, os.path.join(os.environ["SLUICE_SRC"], "tests", "integration"))
import pcapgen as g
g.write_pcap(os.path.join(sys.argv[1], "v5.pcap"),
             [g.ipv4_udp_frame("10.8.0.%d" % (i % 8 + 1), "10.8.255.254", 40000, 2055,
                               g.netflow_v5(30, (i // 8) * 30)) for i in range(1024)])
PY
"$build/sinks/sluice-mock-kafka" --brokers 3 --topic check:4 --topic bench:4 </dev/null >"$tmp/mock.out" 2>/dev/null &
mock_pid=$!
for _ in $(seq 50); do [ -s "$tmp/mock.out" ] && break; sleep 0.1; done
boot="$(head -1 "$tmp/mock.out")"
spec_boot="${boot//,/;}"

echo "machine:"; lscpu | head -15 | sed 's/^/  /'; uptime | sed 's/^/  load:/'
# 1. correctness first
"$build/control/sluiced" --pcap "$tmp/v5.pcap" --output "name=k,kafka=$spec_boot,topic=check,spool=$tmp/spool" \
  2>/dev/null
kcat -C -q -e -b "$boot" -t check -o beginning | sort > "$tmp/got.json"
"$build/dataplane/offline/sluice-decode" --json --quiet-stats "$tmp/v5.pcap" | sort > "$tmp/want.json"
if ! cmp -s "$tmp/got.json" "$tmp/want.json"; then
  echo "FAIL: records read back from Kafka differ from sluice-decode" >&2
  exit 1
fi
echo "checked: $(wc -l < "$tmp/want.json") records read back with kcat equal sluice-decode --json"
# 2. measure
for extra in "" ",compression=zstd" ",linger_ms=50,batch=100000" ",format=protobuf_delimited,key=none"; do
  "$build/control/sluiced" --port "net_pcap0,rx_pcap=$tmp/v5.pcap,infinite_rx=1" --duration "$secs" \
    --output "name=k,kafka=$spec_boot,topic=bench,spool=$tmp/spool,spool_bytes=268435456,rdkafka.queue.buffering.max.messages=1000000$extra" \
    --stats-json "$tmp/stats.json" >/dev/null 2>&1
  /usr/bin/python3 - "$tmp/stats.json" "$extra" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s = d["sinks"][0]
k, sp = s["outputs"]["k"]["kafka"], s["outputs"]["k"]["spool"]
t = d["elapsed_s"]
rec = d["totals"]["records"]
# Kafka's counters count messages; a protobuf_delimited message carries a sink batch of records. With nothing
# spooled and every produced message delivered, every record the output handed over was delivered.
delivered = k["delivered"]
if "delimited" in sys.argv[2]:
    delivered = s["outputs"]["k"]["written"] if k["spooled"] == 0 and k["delivered"] == k["produced"] else float("nan")
print("kafka%-28s %6.2f s: decoded %9.0f rec/s  delivered %9.0f rec/s  sink cpu %6.0f ns/rec  "
      "spooled %d (dropped_full %d)  ring_full %d" % (
          sys.argv[2] or " (lz4, linger 5 ms)", t, rec / t, delivered / t,
          s["cpu_ns"] / max(1, s["records"]), k["spooled"], sp["dropped_full"], d["totals"].get("ring_full", 0)))
PY
  rm -rf "$tmp/spool"
done
