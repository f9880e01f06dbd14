#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Protobuf compatibility: Sluice's delimited FlowMessages of every bundled capture (and a record with every field
# set), decoded by Python code that Debian's protoc generates at test time, both from goflow2's schema
# (tests/sinks/proto_goflow2.proto: what goflow2's consumers compile) and from ours (sinks/proto/flow.proto).
# Every field is checked against the record's reference JSON (sluice-decode's line + record_index, flow_id).
# Enriched messages (encode_dump --enriched: tests/sinks/enriched_fixture.hpp) decode with every enriched field
# (1003-1055) exactly as tests/sinks/enriched_expect.py says, and every other field as without enrichment.
#   proto_compat_test.py ENCODE_DUMP SOURCE_ROOT
import importlib
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import enriched_expect as ee  # noqa: E402
import flow_id as fid  # noqa: E402

FIXTURES = ["fprobe-v5-ipv4.pcap", "softflowd-v5-ipv4.pcap", "softflowd-v9-ipv4.pcap", "softflowd-v9-ipv6.pcap",
            "pmacct-nfprobe-v9.pcap", "softflowd-ipfix-ipv4.pcap", "softflowd-ipfix-ipv6.pcap",
            "softflowd-ipfix-ether.pcap", "softflowd-ipfix-biflow-ipv4.pcap", "pmacct-nfprobe-ipfix.pcap",
            "pmacct-sfprobe-sflow.pcap"]


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def generate(tmp, proto_path):
    d, name = os.path.split(proto_path)
    subprocess.run(["protoc", f"-I{d}", f"--python_out={tmp}", name], check=True)
    sys.path.insert(0, tmp)
    return importlib.import_module(name[:-len(".proto")] + "_pb2")


def delimited(data):
    out, i = [], 0
    while i < len(data):
        n, s = 0, 0
        while True:
            b = data[i]
            i += 1
            n |= (b & 0x7F) << s
            s += 7
            if not b & 0x80:
                break
        out.append(data[i:i + n])
        i += n
    assert i == len(data), "trailing bytes after the last message"
    return out


def addr_text(b):
    if len(b) == 0:
        return ""
    assert len(b) in (4, 16), len(b)
    return str(ipaddress.ip_address(b))


def mac_text(v):
    return ":".join(f"{(v >> (8 * (5 - i))) & 0xff:02x}" for i in range(6))


