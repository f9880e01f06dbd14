#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""sluiced with enrichment, end to end, the ECS JSON output: the pmacct sFlow fixture with the sources of
test_enrich_sluiced.py (inventory, exporter and interface tables, the ASN and City mmdb fixtures, a static prefix)
into a `json` output and an `ecs_json` output at once. Every record's enriched members in the ECS line are the
json line's, each at its ECS or sluice.* place (docs/schema.md), and a few lines' names exactly.

usage: test_enrich_ecs_sluiced.py SLUICED SLUICE_DECODE FIXTURES_DIR TESTDATA_DIR [unittest args]"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

import test_enrich_sluiced as base

SLUICED = FIXTURES = ""

# json member suffix (after Src/Dst) -> path under sluice.<side>.net (the rest of the network members).
NET_SLUICE = {"NetName": "name", "NetRole": "role", "NetSite": "site", "NetRegion": "region", "NetTenant": "tenant",
              "NetKind": "kind", "NetService": "service", "NetTeam": "team", "NetGroup": "group", "NetPrefix": "prefix"}
IF_SLUICE = {"Speed": "speed", "Boundary": "boundary", "Connectivity": "connectivity", "Provider": "provider"}


def flatten(doc, prefix=""):
    out = {}
    for k, v in doc.items():
        if isinstance(v, dict):
            out.update(flatten(v, prefix + k + "."))
        else:
            out[prefix + k] = v
    return out


def expected_ecs(j):
    """The ECS fields the json line's enriched members become, plus the AS numbers' places."""
    want = {}
    for side, ecs, sl in (("Src", "source", "src"), ("Dst", "destination", "dst")):
        m = {k[3:]: v for k, v in j.items() if k.startswith(side) and k[3:4].isupper() and k[:1].isupper()}
        for k, v in m.items():
            if k in NET_SLUICE:
                want[f"sluice.{sl}.net.{NET_SLUICE[k]}"] = v
            elif k == "Country":
                want[f"{ecs}.geo.country_iso_code"] = v
            elif k == "GeoCity":
                want[f"{ecs}.geo.city_name"] = v
            elif k == "GeoState":
                code = len(v) <= 3 and v.isalnum() and v.upper() == v and len(m.get("Country", "")) == 2
                want[f"{ecs}.geo." + ("region_iso_code" if code else "region_name")] = \
                    f"{m['Country']}-{v}" if code else v
            elif k == "AS":
                want[f"{ecs}.as.number"] = v
                if j[sl + "_as"]:
                    want[f"sluice.{sl}_as"] = j[sl + "_as"]
            elif k == "ASName":
                want[f"{ecs}.as.organization.name"] = v
            else:
                raise AssertionError("unexpected json member " + side + k)
        if "AS" not in m and j.get(sl + "_as"):
            want[f"{ecs}.as.number"] = j[sl + "_as"]
    for k, v in j.items():
        if k == "ExporterName":
            want["observer.name"] = v
        elif k.startswith("Exporter"):
            want["sluice.exporter." + k[len("Exporter"):].lower()] = v
        for side, ecs, sl in (("InIf", "ingress", "in_if"), ("OutIf", "egress", "out_if")):
            if not k.startswith(side):
                continue
            rest = k[len(side):]
            if rest == "Name":
                want[f"observer.{ecs}.interface.name"] = v
            elif rest == "Description":
                want[f"observer.{ecs}.interface.alias"] = v
            else:
                want[f"sluice.{sl}.{IF_SLUICE[rest]}"] = v
    return want


ENRICHED = ("source.geo.", "destination.geo.", "source.as.", "destination.as.", "observer.name", "observer.geo.",
            "sluice.src.", "sluice.dst.", "sluice.exporter.", "sluice.in_if.", "sluice.out_if.", "sluice.src_as",
            "sluice.dst_as")


