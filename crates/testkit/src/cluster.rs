//! A real local control plane (kube-apiserver, etcd, controller-manager,
//! scheduler, kwok with fake Nodes) on 127.0.0.1, for tests.
//!
//! [`ControlPlane::shared`] gives every test in a test binary the same
//! cluster: the one named by `DRIFTLESS_TEST_KUBECONFIG` if set (CI starts one
//! with `tests/cluster/ctl.sh up` for all test binaries), otherwise one
//! started on first use and stopped when the process exits. Tests isolate
//! themselves with [`ControlPlane::namespace`].
//!
//! Nothing here holds a `kube::Client` or any other runtime-bound resource:
//! each `#[tokio::test]` has its own runtime, so [`ControlPlane::client`]
//! builds a fresh client each call.

mod error;
mod paths;
mod supervisor;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

pub use error::ClusterError;
use supervisor::Supervisor;

/// The environment variable naming an existing cluster's kubeconfig that
/// [`ControlPlane::shared`] uses instead of starting one.
pub const KUBECONFIG_ENV: &str = "DRIFTLESS_TEST_KUBECONFIG";

/// The label every namespace made by [`ControlPlane::namespace`] carries.
pub const TEST_NAMESPACE_LABEL: &str = "driftless.dev/test-namespace";

/// A Kubernetes control plane reachable through an admin kubeconfig: either
/// started (and owned) by this process, or an existing one.
pub struct ControlPlane {
    kubeconfig: PathBuf,
    supervisor: Option<Arc<Supervisor>>,
}

static SHARED: OnceLock<Result<ControlPlane, String>> = OnceLock::new();

