//! The commands on Flux objects: `get ks|sources`, `reconcile
//! --with-source`, `suspend`/`resume`, `tree` of a `dependsOn` chain.
//!
//! The Flux controller is not part of this crate's dependencies, so a small
//! responder in the test plays its part through the status subresource,
//! exactly as Flux reports: it handles `reconcile.fluxcd.io/requestedAt`
//! (echoed in `status.lastHandledReconcileAt`), "fetches" the repository's
//! current head into `status.artifact` and applies it into
//! `status.lastAppliedRevision` once the source has it.

mod common;

use std::time::Duration;

use common::World;
use driftless_testkit::git::TestRepo;
use serde_json::{Value, json};

const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";

fn install_flux_crds(w: &World) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds");
    for crd in [
        "gitrepositories.source.toolkit.fluxcd.io",
        "kustomizations.kustomize.toolkit.fluxcd.io",
    ] {
        // Created only when missing, so a newer copy applied by someone else stays.
        if w.cp.kubectl(&["get", "crd", crd]).is_err() {
            let _ =
                w.cp.kubectl(&["create", "-f", &format!("{dir}/{crd}.yaml")]);
        }
        w.kubectl(&[
            "wait",
            "--for=condition=Established",
            &format!("crd/{crd}"),
            "--timeout=60s",
        ]);
    }
}

fn get(w: &World, kind: &str, name: &str) -> Value {
    serde_json::from_str(&w.kubectl(&["-n", &w.ns, "get", kind, name, "-o", "json"])).expect("JSON")
}

fn ready(message: &str, generation: i64) -> Value {
    json!([{"type": "Ready", "status": "True", "reason": "Succeeded", "message": message,
            "observedGeneration": generation, "lastTransitionTime": "2026-01-01T00:00:00Z"}])
}

fn patch_status(w: &World, kind: &str, name: &str, status: Value) {
    let patch = json!({"status": status}).to_string();
    w.kubectl(&[
        "-n",
        &w.ns,
        "patch",
        kind,
        name,
        "--subresource=status",
        "--type=merge",
        "-p",
        &patch,
    ]);
}

/// One round of the stand-in controller; returns the order requests were handled in.
fn respond(w: &World, repo: &TestRepo, handled: &mut Vec<String>) {
    let source = get(w, "gitrepository", "repo");
    let wanted = &source["metadata"]["annotations"][REQUESTED_AT];
    if wanted.is_string() && *wanted != source["status"]["lastHandledReconcileAt"] {
        let revision = format!("main@sha1:{}", repo.head());
        let generation = source["metadata"]["generation"].as_i64().unwrap_or(1);
        patch_status(
            w,
            "gitrepository",
            "repo",
            json!({
                "lastHandledReconcileAt": wanted,
                "artifact": {"path": "x", "url": "http://x", "revision": revision, "lastUpdateTime": "2026-01-01T00:00:00Z"},
                "conditions": ready(&format!("stored artifact for revision '{revision}'"), generation),
            }),
        );
        handled.push("source".into());
    }
    let source = get(w, "gitrepository", "repo");
    for name in ["infra", "apps"] {
        let ks = get(w, "kustomization", name);
        let wanted = &ks["metadata"]["annotations"][REQUESTED_AT];
        if wanted.is_string() && *wanted != ks["status"]["lastHandledReconcileAt"] {
            let revision = source["status"]["artifact"]["revision"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let generation = ks["metadata"]["generation"].as_i64().unwrap_or(1);
            patch_status(
                w,
                "kustomization",
                name,
                json!({
                    "lastHandledReconcileAt": wanted,
                    "lastAppliedRevision": revision,
                    "inventory": {"entries": [{"id": format!("{}_{name}-settings__ConfigMap", w.dest), "v": "v1"}]},
                    "conditions": ready(&format!("Applied revision: {revision}"), generation),
                }),
            );
            handled.push(name.to_string());
        }
    }
}

fn flux_objects(w: &World) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: repo, namespace: {ns}}}
spec: {{interval: 1m, url: {url}, ref: {{branch: main}}}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: infra, namespace: {ns}}}
spec: {{interval: 5m, path: ./infra, prune: true, sourceRef: {{kind: GitRepository, name: repo}}}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: apps, namespace: {ns}}}
spec:
  interval: 5m
  path: ./apps
  prune: true
  dependsOn: [{{name: infra}}]
  sourceRef: {{kind: GitRepository, name: repo}}
