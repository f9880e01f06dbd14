#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""--extrapolate end to end on the sFlow fixture that carries counter samples
(pmacct-sfprobe-sflow.pcap: 46 flow samples at 1-in-4 on ifIndex 5, then one
generic interface counter sample of ifIndex 5).

The capture is replayed twice through sluiced, 60 s apart, with the counters
an agent that counted from zero would report: a reading of 0 octets before
the first pass (pmacct starts its counters at 0 when it starts, which is when
the recording started), the fixture's own reading (65558) at the end of pass
1, and 2 x 65558 at the end of pass 2. The first window's factor (65558 /
the sampled-and-scaled octets of pass 1) then applies to pass 2, whose
records must add up to the counter delta within the documented error (here
rounding only: 0.5 byte per record, because pass 2 carries the same traffic).
Every expected number is computed here from sluice-decode's records of the
fixture (the decoders are checked against tshark elsewhere), not from the
extrapolator.

usage: extrapolate_fixture_test.py SLUICED SLUICE_DECODE FIXTURES_DIR"""

import json
import os
import struct
import subprocess
import sys
import tempfile

SLUICED, SLUICE_DECODE, FIXTURES = sys.argv[1:4]
FIXTURE = os.path.join(FIXTURES, "pmacct-sfprobe-sflow.pcap")
PORT = 26343
IN_OCTETS_OFF = 28 + 20 + 8 + 24  # sFlow header, counters_sample header, record header, generic counters to ifInOctets


def read_pcap(path):
    d = open(path, "rb").read()
    hdr = d[:24]
    assert struct.unpack("<I", hdr[:4])[0] == 0xA1B2C3D4, "microsecond pcap expected"
    out, off = [], 24
    while off < len(d):
        ts, tu, il, _ = struct.unpack("<IIII", d[off:off + 16])
        out.append((ts * 1000000 + tu, bytearray(d[off + 16:off + 16 + il])))
        off += 16 + il
    return hdr, out


def payload_off(fr):
    assert fr[12:14] == b"\x08\x00" and fr[23] == 17, "Ethernet/IPv4/UDP expected"
    return 14 + (fr[14] & 15) * 4 + 8


def patched(fr, seq, in_octets=None):
    fr = bytearray(fr)
    p = payload_off(fr)
    struct.pack_into("!I", fr, p + 16, seq)  # datagram sequence number
    struct.pack_into("!H", fr, p - 2, 0)     # UDP checksum: none (RFC 768)
    if in_octets is not None:
        # One counters_sample (format 2) holding one generic interface record (format 1, 88 bytes).
        assert struct.unpack_from("!I", fr, p + 24)[0] == 1
        assert struct.unpack_from("!II", fr, p + 28) == (2, 20 + 96 - 8)
        assert struct.unpack_from("!III", fr, p + 28 + 20) == (1, 88, 5)
        struct.pack_into("!Q", fr, p + IN_OCTETS_OFF, in_octets)
    return fr


def decode_fixture():
    p = subprocess.run([SLUICE_DECODE, "--json", "--quiet-stats", FIXTURE], capture_output=True, text=True,
                       check=True, timeout=60)
    return [json.loads(ln) for ln in p.stdout.splitlines()]


def run_sluiced(tmp, pcap, *extra):
    out, st = os.path.join(tmp, "out.json"), os.path.join(tmp, "stats.json")
    cmd = [SLUICED, "--pcap", pcap, "--port-map", "%d=sflow" % PORT, "--json-out", out, "--stats-json", st, *extra]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, "sluiced failed: %s\n%s" % (" ".join(cmd), p.stderr[-3000:])
    with open(out) as f:
        recs = [json.loads(ln) for ln in f.read().splitlines()]
    with open(st) as f:
        return recs, json.load(f)["metrics"]


def main():
    hdr, frames = read_pcap(FIXTURE)
    fixture = decode_fixture()
    flows = [r for r in fixture if r["kind"] == "flow"]
    counts = [r for r in fixture if r["kind"] == "interface_counters"]
    assert len(flows) == 46 and len(counts) == 1, (len(flows), len(counts))
    assert counts[0]["in_if"] == 5 and counts[0]["bytes"] == 65558 and counts[0]["if_out_bytes"] == 0
    assert all(r["in_if"] == 5 and r["in_if_format"] == 0 and r["sampling_rate"] == 4 for r in flows)
    actual = counts[0]["bytes"]

    # The replay: reading 0, pass 1 (ends with the fixture's 65558), pass 2 60 s later (ends with 2 x 65558).
    shift = 60 * 1000000
    seq = 0
    pkts = []
    seq += 1
    pkts.append((frames[0][0] - 1000000, patched(frames[-1][1], seq, in_octets=0)))
    for t, fr in frames:
        seq += 1
        pkts.append((t, patched(fr, seq)))
    for i, (t, fr) in enumerate(frames):
        seq += 1
        pkts.append((t + shift, patched(fr, seq, in_octets=2 * actual if i == len(frames) - 1 else None)))

    with tempfile.TemporaryDirectory(prefix="ifx-extrapolate-") as tmp:
        pcap = os.path.join(tmp, "two-passes.pcap")
        with open(pcap, "wb") as f:
            f.write(hdr)
            for t, fr in pkts:
                f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(fr), len(fr)) + fr)

        # ---- default bounds: the factor is 65558 / sampled ----
        sampled = sum(r["bytes"] * r["sampling_rate"] for r in flows)
        assert sampled == 88760, sampled
        factor = actual / sampled
        assert 0.5 <= factor <= 2.0
        recs, m = run_sluiced(tmp, pcap, "--extrapolate", "--extrapolate-window", "20")
        got = [r for r in recs if r["kind"] == "flow"]
        assert len(got) == 92, len(got)
        p1, p2 = got[:46], got[46:]
        for a, b in zip(p1, flows):
            assert (a["bytes"], a["packets"]) == (b["bytes"], b["packets"])
            assert a["extrapolated_bytes"] == b["bytes"] * 4, (a, b)
            assert a["extrapolated_packets"] == b["packets"] * 4
        for a, b in zip(p2, flows):
            assert a["extrapolated_bytes"] == int(b["bytes"] * 4 * factor + 0.5), (a["extrapolated_bytes"], b["bytes"])
            assert a["extrapolated_packets"] == int(b["packets"] * 4 * factor + 0.5)
        total = sum(r["extrapolated_bytes"] for r in p2)
        err = abs(total - actual)
        print("pass 2: extrapolated %d bytes, counters %d, error %d (bound %.1f); pass 1 (rate only) %d"
              % (total, actual, err, 0.5 * len(p2), sum(r["extrapolated_bytes"] for r in p1)))
        assert err <= 0.5 * len(p2), err
        for r in recs:
            if r["kind"] != "flow":
                assert "extrapolated_bytes" not in r
        want = {"records_extrapolated": 92, "records_scaled": 46, "counter_readings": 3, "windows_closed": 2,
                "windows_unsampled": 0, "factor_clamped": 0, "counter_resets": 0, "interfaces_tracked": 1,
                "interfaces_evicted": 0}
        for k, v in want.items():
            assert m["sluice_enrich_extrapolate_%s_total" % k] == v, (k, m.get("sluice_enrich_extrapolate_%s_total" % k))

        # ---- a bound below the factor: clamped and counted, both windows ----
        recs, m = run_sluiced(tmp, pcap, "--extrapolate", "--extrapolate-window", "20",
                              "--extrapolate-max-factor", "1", "--extrapolate-min-factor", "0.9")
        p2 = [r for r in recs if r["kind"] == "flow"][46:]
        for a, b in zip(p2, flows):
            assert a["extrapolated_bytes"] == int(b["bytes"] * 4 * 0.9 + 0.5)
        assert m["sluice_enrich_extrapolate_factor_clamped_total"] == 2
        assert m["sluice_enrich_extrapolate_records_scaled_total"] == 46

        # ---- a window longer than the replay: no window closes, the rate alone ----
        recs, m = run_sluiced(tmp, pcap, "--extrapolate", "--extrapolate-window", "3600")
        for a, b in zip([r for r in recs if r["kind"] == "flow"][46:], flows):
            assert a["extrapolated_bytes"] == b["bytes"] * 4
        assert m["sluice_enrich_extrapolate_windows_closed_total"] == 0
    print("ok")


if __name__ == "__main__":
    main()
