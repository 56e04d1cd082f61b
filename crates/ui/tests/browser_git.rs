//! The page's views that need Git, in a real browser (headless Chromium)
//! against the real control plane and Git server: a revision's commit
//! message from the overview, the history's messages, a node's diff
//! against Git (Secret values redacted), a running sync's progress, and
//! the controller panel (reconciles running, each controller's queue, Git
//! fetches, last errors); an Application with two sources, whose diff
//! names each source with its own commit; a
//! Kustomization's commit and diff against its GitRepository's artifact.
//! Screenshots go to `target/ui-artifacts/`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::World;
use common::cdp::{Browser, artifact};
use driftless_controller::preview::Previewer;
use driftless_testkit::git::GitServer;
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(60);
const VIEW: &str = "[{apiGroups: [argoproj.io], resources: [applications], verbs: [get]}]";

fn configmap(value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  value: {value}\n"
    )
}

fn secret(password_b64: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ndata:\n  password: {password_b64}\n"
    )
}

/// `web`'s status: deployed twice, a sync running (its PreSync hook done,
/// the Sync phase under way), and a comparison error.
fn status(ns: &str, first: &str, second: &str) -> Value {
    let resource = |kind: &str, name: &str| json!({"group": "", "version": "v1", "kind": kind, "namespace": ns, "name": name, "status": "OutOfSync"});
    json!({
        "sync": {"status": "OutOfSync", "revision": second},
        "health": {"status": "Healthy"},
        "resources": [resource("ConfigMap", "settings"), resource("Secret", "creds")],
        "history": [
            {"id": 1, "revision": first, "deployedAt": "2026-01-01T00:00:00Z"},
            {"id": 2, "revision": second, "deployedAt": "2026-01-02T00:00:00Z"}
        ],
        "operationState": {
            "operation": {"sync": {"revision": second}},
            "phase": "Running", "message": "waiting for the Sync phase",
            "startedAt": "2026-01-02T00:00:00Z",
            "syncResult": {"revision": second, "resources": [
                {"group": "batch", "version": "v1", "kind": "Job", "namespace": ns, "name": "migrate",
                 "status": "Synced", "message": "job completed", "syncPhase": "PreSync"},
                {"group": "", "version": "v1", "kind": "ConfigMap", "namespace": ns, "name": "settings",
                 "status": "Synced", "message": "configured", "syncPhase": "Sync"}
            ]}
        },
        "conditions": [{"type": "ComparisonError", "message": "rendering app at the last commit: an example failure",
                        "lastTransitionTime": "2026-01-02T00:00:00Z"}]
    })
}

/// Clicks `node` in the tree and returns its diff box's text once shown.
async fn click_node(browser: &mut Browser, node: &str) -> String {
    browser
        .eval(&format!(
            "document.querySelector('g[data-node=\"{node}\"]').dispatchEvent(new MouseEvent('click', {{bubbles: true}}))"
        ))
        .await;
    browser
        .wait_for(
            "!!document.querySelector('#diff pre.diff, #diff p.in-sync, #diff p.error')",
            &format!("{node}'s diff"),
            LIMIT,
        )
        .await;
    let diff = browser
        .eval("document.querySelector('#diff').textContent")
        .await;
    diff.as_str().unwrap_or_default().to_string()
}

/// `web` (one source): its commit message, history, running sync, the
/// controller panel and its nodes' diffs; then `multi` (two Git sources,
/// each at its own commit): a node's diff names every source with its own
/// short revision, one line each.
#[tokio::test(flavor = "multi_thread")]
async fn commits_diffs_progress_and_errors_in_chromium() {
    let mut w = World::new("ui-git").await;
    let git = GitServer::start().await;
    let repo = git.create_repo("ui/web");
    repo.write("app/cm.yaml", &configmap("v1"));
    repo.write("app/secret.yaml", &secret("Z2l0LXNlY3JldA=="));
    let first = repo.commit("first: settings v1");
    repo.write("app/cm.yaml", &configmap("v2"));
    let second = repo.commit("second: settings v2\n\nWhy: the example needs a body.");
    let ns = w.ns.clone();
    // The live objects differ from Git (no controller runs here).
    w.apply(&configmap("drifted"));
    w.apply(&secret("bGl2ZS1zZWNyZXQ="));
    w.apply(&format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web}}
