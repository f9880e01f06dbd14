#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""sluiced's command line as a user meets it: a bad value exits 2 naming its
flag, before EAL starts; --help exits 0.

usage: sluiced_cli_test.py SLUICED"""

import subprocess
import sys
import unittest

SLUICED = ""


def run(*args):
    return subprocess.run([SLUICED, *args], capture_output=True, text=True, timeout=30)


class BadUsage(unittest.TestCase):
    def test_bad_values_exit_2_naming_the_flag(self):
        cases = [
            (["--pcap", "x", "--stats-interval", "abc"], "--stats-interval"),
            (["--pcap", "x", "--stats-interval", "nan"], "--stats-interval"),
            (["--pcap", "x", "--stats-interval", "inf"], "--stats-interval"),
            (["--pcap", "x", "--stats-interval", "-1"], "--stats-interval"),
            (["--pcap", "x", "--duration", "nan"], "--duration"),
            (["--pcap", "x", "--template-state-interval", "-3"], "--template-state-interval"),
            (["--pcap", "x", "--queues", "many"], "--queues"),
            (["--pcap", "x", "--ring-size", "100"], "--ring-size"),
            (["--pcap", "x", "--max-exporters", "99999999999"], "--max-exporters"),
            (["--pcap", "x", "--port-map", "2055=v7"], "--port-map"),
            (["--pcap", "x", "--bad-flag"], "--bad-flag"),
            (["--pcap"], "--pcap"),
            ([], "no input"),
        ]
        for args, flag in cases:
            with self.subTest(args=args):
                p = run(*args)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn(flag, p.stderr)
                self.assertIn("see sluiced --help", p.stderr)
                self.assertNotIn("EAL", p.stderr)  # refused before any start-up

    def test_help(self):
        p = run("--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("--stats-json-interval", p.stdout)
        self.assertIn("--shutdown-timeout", p.stdout)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    SLUICED = sys.argv[1]
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)
