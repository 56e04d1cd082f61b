//! Repository credentials in Argo CD's Secret format, read through the
//! [`CredentialSource`] trait so the cache stays testable without a cluster.
//!
//! A Secret labelled `argocd.argoproj.io/secret-type: repository` applies to
//! exactly its `url`; one labelled `repo-creds` applies to every repository
//! whose URL starts with its `url` (the longest prefix wins). An exact
//! `repository` match wins over any `repo-creds`. Keys: `url`, `username`,
//! `password`, `sshPrivateKey`, `insecure`.

use std::collections::BTreeMap;

pub mod flux;
mod kube_secrets;
mod remembered;

use futures::future::BoxFuture;

pub use kube_secrets::{KubeSecretCredentials, list_repo_secrets};
pub use remembered::{DEFAULT_TTL, Recent, Remembered};

use crate::error::Result;
use crate::url::{RepoUrl, normalize_url};

/// The label naming a Secret's kind.
pub const SECRET_TYPE_LABEL: &str = "argocd.argoproj.io/secret-type";

/// Credentials for one repository. `Debug` never prints secret values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RepoCredentials {
    /// User name for HTTP basic auth (or the SSH user when the URL has none).
    pub username: Option<String>,
    /// Password or token for HTTP basic auth.
    pub password: Option<String>,
    /// A token sent as `Authorization: Bearer <token>` on HTTP(S) (Flux's
    /// `bearerToken`), instead of basic auth.
    pub bearer_token: Option<String>,
    /// An SSH private key (OpenSSH or PEM format).
    pub ssh_private_key: Option<String>,
    /// Skip TLS certificate and SSH host key verification.
    pub insecure: bool,
    /// `known_hosts` lines trusted for SSH host keys (in addition to the
    /// cache's global list).
    pub known_hosts: Option<String>,
    /// PEM certificates trusted as-is for this repository's HTTPS server
    /// (Argo CD's `argocd-tls-certs-cm` entry for the host): a server whose
    /// certificate is one of them is accepted even when self-signed.
    pub tls_certs: Option<String>,
}

impl std::fmt::Debug for RepoCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |o: &Option<String>| if o.is_some() { "<set>" } else { "<none>" };
        f.debug_struct("RepoCredentials")
            .field("username", &self.username)
            .field("password", &set(&self.password))
            .field("bearer_token", &set(&self.bearer_token))
            .field("ssh_private_key", &set(&self.ssh_private_key))
            .field("insecure", &self.insecure)
            .finish_non_exhaustive()
    }
}

/// Whether a Secret names one repository or a URL prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretType {
    /// `repository`: exact URL match.
    Repository,
    /// `repo-creds`: URL prefix match.
    RepoCreds,
}

/// One Argo CD repository Secret, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoSecret {
    /// Its kind.
    pub secret_type: SecretType,
    /// The `url` key.
    pub url: String,
    /// The credentials it carries.
    pub credentials: RepoCredentials,
    /// Where it came from (`namespace/name`), for log lines.
    pub origin: String,
    /// A Helm repository Secret's `enableOCI: "true"`: the URL is an OCI
    /// registry.
    pub enable_oci: bool,
    /// A Helm repository Secret's `insecureOCIForceHttp: "true"`: speak
    /// plain HTTP to the OCI registry.
    pub insecure_oci_force_http: bool,
}

impl RepoSecret {
    /// Decodes a Secret's `data` (already base64-decoded bytes) given the
    /// value of its [`SECRET_TYPE_LABEL`]. `None` when the label is not one
    /// of ours or the `url` key is missing.
    pub fn from_data(
        secret_type: &str,
        data: &BTreeMap<String, Vec<u8>>,
        origin: &str,
    ) -> Option<RepoSecret> {
        let secret_type = match secret_type {
            "repository" => SecretType::Repository,
            "repo-creds" => SecretType::RepoCreds,
            _ => return None,
        };
        let text = |key: &str| {
            data.get(key)
                .map(|v| {
                    String::from_utf8_lossy(v)
                        .trim_end_matches(['\r', '\n'])
                        .to_string()
                })
                .filter(|s| !s.is_empty())
        };
        let flag = |key: &str| text(key).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let url = text("url")?;
        let key = data
            .get("sshPrivateKey")
            .map(|v| String::from_utf8_lossy(v).to_string())
            .filter(|s| !s.trim().is_empty());
        Some(RepoSecret {
            secret_type,
            url,
            credentials: RepoCredentials {
                username: text("username"),
                password: text("password"),
                bearer_token: text("bearerToken"),
                ssh_private_key: key,
                insecure: flag("insecure"),
                known_hosts: None,
                tls_certs: None,
            },
            origin: origin.to_string(),
            enable_oci: flag("enableOCI"),
            insecure_oci_force_http: flag("insecureOCIForceHttp"),
        })
    }
}

