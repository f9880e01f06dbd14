#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""sluiced shipping to Kafka: librdkafka's mock cluster (sluice-mock-kafka, a separate process, the real protocol
over TCP), read back with kcat. Exact records and counters; every broker down under load, then back; kill -9
during an outage and a restart; produce errors injected into the cluster; a full spool.

usage: sluiced_kafka_test.py SLUICED SLUICE_DECODE MOCK FIXTURES_DIR [--outage-s S] [--format F] [unittest args]

--outage-s sets the outage of KafkaOutage (5 s in the default suite, 30 s in suite 'soak'); --format the output
format every case uses (json today; each format the encoders add runs the same cases)."""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapgen as g  # noqa: E402

SLUICED = SLUICE_DECODE = MOCK = FIXTURES = ""
OUTAGE_S = 5.0
FORMAT = "json"
TIMEOUT = 120
KCAT = shutil.which("kcat") or "/usr/bin/kcat"


class Mock:
    """sluice-mock-kafka as a child: bootstrap address from its first line, faults through its stdin."""

    def __init__(self, brokers=3, topics=("flows:4",)):
        cmd = [MOCK, "--brokers", str(brokers)]
        for t in topics:
            cmd += ["--topic", t]
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True, bufsize=1)
        self.bootstraps = self.p.stdout.readline().strip()
        if not self.bootstraps:
            raise AssertionError("sluice-mock-kafka printed no bootstrap address")
        # ',' separates --output keys: the brokers are given with ';'.
        self.spec = self.bootstraps.replace(",", ";")

    def command(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        reply = self.p.stdout.readline().strip()
        if not reply.startswith("ok"):
            raise AssertionError("mock: %s -> %s" % (line, reply))

    def consume(self, topic="flows"):
        """Every message of the topic (kcat -e: to the end of every partition), as (key, value) pairs."""
        p = subprocess.run([KCAT, "-C", "-b", self.bootstraps, "-t", topic, "-e", "-q", "-o", "beginning",
                            "-f", "%k\t%s\n"], capture_output=True, text=True, timeout=TIMEOUT)
        if p.returncode != 0:
            raise AssertionError("kcat failed: %s" % p.stderr[-2000:])
        out = []
        for ln in p.stdout.splitlines():
            k, _, v = ln.partition("\t")
            out.append((k, v))
        return out

    def close(self):
        self.p.kill()
        self.p.wait()
        self.p.stdin.close()
        self.p.stdout.close()


def offline(*pcaps, extra=()):
    p = subprocess.run([SLUICE_DECODE, "--json", "--quiet-stats", *extra, *pcaps], capture_output=True, text=True,
                       timeout=TIMEOUT)
    if p.returncode != 0:
        raise AssertionError("sluice-decode failed: %s" % p.stderr)
    return p.stdout.splitlines()


def v5_capture(path, exporter, datagrams, records=30):
    frames = [g.ipv4_udp_frame(exporter, "10.9.0.254", 40000, 2055, g.netflow_v5(records, i * records), ident=i + 1)
              for i in range(datagrams)]
    g.write_pcap(path, frames)


def output_spec(mock, spool, extra=""):
    spec = "name=k,kafka=%s,topic=flows,format=%s,spool=%s" % (mock.spec, FORMAT, spool)
    return spec + ("," + extra if extra else "")


def kafka_stats(stats, name="k"):
    """The output's counters, summed over sink cores: (output, kafka, spool)."""
    out, kafka, spool = {}, {}, {}
    for s in stats["sinks"]:
        o = s["outputs"][name]
        for dst, src in ((out, o), (kafka, o.get("kafka", {})), (spool, o.get("spool", {}))):
            for k, v in src.items():
                if isinstance(v, int):
                    dst[k] = dst.get(k, 0) + v
    return out, kafka, spool


