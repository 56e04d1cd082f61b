//! End-to-end behaviour of `render` beyond the conformance corpus: safety
//! (cycles, remote bases, paths leaving the tree, unsupported features),
//! plain directories, Argo CD overrides, and the files a render read.

use std::path::Path;

use driftless_render::{
    DirectoryOptions, DiskTree, KustomizeOverrides, OverridePatch, PatchTarget, RenderOptions,
    SourceType, render,
};

fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }
}

fn tree(files: &[(&str, &str)]) -> (tempfile::TempDir, DiskTree) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), files);
    let tree = DiskTree::new(dir.path()).unwrap();
    (dir, tree)
}

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.0\n";

#[test]
fn cycles_are_errors_not_hangs() {
    let (_d, t) = tree(&[
        ("a/kustomization.yaml", "resources: [../b]\n"),
        ("b/kustomization.yaml", "resources: [../a]\n"),
    ]);
    let err = render(&t, "a", &RenderOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("cycle"), "{err}");
}

#[test]
fn remote_bases_are_refused_by_name() {
    let (_d, t) = tree(&[(
        "kustomization.yaml",
        "resources:\n- github.com/kubernetes-sigs/kustomize/examples/helloWorld?ref=v1.0.6\n",
    )]);
    let err = render(&t, "", &RenderOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("kustomization.yaml") && err.contains("remote bases are not supported"),
        "{err}"
    );
}

#[test]
fn paths_cannot_leave_the_tree() {
    let (_d, t) = tree(&[("app/kustomization.yaml", "resources: [../../etc]\n")]);
    let err = render(&t, "app", &RenderOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("outside the repository root"), "{err}");
}

