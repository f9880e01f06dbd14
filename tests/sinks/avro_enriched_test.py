#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# The Avro datum encoder's enriched fields, read back by python3-avro (an independent reader) against
# sinks/avro/flow.avsc: the records of tests/sinks/enriched_fixture.hpp (encode_dump avro --enriched) carry
# exactly tests/sinks/enriched_expect.py's values under their Avro names, every other enriched field is null,
# and every base field equals the record's reference JSON (sluice-decode's rendering). Skips (77) without
# python3-avro.
#   avro_enriched_test.py ENCODE_DUMP SOURCE_ROOT
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import enriched_expect as ee  # noqa: E402
import flow_id as fid  # noqa: E402

TYPE = {"FLOWUNKNOWN": 0, "SFLOW_5": 1, "NETFLOW_V5": 2, "NETFLOW_V9": 3, "IPFIX": 4}


def signed64(v):
    """A u64 as Avro's long of the same bits (docs/schema.md)."""
    return v - (1 << 64) if v >= 1 << 63 else v

ADDRS = {"sampler_address", "src_addr", "dst_addr", "next_hop", "bgp_next_hop", "post_nat_src_addr",
         "post_nat_dst_addr"}


def main():
    dump, root = sys.argv[1], sys.argv[2]
    try:
        from avro.datafile import DataFileReader
        from avro.io import DatumReader
    except ImportError:
        print("SKIP: python3-avro not installed")
        sys.exit(77)
    with open(os.path.join(root, "sinks", "avro", "flow.avsc")) as fh:
        fields = [f["name"] for f in json.load(fh)["fields"]]
    first = fields.index("extrapolated_bytes")
    assert first == 58 and len(fields) == 116, (first, len(fields))
    enriched_names = fields[first:114]
    assert fields[114:] == ["flow_id", "record_index"], fields[114:]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "e.avro")
        subprocess.run([dump, "avro", "--enriched", path], check=True)
        with open(path, "rb") as fh:
            rd = DataFileReader(fh, DatumReader())
            recs = list(rd)
            rd.close()
    ref = [json.loads(x) for x in
           subprocess.run([dump, "reference", "--enriched"], check=True, capture_output=True).stdout.splitlines()]
    assert len(recs) == len(ref) == len(ee.EXPECT), (len(recs), len(ref))
    checked = ids = 0
    for a, r in zip(recs, ref):
        where = "seq %d" % r["sequence_num"]
        assert list(a) == fields, where
        want = {ee.avro_name(k): v for k, v in ee.EXPECT[r["sequence_num"]].items()}
        assert set(want) <= set(enriched_names), sorted(set(want) - set(enriched_names))
        got = {k: a[k] for k in enriched_names if a[k] is not None}
        assert got == want, "%s: %s != %s" % (where, got, want)
        # The flow id: the definition's (tests/sinks/flow_id.py, from the record's fields), the encoder's (the
        # reference line's flow_id, sinks/encode/flow_id.hpp) and the Avro long of the same bits, all equal.
        f = {**r["as_flow"], **r} if "as_flow" in r else r  # a counters line's flow-shaped part under it
        want_id = fid.flow_id(fid.address16(f["sampler_address"]), f["export_version"], TYPE[f["type"]],
                              f["observation_domain_id"], f["sequence_num"], f["record_index"],
                              f.get("time_flow_end_ns", f["time_received_ns"]), f["times_from_export"])
        assert want_id == r["flow_id"], (where, want_id, r["flow_id"])
        assert a["flow_id"] == signed64(want_id), (where, a["flow_id"], want_id)
        assert a["record_index"] == r["record_index"], (where, a["record_index"], r["record_index"])
        ids += 1
        for k, v in r.items():  # the base fields: the JSON's
            if k in ("record_index", "times_from_export", "flow_id", "as_flow"):
                continue
            if k in ("extrapolated_bytes", "extrapolated_packets", "signature_tags"):
                assert a[k] == v, (where, k)
                continue
            assert a[k] == (None if (k in ADDRS and v == "") else v), "%s: %s: %r != %r" % (where, k, a[k], v)
        checked += len(enriched_names)
    assert any(a["flow_id"] < 0 for a in recs) and any(a["flow_id"] > 0 for a in recs), [a["flow_id"] for a in recs]
    print("%d records, %d enriched fields exact, %d flow ids and record indexes exact" % (len(recs), checked, ids))
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
