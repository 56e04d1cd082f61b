//! `--help` has an example on every command; shell completions; the
//! kubectl plugin name (`kubectl driftless ...` through a `kubectl-driftless`
//! link, found by the real kubectl on PATH).

use std::process::Command;

fn driftless(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_driftless"))
        .args(args)
        .output()
        .expect("running driftless");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The subcommands listed by `driftless --help`.
fn subcommands() -> Vec<String> {
    let (_, help, _) = driftless(&["--help"]);
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect()
}

#[test]
fn every_command_has_an_example() {
    let commands = subcommands();
    assert!(commands.len() >= 18, "{commands:?}");
    for c in &commands {
        let (ok, help, err) = driftless(&[c, "--help"]);
        assert!(ok, "{c} --help: {err}");
        assert!(
            help.contains("Example"),
            "{c} --help has no example:\n{help}"
        );
    }
    let (_, help, _) = driftless(&["edit", "set", "image", "--help"]);
    assert!(
        help.contains("Examples:") && help.contains("driftless edit set image"),
        "{help}"
    );
}

#[test]
fn completions_for_three_shells() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef driftless"),
        ("fish", "complete -c driftless"),
    ] {
        let (ok, script, err) = driftless(&["completion", shell]);
        assert!(ok, "{shell}: {err}");
        assert!(script.contains(marker), "{shell}: {marker:?} missing");
        assert!(script.contains("rollback"), "{shell}: subcommands listed");
    }
}

#[test]
fn kubectl_finds_the_plugin() {
    let dir = tempfile::tempdir().expect("temp dir");
    let link = dir.path().join("kubectl-driftless");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_driftless"), &link).expect("symlink");
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("kubectl")
        .args(["driftless", "get", "--help"])
        .env("PATH", path)
        .output()
        .expect("running kubectl");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Usage: kubectl driftless get"), "{stdout}");
}