spec:
  project: default
  source: {{repoURL: '{url}', path: app, targetRevision: main}}
  destination: {{server: 'https://kubernetes.default.svc', namespace: {ns}}}
",
        url = git.git_url("ui/web"),
    ));
    w.set_status("application", "web", &status(&ns, &first, &second));
    // `multi`: `ui/web`'s `app` at its first commit, and another repository.
    let other = git.create_repo("ui/other");
    other.write(
        "more/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: more\n",
    );
    let third = other.commit("more: a ConfigMap");
    w.apply(&format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: multi}}
spec:
  project: default
  sources:
  - {{repoURL: '{web}', path: app, targetRevision: '{first}'}}
  - {{repoURL: '{other}', path: more, targetRevision: main}}
  destination: {{server: 'https://kubernetes.default.svc', namespace: {ns}}}
",
        web = git.git_url("ui/web"),
        other = git.git_url("ui/other"),
    ));
    let settings = json!({"group": "", "version": "v1", "kind": "ConfigMap", "namespace": ns,
                          "name": "settings", "status": "OutOfSync"});
    w.set_status("application", "multi", &json!({"resources": [settings]}));
    let token = w.account("viewer", VIEW);
    let cache = tempfile::tempdir().expect("temp dir");
    let previewer =
        Previewer::new(w.cp.client().await, cache.path(), &ns, None).expect("a previewer");
    w.previewer = Some(Arc::new(previewer));
    // The controller's own metrics: one reconcile running, one Git fetch.
    let metrics = Arc::new(driftless_controller::metrics::Metrics::new());
    let running = metrics.in_flight("Application");
    let waiting = driftless_controller::metrics::ControllerLabels {
        controller: "Kustomization".into(),
    };
    metrics.queue_depth.get_or_create(&waiting).set(4);
    metrics.git_fetch_duration.observe(0.25);
    let source = metrics.clone();
    w.serve(false, Some(Arc::new(move || source.encode())))
        .await;

    let mut browser = Browser::start().await;
    browser
        .navigate(&format!("http://{}/#token={token}", w.addr))
        .await;
    browser
        .wait_for(
            "!!document.querySelector('a.rev')",
            "the revision link",
            LIMIT,
        )
        .await;
    // The overview's short SHA opens the commit message.
    let short = browser
        .eval("document.querySelector('a.rev').textContent")
        .await;
    assert_eq!(short.as_str(), Some(&second[..7]));
    browser
        .eval("document.querySelector('a.rev').dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true}))")
        .await;
    browser
        .wait_for(
            "!!document.querySelector('#commit-message')",
            "the commit message",
            LIMIT,
        )
        .await;
    let message = browser
        .eval("document.querySelector('#commit-message').textContent")
        .await;
    assert_eq!(
        message.as_str(),
        Some("second: settings v2\n\nWhy: the example needs a body.\n")
    );
    // The controller panel lists the Application's error.
    browser
        .wait_for(
            "!!document.querySelector('#last-errors tr[data-error]')",
            "the last errors",
            LIMIT,
        )
        .await;
    let errors = browser
        .eval("[...document.querySelectorAll('#last-errors tr')].map(r => r.textContent).join('|')")
        .await;
    let errors = errors.as_str().unwrap_or_default();
    assert!(
        errors.contains(&format!("Application {ns}/web")),
        "{errors}"
    );
    assert!(errors.contains("an example failure"), "{errors}");
    let panel = browser
        .eval("document.querySelector('#health').innerText")
        .await;
    let panel = panel.as_str().unwrap_or_default().to_string();
    assert!(panel.contains("Running now\n1"), "{panel}");
    assert!(panel.contains("Git fetches\n1, mean 0.250 s"), "{panel}");
    // A queue figure (objects waiting, reconciles running) per controller.
    let queues = browser
        .eval("JSON.stringify([...document.querySelectorAll('#queues tr[data-controller]')].map(r => [r.dataset.controller, r.cells[1].textContent, r.cells[2].textContent]))")
        .await;
    assert_eq!(
        queues.as_str(),
        Some(
            r#"[["Application","0","1"],["GitRepository","0","0"],["HelmRelease","0","0"],["HelmRepository","0","0"],["Kustomization","4","0"]]"#
        ),
        "{panel}"
    );
    drop(running);
    browser.screenshot(&artifact("commit-message.png")).await;

    // History: each deployed revision with its time and commit subject.
    browser
        .eval(&format!("location.hash = '#/app/{ns}/web'"))
        .await;
    browser
        .wait_for(
            "document.body.dataset.ready === 'app' && [...document.querySelectorAll('#history td.message')].every(c => !c.querySelector('.muted'))",
            "the history's messages",
            LIMIT,
        )
        .await;
    let history = browser
        .eval("JSON.stringify([...document.querySelectorAll('#history tbody tr')].map(r => [r.dataset.id, r.querySelector('td.message').textContent, r.cells[2].textContent !== '']))")
        .await;
    assert_eq!(
        history.as_str(),
        Some(r#"[["2","second: settings v2",true],["1","first: settings v1",true]]"#)
    );
    // The running sync: PreSync done, Sync under way.
    let steps = browser
        .eval("JSON.stringify([...document.querySelectorAll('#progress .step')].map(s => [s.dataset.phase, s.className]))")
        .await;
    assert_eq!(
        steps.as_str(),
        Some(r#"[["PreSync","step done"],["Sync","step current"],["PostSync","step todo"]]"#)
    );
    let running = browser
        .eval("document.querySelector('#progress').dataset.running")
        .await;
    assert_eq!(running, json!("true"));

    // A node's diff against Git at the target revision's commit.
    let diff = click_node(&mut browser, &format!("ConfigMap/{ns}/settings")).await;
    assert!(diff.contains("-  value: drifted"), "{diff}");
    assert!(diff.contains("+  value: v2"), "{diff}");
    assert!(
        !diff.contains("kind: Secret"),
        "only this node's diff: {diff}"
    );
    let at = browser
        .eval("document.querySelector('#diff').dataset.revision")
        .await;
    assert_eq!(at.as_str(), Some(second.as_str()));
    browser.screenshot(&artifact("node-diff.png")).await;

    // A Secret's diff shows that it differs, never a value.
    // (Clicking another node replaces the detail at once, so the wait in
    // click_node cannot see the previous node's diff.)
    let diff = click_node(&mut browser, &format!("Secret/{ns}/creds")).await;
    assert!(
        diff.contains("kind: Secret") && diff.contains("password"),
        "{diff}"
    );
    for value in [
        "Z2l0LXNlY3JldA==",
        "bGl2ZS1zZWNyZXQ=",
        "git-secret",
        "live-secret",
    ] {
        assert!(!diff.contains(value), "{value} shown: {diff}");
    }

    // Two sources: the diff's "at" line names each with its own commit.
    browser
        .eval(&format!("location.hash = '#/app/{ns}/multi'"))
        .await;
    browser
        .wait_for(
            "document.body.dataset.ready === 'app' && document.querySelector('#view h1').textContent.includes('/multi')",
            "multi's tree",
            LIMIT,
        )
        .await;
    let diff = click_node(&mut browser, &format!("ConfigMap/{ns}/settings")).await;
    assert!(diff.contains("+  value: v1"), "app at {first}: {diff}");
    let at = browser
        .eval("JSON.stringify([document.querySelector('#diff p').innerText.split('\\n').map(l => l.trim()), [...document.querySelectorAll('#diff p code')].map(c => c.title)])")
        .await;
    let expected = json!([
        [
            "at",
            format!("spec.sources[0] (path \"app\"): {}", &first[..7]),
            format!("spec.sources[1] (path \"more\"): {}", &third[..7]),
        ],
        [first, third],
    ]);
    assert_eq!(at.as_str(), Some(expected.to_string().as_str()));
    browser.screenshot(&artifact("multi-source-diff.png")).await;
    browser.close().await;
}

/// A Kustomization: its revision's commit from the overview, and an
/// inventory object's diff against its GitRepository's artifact, built as
/// the controller builds it (postBuild, target namespace, Flux's labels).
#[tokio::test(flavor = "multi_thread")]
async fn kustomization_commit_and_diff_in_chromium() {
    let mut w = World::new("ui-ksgit").await;
    let cp = w.cp;
    tokio::task::spawn_blocking(move || {
        cp.install_crds(&["gitrepositories.source.toolkit.fluxcd.io"])
    })
    .await
    .expect("installing the GitRepository CRD");
    let git = GitServer::start().await;
    let repo = git.create_repo("ui/flux");
    repo.write("apps/cm.yaml", &configmap("\"${greeting}\""));
    let sha = repo.commit("apps: greet");
    let ns = w.ns.clone();
    w.apply(&configmap("drifted"));
    w.apply(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: repo}}
spec: {{interval: 1m, url: '{url}', ref: {{branch: main}}}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: apps}}
spec:
  interval: 5m
  path: ./apps
  prune: true
  targetNamespace: {ns}
  sourceRef: {{kind: GitRepository, name: repo}}
  postBuild: {{substitute: {{greeting: hello}}}}
