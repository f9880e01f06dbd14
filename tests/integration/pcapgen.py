# SPDX-License-Identifier: Apache-2.0
"""Builds test captures for the sluiced integration tests: pcap files of
Ethernet/IPv4/IPv6/UDP frames carrying NetFlow v5 and IPFIX, IP fragments
(in order or not), and malformed frames. Pure standard library (struct), so
the tests need no scapy on CI machines."""

import socket
import struct

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_ARP = 0x0806

SRC_MAC = bytes.fromhex("020000000001")
DST_MAC = bytes.fromhex("020000000002")


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ether(payload: bytes, ethertype: int, vlan: int | None = None) -> bytes:
    if vlan is not None:
        return DST_MAC + SRC_MAC + struct.pack("!HHH", 0x8100, vlan, ethertype) + payload
    return DST_MAC + SRC_MAC + struct.pack("!H", ethertype) + payload


def ipv4_header(src: str, dst: str, proto: int, payload_len: int, ident: int = 1, flags_frag: int = 0,
                ttl: int = 64, bad_checksum: bool = False, ihl: int = 5, total_len: int | None = None) -> bytes:
    tl = 20 + payload_len if total_len is None else total_len
    h = struct.pack("!BBHHHBBH4s4s", (4 << 4) | ihl, 0, tl, ident, flags_frag, ttl, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    c = checksum(h)
    if bad_checksum:
        c ^= 0x5555
    return h[:10] + struct.pack("!H", c) + h[12:]


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes, v6: bool = False) -> bytes:
    ln = 8 + len(payload)
    h = struct.pack("!HHHH", sport, dport, ln, 0)
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    pseudo = socket.inet_pton(fam, src) + socket.inet_pton(fam, dst)
    pseudo += struct.pack("!IxxxB", ln, 17) if v6 else struct.pack("!xBH", 17, ln)
    c = checksum(pseudo + h + payload) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, ln, c) + payload


def ipv4_udp_frame(src: str, dst: str, sport: int, dport: int, payload: bytes, ident: int = 1, **kw) -> bytes:
    u = udp(src, dst, sport, dport, payload)
    return ether(ipv4_header(src, dst, 17, len(u), ident=ident, **kw) + u, ETH_IPV4)


def ipv6_header(src: str, dst: str, nh: int, payload_len: int) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, payload_len, nh, 64,
                       socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst))


def ipv6_udp_frame(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    u = udp(src, dst, sport, dport, payload, v6=True)
    return ether(ipv6_header(src, dst, 17, len(u)) + u, ETH_IPV6)


def ipv4_fragments(src: str, dst: str, sport: int, dport: int, payload: bytes, ident: int,
                   mtu: int = 1500) -> list[bytes]:
    """A UDP datagram cut into IPv4 fragments of at most `mtu` bytes of IP."""
    u = udp(src, dst, sport, dport, payload)
    step = (mtu - 20) // 8 * 8
    frames = []
    for off in range(0, len(u), step):
        piece = u[off:off + step]
        more = 0x2000 if off + step < len(u) else 0
        frames.append(ether(ipv4_header(src, dst, 17, len(piece), ident=ident, flags_frag=more | (off // 8)) + piece,
                            ETH_IPV4))
    return frames


def ipv6_fragments(src: str, dst: str, sport: int, dport: int, payload: bytes, ident: int,
                   mtu: int = 1500) -> list[bytes]:
    u = udp(src, dst, sport, dport, payload, v6=True)
    step = (mtu - 40 - 8) // 8 * 8
    frames = []
    for off in range(0, len(u), step):
        piece = u[off:off + step]
        more = 1 if off + step < len(u) else 0
        fh = struct.pack("!BBHI", 17, 0, off | more, ident)
        frames.append(ether(ipv6_header(src, dst, 44, 8 + len(piece)) + fh + piece, ETH_IPV6))
    return frames


def netflow_v5(count: int, seq: int, base_ip: int = 0x0A000000, uptime_ms: int = 100000,
               unix_secs: int = 1700000000, engine: int = 0) -> bytes:
    h = struct.pack("!HHIIIIBBH", 5, count, uptime_ms, unix_secs, 0, seq, engine >> 8, engine & 0xFF, 0)
    recs = b""
    for i in range(count):
        src = base_ip + i + 1
        dst = 0xC0A80000 + i + 1
        recs += struct.pack("!IIIHHIIIIHHBBBBHHBBH", src, dst, 0, 1, 2, 10 + i, 1000 + i, uptime_ms - 5000,
                            uptime_ms - 1000, 1024 + i, 80, 0, 0x18, 6, 0, 64512, 64513, 24, 24, 0)
    return h + recs


def ipfix_message(domain: int, seq: int, sets: bytes, export_time: int = 1700000000) -> bytes:
    return struct.pack("!HHIII", 10, 16 + len(sets), export_time, seq, domain) + sets


IPFIX_TEMPLATE_ID = 256
# sourceIPv4Address, destinationIPv4Address, sourceTransportPort, destinationTransportPort,
# protocolIdentifier, octetDeltaCount, packetDeltaCount, flowStartSeconds, flowEndSeconds
IPFIX_FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 8), (2, 8), (150, 4), (151, 4)]
IPFIX_RECORD_LEN = sum(l for _, l in IPFIX_FIELDS)


def ipfix_template_set() -> bytes:
    body = struct.pack("!HH", IPFIX_TEMPLATE_ID, len(IPFIX_FIELDS))
    for fid, ln in IPFIX_FIELDS:
        body += struct.pack("!HH", fid, ln)
    return struct.pack("!HH", 2, 4 + len(body)) + body


def ipfix_data_set(count: int, base: int = 0) -> bytes:
    body = b""
    for i in range(count):
        n = base + i
        body += struct.pack("!4s4sHHBQQII", socket.inet_aton("10.1.%d.%d" % (n // 250 % 250, n % 250 + 1)),
                            socket.inet_aton("192.168.%d.%d" % (n // 250 % 250, n % 250 + 1)),
                            2000 + n % 60000, 443, 6, 1500 * (n + 1), n + 1, 1699999000, 1699999990)
    return struct.pack("!HH", IPFIX_TEMPLATE_ID, 4 + len(body)) + body


def write_pcap(path: str, frames: list[bytes], t0: float = 1700000000.0, step_us: int = 1000) -> None:
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            us = int(t0 * 1e6) + i * step_us
            f.write(struct.pack("<IIII", us // 1000000, us % 1000000, len(fr), len(fr)))
            f.write(fr)


def write_pcap_ns(path: str, frames: list[bytes], t0_ns: int = 1700000000_123456789, step_ns: int = 1001) -> None:
    """Nanosecond-resolution pcap: times net_pcap's microsecond field would truncate."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            ns = t0_ns + i * step_ns
            f.write(struct.pack("<IIII", ns // 1000000000, ns % 1000000000, len(fr), len(fr)))
            f.write(fr)
