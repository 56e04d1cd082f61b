//! Flux's `GitRepository` and `Kustomization` CRDs generated from the Rust
//! types: the seed manifests (`tests/seeds/flux/`, see its README) are
//! accepted by a real API server, nothing in them is lost, both served
//! versions read them back through the typed `Api`, and `kubectl get` shows
//! Flux's columns. Without a cluster: the merged CRDs' shape and a round
//! trip of every fixture through the Rust types.

mod common;

use std::path::{Path, PathBuf};

use common::missing_fields;
use driftless_api::flux::{kustomize, source};
use driftless_testkit::cluster::ControlPlane;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use serde_json::{Value, json};

const FLUX_CRDS: [&str; 2] = [
    "gitrepositories.source.toolkit.fluxcd.io",
    "kustomizations.kustomize.toolkit.fluxcd.io",
];

/// One manifest file of `tests/seeds/flux/`.
struct Fixture {
    file: PathBuf,
    doc: Value,
}

impl Fixture {
    fn field(&self, pointer: &str) -> &str {
        self.doc
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{}: no {pointer}", self.file.display()))
    }

    fn name(&self) -> &str {
        self.field("/metadata/name")
    }

    fn kind(&self) -> &str {
        self.field("/kind")
    }

    fn version(&self) -> &str {
        self.field("/apiVersion")
            .rsplit('/')
            .next()
            .unwrap_or_default()
    }

    /// `kustomizations.v1beta2.kustomize.toolkit.fluxcd.io`, for kubectl.
    fn resource(&self) -> String {
        let (group, version) = self
            .field("/apiVersion")
            .split_once('/')
            .expect("group/version");
        let plural = match self.kind() {
            "Kustomization" => "kustomizations",
            "GitRepository" => "gitrepositories",
            other => panic!("{}: unexpected kind {other}", self.file.display()),
        };
        format!("{plural}.{version}.{group}")
    }

    /// The manifest moved to `namespace`, as JSON for `kubectl apply -f -`.
    fn in_namespace(&self, namespace: &str) -> Value {
        let mut doc = self.doc.clone();
        doc["metadata"]["namespace"] = json!(namespace);
        doc
    }
}

fn fixtures() -> Vec<Fixture> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/seeds/flux");
    common::yaml_documents(&dir)
        .into_iter()
        .map(|(file, doc)| Fixture { file, doc })
        .collect()
}

fn assert_nothing_missing(want: &Value, have: &Value, what: &str) {
    let mut missing = Vec::new();
    missing_fields(want, have, "", &mut missing);
    assert!(missing.is_empty(), "{what}:\n{}", missing.join("\n"));
}

fn flux_crd(name: &str) -> CustomResourceDefinition {
    driftless_api::crd::crds()
        .into_iter()
        .find(|crd| crd.metadata.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("crds() holds no {name}"))
}

#[test]
fn fixtures_are_the_four_seed_kustomizations_and_their_sources() {
    let fixtures = fixtures();
    let kinds: Vec<(&str, &str, &str)> = fixtures
        .iter()
        .map(|f| (f.kind(), f.version(), f.name()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("Kustomization", "v1beta2", "my-service-production"),
            ("Kustomization", "v1beta2", "my-service-staging"),
            ("Kustomization", "v1", "apps"),
            ("Kustomization", "v1", "infrastructure"),
            ("GitRepository", "v1beta2", "my-service"),
            ("GitRepository", "v1", "flux-system"),
        ]
    );
}

#[test]
fn merged_crds_serve_both_versions_and_store_v1() {
    for (name, columns) in [
        (
            "gitrepositories.source.toolkit.fluxcd.io",
            vec!["URL", "Age", "Ready", "Status"],
        ),
        (
            "kustomizations.kustomize.toolkit.fluxcd.io",
            vec!["Age", "Ready", "Status"],
        ),
    ] {
        let crd = flux_crd(name);
        let versions: Vec<(&str, bool, bool)> = crd
            .spec
            .versions
            .iter()
            .map(|v| (v.name.as_str(), v.served, v.storage))
            .collect();
        assert_eq!(
            versions,
            [("v1", true, true), ("v1beta2", true, false)],
            "{name}"
        );
        for version in &crd.spec.versions {
            let shown: Vec<&str> = version
                .additional_printer_columns
                .iter()
                .flatten()
                .map(|c| c.name.as_str())
                .collect();
            assert_eq!(shown, columns, "{name} {}", version.name);
            assert!(
                version
                    .subresources
                    .as_ref()
                    .is_some_and(|s| s.status.is_some()),
                "{name}: status subresource"
            );
            let schema = serde_json::to_value(&version.schema).expect("schema as JSON");
            let spec = &schema["openAPIV3Schema"]["properties"]["spec"];
            assert_eq!(
                spec["x-kubernetes-preserve-unknown-fields"],
                json!(true),
                "{name} {}",
                version.name
            );
            assert!(
                spec["properties"]["interval"]["description"].is_string(),
                "{name}: fields are documented"
            );
        }
        assert_eq!(
            crd.spec.versions[1].deprecated,
            Some(true),
            "{name}: v1beta2 is deprecated"
        );
    }
    let kustomization =
        serde_json::to_value(flux_crd("kustomizations.kustomize.toolkit.fluxcd.io")).unwrap();
    let spec_of = |i: usize| {
        kustomization["spec"]["versions"][i]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"].clone()
    };
    assert!(spec_of(0)["healthCheckExprs"].is_object() && spec_of(0)["deletionPolicy"].is_object());
    assert!(
        spec_of(1)["patchesStrategicMerge"].is_object()
            && spec_of(1)["patchesJson6902"].is_object()
    );
    assert!(
        spec_of(0)["patchesStrategicMerge"].is_null(),
        "v1 has no patchesStrategicMerge"
    );
}

