//! Running an external tool (a configured kustomize command, the pinned
//! `helm`) with a time limit: stdin closed, stdout and stderr captured on
//! their own threads (so a chatty child never blocks), at most a given
//! number of bytes kept of each, and the child killed when time is up.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A child that exited by itself: its status and what it printed (each
/// stream cut after the `max_output` bytes asked for, plus one byte so the
/// caller can tell that it was cut).
#[derive(Debug)]
pub struct Finished {
    /// The exit status.
    pub status: ExitStatus,
    /// What it printed on stdout.
    pub stdout: Vec<u8>,
    /// What it printed on stderr.
    pub stderr: Vec<u8>,
}

/// Why a child did not finish by itself.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// It could not be started (no such program, not executable, ...).
    #[error("cannot start: {0}")]
    Start(std::io::Error),
    /// It ran past its time limit and was killed.
    #[error("timed out after {}s and was stopped", .0.as_secs_f64())]
    TimedOut(Duration),
    /// Waiting for it failed.
    #[error("waiting for it: {0}")]
    Wait(std::io::Error),
}

/// Runs `command` and waits at most `timeout` for it.
pub fn run_bounded(
    command: &mut Command,
    timeout: Duration,
    max_output: u64,
) -> Result<Finished, RunError> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(RunError::Start)?;
    let (closed, stdout_closed) = std::sync::mpsc::channel();
    let stdout = drain(child.stdout.take(), max_output, Some(closed));
    let stderr = drain(child.stderr.take(), max_output, None);
    let started = Instant::now();
    // Sleep until the child closes stdout (it exits, usually) or time is up,
    // instead of polling all along: a render is not slowed by a poll period.
    let _ = stdout_closed.recv_timeout(timeout);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::TimedOut(timeout));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => return Err(RunError::Wait(e)),
        }
    };
    Ok(Finished {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Reads `pipe` to its end on a thread, keeping at most `max + 1` bytes;
/// says so on `closed` when the end is reached.
fn drain(
    pipe: Option<impl Read + Send + 'static>,
    max: u64,
    closed: Option<std::sync::mpsc::Sender<()>>,
) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(pipe) = pipe {
            let mut limited = pipe.take(max.saturating_add(1));
            let _ = limited.read_to_end(&mut bytes);
            // Keep reading (and dropping) so the child is never blocked.
            let _ = std::io::copy(&mut limited.into_inner(), &mut std::io::sink());
        }
        drop(closed);
        bytes
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_captured_and_capped() {
        let done = run_bounded(
            Command::new("sh").args(["-c", "printf 0123456789; printf oops >&2; exit 3"]),
            Duration::from_secs(10),
            4,
        )
        .expect("sh runs");
        assert_eq!(done.status.code(), Some(3));
        assert_eq!(done.stdout, b"01234");
        assert_eq!(done.stderr, b"oops");
    }

    #[test]
    fn a_slow_child_is_stopped() {
        let err = run_bounded(
            Command::new("sleep").arg("30"),
            Duration::from_millis(200),
            1024,
        )
        .expect_err("stopped")
        .to_string();
        assert!(err.starts_with("timed out after 0.2s"), "{err}");
    }

    #[test]
    fn a_child_that_closes_stdout_early_is_still_waited_for() {
        let done = run_bounded(
            Command::new("sh").args(["-c", "printf early; exec >&-; sleep 0.3; exit 4"]),
            Duration::from_secs(10),
            1024,
        )
        .expect("sh runs");
        assert_eq!(done.status.code(), Some(4), "the real exit status");
        assert_eq!(done.stdout, b"early");
    }

    #[test]
    fn a_missing_program_says_so() {
        let err = run_bounded(
            &mut Command::new("/nonexistent/tool"),
            Duration::from_secs(1),
            1024,
        )
        .expect_err("cannot start");
        assert!(matches!(err, RunError::Start(_)), "{err}");
    }
}
