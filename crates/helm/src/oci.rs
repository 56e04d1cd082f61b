//! A chart in an OCI registry read without helm, through the distribution
//! API: the tags (for a range), the manifest of one tag, and its chart
//! layer (`application/vnd.cncf.helm.chart.content.v1.tar+gzip`), checked
//! against its digest and unpacked safely. Basic auth with the registry's
//! credentials, or a bearer token from the registry's token service when it
//! asks for one (`WWW-Authenticate: Bearer realm=...`).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use url::Url;

use crate::download::verify_digest;
use crate::error::FetchError;
use crate::http::Get;
use crate::{Credentials, archive};

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
const MAX_JSON_BYTES: u64 = 8 << 20;
const MAX_ARCHIVE_BYTES: u64 = 32 << 20;

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
        })
    }

    /// The chart versions the tags are (`_` in a tag is `+` in a version).
    pub(crate) fn versions(&self) -> Result<Vec<String>, FetchError> {
        let path = format!("v2/{}/tags/list", self.name);
        let bytes = self.get(&path, "application/json", MAX_JSON_BYTES)?;
        let tags: Tags = serde_json::from_slice(&bytes).map_err(|e| self.bad(&path, e))?;
        Ok(tags
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.replace('_', "+"))
            .collect())
    }

    /// Downloads the chart layer of `version` and unpacks it into `dest`.
    pub(crate) fn unpack(&self, version: &str, dest: &Path) -> Result<(), FetchError> {
        let tag = version.replace('+', "_");
        let path = format!("v2/{}/manifests/{tag}", self.name);
        let bytes = self.get(&path, MANIFEST, MAX_JSON_BYTES)?;
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
        let bytes = self.get(&blob, "*/*", MAX_ARCHIVE_BYTES)?;
        let label = self.url_text(&blob);
        verify_digest(&bytes, &layer.digest, &label)?;
        archive::unpack(&bytes, dest, &label, archive::LIMITS)
    }

    /// GETs `path` below the origin, fetching a bearer token first when
    /// the registry answers 401 with a Bearer challenge.
    fn get(&self, path: &str, accept: &str, limit: u64) -> Result<Vec<u8>, FetchError> {
        match self.try_get(path, accept, limit) {
            Err(FetchError::Status {
                status: 401,
                challenge: Some(challenge),
                ..
            }) if self.token.borrow().is_none() && challenge.starts_with("Bearer ") => {
                let token = self.fetch_token(&challenge)?;
                *self.token.borrow_mut() = Some(token);
                self.try_get(path, accept, limit)
            }
            other => other,
        }
    }

    fn try_get(&self, path: &str, accept: &str, limit: u64) -> Result<Vec<u8>, FetchError> {
        let url = self.origin.join(path).map_err(|e| self.bad(path, e))?;
        let token = self.token.borrow().clone();
        Get {
            url,
            repository: &self.origin,
            credentials: self.credentials,
            pass_credentials: false,
            limit,
            timeout: self.timeout,
            accept,
            bearer: token.as_deref(),
        }
        .send()
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
        FetchError::BadUrl {
            url: self.url_text(path),
            message: error.to_string(),
        }
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
}
