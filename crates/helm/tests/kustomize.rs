//! A kustomization's `helmCharts` rendered natively (the native Kustomize
//! engine, helm through driftless-helm), compared with the oracle:
//! `kubectl kustomize --enable-helm` (kustomize v5.5.0) on the same
//! directory, fetching from the same chart repository, templating with the
//! same pinned helm. kustomize v5.5 asks `helm version -c` and insists on
//! major version 3, which helm v4 refuses: the oracle's `--helm-command` is
//! a two-line shim that answers that question and hands everything else to
//! the pinned helm unchanged.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::{renderer, web_chart};
use driftless_render::{DiskTree, Object, RenderOptions, SharedInflater};
use driftless_testkit::helm::{ChartRepo, ChartSpec, binaries, package};

/// A repository serving `web` 1.0.0 and 1.2.0.
fn repo_with_web() -> (ChartRepo, tempfile::TempDir) {
    let repo = ChartRepo::start(None);
    let work = tempfile::tempdir().unwrap();
    for version in ["1.0.0", "1.2.0"] {
        let chart = web_chart(&work.path().join(format!("src-{version}")), version);
        repo.add(&package(&chart, &work.path().join("packages")));
    }
    (repo, work)
}

/// The helm kustomize v5.5 accepts: `version` answered as v3, the rest the pinned helm.
fn helm_shim(dir: &Path) -> PathBuf {
    let shim = dir.join("helm-shim");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\nif [ \"$1\" = version ]; then echo v3.17.0; exit 0; fi\nexec '{}' \"$@\"\n",
            binaries().helm.display()
        ),
    )
    .unwrap();
    let mut permissions = std::fs::metadata(&shim).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&shim, permissions).unwrap();
    shim
}

