//! Runs `tests/cluster/run.sh` (the foreground control-plane supervisor) as
//! a child of this process that dies with it.
//!
//! Linux delivers the parent-death signal when the *thread* that forked the
//! child exits, and `#[tokio::test]` threads are short-lived; so the child is
//! spawned from a dedicated thread that lives exactly as long as the child.
//! run.sh in turn gives every component a parent-death signal, so SIGKILL of
//! the test process still leaves nothing behind. A normal exit stops the
//! control plane gracefully through an `atexit` hook.

use std::fs::{self, File};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, Once};
use std::time::{Duration, Instant};

use super::error::ClusterError;
use super::paths;

/// How long run.sh may take from launch to `ready` (binaries already built).
const READY_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a graceful stop may take before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Set once the supervisor process has exited (and been reaped).
#[derive(Default)]
struct ExitFlag {
    exited: Mutex<bool>,
    changed: Condvar,
}

impl ExitFlag {
    fn set(&self) {
        *lock(&self.exited) = true;
        self.changed.notify_all();
    }

    fn is_set(&self) -> bool {
        *lock(&self.exited)
    }

    /// Waits up to `timeout`; true if the process has exited.
    fn wait(&self, timeout: Duration) -> bool {
        let guard = lock(&self.exited);
        let (guard, _) = self
            .changed
            .wait_timeout_while(guard, timeout, |exited| !*exited)
            .unwrap_or_else(|e| e.into_inner());
        *guard
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running run.sh supervisor and its state directory.
pub struct Supervisor {
    pid: u32,
    state_dir: PathBuf,
    exit: Arc<ExitFlag>,
}

/// Supervisors still running, stopped by the `atexit` hook.
static RUNNING: Mutex<Vec<Arc<Supervisor>>> = Mutex::new(Vec::new());
static ATEXIT: Once = Once::new();

extern "C" fn stop_running_at_exit() {
    let running: Vec<_> = lock(&RUNNING).drain(..).collect();
    for supervisor in running {
        supervisor.stop();
    }
}

impl Supervisor {
    /// Builds the binaries if needed (build-binaries.sh), starts run.sh in
    /// a fresh state directory and waits until the control plane is ready.
    pub fn start() -> Result<Arc<Supervisor>, ClusterError> {
        Self::start_with(&[])
    }

    /// [`Supervisor::start`] with more environment for run.sh (e.g.
    /// `DRIFTLESS_RESTART_AFTER`).
    pub fn start_with(env: &[(&str, String)]) -> Result<Arc<Supervisor>, ClusterError> {
        let bin = build_binaries()?;
        paths::remove_stale_state_dirs();
        let state_dir = paths::unique_state_dir();
        fs::create_dir_all(&state_dir).map_err(|source| ClusterError::Io {
            path: state_dir.clone(),
            source,
        })?;
        let supervisor = Arc::new(spawn(&state_dir, &bin, env)?);
        ATEXIT.call_once(|| {
            // SAFETY: registering a plain extern "C" fn; it only touches
            // statics that outlive main.
            unsafe { libc::atexit(stop_running_at_exit) };
        });
        lock(&RUNNING).push(supervisor.clone());
        if let Err(e) = supervisor.wait_ready() {
            // Keep the logs to look at; a later start removes the directory.
            supervisor.stop_and_keep_state(true);
            return Err(e);
        }
        Ok(supervisor)
    }

    /// The state directory (kubeconfig, pids, logs).
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    fn wait_ready(&self) -> Result<(), ClusterError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let ready = self.state_dir.join("ready");
        loop {
            if ready.exists() {
                return Ok(());
            }
            if self.exit.is_set() {
                return Err(self.start_error("run.sh exited before the control plane was ready"));
            }
            if Instant::now() > deadline {
                return Err(self.start_error(&format!("not ready after {READY_TIMEOUT:?}")));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn start_error(&self, what: &str) -> ClusterError {
        let log = fs::read_to_string(self.state_dir.join("supervisor.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        ClusterError::Start {
            state_dir: self.state_dir.clone(),
            reason: format!("{what}; supervisor output:\n{}", tail.join("\n")),
        }
    }

    /// Stops the control plane (SIGTERM, then SIGKILL after a grace period),
    /// waits for the supervisor to exit and removes the state directory
    /// (kept when `DRIFTLESS_KEEP_STATE` is set). Idempotent.
    pub fn stop(&self) {
        self.stop_and_keep_state(std::env::var_os("DRIFTLESS_KEEP_STATE").is_some());
    }

    fn stop_and_keep_state(&self, keep_state: bool) {
        if !self.exit.is_set() {
            signal(self.pid, libc::SIGTERM);
            if !self.exit.wait(STOP_TIMEOUT) {
                signal(self.pid, libc::SIGKILL);
                self.exit.wait(Duration::from_secs(5));
            }
        }
        lock(&RUNNING).retain(|s| s.pid != self.pid);
        if !keep_state {
            let _ = fs::remove_dir_all(&self.state_dir);
        }
    }
}

fn signal(pid: u32, sig: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) with a pid we spawned and have not reaped yet.
        unsafe { libc::kill(pid, sig) };
    }
}

/// Runs build-binaries.sh (a no-op when the binaries are cached) and returns
/// the directory it prints; `$DRIFTLESS_BIN` overrides it.
fn build_binaries() -> Result<PathBuf, ClusterError> {
    if let Some(bin) = std::env::var_os("DRIFTLESS_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let script = paths::scripts_dir().join("build-binaries.sh");
    let command = script.display().to_string();
    let output = Command::new("bash")
        .arg(&script)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| ClusterError::Command {
            command: command.clone(),
            reason: e.to_string(),
        })?;
    if !output.status.success() {
        return Err(ClusterError::Command {
            command,
            reason: format!("{} (its output is above)", output.status),
        });
    }
    Ok(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim(),
    ))
}

/// Spawns run.sh from a dedicated thread that reaps it.
fn spawn(state_dir: &Path, bin: &Path, env: &[(&str, String)]) -> Result<Supervisor, ClusterError> {
    let log_path = state_dir.join("supervisor.log");
    let log = File::create(&log_path).map_err(|source| ClusterError::Io {
        path: log_path.clone(),
        source,
    })?;
    let log_err = log.try_clone().map_err(|source| ClusterError::Io {
        path: log_path,
        source,
    })?;
    let script = paths::scripts_dir().join("run.sh");
    let mut command = Command::new("bash");
    command
        .arg(&script)
        .arg(state_dir)
        .env("DRIFTLESS_BIN", bin)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    let parent = std::process::id();
    // SAFETY: only async-signal-safe calls (prctl, getppid) between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() as u32 != parent {
                return Err(std::io::Error::other("parent exited during spawn"));
            }
            Ok(())
        });
    }

    let exit = Arc::new(ExitFlag::default());
    let (tx, rx) = std::sync::mpsc::channel();
    let thread_exit = exit.clone();
    let spawned = std::thread::Builder::new()
        .name("driftless-control-plane".into())
        .spawn(move || match command.spawn() {
            Ok(mut child) => {
                let _ = tx.send(Ok(child.id()));
                let _ = child.wait();
                thread_exit.set();
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        });
    let command_line = format!("bash {} {}", script.display(), state_dir.display());
    if let Err(e) = spawned {
        return Err(ClusterError::Command {
            command: command_line,
            reason: format!("cannot start its thread: {e}"),
        });
    }
    let pid = rx
        .recv()
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
        .map_err(|reason| ClusterError::Command {
            command: command_line,
            reason,
        })?;
    Ok(Supervisor {
        pid,
        state_dir: state_dir.to_path_buf(),
        exit,
    })
}
