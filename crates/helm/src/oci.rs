//! A chart in an OCI registry read without helm, through the distribution
//! API: the tags (for a range), the manifest of one tag, and its chart
//! layer (`application/vnd.cncf.helm.chart.content.v1.tar+gzip`), checked
//! against its digest and unpacked safely. Basic auth with the registry's
//! credentials, or a bearer token from the registry's token service when it
//! asks for one (`WWW-Authenticate: Bearer realm=...`). A tag list the
//! registry pages (`Link: <...>; rel="next"`) is read page by page, on the
//! registry's own origin only and up to a limit.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use url::Url;

use crate::download::verify_digest;
use crate::error::FetchError;
use crate::http::{Answer, Get, same_origin};
use crate::{Credentials, archive};

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
const MAX_JSON_BYTES: u64 = 8 << 20;
const MAX_ARCHIVE_BYTES: u64 = 32 << 20;
/// At most this many pages of tags are read (a registry that keeps sending
/// `rel="next"` cannot hold a fetch forever)...
const MAX_TAG_PAGES: usize = 100;
/// ... and at most this many tags.
const MAX_TAGS: usize = 100_000;

/// One chart repository of a registry (`host/path/chart`).
pub(crate) struct Registry<'a> {
    /// `http(s)://host[:port]/`.
    origin: Url,
    /// `path/chart`.
    name: String,
    credentials: Option<&'a Credentials>,
    timeout: Duration,
    /// The bearer token, once the registry asked for one.
    token: RefCell<Option<String>>,
    /// Tags asked per page (`n`); `None` leaves it to the registry, as
    /// helm does.
    page_size: Option<usize>,
}

#[derive(serde::Deserialize)]
struct Tags {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(serde::Deserialize)]
struct Manifest {
    #[serde(default)]
    layers: Vec<Layer>,
}

#[derive(serde::Deserialize)]
struct Layer {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
}

impl<'a> Registry<'a> {
    /// The chart `reference` (`oci://host/path/chart`) names.
    pub(crate) fn new(
        reference: &str,
        credentials: Option<&'a Credentials>,
        plain_http: bool,
        timeout: Duration,
    ) -> Result<Self, FetchError> {
        let bare = reference.strip_prefix("oci://").unwrap_or(reference);
        let (host, name) = bare.split_once('/').ok_or_else(|| FetchError::BadUrl {
            url: reference.to_string(),
            message: "no repository path after the registry host".into(),
        })?;
        let scheme = if plain_http { "http" } else { "https" };
        let origin =
            Url::parse(&format!("{scheme}://{host}/")).map_err(|e| FetchError::BadUrl {
                url: reference.to_string(),
                message: e.to_string(),
            })?;
        Ok(Self {
            origin,
            name: name.to_string(),
            credentials,
            timeout,
            token: RefCell::new(None),
            page_size: None,
        })
    }

    /// The chart versions the tags are (`_` in a tag is `+` in a version),
    /// every page of them.
    pub(crate) fn versions(&self) -> Result<Vec<String>, FetchError> {
        let first = self.tags_url()?;
        let mut url = first.clone();
        let mut tags = Vec::new();
        for _ in 0..MAX_TAG_PAGES {
            let answer = self.get(&url, "application/json", MAX_JSON_BYTES)?;
            let page: Tags =
                serde_json::from_slice(&answer.body).map_err(|e| bad(url.as_str(), e))?;
            tags.extend(page.tags.unwrap_or_default());
            if tags.len() > MAX_TAGS {
                break;
            }
            let Some(next) = answer.next else {
                return Ok(tags.into_iter().map(|t| t.replace('_', "+")).collect());
            };
            if !same_origin(&next, &self.origin) {
                return Err(bad(
                    next.as_str(),
                    format!("the next page of {first}'s tags is on another origin; not followed"),
                ));
            }
            url = next;
        }
        Err(FetchError::TooManyPages {
            url: first.to_string(),
            pages: MAX_TAG_PAGES,
            entries: MAX_TAGS,
        })
    }

    /// `v2/<name>/tags/list`, with `n` when a page size is set.
    fn tags_url(&self) -> Result<Url, FetchError> {
        let path = format!("v2/{}/tags/list", self.name);
        let mut url = self.url(&path)?;
        if let Some(n) = self.page_size {
            url.query_pairs_mut().append_pair("n", &n.to_string());
        }
        Ok(url)
    }

