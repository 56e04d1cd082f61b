//! End to end, against the real control plane and a real Git server, with
//! the controller running in-process.

mod common;

use std::time::Duration;

use common::{Harness, eventually, revision_of};
use driftless_api::OperationPhase;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;

fn deployment_yaml(name: &str, replicas: u32, image: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
      - name: web
        image: {image}
"
    )
}

const AUTOMATED: &str = "  syncPolicy:
    automated:
      prune: true
      selfHeal: true
";

async fn deployment_available(h: &Harness, ns: &str, name: &str, replicas: i32) {
    let api: Api<Deployment> = Api::namespaced(h.client.clone(), ns);
    eventually(
        &format!("Deployment {ns}/{name} with {replicas} available replicas"),
        || {
            let api = api.clone();
            async move {
                let d = api.get_opt(name).await.ok().flatten()?;
                let status = d.status?;
                (d.spec?.replicas == Some(replicas) && status.available_replicas == Some(replicas))
                    .then_some(())
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn apply_syncs_and_polling_follows_pushes_and_prunes() {
    let h = Harness::start("poll", Duration::from_secs(2)).await;
    let dest = h.namespace("poll-dest").await;
    let repo = h.git.create_repo("poll/app");
    repo.write(
        "app/deployment.yaml",
        &deployment_yaml("web", 1, "nginx:1.27"),
    );
    repo.write(
        "app/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: one\n",
    );
    let first = repo.commit("first");

    h.apply(&common::application_yaml(
        "web",
        &h.apps_ns,
        &h.git.git_url("poll/app"),
        "app",
        &dest,
        AUTOMATED,
    ));
    let app = h.wait_synced_healthy("web", Some(&first)).await;
    deployment_available(&h, &dest, "web", 1).await;

    let status = app.status.clone().unwrap_or_default();
    assert_eq!(status.resources.len(), 2, "{:?}", status.resources);
    let op = status.operation_state.expect("an operation state");
    assert_eq!(op.phase, OperationPhase::Succeeded);
    assert_eq!(op.sync_result.map(|r| r.revision), Some(first.clone()));
    assert_eq!(status.history.len(), 1);
    assert_eq!(status.history[0].revision, first);
    assert_eq!(status.source_type.as_deref(), Some("Directory"));

    // A push is followed by polling: scale to 2, drop the ConfigMap (pruned).
    repo.write(
        "app/deployment.yaml",
        &deployment_yaml("web", 2, "nginx:1.27"),
    );
    repo.remove("app/configmap.yaml");
    let second = repo.commit("second");
    let app = h.wait_synced_healthy("web", Some(&second)).await;
    deployment_available(&h, &dest, "web", 2).await;
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);
    eventually("the ConfigMap to be pruned", || {
        let cms = cms.clone();
        async move {
            cms.get_opt("settings")
                .await
                .ok()
                .flatten()
                .is_none()
                .then_some(())
        }
    })
    .await;
    let status = app.status.unwrap_or_default();
    assert_eq!(status.resources.len(), 1, "{:?}", status.resources);
    // One entry per successful sync: the first revision, then the second (a
    // self-heal at the same revision would add a repeat, which is Argo CD's
    // behaviour too, so repeats are folded before comparing).
    let mut deployed: Vec<&str> = status.history.iter().map(|h| h.revision.as_str()).collect();
    deployed.dedup();
    assert_eq!(
        deployed,
        [first.as_str(), second.as_str()],
        "{:?}",
        status.history
    );
    // `kubectl describe` tells the story.
    let reasons = eventually("sync events on the Application", || async {
        let out = h.kubectl(&[
            "-n",
            &h.apps_ns,
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=web",
            "-o",
            "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}",
        ]);
        // A sync that never waits has one Event, saying what was out of sync.
        (out.contains("OperationCompleted: sync to")
            && out.contains("resources out of sync) succeeded")
            && out.contains("ResourcesPruned"))
        .then_some(out)
    })
    .await;
    assert!(!reasons.contains("OperationFailed"), "{reasons}");
    assert_eq!(
        revision_of(&h.wait_synced_healthy("web", None).await),
        Some(second.as_str())
    );
}

fn webhook_body(h: &Harness, repo: &str, files: &[&str]) -> String {
    serde_json::json!({
        "repository": h.git.git_url(repo),
        "ref": "refs/heads/main",
        "changedFiles": files,
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhook_push_refreshes_only_affected_apps() {
    // Polling is effectively off: only the webhook can bring the push in.
    let h = Harness::start("hook", Duration::from_secs(600)).await;
    let dest_a = h.namespace("hook-a").await;
    let dest_b = h.namespace("hook-b").await;
    let repo = h.git.create_repo("hook/app");
    repo.write(
        "a/deployment.yaml",
        &deployment_yaml("web", 1, "nginx:1.27"),
    );
    repo.write(
        "b/deployment.yaml",
        &deployment_yaml("web", 1, "nginx:1.27"),
    );
    let first = repo.commit("first");
    let url = h.git.git_url("hook/app");
    h.apply(&common::application_yaml(
        "a", &h.apps_ns, &url, "a", &dest_a, AUTOMATED,
    ));
    h.apply(&common::application_yaml(
        "b", &h.apps_ns, &url, "b", &dest_b, AUTOMATED,
    ));
    h.wait_synced_healthy("a", Some(&first)).await;
    h.wait_synced_healthy("b", Some(&first)).await;

    repo.write(
        "a/deployment.yaml",
        &deployment_yaml("web", 2, "nginx:1.27"),
    );
    let second = repo.commit("scale a");
    let (code, body) = h
        .post_webhook(&webhook_body(&h, "hook/app", &["a/deployment.yaml"]))
        .await;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("refreshing 1 applications"), "{body}");
    h.wait_synced_healthy("a", Some(&second)).await;
    deployment_available(&h, &dest_a, "web", 2).await;
    // b's files did not change: it was not refreshed and still names the first commit.
    let b = h.apps().get("b").await.expect("get b");
    assert_eq!(revision_of(&b), Some(first.as_str()));

    // A malformed payload is refused.
    let (code, _) = h.post_webhook("{\"ref\": 1}").await;
    assert_eq!(code, 400);
    let (code, metrics) = h.get("/metrics").await;
    assert_eq!(code, 200);
    assert!(
        metrics.contains("driftless_webhook_requests_total{result=\"push\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("driftless_syncs_total{result=\"succeeded\"}"),
        "{metrics}"
    );
    // The controller's own requests, counted by its client: the applies of
    // the syncs above and the watches.
    for verb in ["APPLY", "WATCH"] {
        let sample = format!("driftless_api_requests_total{{verb=\"{verb}\"}} ");
        let count: f64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix(&sample)?.parse().ok())
            .unwrap_or_else(|| panic!("no {sample} in {metrics}"));
        assert!(count >= 1.0, "{sample}{count}");
    }
    let (code, _) = h.get("/readyz").await;
    assert_eq!(code, 200);
}

/// Edits the ConfigMap `settings` by hand in `healed_ns` (an Application
/// with self-heal deploys it) and in the namespace of `unhealed` (one
/// without): the first edit is reverted by the watch, long before any
/// poll; the second stays and the Application shows OutOfSync.
async fn drift_both(h: &Harness, healed_ns: &str, unhealed: (&str, &str)) {
    let (unhealed_app, unhealed_ns) = unhealed;
    for ns in [healed_ns, unhealed_ns] {
        h.kubectl(&[
            "-n",
            ns,
            "patch",
            "configmap",
            "settings",
            "--type=merge",
            "-p",
            "{\"data\":{\"mode\":\"hand\"}}",
        ]);
    }
    let cms = |ns: &str| Api::<ConfigMap>::namespaced(h.client.clone(), ns);
    let healed = cms(healed_ns);
    eventually("the drift to be reverted", || {
        let healed = healed.clone();
        async move {
            let cm = healed.get("settings").await.ok()?;
            (cm.data?.get("mode").map(String::as_str) == Some("git")).then_some(())
        }
    })
    .await;
    h.wait_app(unhealed_app, "OutOfSync", |app| {
        app.status
            .as_ref()
            .and_then(|s| s.sync.as_ref())
            .map(|s| s.status)
            == Some(driftless_api::SyncStatusCode::OutOfSync)
    })
    .await;
    let cm = cms(unhealed_ns).get("settings").await.expect("get");
    assert_eq!(
        cm.data.unwrap_or_default().get("mode").map(String::as_str),
        Some("hand"),
        "without self-heal the drift stays"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn drift_is_reverted_with_self_heal_and_reported_without() {
    let h = Harness::start("heal", Duration::from_secs(600)).await;
    let healed_ns = h.namespace("heal-on").await;
    let manual_ns = h.namespace("heal-off").await;
    let repo = h.git.create_repo("heal/app");
    repo.write(
        "app/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: git\n",
    );
    let first = repo.commit("first");
    let url = h.git.git_url("heal/app");
    h.apply(&common::application_yaml(
        "healed", &h.apps_ns, &url, "app", &healed_ns, AUTOMATED,
    ));
    let no_heal = "  syncPolicy:\n    automated:\n      prune: true\n";
    h.apply(&common::application_yaml(
        "manual", &h.apps_ns, &url, "app", &manual_ns, no_heal,
    ));
    h.wait_synced_healthy("healed", Some(&first)).await;
    h.wait_synced_healthy("manual", Some(&first)).await;

    drift_both(&h, &healed_ns, ("manual", &manual_ns)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn finalizer_deletes_resources_and_idle_apps_are_not_rewritten() {
    let h = Harness::start("fin", Duration::from_secs(1)).await;
    let dest = h.namespace("fin-dest").await;
    let repo = h.git.create_repo("fin/app");
    repo.write(
        "app/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n",
    );
    repo.write(
        "app/kept.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n  annotations:\n    argocd.argoproj.io/sync-options: Delete=false\ndata:\n  a: b\n",
    );
    let first = repo.commit("first");
    let yaml = common::application_yaml(
        "fin",
        &h.apps_ns,
        &h.git.git_url("fin/app"),
        "app",
        &dest,
        AUTOMATED,
    )
    .replace(
        "  name: fin\n",
        "  name: fin\n  finalizers:\n  - resources-finalizer.argocd.argoproj.io\n",
    );
    h.apply(&yaml);
    h.wait_synced_healthy("fin", Some(&first)).await;

    // Idle: several requeue intervals pass without a status write.
    let before = h
        .apps()
        .get("fin")
        .await
        .expect("get")
        .metadata
        .resource_version;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = h
        .apps()
        .get("fin")
        .await
        .expect("get")
        .metadata
        .resource_version;
    assert_eq!(before, after, "an idle Application was rewritten");
    let reconciles = h.get("/metrics").await.1;
    assert!(
        reconciles.contains("driftless_reconciles_total{result=\"ok\"}"),
        "{reconciles}"
    );

    h.kubectl(&[
        "-n",
        &h.apps_ns,
        "delete",
        "application",
        "fin",
        "--wait=false",
    ]);
    let apps = h.apps();
    eventually("the Application to be gone", || {
        let apps = apps.clone();
        async move { apps.get_opt("fin").await.ok()?.is_none().then_some(()) }
    })
    .await;
    let cms = Api::<ConfigMap>::namespaced(h.client.clone(), &dest);
    assert!(
        cms.get_opt("settings").await.expect("get").is_none(),
        "settings should be deleted"
    );
    assert!(
        cms.get_opt("kept").await.expect("get").is_some(),
        "Delete=false keeps kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restart_mid_sync_converges_without_duplicate_work() {
    let mut h = Harness::start("restart", Duration::from_secs(1)).await;
    let dest = h.namespace("restart-dest").await;
    let repo = h.git.create_repo("restart/app");
    repo.write(
        "app/deployment.yaml",
        &deployment_yaml("web", 1, "nginx:1.27"),
    );
    let first = repo.commit("first");
    h.apply(&common::application_yaml(
        "web",
        &h.apps_ns,
        &h.git.git_url("restart/app"),
        "app",
        &dest,
        AUTOMATED,
    ));
    h.wait_synced_healthy("web", Some(&first)).await;

    // The controller dies in the middle of syncing a new revision: its last
    // word is an operation Running at that revision.
    h.stop_controller().await;
    repo.write(
        "app/deployment.yaml",
        &deployment_yaml("web", 2, "nginx:1.27"),
    );
    let second = repo.commit("second");
    let running = serde_json::json!({"status": {"operationState": {
        "phase": "Running",
        "message": "syncing",
        "operation": {"sync": {"revision": second}, "initiatedBy": {"automated": true}},
        "syncResult": {"revision": second},
        "startedAt": "2026-01-01T00:00:00Z",
    }}});
    h.apps()
        .patch_status(
            "web",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&running),
        )
        .await
        .expect("simulate a sync cut short");

    h.start_controller(Duration::from_secs(1)).await;
    let app = h.wait_synced_healthy("web", Some(&second)).await;
    deployment_available(&h, &dest, "web", 2).await;
    let status = app.status.unwrap_or_default();
    let op = status.operation_state.expect("operation state");
    assert_eq!(op.phase, OperationPhase::Succeeded);
    let revisions: Vec<&str> = status.history.iter().map(|e| e.revision.as_str()).collect();
    assert_eq!(
        revisions,
        [first.as_str(), second.as_str()],
        "each revision synced once"
    );

    // And it stays that way.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let later = h
        .apps()
        .get("web")
        .await
        .expect("get")
        .status
        .unwrap_or_default();
    assert_eq!(later.history.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_automated_prune_a_removed_file_requires_pruning() {
    let h = Harness::start("noprune", Duration::from_secs(1)).await;
    let dest = h.namespace("noprune-dest").await;
    let repo = h.git.create_repo("noprune/app");
    let cm = |name: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  a: b\n")
    };
    repo.write("app/keep.yaml", &cm("keep"));
    repo.write("app/gone.yaml", &cm("gone"));
    let first = repo.commit("first");
    let automated_no_prune = "  syncPolicy:\n    automated:\n      selfHeal: true\n";
    h.apply(&common::application_yaml(
        "web",
        &h.apps_ns,
        &h.git.git_url("noprune/app"),
        "app",
        &dest,
        automated_no_prune,
    ));
    h.wait_synced_healthy("web", Some(&first)).await;

    repo.remove("app/gone.yaml");
    let second = repo.commit("remove gone");
    let app = h
        .wait_app("web", "OutOfSync with gone requiring pruning", |a| {
            revision_of(a) == Some(second.as_str())
                && a.status.as_ref().is_some_and(|s| {
                    s.resources
                        .iter()
                        .any(|r| r.name == "gone" && r.requires_pruning)
                })
        })
        .await;
    let status = app.status.unwrap_or_default();
    assert_eq!(
        status.sync.map(|s| s.status),
        Some(driftless_api::SyncStatusCode::OutOfSync)
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);
    assert!(
        cms.get_opt("gone").await.expect("get").is_some(),
        "not pruned without prune"
    );
    assert!(cms.get_opt("keep").await.expect("get").is_some());
}

/// The controller's `driftless_comparisons_skipped_total`.
async fn comparisons_skipped(h: &Harness) -> f64 {
    let (code, metrics) = h.get("/metrics").await;
    assert_eq!(code, 200, "{metrics}");
    metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix("driftless_comparisons_skipped_total ")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no driftless_comparisons_skipped_total in {metrics}"))
}

/// Refreshes of Applications in which nothing changed stop before
/// comparing, and still see drift: self-heal reverts it, and without
/// self-heal it shows as OutOfSync, as when every refresh compared.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_refreshes_skip_the_comparison_and_still_see_drift() {
    let h = Harness::start("settle", Duration::from_secs(1)).await;
    let healed_ns = h.namespace("settle-heal").await;
    let unhealed_ns = h.namespace("settle-noheal").await;
    let repo = h.git.create_repo("settle/app");
    repo.write(
        "app/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: git\n",
    );
    let first = repo.commit("first");
    let url = h.git.git_url("settle/app");
    h.apply(&common::application_yaml(
        "healed", &h.apps_ns, &url, "app", &healed_ns, AUTOMATED,
    ));
    let no_heal = "  syncPolicy:\n    automated:\n      prune: true\n";
    h.apply(&common::application_yaml(
        "unhealed",
        &h.apps_ns,
        &url,
        "app",
        &unhealed_ns,
        no_heal,
    ));
    h.wait_synced_healthy("healed", Some(&first)).await;
    h.wait_synced_healthy("unhealed", Some(&first)).await;

    // Every second each is refreshed; once settled, without comparing.
    let skipped = eventually("idle refreshes that skip the comparison", || async {
        let n = comparisons_skipped(&h).await;
        (n >= 4.0).then_some(n)
    })
    .await;

    drift_both(&h, &healed_ns, ("unhealed", &unhealed_ns)).await;

    // The reverted one settles again.
    eventually("refreshes skipping the comparison again", || async {
        (comparisons_skipped(&h).await >= skipped + 2.0).then_some(())
    })
    .await;
    let app = h.apps().get("healed").await.expect("get");
    assert!(common::synced_healthy(&app), "{:?}", app.status);
}
