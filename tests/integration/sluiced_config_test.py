#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""sluiced's TOML configuration end to end (docs/config.md):
  - --check-config: the examples pass (exit 0, the one-line summary); every broken config under
    tests/control/configs/ fails (exit 2) with exactly its .expected messages; a missing file;
  - --config on a bundled capture: the records equal sluice-decode's; flags override the file;
  - SIGHUP while replaying: a broken file changes nothing, a restart-only key is reported and not applied,
    and an output's filter and sample rate, an exporter's sampling override and the log level change live,
    with no record lost (each output's lines against its counters in the stats JSON).

usage: sluiced_config_test.py SLUICED SLUICE_DECODE FIXTURES_DIR SOURCE_ROOT [unittest args]"""

import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapgen as g  # noqa: E402
import sluiced_pcap_test as t  # noqa: E402

SLUICED = SLUICE_DECODE = FIXTURES = ROOT = ""


def read_lines(path):
    lines = []
    for f in sorted(glob.glob(path + "*"), key=lambda s: (len(s), s)):
        with open(f) as fh:
            lines += fh.read().splitlines()
    return lines


def write(path, text):
    # Write then rename: a reload never reads half a file.
    with open(path + ".tmp", "w") as fh:
        fh.write(text)
    os.rename(path + ".tmp", path)


class CheckConfig(unittest.TestCase):
    def test_examples_pass(self):
        want = {
            "minimal.toml": "OK: 0 pcap, 1 port(s) x 1 queue(s), 1 sink core(s), 1 output(s) (all), 0 exporter(s) "
                            "(0 sampling override(s)), log level default",
            "production.toml": "OK: 0 pcap, 2 port(s) x 2 queue(s), 2 sink core(s), 6 output(s) (all, tcp, sampled, kafka, hive, bps5m), "
                               "3 exporter(s) (2 sampling override(s)), log level info",
        }
        for name, summary in want.items():
            path = os.path.join(ROOT, "examples", name)
            p = subprocess.run([SLUICED, "--check-config", path], capture_output=True, text=True, timeout=30)
            self.assertEqual((p.returncode, p.stdout, p.stderr), (0, path + ": " + summary + "\n", ""), name)

    def test_broken_configs_fail_with_their_messages(self):
        d = os.path.join(ROOT, "tests", "control", "configs")
        files = sorted(f for f in os.listdir(d) if f.endswith(".toml"))
        self.assertGreaterEqual(len(files), 14)
        for f in files:
            with self.subTest(config=f):
                with open(os.path.join(d, f[:-5] + ".expected")) as fh:
                    want = [x for x in fh.read().splitlines() if x]
                p = subprocess.run([SLUICED, "--check-config", f], cwd=d, capture_output=True, text=True, timeout=30)
                self.assertEqual(p.returncode, 2)
                self.assertEqual(p.stdout, "")
                got = p.stderr.splitlines()
                # Load errors end with a count; start-up checks (finish) are one line.
                if len(got) > 1 or got[-1].endswith("(keys: docs/config.md)"):
                    self.assertEqual(got[-1], "sluiced: %s: %d error(s) (keys: docs/config.md)" % (f, len(want)))
                    got = got[:-1]
                self.assertEqual(got, ["sluiced: " + x for x in want])

    def test_missing_file_and_bad_flags(self):
        p = subprocess.run([SLUICED, "--check-config", "/nonexistent/sluiced.toml"], capture_output=True, text=True)
        self.assertEqual((p.returncode, p.stderr),
                         (2, "sluiced: /nonexistent/sluiced.toml: cannot read: No such file or directory\n"
                             "sluiced: /nonexistent/sluiced.toml: 1 error(s) (keys: docs/config.md)\n"))
        # A flag's error stays the flag's, with a file too.
        p = subprocess.run([SLUICED, "--check-config", os.path.join(ROOT, "examples", "minimal.toml"), "--queues", "0"],
                           capture_output=True, text=True)
        self.assertEqual((p.returncode, p.stderr), (2, "sluiced: --queues: '0' out of range 1..64\n"))
        # Flags are checked with the file: --check-config sees the command line's override.
        prod = os.path.join(ROOT, "examples", "production.toml")
        p = subprocess.run([SLUICED, "--check-config", prod, "--sink-cores", "1", "--output",
                            "name=x,path=/tmp/sluiced-config-x.json"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("1 sink core(s), 1 output(s) (x)", p.stdout)
        # ... and the checks across keys too: one more sink core than the file's lcore map holds.
        p = subprocess.run([SLUICED, "--check-config", prod, "--sink-cores", "3"], capture_output=True, text=True)
        self.assertEqual((p.returncode, p.stderr), (2,
            "sluiced: %s:10: eal.args = \"-m 2048 --file-prefix sluiced --lcores 0@0,1@2,2@3,3@4,4@5,5@6,6@7\": "
            "its lcore list has 7 lcore(s), the config needs 8 (1 control + 4 worker(s): one per queue of each "
            "port + 3 sink core(s))\nsluiced: %s: 1 error(s) (keys: docs/config.md)\n" % (prod, prod)))


    def test_aggregation_custom_keys(self):
        # A custom key as an aggregation dimension is checked without starting: undeclared, it fails exactly as
        # start-up does (exit 2 here: a configuration error); declared with --enrich-key, it passes.
        minimal = os.path.join(ROOT, "examples", "minimal.toml")
        agg = ["--output", "name=agg,path=/tmp/sluiced-config-agg.json,aggregate=src_net_rack+exporter_name"]
        p = subprocess.run([SLUICED, "--check-config", minimal, *agg], capture_output=True, text=True, timeout=30)
        self.assertEqual((p.returncode, p.stdout), (2, ""))
        self.assertTrue(p.stderr.startswith(
            "sluiced: --output agg: aggregate: dimension 'src_net_rack': no custom key 'rack' is declared "
            "(declared: none; --enrich-key NAME, with enrichment on); the dimensions are "), p.stderr)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        # Declared, but enrichment off (no source): still none declared.
        p = subprocess.run([SLUICED, "--check-config", minimal, *agg, "--enrich-key", "rack"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("no custom key 'rack' is declared (declared: none;", p.stderr)
        # Another key declared: the message lists it.
        on = ["--enrich-prefix", "10.0.0.0/8=site:a"]
        p = subprocess.run([SLUICED, "--check-config", minimal, *agg, *on, "--enrich-key", "row"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("no custom key 'rack' is declared (declared: row;", p.stderr)
        p = subprocess.run([SLUICED, "--check-config", minimal, *agg, *on, "--enrich-key", "row", "--enrich-key", "rack"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        self.assertIn("1 output(s) (agg)", p.stdout)


class RunWithConfig(unittest.TestCase):
    def test_bundled_capture(self):
        pcap = os.path.join(FIXTURES, "softflowd-v5-ipv4.pcap")
        with tempfile.TemporaryDirectory() as tmp:
            cfg = os.path.join(tmp, "sluiced.toml")
            write(cfg, """
[input]
pcap = ["%s"]

[collector.udp_ports]
20555 = "v5"

[[output]]
name = "all"
path = "%s/all.json"

[[output]]
name = "tcp"
path = "%s/tcp.json"
filter = "proto==tcp"

[stats]
json = "%s/stats.json"
""" % (pcap, tmp, tmp, tmp))
            p = subprocess.run([SLUICED, "--config", cfg], capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr[-2000:])
            ref = t.offline(pcap, extra=["--port-map", "20555=v5"])
            self.assertGreater(len(ref), 0)
            self.assertEqual(read_lines(os.path.join(tmp, "all.json")), ref)
            tcp = [x for x in ref if json.loads(x)["proto"] == 6]
            self.assertTrue(0 < len(tcp) < len(ref))
            self.assertEqual(read_lines(os.path.join(tmp, "tcp.json")), tcp)
            with open(os.path.join(tmp, "stats.json")) as fh:
                st = json.load(fh)
            self.assertEqual(st["sinks"][0]["outputs"]["tcp"]["encoded"], len(tcp))

            # Flags override the file: --output replaces the file's outputs, --stats-json its path.
            only = os.path.join(tmp, "only.json")
            for f in glob.glob(os.path.join(tmp, "*.json")):
                os.remove(f)
            p = subprocess.run([SLUICED, "--config", cfg, "--output", "name=only,path=" + only,
                                "--stats-json", os.path.join(tmp, "flag-stats.json")],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr[-2000:])
            self.assertEqual(read_lines(only), ref)
            self.assertFalse(os.path.exists(os.path.join(tmp, "all.json")))
            self.assertFalse(os.path.exists(os.path.join(tmp, "stats.json")))
            with open(os.path.join(tmp, "flag-stats.json")) as fh:
                self.assertEqual(list(json.load(fh)["sinks"][0]["outputs"]), ["only"])

            # A bad file stops sluiced before EAL starts: exit 2, the key and line named.
            write(cfg, "[input]\npcap = [\"%s\"]\n[sink]\ncores = 0\n" % pcap)
            p = subprocess.run([SLUICED, "--config", cfg], capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 2)
            self.assertEqual(p.stderr, "sluiced: %s:4: sink.cores = 0: '0' out of range 1..16\n"
                                       "sluiced: %s: 1 error(s) (keys: docs/config.md)\n" % (cfg, cfg))


CONFIG = """
[input]
pcap = ["{pcap}"]

[sink]
cores = {cores}
ring_size = 1024
delay_us = 40000         # a slow sink: the replay lasts a few seconds (the workers wait for ring room)

[[exporter]]
address = "10.9.21.1"
{override}

[[output]]
name = "all"
path = "{tmp}/all.json"

[[output]]
name = "s"
path = "{tmp}/s.json"
{s_extra}

[stats]
json = "{tmp}/stats.json"
json_interval = 0.1
interval = {interval}

{log}
"""


class Reload(unittest.TestCase):
    def capture(self, tmp, datagrams=1000):
        p = os.path.join(tmp, "mixed.pcap")
        frames = []
        for i in range(datagrams):
            exp = "10.9.20.1" if i % 2 == 0 else "10.9.21.1"
            frames.append(g.ipv4_udp_frame(exp, "10.9.0.254", 40000, 2055, t.v5_mixed(30, (i // 2) * 30, i),
                                           ident=i % 65535 + 1))
        g.write_pcap(p, frames)
        return p, datagrams * 30

    def live_stats(self, tmp):
        try:
            with open(os.path.join(tmp, "stats.json")) as fh:
                return json.load(fh)
        except (OSError, ValueError):
            return None

    def wait_for(self, proc, errpath, text, start=0, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(errpath) as fh:
                err = fh.read()
            k = err.find(text, start)
            if k >= 0:
                return k + len(text)
            self.assertIsNone(proc.poll(), "sluiced exited before (reload lines: %s)" % [x for x in err.splitlines() if "reload" in x] + " '%s':\n%s" % (text, err[-3000:]))
            time.sleep(0.05)
        self.fail("no '%s' in:\n%s" % (text, err[-3000:]))

    def test_sighup_while_replaying(self):
        with tempfile.TemporaryDirectory() as tmp:
            pcap, total = self.capture(tmp)
            cfg = os.path.join(tmp, "sluiced.toml")
            fmt = dict(pcap=pcap, tmp=tmp, cores=1, override="", s_extra="", log="", interval=0.2)
            write(cfg, CONFIG.format(**fmt))
            errpath = os.path.join(tmp, "stderr")
            with open(errpath, "w") as err:
                proc = subprocess.Popen([SLUICED, "--config", cfg, "--stats-interval", "0.2"], stdout=subprocess.DEVNULL, stderr=err)
            try:
                # Started (the control loop writes the live stats) and some records through.
                deadline = time.time() + 30
                while True:
                    st = self.live_stats(tmp)
                    if st and st["sinks"][0]["records"] >= 1000:
                        break
                    self.assertLess(time.time(), deadline, "no progress")
                    self.assertIsNone(proc.poll())
                    time.sleep(0.05)

                # 1. A file that does not validate changes nothing.
                write(cfg, CONFIG.format(**dict(fmt, s_extra="sample = 0")))
                proc.send_signal(signal.SIGHUP)
                at = self.wait_for(proc, errpath, "reload failed, nothing changed: %s:21: output[1].sample = 0: "
                                   "bad value '0' (N >= 1: keep 1 record in N)\n" % cfg)

                # 2. A restart-only key: reported, not applied; a key the command line sets: the flag wins.
                fmt.update(cores=2, interval=0.3)
                write(cfg, CONFIG.format(**fmt))
                proc.send_signal(signal.SIGHUP)
                ignored = ", 1 set on the command line (stats.interval: 0.2 -> 0.3)\n"
                at = self.wait_for(proc, errpath, "reload: 0 applied live, 1 need a restart (sink.cores: 1 -> 2)" +
                                   ignored, at)

                # 3. Live keys: the output's filter and rate, an exporter override, the log level
                # (after a summary line, INFO, which the new level then silences).
                self.wait_for(proc, errpath, "USER1: stats:")
                write(cfg, CONFIG.format(**dict(fmt, override="sampling_override = 50",
                                                s_extra='filter = "proto==tcp"\nsample = 4',
                                                log='[log]\nlevel = "notice"')))
                st = self.live_stats(tmp)
                before = st["sinks"][0]["records"]
                proc.send_signal(signal.SIGHUP)
                at = self.wait_for(proc, errpath,
                                   "reload: 4 applied live (exporter.10.9.21.1.sampling_override: (unset) -> 50; "
                                   "log.level: (unset) -> notice; output.s.filter: (unset) -> proto==tcp; "
                                   "output.s.sample: (unset) -> 4), 1 need a restart (sink.cores: 1 -> 2)" + ignored,
                                   at)
                self.assertLess(before, total, "the replay ended before the reload: the test proves nothing")
                rc = proc.wait(timeout=120)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            with open(errpath) as fh:
                err = fh.read()
            self.assertEqual(rc, 0, err[-3000:])
            # After log.level = notice: no INFO line (the summary lines, the end of replay) any more.
            self.assertNotIn("USER1: stats:", err[at:])
            self.assertNotIn("replay: every packet", err[at:])
            self.assertIn("USER1: stats:", err[:at])

            with open(os.path.join(tmp, "stats.json")) as fh:
                st = json.load(fh)
            sink = st["sinks"][0]
            # Three reloads, one refused; one parameter block replaced (1 sink core x 1 output), and freed.
            self.assertEqual(st["control"]["config"], {"reloads": 3, "reload_failures": 1, "params_retired": 1,
                                                       "params_freed": 1})
            allv = read_lines(os.path.join(tmp, "all.json"))
            s = read_lines(os.path.join(tmp, "s.json"))
            # Nothing lost: every record reached every output, and each output wrote what its counters say.
            self.assertEqual(st["totals"]["records"], total)
            self.assertEqual(st["totals"]["ring_full"], 0)
            self.assertEqual(sink["records"], total)
            for name, lines in (("all", allv), ("s", s)):
                o = sink["outputs"][name]
                self.assertEqual(o["in"], total, name)
                self.assertEqual(o["in"], o["filtered"] + o["downsampled"] + o["encoded"], name)
                self.assertEqual(o["encoded"], len(lines), name)
                self.assertEqual(o["written"], len(lines), name)
            self.assertEqual(len(allv), total)
            # One switch point j, at a batch boundary: s = all[:j] + (filter, then 1 in 4, of all[j:]).
            recs = [json.loads(x) for x in allv]
            keep = [r["proto"] == 6 and t.pair_hash(r) % 4 == 0 for r in recs]
            suffix = [0] * (len(recs) + 1)
            for i in range(len(recs) - 1, -1, -1):
                suffix[i] = suffix[i + 1] + keep[i]
            js = [j for j in range(len(recs) + 1) if j + suffix[j] == len(s)]
            self.assertTrue(js, "no switch point gives %d lines" % len(s))
            ok = [j for j in js if s[:j] == allv[:j] and
                  s[j:] == t.downsampled([x for x, r in zip(allv[j:], recs[j:]) if r["proto"] == 6], 4)]
            self.assertTrue(ok, "s.json is not all.json up to one point and filtered + downsampled after it")
            self.assertTrue(0 < ok[0] < total)
            self.assertEqual(sink["outputs"]["s"]["filtered"], sum(r["proto"] != 6 for r in recs[ok[0]:]))
            # The override reached the worker: 10.9.21.1's records are 1-in-50 from one point on.
            rates = [r["sampling_rate"] for r in recs if r["sampler_address"] == "10.9.21.1"]
            k = rates.index(50)
            self.assertTrue(0 < k and all(x == 50 for x in rates[k:]) and all(x != 50 for x in rates[:k]), rates[:5])
            self.assertTrue(all(r["sampling_rate"] != 50 for r in recs if r["sampler_address"] == "10.9.20.1"))


    def test_sighup_with_two_sink_cores(self):
        # Each sink core has its own parameter block per output: both are replaced, and both freed.
        with tempfile.TemporaryDirectory() as tmp:
            pcap, total = self.capture(tmp, datagrams=600)
            cfg = os.path.join(tmp, "sluiced.toml")
            fmt = dict(pcap=pcap, tmp=tmp, cores=2, override="", s_extra="", log="", interval=0.2)
            write(cfg, CONFIG.format(**fmt))
            errpath = os.path.join(tmp, "stderr")
            with open(errpath, "w") as err:
                proc = subprocess.Popen([SLUICED, "--config", cfg], stdout=subprocess.DEVNULL, stderr=err)
            try:
                deadline = time.time() + 30
                while True:
                    st = self.live_stats(tmp)
                    if st and sum(k["records"] for k in st["sinks"]) >= 500:
                        break
                    self.assertLess(time.time(), deadline, "no progress")
                    self.assertIsNone(proc.poll())
                    time.sleep(0.05)
                write(cfg, CONFIG.format(**dict(fmt, s_extra="sample = 2")))
                proc.send_signal(signal.SIGHUP)
                self.wait_for(proc, errpath, "reload: 1 applied live (output.s.sample: (unset) -> 2), 0 need a restart\n")
                rc = proc.wait(timeout=120)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            self.assertEqual(rc, 0)
            with open(os.path.join(tmp, "stats.json")) as fh:
                st = json.load(fh)
            self.assertEqual(st["control"]["config"], {"reloads": 1, "reload_failures": 0, "params_retired": 2,
                                                       "params_freed": 2})
            self.assertEqual(len(st["sinks"]), 2)
            for name in ("all", "s"):
                outs = [k["outputs"][name] for k in st["sinks"]]
                self.assertEqual(sum(o["in"] for o in outs), total, name)
                for o in outs:
                    self.assertEqual(o["in"], o["filtered"] + o["downsampled"] + o["encoded"], name)
                    self.assertEqual(o["written"], o["encoded"], name)
                self.assertEqual(len(read_lines(os.path.join(tmp, name + ".json"))), sum(o["encoded"] for o in outs))
            s = st["sinks"]
            self.assertGreater(sum(k["outputs"]["s"]["downsampled"] for k in s), 0)
            self.assertLess(sum(k["outputs"]["s"]["encoded"] for k in s), total)


if __name__ == "__main__":
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    SLUICED, SLUICE_DECODE, FIXTURES, ROOT = (os.path.abspath(a) for a in sys.argv[1:5])
    t.SLUICED, t.SLUICE_DECODE, t.FIXTURES = SLUICED, SLUICE_DECODE, FIXTURES
    unittest.main(argv=[sys.argv[0]] + sys.argv[5:], verbosity=2)
