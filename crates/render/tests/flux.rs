//! Conformance of Flux's build (`RenderOptions::flux`) with the oracle: each
//! case renders a tree the Flux way, and runs `kubectl kustomize
//! --load-restrictor LoadRestrictionsNone` on a copy of the tree where the
//! path's kustomization.yaml is written by hand as Flux's generator would
//! write it. Both outputs must be the same documents in the same order.
//! Fails, never skips, when kubectl is missing.

use std::path::Path;
use std::process::Command;

use driftless_render::flux::{FluxImage, FluxJson6902Patch, FluxOptions, FluxPatch};
use driftless_render::{DiskTree, PatchTarget, RenderOptions, SourceType, render, to_yaml, yaml};
use serde_json::{Value, json};

fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().expect("a parent")).expect("mkdir");
        std::fs::write(full, text).expect("write");
    }
}

fn options(flux: FluxOptions) -> RenderOptions {
    RenderOptions {
        flux: Some(flux),
        ..RenderOptions::default()
    }
}

/// Our Flux build of `path` in a tree of `files`.
fn ours(files: &[(&str, &str)], path: &str, flux: &FluxOptions) -> (Vec<Value>, SourceType) {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), files);
    let tree = DiskTree::new(dir.path()).expect("tree");
    let rendered = render(&tree, path, &options(flux.clone()))
        .unwrap_or_else(|e| panic!("Flux build of {path:?} failed: {e}"));
    let text = to_yaml(&rendered.objects).expect("yaml");
    let docs = yaml::parse_documents(&text, "ours").expect("parses");
    (docs, rendered.source_type)
}

/// `kubectl kustomize` of `path` in a tree of `files` where
/// `path/kustomization.yaml` is `kustomization`.
fn oracle(files: &[(&str, &str)], path: &str, kustomization: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), files);
    let target = dir.path().join(path);
    for name in ["kustomization.yml", "Kustomization"] {
        let _ = std::fs::remove_file(target.join(name));
    }
    std::fs::write(target.join("kustomization.yaml"), kustomization).expect("write");
    let out = Command::new("kubectl")
        .args(["kustomize", "--load-restrictor", "LoadRestrictionsNone"])
        .arg(&target)
        .output()
        .unwrap_or_else(|e| panic!("kubectl is required for this test and could not run: {e}"));
    assert!(
        out.status.success(),
        "kubectl kustomize failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    yaml::parse_documents(&text, "kubectl output").expect("kubectl output parses")
}

fn assert_same(ours: &[Value], theirs: &[Value]) {
    assert!(
        ours == theirs,
        "output differs\n--- ours\n{}\n--- kubectl\n{}",
        serde_json::to_string_pretty(ours).unwrap_or_default(),
        serde_json::to_string_pretty(theirs).unwrap_or_default()
    );
}