/// Each fixture deserializes into the Rust type of its version and
/// serializes back without losing a field the author wrote.
#[test]
fn fixtures_round_trip_through_the_rust_types() {
    for fixture in fixtures() {
        let spec = &fixture.doc["spec"];
        let back = match (fixture.kind(), fixture.version()) {
            ("Kustomization", "v1") => round_trip::<kustomize::v1::KustomizationSpec>(spec),
            ("Kustomization", "v1beta2") => {
                round_trip::<kustomize::v1beta2::KustomizationSpec>(spec)
            }
            ("GitRepository", "v1") => round_trip::<source::v1::GitRepositorySpec>(spec),
            ("GitRepository", "v1beta2") => round_trip::<source::v1beta2::GitRepositorySpec>(spec),
            other => panic!("{}: unexpected {other:?}", fixture.file.display()),
        };
        assert_nothing_missing(spec, &back, &fixture.file.display().to_string());
    }
}

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(spec: &Value) -> Value {
    let typed: T = serde_json::from_value(spec.clone()).expect("the spec deserializes");
    serde_json::to_value(&typed).expect("the spec serializes")
}

/// Every field both versions know, and the deprecated v1beta2 patches.
#[test]
fn a_full_v1beta2_spec_round_trips() {
    let spec = json!({
        "interval": "1h30m",
        "prune": false,
        "sourceRef": {"kind": "GitRepository", "name": "repo", "namespace": "other", "apiVersion": "source.toolkit.fluxcd.io/v1"},
        "patchesStrategicMerge": [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": {"replicas": 2}}],
        "patchesJson6902": [{"target": {"kind": "Deployment", "name": "x"}, "patch": [{"op": "replace", "path": "/spec/replicas", "value": 3}, {"op": "move", "from": "/a", "path": "/b"}]}],
        "postBuild": {"substitute": {"A": "1"}, "substituteFrom": [{"kind": "ConfigMap", "name": "vars"}, {"kind": "Secret", "name": "s", "optional": true}]},
        "images": [{"name": "nginx", "newName": "registry/nginx", "newTag": "1.27", "digest": "sha256:abc"}],
        "patches": [{"patch": "- op: add\n  path: /x\n  value: 1", "target": {"kind": "Service", "labelSelector": "a=b", "annotationSelector": "c=d", "group": "", "version": "v1", "namespace": "n", "name": "s"}}],
        "commonMetadata": {"labels": {"team": "a"}, "annotations": {"note": "b"}},
        "decryption": {"provider": "sops", "secretRef": {"name": "sops-keys"}},
        "kubeConfig": {"secretRef": {"name": "kc", "key": "value.yaml"}},
        "dependsOn": [{"name": "infra", "namespace": "flux-system", "readyExpr": "dep.status.ready"}],
        "components": ["../components/a"],
        "namePrefix": "p-", "nameSuffix": "-s", "targetNamespace": "t", "serviceAccountName": "sa",
        "force": true, "wait": true, "suspend": true, "retryInterval": "1m", "timeout": "2m", "path": "./x",
        "validation": "client"
    });
    let back = round_trip::<kustomize::v1beta2::KustomizationSpec>(&spec);
    assert_nothing_missing(&spec, &back, "v1beta2 spec");
    let mut v1 = spec.clone();
    let object = v1.as_object_mut().unwrap();
    for deprecated in ["patchesStrategicMerge", "patchesJson6902", "validation"] {
        object.remove(deprecated);
    }
    object.insert("healthCheckExprs".into(), json!([{"apiVersion": "a/v1", "kind": "K", "current": "true", "inProgress": "false", "failed": "false"}]));
    object.insert("deletionPolicy".into(), json!("Orphan"));
    object.insert("ignoreMissingComponents".into(), json!(true));
    let back = round_trip::<kustomize::v1::KustomizationSpec>(&v1);
    assert_nothing_missing(&v1, &back, "v1 spec");
}

/// Installs the Flux CRDs from `crds/` (generated from the Rust types;
/// `crates/cli/tests/crds_up_to_date.rs` fails when they are stale).
fn install_crds(cp: &ControlPlane) {
    cp.install_crds(&FLUX_CRDS);
}

/// Applies every fixture into `namespace` as a user would (server-side
/// apply, strict validation); returns the rejections.
fn apply_all(cp: &ControlPlane, fixtures: &[Fixture], namespace: &str) -> Vec<String> {
    let mut rejected = Vec::new();
    for fixture in fixtures {
        let doc = fixture.in_namespace(namespace).to_string();
        let args = [
            "apply",
            "--server-side",
            "--validate=strict",
            "--field-manager=seed-user",
            "-f",
            "-",
        ];
        if let Err(e) = cp.kubectl_stdin(&args, &doc) {
            rejected.push(format!("{}: {e}", fixture.file.display()));
        }
    }
    rejected
}

/// Reads the fixture back through `version` of its resource with kubectl.
fn read_back(cp: &ControlPlane, fixture: &Fixture, namespace: &str, version: &str) -> Value {
    let resource = fixture.resource().replacen(fixture.version(), version, 1);
    let live = cp
        .kubectl(&[
            "get",
            &resource,
            fixture.name(),
            "-n",
            namespace,
            "-o",
            "json",
        ])
        .unwrap_or_else(|e| panic!("reading back {}: {e}", fixture.file.display()));
    serde_json::from_str(&live).expect("kubectl -o json is JSON")
}

#[tokio::test]
async fn seed_flux_manifests_are_accepted_and_read_back_through_both_versions() {
    let cp = ControlPlane::shared().await;
    install_crds(cp);
    let namespace = cp.namespace("flux-seeds").await;
    let fixtures = fixtures();

    let rejected = apply_all(cp, &fixtures, &namespace);
    assert!(
        rejected.is_empty(),
        "rejected seed manifests:\n{}",
        rejected.join("\n")
    );

    // Nothing the author wrote was pruned or changed, whichever version reads it.
    for fixture in &fixtures {
        for version in ["v1", "v1beta2"] {
            let live = read_back(cp, fixture, &namespace, version);
            let what = format!("{} read as {version}", fixture.file.display());
            assert_nothing_missing(&fixture.doc["spec"], &live["spec"], &what);
            assert_eq!(
                live["apiVersion"].as_str().map(|v| v.ends_with(version)),
                Some(true),
                "{what}"
            );
        }
    }

    let client = cp.client().await;
    check_typed_kustomizations(client.clone(), &namespace).await;
    check_typed_git_repositories(client, &namespace).await;
    check_printer_columns(cp, &namespace);

    let _ = cp.kubectl(&["delete", "namespace", &namespace, "--wait=false"]);
}

/// The seeds' fields as the controller will see them, through both typed APIs.
async fn check_typed_kustomizations(client: kube::Client, namespace: &str) {
    let beta: Api<kustomize::v1beta2::Kustomization> = Api::namespaced(client.clone(), namespace);
    let v1: Api<kustomize::v1::Kustomization> = Api::namespaced(client, namespace);

    let staging = beta
        .get("my-service-staging")
        .await
        .expect("staging as v1beta2")
        .spec;
    assert_eq!(staging.interval, "5m");
    assert_eq!(staging.path.as_deref(), Some("./k8s/overlays/staging"));
    assert!(staging.prune && !staging.suspend);
    assert_eq!(
        (
            staging.source_ref.kind.as_str(),
            staging.source_ref.name.as_str()
        ),
        ("GitRepository", "my-service")
    );
    assert_eq!(staging.target_namespace.as_deref(), Some("staging"));
    assert_eq!(staging.retry_interval.as_deref(), Some("2m"));
    assert_eq!(staging.timeout.as_deref(), Some("5m"));
    let check = &staging.health_checks[0];
    assert_eq!(
        (
            check.api_version.as_deref(),
            check.kind.as_str(),
            check.name.as_str(),
            check.namespace.as_deref()
        ),
        (Some("apps/v1"), "Deployment", "my-service", Some("staging"))
    );

    // The v1beta2 seed read through the stored version.
    let production = v1
        .get("my-service-production")
        .await
        .expect("production as v1")
        .spec;
    assert_eq!(production.depends_on.len(), 1);
    assert_eq!(production.depends_on[0].name, "my-service-staging");
    assert_eq!(production.depends_on[0].namespace, None);
    assert_eq!(
        (production.interval.as_str(), production.timeout.as_deref()),
        ("10m", Some("10m"))
    );
    assert_eq!(production.target_namespace.as_deref(), Some("production"));

    let apps = v1.get("apps").await.expect("apps as v1").spec;
    assert!(apps.wait && apps.prune);
    assert_eq!(apps.depends_on[0].name, "infrastructure");
    assert_eq!(apps.path.as_deref(), Some("./apps/production"));
    assert_eq!(
        apps.health_checks[0].namespace.as_deref(),
        Some("production")
    );
    // And the v1 seed read through v1beta2.
    let infrastructure = beta
        .get("infrastructure")
        .await
        .expect("infrastructure as v1beta2")
        .spec;
    assert!(infrastructure.wait);
    assert_eq!(infrastructure.source_ref.name, "flux-system");
}

async fn check_typed_git_repositories(client: kube::Client, namespace: &str) {
    let v1: Api<source::v1::GitRepository> = Api::namespaced(client.clone(), namespace);
    let beta: Api<source::v1beta2::GitRepository> = Api::namespaced(client, namespace);
    let fleet = v1.get("flux-system").await.expect("flux-system as v1").spec;
    assert_eq!(
        fleet.url,
        "ssh://git@git.example.invalid/my-org/fleet-infra"
    );
    assert_eq!(fleet.interval, "1m0s");
    assert_eq!(
        fleet.reference.and_then(|r| r.branch).as_deref(),
        Some("main")
    );
    assert_eq!(
        fleet.secret_ref.map(|s| s.name).as_deref(),
        Some("flux-system")
    );
    let service = beta
        .get("my-service")
        .await
        .expect("my-service as v1beta2")
        .spec;
    assert_eq!(
        service.url,
        "https://git.example.invalid/my-org/my-service.git"
    );
    assert_eq!(
        service.reference.and_then(|r| r.branch).as_deref(),
        Some("main")
    );
    let service_v1 = v1.get("my-service").await.expect("my-service as v1").spec;
    assert_eq!(service_v1.interval, "1m");
}

/// `kubectl get` shows Flux's columns, filled from a status as the
/// controller writes it.
fn check_printer_columns(cp: &ControlPlane, namespace: &str) {
    let ready = |message: &str| {
        json!({"status": {"observedGeneration": 1, "conditions": [{
            "type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
            "message": message, "lastTransitionTime": "2026-01-01T00:00:00Z"
        }]}})
        .to_string()
    };
    for (resource, name, message) in [
        (
            "kustomizations.v1.kustomize.toolkit.fluxcd.io",
            "apps",
            "Applied revision: main@sha1:0123abc",
        ),
        (
            "gitrepositories.v1.source.toolkit.fluxcd.io",
            "flux-system",
            "stored artifact for revision 'main@sha1:0123abc'",
        ),
    ] {
        cp.kubectl(&[
            "patch",
            resource,
            name,
            "-n",
            namespace,
            "--subresource=status",
            "--type=merge",
            "-p",
            &ready(message),
        ])
        .unwrap_or_else(|e| panic!("writing the status of {resource}/{name}: {e}"));
    }
    let out = cp
        .kubectl(&["get", "kustomizations", "-n", namespace])
        .expect("kubectl get kustomizations");
    let header: Vec<&str> = out
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(header, ["NAME", "AGE", "READY", "STATUS"], "{out}");
    let apps = out
        .lines()
        .find(|l| l.starts_with("apps "))
        .unwrap_or_else(|| panic!("apps not listed:\n{out}"));
    assert!(
        apps.contains("True") && apps.contains("Applied revision: main@sha1:0123abc"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 5, "four Kustomizations:\n{out}");

    let out = cp
        .kubectl(&["get", "gitrepositories", "-n", namespace])
        .expect("kubectl get gitrepositories");
    let header: Vec<&str> = out
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(header, ["NAME", "URL", "AGE", "READY", "STATUS"], "{out}");
    let fleet = out
        .lines()
        .find(|l| l.starts_with("flux-system "))
        .unwrap_or_else(|| panic!("flux-system not listed:\n{out}"));
    assert!(
        fleet.contains("ssh://git@git.example.invalid/my-org/fleet-infra")
            && fleet.contains("True"),
        "{out}"
    );
    let short = cp
        .kubectl(&["get", "ks,gitrepo", "-n", namespace, "-o", "name"])
        .expect("short names resolve");
    assert_eq!(short.lines().count(), 6, "{short}");
}
