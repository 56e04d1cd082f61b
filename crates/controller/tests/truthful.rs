//! Status tells the truth, against the real control plane and Git server:
//! sources that cannot be rendered are errors (never an empty green app, nor
//! a partial one: a Jsonnet import leaving the repository fails the render),
//! skipped symlinks are warnings, SYNC/HEALTH stay filled while a wave
//! waits, the MESSAGE column shows the first error, and every Event
//! describes its own occurrence.

mod common;

use std::time::Duration;

use common::{Harness, eventually};
use driftless_api::{Application, SyncStatusCode, condition};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::Api;

const AUTOMATED: &str = "  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
    - CreateNamespace=true
";

fn config_map(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  v: \"{value}\"\n")
}

/// The message of the first condition of `type_` whose message contains `text`.
fn condition_with(app: &Application, type_: &str, text: &str) -> Option<String> {
    app.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_ && c.message.contains(text))
        .map(|c| c.message.clone())
}

fn sync_code(app: &Application) -> Option<SyncStatusCode> {
    app.status.as_ref()?.sync.as_ref().map(|s| s.status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unsupported_sources_are_comparison_errors_and_touch_nothing() {
    let h = Harness::start("truth-src", Duration::from_secs(600)).await;
    let repo = h.git.create_repo("truth/sources");
    repo.write("jsonnet/a.jsonnet", "import '../../etc/passwd'\n");
    repo.write(
        "jsonnet/b.jsonnet",
        &format!("std.parseYaml({:?})\n", config_map("b", "x")),
    );
    repo.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    repo.write("chart/values.yaml", "replicas: 1\n");
    repo.write("chart/templates/cm.yaml", &config_map("from-chart", "x"));
    repo.write("plain/cm.yaml", &config_map("from-plugin-path", "x"));
    repo.commit("sources driftless does not render");
    let url = h.git.git_url("truth/sources");
    let plugin = "    plugin:\n      name: my-plugin\n";
    let cases = [
        (
            "jsonnet",
            "jsonnet",
            "",
            "jsonnet/a.jsonnet: jsonnet: jsonnet/a.jsonnet: import \"../../etc/passwd\"",
        ),
        (
            "helm",
            "chart",
            "",
            "this is a Helm chart, and the controller has no helm binary configured",
        ),
        (
            "plugin",
            "plain",
            plugin,
            "source.plugin my-plugin: config management plugins are not supported",
        ),
    ];
    for (name, path, source_extra, _) in cases {
        let dest = format!("{}-{name}", h.apps_ns);
        let yaml = common::application_yaml(name, &h.apps_ns, &url, path, &dest, AUTOMATED);
        // `source_extra` goes under `spec.source`, right after its `path`.
        let yaml = yaml.replace(
            &format!("    path: {path}\n"),
            &format!("    path: {path}\n{source_extra}"),
        );
        h.apply(&yaml);
    }
    let namespaces: Api<Namespace> = Api::all(h.client.clone());
    for (name, _, _, expected) in cases {
        let app = h
            .wait_app(name, &format!("a ComparisonError {expected:?}"), |a| {
                condition_with(a, condition::COMPARISON_ERROR, expected).is_some()
            })
            .await;
        assert_eq!(
            sync_code(&app),
            Some(SyncStatusCode::Unknown),
            "{name}: never Synced"
        );
        let dest = format!("{}-{name}", h.apps_ns);
        assert!(
            namespaces.get_opt(&dest).await.expect("get").is_none(),
            "{name}: nothing applied, not even the namespace"
        );
        // The MESSAGE column shows the error.
        let table = h.kubectl(&["get", "applications", "-n", &h.apps_ns, name]);
        let header = table.lines().next().unwrap_or_default();
        assert!(header.contains("MESSAGE"), "{table}");
        assert!(table.contains(expected), "{table}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn skipped_symlinks_are_warnings_naming_each_link_and_target() {
    let h = Harness::start("truth-link", Duration::from_secs(600)).await;
    let dest = h.namespace("truth-link-dest").await;
    let repo = h.git.create_repo("truth/links");
    repo.write("app/cm.yaml", &config_map("kept", "x"));
    repo.symlink("app/passwd.yaml", "/etc/passwd");
    repo.symlink("app/up.yaml", "../../outside.yaml");
    repo.symlink("app/etc", "/etc");
    repo.commit("symlinks out of the repository");
    h.apply(&common::application_yaml(
        "links",
        &h.apps_ns,
        &h.git.git_url("truth/links"),
        "app",
        &dest,
        AUTOMATED,
    ));
    let expected = [
        "symlink app/passwd.yaml -> /etc/passwd skipped",
        "symlink app/up.yaml -> ../../outside.yaml skipped",
        "symlink app/etc -> /etc skipped",
    ];
    let app = h
        .wait_app("links", "Synced with a warning per symlink", |a| {
            common::synced_healthy(a)
                && expected
                    .iter()
                    .all(|e| condition_with(a, condition::COMPARISON_WARNING, e).is_some())
        })
        .await;
    let message = condition_with(&app, condition::COMPARISON_WARNING, expected[0]).unwrap();
    assert!(
        message.contains("leads outside the repository"),
        "{message}"
    );
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);
    assert!(
        cms.get_opt("kept").await.expect("get").is_some(),
        "the rest of the directory is deployed"
    );
}

/// A Deployment that never becomes available: its Pods match no node.
fn stuck_deployment(name: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  annotations:
    argocd.argoproj.io/sync-wave: \"0\"
spec:
  replicas: 1
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      nodeSelector:
        driftless.test/no-such-node: \"true\"
      containers:
      - name: web
        image: nginx
"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sync_and_health_stay_while_a_wave_waits_and_the_operation_says_for_what() {
    let h = Harness::start("truth-wave", Duration::from_secs(600)).await;
    let dest = h.namespace("truth-wave-dest").await;
    let repo = h.git.create_repo("truth/wave");
    repo.write("app/deploy.yaml", &stuck_deployment("stuck"));
    repo.write(
        "app/later.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: later\n  annotations:\n    argocd.argoproj.io/sync-wave: \"1\"\ndata:\n  v: x\n",
    );
    repo.commit("a wave that never becomes healthy");
    h.apply(&common::application_yaml(
        "waves",
        &h.apps_ns,
        &h.git.git_url("truth/wave"),
        "app",
        &dest,
        AUTOMATED,
    ));
    let waiting_for = format!("wave 0: waiting for Deployment.apps {dest}/stuck");
    let app = h
        .wait_app("waves", "waiting for wave 0", |a| {
            a.status
                .as_ref()
                .and_then(|s| s.operation_state.as_ref())
                .and_then(|o| o.message.as_deref())
                .is_some_and(|m| m.starts_with(&waiting_for))
        })
        .await;
    let status = app.status.clone().unwrap_or_default();
    let op = status.operation_state.clone().expect("operation state");
    assert_eq!(op.phase, driftless_api::OperationPhase::Running);
    assert_eq!(sync_code(&app), Some(SyncStatusCode::OutOfSync));
    assert!(status.health.is_some(), "HEALTH is not blank: {status:?}");
    let table = h.kubectl(&[
        "get",
        "applications",
        "-n",
        &h.apps_ns,
        "waves",
        "-o",
        "wide",
    ]);
    let row = table.lines().nth(1).unwrap_or_default();
    assert!(row.contains("OutOfSync"), "{table}");
    assert!(
        table.contains(&waiting_for),
        "the OPERATION column: {table}"
    );
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);
    assert!(
        cms.get_opt("later").await.expect("get").is_none(),
        "wave 1 waits for wave 0"
    );
    // Let the controller go without waiting for the 10-minute wave timeout.
    let _ = h.apps().delete("waves", &Default::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_event_describes_its_own_occurrence() {
    let h = Harness::start("truth-event", Duration::from_secs(600)).await;
    let dest = h.namespace("truth-event-dest").await;
    let repo = h.git.create_repo("truth/events");
    repo.write("app/cm.yaml", &config_map("cm", "one"));
    let first = repo.commit("first");
    h.apply(&common::application_yaml(
        "story",
        &h.apps_ns,
        &h.git.git_url("truth/events"),
        "app",
        &dest,
        AUTOMATED,
    ));
    h.wait_synced_healthy("story", Some(&first)).await;
    repo.write("app/cm.yaml", &config_map("cm", "two"));
    let second = repo.commit("second");
    let hook = serde_json::json!({
        "repository": h.git.git_url("truth/events"),
        "ref": "refs/heads/main",
        "changedFiles": ["app/cm.yaml"],
    })
    .to_string();
    assert_eq!(h.post_webhook(&hook).await.0, 200);
    h.wait_synced_healthy("story", Some(&second)).await;

    // Two completed syncs: two Events, each with its own revision and counts.
    let events = eventually("an Event for each sync", || async {
        let out = h.kubectl(&[
            "get",
            "events",
            "-n",
            &h.apps_ns,
            "--field-selector",
            "reason=OperationCompleted",
            "-o",
            "custom-columns=MESSAGE:.message",
            "--no-headers",
        ]);
        let lines: Vec<String> = out.lines().map(str::to_string).collect();
        let has = |sha: &str| lines.iter().any(|l| l.contains(sha));
        (has(&first) && has(&second)).then_some(lines)
    })
    .await;
    let of = |sha: &str| events.iter().find(|l| l.contains(sha)).cloned().unwrap();
    assert!(of(&first).contains("1 created"), "{events:?}");
    assert!(of(&second).contains("1 configured"), "{events:?}");
    assert!(!of(&second).contains("created"), "{events:?}");
}

/// A fetch that takes long shows in the status while it runs: a new
/// Application reads Unknown (not blank) with no error, as the fetch has not
/// failed; once the fetch ends it syncs. (A quick fetch writes nothing
/// before its outcome.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_fetch_shows_unknown_while_it_runs() {
    let h = Harness::start("truth-slow", Duration::from_secs(600)).await;
    let dest = h.namespace("truth-slow-dest").await;
    let repo = h.git.create_repo("truth/slow");
    repo.write("app/cm.yaml", &config_map("slow", "one"));
    repo.commit("one object");
    h.git.stall("truth/slow");
    h.apply(&common::application_yaml(
        "slow",
        &h.apps_ns,
        &h.git.http_url_with_credentials("truth/slow"),
        "app",
        &dest,
        AUTOMATED,
    ));
    let app = h
        .wait_app("slow", "Unknown while the fetch hangs", |a| {
            sync_code(a) == Some(SyncStatusCode::Unknown)
        })
        .await;
    let status = app.status.clone().unwrap_or_default();
    assert!(status.health.is_some(), "HEALTH is not blank: {status:?}");
    assert!(
        condition_with(&app, condition::COMPARISON_ERROR, "").is_none(),
        "the fetch has not failed: {status:?}"
    );
    h.git.unstall("truth/slow");
    h.wait_app("slow", "Synced once the fetch ends", |a| {
        sync_code(a) == Some(SyncStatusCode::Synced)
    })
    .await;
}
