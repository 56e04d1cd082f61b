//! The page in a real browser (headless Chromium over the DevTools
//! protocol) against the real control plane: the overview lists the apps
//! Kustomizations and HelmReleases with their states and follows a status change live;
//! an App of Apps tree is drawn with its children nested and a node's
//! manifest shows redacted; screenshots go to `target/ui-artifacts/`. The
//! overview's render time with 1,000 Applications is printed (never asserted).

mod common;

use std::time::{Duration, Instant};

use common::World;
use common::cdp::{Browser, artifact};
use driftless_api::Application;
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(60);
const VIEW_ALL: &str = "[{apiGroups: [argoproj.io], resources: [applications], verbs: [get]}, \
                         {apiGroups: [kustomize.toolkit.fluxcd.io], resources: [kustomizations], verbs: [get]}, \
                         {apiGroups: [helm.toolkit.fluxcd.io], resources: [helmreleases], verbs: [get]}]";

fn status(sync: &str, health: &str, resources: Value) -> Value {
    json!({"sync": {"status": sync, "revision": "0123456789abcdef0123456789abcdef01234567"},
           "health": {"status": health}, "resources": resources,
           "history": [{"id": 1, "revision": "0123456789abcdef0123456789abcdef01234567",
                        "deployedAt": "2026-01-01T00:00:00Z"}]})
}

fn resource(group: &str, kind: &str, ns: &str, name: &str, health: Option<&str>) -> Value {
    let mut r = json!({"group": group, "version": if group.is_empty() { "v1" } else if group == "argoproj.io" { "v1alpha1" } else { "v1" },
                       "kind": kind, "namespace": ns, "name": name, "status": "Synced"});
    if let Some(h) = health {
        r["health"] = json!({"status": h});
    }
    r
}

