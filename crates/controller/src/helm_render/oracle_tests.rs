//! The render an Application's `source.helm` maps to, compared with `helm
//! template` run directly on the same chart with the same inputs (the
//! oracle), for each value source: value files from the chart directory,
//! from elsewhere in the Git path, from a `$ref` source; `values`,
//! `valuesObject`, `parameters` with `forceString`, `fileParameters`,
//! `releaseName`, `namespace`, `skipCrds`, `kubeVersion`, `apiVersions`.

use std::ffi::OsStr;
use std::path::Path;
use std::sync::Arc;

use driftless_api::{ApplicationSourceHelm, HelmFileParameter, HelmParameter};
use driftless_helm::{ChartSource, Helm, Renderer, TreeChart};
use driftless_render::{DiskTree, FileTree, Object};
use driftless_testkit::helm::{binaries, run_helm, write_chart};

use super::plan::{RefTree, template_options};

/// A repository: `charts/web` (with a CRD and `values-prod.yaml`) and
/// `envs/prod.yaml` beside it.
fn git_repo(dir: &Path) {
    let chart = write_chart(
        &dir.join("charts"),
        "web",
        "1.4.0",
        "greeting: hello\nport: 80\nconfig: none\nextra: {}\n",
        &[(
            "configmap.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\n  \
             namespace: {{ .Release.Namespace }}\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  \
             port: {{ .Values.port | quote }}\n  portType: {{ kindOf .Values.port | quote }}\n  \
             config: {{ .Values.config | quote }}\n  extra: {{ toJson .Values.extra | quote }}\n  \
             kube: {{ .Capabilities.KubeVersion.Version | quote }}\n  \
             monitoring: {{ .Capabilities.APIVersions.Has \"monitoring.coreos.com/v1\" | quote }}\n",
        )],
    );
    std::fs::create_dir_all(chart.join("crds")).unwrap();
    std::fs::write(
        chart.join("crds/widget.yaml"),
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  \
         name: widgets.example.com\nspec:\n  group: example.com\n  names:\n    kind: Widget\n    \
         plural: widgets\n  scope: Namespaced\n  versions:\n    - name: v1\n      served: true\n      \
         storage: true\n",
    )
    .unwrap();
    std::fs::write(chart.join("values-prod.yaml"), "greeting: hello-prod\n").unwrap();
    std::fs::create_dir_all(dir.join("envs")).unwrap();
    std::fs::write(dir.join("envs/prod.yaml"), "port: 8443\n").unwrap();
}

/// Renders the chart of `repo` with `helm` as the controller does.
fn render(repo: &Path, helm: &ApplicationSourceHelm, refs: &[RefTree], work: &Path) -> Vec<Object> {
    let tree = DiskTree::new(repo).unwrap();
    let plan = template_options(Some(helm), "shop", Some("prod"), refs).unwrap();
    let renderer = Renderer::new(Helm::new(binaries().helm), work.join("helm"));
    let source = ChartSource::Tree(TreeChart {
        tree: &tree,
        path: "charts/web".into(),
        repo_url: "http://git.example/repo.git".into(),
        revision: "0123456789abcdef0123456789abcdef01234567".into(),
        dependency_credentials: Vec::new(),
    });
    let rendered = renderer.render(&source, &plan.options).unwrap();
    assert_eq!(rendered.version, "1.4.0");
    rendered.objects.as_ref().clone()
}

