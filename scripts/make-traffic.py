#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Write the deterministic input traffic that scripts/record-fixtures feeds to
real flow exporters (softflowd, pmacctd, fprobe).

Usage: /usr/bin/python3 scripts/make-traffic.py OUTDIR
  writes OUTDIR/traffic-ipv4.pcap and OUTDIR/traffic-ipv6.pcap

Run with Debian's python (/usr/bin/python3), which sees python3-scapy.

Everything is fixed: addresses (documentation ranges only: 192.0.2.0/24,
198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32), ports, payload sizes, IP IDs,
TCP sequence numbers and timestamps (from BASE_TIME, spread over ~6 s), so
running it twice gives byte-identical files.

Contents
  traffic-ipv4.pcap
    * TCP 192.0.2.10:40001 <-> 198.51.100.20:80   HTTP-like: handshake, request,
      12 full-size data segments, FIN/ACK close             (flags S, SA, A, PA, FA)
    * TCP 192.0.2.11:40002 <-> 198.51.100.21:443  TLS-like, ends with RST; tos 0x20
    * TCP 192.0.2.13:40003  -> 198.51.100.22:22   SYN to a closed port, RST/ACK back
    * UDP 192.0.2.10:53001 <-> 203.0.113.53:53    3 DNS queries and answers
    * UDP 192.0.2.12:16384  -> 198.51.100.30:16384 RTP-like, 30 x 214 B, DSCP EF (tos 0xb8)
    * ICMP echo 192.0.2.10 <-> 198.51.100.1        4 requests (8/0) + 4 replies (0/0)
    * ICMP 198.51.100.30 -> 192.0.2.12             port unreachable (3/3)
    * 802.1Q VLAN 100: TCP 192.0.2.50:41000 <-> 198.51.100.50:8080 (short exchange)
    * 802.1Q VLAN 200: UDP 192.0.2.51:5140 -> 198.51.100.51:514 (syslog-like, 6 pkts)
  traffic-ipv6.pcap
    * TCP [2001:db8:1::10]:40010 <-> [2001:db8:2::20]:443  handshake, 10 data
      segments, FIN close; traffic class 0x28, flow label 0x12345
    * UDP [2001:db8:1::10]:53010 <-> [2001:db8:53::53]:53  2 DNS queries/answers
    * ICMPv6 echo [2001:db8:1::11] <-> [2001:db8:2::1]     3 requests (128/0) + 3 replies (129/0)
    * 802.1Q VLAN 300: UDP [2001:db8:1::30]:6000 -> [2001:db8:2::30]:6001, 8 pkts