    /// Downloads the chart layer of `version` and unpacks it into `dest`.
    pub(crate) fn unpack(&self, version: &str, dest: &Path) -> Result<(), FetchError> {
        let tag = version.replace('+', "_");
        let path = format!("v2/{}/manifests/{tag}", self.name);
        let bytes = self.get(&self.url(&path)?, MANIFEST, MAX_JSON_BYTES)?.body;
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| self.bad(&path, e))?;
        let layer = manifest
            .layers
            .iter()
            .find(|l| l.media_type == CHART_LAYER)
            .ok_or_else(|| FetchError::BadUrl {
                url: self.url_text(&path),
                message: format!("the manifest has no {CHART_LAYER} layer: not a Helm chart"),
            })?;
        let blob = format!("v2/{}/blobs/{}", self.name, layer.digest);
        let bytes = self.get(&self.url(&blob)?, "*/*", MAX_ARCHIVE_BYTES)?.body;
        let label = self.url_text(&blob);
        verify_digest(&bytes, &layer.digest, &label)?;
        archive::unpack(&bytes, dest, &label, archive::LIMITS)
    }

    /// `path` below the origin.
    fn url(&self, path: &str) -> Result<Url, FetchError> {
        self.origin.join(path).map_err(|e| self.bad(path, e))
    }

    /// GETs `url` (of the registry's origin), fetching a bearer token first
    /// when the registry answers 401 with a Bearer challenge.
    fn get(&self, url: &Url, accept: &str, limit: u64) -> Result<Answer, FetchError> {
        match self.try_get(url, accept, limit) {
            Err(FetchError::Status {
                status: 401,
                challenge: Some(challenge),
                ..
            }) if self.token.borrow().is_none() && challenge.starts_with("Bearer ") => {
                let token = self.fetch_token(&challenge)?;
                *self.token.borrow_mut() = Some(token);
                self.try_get(url, accept, limit)
            }
            other => other,
        }
    }

    fn try_get(&self, url: &Url, accept: &str, limit: u64) -> Result<Answer, FetchError> {
        let token = self.token.borrow().clone();
        Get {
            url: url.clone(),
            repository: &self.origin,
            credentials: self.credentials,
            pass_credentials: false,
            limit,
            timeout: self.timeout,
            accept,
            bearer: token.as_deref(),
        }
        .send_paged()
    }

    /// A token from the service `challenge` names, asked with the
    /// registry's credentials (when there are any).
    fn fetch_token(&self, challenge: &str) -> Result<String, FetchError> {
        let params = challenge_params(challenge);
        let realm = params.get("realm").ok_or_else(|| FetchError::BadUrl {
            url: self.origin.to_string(),
            message: "the registry's Bearer challenge names no realm".into(),
        })?;
        let mut url = Url::parse(realm).map_err(|e| FetchError::BadUrl {
            url: realm.clone(),
            message: e.to_string(),
        })?;
        crate::http::check_scheme(&url)?;
        let scope = format!("repository:{}:pull", self.name);
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = params.get("service") {
                query.append_pair("service", service);
            }
            query.append_pair("scope", params.get("scope").unwrap_or(&scope));
        }
        let realm_url = url.clone();
        let bytes = Get {
            url,
            repository: &realm_url,
            credentials: self.credentials,
            pass_credentials: false,
            limit: MAX_JSON_BYTES,
            timeout: self.timeout,
            accept: "application/json",
            bearer: None,
        }
        .send()?;
        #[derive(serde::Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let answer: Token = serde_json::from_slice(&bytes).map_err(|e| FetchError::BadUrl {
            url: realm.clone(),
            message: format!("the token service's answer: {e}"),
        })?;
        answer
            .token
            .or(answer.access_token)
            .ok_or_else(|| FetchError::BadUrl {
                url: realm.clone(),
                message: "the token service's answer holds no token".into(),
            })
    }

    fn url_text(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    fn bad(&self, path: &str, error: impl std::fmt::Display) -> FetchError {
        bad(&self.url_text(path), error)
    }
}

fn bad(url: &str, error: impl std::fmt::Display) -> FetchError {
    FetchError::BadUrl {
        url: url.to_string(),
        message: error.to_string(),
    }
}

