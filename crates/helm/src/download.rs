//! A chart repository read over HTTP(S) without helm: its `index.yaml`,
//! and the archive of one chart version, checked against the index's
//! `digest` and unpacked safely ([`crate::archive`]).

use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};
use url::Url;

use crate::error::FetchError;
use crate::http::{Get, check_scheme};
use crate::index::IndexEntry;
use crate::{Credentials, archive};

/// The largest `index.yaml` read.
const MAX_INDEX_BYTES: u64 = 64 << 20;
/// The largest chart archive downloaded (unpacked, helm's 100 MiB apply).
const MAX_ARCHIVE_BYTES: u64 = 32 << 20;

/// One chart repository and how to read it.
pub(crate) struct Repository<'a> {
    /// The URL, with a trailing `/` (relative URLs resolve below it).
    base: Url,
    credentials: Option<&'a Credentials>,
    pass_credentials: bool,
    timeout: Duration,
}

impl<'a> Repository<'a> {
    /// The repository at `url` (`http://` or `https://`).
    pub(crate) fn new(
        url: &str,
        credentials: Option<&'a Credentials>,
        pass_credentials: bool,
        timeout: Duration,
    ) -> Result<Self, FetchError> {
        let with_slash = format!("{}/", url.trim_end_matches('/'));
        let base = Url::parse(&with_slash).map_err(|e| FetchError::BadUrl {
            url: url.to_string(),
            message: e.to_string(),
        })?;
        check_scheme(&base)?;
        Ok(Self {
            base,
            credentials,
            pass_credentials,
            timeout,
        })
    }

    /// The bytes of `index.yaml`.
    pub(crate) fn index(&self) -> Result<Vec<u8>, FetchError> {
        let url = self.join("index.yaml")?;
        self.get(url, MAX_INDEX_BYTES)
    }

    /// Downloads the archive of `entry`, checks its digest and unpacks it
    /// into `dest` (an empty directory).
    pub(crate) fn unpack(&self, entry: &IndexEntry, dest: &Path) -> Result<(), FetchError> {
        let first = entry.urls.first().ok_or_else(|| FetchError::BadUrl {
            url: self.base.to_string(),
            message: format!("index.yaml lists no URL for version {}", entry.version),
        })?;
        let url = self.join(first)?;
        check_scheme(&url)?;
        let label = url.to_string();
        let bytes = self.get(url, MAX_ARCHIVE_BYTES)?;
        if let Some(expected) = entry.digest.as_deref().filter(|d| !d.trim().is_empty()) {
            verify_digest(&bytes, expected, &label)?;
        }
        archive::unpack(&bytes, dest, &label, archive::LIMITS)
    }

    /// `reference` resolved against the repository URL (absolute URLs as
    /// they are).
    fn join(&self, reference: &str) -> Result<Url, FetchError> {
        self.base.join(reference).map_err(|e| FetchError::BadUrl {
            url: reference.to_string(),
            message: e.to_string(),
        })
    }

    fn get(&self, url: Url, limit: u64) -> Result<Vec<u8>, FetchError> {
        Get {
            url,
            repository: &self.base,
            credentials: self.credentials,
            pass_credentials: self.pass_credentials,
            limit,
            timeout: self.timeout,
            accept: "*/*",
            bearer: None,
        }
        .send()
    }
}

/// Checks that `bytes` hash to `expected` (hex sha256, `sha256:` allowed).
pub(crate) fn verify_digest(bytes: &[u8], expected: &str, url: &str) -> Result<(), FetchError> {
    let expected = expected.trim();
    let hex = expected.strip_prefix("sha256:").unwrap_or(expected);
    let actual: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if actual.eq_ignore_ascii_case(hex) {
        Ok(())
    } else {
        Err(FetchError::Digest {
            url: url.to_string(),
            expected: expected.to_string(),
            actual,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(url: &str) -> Repository<'static> {
        Repository::new(url, None, false, Duration::from_secs(1)).unwrap()
    }

    #[test]
    fn archive_urls_resolve_against_the_repository() {
        let r = repo("https://charts.example.com/stable");
        assert_eq!(
            r.join("index.yaml").unwrap().as_str(),
            "https://charts.example.com/stable/index.yaml"
        );
        assert_eq!(
            r.join("web-1.0.0.tgz").unwrap().as_str(),
            "https://charts.example.com/stable/web-1.0.0.tgz"
        );
        assert_eq!(
            r.join("https://cdn.example.com/web-1.0.0.tgz")
                .unwrap()
                .as_str(),
            "https://cdn.example.com/web-1.0.0.tgz"
        );
        let r = repo("http://127.0.0.1:8080/");
        assert_eq!(
            r.join("charts/web-1.0.0.tgz").unwrap().as_str(),
            "http://127.0.0.1:8080/charts/web-1.0.0.tgz"
        );
    }

    #[test]
    fn only_http_repositories() {
        let error = Repository::new("ftp://host/charts", None, false, Duration::from_secs(1))
            .err()
            .unwrap();
        assert!(error.to_string().contains("\"ftp\""), "{error}");
    }

    #[test]
    fn digests_are_compared() {
        let hex: String = Sha256::digest(b"chart")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(verify_digest(b"chart", &hex, "u").is_ok());
        assert!(verify_digest(b"chart", &format!("sha256:{hex}"), "u").is_ok());
        let error = verify_digest(b"tampered", &hex, "http://r/web-1.0.0.tgz").unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("http://r/web-1.0.0.tgz") && text.contains(&hex),
            "{text}"
        );
    }
}
