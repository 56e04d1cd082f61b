//! Checking a chart repository on its own (Flux's `HelmRepository`): its
//! `index.yaml` fetched over HTTP(S) with only its credentials, and
//! digested.

use sha2::{Digest, Sha256};

use crate::download::Repository;
use crate::render::Renderer;
use crate::{Credentials, HelmError, names};

/// A repository's index as last fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepositoryIndex {
    /// `sha256:<hex>` of the `index.yaml` bytes.
    pub digest: String,
    /// Its size in bytes.
    pub size: u64,
}

impl Renderer {
    /// Fetches the `index.yaml` of the chart repository `url` with
    /// `credentials` and digests it. Blocking: run it off the async runtime.
    pub fn fetch_index(
        &self,
        url: &str,
        credentials: Option<&Credentials>,
    ) -> Result<RepositoryIndex, HelmError> {
        names::check_repo_url("index.yaml", url)?;
        let failed = |e: crate::FetchError| HelmError::Index {
            repository: url.to_string(),
            message: e.to_string(),
        };
        let bytes = Repository::new(url, credentials, false, self.helm.timeout())
            .and_then(|r| r.index())
            .map_err(failed)?;
        let hex: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(RepositoryIndex {
            digest: format!("sha256:{hex}"),
            size: bytes.len() as u64,
        })
    }
}
