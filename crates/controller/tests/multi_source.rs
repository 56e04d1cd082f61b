//! Several rendering sources in one Application, as Argo CD renders them:
//! a chart from the test kit's chart repository (values from a `ref`
//! source) and a Git directory of plain manifests, both applied; an object
//! removed from the directory is pruned; an object both sources render is
//! applied once, as the last source renders it, with a
//! `RepeatedResourceWarning`. Real control plane, chart repository and Git.

mod common;

use std::time::Duration;

use common::{Harness, eventually};
use driftless_api::condition;
use driftless_controller::preview::{Origin, Previewer};
use driftless_testkit::helm::{ChartRepo, binaries, package, write_chart};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;

fn configmap(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  greeting: {value}\n"
    )
}

/// A chart repository serving `web` 1.0.0: one ConfigMap `<release>-config`.
fn chart_repo(work: &std::path::Path) -> ChartRepo {
    let repo = ChartRepo::start(None);
    let chart = write_chart(
        &work.join("src"),
        "web",
        "1.0.0",
        "greeting: hello\n",
        &[(
            "configmap.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\n\
             data:\n  greeting: {{ .Values.greeting | quote }}\n",
        )],
    );
    repo.add(&package(&chart, &work.join("packages")));
    repo
}

fn application(h: &Harness, charts: &str, git: &str, dest: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: multi
  namespace: {ns}
spec:
  project: default
  sources:
    - repoURL: {charts}
      chart: web
      targetRevision: 1.0.0
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
  syncPolicy:
    automated:
      prune: true
",
        ns = h.apps_ns,
    )
}

async fn greeting(api: &Api<ConfigMap>, name: &str) -> Option<String> {
    let cm = api.get_opt(name).await.ok().flatten()?;
    cm.data?.get("greeting").cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_chart_and_a_git_directory_render_into_one_application() {
    let mut h = Harness::new("multi-src").await;
    let mut config = h.config(Duration::from_secs(2));
    config.helm = Some(binaries().helm);
    h.start_controller_with(config).await;
    let dest = h.namespace("multi-src-dest").await;
    let work = tempfile::tempdir().expect("temp dir");
    let charts = chart_repo(work.path());
    let git = h.git.create_repo("multi/app");
    git.write("envs/prod.yaml", "greeting: from-values\n");
    git.write("manifests/one.yaml", &configmap("plain-one", "one"));
    git.write("manifests/two.yaml", &configmap("plain-two", "two"));
    let first = git.commit("values and manifests");
    h.apply(&application(
        &h,
        charts.url(),
        &h.git.git_url("multi/app"),
        &dest,
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
                && app
                    .status
                    .as_ref()
                    .and_then(|s| s.sync.as_ref())
                    .is_some_and(|s| s.revisions.get(1) == Some(&second))
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
}