fn names(docs: &[Value]) -> Vec<String> {
    docs.iter()
        .map(|d| {
            format!(
                "{}/{}",
                d["kind"].as_str().unwrap_or(""),
                d["metadata"]["name"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn cm(name: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: v\n")
}

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels:\n    app: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.0\n      - name: cache\n        image: redis:7\n";
const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: web\n  ports:\n  - port: 80\n";

/// A directory without a kustomization file: what Flux includes.
fn plain_tree() -> Vec<(&'static str, String)> {
    vec![
        ("app/a.yaml", format!("{}---\n{}", cm("a1"), cm("a2"))),
        ("app/b.yml", cm("b")),
        ("app/.hidden.yaml", cm("hidden")),
        ("app/.hiddendir/h.yaml", cm("in-hidden-dir")),
        ("app/README.md", "# not a manifest\n".into()),
        (
            "app/json.json",
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"json"}}"#.into(),
        ),
        ("app/upper.YAML", cm("upper")),
        ("app/sub/c.yaml", cm("c")),
        ("app/sub/deeper/d.yaml", cm("d")),
        (
            "app/withk/kustomization.yaml",
            "resources: [e.yaml]\nnamePrefix: k-\n".into(),
        ),
        ("app/withk/e.yaml", cm("e")),
        ("app/withk/notlisted.yaml", cm("notlisted")),
        ("app/withk/nested/x.yaml", cm("under-kustomization")),
        ("app/deployment.yaml", DEPLOYMENT.into()),
        ("app/service.yaml", SERVICE.into()),
    ]
}

fn refs<'a>(files: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    files.iter().map(|(p, t)| (*p, t.as_str())).collect()
}

/// What Flux's generator writes for `plain_tree()`'s `app` (walk order).
const PLAIN_GENERATED: &str = "resources:
- ./.hidden.yaml
- ./.hiddendir/h.yaml
- ./a.yaml
- ./b.yml
- ./deployment.yaml
- ./service.yaml
- ./sub/c.yaml
- ./sub/deeper/d.yaml
- ./withk
";

#[test]
fn a_plain_directory_is_every_yaml_file_and_each_kustomization_directory() {
    let files = plain_tree();
    let files = refs(&files);
    let (mine, source_type) = ours(&files, "app", &FluxOptions::default());
    assert_eq!(source_type, SourceType::Directory);
    assert_same(&mine, &oracle(&files, "app", PLAIN_GENERATED));
    let names = names(&mine);
    for present in [
        "ConfigMap/hidden",
        "ConfigMap/in-hidden-dir",
        "ConfigMap/d",
        "ConfigMap/k-e",
    ] {
        assert!(
            names.contains(&present.to_string()),
            "{present} missing: {names:?}"
        );
    }
    for absent in ["json", "upper", "notlisted", "under-kustomization"] {
        assert!(
            !names.iter().any(|n| n.ends_with(&format!("/{absent}"))),
            "{absent} rendered: {names:?}"
        );
    }
}

#[test]
fn the_overlay_fields_are_written_into_the_generated_kustomization() {
    let files = plain_tree();
    let files = refs(&files);
    let flux = FluxOptions {
        target_namespace: Some("staging".into()),
        name_prefix: Some("p-".into()),
        name_suffix: Some("-s".into()),
        patches: vec![
            FluxPatch {
                patch: "- op: replace\n  path: /spec/replicas\n  value: 3\n".into(),
                target: Some(PatchTarget {
                    kind: Some("Deployment".into()),
                    label_selector: Some("app=web".into()),
                    ..PatchTarget::default()
                }),
            },
            FluxPatch {
                patch: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: not-used\ndata:\n  patched: \"yes\"\n".into(),
                target: Some(PatchTarget {
                    kind: Some("ConfigMap".into()),
                    name: Some("a.*".into()),
                    ..PatchTarget::default()
                }),
            },
        ],
        images: vec![
            FluxImage {
                name: "nginx".into(),
                new_name: Some("registry.example.com/nginx".into()),
                new_tag: Some("1.27".into()),
                ..FluxImage::default()
            },
            FluxImage {
                name: "redis".into(),
                digest: Some("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".into()),
                ..FluxImage::default()
            },
        ],
        ..FluxOptions::default()
    };
    let (mine, _) = ours(&files, "app", &flux);
    let hand_written = format!(
        "{PLAIN_GENERATED}namespace: staging
namePrefix: p-
nameSuffix: -s
patches:
- patch: |
    - op: replace
      path: /spec/replicas
      value: 3
  target:
    kind: Deployment
    labelSelector: app=web
- patch: |
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: not-used
    data:
      patched: \"yes\"
  target:
    kind: ConfigMap
    name: a.*
images:
- name: nginx
  newName: registry.example.com/nginx
  newTag: \"1.27\"
- name: redis
  digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
"
    );
    assert_same(&mine, &oracle(&files, "app", &hand_written));
    let web = mine
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("the Deployment");
    assert_eq!(web["metadata"]["name"], "p-web-s");
    assert_eq!(web["metadata"]["namespace"], "staging");
    assert_eq!(web["spec"]["replicas"], 3);
}

/// A path with its own kustomization file: Flux edits that file.
fn overlay_tree() -> Vec<(&'static str, String)> {
    vec![
        (
            "base/kustomization.yaml",
            "resources: [deployment.yaml, service.yaml]\n".into(),
        ),
        ("base/deployment.yaml", DEPLOYMENT.into()),
        ("base/service.yaml", SERVICE.into()),
        (
            "overlays/prod/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: production
namePrefix: prod-
resources:
- ../../base
images:
- name: nginx
  newName: mirror.example.com/nginx
  digest: sha256:1111111111111111111111111111111111111111111111111111111111111111
patches:
- path: replicas.yaml
"
            .into(),
        ),
        (
            "overlays/prod/replicas.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 5\n".into(),
        ),
        (
            "components/monitoring/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [monitor.yaml]\n".into(),
        ),
        ("components/monitoring/monitor.yaml", cm("monitor")),
    ]
}

#[test]
fn an_existing_kustomization_is_edited_as_flux_edits_it() {
    let files = overlay_tree();
    let files = refs(&files);
    let flux = FluxOptions {
        // Replaces the file's namespace and prefix (not appended to them).
        target_namespace: Some("prod-eu".into()),
        name_prefix: Some("eu-".into()),
        patches: vec![FluxPatch {
            patch: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 7\n".into(),
            target: None,
        }],
        // Merged into the file's entry: the name stays, tag and digest change together.
        images: vec![FluxImage {
            name: "nginx".into(),
            new_tag: Some("1.28".into()),
            ..FluxImage::default()
        }],
        components: vec!["../../components/monitoring".into()],
        ..FluxOptions::default()
    };
    let (mine, source_type) = ours(&files, "overlays/prod", &flux);
    assert_eq!(source_type, SourceType::Kustomize);
    let hand_written = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: prod-eu
namePrefix: eu-
resources:
- ../../base
components:
- ../../components/monitoring
images:
- name: nginx
  newName: mirror.example.com/nginx
  newTag: \"1.28\"
patches:
- path: replicas.yaml
- patch: |
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      replicas: 7
";
    assert_same(&mine, &oracle(&files, "overlays/prod", hand_written));
    let web = mine
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("web");
    assert_eq!(web["metadata"]["name"], "eu-web");
    assert_eq!(
        web["spec"]["replicas"], 7,
        "Flux's patch comes after the file's"
    );
    assert_eq!(
        web["spec"]["template"]["spec"]["containers"][0]["image"],
        "mirror.example.com/nginx:1.28"
    );
    assert!(names(&mine).contains(&"ConfigMap/eu-monitor".to_string()));
}

#[test]
fn v1beta2_deprecated_patches_keep_kustomizes_order() {
    let files = overlay_tree();
    let files = refs(&files);
    // patchesStrategicMerge runs before patches, patchesJson6902 after the
    // namespace and prefix: the same field patched three ways shows the order.
    let flux = FluxOptions {
        patches: vec![FluxPatch {
            patch: "- op: replace\n  path: /spec/replicas\n  value: 2\n".into(),
            target: Some(PatchTarget {
                kind: Some("Deployment".into()),
                name: Some("web".into()),
                ..PatchTarget::default()
            }),
        }],
        patches_strategic_merge: vec![json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {"replicas": 9, "template": {"metadata": {"annotations": {"smp": "yes"}}}}
        })],
        patches_json6902: vec![FluxJson6902Patch {
            target: PatchTarget {
                group: Some("apps".into()),
                version: Some("v1".into()),
                kind: Some("Deployment".into()),
                name: Some("web".into()),
                ..PatchTarget::default()
            },
            operations: vec![
                json!({"op": "add", "path": "/metadata/labels/json6902", "value": "yes"}),
            ],
        }],
        ..FluxOptions::default()
    };
    let (mine, _) = ours(&files, "overlays/prod", &flux);
    let hand_written = r#"apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: production
namePrefix: prod-
resources:
- ../../base
images:
- name: nginx
  newName: mirror.example.com/nginx
  digest: sha256:1111111111111111111111111111111111111111111111111111111111111111
patches:
- path: replicas.yaml
- patch: |
    - op: replace
      path: /spec/replicas
      value: 2
  target:
    kind: Deployment
    name: web
patchesStrategicMerge:
- '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":9,"template":{"metadata":{"annotations":{"smp":"yes"}}}}}'
patchesJson6902:
- target: {group: apps, version: v1, kind: Deployment, name: web}
  patch: '[{"op":"add","path":"/metadata/labels/json6902","value":"yes"}]'
"#;
    assert_same(&mine, &oracle(&files, "overlays/prod", hand_written));
    let web = mine
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("web");
    assert_eq!(web["spec"]["replicas"], 2);
    assert_eq!(web["metadata"]["labels"]["json6902"], "yes");
    assert_eq!(
        web["spec"]["template"]["metadata"]["annotations"]["smp"],
        "yes"
    );
}

