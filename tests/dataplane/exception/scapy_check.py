#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Cross-check of the exception path against scapy: requests built by scapy, replies parsed and checksums recomputed by scapy.
#
# Usage: /usr/bin/python3 scapy_check.py PATH/TO/exception_replay
# Exit 0: all checks passed; 1: a check failed; 77: scapy is not installed (skip).
import subprocess
import sys

try:
    from scapy.all import ARP, ICMP, IP, Dot1Q, Ether, IPv6, ICMPv6EchoReply, ICMPv6EchoRequest
    from scapy.all import ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr, IPOption_Router_Alert
except ImportError as e:
    print(f"SKIP: scapy not importable ({e}); apt-get install python3-scapy and run with /usr/bin/python3")
    sys.exit(77)

OUR_MAC, PEER_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"
OUR4, PEER4, OUR6, PEER6 = "192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2"
SNM6, SNM_MAC = "ff02::1:ff00:1", "33:33:ff:00:00:01"


def checksum_ok(pkt, layer, field="chksum"):
    """Recompute `field` of `layer` with scapy and compare with what we sent."""
    sent = getattr(pkt[layer], field)
    again = pkt.copy()
    delattr(again[layer], field)
    again = Ether(bytes(again))
    return sent == getattr(again[layer], field)


CASES = []


def case(name, frame, expect_outcome, check=None):
    CASES.append((name, bytes(frame), expect_outcome, check))


def arp_reply(vlan=None):
    def check(r):
        assert r[ARP].op == 2, r[ARP].op
        assert r[ARP].hwsrc == OUR_MAC and r[ARP].psrc == OUR4
        assert r[ARP].hwdst == PEER_MAC and r[ARP].pdst == PEER4
        assert r[Ether].dst == PEER_MAC and r[Ether].src == OUR_MAC
        assert len(bytes(r)) >= 60
        if vlan is not None:
            assert r[Dot1Q].vlan == vlan and r[Dot1Q].type == 0x0806
    return check


def echo4_reply(ident, seq, payload):
    def check(r):
        assert r[IP].src == OUR4 and r[IP].dst == PEER4 and r[IP].ttl == 64 and r[IP].ihl == 5
        assert r[ICMP].type == 0 and r[ICMP].code == 0
        assert r[ICMP].id == ident and r[ICMP].seq == seq
        assert bytes(r[ICMP].payload)[: len(payload)] == payload
        assert checksum_ok(r, IP), "IPv4 header checksum"
        assert checksum_ok(r, ICMP), "ICMP checksum"
    return check


def echo6_reply(ident, seq, payload):
    def check(r):
        assert r[IPv6].src == OUR6 and r[IPv6].dst == PEER6 and r[IPv6].hlim == 64
        e = r[ICMPv6EchoReply]
        assert e.id == ident and e.seq == seq and e.data == payload
        assert checksum_ok(r, ICMPv6EchoReply, "cksum"), "ICMPv6 checksum"
    return check


def na_reply(dst_ip, vlan=None):
    def check(r):
        assert r[Ether].dst == PEER_MAC and r[Ether].src == OUR_MAC
        assert r[IPv6].src == OUR6 and r[IPv6].dst == dst_ip and r[IPv6].hlim == 255
        na = r[ICMPv6ND_NA]
        assert (na.R, na.S, na.O) == (0, 1, 1), (na.R, na.S, na.O)
        assert na.tgt == OUR6
        assert r[ICMPv6NDOptDstLLAddr].lladdr == OUR_MAC
        assert checksum_ok(r, ICMPv6ND_NA, "cksum"), "NA checksum"
        if vlan is not None:
            assert r[Dot1Q].vlan == vlan
    return check


payload = bytes(range(56))
case("arp request", Ether(dst="ff:ff:ff:ff:ff:ff", src=PEER_MAC) / ARP(op=1, hwsrc=PEER_MAC, psrc=PEER4, pdst=OUR4),
     "reply", arp_reply())
case("arp request vlan 100", Ether(dst="ff:ff:ff:ff:ff:ff", src=PEER_MAC) / Dot1Q(vlan=100) /
     ARP(op=1, hwsrc=PEER_MAC, psrc=PEER4, pdst=OUR4), "reply", arp_reply(100))
case("arp reply ignored", Ether(dst=OUR_MAC, src=PEER_MAC) / ARP(op=2, hwsrc=PEER_MAC, psrc=PEER4, pdst=OUR4),
     "arp_not_request")
case("arp other target", Ether(dst="ff:ff:ff:ff:ff:ff", src=PEER_MAC) / ARP(op=1, psrc=PEER4, pdst="192.0.2.77"),
     "not_for_us")
