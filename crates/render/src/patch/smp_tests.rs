//! Unit tests of the strategic merge patch, one rule at a time, plus cases
//! from kustomize's conformance corpus (`api/krusty` tests).

use super::*;
use serde_json::json;

fn yaml(text: &str) -> Value {
    crate::yaml::parse_one(text, "test").unwrap_or_else(|e| panic!("bad test YAML: {e}"))
}

fn merged(target: &str, patch: &str) -> Value {
    let mut target = yaml(target);
    let patch = yaml(patch);
    if let Err(e) = strategic_merge(&mut target, &patch) {
        panic!("merge failed: {e}");
    }
    target
}

const DEPLOYMENT: &str = "
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 1
  template:
    spec:
      containers:
      - name: app
        image: app:1
        args: [--a, --b]
        env:
        - {name: A, value: '1'}
        - {name: B, value: '2'}
      - name: sidecar
        image: side:1
";

#[test]
fn maps_merge_recursively_and_scalars_are_replaced() {
    let out = merged(
        DEPLOYMENT,
        "
kind: Deployment
metadata:
  name: web
  labels: {tier: front}
spec:
  replicas: 3
",
    );
    assert_eq!(
        out["metadata"]["labels"],
        json!({"app": "web", "tier": "front"})
    );
    assert_eq!(out["spec"]["replicas"], json!(3));
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][1]["image"],
        json!("side:1")
    );
}

#[test]
fn null_deletes_a_field_and_never_adds_one() {
    let out = merged(
        DEPLOYMENT,
        "
metadata:
  labels: {app: null, gone: null}
spec:
  replicas: null
",
    );
    assert_eq!(out["metadata"]["labels"], json!({}));
    assert!(out["spec"].get("replicas").is_none());
}

#[test]
fn lists_with_a_merge_key_merge_by_key_patch_elements_first() {
    let out = merged(
        DEPLOYMENT,
        "
spec:
  template:
    spec:
      containers:
      - name: new
        image: new:1
      - name: app
        image: app:2
        env:
        - {name: B, value: '3'}
        - {name: C, value: '4'}
",
    );
    // kustomize "prepends": the patch's elements in patch order, then the
    // target's others (conformance cases TestPatchAddNewServicePort,
    // TestPathWithCronJobV1).
    let containers = &out["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers[0], json!({"name": "new", "image": "new:1"}));
    assert_eq!(containers[1]["name"], json!("app"));
    assert_eq!(containers[1]["image"], json!("app:2"));
    assert_eq!(containers[1]["args"], json!(["--a", "--b"]));
    assert_eq!(
        containers[1]["env"],
        json!([
            {"name": "B", "value": "3"},
            {"name": "C", "value": "4"},
            {"name": "A", "value": "1"}
        ])
    );
    assert_eq!(containers[2]["name"], json!("sidecar"));
    assert_eq!(containers.as_array().map(Vec::len), Some(3));
}

#[test]
fn lists_without_a_merge_strategy_are_replaced() {
    let out = merged(
        DEPLOYMENT,
        "
spec:
  template:
    spec:
      containers:
      - name: app
        args: [--c]
",
    );
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][0]["args"],
        json!(["--c"])
    );
}

#[test]
fn unknown_types_merge_maps_and_replace_lists() {
    let out = merged(
        "
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec:
  settings: {a: 1, b: 2}
  containers:
  - name: a
    image: a
  - name: b
",
        "
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec:
  settings: {b: 3}
  containers:
  - name: a
    image: z
",
    );
    assert_eq!(out["spec"]["settings"], json!({"a": 1, "b": 3}));
    assert_eq!(
        out["spec"]["containers"],
        json!([{"name": "a", "image": "z"}])
    );
}

#[test]
fn primitive_lists_with_merge_strategy_are_unioned() {
    let out = merged(
        "
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  finalizers: [a, b]
",
        "
metadata:
  finalizers: [b, c]
",
    );
    assert_eq!(out["metadata"]["finalizers"], json!(["b", "c", "a"]));
}

