//! Manual sync through the `operation` field, the refresh annotation, and
//! project enforcement, end to end.

mod common;

use std::time::Duration;

use common::{Harness, eventually, revision_of};
use driftless_api::{OperationPhase, SyncStatusCode, condition};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{Patch, PatchParams};

fn configmap(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: {value}\n")
}

fn manual_app(name: &str, apps_ns: &str, repo: &str, dest: &str, project: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: {apps_ns}
spec:
  project: {project}
  source:
    repoURL: {repo}
    targetRevision: main
    path: app
  destination:
    server: https://kubernetes.default.svc
    namespace: {dest}
"
    )
}

fn sync_status(app: &driftless_api::Application) -> Option<SyncStatusCode> {
    app.status.as_ref()?.sync.as_ref().map(|s| s.status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn manual_sync_through_operation_and_refresh_annotation() {
    let h = Harness::start("op", Duration::from_secs(600)).await;
    let dest = h.namespace("op-dest").await;
    let repo = h.git.create_repo("op/app");
    repo.write("app/one.yaml", &configmap("one", "first"));
    repo.write("app/two.yaml", &configmap("two", "first"));
    let first = repo.commit("first");
    h.apply(&manual_app(
        "manual",
        &h.apps_ns,
        &h.git.git_url("op/app"),
        &dest,
        "default",
    ));

    // Not automated: it is compared and reported OutOfSync, nothing is applied.
    let app = h
        .wait_app("manual", "OutOfSync", |a| {
            sync_status(a) == Some(SyncStatusCode::OutOfSync)
        })
        .await;
    assert_eq!(revision_of(&app), Some(first.as_str()));
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);
    assert!(cms.get_opt("one").await.expect("get").is_none());

    // A partial manual sync of `one` only.
    let op = serde_json::json!({
        "operation": {
            "initiatedBy": {"username": "alice"},
            "sync": {"resources": [{"kind": "ConfigMap", "name": "one"}]}
        }
    });
    h.apps()
        .patch("manual", &PatchParams::default(), &Patch::Merge(&op))
        .await
        .expect("request a sync");
    let app = h
        .wait_app("manual", "synced by hand", |a| {
            a.spec.operation.is_none()
                && a.status
                    .as_ref()
                    .and_then(|s| s.operation_state.as_ref())
                    .is_some_and(|o| o.phase == OperationPhase::Succeeded)
        })
        .await;
    let state = app
        .status
        .clone()
        .unwrap_or_default()
        .operation_state
        .expect("state");
    assert_eq!(
        state
            .operation
            .initiated_by
            .and_then(|i| i.username)
            .as_deref(),
        Some("alice")
    );
    assert!(
        cms.get_opt("one").await.expect("get").is_some(),
        "one was selected"
    );
    assert!(
        cms.get_opt("two").await.expect("get").is_none(),
        "two was not selected"
    );
    assert_eq!(
        sync_status(&app),
        Some(SyncStatusCode::OutOfSync),
        "two is still missing"
    );

    // A push is not seen (polling is off) until the refresh annotation asks.
    repo.write("app/one.yaml", &configmap("one", "second"));
    let second = repo.commit("second");
    h.kubectl(&[
        "-n",
        &h.apps_ns,
        "annotate",
        "application",
        "manual",
        "argocd.argoproj.io/refresh=normal",
    ]);
    let app = h
        .wait_app("manual", "refreshed", |a| {
            revision_of(a) == Some(second.as_str())
                && !a
                    .metadata
                    .annotations
                    .as_ref()
                    .is_some_and(|m| m.contains_key("argocd.argoproj.io/refresh"))
        })
        .await;
    assert_eq!(sync_status(&app), Some(SyncStatusCode::OutOfSync));

    // A full manual sync with prune brings everything in.
    let op = serde_json::json!({"operation": {"sync": {"prune": true}}});
    h.apps()
        .patch("manual", &PatchParams::default(), &Patch::Merge(&op))
        .await
        .expect("request a sync");
    h.wait_synced_healthy("manual", Some(&second)).await;
    let one = cms.get("one").await.expect("one");
    assert_eq!(
        one.data
            .unwrap_or_default()
            .get("value")
            .map(String::as_str),
        Some("second")
    );
    assert!(cms.get_opt("two").await.expect("get").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn project_violations_are_reported_and_nothing_is_applied() {
    let h = Harness::start("proj", Duration::from_secs(2)).await;
    let dest = h.namespace("proj-dest").await;
    let repo = h.git.create_repo("proj/app");
    repo.write("app/one.yaml", &configmap("one", "first"));
    // Cluster-scoped: named after this test's namespace so runs never share it.
    repo.write(
        "app/role.yaml",
        &format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {}-reader\nrules: []\n",
            h.apps_ns
        ),
    );
    repo.commit("first");
    let url = h.git.git_url("proj/app");
    // A project that allows another repository only.
    h.apply(&format!(
        "apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: elsewhere
  namespace: {ns}
spec:
  sourceRepos:
  - https://git.example.invalid/*
  destinations:
  - server: https://kubernetes.default.svc
    namespace: '*'
",
        ns = h.apps_ns
    ));
    // A project that allows the repository but no cluster-scoped kinds.
    h.apply(&format!(
        "apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: namespaced-only
  namespace: {ns}
spec:
  sourceRepos:
  - '*'
  destinations:
  - server: https://kubernetes.default.svc
    namespace: '*'
",
        ns = h.apps_ns
    ));
    let automate = "  syncPolicy:\n    automated:\n      prune: true\n";
    h.apply(&(manual_app("wrong-repo", &h.apps_ns, &url, &dest, "elsewhere") + automate));
    h.apply(&(manual_app("cluster-kind", &h.apps_ns, &url, &dest, "namespaced-only") + automate));
    h.apply(&(manual_app("no-project", &h.apps_ns, &url, &dest, "missing") + automate));
    // Fields driftless does not support are named in a warning, not dropped silently.
    let unknown_dest = h.namespace("proj-unknown").await;
    h.apply(
        &(manual_app("unknown-fields", &h.apps_ns, &url, &unknown_dest, "default")
            + automate
            + "    managedNamespaceMetadata:\n      labels:\n        team: a\n"),
    );

    let has_invalid_spec = |needle: &'static str| {
        move |a: &driftless_api::Application| {
            a.status.as_ref().is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == condition::INVALID_SPEC_ERROR && c.message.contains(needle))
            })
        }
    };
    h.wait_app(
        "wrong-repo",
        "refused by its project",
        has_invalid_spec("not permitted in project elsewhere"),
    )
    .await;
    h.wait_app(
        "cluster-kind",
        "refused by its project",
        has_invalid_spec("ClusterRole"),
    )
    .await;
    h.wait_app(
        "no-project",
        "refused for a missing project",
        has_invalid_spec("does not exist"),
    )
    .await;
    let warned = h
        .wait_app(
            "unknown-fields",
            "warned about managedNamespaceMetadata",
            |a| {
                a.status.as_ref().is_some_and(|s| {
                    s.conditions.iter().any(|c| {
                        c.type_ == condition::UNSUPPORTED_FIELD_WARNING
                            && c.message
                                .contains("spec.syncPolicy.managedNamespaceMetadata")
                    })
                })
            },
        )
        .await;
    assert_eq!(
        sync_status(&warned),
        Some(SyncStatusCode::Synced),
        "the rest still syncs"
    );
    // Give automated sync every chance, then check nothing was applied.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);
    assert!(
        cms.get_opt("one").await.expect("get").is_none(),
        "nothing may be applied"
    );
    let kinds = eventually("events on the refused app", || async {
        let out = h.kubectl(&[
            "-n",
            &h.apps_ns,
            "get",
            "events",
            "-o",
            "jsonpath={.items[*].reason}",
        ]);
        out.contains("InvalidSpecError").then_some(out)
    })
    .await;
    assert!(kinds.contains("InvalidSpecError"));
}