#[test]
fn files_outside_the_kustomization_need_load_restrictions_none() {
    let files = [
        ("shared/web.yaml", DEPLOYMENT),
        (
            "app/kustomization.yaml",
            "resources: [../shared/web.yaml]\n",
        ),
    ];
    let (_d, t) = tree(&files);
    let err = render(&t, "app", &RenderOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not in or below"), "{err}");
    let options = RenderOptions {
        load_restrictions_none: true,
        ..RenderOptions::default()
    };
    assert_eq!(render(&t, "app", &options).unwrap().objects.len(), 1);
}

#[test]
fn helm_and_exec_plugins_are_refused_naming_the_field() {
    let (_d, t) = tree(&[("kustomization.yaml", "helmCharts:\n- name: redis\n")]);
    let err = render(&t, "", &RenderOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("helmCharts"), "{err}");
    let (_d, t) = tree(&[
        ("kustomization.yaml", "transformers: [plugin.yaml]\n"),
        (
            "plugin.yaml",
            "apiVersion: someteam.example.com/v1\nkind: ChartInflator\nmetadata:\n  name: x\n",
        ),
    ]);
    let err = render(&t, "", &RenderOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("transformers[0]") && err.contains("ChartInflator"),
        "{err}"
    );
}

#[test]
fn malformed_files_are_named() {
    let (_d, t) = tree(&[
        ("kustomization.yaml", "resources: [bad.yaml]\n"),
        ("bad.yaml", "kind: [unclosed\n"),
    ]);
    let err = render(&t, "", &RenderOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("bad.yaml"), "{err}");
}

#[test]
fn unknown_kustomization_fields_are_refused() {
    let (_d, t) = tree(&[("kustomization.yaml", "resourcez: [a.yaml]\n")]);
    let err = render(&t, "", &RenderOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("resourcez"), "{err}");
}

#[test]
fn two_kustomization_files_are_an_error() {
    let (_d, t) = tree(&[
        ("kustomization.yaml", "resources: []\n"),
        ("kustomization.yml", "resources: []\n"),
    ]);
    assert!(render(&t, "", &RenderOptions::default()).is_err());
}

#[test]
fn plain_directory_with_recurse_include_exclude() {
    let (_d, t) = tree(&[
        (
            "app/a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
        ),
        (
            "app/sub/c.json",
            r#"{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c"}}]}"#,
        ),
        (
            "app/sub/skip.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: skip\n",
        ),
        ("app/README.md", "not yaml"),
    ]);
    let names = |options: &RenderOptions| -> Vec<String> {
        let r = render(&t, "app", options).unwrap();
        assert_eq!(r.source_type, SourceType::Directory);
        r.objects.iter().map(|o| o.name().to_string()).collect()
    };
    assert_eq!(names(&RenderOptions::default()), ["a", "b"]);
    let recurse = |include: Option<&str>, exclude: Option<&str>| RenderOptions {
        directory: Some(DirectoryOptions {
            recurse: true,
            include: include.map(String::from),
            exclude: exclude.map(String::from),
            ..DirectoryOptions::default()
        }),
        ..RenderOptions::default()
    };
    assert_eq!(names(&recurse(None, None)), ["a", "b", "c", "skip"]);
    assert_eq!(
        names(&recurse(Some("{*.json,a.yaml}"), None)),
        ["a", "b", "c"]
    );
    assert_eq!(
        names(&recurse(None, Some("sub/skip.yaml"))),
        ["a", "b", "c"]
    );
}

#[test]
fn argo_overrides_edit_the_root_kustomization() {
    let (_d, t) = tree(&[
        ("base/kustomization.yaml", "resources: [web.yaml]\n"),
        ("base/web.yaml", DEPLOYMENT),
        (
            "overlay/kustomization.yaml",
            "resources: [../base]\nnamePrefix: dev-\n",
        ),
    ]);
    let options = RenderOptions {
        kustomize: Some(KustomizeOverrides {
            images: vec!["nginx=registry.example.com/nginx:2.0".into()],
            name_suffix: Some("-v2".into()),
            namespace: Some("apps".into()),
            common_labels: vec![("team".into(), "blue".into())],
            replicas: vec![("web".into(), 3)],
            patches: vec![OverridePatch {
                patch: Some(
                    "- op: add\n  path: /metadata/annotations\n  value: {patched: \"yes\"}\n"
                        .into(),
                ),
                target: Some(PatchTarget {
                    kind: Some("Deployment".into()),
                    ..PatchTarget::default()
                }),
                ..OverridePatch::default()
            }],
            ..KustomizeOverrides::default()
        }),
        ..RenderOptions::default()
    };
    let rendered = render(&t, "overlay", &options).unwrap();
    assert_eq!(rendered.source_type, SourceType::Kustomize);
    let web = &rendered.objects[0];
    assert_eq!(web.name(), "dev-web-v2");
    assert_eq!(web.namespace(), Some("apps"));
    assert_eq!(web.label("team"), Some("blue"));
    assert_eq!(web.annotation("patched"), Some("yes"));
    let spec = web.0.get("spec").unwrap();
    assert_eq!(spec["replicas"], 3);
    assert_eq!(
        spec["template"]["spec"]["containers"][0]["image"],
        "registry.example.com/nginx:2.0"
    );
    assert_eq!(
        rendered.files_read,
        [
            "base/kustomization.yaml",
            "base/web.yaml",
            "overlay/kustomization.yaml"
        ]
    );
}

#[test]
fn generated_names_are_followed_by_references() {
    let (_d, t) = tree(&[
        (
            "kustomization.yaml",
            "resources: [web.yaml]\nnamePrefix: p-\nconfigMapGenerator:\n- name: cfg\n  literals: [a=b]\n",
        ),
        (
            "web.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        envFrom:\n        - configMapRef:\n            name: cfg\n",
        ),
    ]);
    let rendered = render(&t, "", &RenderOptions::default()).unwrap();
    let cm = &rendered.objects[0];
    assert!(
        cm.name().starts_with("p-cfg-") && cm.name().len() == "p-cfg-".len() + 10,
        "{}",
        cm.name()
    );
    let reference = &rendered.objects[1].0["spec"]["template"]["spec"]["containers"][0]["envFrom"]
        [0]["configMapRef"]["name"];
    assert_eq!(reference, cm.name());
}

#[test]
fn octal_modes_and_yaml_1_2_booleans() {
    let (_d, t) = tree(&[(
        "cm.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    enabled: yes\nspec:\n  volumes:\n  - name: v\n    configMap:\n      name: c\n      defaultMode: 0644\n",
    )]);
    let rendered = render(&t, "", &RenderOptions::default()).unwrap();
    let pod = &rendered.objects[0];
    assert_eq!(pod.0["spec"]["volumes"][0]["configMap"]["defaultMode"], 420);
    assert_eq!(pod.label("enabled"), Some("yes"));
}
