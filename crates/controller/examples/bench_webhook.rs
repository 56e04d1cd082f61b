//! Push → applied latency through the webhook: 50 pushes (or the count given
//! as the first argument), each changing a ConfigMap value, each followed by
//! a webhook call; prints p50 and p99 of the time from the webhook call to
//! the new value being in the cluster. Runs against the local control plane
//! and Git server (started as the tests start them).
//!
//! `cargo run -p driftless-controller --example bench_webhook -- 50`

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;

fn configmap(value: usize) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bench\ndata:\n  value: \"{value}\"\n"
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let pushes: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50);
    let h = common::Harness::start("bench-hook", Duration::from_secs(600)).await;
    let dest = h.namespace("bench-hook-dest").await;
    let repo = h.git.create_repo("bench/hook");
    repo.write("app/cm.yaml", &configmap(0));
    let first = repo.commit("0");
    let url = h.git.git_url("bench/hook");
    h.apply(&common::application_yaml(
        "bench",
        &h.apps_ns,
        &url,
        "app",
        &dest,
        "  syncPolicy:
    automated:
      prune: true
",
    ));
    h.wait_synced_healthy("bench", Some(&first)).await;
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);
    let body = serde_json::json!({
        "repository": url,
        "ref": "refs/heads/main",
        "changedFiles": ["app/cm.yaml"],
    })
    .to_string();

    let mut latencies = Vec::with_capacity(pushes);
    for i in 1..=pushes {
        repo.write("app/cm.yaml", &configmap(i));
        repo.commit(&i.to_string());
        let started = Instant::now();
        let (code, _) = h.post_webhook(&body).await;
        assert_eq!(code, 200, "webhook refused");
        let want = i.to_string();
        loop {
            let cm = cms.get("bench").await.expect("get the ConfigMap");
            if cm.data.as_ref().and_then(|d| d.get("value")) == Some(&want) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "push {i} not applied within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        latencies.push(started.elapsed());
    }
    latencies.sort();
    let mean = latencies.iter().sum::<Duration>() / latencies.len() as u32;
    println!(
        "push -> applied via webhook, {pushes} pushes: p50 {:.3}s  p99 {:.3}s  mean {:.3}s  max {:.3}s  (goal p50 <= 1s)",
        percentile(&latencies, 0.5).as_secs_f64(),
        percentile(&latencies, 0.99).as_secs_f64(),
        mean.as_secs_f64(),
        latencies.last().copied().unwrap_or_default().as_secs_f64(),
    );
}
