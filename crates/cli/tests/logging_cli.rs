//! Log output of the built binary: on stderr (stdout stays the rendered
//! YAML), plain text without colours when stderr is not a terminal, JSON
//! lines with `--log-format json` or `DRIFTLESS_LOG_FORMAT=json`.

use std::path::Path;
use std::process::{Command, Output};

/// A kustomization whose var is never used: the renderer logs a warning.
fn overlay_with_an_unused_var(dir: &Path) {
    std::fs::write(
        dir.join("config.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n",
    )
    .expect("writing the manifest");
    std::fs::write(
        dir.join("kustomization.yaml"),
        "resources: [config.yaml]\nvars:\n- name: UNUSED_VAR\n  objref: {apiVersion: v1, kind: ConfigMap, name: settings}\n  fieldref: {fieldpath: metadata.name}\n",
    )
    .expect("writing the kustomization");
}

fn render(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_driftless"));
    command.args(args).arg("render").arg(dir);
    command
        .env_remove("DRIFTLESS_LOG_FORMAT")
        .env_remove("RUST_LOG");
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().expect("running driftless render");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn warning_line(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.contains("UNUSED_VAR"))
        .unwrap_or_else(|| panic!("no warning naming the var on stderr: {stderr}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("UNUSED_VAR"),
        "a log line on stdout: {stdout}"
    );
    assert!(stdout.starts_with("apiVersion: v1"), "{stdout}");
    line.to_string()
}

#[test]
fn text_logs_have_no_colours_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().expect("temporary directory");
    overlay_with_an_unused_var(dir.path());
    let line = warning_line(&render(dir.path(), &[], &[]));
    assert!(line.contains("WARN"), "{line}");
    assert!(!line.contains('\u{1b}'), "ANSI escape in {line:?}");
    assert!(!line.starts_with('{'), "{line}");
}

#[test]
fn json_logs_by_flag_and_by_environment() {
    let dir = tempfile::tempdir().expect("temporary directory");
    overlay_with_an_unused_var(dir.path());
    let by_flag = render(dir.path(), &["--log-format", "json"], &[]);
    let by_env = render(dir.path(), &[], &[("DRIFTLESS_LOG_FORMAT", "json")]);
    for out in [by_flag, by_env] {
        let line = warning_line(&out);
        assert!(line.starts_with('{') && line.ends_with('}'), "{line}");
        assert!(line.contains(r#""level":"WARN""#), "{line}");
        assert!(line.contains(r#""vars":"UNUSED_VAR""#), "{line}");
    }
}
