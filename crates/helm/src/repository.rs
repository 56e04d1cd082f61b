//! Checking a chart repository on its own (Flux's `HelmRepository`): its
//! `index.yaml` fetched by the pinned helm (`helm repo update`) in a fresh
//! sandbox holding only its credentials, and digested.

use std::ffi::OsString;

use sha2::{Digest, Sha256};

use crate::fetch::{ChartStore, helm_failed, secrets};
use crate::render::Renderer;
use crate::sandbox::RepoEntry;
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
        let label = "index.yaml";
        names::check_repo_url(label, url)?;
        let store = self.store();
        let sandbox = store.sandbox(label)?;
        sandbox
            .write_repositories(&[RepoEntry {
                name: "repo".into(),
                url,
                credentials,
                pass_credentials: false,
            }])
            .map_err(|source| HelmError::Io {
                chart: label.to_string(),
                path: sandbox.work().display().to_string(),
                source,
            })?;
        let update: Vec<OsString> = vec!["repo".into(), "update".into(), "repo".into()];
        store
            .helm
            .run(&sandbox, &sandbox.work(), &update, &secrets(credentials))
            .map_err(|m| helm_failed(label, "-", url)("repo update", m))?;
        let bytes = std::fs::read(sandbox.index_file("repo")).map_err(|e| HelmError::Index {
            repository: url.to_string(),
            message: e.to_string(),
        })?;
        let hex: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(RepositoryIndex {
            digest: format!("sha256:{hex}"),
            size: bytes.len() as u64,
        })
    }

    fn store(&self) -> ChartStore<'_> {
        let (helm, root) = self.parts();
        ChartStore { helm, root }
    }
}
