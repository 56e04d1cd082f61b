//! The error type of the control-plane helpers.

use std::fmt;
use std::path::PathBuf;

/// What went wrong while starting, using or stopping a local control plane.
#[derive(Debug)]
pub enum ClusterError {
    /// A helper command (a script, `kubectl`) could not be run or failed.
    Command {
        /// The command line, for the message.
        command: String,
        /// Why it failed: the spawn error, or the exit status and stderr.
        reason: String,
    },
    /// The control plane did not become ready.
    Start {
        /// Its state directory (logs are in `<state>/logs`).
        state_dir: PathBuf,
        /// Why: the supervisor's last output, or a timeout.
        reason: String,
    },
    /// A file of the control plane could not be read or written.
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Command { command, reason } => write!(f, "`{command}` failed: {reason}"),
            Self::Start { state_dir, reason } => write!(
                f,
                "the local control plane in {} did not start: {reason}",
                state_dir.display()
            ),
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for ClusterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
