//! A Helm chart repository on 127.0.0.1: a directory (`index.yaml` and
//! `.tgz` files) served over HTTP, with optional basic auth and a count of
//! the requests it answered (tests use it to see that a cache hit fetched
//! nothing).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};

use super::{ChartSpec, run_helm};

/// A running chart repository; stopped when dropped.
pub struct ChartRepo {
    url: String,
    credentials: Option<(String, String)>,
    dir: tempfile::TempDir,
    requests: Arc<AtomicUsize>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct State {
    dir: PathBuf,
    /// The expected `Authorization` header, if auth is on.
    auth: Option<String>,
    requests: Arc<AtomicUsize>,
}

impl ChartRepo {
    /// Starts an empty repository; with `credentials` (username, password)
    /// every request needs them (basic auth). Works from sync or async code.
    pub fn start(credentials: Option<(&str, &str)>) -> ChartRepo {
        let dir = tempfile::tempdir().expect("chart repo dir");
        let auth = credentials.map(|(u, p)| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind chart repo");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let requests = Arc::new(AtomicUsize::new(0));
        let state = Arc::new(State {
            dir: dir.path().to_path_buf(),
            auth,
            requests: requests.clone(),
        });
        let (tx, rx) = tokio::sync::oneshot::channel();
        let thread = std::thread::spawn(move || serve(listener, state, rx));
        let repo = ChartRepo {
            url,
            credentials: credentials.map(|(u, p)| (u.to_string(), p.to_string())),
            dir,
            requests,
            shutdown: Some(tx),
            thread: Some(thread),
        };
        std::fs::write(
            repo.dir().join("index.yaml"),
            "apiVersion: v1\nentries: {}\n",
        )
        .expect("write empty index.yaml");
        repo
    }

    /// Starts a repository serving `charts`, packaged with the pinned helm
    /// and indexed (`helm package`, `helm repo index`); with `credentials`
    /// (username, password) every request needs them (basic auth).
    pub fn serve(charts: &[ChartSpec<'_>], credentials: Option<(&str, &str)>) -> ChartRepo {
        let repo = ChartRepo::start(credentials);
        repo.publish(charts);
        repo
    }

    /// Packages `charts` into the repository and regenerates `index.yaml`.
    pub fn publish(&self, charts: &[ChartSpec<'_>]) {
        for chart in charts {
            chart.package(self.dir());
        }
        self.index();
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The (username, password) every request needs, if any.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// The directory served.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Adds a packaged chart and regenerates `index.yaml` (`helm repo index`).
    pub fn add(&self, archive: &Path) {
        let name = archive.file_name().expect("archive file name");
        std::fs::copy(archive, self.dir().join(name)).expect("copy chart archive");
        self.index();
    }

    /// `helm repo index` of the directory served.
    fn index(&self) {
        let home = tempfile::tempdir().expect("helm home");
        run_helm(
            home.path(),
            &["repo".as_ref(), "index".as_ref(), self.dir().as_os_str()],
        );
    }

    /// Serves `archive` as the only chart: copies it and writes an
    /// `index.yaml` listing it as `chart` `version`, without helm looking
    /// inside (for hostile archives `helm repo index` would refuse).
    pub fn serve_unchecked(&self, archive: &Path, chart: &str, version: &str) {
        let name = archive.file_name().expect("archive file name");
        std::fs::copy(archive, self.dir().join(name)).expect("copy chart archive");
        let index = format!(
            "apiVersion: v1\nentries:\n  {chart}:\n    - apiVersion: v2\n      name: {chart}\n      \
             version: {version}\n      urls:\n        - {}\n",
            name.to_string_lossy()
        );
        std::fs::write(self.dir().join("index.yaml"), index).expect("write index.yaml");
    }

    /// How many requests it has answered (any status).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for ChartRepo {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    listener: std::net::TcpListener,
    state: Arc<State>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("chart repo runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let state = state.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| {
                            let state = state.clone();
                            async move { Ok::<_, std::convert::Infallible>(handle(&state, req)) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                            .await;
                    });
                }
            }
        }
    });
}

fn respond(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp
}

fn handle(state: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    state.requests.fetch_add(1, Ordering::SeqCst);
    if let Some(expected) = &state.auth {
        let given = req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if given != Some(expected.as_str()) {
            let mut resp = respond(
                StatusCode::UNAUTHORIZED,
                b"authentication required\n".to_vec(),
            );
            resp.headers_mut().insert(
                hyper::header::WWW_AUTHENTICATE,
                hyper::header::HeaderValue::from_static("Basic realm=\"driftless-charts\""),
            );
            return resp;
        }
    }
    let name = req.uri().path().trim_start_matches('/');
    let plain = !name.is_empty() && !name.contains('/') && !name.starts_with('.');
    match plain.then(|| std::fs::read(state.dir.join(name))) {
        Some(Ok(bytes)) => respond(StatusCode::OK, bytes),
        _ => respond(StatusCode::NOT_FOUND, b"not found\n".to_vec()),
    }
}
