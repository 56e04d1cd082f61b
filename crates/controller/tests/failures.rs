//! A failing sync is retried with backoff up to the limit and reported as a
//! SyncError, without looping; a new revision starts over.

mod common;

use std::time::Duration;

use common::Harness;
use driftless_api::{Application, OperationPhase, condition};

fn op_state(app: &Application) -> Option<(OperationPhase, i64)> {
    let s = app.status.as_ref()?.operation_state.as_ref()?;
    Some((s.phase, s.retry_count.unwrap_or(0)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_sync_retries_up_to_the_limit_then_stops() {
    let h = Harness::start("fail", Duration::from_secs(1)).await;
    let dest = h.namespace("fail-dest").await;
    let repo = h.git.create_repo("fail/app");
    // The API server refuses this Deployment (a selector that does not match its labels).
    repo.write(
        "app/deployment.yaml",
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
spec:
  replicas: 1
  selector:
    matchLabels:
      app: one
  template:
    metadata:
      labels:
        app: other
    spec:
      containers:
      - name: web
        image: nginx:1.27
",
    );
    let bad = repo.commit("broken");
    h.apply(&common::application_yaml(
        "flaky",
        &h.apps_ns,
        &h.git.git_url("fail/app"),
        "app",
        &dest,
        "  syncPolicy:
    automated: {}
    retry:
      limit: 2
      backoff:
        duration: 1s
        factor: 1
",
    ));
    let app = h
        .wait_app("flaky", "failed twice more", |a| {
            matches!(
                op_state(a),
                Some((OperationPhase::Failed | OperationPhase::Error, 2))
            )
        })
        .await;
    let status = app.status.clone().unwrap_or_default();
    let sync_error = status
        .conditions
        .iter()
        .find(|c| c.type_ == condition::SYNC_ERROR)
        .unwrap_or_else(|| panic!("no SyncError condition: {:?}", status.conditions));
    assert!(sync_error.message.contains(&bad), "{}", sync_error.message);
    assert!(status.history.is_empty(), "a failed sync is not history");

    // The limit holds: no further attempts at this revision.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let later = h.apps().get("flaky").await.expect("get");
    assert_eq!(op_state(&later), op_state(&app));
    let metrics = h.get("/metrics").await.1;
    let failed: u64 = metrics
        .lines()
        .filter(|l| {
            l.starts_with("driftless_syncs_total{result=\"failed\"}")
                || l.starts_with("driftless_syncs_total{result=\"error\"}")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(failed, 3, "one attempt and two retries:\n{metrics}");

    // A fixed revision syncs at once.
    repo.write(
        "app/deployment.yaml",
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
spec:
  replicas: 1
  selector:
    matchLabels:
      app: one
  template:
    metadata:
      labels:
        app: one
    spec:
      containers:
      - name: web
        image: nginx:1.27
",
    );
    let good = repo.commit("fixed");
    let app = h.wait_synced_healthy("flaky", Some(&good)).await;
    let status = app.status.unwrap_or_default();
    assert!(
        !status
            .conditions
            .iter()
            .any(|c| c.type_ == condition::SYNC_ERROR),
        "{:?}",
        status.conditions
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_broken_render_is_reported_prunes_nothing_and_a_webhook_push_recovers() {
    let h = Harness::start("render", Duration::from_secs(600)).await;
    let dest = h.namespace("render-dest").await;
    let repo = h.git.create_repo("render/app");
    let cm = |v: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  v: {v}\n")
    };
    repo.write("app/cm.yaml", &cm("one"));
    let first = repo.commit("first");
    h.apply(&common::application_yaml(
        "fragile",
        &h.apps_ns,
        &h.git.git_url("render/app"),
        "app",
        &dest,
        "  syncPolicy:
    automated:
      prune: true
",
    ));
    h.wait_synced_healthy("fragile", Some(&first)).await;

    // Unparsable YAML: reported, and the live ConfigMap is not pruned.
    repo.write(
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n",
    );
    repo.commit("broken");
    let hook = |h: &Harness| {
        serde_json::json!({
            "repository": h.git.git_url("render/app"),
            "ref": "refs/heads/main",
            "changedFiles": ["app/cm.yaml"],
        })
        .to_string()
    };
    assert_eq!(h.post_webhook(&hook(&h)).await.0, 200);
    let app = h
        .wait_app("fragile", "reporting a ComparisonError", |a| {
            a.status.as_ref().is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == condition::COMPARISON_ERROR && c.message.contains("app"))
            })
        })
        .await;
    let sync = app.status.and_then(|s| s.sync).expect("sync status");
    assert_eq!(sync.status, driftless_api::SyncStatusCode::Unknown);
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(h.client.clone(), &dest);
    assert!(
        cms.get_opt("cm").await.expect("get").is_some(),
        "never prune on a failed render"
    );

    // The fix arrives by webhook and the app recovers.
    repo.write("app/cm.yaml", &cm("two"));
    let fixed = repo.commit("fixed");
    assert_eq!(h.post_webhook(&hook(&h)).await.0, 200);
    let app = h.wait_synced_healthy("fragile", Some(&fixed)).await;
    assert!(
        app.status.unwrap_or_default().conditions.is_empty(),
        "the ComparisonError is cleared"
    );
}

/// The `driftless_applications` series of the metrics text, summed.
fn applications_counted(metrics: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("driftless_applications{"))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<u64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_application_that_only_fails_is_still_in_the_metrics() {
    let h = Harness::start("fail-metrics", Duration::from_secs(1)).await;
    let dest = h.namespace("fail-metrics-dest").await;
    let repo = h.git.create_repo("fail-metrics/app");
    repo.write(
        "other/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    );
    repo.commit("no such path as the Application names");
    h.apply(&common::application_yaml(
        "lost",
        &h.apps_ns,
        &h.git.git_url("fail-metrics/app"),
        "missing/path",
        &dest,
        "",
    ));
    h.wait_app("lost", "a ComparisonError", |a| {
        a.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == condition::COMPARISON_ERROR)
        })
    })
    .await;
    // The failure path runs the post-status step too (metrics, parents).
    let metrics = common::eventually("the failing Application counted", || async {
        let (code, body) = h.get("/metrics").await;
        (code == 200 && applications_counted(&body) == 1).then_some(body)
    })
    .await;
    assert!(metrics.contains("driftless_applications{"), "{metrics}");
}
