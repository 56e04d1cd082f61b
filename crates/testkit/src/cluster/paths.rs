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

/// Removes `test-<pid>-<n>` state directories whose owning test process no
/// longer exists (left behind when a test process was killed). Directories
/// of live processes are never touched.
pub fn remove_stale_state_dirs() {
    let Ok(entries) = std::fs::read_dir(state_root()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("test-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