/// The demo-like world: an App of Apps (`root` → `web`, `api`), a Secret
/// among web's objects, and two Kustomizations.
fn demo(w: &World) {
    let ns = &w.ns;
    w.apply("apiVersion: v1\nkind: Secret\nmetadata: {name: web-db}\nstringData: {password: browser-secret-value}\n");
    w.application(
        "root",
        &status(
            "Synced",
            "Healthy",
            json!([
                resource("argoproj.io", "Application", ns, "web", Some("Healthy")),
                resource("argoproj.io", "Application", ns, "api", Some("Degraded")),
            ]),
        ),
    );
    w.application(
        "web",
        &status(
            "Synced",
            "Healthy",
            json!([
                resource("apps", "Deployment", ns, "web", Some("Healthy")),
                resource("", "Service", ns, "web", Some("Healthy")),
                resource("", "Secret", ns, "web-db", None),
            ]),
        ),
    );
    w.application(
        "api",
        &status(
            "OutOfSync",
            "Degraded",
            json!([resource("apps", "Deployment", ns, "api", Some("Degraded"))]),
        ),
    );
    for (name, deps) in [("infra", "[]"), ("apps", "[{name: infra}]")] {
        w.apply(&format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: {name}}}\n\
             spec: {{interval: 5m, prune: true, path: ./{name}, sourceRef: {{kind: GitRepository, name: repo}}, dependsOn: {deps}}}\n"
        ));
        w.set_status(
            "kustomization",
            name,
            &json!({"conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
                                    "message": "Applied", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}),
        );
    }
    for (name, deps, ready) in [
        ("base", "[]", "True"),
        ("podinfo", "[{name: base}]", "False"),
    ] {
        w.apply(&format!(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {{name: {name}}}\n\
             spec: {{interval: 5m, chart: {{spec: {{chart: {name}, version: 6.5.0, sourceRef: {{kind: HelmRepository, name: charts}}}}}}, dependsOn: {deps}}}\n"
        ));
        w.set_status(
            "helmrelease",
            name,
            &json!({"lastAttemptedRevision": "6.5.0",
                    "conditions": [{"type": "Ready", "status": ready, "reason": "InstallFailed",
                                    "message": "an example failure", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}),
        );
    }
}

const ROWS: &str = "JSON.stringify([...document.querySelectorAll('tr[data-app]')].map(r => [r.dataset.app, r.dataset.sync, r.dataset.health]))";

async fn rows(browser: &mut Browser) -> Vec<(String, String, String)> {
    let text = browser.eval(ROWS).await;
    serde_json::from_str(text.as_str().unwrap_or("[]")).expect("rows")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_shows_apps_trees_and_live_changes_in_chromium() {
    let mut w = World::new("ui-browser").await;
    demo(&w);
    let token = w.account("viewer", VIEW_ALL);
    w.serve(false, None).await;
    let ns = w.ns.clone();
    let mut browser = Browser::start().await;
    browser
        .navigate(&format!("http://{}/#token={token}", w.addr))
        .await;
    browser
        .wait_for(
            "document.querySelectorAll('tr[data-app]').length === 3",
            "three Applications",
            LIMIT,
        )
        .await;
    let expected = |name: &str, sync: &str, health: &str| {
        (format!("{ns}/{name}"), sync.to_string(), health.to_string())
    };
    assert_eq!(
        rows(&mut browser).await,
        [
            expected("api", "OutOfSync", "Degraded"),
            expected("root", "Synced", "Healthy"),
            expected("web", "Synced", "Healthy")
        ]
    );
    let ks = browser
        .eval("JSON.stringify([...document.querySelectorAll('tr[data-kustomization]')].map(r => [r.dataset.kustomization, r.dataset.ready]))")
        .await;
    assert_eq!(
        ks.as_str(),
        Some(format!(r#"[["{ns}/apps","True"],["{ns}/infra","True"]]"#).as_str())
    );
    // HelmReleases are listed like Kustomizations: Ready, chart, dependsOn.
    let releases = browser
        .eval("JSON.stringify([...document.querySelectorAll('tr[data-helmrelease]')].map(r => [r.dataset.helmrelease, r.dataset.ready, r.cells[3].textContent, r.cells[6].textContent]))")
        .await;
    assert_eq!(
        releases.as_str(),
        Some(
            format!(
                r#"[["{ns}/base","True","base@6.5.0",""],["{ns}/podinfo","False","podinfo@6.5.0","{ns}/base"]]"#
            )
            .as_str()
        )
    );
    // The token left the address bar once read.
    assert_eq!(browser.eval("location.hash").await, "#/");
    browser.screenshot(&artifact("overview.png")).await;

    // A status change shows up without a reload.
    w.set_status(
        "application",
        "api",
        &json!({"sync": {"status": "Synced"}, "health": {"status": "Healthy"}}),
    );
    browser
        .wait_for(
            &format!(
                "document.querySelector('tr[data-app=\"{ns}/api\"]')?.dataset.sync === 'Synced'"
            ),
            "api turning Synced live",
            LIMIT,
        )
        .await;

    // The App of Apps tree: children nested, a Secret shown redacted.
    browser
        .eval(&format!("location.hash = '#/app/{ns}/root'"))
        .await;
    browser.wait_for("document.body.dataset.ready === 'app' && document.querySelectorAll('g[data-node]').length > 0", "the tree", LIMIT).await;
    let nodes = browser
        .eval("JSON.stringify([...document.querySelectorAll('g[data-node]')].map(g => g.dataset.node))")
        .await;
    let nodes: Vec<String> = serde_json::from_str(nodes.as_str().unwrap_or("[]")).expect("nodes");
    for node in [
        format!("Application/{ns}/root"),
        format!("Application/{ns}/web"),
        format!("Deployment/{ns}/web"),
        format!("Secret/{ns}/web-db"),
        format!("Deployment/{ns}/api"),
    ] {
        assert!(
            nodes.contains(&node),
            "{node} missing from the tree {nodes:?}"
        );
    }
    browser
        .eval(&format!(
            "document.querySelector('g[data-node=\"Secret/{ns}/web-db\"]').dispatchEvent(new MouseEvent('click', {{bubbles: true}}))"
        ))
        .await;
    browser
        .wait_for(
            "!!document.querySelector('#manifest')",
            "the Secret's manifest",
            LIMIT,
        )
        .await;
    let manifest = browser
        .eval("document.querySelector('#manifest').textContent")
        .await;
    let manifest = manifest.as_str().unwrap_or_default();
    assert!(manifest.contains("<redacted>"), "{manifest}");
    assert!(!manifest.contains("browser-secret-value"), "{manifest}");
    browser.screenshot(&artifact("tree.png")).await;

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
    let edges = browser
        .eval("document.querySelectorAll('path.edge.dependsOn').length")
        .await;
    assert_eq!(edges, 1);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn overview_with_a_thousand_applications() {
    const COUNT: usize = 1000;
    let mut w = World::new("ui-scale").await;
    let client = w.cp.client().await;
    let apps: Api<Application> = Api::namespaced(client, &w.ns);
    let started = Instant::now();
    futures::stream::iter(0..COUNT)
        .map(|i| {
            let apps = apps.clone();
            let ns = w.ns.clone();
            async move {
                let name = format!("app-{i:04}");
                let app: Application = serde_json::from_value(json!({
                    "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                    "metadata": {"name": name},
                    "spec": {"project": "default",
                             "source": {"repoURL": "https://git.example.invalid/apps.git", "path": format!("apps/{i}")},
                             "destination": {"namespace": ns}}
                }))?;
                apps.create(&PostParams::default(), &app).await?;
                let (sync, health) = if i % 7 == 0 { ("OutOfSync", "Degraded") } else { ("Synced", "Healthy") };
                let patch = json!({"status": status(sync, health, json!([]))});
                apps.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<()>>()
        .await
        .expect("creating the Applications");
    eprintln!("created {COUNT} Applications in {:?}", started.elapsed());
    let token = w.account("viewer", VIEW_ALL);
    w.serve(false, None).await;
    let mut browser = Browser::start().await;
    let opened = Instant::now();
    browser
        .navigate(&format!("http://{}/#token={token}", w.addr))
        .await;
    browser
        .wait_for(
            &format!("document.querySelectorAll('tr[data-app]').length === {COUNT} && !!document.body.dataset.renderMs"),
            "1,000 Applications",
            Duration::from_secs(120),
        )
        .await;
    let loaded = opened.elapsed();
    let first = browser.eval("document.body.dataset.firstRenderMs").await;
    let render = browser.eval("document.body.dataset.renderMs").await;
    let degraded = browser
        .eval("document.querySelectorAll('tr[data-health=\"Degraded\"]').length")
        .await;
    assert_eq!(degraded, json!(COUNT.div_ceil(7)));
    // The filter hides what does not match.
    browser
        .eval("const f = document.querySelector('#filter'); f.value = 'app-0042'; f.dispatchEvent(new Event('input'))")
        .await;
    let shown = browser
        .eval("document.querySelectorAll('tr[data-app]:not(.hidden)').length")
        .await;
    assert_eq!(shown, 1);
    browser.screenshot(&artifact("overview-1000.png")).await;
    println!(
        "web page overview with {COUNT} Applications: first render {} ms, latest (live update) {} ms in the browser \
         (DOM build and layout); page open to all rows shown {loaded:?}",
        first.as_str().unwrap_or("?"),
        render.as_str().unwrap_or("?")
    );
    browser.close().await;
}
