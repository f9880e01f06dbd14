#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""sluicectl against a running sluiced (net_pcap port replaying a bundled
fixture, so the daemon stays up until told to stop): every command's output
against the fixture's known counts, permissions (throwaway users and groups),
malformed / oversized / slow requests and 100 concurrent clients while the
daemon decodes, promtool on the exposition, a real prometheus scraping
--metrics-listen, dpdk-telemetry.py reading a counter.

usage: sluicectl_test.py SLUICED SLUICECTL SLUICE_DECODE FIXTURES_DIR [--scrape-seconds N] [unittest args]"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapgen as g  # noqa: E402

SLUICED = SLUICECTL = SLUICE_DECODE = FIXTURES = ""
SCRAPE_SECONDS = 4
FIXTURE = "softflowd-ipfix-ipv4.pcap"  # 6 frames, 6 IPFIX datagrams, 15 records, exporter 127.0.0.1
PREFIX = "sluicectl_"  # users and groups this test creates
TELEMETRY = "/usr/bin/dpdk-telemetry.py"


def offline_count(path, *extra):
    p = subprocess.run([SLUICE_DECODE, "--json", *extra, path], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return len(p.stdout.splitlines()), p.stderr


class Daemon:
    """sluiced on a net_pcap port (live mode: it runs until shutdown)."""

    def __init__(self, tmp, pcap, *extra, name="d"):
        self.tmp, self.name = tmp, name
        self.sock = os.path.join(tmp, name + ".sock")
        self.stats = os.path.join(tmp, name + "-stats.json")
        self.prefix = "sluicectl-%s-%d" % (name, os.getpid())
        self.err = open(os.path.join(tmp, name + ".log"), "w+")
        cmd = [SLUICED, "--port", "net_pcap0,rx_pcap=" + pcap, "--stats-json", self.stats,
               "--control-socket", self.sock, "--metrics-listen", "0", "--stats-interval", "100",
               "--eal", "--no-huge -m 512 --no-pci --file-prefix " + self.prefix, *extra]
        self.p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.err, text=True)
        deadline = time.time() + 30
        while not os.path.exists(self.sock):
            if self.p.poll() is not None or time.time() > deadline:
                raise AssertionError("sluiced did not create its socket: " + self.log())
            time.sleep(0.05)
        m = None
        while m is None and time.time() < deadline:
            m = re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", self.log())
            time.sleep(0.05)
        self.metrics_port = int(m.group(1))

    def log(self):
        if not self.err.closed:
            self.err.flush()
        with open(self.err.name) as f:
            return f.read()

    def ctl(self, *args, user=None, check=True, sock=None):
        cmd = [SLUICECTL, "-s", sock or self.sock, *args]
        if user is not None:
            cmd = ["runuser", "-u", user, "--", *cmd]  # that user's uid, gid and supplementary groups
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if check and p.returncode != 0:
            raise AssertionError("sluicectl %s: %d %s" % (" ".join(args), p.returncode, p.stderr))
        return p

    def json(self, *args):
        return json.loads(self.ctl("--json", *args).stdout)

    def wait_for(self, pred, what, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            s = self.json("stats")
            if pred(s):
                return s
            time.sleep(0.1)
        raise AssertionError("timed out waiting for " + what + ": " + json.dumps(s))

    def stop(self):
        if self.p.poll() is None:
            self.ctl("shutdown")
            self.p.wait(timeout=30)
        self.err.close()
        return self.p.returncode


def raw(sock_path, data, read=True, timeout=10):
    """Sends bytes on a fresh connection; returns what the daemon answered until it closed or a newline."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    s.sendall(data)
    out = b""
    if read:
        while not out.endswith(b"\n"):
            b = s.recv(65536)
            if not b:
                break
            out += b
    s.close()
    return out


class Commands(unittest.TestCase):
    """Every command's output against the fixture's known counts (tables and --json)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sluicectl-")
        os.chmod(cls.tmp, 0o755)
        cls.records, cls.offline = offline_count(os.path.join(FIXTURES, FIXTURE), "--port-map", "24739=ipfix")
        cls.out = os.path.join(cls.tmp, "records.json")
        cls.d = Daemon(cls.tmp, os.path.join(FIXTURES, FIXTURE), "--port-map", "24739=ipfix", "--json-out", cls.out)
        cls.d.wait_for(lambda s: s["outputs"] and s["outputs"][0]["delivered"] == cls.records, "every record written")

    @classmethod
    def tearDownClass(cls):
        try:
            cls.d.stop()
        finally:
            if cls.d.p.poll() is None:
                cls.d.p.kill()
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_status(self):
        s = self.d.json("status")
        self.assertEqual(s["version"], "0.1.0")
        self.assertEqual(s["pid"], self.d.p.pid)
        self.assertEqual(s["mode"], "live")
        self.assertEqual([c["role"] for c in s["cores"]], ["control", "worker", "sink"])
        self.assertEqual(s["ports"][0]["name"], "net_pcap0")
        self.assertEqual(s["ports"][0]["link"], "up")
        self.assertEqual(s["control_socket"], self.d.sock)
        self.assertEqual(s["metrics_listen"], "http://127.0.0.1:%d/metrics" % self.d.metrics_port)
        t = self.d.ctl("status").stdout
        self.assertRegex(t, r"sluiced 0\.1\.0\s+pid %d" % self.d.p.pid)
        self.assertRegex(t, r"\n\s+1\s+worker\s+worker 0: port 0 queue 0\n")
        self.assertRegex(t, r"\n\s+0\s+net_pcap0\s+net_pcap\s+1\s+up\s")
        self.assertNotIn("\x1b[", t)  # not a terminal: no colour

    def test_stats(self):
        s = self.d.json("stats")
        self.assertEqual(s["ports"][0]["rx"], 6)
        self.assertEqual(s["ports"][0]["missed"], 0)
        self.assertEqual(s["ports"][0]["mbuf_failures"], 0)
        self.assertEqual(s["ports"][0]["queues"][0]["rx"], 6)
        w = s["workers"][0]
        self.assertEqual((w["packets"], w["datagrams"], w["records"], w["records_enqueued"]), (6, 6, self.records, self.records))
        self.assertEqual(w["drops"], {})
        self.assertGreater(w["cycles_per_packet"], 0)
        self.assertEqual(len(s["rings"]), 1)
        self.assertEqual(s["rings"][0]["depth"], 0)
        self.assertEqual(s["rings"][0]["capacity"], 4095)
        self.assertGreaterEqual(s["rings"][0]["high_water"], 1)  # kept by the worker at each commit
        self.assertLessEqual(s["rings"][0]["high_water"], self.records)
        o = s["outputs"][0]
        self.assertEqual((o["output"], o["offered"], o["delivered"], o["failed"], o["queued"]), ("json", self.records, self.records, 0, 0))
        t = self.d.ctl("stats").stdout
        self.assertRegex(t, r"PORT\s+NAME\s+RX\s+MISSED\s+NOMBUF\s+ERRORS\n\s+0\s+net_pcap0\s+6\s+0\s+0\s+0\n")
        self.assertRegex(t, r"\n\s+0\s+1\s+0\s+0\s+6\s+%d\s+0\s+\d+\n" % self.records)
        self.assertRegex(t, r"\njson\s+%d\s+0\s+%d\s+0\n" % (self.records, self.records))
        with open(self.out) as f:
            self.assertEqual(len(f.read().splitlines()), self.records)

    def test_stats_watch(self):
        p = self.d.ctl("stats", "--watch", "--interval", "0.2", "--count", "3")
        self.assertEqual(p.stdout.count("sluicectl stats"), 3)
        self.assertEqual(p.stdout.count("PKT/s"), 3)
        self.assertIn("0 pps", p.stdout)  # the replay is over: rates are 0 after the first round
        # On a terminal (script(1) gives it one): redrawn in place, with colour.
        if shutil.which("script"):
            cmd = "%s -s %s stats --watch --interval 0.2 --count 2" % (SLUICECTL, self.d.sock)
            t = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True, timeout=30).stdout
            self.assertEqual(t.count("\x1b[H\x1b[2J"), 2)
            self.assertIn("\x1b[1m", t)  # bold headers
            env = dict(os.environ, NO_COLOR="1")
            t = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True, timeout=30,
                               env=env).stdout
            self.assertNotIn("\x1b[1m", t)

    def test_exporters(self):
        e = self.d.json("exporters")
        self.assertEqual(len(e), 1)
        e = e[0]
        self.assertEqual(e["exporter"], "127.0.0.1")
        self.assertEqual((e["datagrams"], e["templates_learned"], e["options_templates_learned"],
                          e["sampling_rates_learned"], e["sequence_lost"], e["errors"]), (6, 4, 1, 1, 0, 0))
        self.assertEqual((e["flow_records"], e["options_records"]), (self.records, 1))
        self.assertGreater(e["last_seen_ns"], 0)
        t = self.d.ctl("exporters").stdout
        self.assertRegex(t, r"\n127\.0\.0\.1\s+6\s+%d\s+4\s+1\s+0\s+0\s+\d{4}-" % e["flow_records"])

    def test_templates(self):
        t = self.d.json("templates")
        self.assertEqual([e["exporter"] for e in t], ["127.0.0.1"])
        doms = t[0]["domains"]
        self.assertEqual([(d["version"], d["domain"], d["sampling_rate"]) for d in doms], [(10, 0, 1)])
        tpl = doms[0]["templates"]
        self.assertEqual([(x["id"], x["options"], len(x["fields"])) for x in tpl],
                         [(256, True, 6), (1024, False, 18), (1025, False, 16), (2048, False, 18), (2049, False, 16)])
        self.assertEqual(tpl[1]["record_length"], 46)
        self.assertEqual(tpl[1]["fields"][0], [8, 4])  # sourceIPv4Address, 4 bytes
        self.assertEqual(self.d.json("templates", "127.0.0.1"), t)
        self.assertEqual(self.d.json("templates", "192.0.2.1"), [])
        txt = self.d.ctl("templates").stdout
        self.assertRegex(txt, r"\n127\.0\.0\.1\s+IPFIX\s+0\s+1/1\s+1024\s+data\s+18\s+46\n")
        self.assertRegex(txt, r"\n127\.0\.0\.1\s+IPFIX\s+0\s+1/1\s+256\s+options\s+6\s+38\n")
        # Pipelined behind a deferred reply: answers stay in order.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.d.sock)
        s.sendall(b'{"v":1,"cmd":"templates"}\n{"v":1,"cmd":"log-level"}\n')
        buf = b""
        while buf.count(b"\n") < 2:
            buf += s.recv(65536)
        s.close()
        a, b = [json.loads(x) for x in buf.splitlines()]
        self.assertEqual(a["result"], t)
        self.assertEqual(b["result"], {"level": self.d.json("log-level")["level"]})

    def test_outputs(self):
        o = self.d.json("outputs")
        self.assertEqual(o[0]["output"], "json")
        self.assertEqual(o[0]["path"], self.out)
        self.assertEqual(o[0]["counters"]["written"], self.records)
        self.assertEqual(o[0]["counters"]["failed"], 0)
        self.assertRegex(self.d.ctl("outputs").stdout, r"\njson\s+file\s+%s\s+-\s+1/1\s+%d\s+%d\s+0\n" %
                         (re.escape(self.out), self.records, self.records))

    def test_log_level(self):
        self.assertEqual(self.d.json("log-level")["level"], "info")
        self.assertEqual(self.d.json("log-level", "debug")["level"], "debug")
        self.assertEqual(self.d.ctl("log-level", "info").stdout, "log level: info\n")
        p = self.d.ctl("log-level", "loud", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("bad_args", p.stderr)

    def test_flush(self):
        os.path.exists(self.d.stats) and os.remove(self.d.stats)
        self.assertEqual(self.d.json("flush")["stats_json"], self.d.stats)
        with open(self.d.stats) as f:
            st = json.load(f)
        self.assertEqual(st["totals"]["records"], self.records)

    def test_hooks_not_configured(self):
        for args in (["reload"], ["reload", "tables"], ["lookup", "10.0.0.1"], ["top", "--by", "src"]):
            p = self.d.ctl(*args, check=False)
            self.assertEqual(p.returncode, 1, args)
            self.assertIn("not configured: ", p.stderr)
            self.assertIn("(not_configured)", p.stderr)

    def test_hooks_wired(self):
        """With --config and an aggregating output, reload and top answer for real."""
        tmp = tempfile.mkdtemp(prefix="sluicectl-hooks-")
        try:
            cfg = os.path.join(tmp, "s.toml")
            with open(cfg, "w") as f:
                f.write('[log]\nlevel = "info"\n')
            agg = os.path.join(tmp, "agg.json")
            d = Daemon(tmp, os.path.join(FIXTURES, FIXTURE), "--port-map", "24739=ipfix", "--config", cfg, "--output",
                       "name=agg,path=%s,aggregate=proto+dst_port,window=1,lateness=0,max_age=60" % agg,
                       "--enrich-prefix", "10.0.0.0/8=name:lab,site:ams", name="h")
            try:
                deadline = time.time() + 30
                top = {"found": False}
                while not top["found"] and time.time() < deadline:
                    top = d.json("top", "--limit", "100")
                    time.sleep(0.2)
                self.assertTrue(top["found"], top)
                self.assertEqual(top["output"], "agg")
                self.assertEqual(top["by"], ["proto", "dst_port"])
                self.assertEqual(top["window_seconds"], 1)
                # The newest closed window's rows: the fixture's TCP, UDP and ICMP flows (its IPFIX options
                # records are not flow records).
                rows = top["rows"]
                self.assertGreater(len(rows), 0)
                self.assertTrue(all(r["proto"] in (1, 6, 17) for r in rows), rows)
                self.assertEqual(top["other"]["keys"], 0)
                by = d.json("top", "--by", "proto")
                self.assertEqual(sum(r["records"] for r in by["rows"]) + by["other"]["records"],
                                 sum(r["records"] for r in rows) + top["other"]["records"])
                p = d.ctl("top", "--window", "5m", check=False)
                self.assertEqual(p.returncode, 1)
                self.assertIn("no aggregating output has a 300 s window", p.stderr)
                p = d.ctl("top", "--by", "src_as", check=False)
                self.assertEqual(p.returncode, 1)
                self.assertIn("the output does not aggregate by 'src_as'", p.stderr)
                r = d.json("reload")
                self.assertEqual((r["what"], r["ok"], r["restart"], r["errors"]), ("config", True, [], []))
                with open(cfg, "w") as f:
                    f.write('[log]\nlevl = "info"\n')
                p = d.ctl("reload", check=False)
                self.assertEqual(p.returncode, 1)
                self.assertIn("did you mean log.level?", p.stderr)
                p = d.ctl("reload", "rules", check=False)
                self.assertIn("(not_configured)", p.stderr)
                lk = d.json("lookup", "10.1.2.3")
                self.assertEqual(lk["address"], {"name": "lab", "site": "ams"})
                self.assertEqual(d.json("lookup", "192.0.2.1")["address"], {})
                self.assertEqual(d.json("reload", "tables"), {"what": "tables", "ok": True, "requested": True})
            finally:
                self.assertEqual(d.stop(), 0)
            # Over every window the aggregator wrote: the fixture's 15 flow records, exactly.
            with open(agg) as f:
                written = [json.loads(ln) for ln in f]
            self.assertEqual(sum(r["records"] for r in written), 15)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_daemon_flags(self):
        for flags, msg in ((["--metrics-listen", "host:80"], "--metrics-listen: \"host\" is not an IPv4 or IPv6 address"),
                           (["--metrics-listen", "99999"], "--metrics-listen: bad port"),
                           (["--control-socket", ""], "--control-socket: a path")):
            p = subprocess.run([SLUICED, "--pcap", os.path.join(FIXTURES, FIXTURE), *flags], capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(p.returncode, 2, flags)
            self.assertIn(msg, p.stderr)
        # An explicit socket path that cannot be created is a start-up error.
        p = subprocess.run([SLUICED, "--pcap", os.path.join(FIXTURES, FIXTURE), "--control-socket", self.d.sock,
                            "--eal", "--no-huge -m 512 --no-pci --file-prefix sluicectl-dup-%d" % os.getpid()],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("another daemon is listening on it", p.stderr)
        p = subprocess.run([SLUICED, "--pcap", os.path.join(FIXTURES, FIXTURE), "--control-group", "sluicectl_nosuch",
                            "--eal", "--no-huge -m 512 --no-pci --file-prefix sluicectl-grp-%d" % os.getpid()],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("--control-group sluicectl_nosuch: no such group", p.stderr)

    def test_usage_errors(self):
        p = self.d.ctl("lookup", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("lookup needs ip", p.stderr)
        p = self.d.ctl("frobnicate", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn('no command "frobnicate"', p.stderr)

    def test_help_man_completion(self):
        h = subprocess.run([SLUICECTL, "--help"], capture_output=True, text=True).stdout
        for c in ("status", "stats", "exporters", "templates [EXPORTER]", "outputs", "log-level [LEVEL]", "flush",
                  "shutdown", "reload [WHAT]", "lookup IP", "top [--by by] [--window window] [--limit limit]", "metrics"):
            self.assertIn(c, h)
        h = subprocess.run([SLUICECTL, "stats", "--help"], capture_output=True, text=True).stdout
        self.assertIn("usage: sluicectl stats [--watch", h)
        man = subprocess.run([SLUICECTL, "--man"], capture_output=True, text=True).stdout
        self.assertIn(".TH SLUICECTL 1", man)
        m = subprocess.run(["man", "-l", "-Tutf8", "-"], input=man, capture_output=True, text=True)
        if m.returncode == 0:
            self.assertIn("control a running sluiced", m.stdout)
        comp = subprocess.run([SLUICECTL, "--completion", "bash"], capture_output=True, text=True).stdout
        r = subprocess.run(["bash", "-c", comp + '\nCOMP_WORDS=(sluicectl log-level de); COMP_CWORD=2; _sluicectl; '
                            'echo "${COMPREPLY[@]}"; COMP_WORDS=(sluicectl sta); COMP_CWORD=1; _sluicectl; '
                            'echo "${COMPREPLY[@]}"'], capture_output=True, text=True)
        self.assertEqual(r.stdout.splitlines(), ["debug", "status stats"])

    def test_connection_errors(self):
        p = self.d.ctl("status", sock=os.path.join(self.tmp, "nothing.sock"), check=False)
        self.assertEqual(p.returncode, 3)
        self.assertIn("no such socket", p.stderr)
        stale = os.path.join(self.tmp, "stale.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(stale)
        s.close()  # bound, never listened: connect is refused, as after a crash
        p = self.d.ctl("status", sock=stale, check=False)
        self.assertEqual(p.returncode, 3)
        self.assertIn("daemon not running", p.stderr)
        # A server of another protocol version.
        other = os.path.join(self.tmp, "v2.sock")
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(other)
        ls.listen(1)

        def serve():
            c, _ = ls.accept()
            c.recv(4096)
            c.sendall(b'{"v":2,"ok":true,"result":{}}\n')
            c.close()
        t = threading.Thread(target=serve)
        t.start()
        p = self.d.ctl("status", sock=other, check=False)
        t.join()
        ls.close()
        self.assertEqual(p.returncode, 4)
        self.assertIn("protocol version mismatch: the daemon speaks v2, sluicectl speaks v1", p.stderr)

    def test_protocol_errors(self):
        before = self.d.json("stats")  # noqa: F841 (the daemon answers before and after)
        cases = [
            (b"not json\n", "parse_error"),
            (b"[1,2]\n", "parse_error"),
            (b'{"v":2,"cmd":"stats"}\n', "unsupported_version"),
            (b'{"cmd":"stats"}\n', "unsupported_version"),
            (b'{"v":1}\n', "bad_request"),
            (b'{"v":1,"cmd":"nope"}\n', "unknown_command"),
            (b'{"v":1,"cmd":"stats","args":{"x":1}}\n', "bad_args"),
            (b'{"v":1,"cmd":"stats","args":[1]}\n', "bad_request"),
            (b'{"v":1,"cmd":"lookup"}\n', "bad_args"),
            (b'{"v":1,"cmd":"log-level","args":{"level":{"a":1}}}\n', "bad_args"),
        ]
        for req, code in cases:
            r = json.loads(raw(self.d.sock, req))
            self.assertEqual((r["v"], r["ok"], r["error"]["code"]), (1, False, code), req)
        r = json.loads(raw(self.d.sock, b'{"v":1,"cmd":"status"}\n'))
        self.assertTrue(r["ok"])
        # Two requests on one connection (CRLF and a blank line tolerated), one reply line each, in order.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.d.sock)
        s.sendall(b'{"v":1,"cmd":"log-level"}\r\n\n{"v":1,"cmd":"nope"}\n')
        buf = b""
        while buf.count(b"\n") < 2:
            buf += s.recv(4096)
        s.close()
        a, b = [json.loads(x) for x in buf.splitlines()]
        self.assertTrue(a["ok"])
        self.assertEqual(b["error"]["code"], "unknown_command")

    def test_oversized_and_slow(self):
        m0 = self.d.json("stats")
        c0 = self.socket_counters()
        r = raw(self.d.sock, b'{"v":1,"cmd":"status","args":{"x":"' + b"a" * 70000 + b'"}}\n')
        self.assertEqual(json.loads(r.splitlines()[0])["error"]["code"], "too_large")
        # Without a newline at all: the same, once the buffer passes the limit.
        r = raw(self.d.sock, b"{" * 70000)
        self.assertEqual(json.loads(r.splitlines()[0])["error"]["code"], "too_large")
        # A slow-loris client: half a request, then silence past the 5 s read timeout.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(15)
        s.connect(self.d.sock)
        s.sendall(b'{"v":1,"cm')
        t0 = time.time()
        served_meanwhile = self.d.json("status")  # another client is served while it stalls
        self.assertEqual(served_meanwhile["pid"], self.d.p.pid)
        self.assertEqual(s.recv(100), b"")  # closed by the daemon
        self.assertGreaterEqual(time.time() - t0, 4.0)
        s.close()
        c1 = self.socket_counters()
        self.assertEqual(c1["oversized"] - c0["oversized"], 2)
        self.assertEqual(c1["timeouts"] - c0["timeouts"], 1)
        self.assertEqual(self.d.json("stats")["workers"][0]["records"], m0["workers"][0]["records"])

    def socket_counters(self):
        text = self.d.ctl("metrics").stdout
        return {m.group(1): int(m.group(2)) for m in
                re.finditer(r"^sluice_control_socket_(\w+)_total (\d+)$", text, re.M)}

    def test_metrics_promtool(self):
        text = self.d.ctl("metrics").stdout
        p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("# TYPE sluice_dataplane_worker_records_total counter", text)
        self.assertRegex(text, r'\nsluice_dataplane_worker_records_total\{worker="0",core="1",port="0",queue="0"\} %d\n'
                         % self.records)
        self.assertRegex(text, r'\nsluice_dataplane_decode_datagrams_total\{exporter="127.0.0.1"\} 6\n')
        self.assertRegex(text, r'\nsluice_sinks_output_written_total\{sink="0",output="json"\} %d\n' % self.records)
        self.assertIn('sluice_port_info{port="0",name="net_pcap0",driver="net_pcap",queues="1"} 1', text)
        self.assertIn('\nsluice_dataplane_ring_depth{worker="0",sink="0"} 0\n', text)
        self.assertRegex(text, r'\nsluice_dataplane_ring_high_water\{worker="0",sink="0"\} \d+\n')
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.d.metrics_port, timeout=10) as r:
            self.assertEqual(r.status, 200)
            self.assertTrue(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
            body = r.read().decode()
        self.assertRegex(body, r"\nsluice_dataplane_worker_records_total\{[^}]*\} %d\n" % self.records)
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/other" % self.d.metrics_port, timeout=10)
            self.fail("404 expected")
        except urllib.error.HTTPError as e:
            self.assertEqual(e.code, 404)

    def test_prometheus_scrape(self):
        prom = shutil.which("prometheus")
        if prom is None:
            self.skipTest("prometheus not installed")
        d = tempfile.mkdtemp(dir=self.tmp)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            web = s.getsockname()[1]
        cfg = os.path.join(d, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
                    "  - job_name: sluice\n    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % self.d.metrics_port)
        p = subprocess.Popen([prom, "--config.file", cfg, "--storage.tsdb.path", os.path.join(d, "data"),
                              "--web.listen-address", "127.0.0.1:%d" % web], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            def query(q):
                u = "http://127.0.0.1:%d/api/v1/query?query=%s" % (web, urllib.parse.quote(q))
                with urllib.request.urlopen(u, timeout=5) as r:
                    return json.loads(r.read())["data"]["result"]
            deadline = time.time() + 30
            res = []
            while time.time() < deadline and not res:
                try:
                    res = query("sluice_dataplane_worker_records_total")
                except OSError:
                    pass
                time.sleep(0.5)
            self.assertEqual(len(res), 1, res)
            self.assertEqual(int(res[0]["value"][1]), self.records)
            self.assertEqual(res[0]["metric"]["core"], "1")
            time.sleep(SCRAPE_SECONDS)
            up = query("count_over_time(up{job=\"sluice\"}[5m])")
            ok = query("min_over_time(up{job=\"sluice\"}[5m])")
            self.assertGreaterEqual(int(up[0]["value"][1]), max(2, SCRAPE_SECONDS - 2))
            self.assertEqual(ok[0]["value"][1], "1")  # every scrape succeeded
            series = query("count({__name__=~\"sluice_.*\"})")
            self.assertGreater(int(series[0]["value"][1]), 100)
        finally:
            p.terminate()
            p.wait(timeout=30)

    def test_dpdk_telemetry(self):
        if not os.path.exists(TELEMETRY):
            self.skipTest("dpdk-telemetry.py not installed")
        time.sleep(1.1)  # the telemetry copy is refreshed every second
        p = subprocess.run(["python3", TELEMETRY, "-f", self.d.prefix], input="/sluice/groups\n"
                           "/sluice/counters,dataplane_worker\n", capture_output=True, text=True, timeout=30)
        replies = [json.loads(m) for m in re.findall(r"^\{.*\}$", p.stdout.replace("}{", "}\n{"), re.M)]
        groups = [r["/sluice/groups"] for r in replies if "/sluice/groups" in r][0]
        self.assertIn("dataplane_worker", groups)
        self.assertIn("control_socket", groups)
        w = [r["/sluice/counters"] for r in replies if "/sluice/counters" in r][0]
        self.assertEqual((w["rx_packets"], w["datagrams"], w["records"]), (6, 6, self.records))


class TemplatesWithSaver(unittest.TestCase):
    """`templates` rounds interleaved with the periodic template save (every 50 ms): every reply right, saves go on."""

    def test_rounds_and_saves_interleave(self):
        tmp = tempfile.mkdtemp(prefix="sluicectl-tpl-")
        try:
            state = os.path.join(tmp, "templates.state")
            d = Daemon(tmp, os.path.join(FIXTURES, FIXTURE), "--port-map", "24739=ipfix", "--sink-discard",
                       "--template-state", state, "--template-state-interval", "0.05", name="tpl")
            self.addCleanup(lambda: d.p.poll() is None and d.p.kill())
            d.wait_for(lambda s: s["workers"][0]["records"] == 15, "the fixture decoded")
            first = d.json("templates")
            self.assertEqual(len(first[0]["domains"][0]["templates"]), 5)
            for _ in range(40):
                self.assertEqual(d.json("templates"), first)
            self.assertTrue(os.path.exists(state))
            self.assertEqual(d.stop(), 0)
            self.assertNotIn("did not answer", d.log())
            # The saved file holds the same templates: a restart lists them before any datagram.
            d2 = Daemon(tmp, os.path.join(FIXTURES, "softflowd-v5-ipv4.pcap"), "--sink-discard",
                        "--template-state", state, "--template-state-interval", "0", name="tpl2")
            self.addCleanup(lambda: d2.p.poll() is None and d2.p.kill())
            self.assertEqual([t["id"] for t in d2.json("templates")[0]["domains"][0]["templates"]],
                             [t["id"] for t in first[0]["domains"][0]["templates"]])
            self.assertEqual(d2.stop(), 0)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class Permissions(unittest.TestCase):
    """SO_PEERCRED: a user outside the group, a member of --control-group, a member of --control-admin-group."""

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root (useradd, setpriv)")
        cls.tmp = tempfile.mkdtemp(prefix="sluicectl-perm-")
        os.chmod(cls.tmp, 0o755)
        cls.users = {"out": PREFIX + "out", "ro": PREFIX + "ro", "adm": PREFIX + "adm"}
        cls.groups = {"ro": PREFIX + "readers", "adm": PREFIX + "admins"}
        cls.cleanup()
        for gname in cls.groups.values():
            subprocess.run(["groupadd", gname], check=True)
        subprocess.run(["useradd", "-M", "-N", "-g", "nogroup", cls.users["out"]], check=True)
        subprocess.run(["useradd", "-M", "-N", "-g", "nogroup", "-G", cls.groups["ro"], cls.users["ro"]], check=True)
        # The socket file carries one group (--control-group): an admin connects through it too.
        subprocess.run(["useradd", "-M", "-N", "-g", "nogroup", "-G", cls.groups["ro"] + "," + cls.groups["adm"],
                        cls.users["adm"]], check=True)
        cls.d = Daemon(cls.tmp, os.path.join(FIXTURES, FIXTURE), "--port-map", "24739=ipfix", "--sink-discard",
                       "--control-group", cls.groups["ro"], "--control-admin-group", cls.groups["adm"], name="perm")

    @classmethod
    def cleanup(cls):
        for u in cls.users.values():
            subprocess.run(["userdel", u], capture_output=True)
        for gname in cls.groups.values():
            subprocess.run(["groupdel", gname], capture_output=True)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.d.stop()
        finally:
            if cls.d.p.poll() is None:
                cls.d.p.kill()
            cls.cleanup()
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_socket_mode_and_group(self):
        st = os.stat(self.d.sock)
        self.assertEqual(st.st_mode & 0o777, 0o660)
        import grp
        self.assertEqual(grp.getgrgid(st.st_gid).gr_name, self.groups["ro"])

    def test_outside_the_group(self):
        p = self.d.ctl("status", user=self.users["out"], check=False)
        self.assertEqual(p.returncode, 3)
        self.assertIn("permission denied on " + self.d.sock, p.stderr)

    def test_reader(self):
        s = json.loads(self.d.ctl("--json", "status", user=self.users["ro"]).stdout)
        self.assertEqual(s["pid"], self.d.p.pid)
        self.d.ctl("stats", user=self.users["ro"])
        self.d.ctl("log-level", user=self.users["ro"])
        before = self.denied()
        for args in (["log-level", "debug"], ["flush"], ["shutdown"], ["reload"]):
            p = self.d.ctl(*args, user=self.users["ro"], check=False)
            self.assertEqual(p.returncode, 1, args)
            self.assertIn("needs root or the admin group (denied)", p.stderr)
        self.assertEqual(self.denied() - before, 4)
        self.assertIsNone(self.d.p.poll())  # still running
        self.assertIn('control: denied "log-level" to uid %d' % int(subprocess.check_output(
            ["id", "-u", self.users["ro"]])), self.d.log())

    def test_admin(self):
        self.assertEqual(json.loads(self.d.ctl("--json", "log-level", "notice", user=self.users["adm"]).stdout)["level"],
                         "notice")
        self.d.ctl("flush", user=self.users["adm"])
        self.d.ctl("log-level", "info", user=self.users["adm"])

    def denied(self):
        m = re.search(r"^sluice_control_socket_denied_total (\d+)$", self.d.ctl("metrics").stdout, re.M)
        return int(m.group(1))


class Load(unittest.TestCase):
    """100 concurrent clients, malformed and oversized requests while the daemon decodes a replay: records exact."""

    def test_concurrent_clients_while_decoding(self):
        tmp = tempfile.mkdtemp(prefix="sluicectl-load-")
        try:
            pcap = os.path.join(tmp, "v5.pcap")
            datagrams, per = 20000, 30
            frames = [g.ipv4_udp_frame("10.9.7.1", "10.9.0.254", 40000, 2055, g.netflow_v5(per, i * per), ident=i)
                      for i in range(datagrams)]
            g.write_pcap(pcap, frames)
            # A slowed sink (1 ms after each burst of at most 256 records) with
            # lossless rings paces the replay over a few seconds, so the
            # clients run while the worker decodes.
            d = Daemon(tmp, pcap, "--json-out", "/dev/null", "--ring-full", "wait", "--sink-delay-us", "1000", name="load")
            self.addCleanup(lambda: d.p.poll() is None and d.p.kill())  # a failed assertion leaves no daemon behind
            errors = []

            def client(i):
                try:
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.settimeout(20)
                    s.connect(d.sock)
                    reqs = [b'{"v":1,"cmd":"stats"}\n', b"garbage\n", b'{"v":1,"cmd":"exporters"}\n']
                    if i % 10 == 0:
                        reqs.append(b'{"v":1,"cmd":"x","args":{"a":"' + b"b" * 70000 + b'"}}\n')
                    s.sendall(b"".join(reqs))
                    buf = b""
                    while buf.count(b"\n") < len(reqs):
                        b = s.recv(1 << 20)
                        if not b:
                            break
                        buf += b
                    s.close()
                    r = [json.loads(x) for x in buf.splitlines()]
                    assert r[0]["ok"] and not r[1]["ok"] and r[2]["ok"], buf[:300]
                    if i % 10 == 0:
                        assert r[3]["error"]["code"] == "too_large"
                except Exception as e:  # noqa: BLE001 (collected and asserted below)
                    errors.append("client %d: %r" % (i, e))

            seen_running = d.json("stats")["workers"][0]["packets"] < datagrams
            for _ in range(3):
                threads = [threading.Thread(target=client, args=(i,)) for i in range(100)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                s = d.json("stats")
                seen_running |= s["workers"][0]["packets"] < datagrams
            self.assertEqual(errors, [])
            # Received packets are counted before their burst is decoded, and the last burst waits on the slowed
            # sink's ring: wait for the records too (a loss would leave them short and time out).
            s = d.wait_for(lambda s: s["workers"][0]["packets"] == datagrams and
                           s["workers"][0]["records_enqueued"] >= datagrams * per, "the replay to finish", timeout=120)
            w = s["workers"][0]
            self.assertEqual((w["datagrams"], w["records"], w["records_enqueued"], w["drops"]),
                             (datagrams, datagrams * per, datagrams * per, {}))
            self.assertEqual(s["ports"][0]["missed"], 0)
            self.assertEqual(s["rings"][0]["high_water"], 4095)  # the slowed sink let the ring fill (lossless wait)
            m = d.ctl("metrics").stdout
            c = {k: int(v) for k, v in re.findall(r"^sluice_control_socket_(\w+)_total (\d+)$", m, re.M)}
            self.assertEqual(c["malformed"], 300)
            self.assertEqual(c["oversized"], 30)
            self.assertEqual(c["rejected_full"], 0)
            self.assertEqual(c["io_errors"], 0)
            self.assertEqual(d.stop(), 0)
            self.assertTrue(seen_running, "the replay finished before the clients did: nothing was tested under load")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    SLUICED, SLUICECTL, SLUICE_DECODE, FIXTURES = sys.argv[1:5]
    rest = sys.argv[5:]
    if len(rest) >= 2 and rest[0] == "--scrape-seconds":
        SCRAPE_SECONDS = int(rest[1])
        rest = rest[2:]
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
