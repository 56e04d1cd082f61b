//! Several rendering sources in one Application, as Argo CD renders them:
//! a chart from the test kit's chart repository (values from a `ref`
//! source) and a Git directory of plain manifests, both applied; an object
//! removed from the directory is pruned; an object both sources render is
//! applied once, as the last source renders it, with a
//! `RepeatedResourceWarning`; a sync operation's `revisions` sync each
//! source at its own revision, and a rollback's recorded `sources` replace
//! `spec.sources` for that sync. Real control plane, chart repository and
//! Git.

mod common;

use std::time::Duration;

use common::{Harness, eventually};
use driftless_api::{Application, OperationPhase, condition};
use driftless_controller::preview::{Origin, Previewer};
use driftless_testkit::helm::{ChartRepo, ChartSpec, binaries};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{Patch, PatchParams};

fn configmap(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  greeting: {value}\n"
    )
}

/// The templates of chart `web`: one ConfigMap `<release>-config` with the
/// greeting and the chart's version.
const WEB: &[(&str, &str)] = &[(
    "configmap.yaml",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\n\
     data:\n  greeting: {{ .Values.greeting | quote }}\n  chart: {{ .Chart.Version | quote }}\n",
)];

/// A chart repository serving `web` at each of `versions`.
fn chart_repo(versions: &[&str]) -> ChartRepo {
    let charts: Vec<ChartSpec<'_>> = versions
        .iter()
        .map(|v| ChartSpec::new("web", v, "greeting: hello\n", WEB))
        .collect();
    ChartRepo::serve(&charts, None)
}

/// The Application `name`: chart `web` at `chart_version` with values from
/// the `ref` source, and the Git directory `manifests`; synced
/// automatically when `automated`.
fn application(
    h: &Harness,
    name: &str,
    (charts, chart_version): (&str, &str),
    git: &str,
    dest: &str,
    automated: bool,
) -> String {
    let policy = if automated {
        "  syncPolicy:\n    automated:\n      prune: true\n"
    } else {
        ""
    };
    format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: {ns}
spec:
  project: default
  sources:
    - repoURL: {charts}
      chart: web
      targetRevision: {chart_version}
      helm:
        valueFiles: [$values/envs/prod.yaml]
    - repoURL: {git}
      targetRevision: main
      path: manifests
    - repoURL: {git}
      targetRevision: main
      ref: values
  destination:
    server: https://kubernetes.default.svc
    namespace: {dest}
{policy}",
        ns = h.apps_ns,
    )
}

async fn greeting(api: &Api<ConfigMap>, name: &str) -> Option<String> {
    data(api, name, "greeting").await
}

async fn data(api: &Api<ConfigMap>, name: &str, key: &str) -> Option<String> {
    let cm = api.get_opt(name).await.ok().flatten()?;
    cm.data?.get(key).cloned()
}

