# SPDX-License-Identifier: Apache-2.0
"""The enriched values of tests/sinks/enriched_fixture.hpp's records (by sequence_num), in the protobuf names
(sinks/proto/flow.proto: the JSON's Akvorado names; SrcASN for the JSON's SrcAS; *Custom maps), and the Avro
names derived from them (sinks/avro/flow.avsc: snake case). Every enriched field not listed is absent / null."""

import re

EXPORTER = {"ExporterName": "edge-1", "ExporterRole": "border", "ExporterSite": "par1", "ExporterRegion": "eu",
            "ExporterTenant": "net", "ExporterGroup": "edge", "ExporterCustom": {"country": "FR"}}
IN5 = {"InIfName": "et-0/0/5", "InIfDescription": "Transit: Cogent", "InIfSpeed": 100000, "InIfBoundary": "external",
       "InIfConnectivity": "transit", "InIfProvider": "cogent"}
EXPECT = {
    1: {"extrapolated_bytes": 123456, "extrapolated_packets": 789, "signature_tags": 5,
        "SrcNetName": "web-1", "SrcNetKind": "server", "SrcNetService": "shop", "SrcNetTeam": "web",
        "SrcNetRole": "frontend", "SrcNetSite": "par1", "SrcNetRegion": "eu", "SrcNetTenant": "acme",
        "SrcNetGroup": "g1", "SrcCountry": "FR", "SrcGeoState": "IDF", "SrcGeoCity": "Paris", "SrcASN": 64500,
        "SrcASName": 'Example "Transit"', "SrcNetPrefix": "10.1.2.0/24",
        "SrcNetCustom": {"description": "rack row 3", "rack": "r12"},
        "DstNetName": "db-1", "DstGeoCity": "Lyon", "DstNetPrefix": "192.0.2.77/32",
        "DstNetCustom": {"asn": "AS64501", "cost_center": "cc-9"},
        **EXPORTER, **IN5,
        "OutIfName": "self", "OutIfDescription": "the device itself (sFlow 0x3FFFFFFF)"},
    2: {"SrcNetName": "v6lab", "SrcNetTenant": "lab", "SrcASN": 4200000000, "SrcNetPrefix": "2001:db8:1::/48",
        "DstNetPrefix": "::/0"},
    3: {},
    4: {},
    5: {"SrcNetName": "big", "SrcNetPrefix": "10.0.0.0/8", "SrcNetCustom": {"cost_center": "c"}, **EXPORTER},
    6: {**EXPORTER, **IN5},
}

SNAKE_SPECIAL = {"SrcASN": "src_asn", "DstASN": "dst_asn", "SrcASName": "src_as_name", "DstASName": "dst_as_name"}


def avro_name(proto_name):
    """SrcNetName -> src_net_name, InIfBoundary -> in_if_boundary, SrcASN -> src_asn (flow.avsc)."""
    if proto_name in SNAKE_SPECIAL:
        return SNAKE_SPECIAL[proto_name]
    return re.sub(r"(?<!^)(?=[A-Z])", "_", proto_name).lower()
