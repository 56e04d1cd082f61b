//! Scale: N Applications (default 1000; first argument), each a Deployment
//! (replicas 0), ServiceAccount, Service and Ingress from its own path, the
//! shape of Flux's public benchmark. The controller runs as its own process
//! (`driftless controller`, the release build; `$DRIFTLESS_CONTROLLER_BIN` overrides
//! it, `$DRIFTLESS_CONTROLLER_ARGS` adds flags, `$DRIFTLESS_BENCH_LOG` keeps its log) against a local control plane
//! and Git server. Prints the time from applying the Applications (eight
//! server-side applies in flight) to all Synced, the controller's peak RSS,
//! and then its CPU time and Application writes during an idle minute (the
//! second argument, in seconds, shortens it), next to Flux's published
//! numbers; also the reconciles, Git fetches and API requests (all clients)
//! up to all Synced, to see where the time goes.
//!
//! `cargo build --release -p driftless-cli && cargo run --release -p driftless-controller --example bench_scale -- 1000`

#[path = "../../tests/common/mod.rs"]
mod common;

mod child;

use std::time::{Duration, Instant};

use child::ControllerProcess;
use driftless_api::SyncStatusCode;
use driftless_testkit::metrics;
use futures::StreamExt;
use kube::api::{ListParams, Patch, PatchParams};

/// Flux's published result for 1,000 such objects: 4 min 13 s.
const FLUX_SECONDS: f64 = 253.0;
/// Flux's published peak memory for it.
const FLUX_MIB: f64 = 223.0;
/// The controller's counter of Application writes.
const WRITES: &str = "driftless_application_writes_total";

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

/// Application `i`, deploying its own path of `url` into `dest`.
fn application(i: usize, url: &str, dest: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": { "name": format!("app-{i}") },
        "spec": {
            "source": { "repoURL": url, "targetRevision": "main", "path": format!("apps/app-{i}") },
            "destination": { "server": "https://kubernetes.default.svc", "namespace": dest },
            "syncPolicy": { "automated": { "prune": true } },
        },
    })
}

/// Server-side applies the `n` Applications, `APPLIERS` at a time (as a
/// client like Argo CD's ApplicationSet controller does). `kubectl apply`
/// sends them one after another: measured here, it alone took 63.5 s for
/// 1000 (server-side) while the controller was syncing them, which made the
/// benchmark a measure of kubectl.
async fn apply_all(h: &common::Harness, n: usize, url: &str, dest: &str) {
    const APPLIERS: usize = 8;
    let api = h.apps();
    let params = PatchParams::apply("bench-scale");
    futures::stream::iter(0..n)
        .map(|i| {
            let (api, params) = (&api, &params);
            async move {
                api.patch(
                    &format!("app-{i}"),
                    params,
                    &Patch::Apply(application(i, url, dest)),
                )
                .await
                .unwrap_or_else(|e| panic!("applying app-{i}: {e}"));
            }
        })
        .buffer_unordered(APPLIERS)
        .collect::<Vec<()>>()
        .await;
}

/// The managed kinds of the app shape.
const MANAGED: [&str; 4] = ["deployments", "services", "serviceaccounts", "ingresses"];

/// Whether a request is of the kind the controller makes (reads, dry-runs
/// and writes of the managed objects themselves, Application writes other
/// than the benchmark's own applies, Events, Secrets), as opposed to the
/// benchmark's client and kube-controller-manager (status subresources of
/// the managed kinds, ReplicaSets, Endpoints, ...). The API server counts
/// requests by verb and resource, not by client: this is the closest view.
fn is_controllers((verb, resource): &(String, String)) -> bool {
    let base = resource.split('/').next().unwrap_or("");
    let sub = resource.contains('/');
    match base {
        _ if MANAGED.contains(&base) => !sub,
        "applications" => verb == "PATCH",
        "events" | "secrets" | "appprojects" => true,
        _ => false,
    }
}

/// The requests of [`is_controllers`] kind between `before` and `after`:
/// their number, and described by verb and resource.
fn controller_share(before: &metrics::Counts, after: &metrics::Counts) -> (f64, String) {
    let only = |c: &metrics::Counts| -> metrics::Counts {
        c.iter()
            .filter(|(k, _)| is_controllers(k))
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    };
    let (before, after) = (only(before), only(after));
    let total: f64 = metrics::by_verb(&before, &after).values().sum();
    (total, metrics::describe(&before, &after, 24))
}