#[test]
fn an_empty_directory_builds_to_nothing() {
    let files = [
        ("empty/README.md", "nothing here\n"),
        (
            "other/a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
        ),
    ];
    let flux = FluxOptions {
        target_namespace: Some("ns".into()),
        ..FluxOptions::default()
    };
    let (mine, _) = ours(&files, "empty", &flux);
    assert!(mine.is_empty(), "{mine:?}");
    assert_same(&mine, &oracle(&files, "empty", "namespace: ns\n"));
}

#[test]
fn a_kustomization_without_resources_gets_origin_annotations() {
    let files = [(
        "gen/kustomization.yaml",
        "configMapGenerator:\n- name: settings\n  literals: [a=b]\n",
    )];
    let (mine, _) = ours(&files, "gen", &FluxOptions::default());
    let hand_written = "configMapGenerator:\n- name: settings\n  literals: [a=b]\nbuildMetadata: [originAnnotations]\n";
    assert_same(&mine, &oracle(&files, "gen", hand_written));
    assert!(
        mine[0]["metadata"]["annotations"]["config.kubernetes.io/origin"].is_string(),
        "{mine:?}"
    );
}

#[test]
fn missing_components_are_an_error_unless_ignored() {
    let files = overlay_tree();
    let files = refs(&files);
    let tree_dir = tempfile::tempdir().expect("tempdir");
    write(tree_dir.path(), &files);
    let tree = DiskTree::new(tree_dir.path()).expect("tree");
    let mut flux = FluxOptions {
        components: vec![
            "../../components/absent".into(),
            "../../components/monitoring".into(),
        ],
        ..FluxOptions::default()
    };
    let err = render(&tree, "overlays/prod", &options(flux.clone()))
        .expect_err("a missing component fails the build")
        .to_string();
    assert!(err.contains("components/absent"), "{err}");
    flux.ignore_missing_components = true;
    let rendered = render(&tree, "overlays/prod", &options(flux)).expect("builds");
    let names: Vec<_> = rendered
        .objects
        .iter()
        .map(|o| o.name().to_string())
        .collect();
    assert!(names.contains(&"prod-monitor".to_string()), "{names:?}");
}

