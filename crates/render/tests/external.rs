//! The external kustomize fallback, with the real `kubectl kustomize` as the
//! configured command and a real exec generator plugin (a shell script in
//! kustomize's plugin home): refused natively without the command, rendered
//! by it with one, Argo CD's overrides applied, failures and time limits
//! reported naming the command. Fails, never skips, when kubectl is missing.

use std::path::Path;
use std::time::Duration;

use driftless_render::{
    DiskTree, EntryKind, ExternalKustomize, FileTree, KustomizeOverrides, RenderError,
    RenderOptions, TreeError, render,
};

/// A tree that is not a directory on disk (as a Git commit is): the
/// external command then reads a copy of it.
struct NotOnDisk(DiskTree);

impl FileTree for NotOnDisk {
    fn entry(&self, path: &str) -> Result<Option<EntryKind>, TreeError> {
        self.0.entry(path)
    }
    fn read(&self, path: &str) -> Result<Vec<u8>, TreeError> {
        self.0.read(path)
    }
    fn list(&self, path: &str) -> Result<Vec<(String, EntryKind)>, TreeError> {
        self.0.list(path)
    }
}

/// A repository whose overlay uses a generator plugin, and a plugin home
/// holding that plugin. Returns (repository root, plugin home).
fn fixture(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let repo = dir.join("repo");
    let home = dir.join("home");
    let plugin = home.join("kustomize/plugin/example.com/v1/greeter");
    std::fs::create_dir_all(&plugin).unwrap();
    std::fs::create_dir_all(repo.join("base")).unwrap();
    std::fs::create_dir_all(repo.join("app")).unwrap();
    let script = plugin.join("Greeter");
    std::fs::write(
        &script,
        "#!/bin/sh\n# kustomize passes the plugin's config file as $1.\n\
         name=$(sed -n 's/^  name: //p' \"$1\" | head -1)\n\
         printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: %s\\ndata:\\n  greeting: hello\\n' \"$name\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        repo.join("base/kustomization.yaml"),
        "resources:\n- deployment.yaml\n",
    )
    .unwrap();
    std::fs::write(
        repo.join("base/deployment.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n",
    )
    .unwrap();
    std::fs::write(
        repo.join("app/kustomization.yaml"),
        "resources:\n- ../base\ngenerators:\n- greeter.yaml\nnamePrefix: dev-\n",
    )
    .unwrap();
    std::fs::write(
        repo.join("app/greeter.yaml"),
        "apiVersion: example.com/v1\nkind: Greeter\nmetadata:\n  name: greet\n",
    )
    .unwrap();
    (repo, home)
}

/// `kubectl kustomize --enable-alpha-plugins`, finding plugins in `home`.
fn kubectl_with_plugins(home: &Path) -> ExternalKustomize {
    // The plugin home comes from the environment; `env` sets it for the
    // command alone, so tests running in parallel do not see it.
    ExternalKustomize::parse(&format!(
        "env XDG_CONFIG_HOME={} kubectl kustomize --enable-alpha-plugins",
        home.display()
    ))
    .unwrap()
}

/// Options rendering refused paths with `external`.
fn with_external(external: ExternalKustomize) -> RenderOptions {
    RenderOptions {
        external_kustomize: Some(external),
        ..RenderOptions::default()
    }
}

fn names(objects: &[driftless_render::Object]) -> Vec<String> {
    objects
        .iter()
        .map(|o| format!("{}/{}", o.kind(), o.name()))
        .collect()
}

#[test]
fn plugins_are_refused_natively_and_rendered_by_the_configured_command() {
    assert!(
        std::process::Command::new("kubectl")
            .arg("version")
            .arg("--client")
            .output()
            .is_ok_and(|o| o.status.success()),
        "kubectl is required for this test"
    );
    let dir = tempfile::tempdir().unwrap();
    let (repo, home) = fixture(dir.path());
    let tree = NotOnDisk(DiskTree::new(&repo).unwrap());

    let refused = render(&tree, "app", &RenderOptions::default()).unwrap_err();
    assert!(
        matches!(refused, RenderError::Unsupported { ref field, .. } if field == "generators[0]"),
        "{refused}"
    );

    let options = with_external(kubectl_with_plugins(&home));
    let rendered = render(&tree, "app", &options).unwrap();
    assert_eq!(
        names(&rendered.objects),
        ["ConfigMap/dev-greet", "Deployment/dev-web"],
        "kustomize's order"
    );
    assert_eq!(
        rendered.objects[0].0["data"]["greeting"], "hello",
        "the plugin's output"
    );
    // Every file of the tree counts as read: the command may read any.
    assert!(
        rendered
            .files_read
            .contains(&"base/deployment.yaml".to_string())
    );
    assert!(
        rendered
            .files_read
            .contains(&"app/greeter.yaml".to_string())
    );

    // A directory on disk is read in place, with the same result.
    let in_place = render(&DiskTree::new(&repo).unwrap(), "app", &options).unwrap();
    assert_eq!(in_place.objects, rendered.objects);
}

#[test]
fn overrides_are_written_into_the_kustomization_for_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, home) = fixture(dir.path());
    let tree = DiskTree::new(&repo).unwrap();
    let options = RenderOptions {
        external_kustomize: Some(kubectl_with_plugins(&home)),
        kustomize: Some(KustomizeOverrides {
            name_suffix: Some("-v2".into()),
            images: vec!["nginx:1.27".into()],
            common_labels: vec![("team".to_string(), "a".to_string())],
            ..KustomizeOverrides::default()
        }),
        ..RenderOptions::default()
    };
    let rendered = render(&tree, "app", &options).unwrap();
    assert_eq!(
        names(&rendered.objects),
        ["ConfigMap/dev-greet-v2", "Deployment/dev-web-v2"]
    );
    let deployment = &rendered.objects[1].0;
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27"
    );
    assert_eq!(deployment["metadata"]["labels"]["team"], "a");
    // The repository itself is untouched.
    let original = std::fs::read_to_string(repo.join("app/kustomization.yaml")).unwrap();
    assert!(!original.contains("v2"), "{original}");
}

