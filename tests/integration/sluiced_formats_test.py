#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""sluiced writes every sink format to files, checked exactly: one replay of bundled captures (NetFlow v5, v9,
IPFIX with biflows, sFlow with counter samples) with a json, an ecs_json and a protobuf_delimited output.
  * json: the lines of sluice-decode --json (unchanged by the formats);
  * ecs_json: byte for byte what the encoder writes for the same records (encode_dump over the same captures),
    flow ids (event.id) as tests/sinks/flow_id.py defines them;
  * protobuf_delimited: byte for byte the same, and decoded by protoc-generated Python (sinks/proto/flow.proto and
    goflow2's schema) with every field equal to the record.

usage: sluiced_formats_test.py SLUICED SLUICE_DECODE ENCODE_DUMP SOURCE_ROOT"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

SLUICED, SLUICE_DECODE, ENCODE_DUMP, ROOT = sys.argv[1:5]
sys.path.insert(0, os.path.join(ROOT, "tests", "sinks"))
import flow_id as fid  # noqa: E402
import proto_compat_test as pc  # noqa: E402

PCAPS = ["softflowd-v5-ipv4.pcap", "softflowd-v9-ipv4.pcap", "softflowd-ipfix-biflow-ipv4.pcap",
         "softflowd-ipfix-ipv6.pcap", "pmacct-nfprobe-ipfix.pcap", "fprobe-v5-ipv4.pcap", "pmacct-sfprobe-sflow.pcap"]


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, timeout=120, **kw)
    if p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (cmd[0], p.returncode, p.stderr.decode()[-3000:]))
    return p.stdout


def main():
    if shutil.which("protoc") is None:
        print("SKIP: protoc not installed (Debian package protobuf-compiler)")
        sys.exit(77)
    pcaps = [os.path.join(ROOT, "tests", "fixtures", f) for f in PCAPS]
    # Each fixture was exported to its own UDP port (tests/fixtures/manifest.tsv): sluiced is told which is which.
    port_map = []
    with open(os.path.join(ROOT, "tests", "fixtures", "manifest.tsv")) as fh:
        for line in fh:
            if line.startswith("#") or not line.strip():
                continue
            name, port, _dissector, proto = line.split("\t")[:4]
            if name in PCAPS:
                port_map += ["--port-map", "%s=%s" % (port, proto)]
    assert len(port_map) == 2 * len(PCAPS)
    with tempfile.TemporaryDirectory(prefix="sluice-formats-") as tmp:
        out = {f: os.path.join(tmp, "out." + f) for f in ("json", "ecs_json", "protobuf_delimited")}
        cmd = [SLUICED]
        for p in pcaps:
            cmd += ["--pcap", p]
        cmd += [*port_map, "--stats-json", os.path.join(tmp, "stats.json"),
                "--output", "name=plain,format=json,path=" + out["json"],
                "--output", "name=ecs,format=ecs_json,path=" + out["ecs_json"],
                "--output", "name=pb,format=protobuf_delimited,path=" + out["protobuf_delimited"]]
        run(cmd)
        got = {f: open(p, "rb").read() for f, p in out.items()}
        with open(os.path.join(tmp, "stats.json")) as fh:
            stats = json.load(fh)

        ref_json = run([SLUICE_DECODE, "--json", "--quiet-stats", *port_map, *pcaps])
        assert got["json"] == ref_json, "json output differs from sluice-decode --json"
        n = len(ref_json.splitlines())
        assert n > 100, n

        want_ecs = run([ENCODE_DUMP, "ecs_json", *pcaps])
        assert got["ecs_json"] == want_ecs, "ecs_json output differs from the encoder's"
        want_pb = run([ENCODE_DUMP, "protobuf_delimited", *pcaps])
        assert got["protobuf_delimited"] == want_pb, "protobuf_delimited output differs from the encoder's"

        ref = [pc.reference(line) for line in run([ENCODE_DUMP, "reference", *pcaps]).splitlines()]
        assert len(ref) == n
        gen = tempfile.mkdtemp(dir=tmp)
        ours = pc.generate(gen, os.path.join(ROOT, "sinks", "proto", "flow.proto"))
        gf = pc.generate(gen, os.path.join(ROOT, "tests", "sinks", "proto_goflow2.proto"))
        msgs = pc.delimited(got["protobuf_delimited"])
        ecs = [json.loads(line) for line in got["ecs_json"].splitlines()]
        assert len(msgs) == n and len(ecs) == n, (len(msgs), len(ecs), n)
        ids = set()
        for i, (r, raw, e) in enumerate(zip(ref, msgs, ecs)):
            where = "record %d" % i
            o = ours.FlowMessage.FromString(raw)
            pc.check(o, r, pc.COMMON, where)
            pc.check(o, r, pc.SLUICE, where)
            pc.check(gf.FlowMessage.FromString(raw), r, pc.COMMON, where + " (goflow2)")
            want = fid.flow_id(fid.address16(r["sampler_address"]), r["export_version"], pc.TYPE[r["type"]],
                               r["observation_domain_id"], r["sequence_num"], r["record_index"],
                               r["time_flow_end_ns"], r["times_from_export"])
            assert o.flow_id == want and e["event"]["id"] == "%016x" % want, where
            assert e["observer"]["ip"] == r["sampler_address"], where
            if r["kind"] == "flow":
                assert e["source"].get("ip", "") == r["src_addr"] and e["source"]["port"] == r["src_port"], where
                assert e["network"]["bytes"] == r["bytes"] and e["network"]["packets"] == r["packets"], where
            ids.add(want)
        assert len(ids) == n, "flow ids collide: %d distinct of %d records" % (len(ids), n)

        outs = stats["sinks"][0]["outputs"]
        for name in ("plain", "ecs", "pb"):
            assert outs[name]["written"] == n and outs[name]["encoded"] == n, (name, outs[name])
        print("%d records: json = sluice-decode, ecs_json and protobuf_delimited = the encoders, every protobuf "
              "field equal to the record, %d distinct flow ids" % (n, len(ids)))
        print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