",
        ns = w.ns,
        url = w.git.git_url("cli/flux"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kustomizations_and_sources() {
    let w = World::new("cli-flux").await;
    install_flux_crds(&w);
    let repo = w.git.create_repo("cli/flux");
    repo.write("apps/cm.yaml", &common::configmap("apps-settings", "a"));
    repo.commit("first");
    w.apply(&flux_objects(&w));

    // Nobody answers yet: reconcile asks, then times out naming what it waited for.
    let timeout = w.cli(&["reconcile", "apps", "--timeout", "2s"]).await;
    assert_ne!(timeout.code, 0, "{timeout}");
    assert!(
        timeout
            .stderr
            .contains("timed out after 2s waiting for Kustomization apps to become Ready"),
        "{timeout}"
    );
    let asked = get(&w, "kustomization", "apps");
    assert!(
        asked["metadata"]["annotations"][REQUESTED_AT].is_string(),
        "{asked}"
    );

    // A push, then reconcile --with-source, with the stand-in controller answering.
    let pushed = {
        repo.write("apps/cm.yaml", &common::configmap("apps-settings", "b"));
        repo.commit("second")
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let responder = {
        let stop = stop.clone();
        let (w, repo) = (&w, &repo);
        async move {
            let mut handled = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                tokio::task::block_in_place(|| respond(w, repo, &mut handled));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            handled
        }
    };
    let cli = async {
        let run = w
            .cli(&["reconcile", "apps", "--with-source", "--timeout", "60s"])
            .await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        run
    };
    let (run, handled) = tokio::join!(cli, responder);
    assert_eq!(run.code, 0, "{run}");
    let revision = format!("main@sha1:{pushed}");
    assert!(
        run.stdout.contains(&format!(
            "GitRepository repo Ready: fetched revision {revision}"
        )),
        "{run}"
    );
    assert!(
        run.stdout.contains(&format!(
            "Kustomization apps Ready: applied revision {revision}"
        )),
        "{run}"
    );
    assert_eq!(
        handled.first().map(String::as_str),
        Some("source"),
        "the source first: {handled:?}"
    );
    assert!(handled.contains(&"apps".to_string()), "{handled:?}");

    let table = w.cli(&["get", "ks"]).await;
    assert_eq!(table.code, 0, "{table}");
    let apps_row = table
        .stdout
        .lines()
        .find(|l| l.starts_with("apps "))
        .unwrap_or_default();
    let cells: Vec<&str> = apps_row.split_whitespace().collect();
    assert_eq!(
        &cells[..5],
        [
            "apps",
            "True",
            "-",
            &format!("main@sha1:{}", &pushed[..7]),
            "./apps"
        ],
        "{table}"
    );
    let sources = w.cli(&["get", "sources", "-o", "wide"]).await;
    assert!(
        sources.stdout.contains(&w.git.git_url("cli/flux")) && sources.stdout.contains("false"),
        "{sources}"
    );
    let both = w.cli(&["get", "-o", "json"]).await;
    let list: Value = serde_json::from_str(&both.stdout).expect("JSON");
    assert_eq!(
        list["items"].as_array().map(Vec::len),
        Some(2),
        "both Kustomizations, no Applications: {both}"
    );

    let tree = w.cli(&["tree", "ks/apps"]).await;
    assert_eq!(tree.code, 0, "{tree}");
    let lines: Vec<&str> = tree.stdout.lines().collect();
    assert!(
        lines[0].starts_with("Kustomization apps  Ready True"),
        "{tree}"
    );
    assert!(
        lines[1].contains(&format!("ConfigMap {}/apps-settings", w.dest)),
        "{tree}"
    );
    assert!(
        lines[2].contains("depends on:") && lines[3].contains("Kustomization infra"),
        "{tree}"
    );

    let suspend = w.cli(&["suspend", "apps"]).await;
    assert_eq!(suspend.code, 0, "{suspend}");
    assert_eq!(get(&w, "kustomization", "apps")["spec"]["suspend"], true);
    let refused = w.cli(&["reconcile", "apps"]).await;
    assert!(
        refused.code != 0 && refused.stderr.contains("is suspended"),
        "{refused}"
    );
    let resume = w.cli(&["resume", "ks/apps"]).await;
    assert_eq!(resume.code, 0, "{resume}");
    assert_eq!(get(&w, "kustomization", "apps")["spec"]["suspend"], false);
    let wrong = w.cli(&["sync", "apps", "--prune"]).await;
    assert!(
        wrong.code != 0 && wrong.stderr.contains("Application options"),
        "{wrong}"
    );
}
