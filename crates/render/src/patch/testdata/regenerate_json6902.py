"""Regenerates the JSON 6902 oracle cases in ./oracle with `kubectl kustomize`
(kustomize v5.5.0 was used): each case is resource.yaml + patch.yaml (or
ops.yaml) + kustomization.yaml, and kubectl's output (expected.yaml) or error
(expected_error.txt, the message only). Run from anywhere:
python3 crates/render/src/patch/testdata/regenerate_json6902.py
"""
import re
import os, subprocess, shutil
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "oracle")


def error_message(stderr):
    m = re.search(r'err=(.*)', stderr, re.S)
    msg = m.group(1) if m else stderr
    return re.sub(r'\s*>\s*$', '', msg).strip().strip('<').strip() + "\n"
RES = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
  annotations:
    a/b: x
    c~d: y
spec:
  replicas: 1
  template:
    spec:
      containers:
      - name: a
        image: a
        args: [x, y]
"""
cases = {
 "add_missing_parent": "- op: add\n  path: /spec/strategy/type\n  value: Recreate\n",
 "replace_missing": "- op: replace\n  path: /spec/paused\n  value: true\n",
 "remove_missing": "- op: remove\n  path: /spec/paused\n",
 "append_dash": "- op: add\n  path: /spec/template/spec/containers/0/args/-\n  value: z\n",
 "negative_index": "- op: remove\n  path: /spec/template/spec/containers/0/args/-1\n",
 "escaped": "- op: replace\n  path: /metadata/annotations/a~1b\n  value: new\n- op: remove\n  path: /metadata/annotations/c~0d\n",
 "test_fail": "- op: test\n  path: /spec/replicas\n  value: 2\n",
 "test_ok": "- op: test\n  path: /spec/replicas\n  value: 1\n- op: replace\n  path: /spec/replicas\n  value: 5\n",
 "move_copy": "- op: copy\n  from: /spec/template/spec/containers/0\n  path: /spec/template/spec/containers/-\n- op: move\n  from: /spec/replicas\n  path: /spec/count\n",
 "add_index_out_of_range": "- op: add\n  path: /spec/template/spec/containers/0/args/5\n  value: q\n",
 "json_text": '[{"op": "add", "path": "/metadata/labels", "value": {"x": "y"}}]',
 "add_replaces_existing": "- op: add\n  path: /spec/replicas\n  value: 3\n",
 "test_missing_null": "- op: test\n  path: /spec/paused\n  value: null\n",
 "unknown_op": "- op: frob\n  path: /spec\n",
}
for name, ops in cases.items():
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    open(os.path.join(d, "resource.yaml"), "w").write(RES)
    open(os.path.join(d, "ops.yaml"), "w").write(ops)
    open(os.path.join(d, "kustomization.yaml"), "w").write("resources:\n- resource.yaml\npatches:\n- path: ops.yaml\n  target:\n    kind: Deployment\n")
    r = subprocess.run(["kubectl", "kustomize", d], capture_output=True, text=True)
    open(os.path.join(d, "expected.yaml" if r.returncode == 0 else "expected_error.txt"), "w").write(r.stdout if r.returncode == 0 else error_message(r.stderr))
    print(name, "ok" if r.returncode == 0 else "ERR " + r.stderr.strip().splitlines()[0][-200:])
