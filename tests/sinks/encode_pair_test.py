#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# A redundant pair: collector B receives the same exports as collector A, but its clock is 3.5 ms ahead and it
# lost a datagram (the second of every capture; the first carries the templates). Every record B decodes has the same flow id as A's
# copy of it, A's ids are distinct, and the records B does emit are A's (same fields but the receive time).
#   encode_pair_test.py ENCODE_DUMP SOURCE_ROOT
import json
import os
import struct
import subprocess
import sys
import tempfile

FIXTURES = ["softflowd-v5-ipv4.pcap", "softflowd-v9-ipv4.pcap", "pmacct-nfprobe-v9.pcap",
            "softflowd-ipfix-ipv4.pcap", "softflowd-ipfix-biflow-ipv4.pcap", "pmacct-nfprobe-ipfix.pcap",
            "pmacct-sfprobe-sflow.pcap"]
LOST = 1                # the datagram collector B lost (0-based frame index)
SHIFT_NS = 3_500_000    # B's clock ahead of A's


def shifted_copy(src, dst, skip, shift_ns):
    """The capture without frame `skip`, timestamps moved by shift_ns (pcap, us or ns resolution)."""
    data = open(src, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    assert magic in (0xA1B2C3D4, 0xA1B23C4D), f"{src}: not a little-endian pcap"
    per_sec = 1_000_000_000 if magic == 0xA1B23C4D else 1_000_000
    shift = shift_ns * per_sec // 1_000_000_000
    out, off, i = [data[:24]], 24, 0
    while off < len(data):
        sec, frac, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        body = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if i != skip:
            t = sec * per_sec + frac + shift
            out.append(struct.pack("<IIII", t // per_sec, t % per_sec, incl, orig) + body)
        i += 1
    open(dst, "wb").write(b"".join(out))


def records(dump, pcap):
    out = subprocess.run([dump, "reference", pcap], check=True, capture_output=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def main():
    dump, root = sys.argv[1], sys.argv[2]
    total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in FIXTURES:
            a_path = os.path.join(root, "tests", "fixtures", name)
            b_path = os.path.join(tmp, name)
            shifted_copy(a_path, b_path, LOST, SHIFT_NS)
            a, b = records(dump, a_path), records(dump, b_path)
            ids_a = {r["flow_id"]: r for r in a}
            assert len(ids_a) == len(a), f"{name}: flow ids collide within one collector"
            assert b, f"{name}: collector B decoded nothing: the test would prove nothing"
            assert len(b) < len(a), f"{name}: B missed nothing"
            for r in b:
                assert r["flow_id"] in ids_a, f"{name}: B's record {r} has an id A never gave"
                mine = dict(ids_a[r["flow_id"]])
                theirs = dict(r)
                for rec in (mine, theirs):
                    rec.pop("time_received_ns")
                    rec.pop("as_flow", None)
                    if rec["times_from_export"]:  # its times are the collector's clock
                        rec.pop("time_flow_start_ns", None)
                        rec.pop("time_flow_end_ns", None)
                assert mine == theirs, f"{name}: same id, different records:\n{mine}\n{theirs}"
            total += len(b)
            print(f"{name}: A {len(a)} records, B {len(b)}: every B record has A's id")
    print(f"{total} records of the lossy, clock-skewed collector matched by flow id")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
