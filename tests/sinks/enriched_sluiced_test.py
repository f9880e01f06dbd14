#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""sluiced with enrichment on (the fixtures of tests/enrich/test_enrich_sluiced.py, plus a custom key), three
outputs in one run: json, protobuf_delimited to a file, Avro to a local Hive tree. Read back with protoc-generated
Python (our schema) and python3-avro, each record's enriched fields equal, exactly, both the expected values of the
tables and the JSON output's enriched members of the same record (JSON names -> protobuf names -> Avro names).
With MOCK_KAFKA (sluice-mock-kafka) and kcat: a second run with a `protobuf` (unframed, one message per record)
output to the mock cluster, each consumed message's enriched fields equal to the JSON's.

usage: enriched_sluiced_test.py SLUICED FIXTURES_DIR TESTDATA_DIR SOURCE_ROOT [MOCK_KAFKA]"""

import glob
import importlib
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "enrich"))
import enriched_expect as ee  # noqa: E402
import proto_compat_test as pc  # noqa: E402
import test_enrich_sluiced as tes  # noqa: E402  (its fixtures and expectations; not modified)


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def proto_name(json_name):
    """The JSON's enriched member name as flow.proto's field name (SrcAS -> SrcASN; custom keys -> the map)."""
    return {"SrcAS": "SrcASN", "DstAS": "DstASN"}.get(json_name, json_name)


CUSTOM = {"SrcNetRack": ("SrcNetCustom", "rack"), "DstNetRack": ("DstNetCustom", "rack")}


def expected_from_json(j):
    """The enriched fields a record's protobuf message must carry, from the JSON line's enriched members."""
    want = {}
    for k, v in j.items():
        if not k[:1].isupper():
            continue
        if k in CUSTOM:
            f, key = CUSTOM[k]
            want.setdefault(f, {})[key] = v
        else:
            want[proto_name(k)] = v
    for k in ("extrapolated_bytes", "extrapolated_packets", "signature_tags"):
        if k in j:
            want[k] = j[k]
    return want


def kafka_messages(bootstraps, topic):
    """Every message of the topic as bytes (kcat -f '%S:%s': the length, then the raw value)."""
    p = subprocess.run(["kcat", "-C", "-b", bootstraps, "-t", topic, "-e", "-q", "-o", "beginning", "-f", "%S:%s"],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr[-2000:]
    out, b, i = [], p.stdout, 0
    while i < len(b):
        j = b.index(b":", i)
        n = int(b[i:j])
        out.append(b[j + 1:j + 1 + n])
        i = j + 1 + n
    return out


def record_key(x):
    """What names a record across outputs (the fixture's records are distinct by it)."""
    return (x["time_received_ns"], x["sequence_num"], x["bytes"], x.get("in_if", 0), x.get("out_if", 0),
            x.get("src_port", 0), x.get("dst_port", 0))


def check_kafka(mock_exe, sluiced, pcap, sources, lines, ours, tmp):
    if shutil.which("kcat") is None:
        print("kafka part skipped: kcat not installed")
        return 0
    mock = subprocess.Popen([mock_exe, "--brokers", "1", "--topic", "flows:2"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
    try:
        boot = mock.stdout.readline().strip()
        assert boot, "sluice-mock-kafka printed no bootstrap address"
        p = subprocess.run([sluiced, "--pcap", pcap, *tes.SFLOW_PORT, *sources,
                            "--output", "name=k,kafka=%s,topic=flows,format=protobuf,spool=%s" %
                            (boot.replace(",", ";"), os.path.join(tmp, "spool")),
                            "--stats-json", os.path.join(tmp, "kstats.json")], capture_output=True, text=True,
                           timeout=120)
        assert p.returncode == 0, p.stderr[-3000:]
        msgs = [ours.FlowMessage.FromString(m) for m in kafka_messages(boot, "flows")]
    finally:
        mock.kill()
        mock.wait()
    assert len(msgs) == len(lines), (len(msgs), len(lines))
    fields = [f.name for f in ours.FlowMessage.DESCRIPTOR.fields]
    got = sorted((record_key({k: getattr(m, k) for k in fields if k in ("time_received_ns", "sequence_num", "bytes",
                                                                       "in_if", "out_if", "src_port", "dst_port")}),
                  json.dumps(pc.enriched_fields(m), sort_keys=True)) for m in msgs)
    want = sorted((record_key(j), json.dumps(expected_from_json(j), sort_keys=True)) for j in lines)
    assert got == want, "kafka protobuf messages differ from the JSON records"
    return len(msgs)


SCOPES = ("Src", "Dst", "Exporter", "InIf", "OutIf")  # the json member cache's scopes, in resolve.hpp's order


def member_cache_counts(lines, ecs=False):
    """(hits, misses) of the json member cache of one sink core over these records, in any order: a record looks
    up each scope it has a set for (the scope's enriched members; the matched prefixes are not from a set), and a
    (scope, set) misses once, the first time (the default cache holds far more than these sets: no eviction). The
    interner keeps one id per distinct set, so a set is named by its members."""
    # The ecs_json cache keys a set by its class: src and dst share entries, in_if and out_if too (resolve.hpp's
    # scope_key), so a set is named by its members without the scope's prefix.
    klass = {"Src": "net", "Dst": "net", "Exporter": "exporter", "InIf": "if", "OutIf": "if"}
    seen, lookups = set(), 0
    for j in lines:
        for sc in SCOPES:
            members = tuple(sorted((k[len(sc):], json.dumps(v)) for k, v in j.items() if k.startswith(sc) and
                                   not k.endswith("NetPrefix")))
            if members:
                lookups += 1
                seen.add((klass[sc] if ecs else sc, members))
    return lookups - len(seen), len(seen)


def main():
    sluiced, fixtures, testdata, root = sys.argv[1:5]
    mock_exe = sys.argv[5] if len(sys.argv) > 5 else ""
    if shutil.which("protoc") is None:
        skip("protoc not installed")
    try:
        import google.protobuf  # noqa: F401
        from avro.datafile import DataFileReader
        from avro.io import DatumReader
    except ImportError:
        skip("python3-protobuf or python3-avro not installed")
    tes.TESTDATA = testdata
    pcap = os.path.join(fixtures, tes.SFLOW)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["protoc", "-I" + os.path.join(root, "sinks", "proto"), "--python_out=" + tmp, "flow.proto"],
                       check=True)
        sys.path.insert(0, tmp)
        ours = importlib.import_module("flow_pb2")
        js, pb, av = os.path.join(tmp, "out.json"), os.path.join(tmp, "out.pb"), os.path.join(tmp, "wh")
        # A custom key on the collector's LAN, so the maps are exercised end to end too.
        srcs = [*tes.sources(tmp), "--enrich-key", "rack", "--enrich-prefix", "192.0.2.0/24=rack:r7"]
        args = [sluiced, "--pcap", pcap, *tes.SFLOW_PORT, *srcs,
                "--output", "name=json,path=" + js,
                "--output", "name=pb,format=protobuf_delimited,path=" + pb,
                "--output", "name=ecs,format=ecs_json,path=" + os.path.join(tmp, "out.ecs.json"),
                "--output", "name=av,format=avro,hdfs=%s,table=flows,host=testhost" % av,
                # The custom key as aggregation dimensions (src_rack = src_net_rack).
                "--output", "name=agg,path=%s,aggregate=src_net_rack+dst_rack" % os.path.join(tmp, "agg.json"),
                "--stats-json", os.path.join(tmp, "stats.json")]
        p = subprocess.run(args, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr[-3000:]
        with open(js) as fh:
            lines = [json.loads(x) for x in fh.read().splitlines()]
        with open(pb, "rb") as fh:
            msgs = [ours.FlowMessage.FromString(m) for m in pc.delimited(fh.read())]
        recs = []
        for f in sorted(glob.glob(os.path.join(av, "flows", "**", "*.avro"), recursive=True)):
            with open(f, "rb") as fh:
                rd = DataFileReader(fh, DatumReader())
                recs += list(rd)
                rd.close()
        assert len(lines) == len(msgs) == len(recs) == 47, (len(lines), len(msgs), len(recs))
        # The sink core's member cache counters (one sink core: one json cache, one ecs_json cache).
        with open(os.path.join(tmp, "stats.json")) as fh:
            stats = json.load(fh)
        assert len(stats["sinks"]) == 1, stats["sinks"]
        hits, misses = member_cache_counts(lines)
        ehits, emisses = member_cache_counts(lines, ecs=True)
        got = {k: stats["sinks"][0][k] for k in ("member_cache_json_hits", "member_cache_json_misses",
                                                 "member_cache_ecs_hits", "member_cache_ecs_misses")}
        assert got == {"member_cache_json_hits": hits, "member_cache_json_misses": misses,
                       "member_cache_ecs_hits": ehits, "member_cache_ecs_misses": emisses}, (got, hits, misses)
        assert stats["metrics"]["sluice_sinks_stage_member_cache_json_hits_total"] == hits
        assert stats["metrics"]["sluice_sinks_stage_member_cache_json_misses_total"] == misses
        assert stats["metrics"]["sluice_sinks_stage_member_cache_ecs_hits_total"] == ehits
        assert stats["metrics"]["sluice_sinks_stage_member_cache_ecs_misses_total"] == emisses
        assert hits > 0 and misses > 0 and emisses < misses, (hits, misses, ehits, emisses)
        # The aggregation by the custom key: its rows (summed over windows) = the JSON's flows by SrcNetRack and
        # DstNetRack (null when the record has none), records and bytes exact.
        want_agg = {}
        for j in lines:
            if j["kind"] != "flow":
                continue
            k = (j.get("SrcNetRack"), j.get("DstNetRack"))
            r, b = want_agg.get(k, (0, 0))
            want_agg[k] = (r + 1, b + j["bytes"])
        got_agg = {}
        with open(os.path.join(tmp, "agg.json")) as fh:
            for row in map(json.loads, fh.read().splitlines()):
                if row["other"]:
                    assert row["records"] == 0, row
                    continue
                k = (row["src_net_rack"], row["dst_net_rack"])
                r, b = got_agg.get(k, (0, 0))
                got_agg[k] = (r + row["records"], b + row["bytes"])
        assert got_agg == want_agg, (got_agg, want_agg)
        assert any(k[0] == "r7" for k in got_agg) and any(k[1] == "r7" for k in got_agg), got_agg
        # An undeclared custom key as a dimension: refused at start-up, naming it and the declared keys.
        bad = subprocess.run([sluiced, "--pcap", pcap, *tes.SFLOW_PORT, *srcs,
                              "--output", "name=bad,path=%s,aggregate=src_net_rck" % os.path.join(tmp, "bad.json")],
                             capture_output=True, text=True, timeout=120)
        assert bad.returncode == 1, (bad.returncode, bad.stderr[-2000:])
        assert ("--output bad: aggregate: dimension 'src_net_rck': no custom key 'rck' is declared (declared: rack;"
                in bad.stderr), bad.stderr[-2000:]
        with open(os.path.join(root, "sinks", "avro", "flow.avsc")) as fh:
            avro_enriched = [f["name"] for f in json.load(fh)["fields"]][58:114]
        fields_seen, prefixes, racks = set(), 0, 0
        for i, (j, m, a) in enumerate(zip(lines, msgs, recs)):
            where = "record %d" % i
            # The same record in the three outputs.
            assert (m.sequence_num, m.bytes, m.time_received_ns) == (j["sequence_num"], j["bytes"],
                                                                     j["time_received_ns"]), where
            assert (a["sequence_num"], a["bytes"]) == (j["sequence_num"], j["bytes"]), where
            # The flow id and record index: the protobuf message's (checked against the definition by
            # proto_compat), the id as the Avro long of the same bits.
            assert a["flow_id"] == (m.flow_id - (1 << 64) if m.flow_id >= 1 << 63 else m.flow_id), where
            assert a["record_index"] == m.record_index, where
            # The tables' values (test_enrich_sluiced.py's expectations), exactly.
            want = {proto_name(k): v for k, v in tes.EXPORTER.items()}
            if j["kind"] == "interface_counters":
                want.update(tes.IN5)
            else:
                for side, addr in (("Src", j["src_addr"]), ("Dst", j["dst_addr"])):
                    want.update({proto_name(side + k): v for k, v in tes.expected_net(addr).items()})
                    if addr.startswith("192.0.2."):
                        want[side + "NetCustom"] = {"rack": "r7"}
                want.update(tes.IN5)
                want.update(tes.SELF_OUT)
            got = pc.enriched_fields(m)
            # Every enriched field, the matched prefixes included, as the JSON line of the same record has it.
            assert got == expected_from_json(j), "%s: protobuf %s != JSON" % (where, got)
            # The matched prefix (the worker's src/dst_net_match): the address's own network, masked, the same in
            # Avro.
            for side, addr in (("Src", j.get("src_addr", "")), ("Dst", j.get("dst_addr", ""))):
                k = side + "NetPrefix"
                if k in got:
                    net = ipaddress.ip_network(got[k], strict=True)  # no host bits set
                    assert ipaddress.ip_address(addr) in net, (where, k, got[k], addr)
                    assert a[ee.avro_name(k)] == got[k], where
                    prefixes += 1
                    del got[k]
            assert got == want, "%s: protobuf %s != tables %s" % (where, got, want)
            # Avro: the same values under the snake-case names, every other enriched field null.
            avro_got = {k: a[k] for k in avro_enriched if a[k] is not None and not k.endswith("_net_prefix")}
            assert avro_got == {ee.avro_name(k): v for k, v in want.items()}, "%s: avro %s" % (where, avro_got)
            fields_seen |= set(want)
            racks += sum(1 for k in want if k.endswith("Custom"))
        assert prefixes > 0, "no record carried a matched prefix"
        assert racks > 0 and {"SrcNetName", "DstASN", "SrcGeoCity", "InIfSpeed", "OutIfName", "ExporterGroup",
                              "SrcNetCustom"} <= fields_seen, sorted(fields_seen)
        print("47 records: protobuf and Avro enriched fields equal the tables and the JSON (%d fields used, %d "
              "custom maps, %d matched prefixes); member caches: json %d hits, %d misses, ecs %d hits, %d misses; %d "
              "rows by the custom key" % (len(fields_seen), racks, prefixes, hits, misses, ehits, emisses, len(got_agg)))
        if mock_exe:
            n = check_kafka(mock_exe, sluiced, pcap, srcs, lines, ours, tmp)
            print("%d Kafka protobuf messages: enriched fields equal the JSON's" % n)
        print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