def run_sluiced(tmp, args, name="run", check=True):
    st = os.path.join(tmp, name + "-stats.json")
    cmd = [SLUICED, *args, "--stats-json", st]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
    if check and p.returncode != 0:
        raise AssertionError("sluiced failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr[-3000:]))
    with open(st) as fh:
        return json.load(fh), p.stderr


def wait_stats(path, pred, timeout, what):
    """Polls a live --stats-json file until pred(stats) holds."""
    end = time.time() + timeout
    last = None
    while time.time() < end:
        try:
            with open(path) as fh:
                last = json.load(fh)
            if pred(last):
                return last
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError("timed out waiting for %s; last stats: %s" % (what, last and kafka_stats(last)))


class KafkaCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sluice-kafka-")
        self.spool = os.path.join(self.tmp, "spool")
        self.mock = Mock()

    def tearDown(self):
        self.mock.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def values(self, msgs):
        return sorted(v for _, v in msgs)


class MockCluster(KafkaCase):
    """sluice-mock-kafka itself: brokers and topics as kcat sees them, every fault command answered."""

    def test_commands_and_metadata(self):
        self.assertEqual(len(self.mock.bootstraps.split(",")), 3)
        for c in ("rtt all 5", "rtt 2 0", "errors 0 19 1", "clear 0", "topic extra 2", "down 3", "up 3"):
            self.mock.command(c)
        for bad in ("down 4", "rtt all", "errors 0 19 0", "bogus"):
            self.mock.p.stdin.write(bad + "\n")
            self.mock.p.stdin.flush()
            self.assertTrue(self.mock.p.stdout.readline().startswith("error"), bad)
        p = subprocess.run([KCAT, "-L", "-J", "-b", self.mock.bootstraps], capture_output=True, text=True,
                           timeout=TIMEOUT)
        md = json.loads(p.stdout)
        self.assertEqual(sorted(b["id"] for b in md["brokers"]), [1, 2, 3])
        parts = {t["topic"]: len(t["partitions"]) for t in md["topics"]}
        self.assertEqual((parts.get("flows"), parts.get("extra")), (4, 2))


class KafkaContents(KafkaCase):
    """Exact records: what kcat reads back equals sluice-decode's records, one message per record, keyed."""

    def test_fixtures_exact(self):
        pcaps = [os.path.join(FIXTURES, f) for f in ("softflowd-v5-ipv4.pcap", "softflowd-ipfix-ipv4.pcap",
                                                     "pmacct-nfprobe-v9.pcap", "pmacct-sfprobe-sflow.pcap")]
        maps = ["20555=v5", "24739=ipfix", "21559=v9", "26343=sflow"]
        args = []
        for p in pcaps:
            args += ["--pcap", p]
        for m in maps:
            args += ["--port-map", m]
        stats, _ = run_sluiced(self.tmp, args + ["--output", output_spec(self.mock, self.spool)])
        want = offline(*pcaps, extra=[x for m in maps for x in ("--port-map", m)])
        msgs = self.mock.consume()
        self.assertEqual(self.values(msgs), sorted(want))
        # key=exporter (the default): each message's key is its record's exporter address.
        for k, v in msgs:
            self.assertEqual(k, json.loads(v)["sampler_address"])
        out, kafka, spool = kafka_stats(stats)
        n = len(want)
        self.assertEqual((out["in"], out["encoded"], out["written"], out["failed"]), (n, n, n, 0))
        self.assertEqual((kafka["produced"], kafka["delivered"], kafka["spooled"], kafka["replayed"]), (n, n, 0, 0))
        self.assertEqual(kafka["delivered_bytes"], sum(len(x) for x in want))
        self.assertEqual(spool["appended"], 0)

    def test_key_filter_and_two_sink_cores(self):
        pcap = os.path.join(self.tmp, "v5.pcap")
        v5_capture(pcap, "10.7.0.1", 40)
        stats, _ = run_sluiced(self.tmp, ["--pcap", pcap, "--port-map", "2055=v5", "--sink-cores", "2", "--output",
                                          output_spec(self.mock, self.spool, "key=src,compression=zstd,linger_ms=1,"
                                                      "batch=100,rdkafka.queue.buffering.max.messages=200000,"
                                                      "filter=proto==tcp")])
        want = offline(pcap, extra=["--port-map", "2055=v5"])
        msgs = self.mock.consume()
        self.assertEqual(self.values(msgs), sorted(want))
        for k, v in msgs:
            self.assertEqual(k, json.loads(v)["src_addr"])
        _, kafka, _ = kafka_stats(stats)
        self.assertEqual((kafka["produced"], kafka["delivered"]), (len(want), len(want)))


class KafkaOutage(KafkaCase):
    """Every broker down under load for OUTAGE_S, then back: every record delivered, spooled and replayed."""

    def test_outage(self):
        n_dg = 800  # 24,000 records; the sink's 256-record batches paced so the run outlasts the outage
        pcap = os.path.join(self.tmp, "v5.pcap")
        v5_capture(pcap, "10.7.0.1", n_dg)
        want = sorted(offline(pcap, extra=["--port-map", "2055=v5"]))
        delay_us = int((OUTAGE_S + 4) * 1e6 / (len(want) / 256))
        st = os.path.join(self.tmp, "live.json")
        cmd = [SLUICED, "--pcap", pcap, "--port-map", "2055=v5", "--sink-delay-us", str(delay_us),
               "--stats-json", st, "--stats-json-interval", "0.2", "--output",
               # librdkafka's reconnect backoff grows to 10 s by default: 1 s so the brokers' return is seen at once.
               output_spec(self.mock, self.spool, "rdkafka.message.timeout.ms=%d,rdkafka.reconnect.backoff.max.ms=1000"
                           % int((OUTAGE_S + 60) * 1000))]
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            wait_stats(st, lambda s: kafka_stats(s)[1].get("delivered", 0) >= 1000, 30, "first deliveries")
            self.mock.command("down all")
            wait_stats(st, lambda s: kafka_stats(s)[1].get("spooled", 0) >= 1000, 30, "records spooled")
            time.sleep(max(0.0, OUTAGE_S - 1))
            self.mock.command("up all")
            _, err = p.communicate(timeout=TIMEOUT)
        finally:
            if p.poll() is None:
                p.kill()
        self.assertEqual(p.returncode, 0, err[-3000:])
        with open(st) as fh:
            stats = json.load(fh)
        msgs = self.mock.consume()
        got = self.values(msgs)
        # One exporter, one key, one partition: the partition holds the records in the capture's order, across
        # the outage (the purged queue and the diverted records are spooled in order and replayed in order).
        self.assertEqual([v for _, v in msgs], offline(pcap, extra=["--port-map", "2055=v5"]))
        # At-least-once: every record is there; duplicates (none expected here) would be extra.
        self.assertEqual(sorted(set(got)), want)
        out, kafka, spool = kafka_stats(stats)
        self.assertEqual(kafka["delivered"], len(got))
        self.assertGreaterEqual(kafka["brokers_down"], 1)
        self.assertGreater(kafka["spooled"], 0)
        self.assertEqual(kafka["replayed"], kafka["spooled"])
        self.assertEqual(spool["appended"], kafka["spooled"])
        self.assertEqual(spool["committed"], spool["appended"])
        self.assertEqual(spool["dropped_full"] + spool["io_errors"] + kafka["rejected"] + kafka["rejected_dr"], 0)
        self.assertEqual(out["written"], len(want))
        # Nothing left behind: the spool's segments are gone once replayed.
        self.assertEqual(glob.glob(os.path.join(self.spool, "k.s0", "*.seg")), [])


class KafkaKill9(KafkaCase):
    """kill -9 during an outage, then a restart: the spool replays and every record arrives at least once. A torn
    tail (bytes of an entry cut short, as a kill mid-write leaves) is detected by its CRC and counted."""

    def test_kill9_restart(self):
        pcap = os.path.join(self.tmp, "v5.pcap")
        v5_capture(pcap, "10.7.0.1", 200)  # 6,000 records
        want = sorted(offline(pcap, extra=["--port-map", "2055=v5"]))
        st = os.path.join(self.tmp, "live.json")
        # A live port (sluiced does not stop at the end of the file); records paced over ~3 s.
        delay_us = int(3e6 / (len(want) / 256))
        cmd = [SLUICED, "--port", "net_pcap0,rx_pcap=" + pcap, "--port-map", "2055=v5", "--ring-full", "wait",
               "--sink-delay-us", str(delay_us), "--stats-json", st, "--stats-json-interval", "0.2", "--output",
               output_spec(self.mock, self.spool, "rdkafka.message.timeout.ms=2000")]
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_stats(st, lambda s: kafka_stats(s)[1].get("delivered", 0) >= 500, 30, "first deliveries")
            self.mock.command("down all")

            # Every record taken from the rings, and nothing left only in librdkafka's memory.
            def settled(s):
                out, k, _ = kafka_stats(s)
                outstanding = (k["produced"] + k["replayed"] - k["delivered"] - k["failed_timeout"] -
                               k["failed_broker"] - k["failed_purged"] - k["rejected_dr"])
                return out["in"] == len(want) and outstanding == 0 and k["spooled"] > 0
            before = wait_stats(st, settled, 60, "every record delivered or spooled")
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
            # What the EAL leaves behind a kill -9 (its runtime directory, --file-prefix sluiced-<pid>).
            shutil.rmtree("/var/run/dpdk/sluiced-%d" % p.pid, ignore_errors=True)
        finally:
            if p.poll() is None:
                p.kill()
        _, k1, s1 = kafka_stats(before)
        segs = sorted(glob.glob(os.path.join(self.spool, "k.s0", "*.seg")))
        self.assertTrue(segs)
        # A torn tail: half an entry header at the end of the newest segment.
        with open(segs[-1], "ab") as fh:
            fh.write(b"\x01\x02\x03\x04\x05\x06")
        self.mock.command("up all")
        # The restart: a capture with no records (one datagram to an unmapped port); the spool replays.
        empty = os.path.join(self.tmp, "none.pcap")
        g.write_pcap(empty, [g.ipv4_udp_frame("10.7.0.9", "10.9.0.254", 40000, 9, b"x" * 24)])
        stats, err = run_sluiced(self.tmp, ["--pcap", empty, "--output", output_spec(self.mock, self.spool)],
                                 name="restart")
        self.assertIn("from a previous run: replaying", err)
        _, k2, s2 = kafka_stats(stats)
        self.assertEqual((s2["torn"], s2["skipped_bytes"]), (1, 6))
        self.assertGreater(s2["recovered"], 0)
        self.assertEqual(k2["replayed"], s2["recovered"])
        self.assertEqual(k2["delivered"], s2["recovered"])
        got = self.values(self.mock.consume())
        self.assertEqual(sorted(set(got)), want)  # every record at least once
        # Delivered before the kill, plus recovered from the spool (which may repeat a few delivered ones).
        self.assertEqual(len(got), k1["delivered"] + k2["delivered"])


class KafkaProduceErrors(KafkaCase):
    """Produce requests failing at the brokers (rd_kafka_mock_push_request_errors): retried by librdkafka, or,
    once its retries are exhausted, failed in the delivery report, spooled and replayed. Nothing lost."""

    def test_errors_retried_or_spooled(self):
        pcap = os.path.join(self.tmp, "v5.pcap")
        v5_capture(pcap, "10.7.0.1", 100)  # 3,000 records
        want = sorted(offline(pcap, extra=["--port-map", "2055=v5"]))
        # ApiKey 0 = Produce; 19 = NOT_ENOUGH_REPLICAS (retriable, and the batch was not written), 40 requests:
        # more than librdkafka's 2 retries, so batches fail in their delivery reports, are spooled and replayed.
        self.mock.command("errors 0 19 40")
        stats, _ = run_sluiced(self.tmp, ["--pcap", pcap, "--port-map", "2055=v5", "--output",
                                          output_spec(self.mock, self.spool,
                                                      "rdkafka.retries=2,rdkafka.retry.backoff.ms=10,linger_ms=1")])
        got = self.values(self.mock.consume())
        self.assertEqual(got, want)  # exactly once: the failed requests wrote nothing
        _, kafka, spool = kafka_stats(stats)
        self.assertGreater(kafka["failed_broker"], 0)
        self.assertEqual(kafka["spooled"], kafka["failed_broker"])
        self.assertEqual(kafka["replayed"], kafka["spooled"])
        self.assertEqual(kafka["delivered"], len(want))
        self.assertEqual(spool["committed"], spool["appended"])


class KafkaQueueFull(KafkaCase):
    """librdkafka's queue full (a 200-message queue, brokers 50 ms away): refused records are spooled and replayed,
    every record delivered exactly once."""

    def test_queue_full_spooled(self):
        pcap = os.path.join(self.tmp, "v5.pcap")
        v5_capture(pcap, "10.7.0.1", 100)  # 3,000 records
        want = sorted(offline(pcap, extra=["--port-map", "2055=v5"]))
        self.mock.command("rtt all 50")
        stats, _ = run_sluiced(self.tmp, ["--pcap", pcap, "--port-map", "2055=v5", "--output",
                                          output_spec(self.mock, self.spool,
                                                      "rdkafka.queue.buffering.max.messages=200,batch=100")])
        self.assertEqual(self.values(self.mock.consume()), want)
        _, kafka, spool = kafka_stats(stats)
        self.assertGreater(kafka["failed_queue_full"], 0)
        self.assertEqual(kafka["spooled"], kafka["failed_queue_full"] + kafka["diverted"])
        # Every message librdkafka took was delivered (no failed delivery report here), once.
        self.assertEqual(kafka["produced"] + kafka["replayed"], kafka["delivered"])
        self.assertEqual(kafka["delivered"], len(want))
        self.assertEqual(kafka["failed_timeout"] + kafka["failed_broker"] + kafka["failed_purged"], 0)
        self.assertEqual(spool["committed"], spool["appended"])


class KafkaSpoolFull(KafkaCase):
    """Brokers down for a whole run with a small spool: what does not fit is dropped and counted exactly; the rest
    is delivered by the next run."""

    def test_full_spool_drops_counted(self):
        pcap = os.path.join(self.tmp, "v5.pcap")
        v5_capture(pcap, "10.7.0.1", 40)  # 1,200 records, ~1 KB each in JSON
        want = sorted(offline(pcap, extra=["--port-map", "2055=v5"]))
        self.mock.command("down all")
        stats, _ = run_sluiced(self.tmp, ["--pcap", pcap, "--port-map", "2055=v5", "--output",
                                          output_spec(self.mock, self.spool, "spool_bytes=262144")], name="down")
        _, k1, s1 = kafka_stats(stats)
        self.assertGreater(s1["dropped_full"], 0)
        # Every record is either on disk or counted dropped (none only in memory, none lost silently).
        # (a probe, one spool entry produced a second while the brokers are down, goes back to the tail when it
        # fails: k1["replayed"] of them)
        self.assertEqual(s1["appended"] + s1["dropped_full"], len(want) + k1["replayed"])
        self.assertEqual(k1["delivered"], 0)
        self.assertLessEqual(sum(os.path.getsize(f) for f in glob.glob(os.path.join(self.spool, "k.s0", "*.seg"))),
                             262144)
        self.mock.command("up all")
        empty = os.path.join(self.tmp, "none.pcap")
        g.write_pcap(empty, [g.ipv4_udp_frame("10.7.0.9", "10.9.0.254", 40000, 9, b"x" * 24)])
        stats2, _ = run_sluiced(self.tmp, ["--pcap", empty, "--output", output_spec(self.mock, self.spool)],
                                name="up")
        got = self.values(self.mock.consume())
        self.assertEqual(len(got) + s1["dropped_full"], len(want))  # the drops, counted exactly
        self.assertEqual(len(set(got)), len(got))
        self.assertTrue(set(got) <= set(want))
        _, k2, _ = kafka_stats(stats2)
        # Run 1's failed probes were settled (committed) and appended again at the tail: replayed once.
        self.assertEqual(k2["delivered"], s1["appended"] - s1["committed"])
        self.assertEqual(s1["committed"], k1["replayed"])


if __name__ == "__main__":
    SLUICED, SLUICE_DECODE, MOCK, FIXTURES = sys.argv[1:5]
    rest = sys.argv[5:]
    while rest and rest[0].startswith("--") and rest[0] in ("--outage-s", "--format"):
        if rest[0] == "--outage-s":
            OUTAGE_S = float(rest[1])
        else:
            FORMAT = rest[1]
        rest = rest[2:]
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