",
        url = git.git_url("ui/flux"),
    ));
    let revision = format!("main@sha1:{sha}");
    let ready = json!({"type": "Ready", "status": "True", "reason": "Succeeded", "message": "ok",
                       "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1});
    w.set_status(
        "gitrepository",
        "repo",
        &json!({"conditions": [ready], "artifact": {"path": "repo.tar.gz", "url": "http://example.invalid/repo.tar.gz",
                "revision": revision, "lastUpdateTime": "2026-01-01T00:00:00Z"}}),
    );
    w.set_status(
        "kustomization",
        "apps",
        &json!({"conditions": [ready], "lastAppliedRevision": revision,
                "inventory": {"entries": [{"id": format!("{ns}_settings__ConfigMap"), "v": "v1"}]}}),
    );
    let token = w.account(
        "viewer",
        "[{apiGroups: [kustomize.toolkit.fluxcd.io], resources: [kustomizations], verbs: [get]}]",
    );
    let cache = tempfile::tempdir().expect("temp dir");
    let previewer =
        Previewer::new(w.cp.client().await, cache.path(), &ns, None).expect("a previewer");
    w.previewer = Some(Arc::new(previewer));
    w.serve(false, None).await;

    let mut browser = Browser::start().await;
    browser
        .navigate(&format!("http://{}/#token={token}", w.addr))
        .await;
    browser
        .wait_for(
            "!!document.querySelector('#kustomizations a.rev')",
            "the Kustomization's revision",
            LIMIT,
        )
        .await;
    browser
        .eval("document.querySelector('#kustomizations a.rev').dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true}))")
        .await;
    browser
        .wait_for(
            "!!document.querySelector('#commit-message')",
            "the commit message",
            LIMIT,
        )
        .await;
    let message = browser
        .eval("document.querySelector('#commit-message').textContent")
        .await;
    assert_eq!(message.as_str(), Some("apps: greet\n"));

    browser
        .eval(&format!("location.hash = '#/ks/{ns}/apps'"))
        .await;
    browser
        .wait_for(
            "document.body.dataset.ready === 'ks'",
            "the Kustomization",
            LIMIT,
        )
        .await;
    let diff = click_node(&mut browser, &format!("ConfigMap/{ns}/settings")).await;
    assert!(diff.contains("-  value: drifted"), "{diff}");
    assert!(
        diff.contains("+  value: hello"),
        "postBuild applied: {diff}"
    );
    assert!(
        diff.contains("kustomize.toolkit.fluxcd.io/name: apps"),
        "Flux's labels: {diff}"
    );
    let at = browser
        .eval("document.querySelector('#diff').dataset.revision")
        .await;
    assert_eq!(at.as_str(), Some(sha.as_str()));
    browser
        .screenshot(&artifact("kustomization-diff.png"))
        .await;
    browser.close().await;
}
