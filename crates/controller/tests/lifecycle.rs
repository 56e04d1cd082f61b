//! Deleting Applications and gating sync waves, on the real control plane
//! and Git server: a `Prune=false` object does not hold a deletion (only
//! `Delete=false` keeps an object), a deletion blocked by a foreign
//! finalizer is reported and backs off, a wave gates the next one across
//! retries and controller restarts, and an object the API server refuses as
//! too large is not re-sent at requeue speed; a finalizer written from a
//! stale copy of its object neither fails nor drops another finalizer.

mod common;

use std::time::Duration;

use common::{Harness, eventually};
use driftless_api::{Application, OperationPhase, condition};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::events::v1::Event;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams};
use serde_json::json;

const FINALIZER: &str = "  finalizers:\n  - resources-finalizer.argocd.argoproj.io\n";

/// An automated Application with the resources finalizer.
fn app_with_finalizer(h: &Harness, name: &str, repo: &str, dest: &str, extra: &str) -> String {
    common::application_yaml(name, &h.apps_ns, &h.git.git_url(repo), "app", dest, extra).replace(
        &format!("  name: {name}\n"),
        &format!("  name: {name}\n{FINALIZER}"),
    )
}

fn config_map(name: &str, metadata_extra: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{metadata_extra}data:\n  a: b\n"
    )
}

fn condition_message(app: &Application, type_: &str) -> Option<String> {
    app.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.message.clone())
}

fn op_state(app: &Application) -> Option<(OperationPhase, i64, String)> {
    let s = app.status.as_ref()?.operation_state.as_ref()?;
    Some((
        s.phase,
        s.retry_count.unwrap_or(0),
        s.message.clone().unwrap_or_default(),
    ))
}

/// A number from the controller's Prometheus metrics: the sum of the
/// samples whose line starts with `prefix`.
async fn metric(h: &Harness, prefix: &str) -> u64 {
    let metrics = h.get("/metrics").await.1;
    metrics
        .lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Events about Application `app` (each occurrence of a repeated Event counts).
async fn events_about(h: &Harness, app: &str) -> Vec<(String, u64)> {
    let api: Api<Event> = Api::namespaced(h.client.clone(), &h.apps_ns);
    let list = api.list(&ListParams::default()).await.expect("list Events");
    list.items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(app))
        .map(|e| {
            let count = e.series.as_ref().map_or(1, |s| s.count.max(1) as u64);
            (e.note.unwrap_or_default(), count)
        })
        .collect()
}

