#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Check a collector's counters and records against sluice-gen's truth file.

usage: truth_check.py TRUTH.json STATS.json [RECORDS.json]
STATS is `sluice-decode --stats-json` or `sluiced --stats-json` output (the
shape tells which); RECORDS, if given, is the JSON-lines record output.
Prints every mismatch; exit 0 when there is none, 1 otherwise.

The mapping from the generator's malformed kinds to collector counters
(perf/gen/README.md) lives in the truth file itself: each exporter's
"counters" lists every decode counter that must be non-zero, with its value;
every other decode counter must be 0."""

import json
import sys


def exporter_counters(stats):
    """Per-exporter decode counters, summed over sluiced's workers."""
    if "workers" not in stats:
        return stats["exporters"]
    out = {}
    for w in stats["workers"]:
        for addr, c in w["exporters"].items():
            acc = out.setdefault(addr, {})
            for k, v in c.items():
                acc[k] = acc.get(k, 0) + v
    return out


def frame_counters(stats):
    """(bad_ipv4_checksum, frag_received, frag_datagrams, frag_reassembled, records, datagrams)."""
    if "workers" in stats:
        t = stats["totals"]
        return {"bad_ipv4_checksum": t["bad_ipv4_checksum"], "frag_received": t["frag_received"],
                "frag_datagrams": t["frag_datagrams"], "frag_reassembled": t["frag_reassembled"],
                "records": t["records"], "datagrams": t["datagrams"],
                "refused_invalid_first_datagram": sum(w["exporter_table"]["refused_invalid_first_datagram"]
                                                      for w in stats["workers"])}
    r = stats["reassembly"]
    return {"bad_ipv4_checksum": stats["frames_by_class"]["bad_ipv4_checksum"],
            "frag_received": r["frag_received"], "frag_datagrams": r["frag_datagrams"],
            "frag_reassembled": r["frag_reassembled"], "records": stats["records"],
            "datagrams": stats["datagrams"],
            "refused_invalid_first_datagram": stats["exporter_table"]["refused_invalid_first_datagram"]}


def check_stats(truth, stats):
    bad = []
    tt = truth["totals"]
    want = {"bad_ipv4_checksum": tt["bad_ipv4_checksum"], "frag_received": tt["fragments"],
            "frag_datagrams": tt["fragmented_datagrams"], "frag_reassembled": tt["fragments"],
            "records": tt["records"], "datagrams": tt["datagrams_decoded"],
            "refused_invalid_first_datagram": 0}
    got = frame_counters(stats)
    for k, v in want.items():
        if got[k] != v:
            bad.append("%s: collector %d, truth %d" % (k, got[k], v))
    exp = exporter_counters(stats)
    for addr, e in truth["exporters"].items():
        c = exp.get(addr)
        if c is None:
            bad.append("%s: exporter not seen" % addr)
            continue
        for k in sorted(set(c) | set(e["counters"])):
            if c.get(k, 0) != e["counters"].get(k, 0):
                bad.append("%s (%s) %s: collector %d, truth %d" % (addr, e["version"], k, c.get(k, 0),
                                                                   e["counters"].get(k, 0)))
    for addr in exp:
        if addr not in truth["exporters"]:
            bad.append("%s: an exporter the generator never made" % addr)
    return bad


def check_records(truth, lines):
    """Flow records: count, bytes and packets per exporter and per input
    interface; sFlow interface counters: the last one per interface equals the
    agent's true traffic."""
    acc = {}
    last_ctr = {}
    for line in lines:
        r = json.loads(line)
        a = r["sampler_address"]
        if r["kind"] == "flow":
            e = acc.setdefault(a, {"records": 0, "bytes": 0, "packets": 0, "if": {}})
            e["records"] += 1
            e["bytes"] += r["bytes"]
            e["packets"] += r["packets"]
            i = e["if"].setdefault(str(r["in_if"]), [0, 0, 0])
            i[0] += 1
            i[1] += r["bytes"]
            i[2] += r["packets"]
        else:
            last_ctr[(a, str(r["in_if"]))] = r
    bad = []
    for addr, e in truth["exporters"].items():
        g = acc.get(addr, {"records": 0, "bytes": 0, "packets": 0, "if": {}})
        if g["records"] != e["counters"].get("flow_records", 0):
            bad.append("%s: %d flow records output, truth %d" % (addr, g["records"], e["counters"].get("flow_records", 0)))
        for k in ("bytes", "packets"):
            if g[k] != e[k]:
                bad.append("%s: %s %d, truth %d" % (addr, k, g[k], e[k]))
        for i, it in e["interfaces"].items():
            gi = g["if"].get(i, [0, 0, 0])
            if gi != [it["records"], it["bytes"], it["packets"]]:
                bad.append("%s if %s: records/bytes/packets %s, truth %s" % (addr, i, gi, [it["records"], it["bytes"], it["packets"]]))
            if e["version"] == "sflow":
                r = last_ctr.get((addr, i))
                got_ctr = r["bytes"] if r is not None else None
                want_ctr = it["last_counter_bytes"] if it["counter_samples"] else None
                if got_ctr != want_ctr:
                    bad.append("%s if %s: last ifInOctets %s, truth %s" % (addr, i, got_ctr, want_ctr))
    return bad


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    truth = json.load(open(sys.argv[1]))
    bad = check_stats(truth, json.load(open(sys.argv[2])))
    if len(sys.argv) == 4:
        with open(sys.argv[3]) as f:
            bad += check_records(truth, f)
    for b in bad:
        print("MISMATCH " + b)
    if not bad:
        print("ok: every counter equals the truth (%d records)" % truth["totals"]["records"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