#[test]
fn bad_input_names_the_file_or_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        &[
            (
                "app/good.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n",
            ),
            ("app/sub/broken.yaml", "apiVersion: v1\nkind: [unclosed\n"),
            (
                "file.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: f\n",
            ),
        ],
    );
    let tree = DiskTree::new(dir.path()).expect("tree");
    let err = render(&tree, "app", &options(FluxOptions::default()))
        .expect_err("broken YAML fails")
        .to_string();
    assert!(err.contains("app/sub/broken.yaml"), "{err}");

    let remote = FluxOptions {
        components: vec!["https://github.com/org/repo//c".into()],
        ..FluxOptions::default()
    };
    std::fs::remove_file(dir.path().join("app/sub/broken.yaml")).expect("rm");
    let err = render(&tree, "app", &options(remote))
        .expect_err("remote")
        .to_string();
    assert!(
        err.contains("components[0]") && err.contains("local and relative"),
        "{err}"
    );

    let err = render(&tree, "missing", &options(FluxOptions::default()))
        .expect_err("no such path")
        .to_string();
    assert!(
        err.contains("missing") && err.contains("not found"),
        "{err}"
    );
    let err = render(&tree, "file.yaml", &options(FluxOptions::default()))
        .expect_err("a file")
        .to_string();
    assert!(err.contains("file.yaml") && err.contains("a file"), "{err}");

    let bad_patch = FluxOptions {
        patches: vec![FluxPatch {
            patch: "- op: replace\n  path: /data/k\n  value: x\n".into(),
            target: None,
        }],
        ..FluxOptions::default()
    };
    let err = render(&tree, "app", &options(bad_patch))
        .expect_err("untargeted JSON 6902")
        .to_string();
    assert!(
        err.contains("patches[0]") && err.contains("target"),
        "{err}"
    );
}