case("icmp echo", Ether(dst=OUR_MAC, src=PEER_MAC) / IP(src=PEER4, dst=OUR4) / ICMP(id=0x1234, seq=9) / payload,
     "reply", echo4_reply(0x1234, 9, payload))
case("icmp echo odd payload with IP options", Ether(dst=OUR_MAC, src=PEER_MAC) /
     IP(src=PEER4, dst=OUR4, options=[IPOption_Router_Alert()]) / ICMP(id=7, seq=1) / b"abc",
     "reply", echo4_reply(7, 1, b"abc"))
case("icmp echo vlan", Ether(dst=OUR_MAC, src=PEER_MAC) / Dot1Q(vlan=7) / IP(src=PEER4, dst=OUR4) /
     ICMP(id=1, seq=2) / payload, "reply", echo4_reply(1, 2, payload))
case("icmp bad checksum", Ether(dst=OUR_MAC, src=PEER_MAC) / IP(src=PEER4, dst=OUR4) / ICMP(chksum=0x1111) / payload,
     "icmp_bad_checksum")
case("icmp timestamp", Ether(dst=OUR_MAC, src=PEER_MAC) / IP(src=PEER4, dst=OUR4) / ICMP(type=13),
     "icmp_not_echo_request")
case("icmpv6 echo", Ether(dst=OUR_MAC, src=PEER_MAC) / IPv6(src=PEER6, dst=OUR6) /
     ICMPv6EchoRequest(id=0x77, seq=5, data=payload), "reply", echo6_reply(0x77, 5, payload))
case("icmpv6 echo odd length", Ether(dst=OUR_MAC, src=PEER_MAC) / IPv6(src=PEER6, dst=OUR6) /
     ICMPv6EchoRequest(id=1, seq=1, data=b"xyz"), "reply", echo6_reply(1, 1, b"xyz"))
case("ns multicast with slla", Ether(dst=SNM_MAC, src=PEER_MAC) / IPv6(src=PEER6, dst=SNM6, hlim=255) /
     ICMPv6ND_NS(tgt=OUR6) / ICMPv6NDOptSrcLLAddr(lladdr=PEER_MAC), "reply", na_reply(PEER6))
case("ns from link-local", Ether(dst=SNM_MAC, src=PEER_MAC) / IPv6(src="fe80::2", dst=SNM6, hlim=255) /
     ICMPv6ND_NS(tgt=OUR6) / ICMPv6NDOptSrcLLAddr(lladdr=PEER_MAC), "reply", na_reply("fe80::2"))
case("ns unicast nud", Ether(dst=OUR_MAC, src=PEER_MAC) / IPv6(src=PEER6, dst=OUR6, hlim=255) / ICMPv6ND_NS(tgt=OUR6),
     "reply", na_reply(PEER6))
case("ns vlan", Ether(dst=SNM_MAC, src=PEER_MAC) / Dot1Q(vlan=42) / IPv6(src=PEER6, dst=SNM6, hlim=255) /
     ICMPv6ND_NS(tgt=OUR6) / ICMPv6NDOptSrcLLAddr(lladdr=PEER_MAC), "reply", na_reply(PEER6, 42))
case("ns dad", Ether(dst=SNM_MAC, src=PEER_MAC) / IPv6(src="::", dst=SNM6, hlim=255) / ICMPv6ND_NS(tgt=OUR6),
     "ndp_dad_ignored")
case("ns hop limit 64", Ether(dst=SNM_MAC, src=PEER_MAC) / IPv6(src=PEER6, dst=SNM6, hlim=64) / ICMPv6ND_NS(tgt=OUR6),
     "icmpv6_malformed")
case("ns bad checksum", Ether(dst=SNM_MAC, src=PEER_MAC) / IPv6(src=PEER6, dst=SNM6, hlim=255) /
     ICMPv6ND_NS(tgt=OUR6, cksum=0x2222), "icmpv6_bad_checksum")


def main():
    exe = sys.argv[1]
    proc = subprocess.run([exe, "--mac", OUR_MAC, "--address", OUR4, "--address", OUR6],
                          input="".join(f.hex() + "\n" for _, f, _, _ in CASES), capture_output=True, text=True,
                          check=True)
    lines = proc.stdout.splitlines()
    assert len(lines) == len(CASES), (len(lines), len(CASES))
    failed = 0
    for (name, _, want, check), line in zip(CASES, lines):
        got, _, hexreply = line.partition(" ")
        try:
            assert got == want, f"outcome {got}, want {want}"
            if check is not None:
                check(Ether(bytes.fromhex(hexreply)))
            print(f"ok   {name}")
        except AssertionError as e:
            failed += 1
            print(f"FAIL {name}: {e}")
    print(f"{len(CASES) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
