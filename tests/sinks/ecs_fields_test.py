#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# ECS JSON: every field the encoder writes (every bundled capture, a record with every field set, and records with
# enrichment sets holding every key, custom keys included: encode_dump --enriched) is
#   * an ECS field of the ECS type, from the @elastic/ecs npm package's definitions (ecs_flat), or under `sluice.`;
#   * mapped by sinks/elasticsearch/index-template.json with that type, and every mapping is written by the encoder
#     (a custom enrichment key by the template's dynamic template for strings under sluice's enrichment objects);
# and the ILM policy, Kafka Connect config and Logstash pipeline agree with it (8 days, our topic, event.id as the
# document id, no transform). Without the npm package (scripts/setup fetches it into .deps/npm) the ECS part
# skips with its reason; the template checks run first either way.
#   ecs_fields_test.py ENCODE_DUMP SOURCE_ROOT
import fnmatch
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys

FIXTURES = ["fprobe-v5-ipv4.pcap", "softflowd-v5-ipv4.pcap", "softflowd-v9-ipv4.pcap", "softflowd-v9-ipv6.pcap",
            "pmacct-nfprobe-v9.pcap", "softflowd-ipfix-ipv4.pcap", "softflowd-ipfix-ipv6.pcap",
            "softflowd-ipfix-ether.pcap", "softflowd-ipfix-biflow-ipv4.pcap", "pmacct-nfprobe-ipfix.pcap",
            "pmacct-sfprobe-sflow.pcap"]
ECS_JS = os.path.join(".deps", "npm", "node_modules", "@elastic", "ecs", "generated", "ecs_flat.js")
DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
LONG_MAX = (1 << 63) - 1


def flatten(doc, prefix=""):
    out = {}
    for k, v in doc.items():
        key = prefix + k
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def mapping_types(props, prefix="", dynamic=None):
    """Flat field -> type; `dynamic` collects the objects that map new fields (their path + ".")."""
    out = {}
    for k, v in props.items():
        if "properties" in v:
            if v.get("dynamic") is True and dynamic is not None:
                dynamic.append(prefix + k + ".")
            out.update(mapping_types(v["properties"], prefix + k + ".", dynamic))
        else:
            out[prefix + k] = v["type"]
    return out


def dynamic_type(templates, dynamic_objects, field, value):
    """The type a dynamic template gives a new field (None: the template maps it not)."""
    if not any(field.startswith(o) and "." not in field[len(o):] for o in dynamic_objects):
        return None
    for entry in templates:
        (t,) = entry.values()
        pats = t["path_match"] if isinstance(t["path_match"], list) else [t["path_match"]]
        if t.get("match_mapping_type") == "string" and isinstance(value, str) and \
                any(fnmatch.fnmatchcase(field, p) for p in pats):
            return t["mapping"]["type"]
    return None


def value_fits(es_type, v):
    """Does a JSON value fit an Elasticsearch / ECS type?"""
    if es_type == "long":
        return isinstance(v, int) and not isinstance(v, bool) and -LONG_MAX - 1 <= v <= LONG_MAX
    if es_type == "keyword":
        return isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))
    if es_type == "ip":
        try:
            ipaddress.ip_address(v)
            return True
        except (ValueError, TypeError):
            return False
    if es_type == "date":
        return isinstance(v, str) and DATE.match(v) is not None
    if es_type == "boolean":
        return isinstance(v, bool)
    return False


