//! `driftless render` as a user runs it: the built binary on real files.

use std::path::Path;
use std::process::{Command, Output};

fn render(path: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_driftless"))
        .arg("render")
        .arg(path)
        .output()
        .expect("running driftless render")
}

fn write_config_map(dir: &Path) -> std::path::PathBuf {
    let file = dir.join("config.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n",
    )
    .expect("writing the manifest");
    file
}

#[test]
fn a_file_is_refused_with_its_directory_suggested() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = write_config_map(dir.path());
    let out = render(&file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "rendering a file succeeded: {stderr}"
    );
    assert!(
        stderr.contains(&format!("{} is a file, not a directory", file.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("try `driftless render {}`", dir.path().display())),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "printed output for a refused path");
}

#[test]
fn the_suggested_directory_renders() {
    let dir = tempfile::tempdir().expect("temporary directory");
    write_config_map(dir.path());
    let out = render(dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("kind: ConfigMap"), "{stdout}");
    assert!(stdout.contains("name: settings"), "{stdout}");
}

#[test]
fn a_chart_without_helm_and_a_jsonnet_file_that_is_no_object_fail_naming_them() {
    let chart = tempfile::tempdir().expect("temporary directory");
    std::fs::write(
        chart.path().join("Chart.yaml"),
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    )
    .expect("writing Chart.yaml");
    let jsonnet = tempfile::tempdir().expect("temporary directory");
    std::fs::write(jsonnet.path().join("a.jsonnet"), "{}\n").expect("writing a.jsonnet");
    let no_helm = tempfile::tempdir().expect("temporary directory");
    for (dir, wanted) in [
        (
            chart.path(),
            "is a Helm chart (it holds Chart.yaml) and no helm was found",
        ),
        (jsonnet.path(), "a.jsonnet: a document has no kind"),
    ] {
        // No helm anywhere: PATH holds only an empty directory.
        let out = Command::new(env!("CARGO_BIN_EXE_driftless"))
            .arg("render")
            .arg(dir)
            .env("PATH", no_helm.path())
            .env_remove("DRIFTLESS_HELM")
            .output()
            .expect("running driftless render");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{} rendered: {stderr}",
            dir.display()
        );
        assert!(stderr.contains(wanted), "{stderr}");
        assert!(
            out.stdout.is_empty(),
            "printed output for {}",
            dir.display()
        );
    }
}

#[test]
fn jsonnet_files_render_to_objects() {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(
        dir.path().join("cm.jsonnet"),
        "local name = 'from-' + 'jsonnet';\n{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: name }, data: { n: std.toString(6 * 7) } }\n",
    )
    .expect("writing cm.jsonnet");
    let out = render(dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("name: from-jsonnet"), "{stdout}");
    assert!(stdout.contains(": \"42\""), "{stdout}");
}