/// Picks the credentials for `url` out of `secrets` (Argo CD's rules: an
/// exact `repository` match, else the longest matching `repo-creds` prefix).
pub fn match_credentials(secrets: &[RepoSecret], url: &str) -> Option<RepoCredentials> {
    let want = normalize_url(url).ok()?;
    if let Some(exact) = secrets.iter().find(|s| {
        s.secret_type == SecretType::Repository
            && normalize_url(&s.url).ok().as_deref() == Some(want.as_str())
    }) {
        return Some(exact.credentials.clone());
    }
    // Prefixes are compared on the raw and the normalized spelling.
    let raw = url.trim();
    secrets
        .iter()
        .filter(|s| s.secret_type == SecretType::RepoCreds)
        .filter(|s| {
            let prefix = s.url.trim();
            raw.starts_with(prefix)
                || RepoUrl::parse(prefix)
                    .map(|p| want.starts_with(&prefix_form(&p, prefix)))
                    .unwrap_or(false)
        })
        .max_by_key(|s| s.url.len())
        .map(|s| s.credentials.clone())
}

/// The normalized spelling of a prefix, keeping a trailing `/` so that
/// `https://host/org/` does not match `https://host/organization`.
fn prefix_form(parsed: &RepoUrl, raw: &str) -> String {
    let mut n = parsed.normalized();
    if raw.ends_with('/') {
        n.push('/');
    }
    n
}

/// Where the cache gets credentials from.
pub trait CredentialSource: Send + Sync {
    /// The credentials to use for `url`, or `None` to fetch anonymously.
    fn credentials<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Option<RepoCredentials>>>;

    /// A fetch of `url` with what [`CredentialSource::credentials`] gave
    /// failed: a source that remembers answers reads them again next time.
    fn fetch_failed(&self, _url: &str) {}
}

/// No credentials for any repository.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoCredentials;

impl CredentialSource for NoCredentials {
    fn credentials<'a>(&'a self, _url: &'a str) -> BoxFuture<'a, Result<Option<RepoCredentials>>> {
        Box::pin(async { Ok(None) })
    }
}

/// A fixed list of repository Secrets (tests, the CLI).
#[derive(Clone, Debug, Default)]
pub struct StaticCredentials {
    secrets: Vec<RepoSecret>,
}

impl StaticCredentials {
    /// Serves `secrets`.
    pub fn new(secrets: Vec<RepoSecret>) -> Self {
        Self { secrets }
    }

    /// Adds a `repository` entry for exactly `url`.
    pub fn with_repository(mut self, url: &str, credentials: RepoCredentials) -> Self {
        self.secrets.push(RepoSecret {
            secret_type: SecretType::Repository,
            url: url.to_string(),
            credentials,
            origin: "static".into(),
            enable_oci: false,
            insecure_oci_force_http: false,
        });
        self
    }

    /// Adds a `repo-creds` entry for every URL starting with `prefix`.
    pub fn with_prefix(mut self, prefix: &str, credentials: RepoCredentials) -> Self {
        self.secrets.push(RepoSecret {
            secret_type: SecretType::RepoCreds,
            url: prefix.to_string(),
            credentials,
            origin: "static".into(),
            enable_oci: false,
            insecure_oci_force_http: false,
        });
        self
    }
}

impl CredentialSource for StaticCredentials {
    fn credentials<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Option<RepoCredentials>>> {
        Box::pin(async move { Ok(match_credentials(&self.secrets, url)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn decodes_argo_secrets() {
        let s = RepoSecret::from_data(
            "repository",
            &data(&[
                ("url", "https://git.example.com/org/app.git"),
                ("username", "bob"),
                ("password", "hunter2\n"),
                ("insecure", "true"),
            ]),
            "ns/repo-app",
        )
        .unwrap();
        assert_eq!(s.secret_type, SecretType::Repository);
        assert_eq!(s.credentials.password.as_deref(), Some("hunter2"));
        assert!(s.credentials.insecure);
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(RepoSecret::from_data("cluster", &data(&[("url", "x")]), "ns/c").is_none());
        assert!(RepoSecret::from_data("repository", &data(&[]), "ns/c").is_none());
    }

    #[test]
    fn exact_match_beats_longest_prefix() {
        let creds = |p: &str| RepoCredentials {
            password: Some(p.into()),
            ..Default::default()
        };
        let source = StaticCredentials::default()
            .with_prefix("https://git.example.com/", creds("host"))
            .with_prefix("https://git.example.com/org/", creds("org"))
            .with_repository("https://git.example.com/org/special.git", creds("exact"));
        let pick = |url: &str| match_credentials(&source.secrets, url).and_then(|c| c.password);
        assert_eq!(
            pick("https://git.example.com/org/special").as_deref(),
            Some("exact")
        );
        assert_eq!(
            pick("https://git.example.com/org/special.git/").as_deref(),
            Some("exact")
        );
        assert_eq!(
            pick("https://git.example.com/org/other.git").as_deref(),
            Some("org")
        );
        assert_eq!(
            pick("https://git.example.com/team/x").as_deref(),
            Some("host")
        );
        assert_eq!(
            pick("https://git.example.com/organization/x").as_deref(),
            Some("host")
        );
        assert_eq!(pick("https://elsewhere.example.com/org/x"), None);
    }
}