/// The oracle, on a copy of `dir` (kustomize pulls charts into the chart home).
fn kubectl_kustomize(dir: &Path, scratch: &Path) -> Vec<Object> {
    let copy = scratch.join("oracle-copy");
    let status = Command::new("cp")
        .arg("-r")
        .arg(dir)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg("--enable-helm")
        .arg("--helm-command")
        .arg(helm_shim(scratch))
        .arg(&copy)
        .output()
        .expect("kubectl");
    assert!(
        out.status.success(),
        "kubectl kustomize failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    driftless_render::yaml::parse_documents(&text, "kubectl kustomize")
        .unwrap()
        .into_iter()
        .map(|v| Object::from_value(v).unwrap())
        .collect()
}

fn native(dir: &Path, work: &Path) -> Result<Vec<Object>, driftless_render::RenderError> {
    let tree = DiskTree::new(dir).unwrap();
    let options = RenderOptions {
        chart_inflater: Some(SharedInflater(Arc::new(renderer(work)))),
        ..RenderOptions::default()
    };
    driftless_render::render(&tree, "", &options).map(|r| r.objects)
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

#[test]
fn helm_charts_from_a_repository_and_the_chart_home_render_like_kubectl_kustomize() {
    let (repo, work) = repo_with_web();
    let app = tempfile::tempdir().unwrap();
    let kustomization = format!(
        "namespace: shop\n\
         labels:\n- pairs: {{team: payments}}\n\
         helmGlobals:\n  chartHome: vendored\n\
         helmCharts:\n\
         - name: web\n  repo: {url}\n  version: 1.2.0\n  releaseName: shop\n  namespace: prod\n  \
           includeCRDs: true\n  valuesInline: {{greeting: inline, port: 8080, config: null}}\n  \
           additionalValuesFiles: [extra.yaml]\n  kubeVersion: 1.33.0\n  \
           apiVersions: [monitoring.coreos.com/v1]\n  skipTests: true\n\
         - name: local\n  valuesFile: local-values.yaml\n  valuesMerge: merge\n  \
           valuesInline: {{greeting: from-inline, extra: only-inline}}\n\
         - name: local\n  releaseName: replaced\n  valuesMerge: replace\n  \
           valuesInline: {{greeting: replaced}}\n\
         configMapGenerator:\n- name: settings\n  literals: [a=b]\n",
        url = repo.url()
    );
    write(
        app.path(),
        &[
            ("kustomization.yaml", &kustomization),
            ("extra.yaml", "port: 9090\n"),
            ("local-values.yaml", "greeting: from-file\n"),
        ],
    );
    let templates = &[(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-local\ndata:\n  \
         greeting: {{ .Values.greeting | quote }}\n  extra: {{ .Values.extra | quote }}\n  \
         ns: {{ .Release.Namespace | quote }}\n",
    )];
    ChartSpec::new(
        "local",
        "0.3.0",
        "greeting: default\nextra: default\n",
        templates,
    )
    .write(&app.path().join("vendored"));

    let expected = kubectl_kustomize(app.path(), work.path());
    let actual = native(app.path(), work.path()).unwrap();
    assert_eq!(actual, expected);
    // The inputs reached the charts (so the comparison is not of two empty renders).
    let data = |name: &str| {
        actual
            .iter()
            .find(|o| o.name() == name)
            .unwrap_or_else(|| panic!("no {name} in {actual:?}"))
            .0["data"]
            .clone()
    };
    assert_eq!(data("shop-config")["greeting"], "inline");
    assert_eq!(data("shop-config")["port"], "9090");
    assert_eq!(data("release-name-local")["greeting"], "from-file");
    assert_eq!(data("release-name-local")["extra"], "only-inline");
    assert_eq!(data("replaced-local")["greeting"], "replaced");
    assert!(
        actual
            .iter()
            .any(|o| o.kind() == "CustomResourceDefinition")
    );
    assert!(
        !app.path().join("vendored/web-1.2.0").exists(),
        "the native render never writes into the repository"
    );
}

#[test]
fn a_missing_chart_version_is_an_error_naming_chart_and_version() {
    let (repo, work) = repo_with_web();
    let app = tempfile::tempdir().unwrap();
    write(
        app.path(),
        &[(
            "kustomization.yaml",
            &format!(
                "helmCharts:\n- name: web\n  repo: {}\n  version: 9.9.9\n",
                repo.url()
            ),
        )],
    );
    let error = native(app.path(), work.path()).unwrap_err().to_string();
    assert!(error.contains("kustomization.yaml"), "{error}");
    assert!(error.contains("helmCharts[0]"), "{error}");
    assert!(error.contains("web") && error.contains("9.9.9"), "{error}");
    assert!(error.contains("1.2.0"), "the versions available: {error}");

    write(
        app.path(),
        &[("kustomization.yaml", "helmCharts:\n- name: nowhere\n")],
    );
    let error = native(app.path(), work.path()).unwrap_err().to_string();
    assert!(
        error.contains("no repo specified for pull, no chart found at 'charts/nowhere'"),
        "{error}"
    );
}

#[test]
fn helm_charts_from_an_oci_registry_render_like_helm_template() {
    use driftless_testkit::helm::{OciRegistry, push};
    let registry = OciRegistry::start(false);
    let work = tempfile::tempdir().unwrap();
    for version in ["1.0.0", "1.2.0"] {
        let chart = web_chart(&work.path().join(format!("src-{version}")), version);
        push(
            &package(&chart, &work.path().join("packages")),
            &registry.url("charts"),
            None,
        );
    }
    let app = tempfile::tempdir().unwrap();
    write(
        app.path(),
        &[(
            "kustomization.yaml",
            &format!(
                "helmCharts:\n- name: web\n  repo: {}\n  version: \">=1.0.0 <2.0.0\"\n  \
                 releaseName: shop\n  valuesInline: {{greeting: from-oci}}\n",
                registry.url("charts")
            ),
        )],
    );
    let actual = native(app.path(), work.path()).unwrap();
    let src = work.path().join("src-1.2.0/web");
    let expected = common::helm_template(&[
        "shop".as_ref(),
        src.as_os_str(),
        "--set=greeting=from-oci".as_ref(),
    ]);
    assert_eq!(actual, expected);
    let config = actual
        .iter()
        .find(|o| o.kind() == "ConfigMap")
        .expect("the chart's ConfigMap");
    assert_eq!(config.0["data"]["chart"], "1.2.0", "the range picked 1.2.0");
    assert_eq!(config.0["data"]["greeting"], "from-oci");

    // A version the registry does not have names chart, version and registry.
    write(
        app.path(),
        &[(
            "kustomization.yaml",
            &format!(
                "helmCharts:\n- name: web\n  repo: {}\n  version: 9.9.9\n",
                registry.url("charts")
            ),
        )],
    );
    let error = native(app.path(), work.path()).unwrap_err().to_string();
    assert!(error.contains("helmCharts[0]"), "{error}");
    assert!(
        error.contains("web") && error.contains("9.9.9") && error.contains(registry.host()),
        "{error}"
    );
}
