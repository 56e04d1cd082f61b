//! Jsonnet evaluated in-process compared with the reference: go-jsonnet's
//! `jsonnet` command (what Argo CD's repo-server links), pinned and built
//! once into the cache by `tests/cluster/build-jsonnet.sh`, run with the
//! same external variables, top-level arguments and search paths Argo CD
//! gives it (`-J APP_DIR -J LIB...`).
//!
//! One known difference is left out of the cases: a non-integer number
//! turned into a string (`std.toString(1 / 3)`, `'%s' % x`) is printed with
//! the shortest exact digits (`0.3333333333333333`) where go-jsonnet prints
//! 17 significant digits (`0.33333333333333331`); numbers as JSON values
//! are equal.

use std::path::{Path, PathBuf};
use std::process::Command;

use driftless_render::jsonnet::{self, JsonnetOptions, JsonnetVar};
use driftless_render::{DiskTree, RenderError};
use serde_json::Value;

/// [`jsonnet::evaluate`] with this crate's `driftless-jsonnet` as the
/// evaluator program.
fn evaluate(
    tree: &DiskTree,
    file: &str,
    app_dir: &str,
    options: &JsonnetOptions,
) -> Result<Value, RenderError> {
    jsonnet::set_evaluator(env!("CARGO_BIN_EXE_driftless-jsonnet"));
    jsonnet::evaluate(tree, file, app_dir, options)
}

/// The reference `jsonnet`: `$DRIFTLESS_JSONNET`, else what the build script prints.
fn reference() -> PathBuf {
    if let Some(path) = std::env::var_os("DRIFTLESS_JSONNET") {
        return path.into();
    }
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/cluster/build-jsonnet.sh");
    let out = Command::new(&script)
        .output()
        .expect("run build-jsonnet.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("export DRIFTLESS_JSONNET="))
        .map(PathBuf::from)
        .expect("the script prints DRIFTLESS_JSONNET")
}

fn var(name: &str, value: &str, code: bool) -> JsonnetVar {
    JsonnetVar {
        name: name.into(),
        value: value.into(),
        code,
    }
}

/// go-jsonnet on `root/file` with Argo CD's flags for `app_dir` and `options`.
fn go_jsonnet(root: &Path, file: &str, app_dir: &str, options: &JsonnetOptions) -> Value {
    let mut command = Command::new(reference());
    command.current_dir(root).arg("-J").arg(root.join(app_dir));
    for lib in &options.libs {
        command.arg("-J").arg(root.join(lib));
    }
    for (flag, vars) in [("ext", &options.ext_vars), ("tla", &options.tlas)] {
        for v in vars {
            let kind = if v.code { "code" } else { "str" };
            command
                .arg(format!("--{flag}-{kind}"))
                .arg(format!("{}={}", v.name, v.value));
        }
    }
    let out = command.arg(root.join(file)).output().expect("jsonnet");
    assert!(
        out.status.success(),
        "jsonnet {file}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

const LIB: &str = r#"
{
  deployment(name, replicas, image):: {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: name, labels: { app: name } },
    spec: {
      replicas: replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: name, image: image, ports: [{ containerPort: 8080 }] }] },
      },
    },
  },
}
"#;

const MAIN: &str = r#"
local k = import 'k.libsonnet';
local settings = import 'settings.json';
function(replicas=1, tier='web') [
  k.deployment(std.extVar('app'), replicas, settings.image + ':' + std.extVar('tag')),
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: std.extVar('app') + '-config', annotations: { hidden:: 'no' } },
    data: {
      tier: tier,
      yaml: std.manifestYamlDoc({ b: [1, 2.5, 'x'], a: { nested: true } }),
      json: std.manifestJsonEx({ z: 1, a: [] }, '  '),
      ini: std.manifestIni({ sections: { s: { k: 'v' } } }),
      formatted: std.format('%s-%05d-%.3f-%x', ['a', 42, 3.14159, 255]),
      sorted: std.join(',', std.sort(std.objectFields(settings.limits))),
      encoded: std.base64('driftless'),
      decoded: std.base64Decode('ZHJpZnRsZXNz'),
      chars: std.toString(std.map(std.codepoint, std.stringChars('é☃'))),
      md5: std.md5('driftless'),
      numbers: std.toString([1e3, 0.1 + 0.2, -7, 0.25, std.pow(2, 53)]),
      third: 1 / 3,
      limits: std.toString(settings.limits),
      unicode: 'naïve ☃ \u00e9',
      escaped: 'line\nbreak\t"quoted"',
      config: importstr 'files/config.txt',
      flags: std.toString(std.extVar('flags')),
      count: std.toString(std.length(std.range(1, 10))),
      parsed: std.toString(std.parseJson('{"x": [1, {"y": null}]}')),
    },
  },
]
"#;