/// `helm template ARGS` run directly, parsed the same way.
fn oracle(args: &[&OsStr]) -> Vec<Object> {
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

#[test]
fn value_files_from_the_chart_and_the_git_path_values_and_parameters_match_helm_template() {
    let repo = tempfile::tempdir().unwrap();
    git_repo(repo.path());
    std::fs::write(repo.path().join("envs/config.txt"), "from a file").unwrap();
    let helm = ApplicationSourceHelm {
        value_files: vec!["values-prod.yaml".into(), "../../envs/prod.yaml".into()],
        values: Some("config: inline\n".into()),
        parameters: vec![
            HelmParameter {
                name: "port".into(),
                value: "9090".into(),
                force_string: true,
            },
            HelmParameter {
                name: "greeting".into(),
                value: "a,b".into(),
                force_string: false,
            },
        ],
        file_parameters: vec![HelmFileParameter {
            name: "config".into(),
            path: "../../envs/config.txt".into(),
        }],
        release_name: Some("blog".into()),
        namespace: Some("web-ns".into()),
        kube_version: Some("1.31.0".into()),
        api_versions: vec!["monitoring.coreos.com/v1".into()],
        ..Default::default()
    };
    let work = tempfile::tempdir().unwrap();
    let got = render(repo.path(), &helm, &[], work.path());

    let chart = repo.path().join("charts/web");
    let inline = work.path().join("inline.yaml");
    std::fs::write(&inline, "config: inline\n").unwrap();
    let values = |p: &Path| format!("--values={}", p.display());
    let args = [
        "blog".to_string(),
        chart.display().to_string(),
        "--namespace=web-ns".into(),
        "--kube-version=1.31.0".into(),
        "--api-versions=monitoring.coreos.com/v1".into(),
        values(&chart.join("values-prod.yaml")),
        values(&repo.path().join("envs/prod.yaml")),
        values(&inline),
        "--set-string=port=9090".into(),
        "--set=greeting=a\\,b".into(),
        format!(
            "--set-file=config={}",
            repo.path().join("envs/config.txt").display()
        ),
        "--include-crds".into(),
    ];
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    let expected = oracle(&args);
    assert_eq!(got, expected);
    let data = &got.iter().find(|o| o.kind() == "ConfigMap").unwrap().0["data"];
    assert_eq!(data["greeting"], "a,b", "the comma is kept, not split");
    assert_eq!(data["portType"], "string");
    assert_eq!(data["config"], "from a file", "file parameters come last");
    assert_eq!(data["monitoring"], "true");
}

#[test]
fn ref_value_files_values_object_and_skip_crds_match_helm_template() {
    let repo = tempfile::tempdir().unwrap();
    git_repo(repo.path());
    let values_repo = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(values_repo.path().join("shop")).unwrap();
    std::fs::write(
        values_repo.path().join("shop/values.yaml"),
        "greeting: from-ref\n",
    )
    .unwrap();
    let tree: Arc<dyn FileTree> = Arc::new(DiskTree::new(values_repo.path()).unwrap());
    let refs = [RefTree {
        name: "values".into(),
        revision: "abc".into(),
        tree,
    }];
    let helm = ApplicationSourceHelm {
        value_files: vec!["$values/shop/values.yaml".into(), "missing.yaml".into()],
        ignore_missing_value_files: true,
        values: Some("port: 1\n".into()),
        values_object: Some(serde_json::json!({"port": 7000, "extra": {"tier": "gold"}})),
        skip_crds: true,
        ..Default::default()
    };
    let work = tempfile::tempdir().unwrap();
    let got = render(repo.path(), &helm, &refs, work.path());

    let object = work.path().join("object.json");
    std::fs::write(&object, r#"{"extra":{"tier":"gold"},"port":7000}"#).unwrap();
    let chart = repo.path().join("charts/web");
    let args = [
        "shop".to_string(),
        chart.display().to_string(),
        "--namespace=prod".into(),
        format!(
            "--values={}",
            values_repo.path().join("shop/values.yaml").display()
        ),
        format!("--values={}", object.display()),
        "--skip-crds".into(),
    ];
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    assert_eq!(got, oracle(&args));
    assert!(got.iter().all(|o| o.kind() != "CustomResourceDefinition"));
    let data = &got[0].0["data"];
    assert_eq!(data["greeting"], "from-ref");
    assert_eq!(data["port"], "7000", "valuesObject wins over values");
}
