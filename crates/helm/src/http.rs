//! A blocking HTTP(S) GET of one chart repository file (`index.yaml`, a
//! chart archive): redirects followed, the repository's basic auth sent
//! only to the repository's own origin (or everywhere with
//! `passCredentials`), a time limit on the whole exchange and a size limit
//! on the body.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use url::Url;

use crate::Credentials;
use crate::error::FetchError;

/// At most this many redirects are followed (as Go's HTTP client, helm's).
const MAX_REDIRECTS: usize = 10;

/// One GET.
pub(crate) struct Get<'a> {
    /// The URL (no credentials in it).
    pub(crate) url: Url,
    /// The repository whose credentials these are: they are sent to its
    /// origin only, unless `pass_credentials`.
    pub(crate) repository: &'a Url,
    /// Its credentials.
    pub(crate) credentials: Option<&'a Credentials>,
    /// Send the credentials to any origin (Argo CD's `passCredentials`).
    pub(crate) pass_credentials: bool,
    /// The largest body accepted, in bytes.
    pub(crate) limit: u64,
    /// The time limit of the whole exchange, redirects included.
    pub(crate) timeout: Duration,
    /// The `Accept` header.
    pub(crate) accept: &'a str,
    /// A bearer token (an OCI registry's), sent instead of basic auth, to
    /// the repository's origin only.
    pub(crate) bearer: Option<&'a str>,
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// A successful answer: its body, and where the next page is when the
/// answer says so (a `Link: <...>; rel="next"` header, resolved against
/// the URL that answered).
pub(crate) struct Answer {
    /// The whole body.
    pub(crate) body: Vec<u8>,
    /// The next page's URL.
    pub(crate) next: Option<Url>,
}

impl Get<'_> {
    /// Sends it and reads the whole body.
    pub(crate) fn send(&self) -> Result<Vec<u8>, FetchError> {
        self.send_paged().map(|answer| answer.body)
    }

    /// Sends it and reads the whole body and the `Link` to the next page.
    /// Runs its own small runtime (on a thread of its own when called from
    /// inside an async runtime).
    pub(crate) fn send_paged(&self) -> Result<Answer, FetchError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return std::thread::scope(|scope| {
                scope
                    .spawn(|| self.send_here())
                    .join()
                    .unwrap_or_else(|_| Err(self.unreachable(&self.url, "the fetch panicked")))
            });
        }
        self.send_here()
    }

    fn send_here(&self) -> Result<Answer, FetchError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| self.unreachable(&self.url, &e.to_string()))?;
        let client = client(&self.url)?;
        runtime.block_on(async {
            tokio::time::timeout(self.timeout, self.follow(&client))
                .await
                .unwrap_or_else(|_| {
                    Err(FetchError::Timeout {
                        url: self.url.to_string(),
                        seconds: self.timeout.as_secs(),
                    })
                })
        })
    }

    /// GETs the URL, following redirects, and reads the body.
    async fn follow(&self, client: &HttpsClient) -> Result<Answer, FetchError> {
        let mut url = self.url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let response = client
                .request(self.request(&url)?)
                .await
                .map_err(|e| self.unreachable(&url, &error_chain(&e)))?;
            let status = response.status();
            if status.is_redirection()
                && let Some(location) = response.headers().get(hyper::header::LOCATION)
            {
                let next = location.to_str().ok().and_then(|l| url.join(l).ok());
                url = next.ok_or_else(|| FetchError::BadUrl {
                    url: url.to_string(),
                    message: "the redirect's Location is not a URL".into(),
                })?;
                check_scheme(&url)?;
                continue;
            }
            if !status.is_success() {
                let challenge = response
                    .headers()
                    .get(hyper::header::WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                return Err(FetchError::Status {
                    url: url.to_string(),
                    status: status.as_u16(),
                    hint: status_hint(status.as_u16()),
                    challenge,
                });
            }
            let next = crate::link::next_page(response.headers(), &url);
            let body = Limited::new(response.into_body(), self.limit as usize);
            return match body.collect().await {
                Ok(collected) => Ok(Answer {
                    body: collected.to_bytes().to_vec(),
                    next,
                }),
                Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(FetchError::TooLarge {
                    url: url.to_string(),
                    limit: self.limit,
                }),
                Err(e) => Err(self.unreachable(&url, &e.to_string())),
            };
        }
        Err(FetchError::Redirects {
            url: self.url.to_string(),
            limit: MAX_REDIRECTS,
        })
    }

    /// The request for `url`, with the credentials when they may go there.
    fn request(&self, url: &Url) -> Result<hyper::Request<Empty<Bytes>>, FetchError> {
        let mut builder = hyper::Request::get(url.as_str())
            .header(hyper::header::USER_AGENT, "driftless-helm")
            .header(hyper::header::ACCEPT, self.accept);
        let may_send = self.pass_credentials || same_origin(url, self.repository);
        if let Some(token) = self.bearer.filter(|_| may_send) {
            builder = builder.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        } else if let Some(c) = self.credentials.filter(|_| may_send) {
            builder = builder.header(hyper::header::AUTHORIZATION, basic(c));
        }
        builder.body(Empty::new()).map_err(|e| FetchError::BadUrl {
            url: url.to_string(),
            message: e.to_string(),
        })
    }

    fn unreachable(&self, url: &Url, message: &str) -> FetchError {
        FetchError::Unreachable {
            url: url.to_string(),
            message: message.to_string(),
        }
    }
}

