//! Helm test support on 127.0.0.1: the pinned `helm` and registry binaries
//! ([`binaries`], built by `tests/cluster/build-helm.sh`), charts made from
//! fixture directories ([`package`]) or described in place ([`ChartSpec`]),
//! a chart repository served over HTTP with optional basic auth
//! ([`ChartRepo::serve`]) and an OCI registry process with optional
//! htpasswd auth ([`OciRegistry::publish`]).

mod charts;
mod registry;
mod repo;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

pub use charts::{ChartSpec, package, push, write_chart, write_raw_archive};
pub use registry::{OciRegistry, REGISTRY_PASSWORD, REGISTRY_USER};
pub use repo::ChartRepo;

/// The pinned binaries.
#[derive(Clone, Debug)]
pub struct Binaries {
    /// `helm`.
    pub helm: PathBuf,
    /// The distribution `registry`.
    pub registry: PathBuf,
}

/// The pinned helm and registry: `$DRIFTLESS_HELM` and
/// `$DRIFTLESS_REGISTRY` when both are set, else what
/// `tests/cluster/build-helm.sh` prints (it builds them once, then only
/// finds them in the cache).
///
/// Panics when they cannot be built: a Helm test cannot go on without them.
pub fn binaries() -> Binaries {
    static BINARIES: OnceLock<Binaries> = OnceLock::new();
    BINARIES.get_or_init(find_binaries).clone()
}

fn find_binaries() -> Binaries {
    if let (Some(helm), Some(registry)) = (
        std::env::var_os("DRIFTLESS_HELM"),
        std::env::var_os("DRIFTLESS_REGISTRY"),
    ) {
        return Binaries {
            helm: helm.into(),
            registry: registry.into(),
        };
    }
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/cluster/build-helm.sh");
    let out = Command::new(&script)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let find = |name: &str| -> PathBuf {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("export {name}=")))
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("{} printed no {name}: {text}", script.display()))
    };
    Binaries {
        helm: find("DRIFTLESS_HELM"),
        registry: find("DRIFTLESS_REGISTRY"),
    }
}

/// Runs `helm ARGS` with a private home below `home` (test helpers only);
/// panics with helm's stderr when it fails. Returns stdout.
pub fn run_helm(home: &std::path::Path, args: &[&std::ffi::OsStr]) -> String {
    let helm = binaries().helm;
    let out = Command::new(&helm)
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env("HELM_NO_PLUGINS", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", helm.display()));
    assert!(
        out.status.success(),
        "helm {:?} failed: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
