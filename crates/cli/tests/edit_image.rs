//! `driftless edit set image` against the real `kustomize edit set image`
//! (v5.5.0, the version kubectl embeds, built from the Go module proxy by
//! `tests/cluster/build-kustomize.sh`): the same file, byte for byte. And
//! `driftless promote` between two overlays of a Git working copy.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The reference kustomize (built once, cached by version).
fn kustomize() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/cluster/build-kustomize.sh"
        );
        let out = Command::new(script)
            .output()
            .expect("running build-kustomize.sh");
        assert!(
            out.status.success(),
            "building kustomize: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

fn driftless(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_driftless"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("running driftless")
}

/// Runs both tools on copies of `file` (named `file_name`) and compares the results.
fn same_as_kustomize(case: &str, file_name: &str, file: &str, args: &[&str]) {
    let theirs = tempfile::tempdir().expect("temp dir");
    let ours = tempfile::tempdir().expect("temp dir");
    std::fs::write(theirs.path().join(file_name), file).expect("write");
    std::fs::write(ours.path().join(file_name), file).expect("write");
    let k = Command::new(kustomize())
        .args(["edit", "set", "image"])
        .args(args)
        .current_dir(theirs.path())
        .output()
        .expect("running kustomize");
    assert!(
        k.status.success(),
        "{case}: kustomize failed: {}",
        String::from_utf8_lossy(&k.stderr)
    );
    let mut ours_args = vec!["edit", "set", "image"];
    ours_args.extend(args);
    let d = driftless(&ours_args, ours.path());
    assert!(
        d.status.success(),
        "{case}: driftless failed: {}",
        String::from_utf8_lossy(&d.stderr)
    );
    let want = std::fs::read_to_string(theirs.path().join(file_name)).expect("read");
    let got = std::fs::read_to_string(ours.path().join(file_name)).expect("read");
    assert_eq!(
        got, want,
        "{case}: driftless differs from kustomize\n--- input\n{file}"
    );
    assert_ne!(got, file, "{case}: the case changes nothing");
}

const HEADER: &str = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n";

#[test]
fn tags_digests_renames_and_new_entries_match_kustomize() {
    let with_images = format!(
        "{HEADER}resources:\n- ../../base\nnamespace: prod\nimages:\n- name: api\n  newTag: \"2.0\"\n- name: web\n  newName: registry.example.com/web\n  newTag: 1.4.1\n"
    );
    let without_images =
        format!("{HEADER}resources:\n- deployment.yaml\n- service.yaml\nnamePrefix: prod-\n");
    let digest = "sha256:24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3";
    let tag_and_digest = format!("web:1.5.0@{digest}");
    let renamed_digest = format!("web=registry.example.com/web@{digest}");
    let cases: Vec<(&str, &str, String, Vec<&str>)> = vec![
        (
            "a tag of an existing entry",
            "kustomization.yaml",
            with_images.clone(),
            vec!["web:1.4.2"],
        ),
        (
            "a new entry in a file without images",
            "kustomization.yaml",
            without_images.clone(),
            vec!["nginx:1.27.3"],
        ),
        (
            "a digest",
            "kustomization.yaml",
            with_images.clone(),
            vec![&renamed_digest],
        ),
        (
            "a rename with a tag",
            "kustomization.yaml",
            with_images.clone(),
            vec!["api=ghcr.io/acme/api:2.1.0"],
        ),
        (
            "a tag and a digest",
            "kustomization.yaml",
            without_images.clone(),
            vec![&tag_and_digest],
        ),
        (
            "several, sorted by name",
            "kustomization.yaml",
            with_images.clone(),
            vec!["zeta:1", "alpha=mirror/alpha:3.2.1", "web:8"],
        ),
        (
            "* keeps the new name",
            "kustomization.yaml",
            with_images.clone(),
            vec!["web=*:1.9.0"],
        ),
        (
            "numbers and bools quoted",
            "kustomization.yaml",
            without_images.clone(),
            vec!["a:1.25", "b:20240101", "c:yes", "d:1e3"],
        ),
        (
            "a registry with a port",
            "kustomization.yaml",
            without_images.clone(),
            vec!["localhost:5000/team/app:v2"],
        ),
        (
            "a rename only",
            "kustomization.yml",
            with_images.clone(),
            vec!["mysql=mariadb"],
        ),
    ];
    for (case, file_name, file, args) in cases {
        same_as_kustomize(case, file_name, &file, &args);
    }
}

#[test]
fn comments_and_missing_type_meta_match_kustomize() {
    let commented = format!(
        "# Production overlay: owned by the platform team.\n{HEADER}\n# The shared base.\nresources:\n- ../../base\n# Pinned images; bumped by CI.\nimages:\n- name: web\n  newTag: 1.4.1\n# Replicas for prod.\nreplicas:\n- count: 3\n  name: web\n"
    );
    same_as_kustomize(
        "comments above fields",
        "kustomization.yaml",
        &commented,
        &["web:1.4.2"],
    );
    let inner = format!(
        "{HEADER}images:\n# the API\n- name: api\n  newTag: \"1\"\n# the web front\n- name: web\n  newTag: \"1\"\nresources:\n- a.yaml\n"
    );
    same_as_kustomize(
        "comments between entries",
        "kustomization.yaml",
        &inner,
        &["web:2"],
    );
    same_as_kustomize(
        "no apiVersion or kind",
        "kustomization.yaml",
        "resources:\n- a.yaml\n",
        &["web:2"],
    );
    same_as_kustomize(
        "a Component without apiVersion",
        "kustomization.yaml",
        "kind: Component\nimages:\n- name: web\n  newTag: \"1\"\n",
        &["web:2"],
    );
    same_as_kustomize(
        "flow-style images",
        "kustomization.yaml",
        &format!("{HEADER}images: [{{name: web, newTag: \"1\"}}]\nresources:\n- a.yaml\n"),
        &["web:2"],
    );
}

/// What kustomize would rewrite, driftless keeps: inline comments and key
/// order outside `images:`.
#[test]
fn the_rest_of_the_file_is_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = format!(
        "{HEADER}resources:\n  - ../../base   # the base\npatches:\n  - target: {{kind: Deployment}}\n    path: patch.yaml\nimages:\n  - name: web\n    newTag: \"1\"\n"
    );
    std::fs::write(dir.path().join("kustomization.yaml"), &file).expect("write");
    let out = driftless(&["edit", "set", "image", "web:2"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = std::fs::read_to_string(dir.path().join("kustomization.yaml")).expect("read");
    assert_eq!(
        got,
        format!(
            "{HEADER}resources:\n  - ../../base   # the base\npatches:\n  - target: {{kind: Deployment}}\n    path: patch.yaml\nimages:\n- name: web\n  newTag: \"2\"\n"
        )
    );
}

#[test]
fn bad_input_is_one_line_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kustomization.yaml");
    let broken = "resources:\n- a.yaml\nimages: [name: {\n";
    std::fs::write(&path, broken).expect("write");
    let out = driftless(&["edit", "set", "image", "web:2"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("kustomization.yaml") && stderr.contains("not a valid kustomization"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        broken,
        "the file is untouched"
    );

    std::fs::write(&path, "resources:\n- a.yaml\n").expect("write");
    let out = driftless(&["edit", "set", "image", "web"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("invalid format of image"),
        "{stderr}"
    );

    let empty = tempfile::tempdir().expect("temp dir");
    let out = driftless(&["edit", "set", "image", "web:2"], empty.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("no kustomization file"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn promote_copies_tags_and_commits() {
    let repo = tempfile::tempdir().expect("temp dir");
    let root = repo.path();
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["config", "user.email", "ci@example.com"]);
    git(root, &["config", "user.name", "CI"]);
    for (env, web, api) in [("staging", "1.4.2", "2.1.0"), ("prod", "1.4.1", "2.0.0")] {
        let dir = root.join("overlays").join(env);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(
            dir.join("kustomization.yaml"),
            format!("# {env}\n{HEADER}resources:\n- ../../base\nimages:\n- name: api\n  newTag: {api}\n- name: web\n  newName: registry.example.com/web\n  newTag: {web}\n"),
        )
        .expect("write");
    }
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "overlays"]);

    let missing = driftless(
        &[
            "promote",
            "--from",
            "overlays/staging",
            "--to",
            "overlays/prod",
            "--image",
            "db",
        ],
        root,
    );
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        !missing.status.success() && stderr.contains("no image named \"db\""),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let out = driftless(
        &[
            "promote",
            "--from",
            "overlays/staging",
            "--to",
            "overlays/prod",
            "--image",
            "web",
            "--commit",
        ],
        root,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("-  newTag: 1.4.1") && stdout.contains("+  newTag: 1.4.2"),
        "the diff: {stdout}"
    );
    let prod =
        std::fs::read_to_string(root.join("overlays/prod/kustomization.yaml")).expect("read");
    assert!(prod.starts_with("# prod\n"), "{prod}");
    assert!(
        prod.contains("newTag: 1.4.2") && prod.contains("newTag: 2.0.0"),
        "only web moved: {prod}"
    );
    let log = git(root, &["log", "-1", "--format=%s"]);
    assert_eq!(
        log.trim(),
        "promote web to registry.example.com/web:1.4.2 (overlays/staging -> overlays/prod)"
    );
    assert_eq!(
        git(root, &["status", "--porcelain"]),
        "",
        "everything committed"
    );
}

/// The `images:` field: its line and the entry lines under it.
fn images_field(text: &str) -> String {
    let mut lines = text.lines().skip_while(|l| !l.starts_with("images:"));
    let mut out: Vec<&str> = lines.next().into_iter().collect();
    out.extend(lines.take_while(|l| l.starts_with("- ") || l.starts_with("  ")));
    out.join("\n")
}

/// Seed 002's staging overlay (indented lists, comments, blank lines, a
/// generator): `images:` exactly as kustomize writes it; kustomize
/// re-indents and reorders the other fields, driftless leaves them alone.
#[test]
fn seed_overlay_images_as_kustomize_rest_untouched() {
    let seed = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\nnamespace: staging\n\nresources:\n  - ../../base\n  - ingress.yaml\n  - secrets.yaml\n\n# Staging uses base configuration mostly as-is\npatchesStrategicMerge:\n  - deployment-patch.yaml\n\n# Use staging-specific image tags\nimages:\n  - name: my-app\n    newTag: staging-latest\n\n# Staging-specific labels\ncommonLabels:\n  environment: staging\n  \n# Override some base configuration\nconfigMapGenerator:\n  - name: app-config\n    behavior: merge\n    literals:\n      - LOG_LEVEL=debug\n      - DEBUG_MODE=true\n";
    let theirs = tempfile::tempdir().expect("temp dir");
    let ours = tempfile::tempdir().expect("temp dir");
    for dir in [&theirs, &ours] {
        std::fs::write(dir.path().join("kustomization.yaml"), seed).expect("write");
    }
    let args = ["edit", "set", "image", "my-app:staging-0a1b2c3"];
    let k = Command::new(kustomize())
        .args(args)
        .current_dir(theirs.path())
        .output()
        .expect("kustomize");
    assert!(k.status.success(), "{}", String::from_utf8_lossy(&k.stderr));
    let d = driftless(&args, ours.path());
    assert!(d.status.success(), "{}", String::from_utf8_lossy(&d.stderr));
    let want = std::fs::read_to_string(theirs.path().join("kustomization.yaml")).expect("read");
    let got = std::fs::read_to_string(ours.path().join("kustomization.yaml")).expect("read");
    assert_eq!(images_field(&got), images_field(&want));
    assert_eq!(
        images_field(&got),
        "images:\n- name: my-app\n  newTag: staging-0a1b2c3"
    );
    assert_eq!(
        got.replace(&images_field(&got), ""),
        seed.replace(&images_field(seed).to_string(), ""),
        "everything else as it was"
    );
}
