#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 8's decoder cases end to end, built from bytes: each capture goes
through sluice-decode and sluiced --pcap; both must give the same records,
the expected records, and exactly the expected per-exporter (and table)
counters.

usage: decoder_cases_test.py SLUICED SLUICE_DECODE [unittest args]"""

import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapgen as g  # noqa: E402

SLUICED = SLUICE_DECODE = ""
RUN_TIMEOUT = 120
EXP = "10.9.8.1"
COL = "10.9.0.254"


def v9(seq, source, sets, count):
    return struct.pack("!HHIIII", 9, count, 100000, 1700000000, seq, source) + sets


def tset(set_id, body):
    return struct.pack("!HH", set_id, 4 + len(body)) + body


def fields(fs):
    return b"".join(struct.pack("!HH", f, ln) for f, ln in fs)


def run_both(tmp, frames, extra=()):
    pcap = os.path.join(tmp, "in.pcap")
    g.write_pcap(pcap, frames)
    st_d = os.path.join(tmp, "d.json")
    p = subprocess.run([SLUICE_DECODE, "--json", "--quiet-stats", "--stats-json", st_d, *extra, pcap],
                       capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert p.returncode == 0, p.stderr
    dec_lines = p.stdout.splitlines()
    with open(st_d) as fh:
        dec = json.load(fh)
    out, st_s = os.path.join(tmp, "s.json"), os.path.join(tmp, "s-stats.json")
    p = subprocess.run([SLUICED, "--pcap", pcap, "--json-out", out, "--stats-json", st_s, *extra],
                       capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert p.returncode == 0, p.stderr[-3000:]
    with open(out) as fh:
        sl_lines = fh.read().splitlines()
    with open(st_s) as fh:
        sl = json.load(fh)
    return dec_lines, dec, sl_lines, sl


def nonzero(counters):
    return {k: v for k, v in counters.items() if v and k != "datagram_bytes"}


class Case(unittest.TestCase):
    def check(self, frames, want_records, want_counters, extra=(), want_table=None, exporter=EXP):
        with tempfile.TemporaryDirectory() as tmp:
            dl, dst, sl, sst = run_both(tmp, frames, extra)
            recs = [json.loads(x) for x in dl]
            self.assertEqual(sl, dl)  # both tools, record for record
            self.assertEqual(len(recs), len(want_records))
            for r, w in zip(recs, want_records):
                for k, v in w.items():
                    self.assertEqual(r[k], v, k)
            got = nonzero(dst["exporters"].get(exporter, {}))
            self.assertEqual(got, want_counters)
            s = {}
            for w in sst["workers"]:
                for k, v in w["exporters"].get(exporter, {}).items():
                    s[k] = s.get(k, 0) + v
            self.assertEqual(nonzero(s), want_counters)
            for k, v in (want_table or {}).items():
                self.assertEqual(dst["exporter_table"][k], v, k)
                self.assertEqual(sum(w["exporter_table"][k] for w in sst["workers"]), v, k)
            return recs


IPV4 = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 4), (2, 4)]


def ipv4_rec(last, octets=1000, pkts=2):
    return struct.pack("!4s4sHHBII", bytes([10, 1, 1, last]), bytes([10, 2, 2, 2]), 5353, 53, 17, octets, pkts)


class Cases(Case):
    def test_juniper_zero_length_scope_lets_sampling_apply(self):
        opt = tset(1, struct.pack("!HHH", 257, 4, 8) + fields([(1, 0)]) + fields([(34, 4), (35, 1)]) + b"\0\0")
        odata = tset(257, struct.pack("!IB", 1000, 2) + b"\0\0\0")
        tmpl = tset(0, struct.pack("!HH", 256, len(IPV4)) + fields(IPV4))
        data = tset(256, ipv4_rec(1))
        frames = [g.ipv4_udp_frame(EXP, COL, 50000, 2055, v9(1, 7, opt + odata + tmpl, 3)),
                  g.ipv4_udp_frame(EXP, COL, 50000, 2055, v9(2, 7, data, 1))]
        self.check(frames, [{"sampling_rate": 1000, "bytes": 1000, "src_addr": "10.1.1.1"}],
                   {"datagrams": 2, "options_templates_learned": 1, "templates_learned": 1,
                    "dev_zero_length_fields": 1, "options_records": 1, "sampling_rates_learned": 1,
                    "flow_records": 1})

    def test_refused_redefinition_withdraws_the_old_template(self):
        good = tset(2, struct.pack("!HH", 256, len(IPV4)) + fields(IPV4))
        bad = tset(2, struct.pack("!HH", 256, 1) + fields([(8, 0)]))
        data = tset(256, ipv4_rec(1))
        frames = [g.ipv4_udp_frame(EXP, COL, 4739, 4739, g.ipfix_message(1, 0, good + data)),
                  g.ipv4_udp_frame(EXP, COL, 4739, 4739, g.ipfix_message(1, 1, bad)),
                  g.ipv4_udp_frame(EXP, COL, 4739, 4739, g.ipfix_message(1, 1, data)),
                  g.ipv4_udp_frame(EXP, COL, 4739, 4739, g.ipfix_message(1, 2, good + data))]
        self.check(frames, [{"src_addr": "10.1.1.1"}, {"src_addr": "10.1.1.1"}],
                   {"datagrams": 4, "templates_learned": 2, "err_template_field_length": 1,
                    "templates_refused_withdrawn": 1, "err_data_template_refused": 1, "flow_records": 2})

    def test_zero_padding_after_the_last_set_is_legal(self):
        good = tset(2, struct.pack("!HH", 256, len(IPV4)) + fields(IPV4))
        data = tset(256, ipv4_rec(1))
        msg = g.ipfix_message(1, 0, good + data + b"\0\0\0\0")
        self.check([g.ipv4_udp_frame(EXP, COL, 4739, 4739, msg)], [{"src_addr": "10.1.1.1"}],
                   {"datagrams": 1, "templates_learned": 1, "flow_records": 1})

    def test_v9_variable_length_vrfname(self):
        tmpl = tset(0, struct.pack("!HH", 256, 4) + fields([(8, 4), (236, 65535), (1, 4), (2, 4)]))
        data = tset(256, bytes([10, 0, 0, 1, 3]) + b"vpn" + struct.pack("!II", 100, 1) +
                    bytes([10, 0, 0, 2, 255]) + struct.pack("!H", 300) + b"x" * 300 + struct.pack("!II", 200, 2))
        frames = [g.ipv4_udp_frame(EXP, COL, 50000, 2055, v9(1, 7, tmpl + data, 3))]
        self.check(frames, [{"src_addr": "10.0.0.1", "bytes": 100}, {"src_addr": "10.0.0.2", "bytes": 200}],
                   {"datagrams": 1, "templates_learned": 1, "dev_v9_variable_length_fields": 1, "flow_records": 2})

    def test_records_per_datagram_cap(self):
        t = tset(2, struct.pack("!HH", 256, 1) + fields([(4, 1)]))
        d = tset(256, bytes([17]) * 1000)
        frames = [g.ipv4_udp_frame(EXP, COL, 4739, 4739, g.ipfix_message(1, 0, t + d))]
        self.check(frames, [{"proto": 17}] * 100,
                   {"datagrams": 1, "templates_learned": 1, "flow_records": 100, "err_records_per_datagram": 900},
                   extra=["--decoder-limit", "records_per_datagram=100"])

    def test_v5_header_count_below_records_present(self):
        p = g.netflow_v5(3, 0)
        p = p[:2] + struct.pack("!H", 1) + p[4:]
        self.check([g.ipv4_udp_frame(EXP, COL, 40000, 2055, p)], [{"src_addr": "10.0.0.1"}],
                   {"datagrams": 1, "flow_records": 1, "err_v5_records_beyond_count": 2})

    def test_v5_engines_past_the_tracking_limit(self):
        frames = [g.ipv4_udp_frame(EXP, COL, 40000, 2055, g.netflow_v5(1, 100, engine=e)) for e in range(10)]
        self.check(frames, [{"src_addr": "10.0.0.1"}] * 10,
                   {"datagrams": 10, "flow_records": 10, "dev_untracked_sequence": 2})

    def test_ipv4_mapped_ipv6_source_is_dropped(self):
        frames = [g.ipv4_udp_frame(EXP, COL, 40000, 2055, g.netflow_v5(1, 0)),
                  g.ipv6_udp_frame("::ffff:" + EXP, "2001:db8::254", 40000, 2055, g.netflow_v5(1, 1)),
                  g.ipv4_udp_frame(EXP, COL, 40000, 2055, g.netflow_v5(1, 1))]
        self.check(frames, [{"src_addr": "10.0.0.1"}] * 2, {"datagrams": 2, "flow_records": 2},
                   want_table={"refused_ipv4_mapped_ipv6_source": 1, "exporters_created": 1})

    def test_templates_per_source_port(self):
        a = tset(2, struct.pack("!HH", 256, len(IPV4)) + fields(IPV4))
        b = tset(2, struct.pack("!HH", 256, 2) + fields([(8, 4), (2, 8)]))
        frames = [g.ipv4_udp_frame(EXP, COL, 5000, 4739, g.ipfix_message(1, 0, a)),
                  g.ipv4_udp_frame(EXP, COL, 5001, 4739, g.ipfix_message(1, 0, b)),
                  g.ipv4_udp_frame(EXP, COL, 5000, 4739, g.ipfix_message(1, 0, tset(256, ipv4_rec(7, pkts=3)))),
                  g.ipv4_udp_frame(EXP, COL, 5001, 4739,
                                   g.ipfix_message(1, 0, tset(256, bytes([10, 9, 9, 9]) + struct.pack("!Q", 77))))]
        self.check(frames, [{"src_addr": "10.1.1.7", "packets": 3}, {"src_addr": "10.9.9.9", "packets": 77}],
                   {"datagrams": 4, "templates_learned": 2, "flow_records": 2})


if __name__ == "__main__":
    SLUICED, SLUICE_DECODE = sys.argv[1:3]
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