#[test]
fn a_failing_command_is_reported_with_its_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, _home) = fixture(dir.path());
    let tree = DiskTree::new(&repo).unwrap();
    // No plugin home: kubectl cannot find the plugin.
    let options = with_external(
        ExternalKustomize::parse("kubectl kustomize --enable-alpha-plugins").unwrap(),
    );
    let err = render(&tree, "app", &options).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, RenderError::External { .. }), "{text}");
    assert!(
        text.contains("kubectl kustomize --enable-alpha-plugins"),
        "{text}"
    );
    assert!(
        text.contains("Greeter") || text.contains("plugin"),
        "{text}"
    );
}

#[test]
fn a_command_over_its_time_limit_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, _home) = fixture(dir.path());
    let tree = DiskTree::new(&repo).unwrap();
    // `sh -c 'sleep 600' slow-kustomize DIR`: a command that never
    // finishes in time; the error comes only once it was killed and reaped.
    let slow = ExternalKustomize {
        program: "sh".into(),
        args: vec!["-c".into(), "sleep 600".into(), "slow-kustomize".into()],
        timeout: Duration::from_millis(300),
    };
    let options = with_external(slow);
    let err = render(&tree, "app", &options).unwrap_err().to_string();
    assert!(
        err.contains("timed out after 0.3s and was stopped"),
        "{err}"
    );
}

#[test]
fn supported_paths_never_run_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, _home) = fixture(dir.path());
    let tree = DiskTree::new(&repo).unwrap();
    // A command that would fail if it ran.
    let options = with_external(ExternalKustomize::parse("false").unwrap());
    let rendered = render(&tree, "base", &options).unwrap();
    assert_eq!(names(&rendered.objects), ["Deployment/web"]);
    assert_eq!(
        rendered.files_read,
        ["base/deployment.yaml", "base/kustomization.yaml"]
    );
}
