//! The page's node diff of a Helm Application through the JSON API: the
//! chart (from the test kit's chart repository, with basic auth read from
//! an Argo CD repository Secret) rendered by the same Helm path as the
//! controller, compared with the real control plane, Secret values
//! redacted; an unknown chart version names chart and version.

mod common;

use std::sync::Arc;

use common::World;
use driftless_controller::preview::Previewer;
use driftless_testkit::helm::{ChartRepo, ChartSpec, binaries};
use serde_json::Value;

const VIEW: &str = "[{apiGroups: [argoproj.io], resources: [applications], verbs: [get]}]";
const USER: &str = "ui-reader";
const PASSWORD: &str = "ui-chart-pass";

fn application(ns: &str, charts: &str, version: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web}}
spec:
  project: default
  source:
    repoURL: {charts}
    chart: web
    targetRevision: {version:?}
    helm:
      valuesObject: {{greeting: hello-page, token: page-s3cret}}
  destination: {{server: 'https://kubernetes.default.svc', namespace: {ns}}}
"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_helm_applications_diff_renders_its_chart() {
    let mut w = World::new("ui-helm").await;
    let templates = [
        (
            "configmap.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\n\
             data:\n  greeting: {{ .Values.greeting | quote }}\n",
        ),
        (
            "secret.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-token\n\
             stringData:\n  token: {{ .Values.token | quote }}\n",
        ),
    ];
    let values = "greeting: hello\ntoken: none\n";
    let charts = ChartRepo::serve(
        &[ChartSpec::new("web", "1.0.0", values, &templates)],
        Some((USER, PASSWORD)),
    );
    let ns = w.ns.clone();
    w.apply(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: charts\n  labels:\n    \
         argocd.argoproj.io/secret-type: repository\nstringData:\n  type: helm\n  url: {}\n  \
         username: {USER}\n  password: {PASSWORD}\n",
        charts.url()
    ));
    w.apply(&application(&ns, charts.url(), "1.0.0"));
    let token = w.account("viewer", VIEW);
    let cache = tempfile::tempdir().expect("temp dir");
    let previewer = Previewer::new(w.cp.client().await, cache.path(), &ns, None)
        .expect("a previewer")
        .with_helm(Some(binaries().helm));
    w.previewer = Some(Arc::new(previewer));
    w.serve(false, None).await;

    let path = format!("/api/v1/applications/{ns}/web/diff");
    let (status, body) = w.get(&path, Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["revision"], "1.0.0", "{body}");
    let resources = body["resources"].as_array().cloned().unwrap_or_default();
    let diff_of = |name: &str| -> String {
        resources
            .iter()
            .find(|r| r["name"] == name)
            .and_then(|r| r["diff"].as_str())
            .unwrap_or_else(|| panic!("no diff of {name}: {body}"))
            .to_string()
    };
    assert!(
        diff_of("web-config").contains("+  greeting: hello-page"),
        "{body}"
    );
    assert!(diff_of("web-token").contains("token"), "{body}");
    let text = body.to_string();
    assert!(
        !text.contains("page-s3cret") && !text.contains("cGFnZS1zM2NyZXQ="),
        "a Secret value in the diff: {body}"
    );

    w.apply(&application(&ns, charts.url(), "7.7.7"));
    let (status, body): (u16, Value) = w.get(&path, Some(&token)).await;
    assert_ne!(status, 200, "{body}");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("chart web") && error.contains("7.7.7"),
        "{body}"
    );
    assert!(!error.contains(PASSWORD), "{body}");
}
