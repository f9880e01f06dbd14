#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""sluiced's HDFS writer end to end (each run a subprocess with its own EAL file prefix): Avro
files read back by an independent reader (python3-avro) and compared field by field with the
JSON output of the same run; Hive partition layout; rolls by size, time and partition; no
reader ever sees a temporary file; WebHDFS against tests/sinks/webhdfs_server.py failing in
each way, the spool bounded, counted exactly, and surviving a restart.

usage: sluiced_hdfs_test.py SLUICED FIXTURES_DIR [unittest args]"""

import datetime
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from avro.datafile import DataFileReader
from avro.io import DatumReader

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sinks"))
import webhdfs_server  # noqa: E402

SLUICED = FIXTURES = ""
RUN_TIMEOUT = 120
ADDRS = {"sampler_address", "src_addr", "dst_addr", "next_hop", "bgp_next_hop", "post_nat_src_addr",
         "post_nat_dst_addr"}
NAME = re.compile(r"^part-testhost-(\d+)-(\d{13})\.avro$")
# Avro fields the JSON does not carry, always set (their values are checked exactly by tests/sinks: avro_enriched
# against the flow id's definition, enriched_sluiced_formats against the protobuf output).
AVRO_ONLY = {"flow_id", "record_index"}


def fixtures():
    out = []
    with open(os.path.join(FIXTURES, "manifest.tsv")) as fh:
        for line in fh:
            if line.startswith("#") or not line.strip():
                continue
            name, port, _d, proto = line.split("\t")[:4]
            out.append((os.path.join(FIXTURES, name), "%s=%s" % (port, proto)))
    return out


def sluiced(tmp, args, name="run", timeout=RUN_TIMEOUT):
    st = os.path.join(tmp, name + "-stats.json")
    cmd = [SLUICED, *args, "--stats-json", st]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("sluiced failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr[-3000:]))
    with open(st) as fh:
        return json.load(fh), p.stderr


def replay_args(pcaps):
    a = []
    for pcap, pm in pcaps:
        a += ["--pcap", pcap, "--port-map", pm]
    return a


def read_avro(path):
    with open(path, "rb") as fh:
        r = DataFileReader(fh, DatumReader())
        recs = list(r)
        codec = r.get_meta("avro.codec")
        r.close()
    return recs, (codec or b"null").decode()


def avro_files(root):
    """(seq, path) of every complete file under root, in seq order; asserts the names and layout."""
    out = []
    for p in glob.glob(os.path.join(root, "**", "*"), recursive=True):
        if os.path.isdir(p):
            continue
        out.append(p)
    files = []
    for p in out:
        base = os.path.basename(p)
        m = NAME.match(base)
        assert m, "unexpected file %s" % p
        part = os.path.relpath(os.path.dirname(p), root)
        assert re.match(r"^dt=\d{4}-\d\d-\d\d/hour=\d\d$", part), p
        files.append((int(m.group(2)), p, part))
    files.sort()
    return files


def partition_of(ns):
    t = datetime.datetime.fromtimestamp(ns // 10**9, datetime.timezone.utc)
    return "dt=%04d-%02d-%02d/hour=%02d" % (t.year, t.month, t.day, t.hour)


class Check(unittest.TestCase):
    def same_records(self, avro_recs, json_lines, what):
        """Every record, every field: the Avro record equals the JSON one (absent address "" = null;
        a field the JSON does not carry for the record's kind = null)."""
        self.assertEqual(len(avro_recs), len(json_lines), what)
        self.assertGreater(len(json_lines), 0)
        for i, (a, line) in enumerate(zip(avro_recs, json_lines)):
            j = json.loads(line)
            for k, v in j.items():
                self.assertIn(k, a, "%s #%d" % (what, i))
                want = None if (k in ADDRS and v == "") else v
                self.assertEqual(a[k], want, "%s #%d field %s" % (what, i, k))
            for k, v in a.items():
                if k in AVRO_ONLY:
                    self.assertIsInstance(v, int, "%s #%d field %s" % (what, i, k))
                elif k not in j:
                    self.assertIsNone(v, "%s #%d field %s is not in the JSON" % (what, i, k))

    def read_tree(self, root):
        recs, parts = [], []
        for _seq, p, part in avro_files(root):
            r, _codec = read_avro(p)
            for x in r:
                self.assertEqual(partition_of(x["time_received_ns"]), part, p)
            recs += r
            parts.append(part)
        return recs, parts


class LocalAvro(Check):
    def test_fixtures_every_field_codecs_and_size_rolls(self):
        """Every record of every fixture, in one run with four outputs: JSON, Avro deflate, Avro snappy
        (the default codec) rolled every 2 KiB of datum bytes, Avro null; the Avro ones equal the JSON record for record."""
        with tempfile.TemporaryDirectory() as tmp:
            js = os.path.join(tmp, "out.json")
            outs = ["--output", "name=json,path=" + js]
            for name, extra in (("deflate", ",codec=deflate"), ("snappy", ",roll_bytes=2048"),
                                ("null", ",codec=null")):
                outs += ["--output", "name=%s,format=avro,hdfs=%s/%s,table=flows,host=testhost%s" %
                         (name, tmp, name, extra)]
            stats, _ = sluiced(tmp, replay_args(fixtures()) + outs)
            with open(js) as fh:
                lines = fh.read().splitlines()
            self.assertGreater(len(lines), 200)
            o = stats["sinks"][0]["outputs"]
            for name in ("deflate", "snappy", "null"):
                with self.subTest(codec=name):
                    root = os.path.join(tmp, name, "flows")
                    recs, parts = self.read_tree(root)
                    self.same_records(recs, lines, name)
                    for _s, p, _part in avro_files(root):
                        self.assertEqual(read_avro(p)[1], name)
                    h = o[name]["hdfs"]
                    self.assertEqual(h["records"], len(lines))
                    self.assertEqual(o[name]["written"], len(lines))
                    self.assertEqual(h["files"], len(parts))
                    self.assertEqual(h["error_records"] + h["spool_full_records"] + o[name]["failed"], 0)
                    # Every close but the last one at stop had a reason.
                    self.assertEqual(h["rolls_size"] + h["rolls_partition"] + h["rolls_time"] + 1, h["files"])
                    self.assertEqual(h["rolls_partition"], len(set(parts)) - 1 if name != "snappy"
                                     else h["rolls_partition"])
                    self.assertEqual(glob.glob(os.path.join(tmp, name, "**", ".*"), recursive=True), [])
            self.assertEqual(o["deflate"]["hdfs"]["rolls_size"], 0)
            self.assertGreater(o["snappy"]["hdfs"]["rolls_size"], 5)
            # 2048 datum bytes per file: a file holds what fits (datums are ~100-250 bytes).
            for _s, p, _part in avro_files(os.path.join(tmp, "snappy", "flows")):
                self.assertLessEqual(len(read_avro(p)[0]), 2048 // 90)

    def test_two_sink_cores(self):
        """Each sink core writes its own files (part-<host>-<core>-...), into the same tree; together they
        hold every record of the JSON output (of both cores) exactly once, every field."""
        with tempfile.TemporaryDirectory() as tmp:
            js = os.path.join(tmp, "out.json")
            stats, _ = sluiced(tmp, replay_args(fixtures()) + [
                "--sink-cores", "2", "--output", "name=json,path=" + js,
                "--output", "name=h,format=avro,hdfs=%s/wh,host=testhost" % tmp])
            lines = []
            for f in glob.glob(js + ".s*"):
                with open(f) as fh:
                    lines += fh.read().splitlines()
            files = avro_files(os.path.join(tmp, "wh", "flows"))
            cores = {NAME.match(os.path.basename(p)).group(1) for _s, p, _x in files}
            # Records go to a sink core by exporter: the fixtures' exporters may all land on one.
            self.assertTrue(cores and cores <= {"0", "1"}, cores)
            per_core = {str(s["id"]): s["outputs"]["h"]["hdfs"]["files"] for s in stats["sinks"]}
            for c in ("0", "1"):
                self.assertEqual(per_core[c], sum(1 for _s, p, _x in files if NAME.match(os.path.basename(p)).group(1) == c))
            recs = []
            for _s, p, _x in files:
                recs += read_avro(p)[0]
            def as_json(r):  # the JSON rendering of an Avro record: a null address of the record's kind = ""
                addrs = ADDRS if r["kind"] == "flow" else {"sampler_address"}
                return json.dumps({k: ("" if v is None else v) for k, v in r.items()
                                   if (v is not None or k in addrs) and k not in AVRO_ONLY}, sort_keys=True)
            self.assertEqual(sorted(as_json(r) for r in recs),
                             sorted(json.dumps(json.loads(ln), sort_keys=True) for ln in lines))
            self.assertEqual(len(recs), len(lines))
            self.assertEqual(sum(s["outputs"]["h"]["hdfs"]["records"] for s in stats["sinks"]), len(lines))

    def test_time_roll_and_no_partial_reads(self):
        """roll_seconds=1 on a live port: the file is renamed into place while sluiced still runs; a
        reader polling the tree meanwhile only ever opens complete files (it sees the temporary one)."""
        pcap, pm = fixtures()[0]
        with tempfile.TemporaryDirectory() as tmp:
            root = os.path.join(tmp, "wh", "flows")
            seen_tmp, complete, errors = set(), {}, []
            done = threading.Event()

            def poll():
                while not done.is_set():
                    for d, _dirs, names in os.walk(root):
                        for base in names:
                            if base.startswith("."):  # Hive and Hadoop skip it; so do we
                                seen_tmp.add(base)
                                continue
                            try:
                                complete.setdefault(base, (time.monotonic(), len(read_avro(os.path.join(d, base))[0])))
                            except Exception as e:  # a half-written file would land here
                                errors.append((base, repr(e)))
                    time.sleep(0.01)

            t = threading.Thread(target=poll)
            t.start()
            try:
                stats, _ = sluiced(tmp, ["--port", "net_pcap0,rx_pcap=" + pcap, "--port-map", pm, "--duration", "4",
                                         "--output", "name=h,format=avro,hdfs=%s/wh,roll_seconds=1,host=testhost" % tmp])
            finally:
                end = time.monotonic()
                done.set()
                t.join()
            self.assertEqual(errors, [])
            h = stats["sinks"][0]["outputs"]["h"]["hdfs"]
            self.assertEqual(h["rolls_time"], 1)
            self.assertEqual(h["files"], 1)
            self.assertEqual(len(complete), 1)
            (name, (when, n)), = complete.items()
            self.assertLess(when, end - 1.0, "renamed by roll_seconds, well before the stop")
            self.assertEqual(n, h["records"])
            self.assertGreater(n, 0)
            self.assertEqual(seen_tmp, {"." + name + ".tmp"})


class HiveDDL(unittest.TestCase):
    def test_ddl_columns_are_the_schema(self):
        """sinks/hdfs/flows.hql lists flow.avsc's fields, in order, with the Avro types' Hive types."""
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sinks")
        with open(os.path.join(src, "avro", "flow.avsc")) as fh:
            fields = json.load(fh)["fields"]
        with open(os.path.join(src, "hdfs", "flows.hql")) as fh:
            ddl = fh.read()
        body = ddl[ddl.index("CREATE EXTERNAL TABLE"):ddl.index("PARTITIONED BY")]
        cols = re.findall(r"^  `(\w+)` ([\w<>,]+?),?$", body, re.M)
        hive = {"string": "STRING", "long": "BIGINT", "int": "INT", "boolean": "BOOLEAN"}

        def hive_type(t):
            t = t[1] if isinstance(t, list) else t
            return "MAP<STRING,%s>" % hive[t["values"]] if isinstance(t, dict) and t["type"] == "map" else hive[t]
        want = [(f["name"], hive_type(f["type"])) for f in fields]
        self.assertEqual(len(want), 116)
        # Hive lower-cases column names and its AvroSerDe looks fields up by them: every field is lower case.
        self.assertEqual([n for n, _t in want if n != n.lower()], [])
        self.assertEqual(cols, want)
        self.assertIn("PARTITIONED BY (dt STRING, `hour` STRING)\nSTORED AS AVRO", ddl)


class WebHDFS(Check):
    def server(self, tmp):
        s = webhdfs_server.WebHDFS(os.path.join(tmp, "store")).start()
        self.addCleanup(s.stop)
        return s

    def hdfs_out(self, s, tmp, extra=""):
        return ["--output", "name=w,format=avro,hdfs=%s/data,user=sluice,spool=%s/spool,host=testhost,"
                "roll_bytes=4096,retry_max_ms=200,drain_s=8%s" % (s.base, tmp, extra)]

    def test_each_failure_retried_then_delivered(self):
        """redirect refused, 403, 500, a datanode that drops the connection: each retried with backoff
        and the file delivered; a RENAME conflict keeps the file in SPOOL/conflict/, counted."""
        with tempfile.TemporaryDirectory() as tmp:
            s = self.server(tmp)
            for mode in ("redirect_refused", "forbidden", "error500", "dn_drop", "rename_conflict"):
                s.fail(mode)
            js = os.path.join(tmp, "out.json")
            stats, err = sluiced(tmp, replay_args(fixtures()) + ["--output", "name=json,path=" + js] +
                                 self.hdfs_out(s, tmp))
            with open(js) as fh:
                lines = fh.read().splitlines()
            o = stats["sinks"][0]["outputs"]["w"]
            w, h = o["webhdfs"], o["hdfs"]
            self.assertEqual(s.failures, [], "every failure was met")
            self.assertEqual((w["fail_redirect"], w["fail_http_4xx"], w["fail_http_5xx"], w["fail_datanode"]),
                             (1, 1, 1, 1), err[-2000:])
            self.assertEqual(w["retries"], 4)
            self.assertEqual(w["rename_conflicts"], 1)
            self.assertEqual(w["fail_connect"] + w["fail_rename"], 0)
            self.assertGreater(h["files"], 3)
            self.assertEqual(w["uploaded_files"], h["files"] - 1)
            self.assertEqual(w["spooled_bytes"], w["unspooled_bytes"])
            self.assertEqual(s.users, {"sluice"})
            # The conflicting name holds the other writer's file; ours is kept locally.
            conflict = avro_files(os.path.join(tmp, "spool", "s0", "conflict"))
            self.assertEqual(len(conflict), 1)
            other = os.path.join(s.store, "data", "flows", conflict[0][2], os.path.basename(conflict[0][1]))
            with open(other, "rb") as fh:
                self.assertEqual(fh.read(), b"another writer's file")
            os.remove(other)
            self.assertEqual(avro_files(os.path.join(tmp, "spool", "s0", "dt=x")), [])
            # Delivered + kept aside = every record, in order, every field.
            store = os.path.join(s.store, "data", "flows")
            files = sorted(avro_files(store) + conflict)
            recs = []
            for _seq, p, part in files:
                r, _ = read_avro(p)
                recs += r
            self.same_records(recs, lines, "webhdfs")
            self.assertEqual(glob.glob(os.path.join(store, "**", ".*"), recursive=True), [])
            left = [p for p in glob.glob(os.path.join(tmp, "spool", "s0", "dt=*", "**", "*"), recursive=True)
                    if os.path.isfile(p)]
            self.assertEqual(left, [])

    def test_full_spool_counted_then_delivered_after_restart(self):
        """The namenode refuses everything: files stay in the spool up to spool_bytes, the rest are
        dropped and counted exactly; a restart with the server healthy uploads the spool in order."""
        with tempfile.TemporaryDirectory() as tmp:
            s = self.server(tmp)
            s.fail("forbidden", 10**6)
            js = os.path.join(tmp, "out.json")
            stats, _ = sluiced(tmp, replay_args(fixtures()) + ["--output", "name=json,path=" + js] +
                               self.hdfs_out(s, tmp, ",drain_s=0,spool_bytes=12000"), name="down")
            with open(js) as fh:
                lines = fh.read().splitlines()
            o = stats["sinks"][0]["outputs"]["w"]
            h, w = o["hdfs"], o["webhdfs"]
            spool = os.path.join(tmp, "spool", "s0")
            files = avro_files(spool)
            in_spool = sum(len(read_avro(p)[0]) for _s, p, _part in files)
            sizes = sum(os.path.getsize(p) for _s, p, _part in files)
            self.assertGreater(h["spool_full_files"], 0)
            self.assertEqual(o["written"], len(lines))
            self.assertEqual(h["records"], in_spool)
            self.assertEqual(h["records"] + h["spool_full_records"], len(lines))
            self.assertEqual(h["files"], len(files))
            self.assertLessEqual(sizes, 12000)
            self.assertEqual(w["spooled_bytes"] - w["unspooled_bytes"], sizes)
            self.assertEqual(w["uploaded_files"], 0)
            self.assertEqual(w["fail_http_4xx"], w["retries"])  # every attempt made was refused (403)
            expect = []
            for _s, p, _part in files:
                expect += read_avro(p)[0]
            # A crash left a temporary file: deleted and counted at start.
            with open(os.path.join(spool, files[0][2], ".part-testhost-0-0000000000001.avro.tmp"), "wb") as fh:
                fh.write(b"Obj\x01")
            # Restart with a healthy server, no new records: the spool drains, in order.
            s.failures.clear()
            pcap, pm = fixtures()[0]
            stats, _ = sluiced(tmp, ["--pcap", pcap, "--port-map", pm] +
                               self.hdfs_out(s, tmp, ",filter=proto==255,token=tok-123"), name="up")
            w = stats["sinks"][0]["outputs"]["w"]["webhdfs"]
            self.assertEqual(w["recovered_files"], len(files))
            self.assertEqual(w["discarded_partial_files"], 1)
            self.assertEqual(w["uploaded_files"], len(files))
            self.assertEqual(w["uploaded_bytes"], sizes)
            self.assertEqual(avro_files(spool), [])
            self.assertIn("token:tok-123", s.users)  # delegation= wins over user.name=
            store = avro_files(os.path.join(s.store, "data", "flows"))
            self.assertEqual([os.path.basename(p) for _s, p, _x in store], [os.path.basename(p) for _s, p, _x in files])
            got = []
            for _s, p, _part in store:
                got += read_avro(p)[0]
            self.assertEqual(got, expect)
            creates = [x[3] for x in s.log if x[0] == "dn" and x[4] == 201]
            self.assertEqual([os.path.basename(c) for c in creates][-len(files):],
                             ["." + os.path.basename(p) + ".tmp" for _s, p, _x in files])


if __name__ == "__main__":
    SLUICED, FIXTURES = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