#[test]
fn delete_directive_removes_list_elements_and_maps() {
    let out = merged(
        DEPLOYMENT,
        "
spec:
  template:
    spec:
      containers:
      - name: sidecar
        $patch: delete
      - name: absent
        $patch: delete
      - name: app
        env:
        - name: A
          $patch: delete
",
    );
    let containers = &out["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers.as_array().map(Vec::len), Some(1));
    assert_eq!(containers[0]["env"], json!([{"name": "B", "value": "2"}]));

    let out = merged(DEPLOYMENT, "metadata:\n  labels:\n    $patch: delete\n");
    assert!(out["metadata"].get("labels").is_none());
}

#[test]
fn replace_directive_on_a_map_replaces_it() {
    let out = merged(
        DEPLOYMENT,
        "
metadata:
  labels:
    $patch: replace
    only: this
",
    );
    assert_eq!(out["metadata"]["labels"], json!({"only": "this"}));
}

#[test]
fn replace_directive_in_a_list_replaces_the_list() {
    let out = merged(
        DEPLOYMENT,
        "
spec:
  template:
    spec:
      containers:
      - $patch: replace
      - name: only
        image: only:1
",
    );
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"],
        json!([{"name": "only", "image": "only:1"}])
    );
}

#[test]
fn merge_directive_is_the_default_and_is_dropped() {
    let out = merged(
        DEPLOYMENT,
        "metadata:\n  labels:\n    $patch: merge\n    x: y\n",
    );
    assert_eq!(out["metadata"]["labels"], json!({"app": "web", "x": "y"}));
}

#[test]
fn unknown_directive_is_an_error_naming_the_path() {
    let mut target = yaml(DEPLOYMENT);
    let err = strategic_merge(
        &mut target,
        &yaml("metadata:\n  labels:\n    $patch: frob\n"),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "strategic merge patch at metadata.labels: unknown patch strategy 'frob'"
    );
}

#[test]
fn kind_mismatch_is_an_error_naming_the_path() {
    let mut target = yaml(DEPLOYMENT);
    let err = strategic_merge(&mut target, &yaml("spec:\n  replicas: {a: 1}\n")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "strategic merge patch at spec.replicas: cannot merge a map into a number"
    );
}

#[test]
fn top_level_delete_drops_the_object() {
    let patch = yaml("kind: Deployment\nmetadata:\n  name: web\n$patch: delete\n");
    assert!(is_delete_patch(&patch));
    let mut target = yaml(DEPLOYMENT);
    assert_eq!(
        strategic_merge_outcome(&mut target, &patch, Schema::builtin()),
        Ok(MergeOutcome::Deleted)
    );
    let mut target = yaml(DEPLOYMENT);
    assert_eq!(strategic_merge(&mut target, &patch), Ok(()));
    assert!(target.is_null());
    let mut target = yaml(DEPLOYMENT);
    assert_eq!(
        strategic_merge_outcome(
            &mut target,
            &yaml("metadata: {name: web}"),
            Schema::builtin()
        ),
        Ok(MergeOutcome::Merged)
    );
}

#[test]
fn retain_keys_drops_unlisted_keys() {
    let out = merged(
        "
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1}
",
        "
spec:
  strategy:
    $retainKeys: [type]
    type: Recreate
",
    );
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
}

#[test]
fn delete_from_primitive_list() {
    let out = merged(
        "
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  finalizers: [a, b, c]
",
        "
metadata:
  $deleteFromPrimitiveList/finalizers: [b]
",
    );
    assert_eq!(out["metadata"]["finalizers"], json!(["a", "c"]));
    assert!(
        out["metadata"]
            .get("$deleteFromPrimitiveList/finalizers")
            .is_none()
    );
}