/// A harness whose controller runs the pinned helm, and a destination
/// namespace.
async fn start(prefix: &str) -> (Harness, String) {
    let mut h = Harness::new(prefix).await;
    let mut config = h.config(Duration::from_secs(2));
    config.helm = Some(binaries().helm);
    h.start_controller_with(config).await;
    let dest = h.namespace(&format!("{prefix}-dest")).await;
    (h, dest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_chart_and_a_git_directory_render_into_one_application() {
    let (mut h, dest) = start("multi-src").await;
    let charts = chart_repo(&["1.0.0"]);
    let git = h.git.create_repo("multi/app");
    git.write("envs/prod.yaml", "greeting: from-values\n");
    git.write("manifests/one.yaml", &configmap("plain-one", "one"));
    git.write("manifests/two.yaml", &configmap("plain-two", "two"));
    let first = git.commit("values and manifests");
    h.apply(&application(
        &h,
        "multi",
        (charts.url(), "1.0.0"),
        &h.git.git_url("multi/app"),
        &dest,
        true,
    ));

    // Both rendering sources are applied; each source has its revision and type.
    let app = h.wait_synced_healthy("multi", Some("1.0.0")).await;
    let status = app.status.clone().unwrap_or_default();
    let sync = status.sync.clone().unwrap_or_default();
    assert_eq!(sync.revisions, ["1.0.0", first.as_str(), first.as_str()]);
    assert_eq!(status.source_types, ["Helm", "Directory", ""]);
    let api: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);
    assert_eq!(
        greeting(&api, "multi-config").await.as_deref(),
        Some("from-values")
    );
    assert_eq!(greeting(&api, "plain-one").await.as_deref(), Some("one"));
    assert_eq!(greeting(&api, "plain-two").await.as_deref(), Some("two"));
    let tracked: Vec<&str> = status.resources.iter().map(|r| r.name.as_str()).collect();
    for name in ["multi-config", "plain-one", "plain-two"] {
        assert!(tracked.contains(&name), "{name} not in {tracked:?}");
    }

    // An object removed from the Git directory is pruned; the chart's stays.
    git.remove("manifests/two.yaml");
    let second = git.commit("drop two");
    eventually("plain-two pruned", || {
        let api = api.clone();
        async move { greeting(&api, "plain-two").await.is_none().then_some(()) }
    })
    .await;
    let app = h
        .wait_app("multi", "Synced at the second commit", |app| {
            common::synced_healthy(app)
                && common::source_revision_of(app, 1) == Some(second.as_str())
        })
        .await;
    assert!(
        app.status
            .unwrap_or_default()
            .conditions
            .iter()
            .all(|c| c.type_ != condition::REPEATED_RESOURCE_WARNING),
        "no object is repeated yet"
    );
    assert_eq!(
        greeting(&api, "multi-config").await.as_deref(),
        Some("from-values")
    );
    assert_eq!(greeting(&api, "plain-one").await.as_deref(), Some("one"));

    // The chart's ConfigMap also in the directory: the last source's wins, with a warning.
    git.write(
        "manifests/dup.yaml",
        &configmap("multi-config", "from-the-directory"),
    );
    git.commit("the chart's object again");
    let app = h
        .wait_app("multi", "warning of the repeated ConfigMap", |app| {
            app.status.as_ref().is_some_and(|s| {
                s.conditions.iter().any(|c| {
                    c.type_ == condition::REPEATED_RESOURCE_WARNING
                        && c.message
                            .contains(&format!("ConfigMap {dest}/multi-config"))
                        && c.message.contains("spec.sources[0] (chart web)")
                        && c.message.contains("spec.sources[1] (path \"manifests\")")
                })
            })
        })
        .await;
    eventually("the directory's multi-config applied", || {
        let api = api.clone();
        async move {
            (greeting(&api, "multi-config").await.as_deref() == Some("from-the-directory"))
                .then_some(())
        }
    })
    .await;
    assert!(
        app.status
            .unwrap_or_default()
            .resources
            .iter()
            .filter(|r| r.name == "multi-config")
            .count()
            == 1
    );
    let app = h.wait_synced_healthy("multi", Some("1.0.0")).await;
    h.stop_controller().await;

    // The preview (`driftless diff`, the web page) renders the same union:
    // every object in sync, none to prune.
    let cache = tempfile::tempdir().expect("temp dir");
    let previewer = Previewer::new(
        h.client.clone(),
        cache.path(),
        &h.apps_ns,
        Some(h.apps_ns.clone()),
    )
    .expect("a previewer")
    .with_helm(Some(binaries().helm));
    let preview = previewer
        .application(&app, &Origin::Git)
        .await
        .expect("the preview");
    let names: Vec<&str> = preview
        .comparison
        .resources
        .iter()
        .map(|r| r.key.name.as_str())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    for name in ["multi-config", "plain-one"] {
        assert!(names.contains(&name), "{name} not in {names:?}");
    }
    let differing: Vec<String> = preview
        .comparison
        .out_of_sync()
        .map(|r| format!("{}: {:?}\n{}", r.key, r.state, r.diff))
        .collect();
    assert!(differing.is_empty(), "{differing:?}");
    assert!(
        preview.revision.starts_with("1.0.0,"),
        "{}",
        preview.revision
    );
    let per_source: Vec<(&str, &str)> = preview
        .sources
        .iter()
        .map(|s| (s.source.as_str(), s.revision.as_str()))
        .collect();
    assert_eq!(
        per_source,
        [
            ("spec.sources[0] (chart web)", "1.0.0"),
            (
                "spec.sources[1] (path \"manifests\")",
                &preview.revision[6..]
            ),
        ],
        "one revision per rendering source, the ref source not among them"
    );
}

/// The revisions the last finished sync operation of `app` reports.
fn synced_revisions(app: &Application) -> Option<(OperationPhase, Vec<String>)> {
    let state = app.status.as_ref()?.operation_state.as_ref()?;
    let result = state.sync_result.as_ref()?;
    Some((state.phase, result.revisions.clone()))
}

/// Requests a sync with these per-source `revisions`.
async fn sync_with(h: &Harness, name: &str, revisions: serde_json::Value) {
    let patch = serde_json::json!({"operation": {"sync": {"revisions": revisions}}});
    h.apps()
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("request the sync");
}

/// Syncs `revs` with `asked` and waits until the sync succeeded, reporting
/// `expected` as the revisions of its three sources.
async fn sync_at(h: &Harness, asked: serde_json::Value, expected: [&str; 3]) {
    sync_with(h, "revs", asked).await;
    let expected: Vec<String> = expected.iter().map(|r| r.to_string()).collect();
    h.wait_app("revs", &format!("synced at {expected:?}"), |app| {
        synced_revisions(app) == Some((OperationPhase::Succeeded, expected.clone()))
    })
    .await;
}

/// What `revs` deployed: its chart's version and greeting, and the Git
/// directory's greeting (empty where missing).
async fn deployed(api: &Api<ConfigMap>) -> [String; 3] {
    [
        data(api, "revs-config", "chart").await,
        greeting(api, "revs-config").await,
        greeting(api, "plain-one").await,
    ]
    .map(Option::unwrap_or_default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sync_operation_syncs_each_source_at_the_revision_it_names() {
    let (mut h, dest) = start("multi-rev").await;
    let charts = chart_repo(&["1.0.0", "2.0.0"]);
    let git = h.git.create_repo("multi/revs");
    git.write("envs/prod.yaml", "greeting: old-values\n");
    git.write("manifests/one.yaml", &configmap("plain-one", "old"));
    let first = git.commit("old");
    git.write("envs/prod.yaml", "greeting: new-values\n");
    git.write("manifests/one.yaml", &configmap("plain-one", "new"));
    let second = git.commit("new");
    let url = h.git.git_url("multi/revs");
    h.apply(&application(
        &h,
        "revs",
        (charts.url(), "2.0.0"),
        &url,
        &dest,
        false,
    ));
    let api: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);

    // Every source at an older revision: the chart, the directory and the
    // ref source the values come from.
    let asked = serde_json::json!(["1.0.0", first, first]);
    sync_at(&h, asked, ["1.0.0", &first, &first]).await;
    assert_eq!(deployed(&api).await, ["1.0.0", "old-values", "old"]);

    // Empty and missing entries keep the source's target revision: the chart
    // at 2.0.0, the values at main; the directory stays at the first commit.
    sync_at(
        &h,
        serde_json::json!(["", first]),
        ["2.0.0", &first, &second],
    )
    .await;
    assert_eq!(deployed(&api).await, ["2.0.0", "new-values", "old"]);

    // Without an operation the Application compares at its targets again.
    h.wait_app("revs", "OutOfSync at the target revisions", |app| {
        let sync = app.status.as_ref().and_then(|s| s.sync.as_ref());
        sync.is_some_and(|s| {
            s.status == driftless_api::SyncStatusCode::OutOfSync
                && s.revisions == ["2.0.0", second.as_str(), second.as_str()]
        })
    })
    .await;

    // More revisions than sources: the operation fails, naming the field,
    // and nothing changes.
    sync_with(&h, "revs", serde_json::json!(["a", "b", "c", "d"])).await;
    let app = h
        .wait_app("revs", "the bad operation failed", |app| {
            let state = app.status.as_ref().and_then(|s| s.operation_state.as_ref());
            state.is_some_and(|o| {
                o.phase == OperationPhase::Error
                    && o.message
                        .as_deref()
                        .is_some_and(|m| m.contains("operation.sync.revisions lists 4"))
            })
        })
        .await;
    assert!(app.spec.operation.is_none(), "the operation is cleared");
    assert_eq!(greeting(&api, "plain-one").await.as_deref(), Some("old"));
    h.stop_controller().await;
}

/// The Application `hist`: the `manifests` directories of two Git
/// repositories, synced automatically.
fn two_git_sources(h: &Harness, (a, b): (&str, &str), dest: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: hist
  namespace: {ns}
spec:
  project: default
  sources:
    - repoURL: {a}
      targetRevision: main
      path: manifests
    - repoURL: {b}
      targetRevision: main
      path: manifests
  destination:
    server: https://kubernetes.default.svc
    namespace: {dest}
  syncPolicy:
    automated:
      prune: true
",
        ns = h.apps_ns,
    )
}

/// The per-source revisions of each history entry of `app`.
fn history_revisions(app: &Application) -> Vec<Vec<String>> {
    let history = app.status.as_ref().map(|s| s.history.as_slice());
    history
        .unwrap_or_default()
        .iter()
        .map(|h| h.revisions.clone())
        .collect()
}

/// Waits until the latest history entry of `hist` is at `revisions`.
async fn wait_history(h: &Harness, revisions: [&str; 2]) -> Application {
    let want: Vec<String> = revisions.iter().map(|r| r.to_string()).collect();
    h.wait_app("hist", &format!("history at {want:?}"), |app| {
        history_revisions(app).last() == Some(&want)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn automated_syncs_and_history_keep_each_revision_and_a_rollback_restores_them() {
    let (mut h, dest) = start("multi-hist").await;
    let repo_a = h.git.create_repo("multi/hist-a");
    let repo_b = h.git.create_repo("multi/hist-b");
    repo_a.write("manifests/a.yaml", &configmap("cm-a", "a1"));
    let a1 = repo_a.commit("a1");
    repo_b.write("manifests/b.yaml", &configmap("cm-b", "b1"));
    let b1 = repo_b.commit("b1");
    let (url_a, url_b) = (h.git.git_url("multi/hist-a"), h.git.git_url("multi/hist-b"));
    h.apply(&two_git_sources(&h, (&url_a, &url_b), &dest));
    let api: Api<ConfigMap> = Api::namespaced(h.client.clone(), &dest);

    // The automated sync names each source's revision; `revision` is the first's.
    let app = wait_history(&h, [&a1, &b1]).await;
    let status = app.status.clone().unwrap_or_default();
    let state = status.operation_state.clone().expect("an operation state");
    let asked = state.operation.sync.clone().expect("a sync operation");
    assert_eq!(asked.revisions, [a1.as_str(), b1.as_str()]);
    let result = state.sync_result.expect("a sync result");
    assert_eq!(
        result.revision, a1,
        "the first source's revision, not joined"
    );
    assert_eq!(result.revisions, [a1.as_str(), b1.as_str()]);
    assert_eq!(result.sources.len(), 2);
    let entry = status.history.last().expect("a history entry").clone();
    assert_eq!(entry.revision, a1);
    assert_eq!(entry.sources, app.spec.spec.sources);

    // A commit to either source is a new sync with its own history entry.
    repo_a.write("manifests/a.yaml", &configmap("cm-a", "a2"));
    let a2 = repo_a.commit("a2");
    wait_history(&h, [&a2, &b1]).await;
    repo_b.write("manifests/b.yaml", &configmap("cm-b", "b2"));
    let b2 = repo_b.commit("b2");
    let app = wait_history(&h, [&a2, &b2]).await;
    assert_eq!(greeting(&api, "cm-a").await.as_deref(), Some("a2"));
    assert_eq!(greeting(&api, "cm-b").await.as_deref(), Some("b2"));
    let all = history_revisions(&app);
    assert_eq!(
        all,
        [[&a1, &b1], [&a2, &b1], [&a2, &b2]].map(|e| e.map(String::clone).to_vec()),
        "one entry per sync, each with both revisions"
    );

    // The second source's definition changes (another path, which its
    // first commit does not have) and is synced automatically.
    repo_b.write("moved/b.yaml", &configmap("cm-b", "moved"));
    let b3 = repo_b.commit("b3");
    let mut moved = app.spec.spec.sources.clone();
    moved[1].path = Some("moved".into());
    let patch = serde_json::json!({"spec": {"sources": moved}});
    h.apps()
        .patch("hist", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("move the second source");
    let app = wait_history(&h, [&a2, &b3]).await;
    let latest = app.status.as_ref().and_then(|s| s.history.last()).cloned();
    assert_eq!(latest.expect("an entry").sources, moved);
    assert_eq!(greeting(&api, "cm-b").await.as_deref(), Some("moved"));

    // Rollback (as `driftless rollback` does it): automation off, then a
    // sync of the first entry's recorded sources at its revisions; spec
    // keeps the moved source.
    let first = app.status.as_ref().expect("a status").history[0].clone();
    let patch = serde_json::json!({
        "spec": {"syncPolicy": null},
        "operation": {"sync": {
            "revision": first.revision,
            "revisions": first.revisions,
            "sources": first.sources,
        }},
    });
    h.apps()
        .patch("hist", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("request the rollback");
    let app = h
        .wait_app("hist", "rolled back to a1 and b1", |app| {
            synced_revisions(app) == Some((OperationPhase::Succeeded, vec![a1.clone(), b1.clone()]))
        })
        .await;
    assert_eq!(greeting(&api, "cm-a").await.as_deref(), Some("a1"));
    assert_eq!(greeting(&api, "cm-b").await.as_deref(), Some("b1"));
    let status = app.status.clone().expect("a status");
    let result = status.operation_state.and_then(|o| o.sync_result);
    assert_eq!(
        result.expect("a sync result").sources,
        first.sources,
        "syncResult shows the recorded definitions"
    );
    let latest = status.history.last().expect("an entry");
    assert_eq!(
        (&latest.revisions, &latest.sources),
        (&vec![a1.clone(), b1.clone()], &first.sources),
        "the rollback is a history entry too, of what it synced"
    );
    assert_eq!(app.spec.spec.sources, moved, "spec is left as it is");

    // The next comparison is with spec again: OutOfSync with the moved source.
    h.wait_app("hist", "OutOfSync with spec.sources", |app| {
        let sync = app.status.as_ref().and_then(|s| s.sync.as_ref());
        sync.is_some_and(|s| {
            s.status == driftless_api::SyncStatusCode::OutOfSync
                && s.compared_to.as_ref().is_some_and(|c| c.sources == moved)
        })
    })
    .await;
    h.stop_controller().await;
}
