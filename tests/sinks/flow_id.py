# SPDX-License-Identifier: Apache-2.0
# The flow id of sinks/encode/flow_id.hpp, written again from its definition: the tests check the C++ against it,
# and it is what a second collector (or a consumer) implements.
import ipaddress

M64 = (1 << 64) - 1
SEED = 0x736C756963652D31
TIMES_FROM_EXPORT = 1 << 2


def _mix(x):
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & M64
    x ^= x >> 31
    return x


def address16(text):
    """sampler_address's 16 bytes: IPv4 as ::ffff:a.b.c.d, IPv6 as is, "" as zeros."""
    if not text:
        return bytes(16)
    a = ipaddress.ip_address(text)
    if a.version == 4:
        return bytes(10) + b"\xff\xff" + a.packed
    return a.packed


def flow_id(sampler16, export_version, flow_type, domain, sequence, record_index, end_ns, times_from_export):
    w = [
        int.from_bytes(sampler16[0:8], "little"),
        int.from_bytes(sampler16[8:16], "little"),
        domain | sequence << 32,
        record_index | export_version << 16 | flow_type << 24,
        0 if times_from_export else end_ns,
    ]
    h = SEED
    for x in w:
        h = _mix(h ^ x)
    return h
