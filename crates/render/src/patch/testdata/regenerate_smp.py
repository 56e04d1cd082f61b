"""Regenerates the strategic merge oracle cases in ./oracle with `kubectl kustomize`
(kustomize v5.5.0 was used): each case is resource.yaml + patch.yaml (or
ops.yaml) + kustomization.yaml, and kubectl's output (expected.yaml) or error
(expected_error.txt, the message only). Run from anywhere:
python3 crates/render/src/patch/testdata/regenerate_smp.py
"""
import re
import os, subprocess, shutil
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "oracle")


def error_message(stderr):
    m = re.search(r'err=(.*)', stderr, re.S)
    msg = m.group(1) if m else stderr
    return re.sub(r'\s*>\s*$', '', msg).strip().strip('<').strip() + "\n"


DEP = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
  finalizers: [a, b]
spec:
  template:
    spec:
      containers:
      - name: a
        image: a
        ports:
        - {containerPort: 80, protocol: TCP, name: http}
        - {containerPort: 81, name: noproto}
        env:
        - {name: E1, value: '1'}
        - {name: E2, value: '2'}
      - name: b
        image: b
      - name: c
        image: c
      volumes:
      - name: v
        emptyDir: {}
      tolerations:
      - {key: k1, operator: Exists}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1}
"""
SVC = """apiVersion: v1
kind: Service
metadata:
  name: s
spec:
  ports:
  - {port: 80, protocol: TCP, targetPort: 8080, name: a}
  - {port: 81, targetPort: 8081, name: b}
