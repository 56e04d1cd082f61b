//! An OCI registry on 127.0.0.1 (the distribution `registry` built by
//! `tests/cluster/build-helm.sh`), storing into a temporary directory,
//! optionally with htpasswd auth, stopped when dropped.

use std::io::{Read as _, Write as _};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{ChartSpec, binaries, push};

/// The user of a registry started with auth.
pub const REGISTRY_USER: &str = "chart-pusher";
/// [`REGISTRY_USER`]'s password.
pub const REGISTRY_PASSWORD: &str = "oci-test-password";
/// `REGISTRY_USER:bcrypt(REGISTRY_PASSWORD)` (the registry's htpasswd
/// accepts bcrypt only; computed once with Go's `x/crypto/bcrypt`, cost 10).
const HTPASSWD: &str =
    "chart-pusher:$2a$10$gyPsRipKrDA4enOnM4.VxupLZh1L75ICdp0hl10ct2pP0GODaJDHS\n";

/// A running registry process.
pub struct OciRegistry {
    host: String,
    auth: bool,
    child: Child,
    _dir: tempfile::TempDir,
}

impl OciRegistry {
    /// Starts a registry; with `auth` every request needs
    /// [`REGISTRY_USER`]/[`REGISTRY_PASSWORD`]. Waits until it answers.
    ///
    /// Panics when it cannot start: a test cannot go on without it.
    pub fn start(auth: bool) -> OciRegistry {
        let dir = tempfile::tempdir().expect("registry dir");
        let port = crate::free_port();
        let host = format!("127.0.0.1:{port}");
        let htpasswd = dir.path().join("htpasswd");
        std::fs::write(&htpasswd, HTPASSWD).expect("write htpasswd");
        let auth_section = if auth {
            format!(
                "auth:\n  htpasswd:\n    realm: driftless-test\n    path: {}\n",
                htpasswd.display()
            )
        } else {
            String::new()
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: {host}\n  secret: driftless-test-secret\n{auth_section}",
            dir.path().join("data").display()
        );
        let config_file = dir.path().join("config.yml");
        std::fs::write(&config_file, config).expect("write registry config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("registry log");
        let child = Command::new(binaries().registry)
            .arg("serve")
            .arg(&config_file)
            .env_clear()
            .env("OTEL_TRACES_EXPORTER", "none")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .expect("start registry");
        let mut registry = OciRegistry {
            host,
            auth,
            child,
            _dir: dir,
        };
        registry.wait_ready();
        registry
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `oci://127.0.0.1:PORT/<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("oci://{}/{path}", self.host)
    }

    /// Packages `charts` with the pinned helm and pushes them below
    /// `path` (logged in as [`REGISTRY_USER`] when the registry has auth);
    /// returns `oci://127.0.0.1:PORT/<path>`.
    pub fn publish(&self, path: &str, charts: &[ChartSpec<'_>]) -> String {
        let url = self.url(path);
        let packages = tempfile::tempdir().expect("chart packages dir");
        let login = self.auth.then_some((REGISTRY_USER, REGISTRY_PASSWORD));
        for chart in charts {
            push(&chart.package(packages.path()), &url, login);
        }
        url
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self._dir.path().join("registry.log"))
                    .unwrap_or_default();
                panic!("the registry exited ({status}): {log}");
            }
            if let Some(code) = status_of_v2(&self.host)
                && (code == 200 || code == 401)
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the registry on {} did not answer within 30 s", self.host);
    }
}

/// The HTTP status of `GET /v2/`, if the registry answers.
fn status_of_v2(host: &str) -> Option<u16> {
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET /v2/ HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

impl Drop for OciRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
