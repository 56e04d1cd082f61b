//! The controller panel's JSON (`GET /api/v1/health`) from a real
//! controller on the real control plane: each controller's queue fills
//! when many Applications arrive at once, and drains back to 0 once they
//! are reconciled.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::World;
use driftless_api::{Application, SyncStatusCode};
use driftless_controller::ControllerConfig;
use driftless_testkit::git::GitServer;
use kube::Api;
use serde_json::Value;

/// How many Applications arrive at once.
const APPS: usize = 24;
/// How long the controller may take to reconcile them all (a bound on the
/// wait, not a measure).
const LIMIT: Duration = Duration::from_secs(240);

fn configmap(i: usize) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings-{i}\ndata:\n  value: v{i}\n"
    )
}

fn applications(ns: &str, url: &str) -> String {
    (0..APPS)
        .map(|i| {
            format!(
                "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: app-{i}}}
spec:
  project: default
  source: {{repoURL: '{url}', path: app-{i}, targetRevision: main}}
  destination: {{server: 'https://kubernetes.default.svc', namespace: {ns}}}
  syncPolicy: {{automated: {{}}}}
"
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

/// How many of `ns`'s Applications are Synced at `revision`.
async fn synced(apps: &Api<Application>, revision: &str) -> usize {
    let Ok(list) = apps.list(&Default::default()).await else {
        return 0;
    };
    list.items
        .iter()
        .filter_map(|a| a.status.as_ref())
        .filter_map(|s| s.sync.as_ref())
        .filter(|s| s.status == SyncStatusCode::Synced && s.revision.as_deref() == Some(revision))
        .count()
}

/// The panel's `controllers` map.
async fn controllers(w: &World, token: &str) -> Value {
    let (status, body) = w.get("/api/v1/health", Some(token)).await;
    assert_eq!(status, 200, "{body}");
    body["controller"]["controllers"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn queue_depth_rises_with_many_new_apps_and_drains_to_zero() {
    let mut w = World::new("ui-queue").await;
    let git = GitServer::start().await;
    let repo = git.create_repo("ui/many");
    for i in 0..APPS {
        repo.write(&format!("app-{i}/cm.yaml"), &configmap(i));
    }
    let sha = repo.commit("many apps");
    let cache = tempfile::tempdir().expect("temp dir");
    let config = ControllerConfig {
        namespaces: vec![w.ns.clone()],
        control_plane_namespace: w.ns.clone(),
        credentials_namespace: w.ns.clone(),
        repo_cache_dir: cache.path().to_path_buf(),
        // One reconcile at a time: the rest wait in the queue.
        concurrency: 1,
        ..ControllerConfig::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let client = w.cp.client().await;
    let running = driftless_controller::start(client.clone(), config, async move {
        let _ = stopped.await;
    })
    .await
    .expect("starting the controller");
    let metrics = running.context.metrics.clone();
    w.serve(false, Some(Arc::new(move || metrics.encode())))
        .await;
    // The panel is for any authenticated user.
    let token = w.account("anyone", "[]");

    let idle = controllers(&w, &token).await;
    for kind in [
        "Application",
        "Kustomization",
        "HelmRelease",
        "HelmRepository",
        "GitRepository",
    ] {
        assert_eq!(idle[kind]["queued"], 0.0, "{kind} in {idle}");
    }

    w.apply(&applications(&w.ns, &git.git_url("ui/many")));
    let apps: Api<Application> = Api::namespaced(client, &w.ns);
    let deadline = tokio::time::Instant::now() + LIMIT;
    let mut most_queued = 0.0_f64;
    let mut most_running = 0.0_f64;
    let last = loop {
        let now = controllers(&w, &token).await;
        let app = &now["Application"];
        let (queued, running) = (
            app["queued"].as_f64().expect("a queue depth"),
            app["inFlight"].as_f64().expect("reconciles in flight"),
        );
        most_queued = most_queued.max(queued);
        most_running = most_running.max(running);
        if queued == 0.0 && running == 0.0 && synced(&apps, &sha).await == APPS {
            break now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the Applications were not all reconciled; the panel says {now}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    println!("the Application queue was seen at {most_queued} at most, {most_running} running");
    assert!(
        most_queued >= 2.0,
        "with {APPS} new Applications and one reconcile at a time, the queue was seen at {most_queued} at most"
    );
    assert!(most_running <= 1.0, "concurrency 1, yet {most_running} ran");
    assert_eq!(last["Application"]["queued"], 0.0, "{last}");
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(30), running.wait()).await;
}