#[test]
fn symlinks_out_of_the_tree_are_reported_not_followed() {
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(outside.path().join("secret.yaml"), cm("outside")).expect("write");
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), &[("app/a.yaml", &cm("inside"))]);
    std::os::unix::fs::symlink(
        outside.path().join("secret.yaml"),
        dir.path().join("app/leak.yaml"),
    )
    .expect("symlink");
    let tree = DiskTree::new(dir.path()).expect("tree");
    let rendered = render(&tree, "app", &options(FluxOptions::default())).expect("builds");
    let names: Vec<_> = rendered
        .objects
        .iter()
        .map(|o| o.name().to_string())
        .collect();
    assert_eq!(names, ["inside"]);
    assert_eq!(rendered.warnings.len(), 1, "{:?}", rendered.warnings);
    let warning = rendered.warnings[0].to_string();
    assert!(
        warning.contains("app/leak.yaml") && warning.contains("outside the repository"),
        "{warning}"
    );
}

#[test]
fn common_labels_match_kustomize_labels_without_selectors() {
    // kustomize's `labels` with includeSelectors and includeTemplates off
    // touch metadata.labels only: what Flux's commonMetadata.labels does.
    let files = overlay_tree();
    let files = refs(&files);
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), &files);
    let tree = DiskTree::new(dir.path()).expect("tree");
    let mut rendered = render(&tree, "overlays/prod", &options(FluxOptions::default()))
        .expect("builds")
        .objects;
    let labels = std::collections::BTreeMap::from([
        ("team".to_string(), "payments".to_string()),
        ("app".to_string(), "overridden".to_string()),
    ]);
    driftless_render::flux::set_common_metadata(&mut rendered, &labels, &Default::default());
    let text = to_yaml(&rendered).expect("yaml");
    let mine = yaml::parse_documents(&text, "ours").expect("parses");
    let hand_written = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: production
namePrefix: prod-
resources:
- ../../base
images:
- name: nginx
  newName: mirror.example.com/nginx
  digest: sha256:1111111111111111111111111111111111111111111111111111111111111111
patches:
- path: replicas.yaml
labels:
- pairs:
    team: payments
    app: overridden
  includeSelectors: false
  includeTemplates: false
";
    assert_same(&mine, &oracle(&files, "overlays/prod", hand_written));
    let web = mine
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("web");
    assert_eq!(web["metadata"]["labels"]["app"], "overridden");
    assert_eq!(web["spec"]["selector"]["matchLabels"]["app"], "web");
    assert_eq!(web["spec"]["template"]["metadata"]["labels"]["app"], "web");
}

#[test]
fn files_outside_a_kustomization_directory_may_be_read() {
    // Flux builds with LoadRestrictionsNone: a kustomization may name files
    // above its own directory (never outside the tree).
    let files = [
        (
            "app/plain.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n",
        ),
        (
            "app/nested/kustomization.yaml",
            "resources: [../../shared/shared.yaml]\n",
        ),
        (
            "shared/shared.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n",
        ),
    ];
    let (mine, _) = ours(&files, "app", &FluxOptions::default());
    assert_same(
        &mine,
        &oracle(&files, "app", "resources: [./nested, ./plain.yaml]\n"),
    );
    assert!(
        names(&mine).contains(&"ConfigMap/shared".to_string()),
        "{mine:?}"
    );
}