#[test]
fn set_element_order_reorders_a_merged_list() {
    let out = merged(
        DEPLOYMENT,
        "
spec:
  template:
    spec:
      $setElementOrder/containers:
      - name: sidecar
      - name: app
      containers:
      - name: app
        image: app:3
",
    );
    let containers = &out["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers[0]["name"], json!("sidecar"));
    assert_eq!(containers[1]["image"], json!("app:3"));
    assert!(
        out["spec"]["template"]["spec"]
            .get("$setElementOrder/containers")
            .is_none()
    );
}

#[test]
fn new_fields_from_the_patch_are_cleaned() {
    let out = merged(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n",
        "
spec:
  containers:
  - name: a
    image: null
    env:
    - name: X
      $patch: delete
    - name: Y
      value: y
",
    );
    assert_eq!(
        out["spec"],
        json!({"containers": [{"name": "a", "env": [{"name": "Y", "value": "y"}]}]})
    );
}

#[test]
fn service_port_without_protocol_matches_the_tcp_port() {
    // Conformance case TestPatchPortHasNoProtocol.
    let out = merged(
        "
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
    - port: 30900
      targetPort: 30900
      protocol: TCP
  type: NodePort
",
        "
apiVersion: v1
kind: Service
metadata:
  name: web
  labels:
    service: web
spec:
  ports:
    - port: 30900
      targetPort: 30900
  selector:
    service: web
",
    );
    assert_eq!(
        out,
        yaml(
            "
apiVersion: v1
kind: Service
metadata:
  labels:
    service: web
  name: web
spec:
  ports:
  - port: 30900
    protocol: TCP
    targetPort: 30900
  selector:
    service: web
  type: NodePort
"
        )
    );
}

#[test]
fn ports_with_the_same_number_and_different_protocols_stay_apart() {
    let target = "
apiVersion: apps/v1
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
";
    // Conformance case TestSmpWithDifferentKeysOnDifferentPorts: untouched.
    let out = merged(
        target,
        "kind: StatefulSet\nmetadata:\n  name: myapp\n  labels: {test: label}\n",
    );
    assert_eq!(out["spec"], yaml(target)["spec"]);
    // A patch naming the UDP port changes only that one; with two merge
    // keys kustomize puts new elements first and keeps the target's order
    // (checked with `kubectl kustomize`).
    let out = merged(
        target,
        "
spec:
  template:
    spec:
      containers:
        - name: consul
          ports:
            - {containerPort: 8301, protocol: UDP, name: renamed}
            - {containerPort: 9000, name: new}
",
    );
    let ports = &out["spec"]["template"]["spec"]["containers"][0]["ports"];
    assert_eq!(
        ports,
        &json!([
            {"containerPort": 9000, "name": "new"},
            {"containerPort": 8500, "name": "http"},
            {"containerPort": 8301, "protocol": "TCP", "name": "serflan-tcp"},
            {"containerPort": 8301, "protocol": "UDP", "name": "renamed"},
        ])
    );
}

#[test]
fn numeric_keys_match_their_text() {
    let out = merged(
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n  - {port: 80, name: a}\n",
        "spec:\n  ports:\n  - {port: 80, name: b}\n",
    );
    assert_eq!(out["spec"]["ports"], json!([{"port": 80, "name": "b"}]));
}

#[test]
fn deleting_every_element_leaves_an_empty_list() {
    let out = merged(
        DEPLOYMENT,
        "
spec:
  template:
    spec:
      containers:
      - {name: app, $patch: delete}
      - {name: sidecar, $patch: delete}
",
    );
    assert_eq!(out["spec"]["template"]["spec"]["containers"], json!([]));
}

#[test]
fn embedded_objects_find_their_schema() {
    // A List's items are typed by their own apiVersion/kind.
    let out = merged(
        "
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  spec:
    containers:
    - {name: a, image: a}
",
        "
items:
- apiVersion: v1
  kind: Pod
  spec:
    containers:
    - {name: b, image: b}
",
    );
    // `items` of a List is not a merged list: replaced whole.
    assert_eq!(
        out["items"][0]["spec"]["containers"],
        json!([{"name": "b", "image": "b"}])
    );
}

#[test]
fn custom_schema_gives_merge_keys_to_a_crd() {
    let schema = Schema::from_openapi(&json!({
        "definitions": {
            "MyCRD": {
                "properties": {"spec": {"properties": {"template": {
                    "$ref": "#/definitions/io.k8s.api.core.v1.PodTemplateSpec"
                }}}},
                "x-kubernetes-group-version-kind": [
                    {"group": "example.com", "version": "v1alpha1", "kind": "MyCRD"}
                ]
            }
        }
    }))
    .map(|s| s.with_base(Schema::builtin()))
    .unwrap_or_else(|e| panic!("{e}"));
    let mut target = yaml(
        "
apiVersion: example.com/v1alpha1
kind: MyCRD
metadata: {name: s}
spec:
  template:
    spec:
      containers:
      - {name: server, image: server, command: example}
",
    );
    let patch = yaml(
        "
spec:
  template:
    spec:
      containers:
      - {name: server, image: nginx}
",
    );
    assert_eq!(strategic_merge_with(&mut target, &patch, &schema), Ok(()));
    assert_eq!(
        target["spec"]["template"]["spec"]["containers"],
        json!([{"name": "server", "image": "nginx", "command": "example"}])
    );
    let mut plain = yaml(
        "apiVersion: example.com/v1alpha1\nkind: MyCRD\nspec:\n  template:\n    spec:\n      containers:\n      - {name: server, command: example}\n",
    );
    assert_eq!(strategic_merge(&mut plain, &patch), Ok(()));
    assert_eq!(
        plain["spec"]["template"]["spec"]["containers"],
        json!([{"name": "server", "image": "nginx"}])
    );
}

#[test]
fn patch_must_be_a_map() {
    let mut target = yaml(DEPLOYMENT);
    assert!(matches!(
        strategic_merge(&mut target, &json!([1])),
        Err(PatchError::NotAPatch(_))
    ));
}

const SERVICE: &str = "
apiVersion: v1
kind: Service
metadata:
  name: s
spec:
  ports:
  - {port: 80, protocol: TCP, targetPort: 8080, name: a}
  - {port: 81, targetPort: 8081, name: b}
";

#[test]
fn port_patch_missing_a_protocol_the_target_has_is_ignored() {
    // kubectl kustomize (v5.5.0) leaves the port untouched: kyaml finds the
    // target element but not the patch element under the merged keys.
    let out = merged(
        SERVICE,
        "spec:\n  ports:\n  - {port: 80, targetPort: 9999}\n",
    );
    assert_eq!(out, yaml(SERVICE));
    let out = merged(
        SERVICE,
        "spec:\n  ports:\n  - {port: 81, protocol: UDP, name: u}\n",
    );
    assert_eq!(out, yaml(SERVICE));
}

#[test]
fn port_patch_with_the_same_keys_merges_in_place() {
    // Both lack `protocol`; the port number matches as text ("81" = 81).
    let out = merged(
        SERVICE,
        "spec:\n  ports:\n  - {port: '81', targetPort: 9000}\n",
    );
    assert_eq!(
        out["spec"]["ports"],
        json!([
            {"port": 80, "protocol": "TCP", "targetPort": 8080, "name": "a"},
            {"port": "81", "targetPort": 9000, "name": "b"}
        ])
    );
}

#[test]
fn deleting_a_port_by_both_keys() {
    let out = merged(
        SERVICE,
        "spec:\n  ports:\n  - {port: 80, protocol: TCP, $patch: delete}\n  - {port: 82, name: c}\n",
    );
    assert_eq!(
        out["spec"]["ports"],
        json!([
            {"port": 82, "name": "c"},
            {"port": 81, "targetPort": 8081, "name": "b"}
        ])
    );
}

#[test]
fn a_repeated_key_in_the_patch_is_ignored_after_the_first() {
    let out = merged(
        DEPLOYMENT,
        "
spec:
  template:
    spec:
      containers:
      - {name: sidecar, image: side:2}
      - {name: sidecar, command: [x]}
",
    );
    let containers = &out["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers[0], json!({"name": "sidecar", "image": "side:2"}));
    assert_eq!(containers[1]["name"], json!("app"));
}

#[test]
fn custom_schema_layered_over_builtin_resolves_builtin_refs() {
    // Corpus case TestCustomOpenApiFieldFromComponentWithOverlays: the
    // custom schema names DeploymentConfig and refers to the built-in
    // PodTemplateSpec, which it does not define.
    let custom = Schema::from_openapi(&json!({
        "definitions": {
            "com.github.openshift.api.apps.v1.DeploymentConfig": {
                "properties": {"spec": {"$ref": "#/definitions/com.github.openshift.api.apps.v1.DeploymentConfigSpec"}},
                "x-kubernetes-group-version-kind": [
                    {"group": "apps.openshift.io", "kind": "DeploymentConfig", "version": "v1"}
                ]
            },
            "com.github.openshift.api.apps.v1.DeploymentConfigSpec": {
                "properties": {"template": {"$ref": "#/definitions/io.k8s.api.core.v1.PodTemplateSpec"}}
            }
        }
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let layered = custom.with_base(Schema::builtin());
    let mut target = yaml(
        "
apiVersion: apps.openshift.io/v1
kind: DeploymentConfig
metadata:
  name: my-dc
spec:
  template:
    spec:
      initContainers:
      - name: init
      containers:
      - name: container
        env:
        - name: foo
          value: bar
        volumeMounts:
        - name: cm
          mountPath: /opt/cm
      volumes:
      - name: cm
        configMap:
          name: cm
",
    );
    let patch = yaml(
        "
apiVersion: apps.openshift.io/v1
kind: DeploymentConfig
metadata:
  name: my-dc
spec:
  template:
    spec:
      containers:
        - name: container
          volumeMounts:
            - name: additional-cm
              mountPath: /mnt
      volumes:
        - name: additional-cm
          configMap:
             name: additional-cm
",
    );
    assert_eq!(strategic_merge_with(&mut target, &patch, &layered), Ok(()));
    let expected = yaml(
        "
apiVersion: apps.openshift.io/v1
kind: DeploymentConfig
metadata:
  name: my-dc
spec:
  template:
    spec:
      containers:
      - env:
        - name: foo
          value: bar
        name: container
        volumeMounts:
        - mountPath: /mnt
          name: additional-cm
        - mountPath: /opt/cm
          name: cm
      initContainers:
      - name: init
      volumes:
      - configMap:
          name: additional-cm
        name: additional-cm
      - configMap:
          name: cm
        name: cm
",
    );
    assert_eq!(target, expected);
}

#[test]
fn malformed_directives_are_errors_naming_the_path() {
    let cases = [
        ("metadata:\n  labels:\n    $patch: 5\n", "metadata.labels"),
        (
            "spec:\n  strategy:\n    $retainKeys: type\n",
            "spec.strategy",
        ),
        (
            "metadata:\n  $deleteFromPrimitiveList/finalizers: a\n",
            "metadata",
        ),
        (
            "spec:\n  template:\n    spec:\n      $setElementOrder/containers: {}\n",
            "spec.template.spec",
        ),
    ];
    for (patch, path) in cases {
        let mut target = yaml(DEPLOYMENT);
        match strategic_merge(&mut target, &yaml(patch)) {
            Err(PatchError::Merge { path: at, .. }) => assert_eq!(at, path, "{patch}"),
            other => panic!("{patch}: expected a merge error, got {other:?}"),
        }
    }
}

#[test]
fn odd_list_elements_do_not_panic() {
    // Scalars in a keyed list, on either side, are left alone.
    let out = merged(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [x, {name: a}]\n",
        "spec:\n  containers: [y, {name: a, image: i}, null]\n",
    );
    assert_eq!(
        out["spec"]["containers"],
        json!([{"name": "a", "image": "i"}, "x"])
    );
}
