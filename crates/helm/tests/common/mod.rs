//! Shared fixtures of the Helm tests: a chart with values, a CRD and a
//! config file, and `helm template` run directly as the oracle.

#![allow(dead_code)] // each test binary uses part of it

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use driftless_helm::{Helm, Renderer};
use driftless_render::Object;
use driftless_testkit::helm::{ChartSpec, binaries, run_helm};

/// The chart `web` at `version`: a ConfigMap from values and release data,
/// a Service whose port comes from values, a `crds/` CRD and a
/// `values-prod.yaml` inside the chart.
pub fn web_chart(dir: &Path, version: &str) -> PathBuf {
    ChartSpec::new(
        "web",
        version,
        "greeting: hello\nport: 80\nconfig: none\n",
        WEB_TEMPLATES,
    )
    .with_files(WEB_FILES)
    .write(dir)
}

/// The templates of `web`: a ConfigMap from values, release and chart data,
/// and a Service.
const WEB_TEMPLATES: &[(&str, &str)] = &[
    (
        "configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\n  \
         namespace: {{ .Release.Namespace }}\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  \
         chart: {{ .Chart.Version | quote }}\n  port: {{ .Values.port | quote }}\n  \
         portType: {{ kindOf .Values.port | quote }}\n  config: {{ .Values.config | quote }}\n  \
         kube: {{ .Capabilities.KubeVersion.Version | quote }}\n  \
         monitoring: {{ .Capabilities.APIVersions.Has \"monitoring.coreos.com/v1\" | quote }}\n",
    ),
    (
        "service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  \
         ports:\n    - port: {{ .Values.port }}\n",
    ),
];

/// The other files of `web`: a CRD under `crds/` and `values-prod.yaml`.
const WEB_FILES: &[(&str, &str)] = &[
    (
        "crds/widget.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  \
         name: widgets.example.com\nspec:\n  group: example.com\n  names:\n    kind: Widget\n    \
         plural: widgets\n  scope: Namespaced\n  versions:\n    - name: v1\n      served: true\n      \
         storage: true\n      schema:\n        openAPIV3Schema:\n          type: object\n",
    ),
    ("values-prod.yaml", "greeting: hello-prod\n"),
];

/// A renderer with the pinned helm, working below `dir`.
pub fn renderer(dir: &Path) -> Renderer {
    Renderer::new(Helm::new(binaries().helm), dir.join("helm-work"))
}

/// `helm template ARGS` run directly (the oracle), parsed into objects.
pub fn helm_template(args: &[&OsStr]) -> Vec<Object> {
    let home = tempfile::tempdir().unwrap();
    let mut all = vec![OsStr::new("template")];
    all.extend_from_slice(args);
    let text = run_helm(home.path(), &all);
    driftless_render::yaml::parse_documents(&text, "helm template")
        .unwrap()
        .into_iter()
        .map(|v| Object::from_value(v).unwrap())
        .collect()
}

/// The data of the ConfigMap among `objects`.
pub fn config_data(objects: &[Object]) -> serde_json::Map<String, serde_json::Value> {
    let config = objects
        .iter()
        .find(|o| o.kind() == "ConfigMap")
        .expect("a ConfigMap");
    config.0["data"].as_object().unwrap().clone()
}

/// `(kind, name)` of every object, in order.
pub fn kinds_and_names(objects: &[Object]) -> Vec<(String, String)> {
    objects
        .iter()
        .map(|o| (o.kind().to_string(), o.name().to_string()))
        .collect()
}