async fn app_gone(h: &Harness, name: &str) {
    let apps = h.apps();
    eventually(&format!("Application {name} to be gone"), || {
        let apps = apps.clone();
        async move { apps.get_opt(name).await.ok()?.is_none().then_some(()) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_an_app_deletes_prune_false_objects_and_keeps_delete_false_ones() {
    let h = Harness::start("del-noprune", Duration::from_secs(1)).await;
    let dest = h.namespace("del-noprune-dest").await;
    let repo = h.git.create_repo("del/noprune");
    let options = |o: &str| format!("  annotations:\n    argocd.argoproj.io/sync-options: {o}\n");
    repo.write(
        "app/noprune.yaml",
        &config_map("noprune", &options("Prune=false")),
    );
    repo.write(
        "app/kept.yaml",
        &config_map("kept", &options("Delete=false")),
    );
    repo.write("app/plain.yaml", &config_map("plain", ""));
    let first = repo.commit("first");
    let automated = "  syncPolicy:\n    automated:\n      prune: true\n";
    h.apply(&app_with_finalizer(
        &h,
        "noprune",
        "del/noprune",
        &dest,
        automated,
    ));
    h.wait_synced_healthy("noprune", Some(&first)).await;

    h.kubectl(&[
        "-n",
        &h.apps_ns,
        "delete",
        "application",
        "noprune",
        "--wait=false",
    ]);
    app_gone(&h, "noprune").await;
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);
    for gone in ["noprune", "plain"] {
        assert!(
            cms.get_opt(gone).await.expect("get").is_none(),
            "{gone} is deleted with its Application (Prune=false only matters to syncs)"
        );
    }
    assert!(
        cms.get_opt("kept").await.expect("get").is_some(),
        "Delete=false keeps it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_blocked_deletion_is_reported_backs_off_and_finishes_once_unblocked() {
    let h = Harness::start("del-stuck", Duration::from_secs(1)).await;
    let dest = h.namespace("del-stuck-dest").await;
    let repo = h.git.create_repo("del/stuck");
    repo.write(
        "app/held.yaml",
        &config_map("held", "  finalizers:\n  - driftless.test/never\n"),
    );
    let first = repo.commit("first");
    h.apply(&app_with_finalizer(
        &h,
        "stuck",
        "del/stuck",
        &dest,
        "  syncPolicy:\n    automated: {}\n",
    ));
    h.wait_synced_healthy("stuck", Some(&first)).await;

    h.kubectl(&[
        "-n",
        &h.apps_ns,
        "delete",
        "application",
        "stuck",
        "--wait=false",
    ]);
    let app = h
        .wait_app("stuck", "reporting what blocks its deletion", |a| {
            condition_message(a, "DeletionError").is_some()
        })
        .await;
    let message = condition_message(&app, "DeletionError").unwrap_or_default();
    assert!(
        message.contains(&format!("ConfigMap {dest}/held"))
            && message.contains("driftless.test/never"),
        "the condition names the object and what it waits for: {message}"
    );

    // Bounded while blocked: no hot loop, no Event per pass.
    let reconciles = || metric(&h, "driftless_reconciles_total{");
    let events = || async {
        events_about(&h, "stuck")
            .await
            .iter()
            .map(|(_, n)| n)
            .sum::<u64>()
    };
    let (reconciles_before, events_before) = (reconciles().await, events().await);
    tokio::time::sleep(Duration::from_secs(20)).await;
    let (reconciles_after, events_after) = (reconciles().await, events().await);
    assert!(
        reconciles_after - reconciles_before <= 6,
        "{} reconciles in 20 s of a blocked deletion",
        reconciles_after - reconciles_before
    );
    assert!(
        events_after - events_before <= 1,
        "{} Events in 20 s of a blocked deletion: {:?}",
        events_after - events_before,
        events_about(&h, "stuck").await
    );
    let app = h.apps().get("stuck").await.expect("still there");
    assert_eq!(
        condition_message(&app, "DeletionError").as_deref(),
        Some(message.as_str())
    );

    // Unblocked: the object goes, and so does the Application.
    h.kubectl(&[
        "-n",
        &dest,
        "patch",
        "configmap",
        "held",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    app_gone(&h, "stuck").await;
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);
    assert!(cms.get_opt("held").await.expect("get").is_none());
}

/// Removes a node label when dropped, so a failing test leaves no trace.
struct NodeLabel<'a> {
    h: &'a Harness,
    node: String,
    key: String,
}

impl Drop for NodeLabel<'_> {
    fn drop(&mut self) {
        let _ = self
            .h
            .cp
            .kubectl(&["label", "node", &self.node, &format!("{}-", self.key)]);
    }
}

fn deployment_on(label: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: slow
spec:
  replicas: 1
  selector:
    matchLabels:
      app: slow
  template:
    metadata:
      labels:
        app: slow
    spec:
      nodeSelector:
        {label}: \"yes\"
      containers:
      - name: web
        image: nginx:1.27
"
    )
}

/// Waits until the `after` ConfigMap exists (`Err`) or the operation state
/// satisfies `done` (`Ok`).
async fn wave_one_or(
    h: &Harness,
    cms: &Api<ConfigMap>,
    what: &str,
    done: impl Fn(&Application) -> bool,
) -> Result<Application, String> {
    eventually(what, || async {
        if cms.get_opt("after").await.ok()?.is_some() {
            return Some(Err(format!("wave 1 was applied while waiting for {what}")));
        }
        let app = h.apps().get_opt("gate").await.ok()??;
        done(&app).then_some(Ok(app))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wave_gates_the_next_across_retries_and_restarts() {
    let mut h = Harness::new("gate").await;
    let mut config = h.config(Duration::from_secs(1));
    config.wave_timeout = Duration::from_secs(3);
    h.start_controller_with(config.clone()).await;
    let dest = h.namespace("gate-dest").await;
    let label = format!("driftless.test/{}", h.apps_ns);
    let repo = h.git.create_repo("gate/app");
    repo.write("app/slow.yaml", &deployment_on(&label));
    repo.write(
        "app/after.yaml",
        &config_map(
            "after",
            "  annotations:\n    argocd.argoproj.io/sync-wave: \"1\"\n",
        ),
    );
    let rev = repo.commit("two waves");
    h.apply(&common::application_yaml(
        "gate",
        &h.apps_ns,
        &h.git.git_url("gate/app"),
        "app",
        &dest,
        "  syncPolicy:
    automated: {}
    retry:
      limit: 20
      backoff:
        duration: 2s
        factor: 1
",
    ));
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);
    let failed_retry = |min: i64| {
        move |a: &Application| {
            op_state(a).is_some_and(|(phase, retry, message)| {
                phase == OperationPhase::Failed && retry >= min && message.contains("wave 0")
            })
        }
    };

    // A wave that times out, and a retry that finds it unchanged but still unhealthy.
    let app = wave_one_or(&h, &cms, "a failed retry", failed_retry(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (_, _, message) = op_state(&app).expect("an operation");
    assert!(message.contains("timed out"), "{message}");

    // The controller dies in the middle of an attempt.
    let running = wave_one_or(&h, &cms, "an attempt in flight", |a| {
        op_state(a).is_some_and(|(phase, _, _)| phase == OperationPhase::Running)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let cut_short = op_state(&running).expect("an operation").1;
    h.kill_controller().await;
    h.start_controller_with(config).await;
    wave_one_or(
        &h,
        &cms,
        "a failed retry after the restart",
        failed_retry(cut_short + 1),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let notes = events_about(&h, "gate").await;
    assert!(
        notes
            .iter()
            .any(|(n, _)| n.contains("interrupted by a controller restart")),
        "the interrupted sync is recorded: {notes:?}"
    );

    // Wave 0 becomes healthy (a node now matches its selector): wave 1 follows.
    let node = h.kubectl(&["get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"]);
    h.kubectl(&["label", "node", &node, &format!("{label}=yes")]);
    let _cleanup = NodeLabel {
        h: &h,
        node,
        key: label.clone(),
    };
    h.wait_synced_healthy("gate", Some(&rev)).await;
    assert!(cms.get_opt("after").await.expect("get").is_some());
}

/// Requests the API server refused with 413 (Request Entity Too Large) for
/// ConfigMaps, by any client (dry-runs included).
fn too_large_config_map_requests(h: &Harness) -> u64 {
    let metrics = h.kubectl(&["get", "--raw", "/metrics"]);
    metrics
        .lines()
        .filter(|l| {
            l.starts_with("apiserver_request_total{")
                && l.contains("code=\"413\"")
                && l.contains("resource=\"configmaps\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_oversized_object_is_retried_per_the_policy_not_at_requeue_speed() {
    let h = Harness::start("big", Duration::from_secs(1)).await;
    let dest = h.namespace("big-dest").await;
    let repo = h.git.create_repo("big/app");
    repo.write("app/big.yaml", &config_map("big", ""));
    let first = repo.commit("small");
    h.apply(&common::application_yaml(
        "big",
        &h.apps_ns,
        &h.git.git_url("big/app"),
        "app",
        &dest,
        "  syncPolicy:
    automated: {}
    retry:
      limit: 2
      backoff:
        duration: 1s
        factor: 2
",
    ));
    h.wait_synced_healthy("big", Some(&first)).await;

    // 3.5 MB: more than the API server accepts in one request (3 MiB).
    let before = too_large_config_map_requests(&h);
    let data = "x".repeat(3_500_000);
    repo.write(
        "app/big.yaml",
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  a: {data}\n"),
    );
    let big = repo.commit("too big");
    let rejected = |a: &Application| {
        condition_message(a, condition::SYNC_ERROR)
            .is_some_and(|m| m.contains(&big) && m.to_lowercase().contains("too large"))
    };
    let app = h
        .wait_app("big", "out of retries, with the rejection", |a| {
            rejected(a) && op_state(a).is_some_and(|(_, retry, _)| retry == 2)
        })
        .await;
    assert_ne!(op_state(&app).map(|o| o.0), Some(OperationPhase::Succeeded));

    // Many requeues later, the rejection is still reported, and the object
    // was sent once per attempt (3) plus the first dry-run, not per requeue.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let app = h.apps().get("big").await.expect("get");
    assert!(rejected(&app), "{:?}", app.status.map(|s| s.conditions));
    let sent = too_large_config_map_requests(&h) - before;
    assert!(
        (3..=6).contains(&sent),
        "{sent} requests refused as too large (3 attempts and a dry-run expected)"
    );
}

/// The finalizers on the ConfigMap `name` as they are now.
async fn finalizers_of(api: &Api<ConfigMap>, name: &str) -> Vec<String> {
    let cm = api.get(name).await.expect("get the ConfigMap");
    cm.metadata.finalizers.unwrap_or_default()
}

/// A reconcile may start from a cached copy older than the object (its own
/// finalizer write, or another writer's, not seen yet). Adding or removing
/// the controller's finalizer from such a copy must neither fail nor undo
/// the other finalizers written since.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_finalizer_write_from_a_stale_copy_succeeds_and_keeps_the_others() {
    let h = Harness::new("stale-fin").await;
    let ns = h.namespace("stale-fin-cm").await;
    let ours = "driftless.test/ours";
    h.cp.kubectl_stdin(
        &["apply", "-n", &ns, "-f", "-"],
        &config_map("held", "  finalizers:\n  - example.com/keep\n"),
    )
    .expect("apply the ConfigMap");
    let api: Api<ConfigMap> = Api::namespaced(h.client.clone(), &ns);
    let stale = api.get("held").await.expect("get the ConfigMap");

    let set = driftless_controller::finalizers::set;
    set(&api, &stale, ours, true).await.expect("first add");
    set(&api, &stale, ours, true)
        .await
        .expect("adding again from the copy read before the first add");
    assert_eq!(
        finalizers_of(&api, "held").await,
        ["example.com/keep", ours]
    );

    let late =
        json!({ "metadata": { "finalizers": ["example.com/keep", ours, "example.com/late"] } });
    api.patch("held", &PatchParams::default(), &Patch::Merge(&late))
        .await
        .expect("another writer adds a finalizer");
    set(&api, &stale, ours, false)
        .await
        .expect("removing from the copy read before both writes");
    assert_eq!(
        finalizers_of(&api, "held").await,
        ["example.com/keep", "example.com/late"]
    );

    let none = json!({ "metadata": { "finalizers": null } });
    api.patch("held", &PatchParams::default(), &Patch::Merge(&none))
        .await
        .expect("release the ConfigMap");
}
