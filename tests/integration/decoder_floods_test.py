#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Floods with a canary: a real exporter's capture (tests/fixtures/) interleaved
with a flood built from bytes. In both sluice-decode and sluiced --pcap, the
canary's records equal what it yields alone, the counters say exactly what
the flood did, and peak memory (ru_maxrss of the process) stays under a
documented bound.

  exporters: 100,000 spoofed NetFlow v5 exporters (one valid datagram each)
  domains:   64 spoofed IPFIX observation domains on the canary's address
  templates: one spoofed exporter sending 32,768 templates of 100 fields

usage: decoder_floods_test.py SLUICED SLUICE_DECODE FIXTURES_DIR [unittest args]"""

import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapgen as g  # noqa: E402

SLUICED = SLUICE_DECODE = FIXTURES = ""
RUN_TIMEOUT = 240
CANARY = "softflowd-ipfix-ipv4.pcap"
CANARY_PORT_MAP = ["--port-map", "24739=ipfix"]
# Peak RSS bounds (KiB), documented in docs/configuration.md. sluice-decode:
# its output buffer for the largest possible datagram (131,070 records x
# 192 B = 25 MiB), a 4096-slot exporter table (~3 MiB), template memory
# bounded by template_bytes_per_exporter (1 MiB) per exporter; measured
# ~32 MiB under every flood. sluiced: EAL (-m 512, no hugepages: only touched
# pages count), mempools, rings; measured ~70 MiB.
MAX_RSS_DECODE_KIB = 64 * 1024
MAX_RSS_SLUICED_KIB = 160 * 1024


def read_pcap(path):
    """Ethernet frames of a microsecond pcap."""
    with open(path, "rb") as f:
        d = f.read()
    assert struct.unpack("<I", d[:4])[0] == 0xA1B2C3D4
    frames, off = [], 24
    while off + 16 <= len(d):
        _s, _us, incl, _orig = struct.unpack("<IIII", d[off:off + 16])
        frames.append(d[off + 16:off + 16 + incl])
        off += 16 + incl
    return frames


def src_addr(frame):
    return ".".join(str(b) for b in frame[14 + 12:14 + 16])


def interleave(canary, flood):
    """The canary's first frame, then the flood with the canary's others spread through it."""
    out, k = [canary[0]], len(canary) - 1
    step = max(1, len(flood) // (k + 1)) if k else len(flood) + 1
    ci = 1
    for i, fr in enumerate(flood):
        out.append(fr)
        if ci < len(canary) and (i + 1) % step == 0:
            out.append(canary[ci])
            ci += 1
    out.extend(canary[ci:])
    return out


def write_with_times(path, frames, times):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for fr, us in zip(frames, times):
            f.write(struct.pack("<IIII", us // 1000000, us % 1000000, len(fr), len(fr)))
            f.write(fr)


def build(tmp, canary, flood, name):
    """Writes the mixed capture and the canary alone with the same capture times."""
    mixed = interleave(canary, flood)
    t0 = 1700000000 * 1000000
    times = [t0 + i * 10 for i in range(len(mixed))]
    mixed_path, alone_path = os.path.join(tmp, name + ".pcap"), os.path.join(tmp, name + "-canary.pcap")
    write_with_times(mixed_path, mixed, times)
    cset = set(id(f) for f in canary)
    write_with_times(alone_path, [f for f in mixed if id(f) in cset], [t for f, t in zip(mixed, times) if id(f) in cset])
    return mixed_path, alone_path


def run_measured(cmd):
    """Runs cmd; returns (stdout, stderr, peak RSS in KiB of that process).
    /usr/bin/time measures the command itself (a fork of this Python process,
    which holds the flood in memory, would count Python's pages before exec)."""
    with tempfile.NamedTemporaryFile("r") as rss_file:
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file.name, *cmd], capture_output=True, text=True,
                           timeout=RUN_TIMEOUT)
        if p.returncode != 0:
            raise AssertionError("failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr[-3000:]))
        rss = int(rss_file.read().split()[-1])
    if os.environ.get("SLUICE_FLOOD_VERBOSE"):
        print("  %s: peak RSS %d KiB" % (os.path.basename(cmd[0]), rss), file=sys.stderr)
    return p.stdout, p.stderr, rss


def decode(tmp, pcap, name, extra=()):
    st = os.path.join(tmp, name + "-stats.json")
    out, _err, rss = run_measured([SLUICE_DECODE, "--json", "--quiet-stats", "--stats-json", st, *CANARY_PORT_MAP,
                                   *extra, pcap])
    with open(st) as fh:
        return out.splitlines(), json.load(fh), rss


def sluiced(tmp, pcap, name, extra=()):
    out, st = os.path.join(tmp, name + ".json"), os.path.join(tmp, name + "-stats.json")
    _o, _e, rss = run_measured([SLUICED, "--pcap", pcap, "--json-out", out, "--stats-json", st, *CANARY_PORT_MAP,
                                *extra])
    lines = []
    if os.path.exists(out):
        with open(out) as fh:
            lines = fh.read().splitlines()
    with open(st) as fh:
        return lines, json.load(fh), rss


def records_of(lines, addr):
    return [ln for ln in lines if json.loads(ln)["sampler_address"] == addr]


def sluiced_table(stats):
    t = {}
    for w in stats["workers"]:
        for k, v in w.get("exporter_table", {}).items():
            t[k] = t.get(k, 0) + v
    return t


def sluiced_exporter(stats, addr):
    out = {}
    for w in stats["workers"]:
        for k, v in w["exporters"].get(addr, {}).items():
            out[k] = out.get(k, 0) + v
    return out


class Flood(unittest.TestCase):
    def canary(self):
        frames = read_pcap(os.path.join(FIXTURES, CANARY))
        return frames, src_addr(frames[0])

    def check_both(self, flood, name, expect_table, expect_canary, extra=(), check_sluiced=True):
        canary, addr = self.canary()
        with tempfile.TemporaryDirectory() as tmp:
            mixed, alone = build(tmp, canary, flood, name)
            ref, _st, _rss = decode(tmp, alone, name + "-alone", extra)
            self.assertGreater(len(ref), 0)
            lines, st, rss = decode(tmp, mixed, name + "-decode", extra)
            self.assertEqual(records_of(lines, addr), ref)
            self.assertLess(rss, MAX_RSS_DECODE_KIB)
            for k, v in expect_table.items():
                self.assertEqual(st["exporter_table"][k], v, k)
            for k, v in expect_canary.items():
                self.assertEqual(st["exporters"][addr][k], v, k)
            if check_sluiced:
                slines, sst, srss = sluiced(tmp, mixed, name + "-sluiced", extra)
                self.assertEqual(records_of(slines, addr), ref)
                self.assertLess(srss, MAX_RSS_SLUICED_KIB)
                t = sluiced_table(sst)
                for k, v in expect_table.items():
                    self.assertEqual(t[k], v, k)
                e = sluiced_exporter(sst, addr)
                for k, v in expect_canary.items():
                    self.assertEqual(e[k], v, k)
            return st


class ExporterFlood(Flood):
    def test_100k_spoofed_exporters(self):
        n = 100000
        payload = g.netflow_v5(1, 0)
        flood = [g.ipv4_udp_frame("10.%d.%d.%d" % (100 + i // 65536, i // 256 % 256, i % 256), "10.9.0.254", 40000,
                                  2055, payload) for i in range(n)]
        admitted = 4096 - 1  # the canary holds one slot
        self.check_both(flood, "exporters",
                        {"exporters_created": admitted + 1, "refused_table_full": n - admitted,
                         "exporters_expired": 0, "refused_invalid_first_datagram": 0},
                        {"err_data_before_template": 0})


class DomainFlood(Flood):
    def test_64_spoofed_domains_on_the_canarys_address(self):
        canary, addr = self.canary()
        sport = struct.unpack("!H", canary[0][14 + 20:14 + 22])[0]
        # Each spoofed domain sends a valid template set from the canary's address and port.
        flood = [g.ipv4_udp_frame(addr, "10.9.0.254", sport, 24739, g.ipfix_message(1000 + i, 0, g.ipfix_template_set()))
                 for i in range(64)]
        st = self.check_both(flood, "domains", {"exporters_created": 1},
                             {"templates_learned": 64 - 1 + self.canary_templates(),
                              "err_domain_table_full": 1})
        self.assertEqual(st["exporters"][addr]["err_data_before_template"], 0)

    def canary_templates(self):
        with tempfile.TemporaryDirectory() as tmp:
            _l, st, _r = decode(tmp, os.path.join(FIXTURES, CANARY), "alone")
            return list(st["exporters"].values())[0]["templates_learned"]


class TemplateFlood(Flood):
    def test_template_flood_from_one_spoofed_exporter(self):
        # 64 domains x 512 ids of 100-field templates, 16 per datagram: far past
        # template_bytes_per_exporter (1 MiB).
        fields = [(1 + (k % 200), 4) for k in range(100)]
        flood = []
        for dom in range(64):
            for first in range(256, 256 + 512, 16):
                body = b""
                for tid in range(first, first + 16):
                    body += struct.pack("!HH", tid, len(fields)) + b"".join(struct.pack("!HH", f, l) for f, l in fields)
                tset = struct.pack("!HH", 2, 4 + len(body)) + body
                flood.append(g.ipv4_udp_frame("10.66.0.1", "10.9.0.254", 4739, 24739, g.ipfix_message(dom, 0, tset)))
        canary, addr = self.canary()
        st = self.check_both(flood, "templates", {"exporters_created": 2}, {"err_template_memory": 0})
        spoof = st["exporters"]["10.66.0.1"]
        attempted = 64 * 512
        self.assertEqual(spoof["templates_learned"] + spoof["err_template_memory"], attempted)
        self.assertGreater(spoof["err_template_memory"], 0)
        self.assertEqual(spoof["err_template_limit"], 0)


if __name__ == "__main__":
    SLUICED, SLUICE_DECODE, FIXTURES = sys.argv[1:4]
    unittest.main(argv=[sys.argv[0]] + sys.argv[4:], verbosity=2)
