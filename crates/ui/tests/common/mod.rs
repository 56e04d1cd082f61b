//! What the web page's tests share: a namespace on the real control plane
//! with Applications (status written through the status subresource, as the
//! controller would), ServiceAccounts with chosen RBAC and their tokens,
//! the page's server, and a small HTTP client.

#![allow(dead_code)]

pub mod cdp;

use std::net::SocketAddr;
use std::time::Duration;

use driftless_testkit::cluster::ControlPlane;
use driftless_ui::{MetricsSource, UiConfig};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The CRDs the page reads.
const CRDS: [&str; 4] = [
    "applications.argoproj.io",
    "appprojects.argoproj.io",
    "kustomizations.kustomize.toolkit.fluxcd.io",
    "helmreleases.helm.toolkit.fluxcd.io",
];

/// Installs the CRDs (server-side apply) and waits until they are
/// Established, through the testkit (which retries a CRD that has no
/// conditions yet right after another test applied it).
pub fn install_crds(cp: &ControlPlane) {
    cp.install_crds(&CRDS);
}

/// One test's namespace and page server.
pub struct World {
    pub cp: &'static ControlPlane,
    pub ns: String,
    pub addr: SocketAddr,
    /// Git access for the server (set before [`World::serve`]).
    pub previewer: Option<std::sync::Arc<driftless_controller::preview::Previewer>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = self
            .cp
            .kubectl(&["delete", "namespace", &self.ns, "--wait=false"]);
    }
}

impl World {
    /// A fresh namespace (CRDs installed); the server is started by [`World::serve`].
    pub async fn new(prefix: &str) -> World {
        let cp = ControlPlane::shared().await;
        install_crds(cp);
        let ns = cp.namespace(prefix).await;
        World {
            cp,
            ns,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            previewer: None,
            shutdown: None,
        }
    }

    /// Starts the page's server on 127.0.0.1 watching this namespace.
    pub async fn serve(&mut self, actions: bool, metrics: Option<MetricsSource>) {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let config = UiConfig {
            namespaces: vec![self.ns.clone()],
            actions,
            metrics,
            previewer: self.previewer.clone(),
        };
        let (addr, _task) = driftless_ui::serve(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            self.cp.client().await,
            config,
            async move {
                let _ = rx.await;
            },
        )
        .await
        .expect("starting the page's server");
        self.addr = addr;
        self.shutdown = Some(tx);
    }

    /// `kubectl` in this world, panicking with the error.
    pub fn kubectl(&self, args: &[&str]) -> String {
        self.cp.kubectl(args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `kubectl apply -f -` of `yaml` in this namespace.
    pub fn apply(&self, yaml: &str) {
        self.cp
            .kubectl_stdin(&["apply", "-n", &self.ns, "-f", "-"], yaml)
            .unwrap_or_else(|e| panic!("applying:\n{yaml}\n{e}"));
    }

    /// Creates an Application `name` and writes `status` to it.
    pub fn application(&self, name: &str, status: &Value) {
        self.apply(&format!(
            "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {name}}}
spec:
  project: default
  source: {{repoURL: 'https://git.example.invalid/apps.git', path: apps/{name}, targetRevision: main}}
  destination: {{server: 'https://kubernetes.default.svc', namespace: {ns}}}
",
            ns = self.ns
        ));
        self.set_status("application", name, status);
    }

    /// Writes `status` to the object `kind/name` (merge patch of the status subresource).
    pub fn set_status(&self, kind: &str, name: &str, status: &Value) {
        let patch = serde_json::json!({ "status": status }).to_string();
        self.kubectl(&[
            "patch",
            kind,
            name,
            "-n",
            &self.ns,
            "--subresource=status",
            "--type=merge",
            "-p",
            &patch,
        ]);
    }

    /// A ServiceAccount bound to a Role with `rules` (YAML list, may be
    /// empty), and a fresh token of it.
    pub fn account(&self, name: &str, rules: &str) -> String {
        self.apply(&format!(
            "apiVersion: v1
kind: ServiceAccount
metadata: {{name: {name}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: {name}}}
rules: {rules}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: {name}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: {name}}}
subjects: [{{kind: ServiceAccount, name: {name}, namespace: {ns}}}]
",
            ns = self.ns
        ));
        self.kubectl(&["create", "token", name, "-n", &self.ns, "--duration=30m"])
            .trim()
            .to_string()
    }

    /// `GET path` with `token`; (status, JSON body).
    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        request(self.addr, "GET", path, token).await
    }

    /// `POST path` with `token`; (status, JSON body).
    pub async fn post(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        request(self.addr, "POST", path, token).await
    }
}

fn head(method: &str, path: &str, token: Option<&str>) -> String {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
}

/// One HTTP/1.1 request; the body as JSON (`Value::String` when it is not JSON).
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, Value) {
    let (status, _, body) = raw(addr, method, path, token).await;
    let json = serde_json::from_str(&body).unwrap_or(Value::String(body));
    (status, json)
}

/// One HTTP/1.1 request: (status, head, body as text, de-chunked). The
/// body ends at its Content-Length when there is one (some servers keep the
/// connection open), else when the server closes.
pub async fn raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, String, String) {
    let stream = TcpStream::connect(addr)
        .await
        .expect("connecting to the server");
    let mut reader = BufReader::new(stream);
    reader
        .get_mut()
        .write_all(head(method, path, token).as_bytes())
        .await
        .expect("sending");
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.expect("reading the head") == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let lower = head.to_ascii_lowercase();
    let length = lower
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|n| n.trim().parse::<usize>().ok());
    let mut bytes = Vec::new();
    match length {
        Some(n) => {
            bytes.resize(n, 0);
            reader
                .read_exact(&mut bytes)
                .await
                .expect("reading the body");
        }
        None => {
            reader
                .read_to_end(&mut bytes)
                .await
                .expect("reading the body");
        }
    }
    let body = String::from_utf8_lossy(&bytes).to_string();
    let body = if lower.contains("transfer-encoding: chunked") {
        dechunk(&body)
    } else {
        body
    };
    (status, head, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// A live `/api/v1/stream`: reads server-sent events one at a time.
pub struct EventStream {
    reader: BufReader<TcpStream>,
}

impl EventStream {
    /// Opens the stream with `token`; panics unless the answer is 200.
    pub async fn open(addr: SocketAddr, token: &str) -> EventStream {
        let mut stream = TcpStream::connect(addr).await.expect("connecting");
        stream
            .write_all(head("GET", "/api/v1/stream", Some(token)).as_bytes())
            .await
            .expect("sending");
        let mut reader = BufReader::new(stream);
        let mut status = String::new();
        reader.read_line(&mut status).await.expect("status line");
        assert!(status.contains(" 200 "), "stream answered {status}");
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await.expect("header");
            if line == "\r\n" {
                break;
            }
        }
        EventStream { reader }
    }

    /// The next `overview` event's data (chunk sizes and comments skipped),
    /// or `None` after `wait`.
    pub async fn next_overview(&mut self, wait: Duration) -> Option<Value> {
        tokio::time::timeout(wait, async {
            let mut event = String::new();
            loop {
                let mut line = String::new();
                if self.reader.read_line(&mut line).await.ok()? == 0 {
                    return None;
                }
                let line = line.trim_end();
                if let Some(name) = line.strip_prefix("event:") {
                    event = name.trim().to_string();
                } else if let Some(data) = line.strip_prefix("data:")
                    && event == "overview"
                {
                    return serde_json::from_str(data.trim_start()).ok();
                }
            }
        })
        .await
        .ok()
        .flatten()
    }
}
