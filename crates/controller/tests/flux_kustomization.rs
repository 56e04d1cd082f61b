//! The Kustomization controller against the real control plane and a real
//! Git server: health checks and their timeout, prune and its limits,
//! suspend, `requestedAt`, bad source references, unsupported fields,
//! conflicts with an Application, drift, and deletion policies.

mod common;
mod flux_common;

use common::{Harness, eventually};
use driftless_testkit::git::TestRepo;
use flux_common::{
    await_artifact, condition, git_repository_yaml, kustomizations, ready_at, ready_is, wait_ks,
    wait_ks_gone,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

/// A `v1` Kustomization of `path` of the GitRepository `repo`, applying
/// into `dest`; `extra` is appended under `spec`.
fn ks_yaml(name: &str, ns: &str, repo: &str, path: &str, dest: &str, extra: &str) -> String {
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: {name}
  namespace: {ns}
spec:
  interval: 1h
  retryInterval: 1h
  sourceRef:
    kind: GitRepository
    name: {repo}
  path: ./{path}
  prune: true
  targetNamespace: {dest}
{extra}"
    )
}

fn config_map(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: {value}\n")
}

fn kustomization_file(resources: &[&str]) -> String {
    let list: String = resources.iter().map(|r| format!("- {r}\n")).collect();
    format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n{list}")
}

/// A test's world: the harness, a Git repository with its GitRepository
/// object (`repo` in the test's namespace), and a destination namespace.
struct World {
    h: Harness,
    repo: TestRepo,
    ns: String,
    dest: String,
}

impl World {
    async fn new(prefix: &str) -> World {
        let h = flux_common::start(prefix).await;
        let ns = h.apps_ns.clone();
        let dest = h.namespace(&format!("{prefix}-dest")).await;
        let repo = h.git.create_repo(&format!("{prefix}/repo"));
        h.apply(&git_repository_yaml(
            "repo",
            &ns,
            &h.git.git_url(&format!("{prefix}/repo")),
        ));
        World { h, repo, ns, dest }
    }

    /// Commits and publishes the new artifact; returns its revision.
    async fn push(&self, message: &str) -> String {
        self.repo.commit(message);
        await_artifact(&self.h, &self.ns, "repo", &self.repo).await
    }

    fn apply_ks(&self, name: &str, path: &str, extra: &str) {
        self.h
            .apply(&ks_yaml(name, &self.ns, "repo", path, &self.dest, extra));
    }

