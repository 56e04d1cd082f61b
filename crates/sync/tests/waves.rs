//! Sync waves and health against the real control plane (kwok makes pods
//! Running and Ready on its fake nodes).

mod support;

use driftless_api::HealthStatusCode;
use driftless_sync::{Action, ResourceState};
use serde_json::{Value, json};
use support::*;

const WAVE: &str = "argocd.argoproj.io/sync-wave";

fn condition_time(obj: &Value, kind: &str) -> Option<String> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind && c["status"] == "True")
        .and_then(|c| c["lastTransitionTime"].as_str().map(str::to_string))
}

#[tokio::test]
async fn a_wave_starts_after_the_previous_one_is_available() {
    let env = env("waves").await;
    let target = env.target("waves");
    let objects = vec![
        with_annotation(deployment("second", 1, json!({})), WAVE, "1"),
        deployment("first", 2, json!({})),
    ];
    let result = env.sync_ok(&target, &objects).await;
    let order: Vec<&str> = result
        .resources
        .iter()
        .map(|r| r.key.name.as_str())
        .collect();
    assert_eq!(order, ["first", "second"]);

    let first = env
        .get("apps/v1", "Deployment", "first")
        .await
        .expect("exists");
    let second = env
        .get("apps/v1", "Deployment", "second")
        .await
        .expect("exists");
    let available = condition_time(&first, "Available").expect("first is Available");
    let created = second["metadata"]["creationTimestamp"]
        .as_str()
        .expect("timestamp")
        .to_string();
    // RFC 3339 UTC timestamps of one format compare as strings.
    assert!(
        created >= available,
        "second created at {created}, first Available at {available}"
    );
    assert_eq!(first["status"]["availableReplicas"], 2);
}

#[tokio::test]
async fn a_wave_that_never_becomes_healthy_stops_the_sync() {
    let env = env("waves-stuck").await;
    let target = env.target("stuck");
    let mut stuck = deployment("stuck", 1, unschedulable());
    stuck["spec"]["progressDeadlineSeconds"] = json!(15);
    let objects = vec![
        stuck,
        with_annotation(config_map("later", json!({})), WAVE, "1"),
    ];
    let cmp = env.diff(&target, &objects).await;
    let result = env.engine.sync(&target, &cmp).await.expect("sync");
    assert!(!result.succeeded);
    assert!(
        result.message.contains("progress deadline"),
        "{}",
        result.message
    );
    let later = result
        .outcome(&key("", "ConfigMap", &env.ns, "later"))
        .expect("reported");
    assert_eq!(later.action, Action::Skipped);
    assert!(env.get("v1", "ConfigMap", "later").await.is_none());
}

#[tokio::test]
async fn deployment_goes_progressing_then_healthy() {
    let env = env("health-ok").await;
    let target = env.target("health");
    let web = key("apps", "Deployment", &env.ns, "web");
    // Pods cannot be scheduled yet: Progressing for as long as we look.
    let pending = vec![deployment("web", 2, unschedulable())];
    env.sync_ok(&target, &pending).await;
    let cmp = env.diff(&target, &pending).await;
    assert_eq!(health(&cmp, &web), HealthStatusCode::Progressing);
    assert_eq!(cmp.health().status, HealthStatusCode::Progressing);

    // Fixed in Git: kwok runs the pods and the Deployment becomes Healthy.
    let fixed = vec![deployment("web", 2, json!({}))];
    env.sync_ok(&target, &fixed).await;
    let healthy = env
        .eventually("the Deployment Healthy", || async {
            let cmp = env.diff(&target, &fixed).await;
            let r = resource(&cmp, &web);
            (r.health.status == HealthStatusCode::Healthy).then(|| r.clone())
        })
        .await;
    assert_eq!(healthy.state, ResourceState::Synced);
    assert_eq!(
        healthy.health.message.as_deref(),
        Some("2 of 2 replicas available")
    );
}

#[tokio::test]
async fn never_ready_deployment_goes_degraded_after_its_deadline() {
    let env = env("health-bad").await;
    let target = env.target("degraded");
    let web = key("apps", "Deployment", &env.ns, "web");
    let mut never = deployment("web", 1, unschedulable());
    never["spec"]["progressDeadlineSeconds"] = json!(20);
    let objects = vec![never];
    env.sync_ok(&target, &objects).await;
    let first = env.diff(&target, &objects).await;
    assert_eq!(health(&first, &web), HealthStatusCode::Progressing);

    let mut seen = vec![HealthStatusCode::Progressing];
    let start = std::time::Instant::now();
    let degraded = loop {
        let cmp = env.diff(&target, &objects).await;
        let h = resource(&cmp, &web).health.clone();
        seen.push(h.status);
        if h.status == HealthStatusCode::Degraded {
            break h;
        }
        assert!(start.elapsed() < EVENTUALLY, "never Degraded: {seen:?}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    assert!(
        degraded
            .message
            .unwrap_or_default()
            .contains("progress deadline")
    );
    assert!(!seen.contains(&HealthStatusCode::Healthy), "{seen:?}");
}

#[tokio::test]
async fn an_unchanged_unhealthy_wave_still_gates_the_next_attempt() {
    let env = env("waves-again").await;
    let engine = env
        .engine
        .clone()
        .with_wave_timeout(std::time::Duration::from_secs(2));
    let target = env.target("again");
    let objects = vec![
        deployment("pending", 1, unschedulable()),
        with_annotation(config_map("later", json!({})), WAVE, "1"),
    ];
    for attempt in ["first", "second"] {
        let cmp = env.diff(&target, &objects).await;
        let result = engine.sync(&target, &cmp).await.expect("sync");
        assert!(!result.succeeded, "{attempt} attempt: {}", result.message);
        assert!(
            result.message.contains("wave 0 timed out"),
            "{attempt} attempt: {}",
            result.message
        );
        let pending = result
            .outcome(&key("apps", "Deployment", &env.ns, "pending"))
            .expect("reported");
        let expected = if attempt == "first" {
            Action::Created
        } else {
            Action::Unchanged
        };
        assert_eq!(pending.action, expected, "{attempt} attempt");
        assert!(
            env.get("v1", "ConfigMap", "later").await.is_none(),
            "{attempt} attempt applied wave 1 while wave 0 is unhealthy"
        );
    }
}