def main():
    dump, root = sys.argv[1], sys.argv[2]
    es = os.path.join(root, "sinks", "elasticsearch")
    docs = []
    for args in [[os.path.join(root, "tests", "fixtures", f)] for f in FIXTURES] + [["--max"], ["--enriched"]]:
        out = subprocess.run([dump, "ecs_json"] + args, check=True, capture_output=True).stdout
        lines = out.decode().splitlines()
        assert lines, args
        docs += [flatten(json.loads(line)) for line in lines]
    emitted = {}
    for d in docs:
        for k, v in d.items():
            emitted.setdefault(k, []).append(v)

    # --- the index template, ILM policy, Logstash and Kafka Connect configs ---
    with open(os.path.join(es, "index-template.json")) as f:
        template = json.load(f)
    with open(os.path.join(es, "ilm-policy.json")) as f:
        ilm = json.load(f)
    with open(os.path.join(es, "kafka-connect-elasticsearch.json")) as f:
        connect = json.load(f)
    with open(os.path.join(es, "logstash.conf")) as f:
        logstash = f.read()
    dynamic_objects = []
    mapped = mapping_types(template["template"]["mappings"]["properties"], dynamic=dynamic_objects)
    templates = template["template"]["mappings"].get("dynamic_templates", [])
    dynamically = set()
    for k, vals in emitted.items():
        if k not in mapped:
            types = {dynamic_type(templates, dynamic_objects, k, v) for v in vals}
            assert types == {"keyword"}, f"the encoder writes {k}, the template does not map it ({types})"
            dynamically.add(k)
            continue
        bad = [v for v in vals if not value_fits(mapped[k], v)]
        assert not bad, f"{k}: mapped {mapped[k]}, written {bad[:3]}"
    assert dynamically == {f"sluice.{o}.rack" for o in ("src.net", "dst.net", "exporter", "in_if", "out_if")}, \
        f"mapped by the dynamic template: {sorted(dynamically)}"
    unused = set(mapped) - set(emitted)
    assert not unused, f"mapped but never written: {sorted(unused)}"
    assert template["template"]["settings"]["index.lifecycle.name"] == "sluice-flows-8d"
    assert ilm["policy"]["phases"]["delete"]["min_age"] == "8d"
    assert "delete" in ilm["policy"]["phases"]["delete"]["actions"]
    c = connect["config"]
    assert c["topics"] == "sluice-flows" and c["key.ignore"] == "false"
    assert not any(k.startswith("transforms") for k in c), "the Connect sink must take the topic as it is"
    target = f'{c["data.stream.type"]}-{c["data.stream.dataset"]}-{c["topics"]}'  # Connect's data stream name
    pats = [re.compile("^" + re.escape(p).replace(r"\*", ".*") + "$") for p in template["index_patterns"]]
    assert any(p.match(target) for p in pats), f"Connect writes {target}, no template pattern matches"
    assert any(p.match("sluice-flows") for p in pats)
    assert 'topics => ["sluice-flows"]' in logstash and 'document_id => "%{[event][id]}"' in logstash
    assert re.search(r"^\s*filter\s*{", logstash, re.M) is None, "the Logstash pipeline must not transform"
    ids = emitted["event.id"]
    assert all(re.match(r"^[0-9a-f]{16}$", i) for i in ids)
    print(f"{len(docs)} documents, {len(emitted)} fields: all mapped with matching types "
          f"({len(dynamically)} by the dynamic template); configs agree")

    # --- ECS definitions ---
    ecs_js = os.path.join(root, ECS_JS)
    if not os.path.exists(ecs_js):
        print(f"SKIP: ECS definitions not found at {ecs_js} (scripts/setup fetches the @elastic/ecs npm package)")
        sys.exit(77)
    if shutil.which("node") is None:
        print("SKIP: node not installed (Debian package nodejs): cannot read the @elastic/ecs definitions")
        sys.exit(77)
    ecs = json.loads(subprocess.run(["node", "-e", "process.stdout.write(JSON.stringify(require(process.argv[1]).EcsFlat))",
                                     os.path.abspath(ecs_js)], check=True, capture_output=True).stdout)
    ours = 0
    for k, vals in emitted.items():
        if k.startswith("sluice."):
            ours += 1
            continue
        assert k in ecs, f"{k} is not an ECS field (ours go under sluice.)"
        assert k in mapped, f"{k}: an ECS field must be mapped explicitly"
        t = ecs[k]["type"]
        assert mapped[k] == t, f"{k}: template maps {mapped[k]}, ECS says {t}"
        is_array = "array" in ecs[k].get("normalize", [])
        for v in vals:
            if isinstance(v, list):
                assert is_array, f"{k}: an array, ECS does not normalize it to one"
                items = v
            else:
                items = [v]
            for x in items:
                assert value_fits(t, x), f"{k}: {x!r} is no ECS {t}"
                allowed = ecs[k].get("allowed_values")
                if allowed:
                    assert x in {a["name"] for a in allowed}, f"{k}: {x!r} is not an allowed value"
    # event.type values must be expected for event.category network (ECS's expected_event_types).
    cat = {a["name"]: a for a in ecs["event.category"]["allowed_values"]}
    for v in emitted["event.type"]:
        for x in v:
            assert x in cat["network"].get("expected_event_types", []), f"event.type {x} unexpected for network"
    with open(os.path.join(os.path.dirname(os.path.dirname(ecs_js)), "package.json")) as f:
        version = json.load(f)["version"]
    print(f"{len(emitted) - ours} ECS fields match the definitions of @elastic/ecs {version}; "
          f"{ours} fields under sluice.")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
