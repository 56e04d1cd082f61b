//! Benchmark: sync 2,000 rendered objects (20 namespaces, mixed kinds) into
//! the local control plane with the sync engine, and the same objects (in
//! other namespaces) with `kubectl apply --server-side`, in the same run;
//! then re-sync both unchanged. Prints times, the ratio driftless/kubectl
//! (goal <= 1.0) and the writes of the unchanged re-sync (goal 0).
//!
//! Uses the cluster named by `DRIFTLESS_TEST_KUBECONFIG`, or starts one.
//! Usage: `cargo run --release -p driftless-sync --example sync-bench -- [--namespaces N] [--per-namespace N] [--concurrency N]`

use std::time::{Duration, Instant};

use driftless_render::Object;
use driftless_sync::{SyncEngine, Target};
use driftless_testkit::cluster::ControlPlane;
use serde_json::{Value, json};

struct Args {
    namespaces: usize,
    per_namespace: usize,
    concurrency: usize,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        namespaces: 20,
        per_namespace: 99,
        concurrency: 16,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value: usize = it
            .next()
            .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))?
            .parse()?;
        match flag.as_str() {
            "--namespaces" => args.namespaces = value,
            "--per-namespace" => args.per_namespace = value,
            "--concurrency" => args.concurrency = value,
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    Ok(args)
}

/// The `i`-th object of a namespace: a mix close to a real application.
fn object(ns: &str, i: usize) -> Value {
    let name = format!("obj-{i:03}");
    let meta = json!({"name": name, "namespace": ns, "labels": {"app": name}});
    match i % 10 {
        0..=3 => json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
            "data": {"index": i.to_string(), "settings.yaml": "mode: fast\nlevel: 3\n"}}),
        4 => json!({"apiVersion": "v1", "kind": "Secret", "metadata": meta,
            "stringData": {"password": format!("secret-{i}")}}),
        5 | 6 => json!({"apiVersion": "v1", "kind": "Service", "metadata": meta,
            "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}}),
        7 => json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}),
        8 => json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta,
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]}),
        _ => json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}}),
    }
}

/// Namespaces `<prefix>-<n>` and their objects, namespaces first.
fn render(prefix: &str, args: &Args) -> Vec<Value> {
    let mut out = Vec::new();
    for n in 0..args.namespaces {
        out.push(json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": format!("{prefix}-{n}")}}));
    }
    for n in 0..args.namespaces {
        let ns = format!("{prefix}-{n}");
        out.extend((0..args.per_namespace).map(|i| object(&ns, i)));
    }
    out
}

fn to_yaml(objects: &[Value]) -> anyhow::Result<String> {
    let mut text = String::new();
    for o in objects {
        text.push_str("---\n");
        text.push_str(&serde_saphyr::to_string(o)?);
    }
    Ok(text)
}

async fn driftless(
    engine: &SyncEngine,
    target: &Target,
    objects: &[Value],
) -> anyhow::Result<(Duration, usize, String)> {
    let start = Instant::now();
    let desired = objects
        .iter()
        .map(|v| Object::from_value(v.clone()).ok_or_else(|| anyhow::anyhow!("not an object")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let cmp = engine.diff(target, desired).await?;
    let result = engine.sync(target, &cmp).await?;
    anyhow::ensure!(result.succeeded, "sync failed: {}", result.message);
    Ok((start.elapsed(), result.writes, result.message))
}

fn kubectl(cp: &ControlPlane, yaml: &str) -> anyhow::Result<Duration> {
    let start = Instant::now();
    cp.kubectl_stdin(
        &[
            "apply",
            "--server-side",
            "--field-manager=kubectl-bench",
            "-f",
            "-",
        ],
        yaml,
    )
    .map_err(|e| anyhow::anyhow!(e))?;
    Ok(start.elapsed())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let cp = ControlPlane::shared().await;
    let run = std::process::id();
    let ours = render(&format!("bench-dl-{run}"), &args);
    let theirs = render(&format!("bench-kc-{run}"), &args);
    let yaml = to_yaml(&theirs)?;
    println!(
        "sync benchmark: {} objects ({} namespaces x {} + the namespaces), concurrency {}",
        ours.len(),
        args.namespaces,
        args.per_namespace,
        args.concurrency
    );

    let engine = SyncEngine::new(cp.client().await).with_concurrency(args.concurrency);
    engine.catalog().refresh().await?;
    let target = Target {
        app: format!("bench-{run}"),
        namespace: Some("default".into()),
        prune: true,
        ..Target::default()
    };

    let (ours_first, writes_first, summary) = driftless(&engine, &target, &ours).await?;
    println!(
        "driftless  first sync   {:>8.2}s  {writes_first} writes  ({summary})",
        ours_first.as_secs_f64()
    );
    let theirs_first = kubectl(cp, &yaml)?;
    println!(
        "kubectl    first apply  {:>8.2}s",
        theirs_first.as_secs_f64()
    );
    println!(
        "ratio first sync driftless/kubectl: {:.2} (goal <= 1.0)",
        ours_first.as_secs_f64() / theirs_first.as_secs_f64()
    );

    let (ours_again, writes_again, _) = driftless(&engine, &target, &ours).await?;
    println!(
        "driftless  re-sync      {:>8.2}s  {writes_again} writes (goal 0)",
        ours_again.as_secs_f64()
    );
    let theirs_again = kubectl(cp, &yaml)?;
    println!(
        "kubectl    re-apply     {:>8.2}s  ({} objects sent)",
        theirs_again.as_secs_f64(),
        theirs.len()
    );
    println!(
        "ratio re-sync driftless/kubectl: {:.2}",
        ours_again.as_secs_f64() / theirs_again.as_secs_f64()
    );

    for prefix in ["bench-dl", "bench-kc"] {
        for n in 0..args.namespaces {
            let _ = cp.kubectl(&[
                "delete",
                "namespace",
                &format!("{prefix}-{run}-{n}"),
                "--wait=false",
            ]);
        }
    }
    Ok(())
}