"""
import sys
from pathlib import Path

from scapy.all import (  # type: ignore
    DNS,
    DNSQR,
    DNSRR,
    ICMP,
    IP,
    TCP,
    UDP,
    Dot1Q,
    Ether,
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    IPv6,
    Raw,
    wrpcap,
)

BASE_TIME = 1700000000.0  # 2023-11-14T22:13:20Z
MAC_A = "02:00:00:00:00:0a"  # "client side" router port
MAC_B = "02:00:00:00:00:0b"  # "server side" router port


def payload(n: int, seed: int) -> bytes:
    return bytes(((i * 31 + seed) & 0xFF) for i in range(n))


class Builder:
    def __init__(self) -> None:
        self.pkts = []
        self.ip_id = 1000

    def add(self, t: float, pkt) -> None:
        pkt.time = BASE_TIME + t
        self.pkts.append(pkt)

    def eth(self, forward: bool, vlan=None):
        e = Ether(src=MAC_A, dst=MAC_B) if forward else Ether(src=MAC_B, dst=MAC_A)
        if vlan is not None:
            e = e / Dot1Q(vlan=vlan, prio=0)
        return e

    def ip4(self, src, dst, tos=0):
        self.ip_id += 1
        return IP(src=src, dst=dst, tos=tos, id=self.ip_id, ttl=64, flags="DF")

    def tcp_conversation(self, t0, c, s, cport, sport, *, v6=False, tos=0, vlan=None,
                         req=300, segs=12, seg_size=1448, close="fin", gap=0.05, seed=1):
        """Client c:cport talks to server s:sport. Returns end time."""
        cseq, sseq = 100000 + seed * 7919, 500000 + seed * 104729
        t = t0

        def ipl(fwd):
            if v6:
                src, dst = (c, s) if fwd else (s, c)
                return IPv6(src=src, dst=dst, tc=tos, fl=0x12345, hlim=64)
            return self.ip4(*((c, s) if fwd else (s, c)), tos=tos)

        def seg(fwd, flags, seq, ack, data=b""):
            nonlocal t
            pkt = self.eth(fwd, vlan) / ipl(fwd) / TCP(
                sport=cport if fwd else sport, dport=sport if fwd else cport,
                flags=flags, seq=seq, ack=ack, window=64240)
            if data:
                pkt = pkt / Raw(data)
            self.add(t, pkt)
            t += gap

        seg(True, "S", cseq, 0)
        seg(False, "SA", sseq, cseq + 1)
        cseq += 1
        sseq += 1
        seg(True, "A", cseq, sseq)
        seg(True, "PA", cseq, sseq, payload(req, seed))
        cseq += req
        for i in range(segs):
            n = seg_size if i < segs - 1 else seg_size // 3
            seg(False, "A" if i < segs - 1 else "PA", sseq, cseq, payload(n, seed + i))
            sseq += n
            if i % 2 == 1:
                seg(True, "A", cseq, sseq)
        if close == "fin":
            seg(True, "FA", cseq, sseq)
            cseq += 1
            seg(False, "FA", sseq, cseq)
            sseq += 1
            seg(True, "A", cseq, sseq)
        else:
            seg(True, "R", cseq, 0)
        return t


def build_ipv4() -> list:
    b = Builder()
    # HTTP-like download.
    b.tcp_conversation(0.10, "192.0.2.10", "198.51.100.20", 40001, 80, segs=12, seed=1)
    # TLS-like, aborted with RST, tos 0x20 (CS1).
    b.tcp_conversation(0.35, "192.0.2.11", "198.51.100.21", 40002, 443, tos=0x20,
                       req=517, segs=6, close="rst", gap=0.11, seed=2)
    # SYN to a closed port.
    b.add(1.20, b.eth(True) / b.ip4("192.0.2.13", "198.51.100.22") /
          TCP(sport=40003, dport=22, flags="S", seq=42, window=64240))
    b.add(1.2004, b.eth(False) / b.ip4("198.51.100.22", "192.0.2.13") /
          TCP(sport=22, dport=40003, flags="RA", seq=0, ack=43, window=0))
    # DNS.
    for i, name in enumerate(["www.example.com", "mail.example.net", "example.org"]):
        t = 0.05 + i * 1.7
        b.add(t, b.eth(True) / b.ip4("192.0.2.10", "203.0.113.53") / UDP(sport=53001, dport=53) /
              DNS(id=0x1000 + i, rd=1, qd=DNSQR(qname=name)))
        b.add(t + 0.012, b.eth(False) / b.ip4("203.0.113.53", "192.0.2.10") / UDP(sport=53, dport=53001) /
              DNS(id=0x1000 + i, qr=1, rd=1, ra=1, qd=DNSQR(qname=name),
                  an=DNSRR(rrname=name, ttl=300, rdata="198.51.100.%d" % (20 + i))))
    # RTP-like voice, DSCP EF.
    for i in range(30):
        b.add(2.0 + i * 0.02, b.eth(True) / b.ip4("192.0.2.12", "198.51.100.30", tos=0xB8) /
              UDP(sport=16384, dport=16384) / Raw(payload(172, i)))
    # Port unreachable for the last RTP packet (quotes the offending datagram).
    last = IP(src="192.0.2.12", dst="198.51.100.30", tos=0xB8, id=4242) / UDP(sport=16384, dport=16384) / Raw(payload(32, 0))
    b.add(2.61, b.eth(False) / b.ip4("198.51.100.30", "192.0.2.12", tos=0xC0) / ICMP(type=3, code=3) / bytes(last)[:28])
    # Ping.
    for i in range(4):
        t = 3.0 + i * 0.5
        b.add(t, b.eth(True) / b.ip4("192.0.2.10", "198.51.100.1") / ICMP(type=8, code=0, id=0x77, seq=i + 1) /
              Raw(payload(56, i)))
        b.add(t + 0.0031, b.eth(False) / b.ip4("198.51.100.1", "192.0.2.10") / ICMP(type=0, code=0, id=0x77, seq=i + 1) /
              Raw(payload(56, i)))
    # VLAN 100: short TCP exchange.
    b.tcp_conversation(4.2, "192.0.2.50", "198.51.100.50", 41000, 8080, vlan=100,
                       req=120, segs=3, seg_size=900, gap=0.03, seed=3)
    # VLAN 200: syslog-like UDP.
    for i in range(6):
        b.add(4.6 + i * 0.25, b.eth(True, vlan=200) / b.ip4("192.0.2.51", "198.51.100.51") /
              UDP(sport=5140, dport=514) / Raw(b"<134>sluice test message %d " % i + payload(80 + 10 * i, i)))
    return b.pkts


def build_ipv6() -> list:
    b = Builder()
    b.tcp_conversation(0.20, "2001:db8:1::10", "2001:db8:2::20", 40010, 443, v6=True, tos=0x28,
                       req=517, segs=10, seed=5)
    for i, name in enumerate(["www.example.com", "ipv6.example.net"]):
        t = 0.10 + i * 2.1
        b.add(t, b.eth(True) / IPv6(src="2001:db8:1::10", dst="2001:db8:53::53", hlim=64) /
              UDP(sport=53010, dport=53) / DNS(id=0x2000 + i, rd=1, qd=DNSQR(qname=name, qtype="AAAA")))
        b.add(t + 0.015, b.eth(False) / IPv6(src="2001:db8:53::53", dst="2001:db8:1::10", hlim=64) /
              UDP(sport=53, dport=53010) /
              DNS(id=0x2000 + i, qr=1, rd=1, ra=1, qd=DNSQR(qname=name, qtype="AAAA"),
                  an=DNSRR(rrname=name, type="AAAA", ttl=300, rdata="2001:db8:2::%x" % (0x20 + i))))
    for i in range(3):
        t = 3.0 + i * 0.4
        b.add(t, b.eth(True) / IPv6(src="2001:db8:1::11", dst="2001:db8:2::1", hlim=64) /
              ICMPv6EchoRequest(id=0x66, seq=i + 1, data=payload(56, i)))
        b.add(t + 0.0042, b.eth(False) / IPv6(src="2001:db8:2::1", dst="2001:db8:1::11", hlim=64) /
              ICMPv6EchoReply(id=0x66, seq=i + 1, data=payload(56, i)))
    for i in range(8):
        b.add(4.0 + i * 0.2, b.eth(True, vlan=300) / IPv6(src="2001:db8:1::30", dst="2001:db8:2::30", hlim=63) /
              UDP(sport=6000, dport=6001) / Raw(payload(200 + 40 * i, i)))
    return b.pkts


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name, pkts in (("traffic-ipv4.pcap", build_ipv4()), ("traffic-ipv6.pcap", build_ipv6())):
        pkts.sort(key=lambda p: p.time)
        wrpcap(str(out / name), pkts)
        print(f"{out / name}: {len(pkts)} packets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