TYPE = {"FLOWUNKNOWN": 0, "SFLOW_5": 1, "NETFLOW_V5": 2, "NETFLOW_V9": 3, "IPFIX": 4}
# Reference JSON key -> (message field, conversion of the message's value to the JSON's). Both schemas.
COMMON = {
    "type": ("type", lambda v: {n: k for k, n in TYPE.items()}[v]),
    "sampling_rate": ("sampling_rate", int), "sequence_num": ("sequence_num", int),
    "src_addr": ("src_addr", addr_text), "dst_addr": ("dst_addr", addr_text),
    "bytes": ("bytes", int), "packets": ("packets", int),
    "sampler_address": ("sampler_address", addr_text), "next_hop": ("next_hop", addr_text),
    "next_hop_as": ("next_hop_as", int), "src_as": ("src_as", int), "dst_as": ("dst_as", int),
    "src_net": ("src_net", int), "dst_net": ("dst_net", int), "in_if": ("in_if", int), "out_if": ("out_if", int),
    "proto": ("proto", int), "src_port": ("src_port", int), "dst_port": ("dst_port", int),
    "ip_tos": ("ip_tos", int), "forwarding_status": ("forwarding_status", int), "ip_ttl": ("ip_ttl", int),
    "tcp_flags": ("tcp_flags", int), "src_mac": ("src_mac", mac_text), "dst_mac": ("dst_mac", mac_text),
    "vlan_id": ("vlan_id", int), "etype": ("etype", int), "icmp_type": ("icmp_type", int),
    "icmp_code": ("icmp_code", int), "src_vlan": ("src_vlan", int), "dst_vlan": ("dst_vlan", int),
    "ipv6_flow_label": ("ipv6_flow_label", int), "flow_direction": ("flow_direction", int),
    "observation_domain_id": ("observation_domain_id", int),
    "mpls_label": ("mpls_label", lambda v: v[0] if len(v) else 0),
    "bgp_next_hop": ("bgp_next_hop", addr_text),
    "time_received_ns": ("time_received_ns", int), "time_flow_start_ns": ("time_flow_start_ns", int),
    "time_flow_end_ns": ("time_flow_end_ns", int),
}
KIND = {0: "flow", 1: "interface_counters"}
SLUICE = {
    "flow_id": ("flow_id", int), "record_index": ("record_index", int), "kind": ("kind", lambda v: KIND[v]),
    "export_version": ("export_version", int), "biflow_reverse": ("biflow_reverse", bool),
    "sampling_overridden": ("sampling_overridden", bool), "times_from_export": ("times_from_export", bool),
    "in_if_format": ("in_if_format", int), "out_if_format": ("out_if_format", int),
    "inner_vlan_id": ("inner_vlan_id", int), "flow_end_reason": ("flow_end_reason", int),
    "post_nat_src_addr": ("post_nat_src_addr", addr_text), "post_nat_dst_addr": ("post_nat_dst_addr", addr_text),
    "post_nat_src_port": ("post_nat_src_port", int), "post_nat_dst_port": ("post_nat_dst_port", int),
    "if_speed_mbps": ("if_speed_mbps", int), "if_out_bytes": ("if_out_bytes", int),
    "if_out_packets": ("if_out_packets", int), "if_in_errors": ("if_in_errors", int),
    "if_out_errors": ("if_out_errors", int), "if_in_discards": ("if_in_discards", int),
    "if_out_discards": ("if_out_discards", int),
}
# Values the reference JSON does not carry, for the --max record (tests/sinks/encode_dump.cpp's max_record()).
MAX_ENRICHMENT = {"extrapolated_bytes": 0xfffffffffffffff0, "extrapolated_packets": 0xfffffffffffffff1,
                  "signature_tags": 0xffffffff}


def reference(line):
    """A reference line as one dict: an interface-counters line's flow-shaped part ("as_flow") merged under it."""
    r = json.loads(line)
    return {**r.pop("as_flow"), **r} if "as_flow" in r else r


def check(msg, ref, table, where):
    checked = set()
    for key, (field, conv) in table.items():
        if key in ref:
            got = conv(getattr(msg, field))
            assert got == ref[key], f"{where}: {key}: message {got!r} != record {ref[key]!r}"
            checked.add(key)
        elif field != "flow_direction":  # absent from the reference line (interface counters): the default
            # (flow_direction is always written; a counter sample's is its ifDirection, not in the JSON line)
            v = getattr(msg, field)
            assert not v, f"{where}: {field} = {v!r}, record has no {key}"
    return checked


def enriched_fields(msg):
    """The enrichment fields (1000 and up) a message carries, maps as dicts."""
    return {f.name: (dict(v) if f.message_type else v) for f, v in msg.ListFields() if f.number >= 1000}


def check_enriched(dump, gf, ours):
    ref = [reference(line) for line in
           subprocess.run([dump, "reference", "--enriched"], check=True, capture_output=True).stdout.splitlines()]
    raw = delimited(subprocess.run([dump, "protobuf_delimited", "--enriched"], check=True,
                                   capture_output=True).stdout)
    plain = delimited(subprocess.run([dump, "plain_protobuf_delimited", "--enriched"], check=True,
                                     capture_output=True).stdout)
    assert len(raw) == len(plain) == len(ref) == len(ee.EXPECT), (len(raw), len(plain), len(ref))
    numbers = {f.number for f in ours.FlowMessage.DESCRIPTOR.fields}
    assert set(range(1000, 1056)) <= numbers, sorted(set(range(1000, 1056)) - numbers)
    for r, m, p in zip(ref, raw, plain):
        where = f"enriched record seq {r['sequence_num']}"
        o = ours.FlowMessage.FromString(m)
        want = ee.EXPECT[r["sequence_num"]]
        got = enriched_fields(o)
        assert got == want, f"{where}: {got} != {want}"
        # The rest of the message is the plain encoding's, under both schemas.
        check(o, r, COMMON, where)
        check(o, r, SLUICE, where)
        check(gf.FlowMessage.FromString(m), r, COMMON, where + " (goflow2 schema)")
        q = ours.FlowMessage.FromString(p)
        for f in list(got):
            if f not in ("extrapolated_bytes", "extrapolated_packets", "signature_tags"):
                o.ClearField(f)
        assert o == q, f"{where}: the enriched message minus its enriched fields differs from the plain one"
        if not want:
            assert m == p, f"{where}: no ids, no prefix: must be the plain encoding byte for byte"
    return len(raw)


