//! Scale: N Applications (default 1000; first argument), each a Deployment
//! (replicas 0), ServiceAccount, Service and Ingress from its own path, the
//! shape of Flux's public benchmark. Prints the time from applying them to
//! all Synced, the process's peak RSS, and then CPU time and Application
//! writes during an idle minute (the second argument, in seconds, shortens it).
//!
//! `cargo run --release -p driftless-controller --example bench_scale -- 1000`

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use driftless_api::SyncStatusCode;
use kube::api::ListParams;

fn files(i: usize) -> Vec<(String, String)> {
    let name = format!("app-{i}");
    vec![
        (
            format!("apps/{name}/deployment.yaml"),
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  replicas: 0\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      serviceAccountName: {name}\n      containers:\n      - name: web\n        image: nginx:1.27\n"
            ),
        ),
        (
            format!("apps/{name}/serviceaccount.yaml"),
            format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n"),
        ),
        (
            format!("apps/{name}/service.yaml"),
            format!(
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  selector:\n    app: {name}\n  ports:\n  - port: 80\n"
            ),
        ),
        (
            format!("apps/{name}/ingress.yaml"),
            format!(
                "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\nspec:\n  rules:\n  - host: {name}.example.com\n    http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend:\n          service:\n            name: {name}\n            port:\n              number: 80\n"
            ),
        ),
    ]
}

/// (user+system CPU seconds, peak RSS in MiB) of this process.
fn process_stats() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm_kib = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .unwrap_or(0.0);
    (cpu, hwm_kib / 1024.0)
}

fn counter(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let idle_secs: u64 = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(60);
    let h = common::Harness::start("bench-scale", Duration::from_secs(180)).await;
    let dest = h.namespace("bench-scale-dest").await;
    let repo = h.git.create_repo("bench/scale");
    for i in 0..n {
        for (path, body) in files(i) {
            repo.write(&path, &body);
        }
    }
    repo.commit("apps");
    let url = h.git.git_url("bench/scale");
    let mut manifests = String::new();
    for i in 0..n {
        manifests.push_str(&format!(
            "---\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: app-{i}\n  namespace: {ns}\nspec:\n  source:\n    repoURL: {url}\n    targetRevision: main\n    path: apps/app-{i}\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: {dest}\n  syncPolicy:\n    automated:\n      prune: true\n",
            ns = h.apps_ns
        ));
    }
    let started = Instant::now();
    h.apply(&manifests);
    let apps = h.apps();
    loop {
        let list = apps
            .list(&ListParams::default())
            .await
            .expect("list Applications");
        let synced = list
            .items
            .iter()
            .filter(|a| {
                a.status
                    .as_ref()
                    .and_then(|s| s.sync.as_ref())
                    .map(|s| s.status)
                    == Some(SyncStatusCode::Synced)
            })
            .count();
        if synced == n {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "only {synced} of {n} Synced after 30 minutes"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let to_synced = started.elapsed();
    let (_, peak_mib) = process_stats();
    let ctx = h.controller.as_ref().expect("controller").context.clone();
    // Let health settle (Deployments roll out after Synced): wait until no
    // Application was written for 10 s (at most 5 minutes: the local
    // kube-controller-manager writes at its default 20 requests/s, so 1000
    // Deployments take it about two minutes to observe).
    let settle = Instant::now();
    let mut last = counter(&ctx.metrics.encode(), "driftless_application_writes_total");
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < Duration::from_secs(10)
        && settle.elapsed() < Duration::from_secs(300)
    {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = counter(&ctx.metrics.encode(), "driftless_application_writes_total");
        if now != last {
            last = now;
            quiet_since = Instant::now();
        }
    }
    let settled = settle.elapsed();
    let (cpu0, _) = process_stats();
    let writes0 = counter(&ctx.metrics.encode(), "driftless_application_writes_total");
    tokio::time::sleep(Duration::from_secs(idle_secs)).await;
    let (cpu1, _) = process_stats();
    let writes1 = counter(&ctx.metrics.encode(), "driftless_application_writes_total");
    let per_min = 60.0 / idle_secs as f64;
    println!(
        "{n} applications: all Synced in {:.1}s, settled after {:.1}s more (goal <= 60s for 1000); peak RSS {peak_mib:.0} MiB (whole process, control-plane clients included; goal <= 100 MiB); idle: {:.2} CPU-seconds/min, {:.0} Application writes/min",
        to_synced.as_secs_f64(),
        settled.as_secs_f64(),
        (cpu1 - cpu0) * per_min,
        (writes1 - writes0) * per_min,
    );
}