/// The `key="value"` parameters of a `Bearer ...` challenge.
fn challenge_params(challenge: &str) -> BTreeMap<String, String> {
    let rest = challenge.trim_start_matches("Bearer ").trim();
    let mut params = BTreeMap::new();
    let mut remaining = rest;
    while let Some((key, after)) = remaining.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim().to_string();
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.split_once('"') {
                Some((value, next)) => (value, next),
                None => (quoted, ""),
            },
            None => after.split_once(',').unwrap_or((after, "")),
        };
        params.insert(key, value.to_string());
        remaining = next;
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_are_parsed() {
        let params = challenge_params(
            r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:charts/web:pull""#,
        );
        assert_eq!(params["realm"], "https://auth.example.com/token");
        assert_eq!(params["service"], "registry.example.com");
        assert_eq!(params["scope"], "repository:charts/web:pull");
        let params = challenge_params("Bearer realm=https://a/t,service=s");
        assert_eq!(params["realm"], "https://a/t");
        assert_eq!(params["service"], "s");
    }

    #[test]
    fn references_split_into_origin_and_name() {
        let r = Registry::new(
            "oci://127.0.0.1:5000/charts/web",
            None,
            true,
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(r.origin.as_str(), "http://127.0.0.1:5000/");
        assert_eq!(r.name, "charts/web");
        let r = Registry::new("ghcr.io/org/web", None, false, Duration::from_secs(1)).unwrap();
        assert_eq!(r.origin.as_str(), "https://ghcr.io/");
        assert!(Registry::new("oci://host-only", None, false, Duration::from_secs(1)).is_err());
    }

    /// Answers every request with one tag and a `Link` to `next` (this
    /// server's own URL with `?last=...` when `next` is `None`).
    fn endless_registry(next: Option<String>) -> String {
        use std::io::{Read as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let link = next.unwrap_or_else(|| "/v2/charts/web/tags/list?last=x".into());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let body = r#"{"name":"charts/web","tags":["1.0.0"]}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                     Link: <{link}>; rel=\"next\"\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        origin
    }

    fn registry_at(origin: &str) -> Registry<'static> {
        let reference = format!("oci://{}/charts/web", origin.trim_start_matches("http://"));
        Registry::new(&reference, None, true, Duration::from_secs(30)).unwrap()
    }

    #[test]
    fn an_endless_tag_list_stops_at_the_page_limit() {
        let error = registry_at(&endless_registry(None)).versions().unwrap_err();
        assert!(
            matches!(
                error,
                FetchError::TooManyPages {
                    pages: MAX_TAG_PAGES,
                    ..
                }
            ),
            "{error}"
        );
        assert!(
            error.to_string().contains("charts/web/tags/list"),
            "{error}"
        );
    }

    #[test]
    fn a_next_page_on_another_origin_is_not_followed() {
        let elsewhere = "http://127.0.0.2:1/v2/charts/web/tags/list?last=x".to_string();
        let error = registry_at(&endless_registry(Some(elsewhere)))
            .versions()
            .unwrap_err();
        assert!(
            error.to_string().contains("127.0.0.2") && error.to_string().contains("another origin"),
            "{error}"
        );
    }

    #[test]
    fn every_page_of_a_real_registrys_tags_is_read() {
        use driftless_testkit::helm::{OciRegistry, package, push, write_chart};
        let registry = OciRegistry::start(false);
        let work = tempfile::tempdir().unwrap();
        let versions = ["0.1.0", "0.2.0", "0.3.0", "0.4.0", "0.5.0"];
        for version in versions {
            let chart = write_chart(&work.path().join(version), "web", version, "", &[]);
            push(
                &package(&chart, &work.path().join("packages")),
                &registry.url("charts"),
                None,
            );
        }
        let mut paged = Registry::new(
            &registry.url("charts/web"),
            None,
            true,
            Duration::from_secs(30),
        )
        .unwrap();
        paged.page_size = Some(2);
        let first = paged.get(
            &paged.tags_url().unwrap(),
            "application/json",
            MAX_JSON_BYTES,
        );
        let first = first.unwrap();
        assert!(first.next.is_some(), "the registry pages at n=2");
        let tags: Tags = serde_json::from_slice(&first.body).unwrap();
        assert_eq!(tags.tags.unwrap().len(), 2);

        let mut all = paged.versions().unwrap();
        let best = crate::index::pick_version(&all, ">=0.1.0 <1.0.0", "registry", "web").unwrap();
        assert_eq!(best, "0.5.0", "the best match is on the last page");
        all.sort();
        assert_eq!(all, versions);
    }
}