def main():
    dump, root = sys.argv[1], sys.argv[2]
    if shutil.which("protoc") is None:
        skip("protoc not installed (Debian package protobuf-compiler)")
    try:
        import google.protobuf  # noqa: F401
    except ImportError:
        skip("python3-protobuf not installed")
    tmp = tempfile.mkdtemp(prefix="sluice-proto-")
    try:
        gf = generate(tmp, os.path.join(root, "tests", "sinks", "proto_goflow2.proto"))
        ours = generate(tmp, os.path.join(root, "sinks", "proto", "flow.proto"))
        cases = [[os.path.join(root, "tests", "fixtures", f)] for f in FIXTURES] + [["--max"]]
        total, kinds, seen = 0, set(), set()
        for args in cases:
            ref = [reference(line) for line in
                   subprocess.run([dump, "reference"] + args, check=True, capture_output=True).stdout.splitlines()]
            msgs = delimited(subprocess.run([dump, "protobuf_delimited"] + args, check=True,
                                            capture_output=True).stdout)
            assert len(ref) == len(msgs) and ref, f"{args}: {len(ref)} records, {len(msgs)} messages"
            for i, (r, raw) in enumerate(zip(ref, msgs)):
                where = f"{os.path.basename(args[0])} record {i}"
                g = gf.FlowMessage.FromString(raw)
                o = ours.FlowMessage.FromString(raw)
                # goflow2's consumer sees our own fields (200+) as unknown fields, and nothing it knows differently.
                seen |= check(g, r, COMMON, where + " (goflow2 schema)")
                seen |= check(o, r, COMMON, where + " (sluice schema)")
                seen |= check(o, r, SLUICE, where + " (sluice schema)")
                want = fid.flow_id(fid.address16(r["sampler_address"]), r["export_version"], TYPE[r["type"]],
                                   r["observation_domain_id"], r["sequence_num"], r["record_index"],
                                   r.get("time_flow_end_ns", r["time_received_ns"]), r["times_from_export"])
                assert o.flow_id == want, f"{where}: flow_id {o.flow_id:#x} != definition {want:#x}"
                # The JSON carries the enrichment line's fields when they are set (extrapolation, signatures).
                for k in MAX_ENRICHMENT:
                    if k in r:
                        assert getattr(o, k) == r[k], f"{where}: {k} {getattr(o, k)} != JSON {r[k]}"
                        seen.add(k)
                if args == ["--max"]:
                    for k, v in MAX_ENRICHMENT.items():
                        assert getattr(o, k) == v, f"{where}: {k}"
                else:
                    for k in MAX_ENRICHMENT:
                        assert getattr(o, k) == 0, f"{where}: {k} set without enrichment"
                assert o.SerializeToString() == raw or ours.FlowMessage.FromString(o.SerializeToString()) == o
                kinds.add(r["kind"])
                total += 1
        # Every key of the reference JSON is covered by a check above.
        all_keys = set()
        for args in cases:
            for line in subprocess.run([dump, "reference"] + args, check=True,
                                       capture_output=True).stdout.splitlines():
                all_keys |= set(reference(line))
        enriched = check_enriched(dump, gf, ours)
        unchecked = all_keys - seen
        assert not unchecked, f"reference fields no check covers: {sorted(unchecked)}"
        assert kinds == {"flow", "interface_counters"}, kinds
        print(f"{total} records of {len(cases)} inputs: every field equal under goflow2's and Sluice's schemas")
        print(f"{enriched} enriched records: every enriched field exact")
        print("1 passed, 0 failed")
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
