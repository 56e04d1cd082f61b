#!/usr/bin/env python3
"""Generate crates/render/openapi/merge_keys.json from the Kubernetes OpenAPI v2 spec.

Sources: Kubernetes v1.34.4 api/openapi-spec/swagger.json (the same document a
control plane serves at /openapi/v2), completed by Kubernetes v1.21.2's spec for
the kinds that 1.34 no longer serves (batch/v1beta1 CronJob, policy/v1beta1
PodDisruptionBudget, ...): v1.21.2 is the schema kustomize v5.5.0 has built in,
so old manifests keep merging as `kubectl kustomize` merges them. Types and
kinds of the first spec win.

Regenerate:

    dir() { go mod download -json "k8s.io/kubernetes@$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'; }
    python3 tools/openapi/generate.py \
        "$(dir v1.34.4)/api/openapi-spec/swagger.json" \
        "$(dir v1.21.2)/api/openapi-spec/swagger.json" \
        > crates/render/openapi/merge_keys.json

(a running API server's `kubectl get --raw /openapi/v2` can replace the first
file; set SOURCE_LABEL to describe it).

Output (read by crates/render/src/patch/schema.rs; keep both in step):

    {
      "source": "...",
      "kinds": {"<apiVersion>": {"<Kind>": "<type name>"}},
      "types": {"<type name>": {"<field>" | "*": {"t": "<type name>", "s": "<strategy>", "k": ["<key>", ...]}}}
    }

- "t": the type of the field's value (of the elements for a list, of the values
  for a string-keyed map, "*" is additionalProperties); omitted when that type
  carries no patch metadata anywhere below it.
- "s": x-kubernetes-patch-strategy (merge, replace, retainKeys, merge,retainKeys).
- "k": the merge keys as kustomize (kyaml) reads them: x-kubernetes-list-map-keys
  when present, else x-kubernetes-patch-merge-key; only when "s" is present,
  because kyaml ignores keys without a strategy.

Only fields that carry a strategy or lead to one are kept; every kind is kept
so that the renderer can tell built-in kinds from custom resources.
"""

import json
import os
import sys

ANY_FIELD = "*"


def ref_name(schema):
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return None
    prefix = "#/definitions/"
    return ref[len(prefix):] if ref.startswith(prefix) else ref


def compile_field(types, synthetic, prop):
    info = {}
    strategy = prop.get("x-kubernetes-patch-strategy")
    if isinstance(strategy, str):
        info["s"] = strategy
        list_keys = prop.get("x-kubernetes-list-map-keys")
        merge_key = prop.get("x-kubernetes-patch-merge-key")
        if isinstance(list_keys, list):
            info["k"] = [k for k in list_keys if isinstance(k, str)]
        elif isinstance(merge_key, str):
            info["k"] = [merge_key]
    value = prop.get("items") if isinstance(prop.get("items"), dict) else prop
    target = ref_name(value)
    if target is not None:
        info["t"] = target
    elif "properties" in value or isinstance(value.get("additionalProperties"), dict):
        inner = synthetic if value is prop else synthetic + "[]"
        compile_type(types, inner, value)
        if inner in types:
            info["t"] = inner
    return info


def compile_type(types, name, definition):
    fields = {}
    for field, prop in (definition.get("properties") or {}).items():
        fields[field] = compile_field(types, f"{name}/{field}", prop)
    additional = definition.get("additionalProperties")
    if isinstance(additional, dict):
        fields[ANY_FIELD] = compile_field(types, f"{name}/{ANY_FIELD}", additional)
    if fields:
        types[name] = fields


def prune(types):
    """Keep only fields with a strategy or leading (transitively) to one."""
    relevant = set()
    changed = True
    while changed:
        changed = False
        for name, fields in types.items():
            if name in relevant:
                continue
            if any("s" in f or f.get("t") in relevant for f in fields.values()):
                relevant.add(name)
                changed = True
    pruned = {}
    for name in sorted(relevant):
        kept = {}
        for field, info in sorted(types[name].items()):
            entry = {}
            if "t" in info and info["t"] in relevant:
                entry["t"] = info["t"]
            if "s" in info:
                entry["s"] = info["s"]
                if info.get("k"):
                    entry["k"] = info["k"]
            if entry:
                kept[field] = entry
        pruned[name] = kept
    return pruned


def load_spec(path, types, kinds):
    """Adds the kinds and types of one spec, keeping those already known."""
    with open(path) as f:
        spec = json.load(f)
    new_types = {}
    for name, definition in spec["definitions"].items():
        for gvk in definition.get("x-kubernetes-group-version-kind") or []:
            group, ver, kind = gvk.get("group", ""), gvk.get("version", ""), gvk.get("kind", "")
            if not ver or not kind:
                continue
            api_version = f"{group}/{ver}" if group else ver
            kinds.setdefault(api_version, {}).setdefault(kind, name)
        compile_type(new_types, name, definition)
    for name, fields in new_types.items():
        types.setdefault(name, fields)


def main():
    specs = sys.argv[1:]
    if not specs:
        sys.exit("usage: generate.py SWAGGER_JSON [OLDER_SWAGGER_JSON ...] > merge_keys.json")
    label = os.environ.get(
        "SOURCE_LABEL",
        "Kubernetes v1.34.4 api/openapi-spec/swagger.json, completed by v1.21.2 for kinds 1.34 dropped",
    )
    types = {}
    kinds = {}
    for path in specs:
        load_spec(path, types, kinds)
    out = {
        "source": f"{label} (OpenAPI v2), by tools/openapi/generate.py",
        "kinds": {av: dict(sorted(ks.items())) for av, ks in sorted(kinds.items())},
        "types": prune(types),
    }
    json.dump(out, sys.stdout, separators=(",", ":"), sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
