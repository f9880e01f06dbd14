#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Integration tests of sluiced in pcap replay mode (each run is a subprocess
with its own EAL file prefix): records equal `sluice-decode --json`, worker
affinity, ring_full accounting, drop causes, fragment reassembly.

usage: sluiced_pcap_test.py SLUICED SLUICE_DECODE FIXTURES_DIR [unittest args]"""

import glob
import ipaddress
import json
import os
import subprocess
import sys
import struct
import tempfile
import time
import struct
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapgen as g  # noqa: E402

SLUICED = SLUICE_DECODE = FIXTURES = ""
RUN_TIMEOUT = 120


class Run:
    """One sluiced run: its records (lines), final stats (dict) and stderr."""

    def __init__(self, lines, stats, stderr):
        self.lines, self.stats, self.stderr = lines, stats, stderr

    def total(self, name):
        return self.stats["totals"][name]

    def exporter(self, addr):
        """Per-exporter counters summed over workers, and the workers that saw it."""
        out, seen = {}, []
        for w in self.stats["workers"]:
            e = w["exporters"].get(addr)
            if e:
                seen.append(w["id"])
                for k, v in e.items():
                    out[k] = out.get(k, 0) + v
        return out, seen


def sluiced(tmp, pcaps, *extra, name="run"):
    out = os.path.join(tmp, name + ".json")
    st = os.path.join(tmp, name + "-stats.json")
    cmd = [SLUICED]
    for p in pcaps:
        cmd += ["--pcap", p]
    cmd += ["--json-out", out, "--stats-json", st, *extra]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    if p.returncode != 0:
        raise AssertionError("sluiced failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr[-3000:]))
    lines = []
    for f in sorted(glob.glob(out + "*"), key=lambda s: (len(s), s)):
        with open(f) as fh:
            lines += fh.read().splitlines()
    with open(st) as fh:
        stats = json.load(fh)
    return Run(lines, stats, p.stderr)


def offline(*pcaps, extra=()):
    p = subprocess.run([SLUICE_DECODE, "--json", "--quiet-stats", *extra, *pcaps], capture_output=True, text=True,
                       timeout=RUN_TIMEOUT)
    if p.returncode != 0:
        raise AssertionError("sluice-decode failed: %s" % p.stderr)
    return p.stdout.splitlines()


def by_exporter(lines):
    d = {}
    for ln in lines:
        d.setdefault(json.loads(ln)["sampler_address"], []).append(ln)
    return d


def v5_capture(path, exporter, datagrams, records=30, ns=False, start_ident=1):
    frames = [g.ipv4_udp_frame(exporter, "10.9.0.254", 40000, 2055, g.netflow_v5(records, i * records),
                               ident=start_ident + i) for i in range(datagrams)]
    (g.write_pcap_ns if ns else g.write_pcap)(path, frames)
    return frames


def ipfix_payloads(n_datagrams, records_per, domain=7):
    msgs = [g.ipfix_message(domain, 0, g.ipfix_template_set())]
    seq = 0
    for i in range(n_datagrams):
        msgs.append(g.ipfix_message(domain, seq, g.ipfix_data_set(records_per, base=seq)))
        seq += records_per
    return msgs


class ReplayEqualsOffline(unittest.TestCase):
    """(1) sluiced --pcap writes the same records as sluice-decode --json, record for record."""

    def check(self, pcap, port_map=()):
        with tempfile.TemporaryDirectory() as tmp:
            r = sluiced(tmp, [pcap], *port_map)
            ref = offline(pcap, extra=port_map)
            self.assertGreater(len(ref), 0, pcap)  # equality of two empty outputs proves nothing
            self.assertEqual(len(r.lines), len(ref), pcap)
            self.assertEqual(r.lines, ref, pcap)  # one worker: same order, byte for byte
            self.assertEqual(r.total("records"), r.stats["totals_written"])
            self.assertEqual(r.stats["ports"][0]["ipackets"], r.stats["ports"][0]["file_packets"])

    def test_fixtures(self):
        # Each fixture was exported to its own UDP port (tests/fixtures/manifest.tsv):
        # both tools get that port map, as an operator would configure it.
        fixtures = []
        with open(os.path.join(FIXTURES, "manifest.tsv")) as fh:
            for line in fh:
                if line.startswith("#") or not line.strip():
                    continue
                name, port, _dissector, proto = line.split("\t")[:4]
                fixtures.append((name, ["--port-map", "%s=%s" % (port, proto)]))
        self.assertGreaterEqual(len(fixtures), 10)
        for name, port_map in fixtures:
            with self.subTest(fixture=name):
                self.check(os.path.join(FIXTURES, name), port_map)

    def test_generated_v5(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, "v5.pcap")
            v5_capture(p, "10.9.0.1", 50)
            self.check(p)

    def test_generated_ns_timestamps(self):
        # Sub-microsecond capture times: net_pcap hands over microseconds only;
        # sluiced restores the nanoseconds from its own count of the file.
        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, "v5ns.pcap")
            v5_capture(p, "10.9.0.2", 20, ns=True)
            self.check(p)
            self.assertTrue(offline(p)[0].find('"time_received_ns":1700000000123456789') > 0)

    def test_generated_ipfix_v6_and_vlan(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, "ipfix.pcap")
            frames = [g.ipv6_udp_frame("2001:db8::1", "2001:db8::fe", 4739, 4739, m)
                      for m in ipfix_payloads(10, 20)]
            u = g.udp("10.9.0.3", "10.9.0.254", 5000, 4739, ipfix_payloads(1, 5, domain=9)[0])
            frames.append(g.ether(g.ipv4_header("10.9.0.3", "10.9.0.254", 17, len(u)) + u, g.ETH_IPV4, vlan=42))
            g.write_pcap(p, frames)
            self.check(p)


class TwoWorkers(unittest.TestCase):
    """(2) two pcap ports = two workers: each exporter on exactly one worker, totals right."""

    def test_affinity_and_totals(self):
        with tempfile.TemporaryDirectory() as tmp:
            a, b = os.path.join(tmp, "a.pcap"), os.path.join(tmp, "b.pcap")
            fa = [g.ipv4_udp_frame("10.9.1.%d" % (i % 3 + 1), "10.9.0.254", 40000, 2055,
                                   g.netflow_v5(10, (i // 3) * 10)) for i in range(60)]
            fb = [g.ipv4_udp_frame("10.9.2.%d" % (i % 2 + 1), "10.9.0.254", 40000, 9995,
                                   g.netflow_v5(20, (i // 2) * 20)) for i in range(40)]
            g.write_pcap(a, fa)
            g.write_pcap(b, fb)
            r = sluiced(tmp, [a, b], "--sink-cores", "2")
            self.assertEqual(len(r.stats["workers"]), 2)
            self.assertEqual(len(r.stats["sinks"]), 2)
            self.assertEqual(r.total("rx_packets"), 100)
            self.assertEqual(r.total("records"), 60 * 10 + 40 * 20)
            self.assertEqual(len(r.lines), 1400)
            self.assertEqual(r.total("ring_full"), 0)
            got = by_exporter(r.lines)
            ref = by_exporter(offline(a))
            ref.update(by_exporter(offline(b)))
            self.assertEqual(sorted(got), sorted(ref))
            for exp, recs in ref.items():
                self.assertEqual(got[exp], recs, exp)  # per-exporter order kept
                counters, workers = r.exporter(exp)
                self.assertEqual(len(workers), 1, exp)
                self.assertEqual(counters["flow_records"], len(recs))
            self.assertEqual(sum(s["records"] for s in r.stats["sinks"]), 1400)


class RingFull(unittest.TestCase):
    """(3) a slow sink: records = written + ring_full exactly, and the worker keeps polling."""

    def test_replay_waits_by_default(self):
        # With only --pcap inputs the replay is lossless: the worker waits for ring room.
        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, "burst.pcap")
            v5_capture(p, "10.9.3.2", 100)
            r = sluiced(tmp, [p], "--ring-size", "64", "--sink-delay-us", "1000")
            self.assertEqual(r.total("ring_full"), 0)
            self.assertEqual(r.lines, offline(p))

    def test_wrap_in_place_and_staged(self):
        # Records decoded at the end of the ring storage run on into its slack
        # and are copied to the front; a ring too full for a datagram stages it.
        # Either way the output equals the reference exactly, in order.
        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, "ipfix.pcap")
            g.write_pcap(p, [g.ipv4_udp_frame("10.9.3.3", "10.9.0.254", 4739, 4739, m)
                             for m in ipfix_payloads(300, 30)])
            ref = offline(p)
            self.assertEqual(len(ref), 9000)
            # 4096: 9000 records cross the end of the storage twice, inside a
            # datagram each time (4096 and 8192 are not multiples of 30), so
            # some records are copied, and the first datagrams, into an empty
            # ring, are decoded in place. 64: a reservation can hold an IPFIX
            # datagram's bound (2 records per byte) only where it runs to the
            # end of the storage and on into the slack: those datagrams are
            # decoded in place and their overflow copied; the rest are staged
            # (how many of each depends on the sink's timing).
            for size in ("4096", "64"):
                with self.subTest(ring_size=size):
                    r = sluiced(tmp, [p], "--ring-size", size, name="wrap" + size)
                    t = r.stats["totals"]
                    self.assertEqual(r.lines, ref)
                    self.assertEqual(t["records_enqueued"], 9000)
                    self.assertEqual(t["ring_full"], 0)
                    self.assertGreater(t["records_copied"], 0)
                    if size == "4096":  # the first reservation is 4095 free slots from index 0
                        self.assertLess(t["records_copied"], 9000)

    def test_slow_sink(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, "burst.pcap")
            v5_capture(p, "10.9.3.1", 400)
            r = sluiced(tmp, [p], "--ring-size", "64", "--sink-delay-us", "20000", "--ring-full", "drop")
            t = r.stats["totals"]
            self.assertEqual(t["rx_packets"], 400)  # every packet was still received and decoded
            self.assertEqual(t["records"], 400 * 30)
            self.assertGreater(t["ring_full"], 0)
            self.assertEqual(t["records"], t["records_enqueued"] + t["ring_full"])
            self.assertEqual(r.stats["totals_written"], t["records_enqueued"])
            self.assertEqual(len(r.lines), t["records_enqueued"])
            # What was written is a prefix-preserving subsequence of the reference, in order.
            ref = offline(p)
            it = iter(ref)
            self.assertTrue(all(any(x == y for y in it) for x in r.lines))


class BadFrames(unittest.TestCase):
    """(4) malformed and unwanted frames: counted by cause, no crash, nothing decoded from them."""

    def test_counted_by_cause(self):
        ok = g.netflow_v5(2, 0)
        good = g.ipv4_udp_frame("10.9.4.1", "10.9.0.254", 40000, 2055, ok)
        u = g.udp("10.9.4.1", "10.9.0.254", 40000, 2055, ok)
        frames = [
            b"\x01\x02\x03",                                                          # runt
            g.ether(b"\0" * 46, 0x88CC),                                              # LLDP: unsupported_ethertype
            g.ether(g.ipv4_header("10.9.4.1", "10.9.0.254", 17, len(u), ihl=4) + u, g.ETH_IPV4),  # bad IHL
            g.ether(g.ipv4_header("10.9.4.1", "10.9.0.254", 17, len(u), bad_checksum=True) + u, g.ETH_IPV4),
            g.ether(g.ipv4_header("10.9.4.1", "10.9.0.254", 17, len(u), total_len=2000) + u, g.ETH_IPV4),
            g.ether(g.ipv4_header("10.9.4.1", "10.9.0.254", 6, 20) + b"\0" * 20, g.ETH_IPV4),  # TCP: not_udp
            g.ipv4_udp_frame("10.9.4.1", "10.9.0.254", 40000, 5353, ok),            # unconfigured port
            g.ipv4_udp_frame("10.9.4.1", "10.9.0.254", 40000, 12345, ok),           # unconfigured port
            g.ether(g.ipv4_header("10.9.4.1", "10.9.0.254", 17, len(u)) + u[:4] + b"\xff\xff" + u[6:],
                    g.ETH_IPV4),                                                     # bad UDP length
            g.ether(bytes(28), g.ETH_ARP),                                          # ARP, not for us
            good,
        ]
        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, "bad.pcap")
            g.write_pcap(p, frames)
            r = sluiced(tmp, [p])
            t = r.stats["totals"]
            expect = {"rx_packets": 11, "runt": 1, "unsupported_ethertype": 1, "bad_ipv4_header": 1,
                      "bad_ipv4_checksum": 1, "bad_ip_length": 1, "not_udp": 1, "udp_port_unconfigured": 2,
                      "bad_udp_length": 1, "exception_unhandled": 1, "datagrams": 1, "records": 2}
            for k, v in expect.items():
                self.assertEqual(t[k], v, k)
            self.assertEqual(len(r.lines), 2)
            self.assertEqual(r.stats["workers"][0]["exception"]["arp_malformed"]
                             + r.stats["workers"][0]["exception"]["not_for_us"], 1)
            # Every frame ends in exactly one terminal counter.
            terminal = sum(t[k] for k in expect if k not in ("rx_packets", "records"))
            self.assertEqual(terminal, 11)


FRAG_COUNTERS = ["frag_received", "frag_reassembled", "frag_datagrams", "frag_atomic", "frag_duplicate",
                 "frag_overlap", "frag_too_big", "frag_malformed", "frag_evicted_source_limit",
                 "frag_evicted_table_full", "frag_evicted_memory", "frag_expired", "frag_expired_at_stop"]


def offline_stats(*pcaps, extra=()):
    """sluice-decode's records and --stats-json, and its peak RSS in KiB."""
    with tempfile.TemporaryDirectory() as tmp:
        st = os.path.join(tmp, "stats.json")
        out = os.path.join(tmp, "out.json")
        with open(out, "w") as fh:
            p = subprocess.Popen([SLUICE_DECODE, "--json", "--quiet-stats", "--stats-json", st, *extra, *pcaps],
                                 stdout=fh, stderr=subprocess.PIPE)
            _, status, usage = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)  # reaped here, for its rusage
        err = p.stderr.read().decode()
        p.stderr.close()
        if p.returncode != 0:
            raise AssertionError("sluice-decode failed: %s" % err)
        with open(out) as fh:
            lines = fh.read().splitlines()
        with open(st) as fh:
            stats = json.load(fh)
    return lines, stats, usage.ru_maxrss


