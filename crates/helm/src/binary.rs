//! The pinned `helm` program and how one command of it runs: in a
//! [`Sandbox`] with the environment cleared, stdin closed, a time limit and
//! bounded output.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use driftless_render::process::{Finished, RunError, run_bounded};

use crate::sandbox::Sandbox;

/// How long one `helm` command may run unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(90);

/// At most this many bytes of output are read from one command.
const MAX_OUTPUT_BYTES: u64 = 256 * 1024 * 1024;

/// The `helm` binary driftless runs, and its time limit per command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Helm {
    program: PathBuf,
    timeout: Duration,
}

impl Helm {
    /// The program at `program` (a path, or a name looked up on `PATH`),
    /// with [`DEFAULT_TIMEOUT`].
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The same program with another time limit per command.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The time limit per command (and per download).
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The program path.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Runs `helm ARGS` in `cwd` inside `sandbox`; its stdout on success,
    /// else a message with its exit status and stderr, with every secret in
    /// `redact` replaced by `***`.
    pub(crate) fn run(
        &self,
        sandbox: &Sandbox,
        cwd: &Path,
        args: &[OsString],
        redact: &[&str],
    ) -> Result<Vec<u8>, String> {
        let mut command = Command::new(&self.program);
        command
            .args(args)
            .current_dir(cwd)
            .env_clear()
            .envs(sandbox.env());
        let Finished {
            status,
            stdout,
            stderr,
        } = run_bounded(&mut command, self.timeout, MAX_OUTPUT_BYTES).map_err(|e| match e {
            RunError::Start(why) => format!("cannot start {}: {why}", self.program.display()),
            other => other.to_string(),
        })?;
        if !status.success() {
            return Err(failure_message(status, &stdout, &stderr, redact));
        }
        if stdout.len() as u64 > MAX_OUTPUT_BYTES {
            return Err(format!("printed more than {} MiB", MAX_OUTPUT_BYTES >> 20));
        }
        Ok(stdout)
    }
}

/// The exit status and what helm printed: stderr, and stdout too (helm
/// reports why a repository could not be read there), each cut at 2000
/// characters, secrets redacted.
fn failure_message(
    status: std::process::ExitStatus,
    stdout: &[u8],
    stderr: &[u8],
    redact: &[&str],
) -> String {
    let shown = |bytes: &[u8]| -> String {
        let text = redacted(&String::from_utf8_lossy(bytes), redact);
        text.trim().chars().take(2000).collect()
    };
    let (err, out) = (shown(stderr), shown(stdout));
    let mut message = status.to_string();
    for part in [err, out] {
        if !part.is_empty() {
            message.push_str(": ");
            message.push_str(&part);
        }
    }
    message
}

/// `text` with every non-empty secret replaced by `***`.
pub(crate) fn redacted(text: &str, secrets: &[&str]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text.to_string(), |text, secret| text.replace(secret, "***"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_removed_from_messages() {
        let text = "GET https://ann:s3cret@repo/index.yaml: 401 (s3cret)";
        assert_eq!(
            redacted(text, &["s3cret", ""]),
            "GET https://ann:***@repo/index.yaml: 401 (***)"
        );
    }

    #[test]
    fn the_environment_is_not_inherited_and_time_is_limited() {
        let parent = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::new(parent.path()).unwrap();
        // `/bin/sh` stands in for helm: it prints what it inherited.
        let sh = Helm::new("/bin/sh");
        let out = sh
            .run(&sandbox, parent.path(), &["-c".into(), "env".into()], &[])
            .unwrap();
        let env = String::from_utf8(out).unwrap();
        let names: Vec<&str> = env.lines().filter_map(|l| l.split('=').next()).collect();
        assert!(names.contains(&"HELM_CONFIG_HOME"), "{env}");
        assert!(
            !names.contains(&"CARGO"),
            "inherited the test's environment: {env}"
        );
        assert!(!names.contains(&"PATH") || env.contains("PATH=/"), "{env}");

        let slow = Helm::new("/bin/sh").with_timeout(Duration::from_millis(200));
        let error = slow
            .run(
                &sandbox,
                parent.path(),
                &["-c".into(), "sleep 30".into()],
                &[],
            )
            .unwrap_err();
        assert!(error.contains("timed out"), "{error}");

        let failing = sh
            .run(
                &sandbox,
                parent.path(),
                &["-c".into(), "echo 'bad password s3cret' >&2; exit 3".into()],
                &["s3cret"],
            )
            .unwrap_err();
        assert!(failing.contains("bad password ***"), "{failing}");
        assert!(!failing.contains("s3cret"), "{failing}");
    }
}
