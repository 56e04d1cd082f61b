//! Which program is started as the Jsonnet evaluator (see [`super::child`]).
//!
//! It is set explicitly by whoever owns the process, never guessed: the
//! driftless binary sets itself first thing in `main` (it serves
//! `__jsonnet-eval` before anything else), and tests set the
//! `driftless-jsonnet` binary of this crate. Until it is set, a Jsonnet
//! evaluation is an error saying so.

use std::path::PathBuf;
use std::sync::RwLock;

use super::sandbox::SandboxError;

/// The evaluator program of this process, once set.
static EVALUATOR: RwLock<Option<PathBuf>> = RwLock::new(None);

/// Makes `program` the Jsonnet evaluator of this process (the last call
/// wins). It is started as `program __jsonnet-eval MEMORY_BYTES
/// CPU_SECONDS` with an empty environment, and must call
/// [`super::serve_if_child`] before anything else in its `main`, as the
/// driftless binary and this crate's `driftless-jsonnet` do.
pub fn set_evaluator(program: impl Into<PathBuf>) {
    let program = program.into();
    *EVALUATOR.write().unwrap_or_else(|p| p.into_inner()) = Some(program);
}

/// The evaluator program set with [`set_evaluator`].
pub(crate) fn evaluator() -> Result<PathBuf, SandboxError> {
    EVALUATOR
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .ok_or(SandboxError::NoEvaluator)
}
