//! Where the control-plane scripts and state directories live.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// `tests/cluster/` of this checkout (ctl.sh, run.sh, build-binaries.sh).
pub fn scripts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/cluster")
}

/// The root of all state directories: `$DRIFTLESS_STATE`, or
/// `~/.cache/driftless/run` (outside the checkout).
pub fn state_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("DRIFTLESS_STATE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
    PathBuf::from(home).join(".cache/driftless/run")
}

/// A state directory no other control plane uses: `test-<pid>-<n>`.
pub fn unique_state_dir() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    state_root().join(format!("test-{}-{n}", std::process::id()))
}
