#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpora of fuzz_frame_parse and fuzz_reassembly (tests/fuzz/corpus/<target>/, named by
content hash like the others) from frames built by tests/integration/pcapgen.py. Additive; run from the
repository root (scripts/make-fuzz-corpus runs it)."""

import hashlib
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import pcapgen as g  # noqa: E402

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def raw(pkt, op=0):
    """fuzz_reassembly framing: an IP packet as it is."""
    return bytes([op]) + struct.pack("!H", len(pkt)) + pkt


def built(ident, src, units, flags, ln, op=1):
    """fuzz_reassembly framing: a fragment the harness builds (flags: 1 = MF, 2 = IPv6)."""
    return bytes([op, ident, src]) + struct.pack("!HBH", units, flags, ln)


def main():
    tmpl = g.ipfix_message(7, 0, g.ipfix_template_set())
    data = g.ipfix_message(7, 0, g.ipfix_data_set(80))
    frames = [g.ipv4_udp_frame("10.9.0.1", "10.9.0.254", 4739, 4739, tmpl),
              g.ipv6_udp_frame("2001:db8::1", "2001:db8::fe", 4739, 4739, tmpl),
              g.ether(g.ipv4_header("10.9.0.3", "10.9.0.254", 17, 8 + len(tmpl)) +
                      g.udp("10.9.0.3", "10.9.0.254", 5000, 4739, tmpl), g.ETH_IPV4, vlan=42),
              g.ipv4_fragments("10.9.0.1", "10.9.0.254", 4739, 4739, data, ident=5)[1],
              g.ipv6_fragments("2001:db8::1", "2001:db8::fe", 4739, 4739, data, ident=6)[0],
              g.ether(g.ipv4_header("10.9.0.1", "10.9.0.254", 1, 8) + b"\x08\x00\x00\x00\x00\x01\x00\x01", g.ETH_IPV4),
              g.ether(bytes(28), g.ETH_ARP)]
    u = g.udp("2001:db8::7", "2001:db8::fe", 4739, 4739, tmpl, v6=True)
    frames.append(g.ether(g.ipv6_header("2001:db8::7", "2001:db8::fe", 0, 8 + 8 + len(u)) +
                          struct.pack("!BBHI", 44, 0, 0x0104, 0) + struct.pack("!BBHI", 17, 0, 0, 9) + u, g.ETH_IPV6))
    for f in frames:
        put("frame_parse", f)

    v4 = [f[14:] for f in g.ipv4_fragments("10.9.0.1", "10.9.0.254", 4739, 4739, data, ident=5)]
    v6 = [f[14:] for f in g.ipv6_fragments("2001:db8::1", "2001:db8::fe", 4739, 4739, data, ident=6)]
    put("reassembly", b"".join(raw(p) for p in v4))  # in order: completes
    put("reassembly", b"".join(raw(p) for p in reversed(v6)))  # reversed IPv6
    put("reassembly", b"".join(raw(p) for p in v4[:2]) + raw(v4[0], 2))  # incomplete, then expiry
    put("reassembly", built(1, 1, 0, 1, 1480) + built(1, 1, 185, 1, 1480) + built(1, 1, 370, 0, 100))  # completes
    put("reassembly", built(1, 1, 0, 1, 1480) + built(1, 1, 0, 1, 1480) + built(1, 1, 185, 0, 10))  # duplicate
    put("reassembly", built(1, 1, 0, 1, 1480) + built(1, 1, 100, 1, 1480, op=0x11) + built(1, 1, 285, 0, 8))  # overlap
    put("reassembly", built(2, 1, 0, 3, 1232) + built(2, 1, 154, 2, 1232))  # IPv6
    put("reassembly", b"".join(built(i, i % 3, 0, 1, 1480) for i in range(12)))  # evictions
    put("reassembly", built(3, 1, 8000, 1, 1480) + built(3, 1, 0, 0, 8))  # too big
    for t in ("frame_parse", "reassembly"):
        print(f"{t}: {len(os.listdir(os.path.join(CORPUS, t)))} seeds")


if __name__ == "__main__":
    main()