#[test]
fn evaluation_matches_go_jsonnet_with_ext_vars_tlas_and_libs() {
    let dir = repo(&[
        ("apps/web/main.jsonnet", MAIN),
        (
            "apps/web/settings.json",
            r#"{"image": "nginx", "limits": {"mem": "1Gi", "cpu": 2}}"#,
        ),
        ("apps/web/files/config.txt", "key=value\nother=1\n"),
        ("vendor/k.libsonnet", LIB),
    ]);
    let options = JsonnetOptions {
        ext_vars: vec![
            var("app", "shop", false),
            var("tag", "1.27", false),
            var("flags", "{ debug: true, level: 1 + 2 }", true),
        ],
        tlas: vec![var("replicas", "3", true), var("tier", "frontend", false)],
        libs: vec!["vendor".into()],
    };
    let tree = DiskTree::new(dir.path()).unwrap();
    let ours = evaluate(&tree, "apps/web/main.jsonnet", "apps/web", &options).unwrap();
    let reference = go_jsonnet(dir.path(), "apps/web/main.jsonnet", "apps/web", &options);
    assert_eq!(ours, reference);
    assert_eq!(ours[0]["spec"]["replicas"], 3, "the TLA reached the file");
    assert_eq!(ours[1]["data"]["tier"], "frontend");
}

#[test]
fn a_plain_object_and_defaults_match_go_jsonnet() {
    let dir = repo(&[(
        "app/one.jsonnet",
        "local n = 10; { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns-' + n, \
         labels: { [k]: std.asciiUpper(k) for k in ['a', 'b'] } }, \
         list: [x * x for x in std.range(0, 5) if x % 2 == 0], big: 12345678901, neg: -0.5 }",
    )]);
    let options = JsonnetOptions::default();
    let tree = DiskTree::new(dir.path()).unwrap();
    let ours = evaluate(&tree, "app/one.jsonnet", "app", &options).unwrap();
    assert_eq!(
        ours,
        go_jsonnet(dir.path(), "app/one.jsonnet", "app", &options)
    );
}

#[test]
fn imports_leaving_the_repository_are_errors_naming_the_file() {
    let dir = repo(&[
        ("app/escape.jsonnet", "import '../../etc/passwd'"),
        ("app/absolute.jsonnet", "importstr '/etc/passwd'"),
        ("app/missing.jsonnet", "import 'nope.libsonnet'"),
        ("app/broken.jsonnet", "{ a: }"),
        ("app/fails.jsonnet", "error 'the input is wrong'"),
    ]);
    let tree = DiskTree::new(dir.path()).unwrap();
    let options = JsonnetOptions::default();
    let error = |file: &str| {
        evaluate(&tree, file, "app", &options)
            .unwrap_err()
            .to_string()
    };
    let escape = error("app/escape.jsonnet");
    assert!(escape.contains("app/escape.jsonnet"), "{escape}");
    assert!(escape.contains("../../etc/passwd"), "{escape}");
    assert!(escape.contains("outside the repository"), "{escape}");
    let absolute = error("app/absolute.jsonnet");
    assert!(absolute.contains("/etc/passwd"), "{absolute}");
    assert!(
        !absolute.contains("root:"),
        "nothing of the file is read: {absolute}"
    );
    let missing = error("app/missing.jsonnet");
    assert!(missing.contains("nope.libsonnet"), "{missing}");
    assert!(error("app/broken.jsonnet").contains("app/broken.jsonnet"));
    let fails = error("app/fails.jsonnet");
    assert!(fails.contains("the input is wrong"), "{fails}");
    assert!(fails.contains("app/fails.jsonnet:1"), "{fails}");
}

/// A plain directory of `dir`'s files rendered through the public entry,
/// with this crate's `driftless-jsonnet` as the evaluator program.
fn render_plain(
    tree: &DiskTree,
    dir: &str,
    exclude: Option<&str>,
) -> Result<driftless_render::Rendered, RenderError> {
    jsonnet::set_evaluator(env!("CARGO_BIN_EXE_driftless-jsonnet"));
    let options = driftless_render::RenderOptions {
        directory: Some(driftless_render::DirectoryOptions {
            exclude: exclude.map(str::to_string),
            ..Default::default()
        }),
        ..Default::default()
    };
    driftless_render::render(tree, dir, &options)
}

#[test]
fn jsonnet_files_of_a_directory_are_evaluated_in_walk_order_beside_manifests() {
    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n";
    let dir = repo(&[
        ("app/a.yaml", CM),
        (
            "app/b.jsonnet",
            "local lib = import 'lib.libsonnet';\n[lib.cm('b1'), lib.cm('b2')]",
        ),
        (
            "app/lib.libsonnet",
            "{ cm(n):: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: n } } }",
        ),
        (
            "app/c.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
        ),
        ("escape/x.jsonnet", "import '../../outside.jsonnet'"),
    ]);
    let tree = DiskTree::new(dir.path()).unwrap();
    let rendered = render_plain(&tree, "app", None).unwrap();
    let names: Vec<&str> = rendered.objects.iter().map(|o| o.name()).collect();
    assert_eq!(names, ["cm", "b1", "b2", "c"]);
    assert!(rendered.warnings.is_empty());
    let err = render_plain(&tree, "escape", None).unwrap_err().to_string();
    assert!(err.contains("escape/x.jsonnet"), "{err}");
    assert!(err.contains("outside the repository"), "{err}");
    let excluded = render_plain(&tree, "escape", Some("*.jsonnet")).unwrap();
    assert!(
        excluded.objects.is_empty(),
        "excluded files are not evaluated"
    );
}