def without_time(lines):
    """Records minus time_received_ns (the capture time of the frame that completed the datagram)."""
    out = []
    for ln in lines:
        d = json.loads(ln)
        del d["time_received_ns"]
        out.append(json.dumps(d, sort_keys=True))
    return out


def ipfix_big(n_records, seq=0, domain=7, base=0):
    """One IPFIX data message of n_records (41 bytes each)."""
    return g.ipfix_message(domain, seq, g.ipfix_data_set(n_records, base=base))


class Fragments(unittest.TestCase):
    """(5) Fragmented datagrams: both tools reassemble alike, with the same exact frag_* counters and records:
    any number of fragments, any order, overlaps dropped (RFC 5722), exact duplicates tolerated, expiry,
    too big, and a flood of incomplete sets that does not starve a real exporter."""

    def assert_same(self, got, want):
        # Not assertEqual on the lists: difflib over thousands of lines takes minutes.
        self.assertEqual(len(got), len(want))
        bad = [i for i, (a, b) in enumerate(zip(got, want)) if a != b]
        self.assertEqual(bad, [], "first difference:\n%s\n%s" % (got[bad[0]], want[bad[0]]) if bad else "")

    def both(self, tmp, frames, expect, extra=(), name="frag", step_us=1000):
        """Writes `frames`, runs both tools; checks every frag_* counter in both and returns the records."""
        p = os.path.join(tmp, name + ".pcap")
        g.write_pcap(p, frames, step_us=step_us)
        r = sluiced(tmp, [p], *extra, name=name)
        lines, st, _ = offline_stats(p, extra=extra)
        want = {k: 0 for k in FRAG_COUNTERS}
        want.update(expect)
        self.assertEqual({k: r.total(k) for k in FRAG_COUNTERS}, want, "sluiced")
        self.assertEqual({k: st["reassembly"][k] for k in FRAG_COUNTERS}, want, "sluice-decode")
        # After the stop every fragment sits in exactly one terminal counter.
        self.assertEqual(want["frag_received"],
                         sum(v for k, v in want.items() if k not in ("frag_received", "frag_datagrams")))
        self.assert_same(r.lines, lines)
        self.assertEqual(r.total("bad_ip_length"), 0)
        self.assertEqual(r.total("records"), len(lines))
        return lines, r, st

    def test_reassembly(self):
        msgs = ipfix_payloads(6, 80)  # 80 records * 41 bytes: ~3.3 KB datagrams, 3 fragments each
        frames, ident = [], 100
        for i, m in enumerate(msgs):
            if i == 0:
                frames.append(g.ipv4_udp_frame("10.9.5.1", "10.9.0.254", 4739, 4739, m))
                continue
            fr = g.ipv4_fragments("10.9.5.1", "10.9.0.254", 4739, 4739, m, ident=ident)
            self.assertEqual(len(fr), 3)
            ident += 1
            if i % 2 == 0:
                fr.reverse()  # out of order
            frames += fr
        # IPv6 fragments of another exporter.
        v6 = ipfix_payloads(2, 80, domain=3)
        frames.append(g.ipv6_udp_frame("2001:db8::5", "2001:db8::fe", 4739, 4739, v6[0]))
        for m in v6[1:]:
            fr = g.ipv6_fragments("2001:db8::5", "2001:db8::fe", 4739, 4739, m, ident=ident)
            ident += 1
            frames += [fr[1], fr[0]] + fr[2:]
        # An incomplete set: the last fragment never comes.
        lost = g.ipv4_fragments("10.9.5.1", "10.9.0.254", 4739, 4739, ipfix_payloads(1, 80)[1], ident=ident)
        frames += lost[:-1]
        with tempfile.TemporaryDirectory() as tmp:
            lines, r, _ = self.both(tmp, frames, {"frag_received": 26, "frag_reassembled": 24, "frag_datagrams": 8,
                                                  "frag_expired_at_stop": 2})
            self.assertEqual(r.total("rx_packets"), len(frames))
            self.assertEqual(r.total("datagrams"), 2 + 8)
            self.assertEqual(len(lines), 6 * 80 + 2 * 80)

    def test_twenty_fragments_out_of_order(self):
        # ~28.9 KB IPFIX datagrams (780 records) in 20 fragments each, shuffled (Debian's rte_ip_frag, which
        # sluiced used before, stopped at 8).
        big = [ipfix_big(780, seq=0), ipfix_big(780, seq=780, base=780)]
        frames = [g.ipv4_udp_frame("10.9.5.2", "10.9.0.254", 4739, 4739, ipfix_payloads(0, 0)[0])]
        order = [3, 0, 19, 7, 1, 2, 18, 4, 5, 6, 8, 9, 17, 10, 11, 12, 13, 14, 16, 15]
        for i, m in enumerate(big):
            fr = g.ipv4_fragments("10.9.5.2", "10.9.0.254", 4739, 4739, m, ident=300 + i)
            self.assertEqual(len(fr), 20)
            frames += [fr[k] for k in order]
        with tempfile.TemporaryDirectory() as tmp:
            lines, _, _ = self.both(tmp, frames, {"frag_received": 40, "frag_reassembled": 40, "frag_datagrams": 2})
            self.assertEqual(len(lines), 1560)
            alone = os.path.join(tmp, "whole.pcap")
            g.write_pcap(alone, [g.ipv4_udp_frame("10.9.5.2", "10.9.0.254", 4739, 4739, m)
                                 for m in [ipfix_payloads(0, 0)[0]] + big])
            # The same records as the unfragmented datagrams, but for the receive time.
            self.assert_same(without_time(lines), without_time(offline(alone)))

    def test_ipv6_extension_chain_and_atomic(self):
        tmpl = ipfix_payloads(0, 0, domain=4)[0]
        frames = [g.ipv6_udp_frame("2001:db8::7", "2001:db8::fe", 4739, 4739, tmpl)]
        src, dst = "2001:db8::7", "2001:db8::fe"
        m = ipfix_big(80, domain=4)
        u = g.udp(src, dst, 4739, 4739, m, v6=True)
        dest_opts = struct.pack("!BBHI", 44, 0, 0x0104, 0)  # next: fragment; PadN
        step = 1448
        for off in range(0, len(u), step):
            piece = u[off:off + step]
            more = 1 if off + step < len(u) else 0
            fh = struct.pack("!BBHI", 17, 0, off | more, 555)
            frames.append(g.ether(g.ipv6_header(src, dst, 60, 8 + 8 + len(piece)) + dest_opts + fh + piece,
                                  g.ETH_IPV6))
        # An atomic fragment (offset 0, M=0; RFC 6946) carrying a whole datagram.
        a = g.udp(src, dst, 4739, 4739, ipfix_big(5, seq=80, domain=4, base=80), v6=True)
        frames.append(g.ether(g.ipv6_header(src, dst, 44, 8 + len(a)) + struct.pack("!BBHI", 17, 0, 0, 556) + a,
                              g.ETH_IPV6))
        with tempfile.TemporaryDirectory() as tmp:
            lines, _, _ = self.both(tmp, frames, {"frag_received": 4, "frag_reassembled": 3, "frag_datagrams": 1,
                                                  "frag_atomic": 1})
            self.assertEqual(len(lines), 85)

    def test_overlap_is_dropped(self):
        # A forged fragment rewriting records of a 28-record datagram, after or before the genuine one:
        # the datagram is dropped (RFC 5722) in both tools, no record from it; the next datagram decodes.
        tmpl = ipfix_payloads(0, 0)[0]
        victim = ipfix_big(28, seq=0)
        forged_msg = ipfix_big(28, seq=0, base=5000)  # same length, other records
        fr = g.ipv4_fragments("10.9.5.3", "10.9.0.254", 4739, 4739, victim, ident=400, mtu=500)
        forged = g.ipv4_fragments("10.9.5.3", "10.9.0.254", 4739, 4739, forged_msg, ident=400, mtu=500)
        self.assertEqual(len(fr), 3)
        after = [fr[0], fr[1], forged[1], fr[2]]
        fr2 = g.ipv4_fragments("10.9.5.3", "10.9.0.254", 4739, 4739, victim, ident=401, mtu=500)
        forged2 = g.ipv4_fragments("10.9.5.3", "10.9.0.254", 4739, 4739, forged_msg, ident=401, mtu=500)
        before = [fr2[0], forged2[1], fr2[1], fr2[2]]
        good = g.ipv4_fragments("10.9.5.3", "10.9.0.254", 4739, 4739, ipfix_big(28, seq=28, base=28), ident=402,
                                mtu=500)
        frames = [g.ipv4_udp_frame("10.9.5.3", "10.9.0.254", 4739, 4739, tmpl)] + after + before + good
        with tempfile.TemporaryDirectory() as tmp:
            lines, r, _ = self.both(tmp, frames, {"frag_received": 11, "frag_overlap": 8, "frag_reassembled": 3,
                                                  "frag_datagrams": 1})
            self.assertEqual(len(lines), 28)
            self.assertEqual({json.loads(x)["src_addr"] for x in lines},
                             {"10.1.0.%d" % (n + 1) for n in range(28, 56)})
            self.assertEqual(r.exporter("10.9.5.3")[0]["flow_records"], 28)
            # One rate-limited log line names the cause.
            self.assertIn("worker 0: fragments dropped: frag_overlap +8", r.stderr)

    def test_exact_duplicate_is_accepted(self):
        tmpl = ipfix_payloads(0, 0)[0]
        fr = g.ipv4_fragments("10.9.5.4", "10.9.0.254", 4739, 4739, ipfix_big(780), ident=500)
        dup = fr[:1] + fr[:6] + [fr[5]] + fr[6:]  # the first fragment and the sixth twice
        frames = [g.ipv4_udp_frame("10.9.5.4", "10.9.0.254", 4739, 4739, tmpl)] + dup
        with tempfile.TemporaryDirectory() as tmp:
            lines, _, _ = self.both(tmp, frames, {"frag_received": 22, "frag_duplicate": 2, "frag_reassembled": 20,
                                                  "frag_datagrams": 1})
            self.assertEqual(len(lines), 780)

    def test_too_big(self):
        # Fragments adding up to 65,536 bytes of IP: counted frag_too_big (not bad_ip_length), no record.
        src, dst = "10.9.5.5", "10.9.0.254"
        body = b"\0" * (65536 - 20)
        frames = []
        for off in range(0, len(body), 1480):
            piece = body[off:off + 1480]
            more = 0x2000 if off + 1480 < len(body) else 0
            frames.append(g.ether(g.ipv4_header(src, dst, 17, len(piece), ident=600, flags_frag=more | (off // 8)) +
                                  piece, g.ETH_IPV4))
        self.assertEqual(len(frames), 45)
        frames.append(g.ipv4_udp_frame(src, dst, 4739, 4739, ipfix_payloads(0, 0)[0]))
        with tempfile.TemporaryDirectory() as tmp:
            lines, r, _ = self.both(tmp, frames, {"frag_received": 45, "frag_too_big": 45})
            self.assertEqual(lines, [])
            self.assertEqual(r.total("datagrams"), 1)

    def test_expiry_by_capture_time_and_by_timer(self):
        # A replay (sluice-decode, sluiced --pcap) expires by capture time, a live port (sluiced --port net_pcap,
        # running for --duration) by its timer: an incomplete set (2 of 3 fragments) is expired in all three,
        # the complete set after it decodes.
        m = ipfix_payloads(1, 80)
        fr = g.ipv4_fragments("10.9.6.1", "10.9.0.254", 4739, 4739, m[1], ident=7)
        ok = g.ipv4_fragments("10.9.6.1", "10.9.0.254", 4739, 4739, m[1], ident=8)
        frames = [g.ipv4_udp_frame("10.9.6.1", "10.9.0.254", 4739, 4739, m[0])] + fr[:2] + ok
        want = {"frag_received": 5, "frag_expired": 2, "frag_reassembled": 3, "frag_datagrams": 1}
        with tempfile.TemporaryDirectory() as tmp:
            # 20 ms apart: the first set is past the 50 ms timeout at the 5th frame, the second completes in 40 ms.
            p = os.path.join(tmp, "frag-timeout.pcap")
            g.write_pcap(p, frames, step_us=20000)
            lines, _, _ = self.both(tmp, frames, want, extra=("--frag-timeout-ms", "50"), step_us=20000)
            self.assertEqual(len(lines), 80)
            # Live: net_pcap sends the file at once; the set expires by the sweep, well within --duration.
            r = sluiced(tmp, [], "--port", "net_pcap0,rx_pcap=" + p, "--frag-timeout-ms", "50", "--duration", "1",
                        name="live")
            full = {k: 0 for k in FRAG_COUNTERS}
            full.update(want)
            self.assertEqual({k: r.total(k) for k in FRAG_COUNTERS}, full)
            self.assertEqual(r.total("records"), 80)

    def test_flood_with_canary(self):
        # A real exporter (the canary: template, then 5 IPFIX datagrams of 780 records in 20 fragments) with,
        # after each of its fragments, 40 incomplete sets from spoofed sources and 8 from the canary's own
        # address: 4,800 incomplete sets. Its records equal what it yields alone, in both tools.
        canary = "10.9.7.1"
        tmpl = ipfix_payloads(0, 0)[0]
        msgs = [ipfix_big(780, seq=780 * i, base=780 * i) for i in range(5)]
        alone = [g.ipv4_udp_frame(canary, "10.9.0.254", 4739, 4739, tmpl)]
        flood = list(alone)
        junk = g.udp("10.0.0.1", "10.9.0.254", 4739, 4739, b"\x55" * 1472)[:1480]
        n_spoof = n_own = 0
        for i, m in enumerate(msgs):
            fr = g.ipv4_fragments(canary, "10.9.0.254", 4739, 4739, m, ident=1000 + i)
            self.assertEqual(len(fr), 20)
            alone += fr
            for f in fr:
                flood.append(f)
                for _ in range(40):
                    n_spoof += 1
                    s = "10.%d.%d.%d" % (100 + n_spoof // 65536, n_spoof // 256 % 256, n_spoof % 256)
                    flood.append(g.ether(g.ipv4_header(s, "10.9.0.254", 17, len(junk), ident=n_spoof & 0xFFFF,
                                                       flags_frag=0x2000) + junk, g.ETH_IPV4))
                for _ in range(8):
                    n_own += 1
                    flood.append(g.ether(g.ipv4_header(canary, "10.9.0.254", 17, len(junk), ident=20000 + n_own,
                                                       flags_frag=0x2000) + junk, g.ETH_IPV4))
        self.assertEqual((n_spoof, n_own), (4000, 800))
        with tempfile.TemporaryDirectory() as tmp:
            pa = os.path.join(tmp, "alone.pcap")
            g.write_pcap(pa, alone)
            ref, _, rss_alone = offline_stats(pa)
            self.assertEqual(len(ref), 3900)
            p = os.path.join(tmp, "flood.pcap")
            g.write_pcap(p, flood)
            r = sluiced(tmp, [p])
            lines, st, rss_flood = offline_stats(p)
            # The canary's records, but for the receive time (its frames sit elsewhere in the capture).
            self.assert_same(without_time(lines), without_time(ref))
            self.assert_same(r.lines, lines)
            # Exact, from the policy: the canary's own address holds at most 16 sets (--frag-max-per-source), so
            # each of its 800 flood sets beyond the last 16 is evicted by that bound (each lives at most 2 canary
            # fragments, 96 set creations, never reaching the tail of the 256-set table); the table (256,
            # --frag-max-flows) evicts its least recently touched spoofed set for each new one once full, and the
            # canary's set, touched every 49 frames, is never the least recently touched. At the end the table
            # holds 16 own-address and 240 spoofed sets: expired at stop.
            want = {k: 0 for k in FRAG_COUNTERS}
            want.update({"frag_received": 100 + 4800, "frag_reassembled": 100, "frag_datagrams": 5,
                         "frag_evicted_source_limit": 800 - 16, "frag_evicted_table_full": 4000 - 240,
                         "frag_expired_at_stop": 256})
            self.assertEqual({k: r.total(k) for k in FRAG_COUNTERS}, want, "sluiced")
            self.assertEqual({k: st["reassembly"][k] for k in FRAG_COUNTERS}, want, "sluice-decode")
            # Storage is preallocated: the flood does not grow sluice-decode (peak RSS within 2 MiB of the
            # canary alone; the documented bound is the reassembler's ~8.9 MiB slab, see docs/architecture.md).
            self.assertLess(rss_flood - rss_alone, 2048, (rss_alone, rss_flood))


class SinkErrors(unittest.TestCase):
    """A sink whose writes fail (disk full) counts every record it loses."""

    def test_disk_full(self):
        with tempfile.TemporaryDirectory() as tmp:
            pcap = os.path.join(tmp, "v5.pcap")
            v5_capture(pcap, "10.9.6.1", 20)
            st = os.path.join(tmp, "stats.json")
            p = subprocess.run([SLUICED, "--pcap", pcap, "--json-out", "/dev/full", "--stats-json", st],
                               capture_output=True, text=True, timeout=RUN_TIMEOUT)
            self.assertEqual(p.returncode, 0, p.stderr[-2000:])
            with open(st) as fh:
                stats = json.load(fh)
            sinks = stats["sinks"]
            enqueued = stats["totals"]["records_enqueued"]
            self.assertEqual(enqueued, 600)
            self.assertEqual(sum(k["records"] for k in sinks), 600)
            out = [k["outputs"]["json"] for k in sinks]
            self.assertGreater(sum(o["file"]["write_errors"] for o in out), 0)
            self.assertEqual(sum(o["written"] for o in out), 0)
            self.assertEqual(sum(o["failed"] for o in out), enqueued)

    def test_failing_output_loses_only_its_own(self):
        # Two outputs: one on a full disk, one on a real file. The full one
        # loses exactly its records (counted); the other gets every record.
        with tempfile.TemporaryDirectory() as tmp:
            pcap = os.path.join(tmp, "v5.pcap")
            v5_capture(pcap, "10.9.6.2", 40)
            good = os.path.join(tmp, "good.json")
            r = sluiced(tmp, [pcap], "--output", "name=full,path=/dev/full",
                        "--output", "name=good,path=" + good + ",filter=proto==6")
            self.assertEqual(r.lines, offline(pcap))
            with open(good) as fh:
                self.assertEqual(fh.read().splitlines(), offline(pcap))
            o = r.stats["sinks"][0]["outputs"]
            self.assertEqual(o["full"]["in"], 1200)
            self.assertEqual(o["full"]["encoded"], 1200)
            self.assertEqual(o["full"]["failed"], 1200)
            self.assertEqual(o["full"]["written"], 0)
            self.assertEqual(o["full"]["file"]["write_errors"], o["full"]["file"]["writes"])
            self.assertGreater(o["full"]["file"]["write_errors"], 0)
            for name in ("json", "good"):
                self.assertEqual(o[name]["written"], 1200, name)
                self.assertEqual(o[name]["failed"], 0, name)
                self.assertEqual(o[name]["file"]["write_errors"], 0, name)


def v5_mixed(count, seq, salt, sampling=0):
    """A NetFlow v5 datagram of `count` records with varied protocols and
    address pairs; every other record is the reverse of the one before."""
    h = struct.pack("!HHIIIIBBH", 5, count, 100000, 1700000000, 0, seq, 0, 0, sampling)
    recs = b""
    for i in range(count):
        k = (salt * 31 + i // 2) & 0xFFFF
        a, b = 0x0A000000 | k, 0xC0A80000 | ((k * 7) & 0xFFFF)
        src, dst = (a, b) if i % 2 == 0 else (b, a)
        proto = (6, 17, 1, 6, 58)[(k + i // 2) % 5]
        recs += struct.pack("!IIIHHIIIIHHBBBBHHBBH", src, dst, 0, 1, 2, 10 + i, 1000 + i, 95000, 99000,
                            1024 + i, 80, 0, 0x18, proto, 0, 64512, 64513, 24, 24, 0)
    return h + recs


def mapped(text):
    if not text:
        return bytes(16)
    a = ipaddress.ip_address(text)
    return (b"\0" * 10 + b"\xff\xff" + a.packed) if a.version == 4 else a.packed


def pair_hash(rec):
    """sinks/output/output.hpp pair_hash(), bit for bit."""
    x, y = sorted((mapped(rec["src_addr"]), mapped(rec["dst_addr"])))
    m = (1 << 64) - 1
    lo = lambda b, o: int.from_bytes(b[o:o + 8], "little")  # noqa: E731
    h = ((lo(x, 0) ^ lo(x, 8)) * 0x9E3779B97F4A7C15 + (lo(y, 0) ^ lo(y, 8))) & m
    h ^= h >> 32
    h = h * 0xC2B2AE3D27D4EB4F & m
    return h ^ (h >> 32)


def downsampled(lines, n):
    """What an output with sample=N writes: 1 in N by pair_hash, sampling_rate * N."""
    out = []
    for ln in lines:
        rec = json.loads(ln)
        if pair_hash(rec) % n:
            continue
        rate = rec["sampling_rate"] or 1
        out.append(ln.replace('"sampling_rate":%d,' % rec["sampling_rate"], '"sampling_rate":%d,' % (rate * n), 1))
    return out


def in_prefix(addr, prefix):
    return ipaddress.ip_address(addr) in ipaddress.ip_network(prefix)


class Outputs(unittest.TestCase):
    """Several outputs: each gets exactly what its filter and downsampling keep, and every record
    is written once by the worker (in place in the ring) and read in place by every output."""

    def capture(self, tmp):
        p = os.path.join(tmp, "mixed.pcap")
        frames = []
        for i in range(40):
            exp, samp = ("10.9.20.1", 0) if i % 2 == 0 else ("10.9.21.1", 0x4000 | 100)
            frames.append(g.ipv4_udp_frame(exp, "10.9.0.254", 40000, 2055, v5_mixed(30, (i // 2) * 30, i, samp),
                                           ident=i + 1))
        g.write_pcap(p, frames)
        return p

    def expected(self, ref):
        recs = [(ln, json.loads(ln)) for ln in ref]
        tcp = [ln for ln, r in recs if r["proto"] == 6 and in_prefix(r["sampler_address"], "10.9.20.0/24")]
        other = [ln for ln, r in recs if r["proto"] in (17, 1) and r["sampler_address"] != "10.9.20.1"
                 and r["sampling_rate"] > 1]
        return {"tcp": downsampled(tcp, 4), "other": other, "tcp_unsampled": len(tcp)}

    def outputs(self, tmp):
        return ["--output", "name=tcp,format=json,path=%s,filter=proto==6&&exporter==10.9.20.0/24,sample=4"
                % os.path.join(tmp, "tcp.json"),
                "--output", "name=other,path=%s,filter=proto==udp|icmp&&exporter!=10.9.20.1&&sampling>1"
                % os.path.join(tmp, "other.json")]

    def read(self, path):
        lines = []
        for f in sorted(glob.glob(path + "*"), key=lambda s: (len(s), s)):
            with open(f) as fh:
                lines += fh.read().splitlines()
        return lines

    def test_two_outputs(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = self.capture(tmp)
            ref = offline(p)
            self.assertEqual(len(ref), 1200)
            want = self.expected(ref)
            # The test means something only if each output keeps some and drops some.
            self.assertTrue(0 < len(want["tcp"]) < want["tcp_unsampled"] < 1200)
            self.assertTrue(0 < len(want["other"]) < 1200)
            r = sluiced(tmp, [p], *self.outputs(tmp))
            self.assertEqual(r.lines, ref)
            with open(os.path.join(tmp, "tcp.json")) as fh:
                self.assertEqual(fh.read().splitlines(), want["tcp"])
            with open(os.path.join(tmp, "other.json")) as fh:
                self.assertEqual(fh.read().splitlines(), want["other"])
            t = r.stats["totals"]
            # Written once by the worker: every record decoded in place in its ring slot.
            self.assertEqual(t["records"], 1200)
            self.assertEqual(t["records_enqueued"], 1200)
            self.assertEqual(t["records_copied"], 0)
            self.assertEqual(t["ring_full"], 0)
            sink = r.stats["sinks"][0]
            self.assertEqual(sink["records"], 1200)
            o = sink["outputs"]
            # Every output was offered every record, from the same ring slots.
            for name in ("json", "tcp", "other"):
                self.assertEqual(o[name]["in"], 1200, name)
                self.assertEqual(o[name]["in"], o[name]["filtered"] + o[name]["downsampled"] + o[name]["written"]
                                 + o[name]["failed"], name)
                self.assertEqual(o[name]["encoded"], o[name]["written"], name)
            self.assertEqual(o["json"]["written"], 1200)
            self.assertEqual(o["tcp"]["filtered"], 1200 - want["tcp_unsampled"])
            self.assertEqual(o["tcp"]["downsampled"], want["tcp_unsampled"] - len(want["tcp"]))
            self.assertEqual(o["tcp"]["written"], len(want["tcp"]))
            self.assertEqual(o["other"]["filtered"], 1200 - len(want["other"]))
            self.assertEqual(o["other"]["downsampled"], 0)
            # Both directions of a conversation are kept or dropped together.
            pairs = {}
            for ln in want["tcp"]:
                rec = json.loads(ln)
                pairs.setdefault(frozenset((rec["src_addr"], rec["dst_addr"])), []).append(rec)
            self.assertTrue(any(len(v) >= 2 for v in pairs.values()))
            for ln in want["tcp"]:
                self.assertIn('"sampling_rate":4,', ln)

    def test_two_sink_cores(self):
        # Each sink core writes its own file per output: PATH.s0, PATH.s1.
        with tempfile.TemporaryDirectory() as tmp:
            p = self.capture(tmp)
            ref = offline(p)
            want = self.expected(ref)
            r = sluiced(tmp, [p], "--sink-cores", "2", *self.outputs(tmp))
            self.assertEqual(sorted(r.lines), sorted(ref))
            got = by_exporter(r.lines)
            for exp, recs in by_exporter(ref).items():
                self.assertEqual(got[exp], recs, exp)  # one exporter, one sink core: order kept
            for name in ("tcp", "other"):
                path = os.path.join(tmp, name + ".json")
                self.assertFalse(os.path.exists(path))
                self.assertTrue(os.path.exists(path + ".s0") or os.path.exists(path + ".s1"))
                self.assertEqual(sorted(self.read(path)), sorted(want[name]), name)
            self.assertEqual(sum(s["records"] for s in r.stats["sinks"]), 1200)

    def test_roll_by_size(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = self.capture(tmp)
            ref = offline(p)
            path = os.path.join(tmp, "rolled.json")
            r = sluiced(tmp, [p], "--output", "name=rolled,path=%s,roll_bytes=100000" % path)
            files = sorted(glob.glob(path + "*"), key=lambda s: (len(s), s))
            self.assertGreater(len(files), 3)
            for f in files[:-1]:
                self.assertLessEqual(os.path.getsize(f), 100000)
            self.assertEqual(self.read(path), ref)
            self.assertEqual(r.stats["sinks"][0]["outputs"]["rolled"]["file"]["rolls"], len(files) - 1)

    def test_bad_specs(self):
        cases = [
            (["--output", "path=/tmp/x"], "--output #1: missing key 'name'"),
            (["--output", "name=a,path=/tmp/x,smaple=4"], "--output a: unknown key 'smaple'"),
            (["--output", "name=a,path=/tmp/x,sample=0"], "--output a: key 'sample': bad value '0'"),
            (["--output", "name=a,path=/tmp/x,format=avro"], "--output a: key 'format': avro needs hdfs=DIR|URL"),
            (["--output", "name=a,path=/tmp/x,filter=port==80"], "output a: filter: unknown field 'port'"),
            (["--output", "name=a,path=/tmp/x,filter=proto==999"], "output a: filter: bad value '999' for proto"),
            (["--output", "name=a"], "--output a: missing key 'path'"),
            (["--output", "name=a,path=/tmp/x", "--output", "name=a,path=/tmp/y"], "--output a: key 'name': used twice"),
        ]
        for args, msg in cases:
            with self.subTest(args=args):
                p = subprocess.run([SLUICED, "--pcap", "/nonexistent.pcap", *args], capture_output=True, text=True,
                                   timeout=RUN_TIMEOUT)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn(msg, p.stderr)


class TemplateState(unittest.TestCase):
    """Templates saved at a clean stop decode the next run's data without a template re-send."""

    def test_save_then_load(self):
        msgs = ipfix_payloads(2, 10)
        with tempfile.TemporaryDirectory() as tmp:
            first, second = os.path.join(tmp, "first.pcap"), os.path.join(tmp, "second.pcap")
            g.write_pcap(first, [g.ipv4_udp_frame("10.9.7.1", "10.9.0.254", 4739, 4739, m) for m in msgs])
            g.write_pcap(second, [g.ipv4_udp_frame("10.9.7.1", "10.9.0.254", 4739, 4739, m) for m in msgs[1:]])
            state = os.path.join(tmp, "templates.state")
            r1 = sluiced(tmp, [first], "--template-state", state, name="first")
            self.assertEqual(r1.total("records"), 20)
            self.assertTrue(os.path.exists(state))
            r0 = sluiced(tmp, [second], name="no-state")
            self.assertEqual(r0.total("records"), 0)
            self.assertEqual(r0.exporter("10.9.7.1")[0]["err_data_before_template"], 2)
            r2 = sluiced(tmp, [second], "--template-state", state, name="second")
            self.assertEqual(r2.total("records"), 20)
            self.assertEqual(r2.exporter("10.9.7.1")[0]["templates_restored"], 1)

    def test_periodic_save_while_running(self):
        # A live port (no --pcap: the daemon keeps running after the file) with
        # a short save interval: the state file must appear before any stop,
        # and a restart from it decodes data sent without its template.
        msgs = ipfix_payloads(2, 10)
        with tempfile.TemporaryDirectory() as tmp:
            first, second = os.path.join(tmp, "first.pcap"), os.path.join(tmp, "second.pcap")
            g.write_pcap(first, [g.ipv4_udp_frame("10.9.8.1", "10.9.0.254", 4739, 4739, m) for m in msgs])
            g.write_pcap(second, [g.ipv4_udp_frame("10.9.8.1", "10.9.0.254", 4739, 4739, m) for m in msgs[1:]])
            state = os.path.join(tmp, "templates.state")
            live = subprocess.Popen([SLUICED, "--port", "net_pcap0,rx_pcap=" + first, "--template-state", state,
                                     "--template-state-interval", "0.3", "--json-out", os.path.join(tmp, "live.json")],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            try:
                deadline = time.monotonic() + 20
                while not os.path.exists(state) and time.monotonic() < deadline and live.poll() is None:
                    time.sleep(0.1)
                self.assertTrue(os.path.exists(state), "no periodic save within 20 s")
                self.assertIsNone(live.poll(), "the daemon stopped: the save was not periodic")
                r = sluiced(tmp, [second], "--template-state", state, name="restart")
                self.assertEqual(r.total("records"), 20)
                self.assertEqual(r.exporter("10.9.8.1")[0]["err_data_before_template"], 0)
            finally:
                live.terminate()
                _, err = live.communicate(timeout=30)
            self.assertEqual(live.returncode, 0, err[-2000:])


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    SLUICED, SLUICE_DECODE, FIXTURES = sys.argv[1:4]
    unittest.main(argv=[sys.argv[0]] + sys.argv[4:], verbosity=2)
