//! The controller's side of a Jsonnet evaluation in a child process (see
//! [`super::child`]): starts the evaluator (the program set with
//! [`super::set_evaluator`]), answers its file requests from
//! the tree, and kills it at the deadline, so that a runaway evaluation
//! (endless recursion, a huge allocation) ends with an error naming the
//! file and the limit instead of a controller thread burning a core.

use std::io::{BufReader, Read};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::JsonnetLimits;
use super::child::SUBCOMMAND;
use super::wire::{self, Answer, Ask, Job};
use crate::tree::FileTree;

/// The longest message the controller accepts from the evaluator (the
/// evaluated document is one message).
const MAX_MESSAGE: u64 = 256 << 20;

/// The most of the evaluator's stderr kept for a message.
const MAX_STDERR: u64 = 16 << 10;

/// How an evaluation in the child ended, when it did not produce JSON.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SandboxError {
    /// The Jsonnet itself failed (the message names the file and line).
    #[error("{0}")]
    Evaluation(String),
    /// The deadline passed; the child was killed.
    #[error("evaluation did not finish within the time limit of {0} s (stopped)")]
    Timeout(u64),
    /// The child ran out of its address space.
    #[error("evaluation exceeded the memory limit of {0} MiB (stopped)")]
    Memory(u64),
    /// The evaluator could not be started or talked to.
    #[error("jsonnet evaluator process: {0}")]
    Process(String),
    /// No evaluator program was set for this process.
    #[error(
        "no Jsonnet evaluator program is set for this process \
         (driftless_render::jsonnet::set_evaluator; the driftless binary sets itself)"
    )]
    NoEvaluator,
}

/// Evaluates `job` in a child process within `limits`: the JSON text.
pub(crate) fn evaluate(
    tree: &dyn FileTree,
    job: &Job,
    limits: &JsonnetLimits,
) -> Result<String, SandboxError> {
    let process = |e: std::io::Error| SandboxError::Process(e.to_string());
    let program = super::program::evaluator()?;
    let mut child = Command::new(&program)
        .arg(SUBCOMMAND)
        .arg(limits.memory_bytes.to_string())
        .arg((limits.timeout.as_secs() + 1).to_string())
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| SandboxError::Process(format!("{}: {e}", program.display())))?;
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(SandboxError::Process("no pipes to the evaluator".into()));
    };
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.take(MAX_STDERR).read_to_string(&mut text);
        text
    });
    let child = Arc::new(Mutex::new(child));
    let (finished, watchdog) = watch(Arc::clone(&child), limits);
    let outcome = converse(tree, job, stdin, stdout);
    drop(finished);
    let timed_out = watchdog.join().unwrap_or(true);
    let status = {
        let mut child = child.lock().unwrap_or_else(|p| p.into_inner());
        if outcome.is_err() {
            let _ = child.kill();
        }
        child.wait().map_err(process)?
    };
    let stderr = stderr.join().unwrap_or_default();
    judge(outcome, timed_out, status, &stderr, limits)
}

/// A thread that kills `child` when `limits.timeout` passes before the
/// returned sender is dropped; it answers whether it killed.
fn watch(child: Arc<Mutex<Child>>, limits: &JsonnetLimits) -> (mpsc::Sender<()>, JoinHandle<bool>) {
    let (finished, wait) = mpsc::channel::<()>();
    let timeout = limits.timeout;
    let watchdog = std::thread::spawn(move || match wait.recv_timeout(timeout) {
        Err(RecvTimeoutError::Timeout) => {
            let mut child = child.lock().unwrap_or_else(|p| p.into_inner());
            let _ = child.kill();
            true
        }
        _ => false,
    });
    (finished, watchdog)
}

/// Sends the job and answers the child's requests until it is done:
/// `Ok(its result)`, or `Err` when the pipe broke (the child died).
fn converse(
    tree: &dyn FileTree,
    job: &Job,
    mut stdin: ChildStdin,
    stdout: ChildStdout,
) -> Result<Result<String, String>, std::io::Error> {
    let mut stdout = BufReader::new(stdout);
    wire::send(&mut stdin, job)?;
    loop {
        let ask: Ask = wire::receive(&mut stdout, MAX_MESSAGE)?
            .ok_or_else(|| std::io::Error::other("the evaluator exited"))?;
        let answer = match ask {
            Ask::Entry(path) => Answer::entry(tree.entry(&path)),
            Ask::Read(path) => Answer::read(tree.read(&path)),
            Ask::Done(result) => return Ok(result),
        };
        wire::send(&mut stdin, &answer)?;
    }
}

/// What the evaluation came to, from how the conversation and the process ended.
fn judge(
    outcome: Result<Result<String, String>, std::io::Error>,
    timed_out: bool,
    status: ExitStatus,
    stderr: &str,
    limits: &JsonnetLimits,
) -> Result<String, SandboxError> {
    use std::os::unix::process::ExitStatusExt;
    if timed_out || status.signal() == Some(libc::SIGXCPU) {
        return Err(SandboxError::Timeout(limits.timeout.as_secs()));
    }
    match outcome {
        Ok(Ok(json)) => Ok(json),
        Ok(Err(message)) => Err(SandboxError::Evaluation(message)),
        Err(_) if stderr.contains("memory allocation of") => {
            Err(SandboxError::Memory(limits.memory_bytes >> 20))
        }
        Err(broken) => {
            let said = stderr.trim().lines().last().unwrap_or("nothing on stderr");
            Err(SandboxError::Process(format!(
                "{broken}; it ended with {status}: {said}"
            )))
        }
    }
}