def enriched_ecs(doc):
    f = flatten(doc)
    out = {k: v for k, v in f.items() if k.startswith(ENRICHED)}
    for k in ("observer.ingress.interface.name", "observer.ingress.interface.alias",
              "observer.egress.interface.name", "observer.egress.interface.alias"):
        if k in f:
            out[k] = f[k]
    return out


class Ecs(unittest.TestCase):
    def test_every_record_carries_the_names(self):
        pcap = os.path.join(FIXTURES, base.SFLOW)
        with tempfile.TemporaryDirectory() as tmp:
            js, ecs = os.path.join(tmp, "out.json"), os.path.join(tmp, "out.ecs.json")
            p = subprocess.run([SLUICED, "--pcap", pcap, *base.SFLOW_PORT, *base.sources(tmp),
                                "--output", "name=json,path=%s" % js,
                                "--output", "name=ecs,path=%s,format=ecs_json" % ecs],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr[-3000:])
            with open(js) as f:
                jl = [json.loads(x) for x in f.read().splitlines()]
            with open(ecs) as f:
                el = [json.loads(x) for x in f.read().splitlines()]
        self.assertEqual(len(jl), 47)
        self.assertEqual(len(el), 47)
        for j, e in zip(jl, el):  # one sink: both outputs in the same order
            self.assertEqual(e["sluice"]["sequence_num"], j["sequence_num"])
            self.assertEqual(enriched_ecs(e), expected_ecs(j), (j, e))
        # The names, exactly, on the lines that have them.
        flows = [e for e in el if e["sluice"]["kind"] == "flow"]
        counters = [e for e in el if e["sluice"]["kind"] == "interface_counters"]
        self.assertEqual((len(flows), len(counters)), (46, 1))
        for e in el:
            self.assertEqual(e["observer"]["name"], "edge-sflow")
            self.assertEqual(e["sluice"]["exporter"], {"group": "edge", "role": "border", "site": "par1",
                                                       "region": "eu", "tenant": "net"})
            self.assertEqual(e["observer"]["ingress"]["interface"],
                             {"id": "5", "name": "et-0/0/5", "alias": "Transit: Cogent"})
            self.assertEqual(e["sluice"]["in_if"], {"speed": 100000, "boundary": "external",
                                                    "connectivity": "transit", "provider": "cogent"})
        for e in flows:
            self.assertEqual(e["observer"]["egress"]["interface"],
                             {"id": "1073741823", "name": "self", "alias": "the device itself (sFlow 0x3FFFFFFF)"})
        dns = [e for e in flows if e["source"].get("ip") == "203.0.113.53"]
        self.assertGreater(len(dns), 0)
        for e in dns:
            self.assertEqual(e["sluice"]["src"]["net"], {**({"prefix": e["sluice"]["src"]["net"]["prefix"]}
                                                             if "prefix" in e["sluice"]["src"]["net"] else {}),
                                                          "name": "dns1", "kind": "server", "service": "dns",
                                                          "team": "netops", "role": "resolver", "site": "par1",
                                                          "region": "eu", "tenant": "infra"})
            self.assertEqual(e["source"]["geo"], {"country_iso_code": "JP"})
        paris = [e for e in flows if e["source"].get("ip", "").startswith("198.51.100.")
                 and int(e["source"]["ip"].split(".")[-1]) < 128]
        self.assertGreater(len(paris), 0)
        for e in paris:
            self.assertEqual(e["source"]["geo"], {"country_iso_code": "FR", "region_iso_code": "FR-IDF",
                                                  "city_name": "Paris"})
            self.assertEqual(e["source"]["as"], {"number": 64500, "organization": {"name": 'Example "Transit"'}})


if __name__ == "__main__":
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    SLUICED, base.SLUICE_DECODE, FIXTURES, base.TESTDATA = sys.argv[1:5]
    base.SLUICED, base.FIXTURES = SLUICED, FIXTURES
    unittest.main(argv=[sys.argv[0]] + sys.argv[5:], verbosity=2)