    fn config_maps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.h.client.clone(), &self.dest)
    }

    async fn config_map(&self, name: &str) -> Option<ConfigMap> {
        self.config_maps().get_opt(name).await.ok().flatten()
    }

    async fn value_of(&self, name: &str) -> Option<String> {
        self.config_map(name).await?.data?.get("value").cloned()
    }

    async fn patch_ks(&self, name: &str, body: serde_json::Value) {
        kustomizations(&self.h, &self.ns)
            .patch(name, &PatchParams::default(), &Patch::Merge(&body))
            .await
            .unwrap_or_else(|e| panic!("patching kustomization {name}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_health_check_failure_is_reported_after_the_timeout() {
    let w = World::new("ks-health").await;
    w.repo.write(
        "app/deployment.yaml",
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      nodeSelector:
        driftless.test/unschedulable: \"true\"
      containers:
      - name: web
        image: nginx:1.27
",
    );
    let revision = w.push("unschedulable").await;
    let checks = format!(
        "  timeout: 30s\n  healthChecks:\n  - apiVersion: apps/v1\n    kind: Deployment\n    name: web\n    namespace: {}\n",
        w.dest
    );
    w.apply_ks("web", "app", &checks);
    let ks = wait_ks(&w.h, &w.ns, "web", "HealthCheckFailed", |ks| {
        ready_is(ks, "False", "HealthCheckFailed")
    })
    .await;
    let message = condition(&ks, "Ready").unwrap().2;
    assert!(
        message.contains(&format!("Deployment/{}/web", w.dest)),
        "{message}"
    );
    assert!(message.contains("after 30s"), "{message}");
    assert_eq!(
        condition(&ks, "Healthy").map(|c| (c.0, c.1)),
        Some(("False".into(), "HealthCheckFailed".into()))
    );
    let status = ks.status.unwrap();
    assert_eq!(
        status.last_attempted_revision.as_deref(),
        Some(revision.as_str())
    );
    assert_eq!(status.last_applied_revision, None, "never Ready at it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn prune_follows_git_within_the_inventory_and_never_after_a_broken_build() {
    let w = World::new("ks-prune").await;
    w.repo.write(
        "app/kustomization.yaml",
        &kustomization_file(&["a.yaml", "b.yaml"]),
    );
    w.repo.write("app/a.yaml", &config_map("a", "one"));
    w.repo.write("app/b.yaml", &config_map("b", "one"));
    let first = w.push("a and b").await;
    w.apply_ks("app", "app", "");
    let ks = wait_ks(&w.h, &w.ns, "app", "Ready", |ks| ready_at(ks, &first)).await;
    let ids: Vec<String> = ks
        .status
        .unwrap()
        .inventory
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(
        ids,
        [
            format!("{}_a__ConfigMap", w.dest),
            format!("{}_b__ConfigMap", w.dest)
        ]
    );
    let a = w.config_map("a").await.expect("a applied");
    let labels = a.metadata.labels.unwrap_or_default();
    assert_eq!(
        labels
            .get("kustomize.toolkit.fluxcd.io/name")
            .map(String::as_str),
        Some("app")
    );
    assert_eq!(
        labels.get("kustomize.toolkit.fluxcd.io/namespace"),
        Some(&w.ns)
    );

    // An object tracked to this Kustomization but not in its inventory.
    let tracking = format!("kustomization_{}_app:/ConfigMap:{}/stray", w.ns, w.dest);
    let mut stray: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "stray", "annotations": {"argocd.argoproj.io/tracking-id": tracking}}
    }))
    .unwrap();
    stray.metadata.namespace = Some(w.dest.clone());
    w.config_maps()
        .create(&PostParams::default(), &stray)
        .await
        .unwrap();

    w.repo.remove("app/b.yaml");
    w.repo
        .write("app/kustomization.yaml", &kustomization_file(&["a.yaml"]));
    let second = w.push("b removed").await;
    wait_ks(&w.h, &w.ns, "app", "Ready at the removal", |ks| {
        ready_at(ks, &second)
    })
    .await;
    eventually("b pruned", || async {
        w.config_map("b").await.is_none().then_some(())
    })
    .await;
    assert!(w.config_map("a").await.is_some());
    assert!(
        w.config_map("stray").await.is_some(),
        "not in the inventory: never pruned"
    );

    // An empty build (every manifest gone) prunes nothing either.
    w.repo.write(
        "app/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
    );
    let empty = w.push("empty").await;
    let ks = wait_ks(&w.h, &w.ns, "app", "the empty build refused", |ks| {
        ready_is(ks, "False", "BuildFailed")
            && ks
                .status
                .as_ref()
                .and_then(|s| s.last_attempted_revision.as_deref())
                == Some(empty.as_str())
    })
    .await;
    let message = condition(&ks, "Ready").unwrap().2;
    assert!(message.contains("is empty"), "{message}");
    assert!(
        w.config_map("a").await.is_some(),
        "nothing pruned after an empty build"
    );

    w.repo.write(
        "app/kustomization.yaml",
        &kustomization_file(&["missing.yaml"]),
    );
    w.repo.remove("app/a.yaml");
    let broken = w.push("broken").await;
    let ks = wait_ks(
        &w.h,
        &w.ns,
        "app",
        "BuildFailed at the broken revision",
        |ks| {
            ready_is(ks, "False", "BuildFailed")
                && ks
                    .status
                    .as_ref()
                    .and_then(|s| s.last_attempted_revision.as_deref())
                    == Some(broken.as_str())
        },
    )
    .await;
    let message = condition(&ks, "Ready").unwrap().2;
    assert!(message.contains("missing.yaml"), "{message}");
    let status = ks.status.unwrap();
    assert_eq!(
        status.last_attempted_revision.as_deref(),
        Some(broken.as_str())
    );
    assert_eq!(
        status.last_applied_revision.as_deref(),
        Some(second.as_str())
    );
    assert_eq!(
        w.value_of("a").await.as_deref(),
        Some("one"),
        "nothing pruned on a broken build"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn suspend_holds_requested_at_is_handled_and_drift_is_reverted() {
    let w = World::new("ks-suspend").await;
    w.repo.write("one/cm.yaml", &config_map("one", "v1"));
    w.repo.write("two/cm.yaml", &config_map("two", "v1"));
    let first = w.push("v1").await;
    w.apply_ks("one", "one", "");
    w.apply_ks("two", "two", "");
    wait_ks(&w.h, &w.ns, "one", "Ready", |ks| ready_at(ks, &first)).await;
    wait_ks(&w.h, &w.ns, "two", "Ready", |ks| ready_at(ks, &first)).await;

    // Drift is reverted on the watch event (the interval is an hour).
    w.config_maps()
        .patch(
            "one",
            &PatchParams::default(),
            &Patch::Merge(&json!({"data": {"value": "drifted"}})),
        )
        .await
        .unwrap();
    eventually("drift on one reverted", || async {
        (w.value_of("one").await.as_deref() == Some("v1")).then_some(())
    })
    .await;

    w.patch_ks("one", json!({"spec": {"suspend": true}})).await;
    w.repo.write("one/cm.yaml", &config_map("one", "v2"));
    w.repo.write("two/cm.yaml", &config_map("two", "v2"));
    let second = w.push("v2").await;
    // "two" applying v2 shows the new artifact was seen by the controller.
    wait_ks(&w.h, &w.ns, "two", "Ready at v2", |ks| {
        ready_at(ks, &second)
    })
    .await;
    let one = kustomizations(&w.h, &w.ns).get("one").await.unwrap();
    assert_eq!(
        one.status.unwrap().last_applied_revision.as_deref(),
        Some(first.as_str())
    );
    assert_eq!(
        w.value_of("one").await.as_deref(),
        Some("v1"),
        "suspended: not applied"
    );

    w.patch_ks("one", json!({"spec": {"suspend": false}})).await;
    wait_ks(&w.h, &w.ns, "one", "Ready at v2", |ks| {
        ready_at(ks, &second)
    })
    .await;
    assert_eq!(w.value_of("one").await.as_deref(), Some("v2"));

    let at = "2026-12-03T10:00:00.000000000Z";
    w.patch_ks(
        "one",
        json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": at}}}),
    )
    .await;
    wait_ks(&w.h, &w.ns, "one", "handled the request", |ks| {
        ks.status
            .as_ref()
            .and_then(|s| s.last_handled_reconcile_at.as_deref())
            == Some(at)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_source_references_and_unsupported_fields_apply_nothing() {
    let w = World::new("ks-refs").await;
    w.repo.write("app/cm.yaml", &config_map("app", "v1"));
    let first = w.push("v1").await;
    w.h.apply(&ks_yaml("missing", &w.ns, "nope", "app", &w.dest, ""));
    let ks = wait_ks(&w.h, &w.ns, "missing", "ArtifactFailed", |ks| {
        ready_is(ks, "False", "ArtifactFailed")
    })
    .await;
    assert_eq!(
        condition(&ks, "Ready").unwrap().2,
        format!("Source 'GitRepository/{}/nope' not found", w.ns)
    );
    assert_eq!(
        condition(&ks, "Reconciling").map(|c| c.1).as_deref(),
        Some("ProgressingWithRetry")
    );

    let oci = ks_yaml("oci", &w.ns, "repo", "app", &w.dest, "")
        .replace("kind: GitRepository", "kind: OCIRepository");
    w.h.apply(&oci);
    let ks = wait_ks(&w.h, &w.ns, "oci", "Stalled", |ks| {
        condition(ks, "Stalled").is_some_and(|c| c.0 == "True")
    })
    .await;
    let (status, reason, message) = condition(&ks, "Ready").unwrap();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "UnsupportedField")
    );
    assert!(message.contains("spec.sourceRef.kind"), "{message}");

    w.apply_ks(
        "newer",
        "app",
        "  driftIgnoreRules:\n  - paths: [\"/data\"]\n",
    );
    let ks = wait_ks(&w.h, &w.ns, "newer", "Stalled", |ks| {
        condition(ks, "Stalled").is_some_and(|c| c.0 == "True")
    })
    .await;
    let message = condition(&ks, "Ready").unwrap().2;
    assert!(
        message.contains("spec.driftIgnoreRules"),
        "an unknown field is named: {message}"
    );

    w.apply_ks("sops", "app", "  decryption:\n    provider: sops\n");
    let ks = wait_ks(&w.h, &w.ns, "sops", "Stalled", |ks| {
        condition(ks, "Stalled").is_some_and(|c| c.0 == "True")
    })
    .await;
    let message = condition(&ks, "Ready").unwrap().2;
    assert!(
        message.contains("spec.decryption") && message.contains("nothing was applied"),
        "{message}"
    );
    assert!(w.config_map("app").await.is_none(), "nothing applied");

    // The missing source created afterwards: applied as soon as it has an
    // artifact, not after the retry interval (an hour).
    w.h.apply(&git_repository_yaml(
        "nope",
        &w.ns,
        &w.h.git.git_url("ks-refs/repo"),
    ));
    wait_ks(&w.h, &w.ns, "missing", "Ready once its source is", |ks| {
        ready_at(ks, &first)
    })
    .await;
    assert_eq!(w.value_of("app").await.as_deref(), Some("v1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_object_an_application_manages_is_a_conflict_not_taken_over() {
    let w = World::new("ks-conflict").await;
    w.repo
        .write("shared/cm.yaml", &config_map("shared", "from-git"));
    w.push("shared").await;
    let app = common::application_yaml(
        "owner",
        &w.ns,
        &w.h.git.git_url("ks-conflict/repo"),
        "shared",
        &w.dest,
        "  syncPolicy:\n    automated: {}\n",
    );
    w.h.apply(&app);
    w.h.wait_synced_healthy("owner", None).await;
    w.apply_ks("rival", "shared", "");
    let ks = wait_ks(&w.h, &w.ns, "rival", "a conflict", |ks| {
        ready_is(ks, "False", "ReconciliationFailed")
    })
    .await;
    let message = condition(&ks, "Ready").unwrap().2;
    assert!(
        message.contains("is managed by Application owner"),
        "{message}"
    );
    let cm = w.config_map("shared").await.unwrap();
    let tracking = cm
        .metadata
        .annotations
        .unwrap_or_default()
        .get("argocd.argoproj.io/tracking-id")
        .cloned();
    assert!(
        tracking.as_deref().is_some_and(|t| t.starts_with("owner:")),
        "{tracking:?}"
    );
    let labels = cm.metadata.labels.unwrap_or_default();
    assert!(
        !labels.contains_key("kustomize.toolkit.fluxcd.io/name"),
        "not taken over: {labels:?}"
    );

    // The other way round: an Application leaves a Kustomization's object alone.
    w.repo
        .write("flux/cm.yaml", &config_map("flux-owned", "from-git"));
    let revision = w.push("flux-owned").await;
    w.apply_ks("holder", "flux", "");
    wait_ks(&w.h, &w.ns, "holder", "Ready", |ks| ready_at(ks, &revision)).await;
    let late = common::application_yaml(
        "late",
        &w.ns,
        &w.h.git.git_url("ks-conflict/repo"),
        "flux",
        &w.dest,
        "  syncPolicy:\n    automated: {}\n",
    );
    w.h.apply(&late);
    let needle = format!("is tracked by Kustomization {}/holder", w.ns);
    w.h.wait_app("late", "warned about the Kustomization's object", |app| {
        app.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == "SharedResourceWarning" && c.message.contains(&needle))
        })
    })
    .await;
    let cm = w.config_map("flux-owned").await.unwrap();
    let tracking = cm
        .metadata
        .annotations
        .unwrap_or_default()
        .get("argocd.argoproj.io/tracking-id")
        .cloned();
    assert!(
        tracking
            .as_deref()
            .is_some_and(|t| t.starts_with("kustomization_")),
        "{tracking:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deletion_follows_the_deletion_policy() {
    let w = World::new("ks-delete").await;
    w.repo.write("kept/cm.yaml", &config_map("kept", "v1"));
    w.repo.write("gone/cm.yaml", &config_map("gone", "v1"));
    w.repo.write("waited/cm.yaml", &config_map("waited", "v1"));
    let revision = w.push("v1").await;
    w.apply_ks("orphan", "kept", "  deletionPolicy: Orphan\n");
    w.h.apply(
        &ks_yaml(
            "delete",
            &w.ns,
            "repo",
            "gone",
            &w.dest,
            "  deletionPolicy: Delete\n",
        )
        .replace("prune: true", "prune: false"),
    );
    w.apply_ks("wait", "waited", "  deletionPolicy: WaitForTermination\n");
    // Tracked to "delete" but not in its inventory: never deleted.
    let tracking = format!("kustomization_{}_delete:/ConfigMap:{}/stray", w.ns, w.dest);
    let mut stray: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "stray", "annotations": {"argocd.argoproj.io/tracking-id": tracking}}
    }))
    .unwrap();
    stray.metadata.namespace = Some(w.dest.clone());
    w.config_maps()
        .create(&PostParams::default(), &stray)
        .await
        .unwrap();
    for name in ["orphan", "delete", "wait"] {
        wait_ks(&w.h, &w.ns, name, "Ready", |ks| ready_at(ks, &revision)).await;
        let ks = kustomizations(&w.h, &w.ns).get(name).await.unwrap();
        assert!(
            ks.metadata
                .finalizers
                .unwrap_or_default()
                .contains(&"finalizers.fluxcd.io".to_string())
        );
        kustomizations(&w.h, &w.ns)
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
        wait_ks_gone(&w.h, &w.ns, name).await;
    }
    assert!(
        w.config_map("kept").await.is_some(),
        "Orphan keeps the objects"
    );
    eventually("Delete deletes even with prune: false", || async {
        w.config_map("gone").await.is_none().then_some(())
    })
    .await;
    assert!(
        w.config_map("waited").await.is_none(),
        "WaitForTermination waited for it"
    );
    assert!(
        w.config_map("stray").await.is_some(),
        "only the inventory is deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_service_account_applies_with_its_own_rights() {
    let w = World::new("ks-sa").await;
    w.repo.write("app/cm.yaml", &config_map("app", "v1"));
    let revision = w.push("v1").await;
    w.h.apply(&format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: deployer\n  namespace: {}\n",
        w.ns
    ));
    w.apply_ks("app", "app", "  serviceAccountName: deployer\n");
    let ks = wait_ks(&w.h, &w.ns, "app", "refused", |ks| {
        ready_is(ks, "False", "ReconciliationFailed")
    })
    .await;
    let message = condition(&ks, "Ready").unwrap().2;
    let user = format!("system:serviceaccount:{}:deployer", w.ns);
    assert!(
        message.contains("forbidden") && message.contains(&user),
        "{message}"
    );
    assert!(
        w.config_map("app").await.is_none(),
        "nothing applied without the rights"
    );

    w.h.apply(&format!(
        "apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: deployer-edit
  namespace: {}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: edit
subjects:
- kind: ServiceAccount
  name: deployer
  namespace: {}
",
        w.dest, w.ns
    ));
    let at = "2026-12-03T11:00:00Z";
    w.patch_ks(
        "app",
        json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": at}}}),
    )
    .await;
    wait_ks(&w.h, &w.ns, "app", "Ready with the rights", |ks| {
        ready_at(ks, &revision)
    })
    .await;
    assert_eq!(w.value_of("app").await.as_deref(), Some("v1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn post_build_substitution_and_v1beta2_patches_are_applied() {
    let w = World::new("ks-build").await;
    w.repo.write(
        "vars/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: vars\ndata:\n  greeting: ${greeting}\n  color: ${color}\n  size: ${size:=medium}\n",
    );
    w.repo
        .write("patched/cm.yaml", &config_map("patched", "from-git"));
    let revision = w.push("templates").await;
    w.h.apply(&format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: colors\n  namespace: {}\ndata:\n  color: blue\n",
        w.ns
    ));
    let post_build = "  postBuild:
    substitute:
      greeting: hello
    substituteFrom:
    - kind: ConfigMap
      name: colors
    - kind: Secret
      name: not-there
      optional: true
";
    w.apply_ks("vars", "vars", post_build);
    let beta = ks_yaml(
        "patched",
        &w.ns,
        "repo",
        "patched",
        &w.dest,
        "  patchesStrategicMerge:
  - apiVersion: v1
    kind: ConfigMap
    metadata:
      name: patched
    data:
      value: from-patch
",
    )
    .replace(
        "kustomize.toolkit.fluxcd.io/v1\n",
        "kustomize.toolkit.fluxcd.io/v1beta2\n",
    );
    w.h.apply(&beta);
    wait_ks(&w.h, &w.ns, "vars", "Ready", |ks| ready_at(ks, &revision)).await;
    let data = w.config_map("vars").await.unwrap().data.unwrap();
    assert_eq!(data.get("greeting").map(String::as_str), Some("hello"));
    assert_eq!(data.get("color").map(String::as_str), Some("blue"));
    assert_eq!(data.get("size").map(String::as_str), Some("medium"));
    wait_ks(&w.h, &w.ns, "patched", "Ready", |ks| {
        ready_at(ks, &revision)
    })
    .await;
    assert_eq!(w.value_of("patched").await.as_deref(), Some("from-patch"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn files_the_source_ignores_are_not_applied() {
    let w = World::new("ks-ignore").await;
    w.repo.write("app/cm.yaml", &config_map("kept", "v1"));
    w.repo
        .write("app/ignored.yaml", &config_map("ignored", "v1"));
    w.repo
        .write("app/sub/.sourceignore", "# local rules\nskipped.yaml\n");
    w.repo
        .write("app/sub/skipped.yaml", &config_map("skipped", "v1"));
    w.repo
        .write("app/sub/also-kept.yaml", &config_map("also-kept", "v1"));
    w.repo.commit("with ignored files");
    let url = w.h.git.git_url("ks-ignore/repo");
    let source =
        git_repository_yaml("ignoring", &w.ns, &url) + "  ignore: |\n    app/ignored.yaml\n";
    w.h.apply(&source);
    let revision = await_artifact(&w.h, &w.ns, "ignoring", &w.repo).await;
    w.h.apply(&ks_yaml("app", &w.ns, "ignoring", "app", &w.dest, ""));
    let ks = wait_ks(&w.h, &w.ns, "app", "Ready", |ks| ready_at(ks, &revision)).await;
    let ids: Vec<String> = ks
        .status
        .unwrap()
        .inventory
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(
        ids,
        [
            format!("{}_also-kept__ConfigMap", w.dest),
            format!("{}_kept__ConfigMap", w.dest)
        ]
    );
    assert!(w.config_map("ignored").await.is_none(), "spec.ignore");
    assert!(w.config_map("skipped").await.is_none(), ".sourceignore");

    // A commit changing no .sourceignore keeps the rules (taken over from
    // the commit before, not read again) ...
    w.repo.write("app/cm.yaml", &config_map("kept", "v2"));
    w.repo.commit("kept v2");
    let second = await_artifact(&w.h, &w.ns, "ignoring", &w.repo).await;
    wait_ks(&w.h, &w.ns, "app", "Ready", |ks| ready_at(ks, &second)).await;
    assert_eq!(w.value_of("kept").await.as_deref(), Some("v2"));
    assert!(w.config_map("skipped").await.is_none(), "still ignored");
    // ... and one changing it reads them again.
    w.repo
        .write("app/sub/.sourceignore", "# local rules\nalso-kept.yaml\n");
    w.repo.commit("ignore also-kept instead of skipped");
    let third = await_artifact(&w.h, &w.ns, "ignoring", &w.repo).await;
    wait_ks(&w.h, &w.ns, "app", "Ready", |ks| ready_at(ks, &third)).await;
    assert!(w.config_map("skipped").await.is_some(), "no longer ignored");
    assert!(
        w.config_map("also-kept").await.is_none(),
        "ignored now: pruned"
    );
}

/// The controller's Kustomization reconciles whose render ended as `render`
/// (`rendered`, `unchanged`, `repeated`, `none`), from its metrics.
async fn reconciles(h: &Harness, render: &str) -> f64 {
    let (code, body) = h.get("/metrics").await;
    assert_eq!(code, 200, "GET /metrics: {body}");
    let wanted = format!("controller=\"Kustomization\",render=\"{render}\"");
    body.lines()
        .filter(|l| l.starts_with("driftless_flux_reconciles_total{") && l.contains(&wanted))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// `(rendered, unchanged)` reconciles so far.
async fn renders(h: &Harness) -> (f64, f64) {
    (
        reconciles(h, "rendered").await,
        reconciles(h, "unchanged").await,
    )
}

/// Every reconcile of the controller's Kustomizations so far.
async fn all_reconciles(h: &Harness) -> f64 {
    let mut total = 0.0;
    for render in ["rendered", "unchanged", "repeated", "none"] {
        total += reconciles(h, render).await;
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn status_updates_do_not_reconcile_a_kustomization_without_health_checks() {
    let w = World::new("ks-status").await;
    w.repo.write(
        "app/web.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 0\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - {name: web, image: nginx:1.27}\n",
    );
    let first = w.push("web").await;
    w.apply_ks("app", "app", "");
    wait_ks(&w.h, &w.ns, "app", "Ready", |ks| ready_at(ks, &first)).await;
    let deployments: Api<Deployment> = Api::namespaced(w.h.client.clone(), &w.dest);
    eventually("the deployment controller's first status", || async {
        let d = deployments.get("web").await.ok()?;
        (d.status?.observed_generation == Some(1)).then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;

    // Status updates, and another writer's own annotation: nothing of the
    // Kustomization's changed, so nothing to reconcile.
    let before = all_reconciles(&w.h).await;
    for n in 0..5 {
        let status = json!({"status": {"collisionCount": n}});
        deployments
            .patch_status("web", &PatchParams::default(), &Patch::Merge(&status))
            .await
            .expect("patch the status");
        let note = json!({"metadata": {"annotations": {"example.com/note": n.to_string()}}});
        deployments
            .patch("web", &PatchParams::default(), &Patch::Merge(&note))
            .await
            .expect("annotate");
    }
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let after = all_reconciles(&w.h).await;
    assert_eq!(
        after, before,
        "status updates and another writer's annotation reconciled the Kustomization"
    );

    // A field the Kustomization applies, changed by someone else: reverted.
    let drift = json!({"spec": {"replicas": 2}});
    deployments
        .patch("web", &PatchParams::default(), &Patch::Merge(&drift))
        .await
        .expect("scale");
    eventually("drift on web reverted", || async {
        let d = deployments.get("web").await.ok()?;
        (d.spec?.replicas == Some(0)).then_some(())
    })
    .await;
    assert!(
        all_reconciles(&w.h).await > after,
        "the drift was a reconcile"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_push_renders_only_the_kustomizations_whose_files_changed() {
    let w = World::new("ks-mono").await;
    w.repo.write(
        "base/kustomization.yaml",
        &kustomization_file(&["shared.yaml"]),
    );
    w.repo
        .write("base/shared.yaml", &config_map("shared", "one"));
    w.repo.write(
        "web/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamePrefix: web-\nresources:\n- ../base\n- web.yaml\n",
    );
    w.repo.write("web/web.yaml", &config_map("page", "one"));
    w.repo.write("api/api.yaml", &config_map("api", "one"));
    let first = w.push("web with a base, api").await;
    w.apply_ks("web", "web", "");
    w.apply_ks("api", "api", "");
    for name in ["web", "api"] {
        wait_ks(&w.h, &w.ns, name, "Ready", |ks| ready_at(ks, &first)).await;
    }

    // Only api's path changes: api renders; web moves on without a render.
    let before = renders(&w.h).await;
    w.repo.write("api/api.yaml", &config_map("api", "two"));
    w.repo.write("README.md", "not part of any build\n");
    let second = w.push("api two").await;
    for name in ["web", "api"] {
        wait_ks(&w.h, &w.ns, name, "Ready at the second", |ks| {
            ready_at(ks, &second)
        })
        .await;
    }
    assert_eq!(w.value_of("api").await.as_deref(), Some("two"));
    let after = renders(&w.h).await;
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (1.0, 1.0),
        "one render (api), one revision moved on (web)"
    );

    // The base web reads changes: web renders, api moves on.
    w.repo
        .write("base/shared.yaml", &config_map("shared", "two"));
    let third = w.push("shared two").await;
    for name in ["web", "api"] {
        wait_ks(&w.h, &w.ns, name, "Ready at the third", |ks| {
            ready_at(ks, &third)
        })
        .await;
    }
    eventually("web's base applied", || async {
        (w.value_of("web-shared").await.as_deref() == Some("two")).then_some(())
    })
    .await;
    let last = renders(&w.h).await;
    assert_eq!(
        (last.0 - after.0, last.1 - after.1),
        (1.0, 1.0),
        "one render (web, through its base), one revision moved on (api)"
    );
    assert_eq!(w.value_of("api").await.as_deref(), Some("two"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_webhook_push_is_applied_without_waiting_for_the_interval() {
    let w = World::new("ks-hook").await;
    let url = w.h.git.git_url("ks-hook/repo");
    // Both the source and the Kustomization only poll every hour.
    w.h.apply(&git_repository_yaml("repo", &w.ns, &url).replace("interval: 1m", "interval: 1h"));
    w.repo.write("app/cm.yaml", &config_map("hooked", "one"));
    let first = w.push("one").await;
    w.repo.branch("release");
    w.repo.checkout("main");
    // Pinned to another branch: a push to main cannot move it.
    w.h.apply(
        &git_repository_yaml("pinned", &w.ns, &url)
            .replace("interval: 1m", "interval: 1h")
            .replace("branch: main", "branch: release"),
    );
    w.apply_ks("app", "app", "");
    wait_ks(&w.h, &w.ns, "app", "Ready", |ks| ready_at(ks, &first)).await;
    let before = reconciles(&w.h, "rendered").await;

    w.repo.write("app/cm.yaml", &config_map("hooked", "two"));
    let sha = w.repo.commit("two");
    let started = std::time::Instant::now();
    let body = json!({"repository": url, "ref": "refs/heads/main"}).to_string();
    let (code, text) = w.h.post_webhook(&body).await;
    assert_eq!(code, 200, "{text}");
    assert!(
        text.contains("and 1 gitrepositories"),
        "only the GitRepository following main: {text}"
    );
    eventually("the pushed value applied", || async {
        (w.value_of("hooked").await.as_deref() == Some("two")).then_some(())
    })
    .await;
    let took = started.elapsed();
    assert!(took.as_secs() < 5, "applied {took:?} after the webhook");
    let second = format!("main@sha1:{sha}");
    wait_ks(&w.h, &w.ns, "app", "Ready at the push", |ks| {
        ready_at(ks, &second)
    })
    .await;

    // One render for the push (the in-process hand-off and the watch event
    // of the same artifact claim it once). A drift check may follow: the
    // applied ConfigMap's own watch event triggers its owner, which renders
    // again from the render cache (`repeated`), so only `rendered` counts.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let after = reconciles(&w.h, "rendered").await;
    assert_eq!(after - before, 1.0, "rendered once for the push");
}