/// How many of the Applications report Synced.
async fn synced(h: &common::Harness) -> usize {
    let list = h
        .apps()
        .list(&ListParams::default())
        .await
        .expect("list Applications");
    list.items
        .iter()
        .filter(|a| {
            a.status
                .as_ref()
                .and_then(|s| s.sync.as_ref())
                .map(|s| s.status)
                == Some(SyncStatusCode::Synced)
        })
        .count()
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
    let binary = child::binary();
    assert!(
        binary.is_file(),
        "{} is missing: cargo build --release -p driftless-cli (or set DRIFTLESS_CONTROLLER_BIN)",
        binary.display()
    );
    let extra: Vec<String> = std::env::var("DRIFTLESS_CONTROLLER_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect();

    let h = common::Harness::new("bench-scale").await;
    let dest = h.namespace("bench-scale-dest").await;
    let repo = h.git.create_repo("bench/scale");
    for i in 0..n {
        for (path, body) in files(i) {
            repo.write(&path, &body);
        }
    }
    repo.commit("apps");
    let url = h.git.git_url("bench/scale");

    let work = tempfile::tempdir().expect("temp dir");
    let mut controller = ControllerProcess::spawn(
        &binary,
        h.cp.kubeconfig_path(),
        &h.apps_ns,
        work.path(),
        &extra,
    );
    controller.wait_ready().await;
    let started_mib = controller.rss_mib();

    let requests_before = metrics::snapshot(h.cp);
    let started = Instant::now();
    apply_all(&h, n, &url, &dest).await;
    let applied = started.elapsed().as_secs_f64();
    loop {
        let synced = synced(&h).await;
        if synced == n {
            break;
        }
        controller.check_alive();
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "only {synced} of {n} Synced after 30 minutes"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let to_synced = started.elapsed().as_secs_f64();
    let synced_peak_mib = controller.peak_rss_mib();
    let synced_cpu = controller.cpu_seconds();
    let requests = metrics::describe(&requests_before, &metrics::snapshot(h.cp), 24);
    let reconciles = controller.metric("driftless_reconciles_total").await;
    let reconcile_secs = controller
        .metric("driftless_reconcile_duration_seconds_sum")
        .await;
    let fetches = controller
        .metric("driftless_git_fetch_duration_seconds_count")
        .await;

    // Let health settle (Deployments roll out after Synced): wait until no
    // Application was written for 10 s (at most 5 minutes: the local
    // kube-controller-manager writes at its default 20 requests/s, so 1000
    // Deployments take it about two minutes to observe).
    let settle = Instant::now();
    let mut last = controller.metric(WRITES).await;
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < Duration::from_secs(10)
        && settle.elapsed() < Duration::from_secs(300)
    {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = controller.metric(WRITES).await;
        if now != last {
            last = now;
            quiet_since = Instant::now();
        }
    }
    let settled = settle.elapsed().as_secs_f64();
    let settled_counts = metrics::snapshot(h.cp);
    let all_settled = metrics::describe(&requests_before, &settled_counts, 24);
    let (ours, ours_described) = controller_share(&requests_before, &settled_counts);

    let cpu0 = controller.cpu_seconds();
    let writes0 = controller.metric(WRITES).await;
    let idle_before = metrics::snapshot(h.cp);
    tokio::time::sleep(Duration::from_secs(idle_secs)).await;
    let cpu1 = controller.cpu_seconds();
    let writes1 = controller.metric(WRITES).await;
    let idle_writes = metrics::writes_to(
        &idle_before,
        &metrics::snapshot(h.cp),
        &[
            "applications/*",
            "events",
            "deployments",
            "services",
            "serviceaccounts",
            "ingresses",
        ],
    );
    let peak_mib = controller.peak_rss_mib();
    let idle_mib = controller.rss_mib();
    controller.stop();
    // $DRIFTLESS_BENCH_LOG keeps the controller's log (set RUST_LOG to choose what it says).
    if let Some(keep) = std::env::var_os("DRIFTLESS_BENCH_LOG") {
        std::fs::copy(work.path().join("controller.log"), &keep)
            .unwrap_or_else(|e| panic!("copying the controller log to {keep:?}: {e}"));
    }

    let per_min = 60.0 / idle_secs as f64;
    println!(
        "{n} applications, controller as its own process (pid {}{}):",
        controller.pid(),
        if extra.is_empty() {
            String::new()
        } else {
            format!(", flags {}", extra.join(" "))
        }
    );
    println!(
        "  all Synced in {to_synced:.1}s (goal <= 60s for 1000; Flux: {FLUX_SECONDS:.0}s, {:.1}x ours); settled after {settled:.1}s more; applying them took {applied:.1}s",
        FLUX_SECONDS / to_synced
    );
    println!(
        "  up to all Synced: {reconciles:.0} reconciles ({:.2}s each on average), {fetches:.0} Git fetches; API requests (all clients): {requests}",
        reconcile_secs / reconciles.max(1.0)
    );
    println!(
        "  up to all Synced and settled: API requests (all clients): {all_settled}; of them the controller's kind ({:.1} per app): {ours_described}",
        ours / n as f64
    );
    println!(
        "  controller peak RSS {peak_mib:.1} MiB (goal <= 100 MiB; Flux: {FLUX_MIB:.0} MiB, {:.1}x ours); {started_mib:.1} MiB at start, {synced_peak_mib:.1} MiB peak at all Synced, {idle_mib:.1} MiB idle",
        FLUX_MIB / peak_mib
    );
    println!(
        "  CPU {synced_cpu:.1} s up to all Synced; idle: {:.2} CPU-seconds/min, {:.0} Application writes/min by the controller, {:.0} API writes/min to Applications, Events and the managed kinds by any client (goal ~0)",
        (cpu1 - cpu0) * per_min,
        (writes1 - writes0) * per_min,
        idle_writes * per_min,
    );
}