/// `Basic base64(user:password)`.
pub(crate) fn basic(credentials: &Credentials) -> String {
    let pair = format!("{}:{}", credentials.username, credentials.password);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// A client for `url`'s scheme (TLS only when it is `https`).
fn client(url: &Url) -> Result<HttpsClient, FetchError> {
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let builder = if url.scheme() == "https" {
        builder.with_tls_config(tls_config(url)?)
    } else {
        // No TLS on this connection; a redirect to https fails to connect
        // with a clear error rather than loading the roots for nothing.
        builder.with_tls_config(empty_tls_config(url)?)
    };
    let connector = builder.https_or_http().enable_http1().build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// rustls with ring and the system's root certificates, loaded once.
fn tls_config(url: &Url) -> Result<rustls::ClientConfig, FetchError> {
    static CONFIG: OnceLock<Result<rustls::ClientConfig, String>> = OnceLock::new();
    let built = CONFIG.get_or_init(|| {
        use hyper_rustls::ConfigBuilderExt as _;
        rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_native_roots()
            .map(|b| b.with_no_client_auth())
            .map_err(|e| format!("loading the system's root certificates: {e}"))
    });
    built.clone().map_err(|message| FetchError::Unreachable {
        url: url.to_string(),
        message,
    })
}

fn empty_tls_config(url: &Url) -> Result<rustls::ClientConfig, FetchError> {
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map(|b| {
            b.with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        })
        .map_err(|e| FetchError::Unreachable {
            url: url.to_string(),
            message: e.to_string(),
        })
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Only `http` and `https` are fetched.
pub(crate) fn check_scheme(url: &Url) -> Result<(), FetchError> {
    match url.scheme() {
        "http" | "https" if url.username().is_empty() && url.password().is_none() => Ok(()),
        "http" | "https" => Err(FetchError::BadUrl {
            url: redacted(url),
            message: "credentials in a URL are not supported; use the repository's Secret".into(),
        }),
        other => Err(FetchError::BadUrl {
            url: url.to_string(),
            message: format!("scheme {other:?} is not http or https"),
        }),
    }
}

/// `url` without a password.
fn redacted(url: &Url) -> String {
    let mut copy = url.clone();
    let _ = copy.set_password(None);
    let _ = copy.set_username("");
    copy.to_string()
}

/// Same scheme, host and port (helm sends a repository's credentials to
/// chart URLs of its own origin only, unless `passCredentials`).
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

fn status_hint(status: u16) -> &'static str {
    match status {
        401 | 403 => " (the repository refused the credentials given, or none were given)",
        404 => " (not found)",
        _ => "",
    }
}

/// An error and its causes, e.g. `client error (Connect): tcp connect
/// error: Connection refused (os error 111)`.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn origins() {
        let repo = url("https://charts.example.com/stable");
        assert!(same_origin(
            &url("https://charts.example.com:443/x.tgz"),
            &repo
        ));
        assert!(!same_origin(&url("http://charts.example.com/x.tgz"), &repo));
        assert!(!same_origin(&url("https://cdn.example.com/x.tgz"), &repo));
        assert!(!same_origin(
            &url("https://charts.example.com:8443/x.tgz"),
            &repo
        ));
    }

    #[test]
    fn only_http_urls_without_credentials() {
        assert!(check_scheme(&url("http://127.0.0.1:1/index.yaml")).is_ok());
        let error = check_scheme(&url("file:///etc/passwd")).unwrap_err();
        assert!(error.to_string().contains("\"file\""), "{error}");
        let error = check_scheme(&url("https://ann:s3cret@host/x")).unwrap_err();
        let text = error.to_string();
        assert!(
            !text.contains("s3cret") && text.contains("Secret"),
            "{text}"
        );
    }

    #[test]
    fn credentials_go_to_the_repository_origin_only_unless_passed() {
        let repo = url("http://127.0.0.1:1/charts");
        let credentials = Credentials::new("ann", "pw");
        let mut get = Get {
            url: repo.clone(),
            repository: &repo,
            credentials: Some(&credentials),
            pass_credentials: false,
            limit: 1,
            timeout: Duration::from_secs(1),
            accept: "*/*",
            bearer: None,
        };
        let auth = |get: &Get<'_>, to: &str| {
            get.request(&url(to))
                .unwrap()
                .headers()
                .contains_key(hyper::header::AUTHORIZATION)
        };
        assert!(auth(&get, "http://127.0.0.1:1/charts/web-1.0.0.tgz"));
        assert!(!auth(&get, "http://127.0.0.2:1/web-1.0.0.tgz"));
        get.pass_credentials = true;
        assert!(auth(&get, "http://127.0.0.2:1/web-1.0.0.tgz"));
    }

    #[test]
    fn an_unreachable_server_is_named() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let target = url(&format!("http://127.0.0.1:{port}/index.yaml"));
        let get = Get {
            url: target.clone(),
            repository: &target,
            credentials: None,
            pass_credentials: false,
            limit: 1024,
            timeout: Duration::from_secs(10),
            accept: "*/*",
            bearer: None,
        };
        let error = get.send().unwrap_err();
        assert!(matches!(error, FetchError::Unreachable { .. }), "{error}");
        assert!(error.to_string().contains(target.as_str()), "{error}");
    }

    #[test]
    fn a_body_over_the_limit_is_refused_and_basic_auth_is_sent() {
        let repo = driftless_testkit::helm::ChartRepo::start(Some(("ann", "pw")));
        let target = url(&format!("{}/index.yaml", repo.url()));
        let credentials = Credentials::new("ann", "pw");
        let mut get = Get {
            url: target.clone(),
            repository: &target,
            credentials: Some(&credentials),
            pass_credentials: false,
            limit: 1 << 20,
            timeout: Duration::from_secs(30),
            accept: "*/*",
            bearer: None,
        };
        let body = get.send().unwrap();
        assert!(String::from_utf8(body).unwrap().contains("entries"));
        get.limit = 5;
        let error = get.send().unwrap_err();
        assert!(
            matches!(error, FetchError::TooLarge { limit: 5, .. }),
            "{error}"
        );
        get.credentials = None;
        let error = get.send().unwrap_err();
        assert!(
            matches!(error, FetchError::Status { status: 401, .. }),
            "{error}"
        );
    }

    /// Answers every connection with a redirect to `target`.
    fn redirector(target: String) -> String {
        use std::io::{Read as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let answer = format!(
                    "HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\n\
                     Connection: close\r\n\r\n"
                );
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        url
    }

    #[test]
    fn redirects_are_followed_and_credentials_stay_with_their_origin() {
        let repo = driftless_testkit::helm::ChartRepo::start(Some(("ann", "pw")));
        let origin = url(&redirector(format!("{}/index.yaml", repo.url())));
        let credentials = Credentials::new("ann", "pw");
        let mut get = Get {
            url: origin.join("index.yaml").unwrap(),
            repository: &origin,
            credentials: Some(&credentials),
            pass_credentials: false,
            limit: 1 << 20,
            timeout: Duration::from_secs(30),
            accept: "*/*",
            bearer: None,
        };
        let error = get.send().unwrap_err();
        assert!(
            matches!(error, FetchError::Status { status: 401, .. }),
            "{error}"
        );
        assert!(
            error.to_string().contains(repo.url()),
            "names where it ended: {error}"
        );
        get.pass_credentials = true;
        let body = get.send().unwrap();
        assert!(String::from_utf8(body).unwrap().contains("entries"));
    }
}
