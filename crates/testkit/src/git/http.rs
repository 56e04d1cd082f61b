//! The HTTP side of the Git server: basic auth (or the password as a
//! bearer token), the stall switch, and `git http-backend` run as a CGI
//! program, over plain TCP or TLS.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use tokio::io::AsyncWriteExt;

use super::lock;

/// Serves HTTP/1.1 on one connection (plain or TLS).
pub(super) async fn serve<S>(state: Arc<HttpState>, stream: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let state = state.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(&state, req).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
        .await;
}

/// A client connection that acknowledges every segment at once.
///
/// libgit2 writes a POST's headers and its body separately without
/// `TCP_NODELAY`, so Nagle holds the body until the headers are
/// acknowledged, and Linux delays that ACK by ~40 ms: every
/// `git-upload-pack` POST took 40+ ms on loopback. Linux leaves quick-ACK
/// mode on its own, so it is set again after every read.
pub(super) struct QuickAck(pub(super) tokio::net::TcpStream);

impl QuickAck {
    /// Wraps `stream` (with `TCP_NODELAY` for our own writes too).
    pub(super) fn new(stream: tokio::net::TcpStream) -> Self {
        let _ = stream.set_nodelay(true);
        let ack = QuickAck(stream);
        ack.quick_ack();
        ack
    }

    #[cfg(target_os = "linux")]
    fn quick_ack(&self) {
        use std::os::fd::AsRawFd;
        let one: libc::c_int = 1;
        // SAFETY: a valid socket descriptor and a c_int option value.
        unsafe {
            libc::setsockopt(
                self.0.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_QUICKACK,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn quick_ack(&self) {}
}

impl tokio::io::AsyncRead for QuickAck {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let polled = std::pin::Pin::new(&mut self.0).poll_read(cx, buf);
        self.quick_ack();
        polled
    }
}

impl tokio::io::AsyncWrite for QuickAck {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// A self-signed certificate for 127.0.0.1 made with the `openssl` command,
/// and a TLS acceptor using it. `None` (no HTTPS) when `openssl` is missing.
pub(super) fn make_tls(work: &Path) -> Option<(tokio_rustls::TlsAcceptor, String)> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let dir = work.join(".tls");
    std::fs::create_dir_all(&dir).ok()?;
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    match out {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            eprintln!(
                "driftless-testkit: openssl req failed, no HTTPS: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return None;
        }
        Err(e) => {
            eprintln!("driftless-testkit: no openssl command ({e}), no HTTPS");
            return None;
        }
    }
    let pem = std::fs::read_to_string(&cert).ok()?;
    let certs = CertificateDer::pem_file_iter(&cert)
        .ok()?
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    let key = PrivateKeyDer::from_pem_file(&key).ok()?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .ok()?;
    Some((tokio_rustls::TlsAcceptor::from(Arc::new(config)), pem))
}

pub(super) struct HttpState {
    pub(super) base: PathBuf,
    pub(super) auth: String,
    /// `Bearer <password>`: the password also works as a bearer token.
    pub(super) bearer: String,
    pub(super) username: String,
    pub(super) stalled: Arc<Mutex<HashSet<String>>>,
    /// `git-http-backend` itself: through the `git` wrapper, each request
    /// (three per fetch) would start one more process.
    pub(super) backend: PathBuf,
}

type Body = Full<Bytes>;

fn respond(status: StatusCode, text: &str) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from(text.to_string())));
    *resp.status_mut() = status;
    resp
}

/// The repository name a request path names: `/org/app.git/info/refs` -> `org/app`.
fn repo_of(path: &str) -> Option<&str> {
    let path = path.trim_start_matches('/');
    let end = path
        .find(".git/")
        .or_else(|| path.strip_suffix(".git").map(str::len))?;
    Some(&path[..end])
}

async fn handle(state: &HttpState, req: Request<Incoming>) -> Response<Body> {
    let authorized = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == state.auth || v == state.bearer);
    if !authorized {
        let mut resp = respond(StatusCode::UNAUTHORIZED, "authentication required\n");
        resp.headers_mut().insert(
            hyper::header::WWW_AUTHENTICATE,
            hyper::header::HeaderValue::from_static("Basic realm=\"driftless-test\""),
        );
        return resp;
    }
    let path = req.uri().path().to_string();
    if let Some(repo) = repo_of(&path) {
        while lock(&state.stalled).contains(repo) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    match cgi(state, req).await {
        Ok(resp) => resp,
        Err(e) => respond(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e}\n")),
    }
}

/// Runs `git http-backend` for one request (CGI/1.1).
async fn cgi(state: &HttpState, req: Request<Incoming>) -> std::io::Result<Response<Body>> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let mut cmd = tokio::process::Command::new(&state.backend);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", &state.base)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", parts.method.as_str())
        .env("PATH_INFO", parts.uri.path())
        .env("QUERY_STRING", parts.uri.query().unwrap_or_default())
        .env("CONTENT_TYPE", header("content-type"))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
        .env("GIT_PROTOCOL", header("git-protocol"))
        .env("REMOTE_USER", &state.username)
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut child = cmd.spawn()?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("no stdin"))?;
    let writer = tokio::spawn(async move {
        let _ = stdin.write_all(&body).await;
    });
    let out = child.wait_with_output().await?;
    let _ = writer.await;
    parse_cgi(&out.stdout)
}

/// Splits CGI output into a response: headers, a `Status:` line, the body.
fn parse_cgi(out: &[u8]) -> std::io::Result<Response<Body>> {
    let (head_end, body_start) = find_header_end(out)
        .ok_or_else(|| std::io::Error::other("http-backend wrote no header block"))?;
    let head = String::from_utf8_lossy(&out[..head_end]);
    let mut builder = Response::builder().status(StatusCode::OK);
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value
                .split_whitespace()
                .next()
                .and_then(|c| c.parse::<u16>().ok())
                .unwrap_or(500);
            builder = builder.status(code);
        } else {
            builder = builder.header(name.trim(), value);
        }
    }
    builder
        .body(Full::new(Bytes::copy_from_slice(&out[body_start..])))
        .map_err(std::io::Error::other)
}

fn find_header_end(out: &[u8]) -> Option<(usize, usize)> {
    if let Some(i) = out.windows(4).position(|w| w == b"\r\n\r\n") {
        return Some((i, i + 4));
    }
    out.windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| (i, i + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_names_from_paths() {
        assert_eq!(repo_of("/apps.git/info/refs"), Some("apps"));
        assert_eq!(repo_of("/org/apps.git/git-upload-pack"), Some("org/apps"));
        assert_eq!(repo_of("/apps.git"), Some("apps"));
        assert_eq!(repo_of("/other"), None);
    }

    #[test]
    fn cgi_output_is_split() {
        let resp = parse_cgi(b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope")
            .expect("parse");
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let resp = parse_cgi(b"Content-Type: x\n\nbody").expect("parse");
        assert_eq!(resp.status(), StatusCode::OK);
    }
}
