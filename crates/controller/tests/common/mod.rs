//! A harness for end-to-end tests: the real control plane, the real Git
//! server, CRDs installed, and the controller running in-process.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use driftless_api::{Application, HealthStatusCode, SyncStatusCode};
use driftless_controller::{ControllerConfig, Running};
use driftless_testkit::cluster::ControlPlane;
use driftless_testkit::evaluator::jsonnet_evaluator;
use driftless_testkit::git::GitServer;
use kube::{Api, Client};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::OnceCell;

/// Generous: the point is "eventually", not speed.
pub const TIMEOUT: Duration = Duration::from_secs(120);

static CRDS: OnceCell<()> = OnceCell::const_new();

async fn install_crds(cp: &'static ControlPlane) {
    CRDS.get_or_init(|| async {
        tokio::task::spawn_blocking(|| {
            cp.install_crds(&["applications.argoproj.io", "appprojects.argoproj.io"])
        })
        .await
        .expect("installing the CRDs");
    })
    .await;
}

/// One test's world: its own namespaces, Git server and controller.
pub struct Harness {
    /// The control plane.
    pub cp: &'static ControlPlane,
    /// A client.
    pub client: Client,
    /// The Git server.
    pub git: GitServer,
    /// Where this test's Applications live (the controller watches it).
    pub apps_ns: String,
    /// The running controller.
    pub controller: Option<Running>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    cache: tempfile::TempDir,
}

impl Harness {
    /// Starts everything; the controller polls every `requeue`.
    pub async fn start(prefix: &str, requeue: Duration) -> Harness {
        let mut h = Harness::new(prefix).await;
        h.start_controller(requeue).await;
        h
    }

    /// The control plane, namespaces and Git server, without a controller.
    pub async fn new(prefix: &str) -> Harness {
        Self::on(ControlPlane::shared().await, prefix).await
    }

