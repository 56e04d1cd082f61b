//! The Jsonnet evaluator program for test binaries that render in-process
//! (a test binary cannot serve as the evaluator itself): driftless-render's
//! `driftless-jsonnet`, built by cargo once per test process in the profile
//! the test was built with, so it is never older than the code under test.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The evaluator's binary target (in the `driftless-render` package).
const BIN: &str = "driftless-jsonnet";

/// The path of an up-to-date `driftless-jsonnet` (building it the first
/// time it is asked for in this process); panics naming cargo's error when
/// it cannot be built.
pub fn jsonnet_evaluator() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(build)
}

fn build() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut command = Command::new(cargo);
    command.current_dir(&workspace).args([
        "build",
        "--quiet",
        "--message-format=json",
        "--package",
        "driftless-render",
        "--bin",
        BIN,
    ]);
    if let Some(profile) = profile() {
        command.args(["--profile", &profile]);
    }
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("running cargo to build {BIN}: {e}"));
    assert!(
        out.status.success(),
        "cargo build --bin {BIN}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    executable(&String::from_utf8_lossy(&out.stdout))
        .unwrap_or_else(|| panic!("cargo build --bin {BIN} named no executable"))
}

/// The cargo profile this test binary was built with, from its path
/// (`<target>/<profile dir>/deps/<test>`); `None` for the default (`debug`).
fn profile() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?.file_name()?.to_str()?;
    (dir != "debug").then(|| dir.to_string())
}

/// The executable of [`BIN`] in cargo's JSON messages.
fn executable(messages: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == BIN)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_executable_is_read_from_cargo_messages() {
        let messages = concat!(
            r#"{"reason":"compiler-artifact","target":{"name":"serde"},"executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"name":"driftless-jsonnet"},"#,
            r#""executable":"/t/debug/driftless-jsonnet"}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
        );
        assert_eq!(
            executable(messages),
            Some(PathBuf::from("/t/debug/driftless-jsonnet"))
        );
        assert_eq!(executable(r#"{"reason":"build-finished"}"#), None);
    }
}