impl ControlPlane {
    /// The control plane for this test process: the cluster named by
    /// `DRIFTLESS_TEST_KUBECONFIG` if set, otherwise one started on first use
    /// and stopped when the process exits.
    ///
    /// Panics with the reason (and the supervisor's output) when it cannot
    /// start; it never skips.
    pub async fn shared() -> &'static ControlPlane {
        let shared = tokio::task::spawn_blocking(|| {
            SHARED.get_or_init(|| match std::env::var_os(KUBECONFIG_ENV) {
                Some(path) => Self::existing(PathBuf::from(&path))
                    .map_err(|e| format!("{KUBECONFIG_ENV}={}: {e}", path.to_string_lossy())),
                None => Self::start().map_err(|e| e.to_string()),
            })
        })
        .await
        .unwrap_or_else(|e| panic!("starting the shared control plane panicked: {e}"));
        match shared {
            Ok(control_plane) => control_plane,
            Err(e) => panic!("no control plane for the tests: {e}"),
        }
    }

    /// Starts a private control plane in a fresh state directory under
    /// `$DRIFTLESS_STATE` (default `~/.cache/driftless/run`), building the
    /// binaries first if they are not cached. Blocks until it is ready
    /// (about 5 s with cached binaries). It stops on [`ControlPlane::stop`],
    /// on drop, or when the process exits.
    pub fn start() -> Result<ControlPlane, ClusterError> {
        let supervisor = Supervisor::start()?;
        Ok(ControlPlane {
            kubeconfig: supervisor.state_dir().join("admin.kubeconfig"),
            supervisor: Some(supervisor),
        })
    }

    /// Starts a private control plane like [`ControlPlane::start`] whose
    /// components are restarted `restart_after` once they exit (same
    /// command, ports and etcd data), for tests that kill them with
    /// [`ControlPlane::kill_component`]. Never use the shared one for that.
    pub fn start_restartable(restart_after: Duration) -> Result<ControlPlane, ClusterError> {
        let secs = restart_after.as_secs_f64().to_string();
        let supervisor = Supervisor::start_with(&[("DRIFTLESS_RESTART_AFTER", secs)])?;
        Ok(ControlPlane {
            kubeconfig: supervisor.state_dir().join("admin.kubeconfig"),
            supervisor: Some(supervisor),
        })
    }

    /// SIGKILLs the component `name` (`etcd`, `kube-apiserver`, …) of a
    /// control plane this process started; returns its pid. A restartable
    /// one ([`ControlPlane::start_restartable`]) brings it back; any other
    /// stops altogether.
    pub fn kill_component(&self, name: &str) -> Result<u32, ClusterError> {
        let pid = self
            .component_pids()
            .into_iter()
            .find(|(component, _)| component == name)
            .map(|(_, pid)| pid)
            .ok_or_else(|| ClusterError::Command {
                command: format!("kill {name}"),
                reason: "no such component of a control plane started here".into(),
            })?;
        let raw = libc::pid_t::try_from(pid).map_err(|e| ClusterError::Command {
            command: format!("kill {name} ({pid})"),
            reason: e.to_string(),
        })?;
        // SAFETY: kill(2) of a component our supervisor started and lists.
        if unsafe { libc::kill(raw, libc::SIGKILL) } != 0 {
            return Err(ClusterError::Command {
                command: format!("kill -KILL {pid} ({name})"),
                reason: std::io::Error::last_os_error().to_string(),
            });
        }
        Ok(pid)
    }

    /// An existing cluster, given its kubeconfig; never stopped by us.
    /// Fails unless its API server answers `/readyz`.
    pub fn existing(kubeconfig: PathBuf) -> Result<ControlPlane, ClusterError> {
        std::fs::metadata(&kubeconfig).map_err(|source| ClusterError::Io {
            path: kubeconfig.clone(),
            source,
        })?;
        let control_plane = ControlPlane {
            kubeconfig,
            supervisor: None,
        };
        control_plane
            .kubectl(&["get", "--raw", "/readyz", "--request-timeout=10s"])
            .map_err(|reason| ClusterError::Command {
                command: format!(
                    "kubectl get --raw /readyz (kubeconfig {})",
                    control_plane.kubeconfig.display()
                ),
                reason,
            })?;
        Ok(control_plane)
    }

    /// The admin kubeconfig (certificates embedded).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The processes of a control plane this process started, as
    /// `(component, pid)`, read from its state directory; empty for an
    /// existing cluster.
    pub fn component_pids(&self) -> Vec<(String, u32)> {
        let Some(supervisor) = &self.supervisor else {
            return Vec::new();
        };
        let pids = std::fs::read_to_string(supervisor.state_dir().join("pids")).unwrap_or_default();
        pids.lines()
            .filter_map(|line| {
                let (name, pid) = line.split_once(' ')?;
                Some((name.to_string(), pid.trim().parse().ok()?))
            })
            .collect()
    }

    /// A new client for this cluster, bound to the calling runtime. Panics
    /// with the reason if the kubeconfig is unusable.
    pub async fn client(&self) -> Client {
        let config = self.config().await;
        Client::try_from(config)
            .unwrap_or_else(|e| panic!("client for kubeconfig {}: {e}", self.kubeconfig.display()))
    }

    /// The client configuration of this cluster (for a client built another
    /// way). Panics with the reason if the kubeconfig is unusable.
    pub async fn config(&self) -> Config {
        let path = self.kubeconfig.display();
        let kubeconfig = Kubeconfig::read_from(&self.kubeconfig)
            .unwrap_or_else(|e| panic!("reading kubeconfig {path}: {e}"));
        Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .unwrap_or_else(|e| panic!("loading kubeconfig {path}: {e}"))
    }

    /// Creates a fresh namespace named `<prefix>-<unique suffix>` (prefix
    /// lowercased, invalid characters replaced) and returns its name, so
    /// tests never see each other's objects. Panics if it cannot.
    pub async fn namespace(&self, prefix: &str) -> String {
        let name = unique_name(prefix);
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some([(TEST_NAMESPACE_LABEL.to_string(), "true".to_string())].into()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        Api::<Namespace>::all(self.client().await)
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap_or_else(|e| panic!("creating namespace {name}: {e}"));
        name
    }

    /// Runs `kubectl <args>` against this cluster; stdout on success, an
    /// error naming the command with its stderr on failure.
    pub fn kubectl(&self, args: &[&str]) -> Result<String, String> {
        self.kubectl_with_input(args, None)
    }

    /// Applies driftless' CRDs `names` (e.g. `applications.argoproj.io`,
    /// read from the workspace's generated `crds/`) server-side and waits
    /// until each is Established. Right after an apply a CRD may have no
    /// conditions yet, which `kubectl wait` reports as an error: that is
    /// retried for a minute. Panics naming the CRDs when they do not come up.
    pub fn install_crds(&self, names: &[&str]) {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../crds");
        let files: Vec<String> = names.iter().map(|n| format!("{dir}/{n}.yaml")).collect();
        let mut apply = vec!["apply", "--server-side", "--force-conflicts"];
        for file in &files {
            apply.extend(["-f", file.as_str()]);
        }
        self.kubectl(&apply)
            .unwrap_or_else(|e| panic!("installing the CRDs {names:?}: {e}"));
        let crds: Vec<String> = names.iter().map(|n| format!("crd/{n}")).collect();
        let mut wait = vec!["wait", "--for=condition=Established", "--timeout=60s"];
        wait.extend(crds.iter().map(String::as_str));
        let started = std::time::Instant::now();
        while let Err(e) = self.kubectl(&wait) {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "waiting for the CRDs {names:?}: {e}"
            );
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    }

    /// Like [`ControlPlane::kubectl`], writing `input` to kubectl's stdin
    /// (for `apply -f -`).
    pub fn kubectl_stdin(&self, args: &[&str], input: &str) -> Result<String, String> {
        self.kubectl_with_input(args, Some(input))
    }

    fn kubectl_with_input(&self, args: &[&str], input: Option<&str>) -> Result<String, String> {
        let command_line = format!("kubectl {}", args.join(" "));
        let mut child = Command::new("kubectl")
            .env("KUBECONFIG", &self.kubeconfig)
            .args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("`{command_line}`: cannot run kubectl: {e}"))?;
        if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
            stdin
                .write_all(input.as_bytes())
                .map_err(|e| format!("`{command_line}`: writing stdin: {e}"))?;
        }
        let output = child
            .wait_with_output()
            .map_err(|e| format!("`{command_line}`: {e}"))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(format!(
                "`{command_line}` failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    }

    /// Stops a control plane this process started and waits until all its
    /// processes are gone; does nothing for an existing cluster.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        if let Some(supervisor) = self.supervisor.take() {
            supervisor.stop();
        }
    }
}

/// `<prefix>-<8 hex><counter>`: unique within this process (counter) and,
/// with high probability, across processes and runs (pid and clock mixed).
fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let mut clean: String = prefix
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    clean.truncate(40);
    let clean = clean.trim_matches('-');
    let clean = if clean.is_empty() { "test" } else { clean };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mix = nanos ^ std::process::id().rotate_left(16);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{clean}-{mix:08x}{n:x}")
}

#[cfg(test)]
mod tests {
    use super::unique_name;

    #[test]
    fn unique_names_are_valid_and_distinct() {
        let a = unique_name("Sync_Test!");
        let b = unique_name("Sync_Test!");
        assert!(a.starts_with("sync-test-"), "{a}");
        assert_ne!(a, b);
        assert!(a.len() <= 63);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
        assert!(unique_name("---").starts_with("test-"));
        assert!(unique_name(&"x".repeat(100)).len() <= 63);
    }
}