"""
cases = {
 "middle": (DEP, "spec:\n  template:\n    spec:\n      containers:\n      - name: b\n        image: b2\n"),
 "finalizers": (DEP, "metadata:\n  finalizers: [b, c]\n"),
 "port_noproto_patch": (DEP, "spec:\n  template:\n    spec:\n      containers:\n      - name: a\n        ports:\n        - {containerPort: 80, name: changed}\n"),
 "port_udp_on_noproto": (DEP, "spec:\n  template:\n    spec:\n      containers:\n      - name: a\n        ports:\n        - {containerPort: 81, protocol: UDP, name: udp}\n"),
 "port_tcp_on_noproto": (DEP, "spec:\n  template:\n    spec:\n      containers:\n      - name: a\n        ports:\n        - {containerPort: 81, protocol: TCP, name: tcp}\n"),
 "replace_marker": (DEP, "spec:\n  template:\n    spec:\n      containers:\n      - $patch: replace\n      - name: z\n        image: z\n"),
 "retainkeys": (DEP, "spec:\n  strategy:\n    $retainKeys: [type]\n    type: Recreate\n"),
 "setelementorder": (DEP, "spec:\n  template:\n    spec:\n      $setElementOrder/containers:\n      - name: c\n      - name: b\n      - name: a\n      containers:\n      - name: a\n        image: a2\n"),
 "deletefromprimitive": (DEP, "metadata:\n  $deleteFromPrimitiveList/finalizers: [a]\n"),
 "dup_patch_keys": (DEP, "spec:\n  template:\n    spec:\n      containers:\n      - name: b\n        image: b2\n      - name: b\n        command: [x]\n"),
 "keyless_patch_elem": (DEP, "spec:\n  template:\n    spec:\n      containers:\n      - image: nokey\n      - name: b\n        image: b2\n"),
 "containers_null": (DEP, "spec:\n  template:\n    spec:\n      containers: null\n"),
 "null_dest_field": ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels: null\ndata: {a: b}\n", "metadata:\n  labels: {x: y}\n"),
 "volume_switch": (DEP, "spec:\n  template:\n    spec:\n      volumes:\n      - name: v\n        configMap: {name: cm}\n"),
 "delete_missing_map": (DEP, "spec:\n  template:\n    metadata:\n      $patch: delete\n"),
 "tolerations_replace": (DEP, "spec:\n  template:\n    spec:\n      tolerations:\n      - {key: k2, operator: Exists}\n"),
 "svc_port_str": (SVC, "spec:\n  ports:\n  - {port: '81', targetPort: 9000}\n"),
 "svc_port_noproto": (SVC, "spec:\n  ports:\n  - {port: 80, targetPort: 9999}\n"),
 "svc_new_port_udp": (SVC, "spec:\n  ports:\n  - {port: 80, protocol: UDP, targetPort: 53}\n"),
 "env_delete_and_add": (DEP, "spec:\n  template:\n    spec:\n      containers:\n      - name: a\n        env:\n        - {name: E1, $patch: delete}\n        - {name: E3, value: '3'}\n"),
 "new_list_with_nulls": ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n", "spec:\n  containers:\n  - name: a\n    image: null\n    env:\n    - {name: X, $patch: delete}\n    - {name: Y, value: y}\n  - name: a\n    image: dup\n"),
 "element_replace": (DEP, "spec:\n  template:\n    spec:\n      containers:\n      - name: a\n        $patch: replace\n        image: only\n"),
 "map_replace": (DEP, "spec:\n  strategy:\n    $patch: replace\n    type: Recreate\n"),
 "scalar_over_map": (DEP, "spec:\n  strategy: fast\n"),
 "crd_lists": ("apiVersion: x.io/v1\nkind: W\nmetadata:\n  name: w\nspec:\n  items:\n  - {name: a, v: 1}\n  - {name: b}\n  m: {a: 1}\n", "spec:\n  items:\n  - {name: a, v: 2}\n  m: {b: 2}\n"),
 "empty_patch_list": (DEP, "spec:\n  template:\n    spec:\n      containers: []\n"),
 "imagepullsecrets": (DEP, "spec:\n  template:\n    spec:\n      imagePullSecrets:\n      - name: s1\n"),
 "env_value_from": (DEP, "spec:\n  template:\n    spec:\n      containers:\n      - name: a\n        env:\n        - name: E2\n          valueFrom:\n            secretKeyRef: {name: s, key: k}\n"),
 "affinity_terms": (DEP, "spec:\n  template:\n    spec:\n      affinity:\n        nodeAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n            nodeSelectorTerms:\n            - matchExpressions:\n              - {key: zone, operator: In, values: [a]}\n"),
 "init_and_mounts": (DEP, "spec:\n  template:\n    spec:\n      initContainers:\n      - name: init\n        image: busybox\n        volumeMounts:\n        - {name: v, mountPath: /data}\n      containers:\n      - name: a\n        volumeMounts:\n        - {name: v, mountPath: /data}\n        resources:\n          limits: {cpu: '1'}\n"),
 "resources_null": (DEP, "spec:\n  template:\n    spec:\n      containers:\n      - name: b\n        image: null\n        resources: {requests: {memory: 1Gi}}\n"),
 "labels_and_annotations": (DEP, "metadata:\n  labels: {x: y}\n  annotations: {a: b}\nspec:\n  replicas: 3\n"),
 "keyless_dest_elem": ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - image: nokey\n  - name: a\n    image: a\n", "spec:\n  containers:\n  - name: b\n    image: b\n"),
}
for name, (res, patch) in cases.items():
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    open(os.path.join(d, "resource.yaml"), "w").write(res)
    first = res.split("\n")
    head = "\n".join(l for l in first[:2]) + "\nmetadata:\n  name: " + [l.split(": ")[1] for l in first if l.startswith("  name: ")][0] + "\n"
    # patch must carry kind/name: merge head into patch text
    ptxt = patch
    if ptxt.startswith("metadata:\n"):
        ptxt = "\n".join(first[:2]) + "\n" + ptxt.replace("metadata:\n", "metadata:\n  name: " + [l.split(": ")[1] for l in first if l.startswith("  name: ")][0] + "\n", 1)
    else:
        ptxt = head + ptxt
    open(os.path.join(d, "patch.yaml"), "w").write(ptxt)
    open(os.path.join(d, "kustomization.yaml"), "w").write("resources:\n- resource.yaml\npatches:\n- path: patch.yaml\n")
    r = subprocess.run(["kubectl", "kustomize", d], capture_output=True, text=True)
    if r.returncode == 0:
        open(os.path.join(d, "expected.yaml"), "w").write(r.stdout)
    else:
        open(os.path.join(d, "expected_error.txt"), "w").write(error_message(r.stderr))
    print(name, "ok" if r.returncode == 0 else "ERR " + r.stderr.strip()[:200])

STS = """apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: myapp
spec:
  template:
    spec:
      containers:
        - name: consul
          ports:
            - {containerPort: 8500, name: http}
            - {containerPort: 8301, protocol: TCP, name: serflan-tcp}
            - {containerPort: 8301, protocol: UDP, name: serflan-udp}
"""
more = {
 "sts_ports": (STS, "spec:\n  template:\n    spec:\n      containers:\n        - name: consul\n          ports:\n            - {containerPort: 8301, protocol: UDP, name: renamed}\n            - {containerPort: 9000, name: new}\n"),
 "sts_ports_delete": (STS, "spec:\n  template:\n    spec:\n      containers:\n        - name: consul\n          ports:\n            - {containerPort: 8301, protocol: TCP, $patch: delete}\n            - {containerPort: 8500, name: web}\n"),
 "sts_ports_two_new": (STS, "spec:\n  template:\n    spec:\n      containers:\n        - name: consul\n          ports:\n            - {containerPort: 1, name: one}\n            - {containerPort: 2, protocol: UDP, name: two}\n"),
}
for name, (res, patch) in more.items():
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    open(os.path.join(d, "resource.yaml"), "w").write(res)
    open(os.path.join(d, "patch.yaml"), "w").write("apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: myapp\n" + patch)
    open(os.path.join(d, "kustomization.yaml"), "w").write("resources:\n- resource.yaml\npatches:\n- path: patch.yaml\n")
    r = subprocess.run(["kubectl", "kustomize", d], capture_output=True, text=True)
    open(os.path.join(d, "expected.yaml" if r.returncode == 0 else "expected_error.txt"), "w").write(r.stdout if r.returncode == 0 else error_message(r.stderr))
    print(name, r.stdout[r.stdout.find("ports"):] if r.returncode == 0 else r.stderr)
