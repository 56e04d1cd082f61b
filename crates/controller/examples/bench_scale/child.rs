//! The controller under measurement: `driftless controller` as its own
//! process, read through /proc (peak RSS, CPU time) and its /metrics.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use driftless_testkit::procfs;

/// A running `driftless controller`; killed on drop.
pub struct ControllerProcess {
    child: Child,
    /// Where its HTTP server listens.
    pub addr: SocketAddr,
    /// Its log (stdout and stderr).
    pub log: PathBuf,
}

/// The `driftless` binary: `$DRIFTLESS_CONTROLLER_BIN`, else the workspace's release build.
pub fn binary() -> PathBuf {
    std::env::var_os("DRIFTLESS_CONTROLLER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/driftless")
        })
}

impl ControllerProcess {
    /// Starts `binary controller` for the Applications in `namespace`, with
    /// `kubeconfig`, its Git mirrors and log under `work`, and `extra` flags.
    pub fn spawn(
        binary: &Path,
        kubeconfig: &Path,
        namespace: &str,
        work: &Path,
        extra: &[String],
    ) -> ControllerProcess {
        let addr = SocketAddr::from(([127, 0, 0, 1], driftless_testkit::free_port()));
        let log = work.join("controller.log");
        let out = std::fs::File::create(&log).expect("controller log");
        let err = out.try_clone().expect("controller log");
        let child = Command::new(binary)
            .arg("controller")
            .args(["--namespaces", namespace])
            .args(["--control-plane-namespace", namespace])
            .args(["--listen", &addr.to_string()])
            .arg("--cache-dir")
            .arg(work.join("repos"))
            .args(extra)
            .env("KUBECONFIG", kubeconfig)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        ControllerProcess { child, addr, log }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Panics (with its log) if the child has exited.
    pub fn check_alive(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            panic!(
                "the controller exited ({status}); last lines of {}:\n{}",
                self.log.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
    }

    /// User + system CPU seconds the child has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        procfs::cpu_seconds(self.pid()).expect("the controller's /proc/<pid>/stat")
    }

    /// The child's peak resident set size so far, in MiB (VmHWM).
    pub fn peak_rss_mib(&self) -> f64 {
        procfs::peak_rss_mib(self.pid()).expect("VmHWM in the controller's /proc/<pid>/status")
    }

    /// The child's current resident set size, in MiB (VmRSS).
    pub fn rss_mib(&self) -> f64 {
        procfs::rss_mib(self.pid()).expect("VmRSS in the controller's /proc/<pid>/status")
    }

    pub async fn wait_ready(&mut self) {
        let started = Instant::now();
        loop {
            self.check_alive();
            if let Ok(Ok((200, _))) =
                tokio::time::timeout(Duration::from_secs(2), http_get(self.addr, "/readyz")).await
            {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the controller was not ready within a minute (log: {})",
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The sum of the metric `name` (over its labels) from /metrics.
    pub async fn metric(&mut self, name: &str) -> f64 {
        self.check_alive();
        let (code, body) = http_get(self.addr, "/metrics")
            .await
            .unwrap_or_else(|e| panic!("GET /metrics: {e}"));
        assert_eq!(code, 200, "GET /metrics: {body}");
        driftless_testkit::metrics::sum_metric(&body, name, "")
    }

    /// Stops the child: SIGTERM, then SIGKILL after 10 s.
    pub fn stop(&mut self) {
        driftless_testkit::metrics::terminate(&mut self.child);
    }
}

impl Drop for ControllerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// GET `path` from `addr`: status and body.
async fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    crate::common::try_http_request(addr, "GET", path, &[], "").await
}
