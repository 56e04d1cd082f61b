//! The commands on Flux objects: `get ks|sources`, `reconcile
//! --with-source`, `suspend`/`resume`, `tree` of a `dependsOn` chain,
//! against the real controller (GitRepository and Kustomization) and Git
//! server.

mod common;

use common::World;
use serde_json::Value;

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
spec: {{interval: 5m, path: ./infra, prune: true, targetNamespace: {dest}, sourceRef: {{kind: GitRepository, name: repo}}}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: apps, namespace: {ns}}}
spec:
  interval: 5m
  path: ./apps
  prune: true
  targetNamespace: {dest}
  dependsOn: [{{name: infra}}]
  sourceRef: {{kind: GitRepository, name: repo}}
",
        ns = w.ns,
        dest = w.dest,
        url = w.git.git_url("cli/flux"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kustomizations_and_sources() {
    let mut w = World::new("cli-flux").await;
    install_flux_crds(&w);
    let repo = w.git.create_repo("cli/flux");
    repo.write("infra/cm.yaml", &common::configmap("infra-settings", "x"));
    repo.write("apps/cm.yaml", &common::configmap("apps-settings", "a"));
    repo.commit("first");
    w.apply(&flux_objects(&w));

    // No controller yet: reconcile asks, then times out naming what it waited for.
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

    // The controller applies the first commit; then a push, and reconcile
    // --with-source fetches it (the GitRepository's interval is 1m and the
    // Kustomizations' 5m: only the requests make it this fast).
    w.start_controller().await;
    let first = w.cli(&["wait", "ks/apps", "--timeout", "90s"]).await;
    assert_eq!(first.code, 0, "{first}");
    let pushed = {
        repo.write("apps/cm.yaml", &common::configmap("apps-settings", "b"));
        repo.commit("second")
    };
    let run = w
        .cli(&["reconcile", "apps", "--with-source", "--timeout", "60s"])
        .await;
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
    let source = get(&w, "gitrepository", "repo");
    assert_eq!(
        source["status"]["lastHandledReconcileAt"], source["metadata"]["annotations"][REQUESTED_AT],
        "the source's request was handled: {source}"
    );
    let live = w.kubectl(&[
        "-n",
        &w.dest,
        "get",
        "configmap",
        "apps-settings",
        "-o",
        "jsonpath={.data.value}",
    ]);
    assert_eq!(live.trim(), "b", "the pushed commit is applied");

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

/// `diff` of a Kustomization renders its GitRepository's artifact as the
/// controller does (postBuild, target namespace, Flux's labels), so a
/// freshly applied one is in sync; drift and a working copy differ, and
/// Secret values never show.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn diff_of_a_kustomization() {
    let mut w = World::new("cli-fluxdiff").await;
    install_flux_crds(&w);
    let repo = w.git.create_repo("cli/fluxdiff");
    repo.write(
        "apps/cm.yaml",
        &common::configmap("settings", "\"${greeting}\""),
    );
    repo.write(
        "apps/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ndata:\n  password: c2VjcmV0LW9uZQ==\n",
    );
    repo.commit("first");
    w.apply(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: repo, namespace: {ns}}}
spec: {{interval: 1m, url: {url}, ref: {{branch: main}}}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: apps, namespace: {ns}}}
spec:
  interval: 5m
  path: ./apps
  prune: true
  targetNamespace: {dest}
  sourceRef: {{kind: GitRepository, name: repo}}
  postBuild: {{substitute: {{greeting: hello}}}}
",
        ns = w.ns,
        dest = w.dest,
        url = w.git.git_url("cli/fluxdiff"),
    ));
    w.start_controller().await;
    let ready = w.cli(&["wait", "ks/apps", "--timeout", "90s"]).await;
    assert_eq!(ready.code, 0, "{ready}");
    w.stop_controller().await;

    let same = w.cli(&["diff", "ks/apps"]).await;
    assert_eq!(same.code, 0, "as the controller applied it: {same}");
    assert_eq!(same.stdout, "", "{same}");

    let dest = w.dest.clone();
    w.kubectl(&[
        "-n",
        &dest,
        "patch",
        "configmap",
        "settings",
        "-p",
        r#"{"data":{"value":"drifted"}}"#,
    ]);
    w.kubectl(&[
        "-n",
        &dest,
        "patch",
        "secret",
        "creds",
        "-p",
        r#"{"data":{"password":"c2VjcmV0LXR3bw=="}}"#,
    ]);
    let drift = w.cli(&["diff", "apps"]).await;
    assert_eq!(drift.code, 1, "{drift}");
    assert!(drift.stdout.contains("-  value: drifted"), "{drift}");
    assert!(drift.stdout.contains("+  value: hello"), "{drift}");
    assert!(
        drift
            .stdout
            .contains(&format!("--- live/Secret {dest}/creds")),
        "{drift}"
    );
    for secret in [
        "c2VjcmV0LW9uZQ==",
        "c2VjcmV0LXR3bw==",
        "secret-one",
        "secret-two",
    ] {
        assert!(!drift.stdout.contains(secret), "{secret} shown: {drift}");
    }

    // A working copy with one more object: the what-if before pushing.
    let local = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        local.path().join("cm.yaml"),
        common::configmap("settings", "\"${greeting}\""),
    )
    .expect("write");
    std::fs::write(
        local.path().join("extra.yaml"),
        common::configmap("extra", "new"),
    )
    .expect("write");
    let what_if = w
        .cli(&[
            "diff",
            "apps",
            "--local",
            &local.path().display().to_string(),
        ])
        .await;
    assert_eq!(what_if.code, 1, "{what_if}");
    assert!(
        what_if
            .stdout
            .contains(&format!("+++ desired/ConfigMap {dest}/extra")),
        "{what_if}"
    );
    assert!(what_if.stdout.contains("+  value: new"), "{what_if}");
    assert!(
        what_if
            .stdout
            .contains(&format!("--- live/Secret {dest}/creds"))
            && what_if.stdout.contains("-  name: creds"),
        "the Secret left the working copy and is in the inventory: {what_if}"
    );
    assert!(
        what_if
            .stdout
            .contains("kustomize.toolkit.fluxcd.io/name: apps"),
        "Flux's labels: {what_if}"
    );
}