    /// [`Harness::new`] on `cp` (a private control plane of the test).
    pub async fn on(cp: &'static ControlPlane, prefix: &str) -> Harness {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "info,driftless_controller=debug".into()),
            )
            .with_test_writer()
            .try_init();
        install_crds(cp).await;
        let client = cp.client().await;
        let apps_ns = cp.namespace(&format!("{prefix}-apps")).await;
        let git = GitServer::start().await;
        let cache = tempfile::tempdir().expect("temp dir");
        Harness {
            cp,
            client,
            git,
            apps_ns,
            controller: None,
            shutdown: None,
            cache,
        }
    }

    /// The controller's configuration for this test.
    pub fn config(&self, requeue: Duration) -> ControllerConfig {
        ControllerConfig {
            namespaces: vec![self.apps_ns.clone()],
            control_plane_namespace: self.apps_ns.clone(),
            credentials_namespace: self.apps_ns.clone(),
            requeue_interval: requeue,
            progress_interval: Duration::from_millis(500),
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            repo_cache_dir: self.cache.path().to_path_buf(),
            ..ControllerConfig::default()
        }
    }

    /// (Re)starts the controller.
    pub async fn start_controller(&mut self, requeue: Duration) {
        self.start_controller_with(self.config(requeue)).await;
    }

    /// (Re)starts the controller with `config` (see [`Harness::config`]).
    pub async fn start_controller_with(&mut self, config: ControllerConfig) {
        self.stop_controller().await;
        // The in-process controller's Jsonnet evaluator (built by cargo once).
        let evaluator = tokio::task::spawn_blocking(jsonnet_evaluator)
            .await
            .expect("build the Jsonnet evaluator");
        driftless_render::jsonnet::set_evaluator(evaluator);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        // The controller's own client counts its requests, as in a deployment.
        let client = driftless_controller::api_requests::client(self.cp.config().await)
            .expect("a counted client");
        let running = driftless_controller::start(client, config, async move {
            let _ = rx.await;
        })
        .await
        .unwrap_or_else(|e| panic!("starting the controller: {e}"));
        self.controller = Some(running);
        self.shutdown = Some(tx);
    }

    /// Stops the controller and waits for it.
    pub async fn stop_controller(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(running) = self.controller.take() {
            let _ = tokio::time::timeout(Duration::from_secs(30), running.wait()).await;
        }
    }

    /// Kills the controller as a crash would: a sync in flight stops
    /// wherever it is (its Application's status says Running).
    pub async fn kill_controller(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(running) = self.controller.take() {
            running.abort();
        }
        // Let the aborted tasks unwind before a new controller starts.
        tokio::task::yield_now().await;
    }

    /// The controller's HTTP address.
    pub fn http_addr(&self) -> SocketAddr {
        self.controller
            .as_ref()
            .and_then(|r| r.http_addr)
            .expect("the controller serves HTTP")
    }

    /// A fresh namespace for an Application to deploy into.
    pub async fn namespace(&self, prefix: &str) -> String {
        self.cp.namespace(prefix).await
    }

    /// `kubectl apply -f -` of `yaml`.
    pub fn apply(&self, yaml: &str) {
        self.cp
            .kubectl_stdin(&["apply", "-f", "-"], yaml)
            .unwrap_or_else(|e| panic!("kubectl apply: {e}\n{yaml}"));
    }

    /// `kubectl <args>`.
    pub fn kubectl(&self, args: &[&str]) -> String {
        self.cp
            .kubectl(args)
            .unwrap_or_else(|e| panic!("kubectl: {e}"))
    }

    /// The Applications API of this test.
    pub fn apps(&self) -> Api<Application> {
        Api::namespaced(self.client.clone(), &self.apps_ns)
    }

    /// Waits until the Application `name` satisfies `pred`; panics with its
    /// last state after [`TIMEOUT`].
    pub async fn wait_app(
        &self,
        name: &str,
        what: &str,
        pred: impl Fn(&Application) -> bool,
    ) -> Application {
        let api = self.apps();
        let started = Instant::now();
        let mut last = None;
        loop {
            if let Ok(Some(app)) = api.get_opt(name).await {
                if pred(&app) {
                    return app;
                }
                last = Some(app);
            }
            if started.elapsed() > TIMEOUT {
                panic!(
                    "application {name} did not become {what} within {TIMEOUT:?}; last: {}",
                    serde_json::to_string_pretty(&last.map(|a| a.status)).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits until the Application is Synced and Healthy (at `revision` when given).
    pub async fn wait_synced_healthy(&self, name: &str, revision: Option<&str>) -> Application {
        self.wait_app(name, "Synced and Healthy", |app| {
            synced_healthy(app) && revision.is_none_or(|r| revision_of(app) == Some(r))
        })
        .await
    }

    /// POSTs `body` as JSON to the controller's webhook; returns the status code and body.
    pub async fn post_webhook(&self, body: &str) -> (u16, String) {
        http_post(self.http_addr(), "/api/webhook", body).await
    }

    /// GETs `path` from the controller's HTTP server.
    pub async fn get(&self, path: &str) -> (u16, String) {
        http_request(self.http_addr(), "GET", path, "").await
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Whether the Application reports Synced and Healthy.
pub fn synced_healthy(app: &Application) -> bool {
    let status = app.status.clone().unwrap_or_default();
    status.sync.map(|s| s.status) == Some(SyncStatusCode::Synced)
        && status.health.map(|h| h.status) == Some(HealthStatusCode::Healthy)
}

/// `status.sync.revision`.
pub fn revision_of(app: &Application) -> Option<&str> {
    app.status
        .as_ref()
        .and_then(|s| s.sync.as_ref())
        .and_then(|s| s.revision.as_deref())
}

/// The revision of source `index` in `status.sync.revisions` (several sources).
pub fn source_revision_of(app: &Application, index: usize) -> Option<&str> {
    app.status
        .as_ref()
        .and_then(|s| s.sync.as_ref())
        .and_then(|s| s.revisions.get(index))
        .map(String::as_str)
}

/// Polls `f` until it returns `Some`, up to [`TIMEOUT`]; panics naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            started.elapsed() < TIMEOUT,
            "timed out after {TIMEOUT:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn http_post(addr: SocketAddr, path: &str, body: &str) -> (u16, String) {
    http_request(addr, "POST", path, body).await
}

/// GETs `path` from `addr`.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    http_request(addr, "GET", path, "").await
}

/// A minimal HTTP/1.1 client (one request per connection); panics on I/O errors.
async fn http_request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    try_http_request(addr, method, path, &[], body)
        .await
        .unwrap_or_else(|e| panic!("{method} http://{addr}{path}: {e}"))
}

/// A minimal HTTP/1.1 client (one request per connection, with extra
/// `headers`): status and body.
pub async fn try_http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let code = response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((code, body))
}

/// An Application deploying `path` of `repo` (branch main) into `dest` in this
/// cluster; `extra` is appended under `spec` (e.g. a `syncPolicy`).
pub fn application_yaml(
    name: &str,
    ns: &str,
    repo: &str,
    path: &str,
    dest: &str,
    extra: &str,
) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: {ns}
spec:
  project: default
  source:
    repoURL: {repo}
    targetRevision: main
    path: {path}
  destination:
    server: https://kubernetes.default.svc
    namespace: {dest}
{extra}"
    )
}
