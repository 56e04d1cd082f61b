//! Fetching a chart into an on-disk cache of unpacked charts keyed by
//! (repository, chart, version): from a chart repository over HTTP(S) in
//! Rust ([`crate::download`]) or from an OCI registry through the
//! distribution API ([`crate::oci`]): helm does not run to fetch.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::binary::Helm;
use crate::download::Repository;
use crate::oci::Registry;
use crate::sandbox::Sandbox;
use crate::{HelmError, OciChart, RepoChart, cache, index, names};

/// A chart unpacked in the cache.
#[derive(Debug)]
pub(crate) struct Fetched {
    /// The unpacked chart directory (holding `Chart.yaml`).
    pub(crate) dir: PathBuf,
    /// The version fetched.
    pub(crate) version: String,
}

/// Where charts are unpacked and sandboxes made.
pub(crate) struct ChartStore<'a> {
    pub(crate) helm: &'a Helm,
    pub(crate) root: &'a Path,
    /// Ask the repository again even for an exact version already
    /// unpacked (a hard refresh): the index is re-read.
    pub(crate) refresh: bool,
}

impl ChartStore<'_> {
    /// A fresh sandbox below the store's root.
    pub(crate) fn sandbox(&self, chart: &str) -> Result<Sandbox, HelmError> {
        let parent = self.root.join("tmp");
        Sandbox::new(&parent).map_err(|source| HelmError::Io {
            chart: chart.to_string(),
            path: parent.display().to_string(),
            source,
        })
    }

    /// The cache directory of `chart` `version` from `source` (the
    /// repository URL and its credentials' digest: a chart fetched with
    /// credentials is never handed to a render without them).
    fn cached(&self, source: &str, chart: &str, version: &str) -> PathBuf {
        let digest = Sha256::digest(source.as_bytes());
        let key: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        self.root.join("charts").join(key).join(chart).join(version)
    }

    /// The chart `spec` names, from its repository (or the cache when the
    /// version is exact and already unpacked, unless `refresh`): the index
    /// and the archive are read over HTTP(S) here, helm does not run.
    pub(crate) fn fetch_repo(&self, spec: &RepoChart) -> Result<Fetched, HelmError> {
        names::check_chart_name(&spec.chart)?;
        names::check_repo_url(&spec.chart, &spec.url)?;
        let source = cache::source_key(&spec.url, spec.credentials.as_ref());
        if !self.refresh
            && let Some(hit) = self.lookup(&source, &spec.chart, spec.version.trim())
        {
            return Ok(hit);
        }
        let failed = |version: &str| fetch_failed(&spec.chart, version, &spec.url);
        let repository = Repository::new(
            &spec.url,
            spec.credentials.as_ref(),
            spec.pass_credentials,
            self.helm.timeout(),
        )
        .map_err(failed(&spec.version))?;
        let bytes = repository.index().map_err(failed(&spec.version))?;
        let text = String::from_utf8(bytes).map_err(|e| HelmError::Index {
            repository: spec.url.clone(),
            message: format!("not UTF-8: {e}"),
        })?;
        let entries = index::chart_entries(&text, &spec.url, &spec.chart)?;
        let versions: Vec<String> = entries.iter().map(|e| e.version.clone()).collect();
        let version = index::pick_version(&versions, &spec.version, &spec.url, &spec.chart)?;
        if let Some(hit) = self.lookup(&source, &spec.chart, &version) {
            return Ok(hit);
        }
        let entry = entries
            .iter()
            .find(|e| e.version == version)
            .cloned()
            .unwrap_or_default();
        let sandbox = self.sandbox(&spec.chart)?;
        let pulled = sandbox.work().join("pulled");
        std::fs::create_dir_all(&pulled).map_err(|e| self.io_error(&spec.chart, &pulled, e))?;
        repository
            .unpack(&entry, &pulled)
            .map_err(failed(&version))?;
        self.store(&sandbox, &source, &spec.chart, &version)
    }

    /// The chart `spec` names, from its OCI registry (or the cache when the
    /// version is exact and already unpacked, unless `refresh`), read
    /// through the distribution API here: helm does not run. A range is
    /// resolved from the registry's tags.
    pub(crate) fn fetch_oci(&self, spec: &OciChart) -> Result<Fetched, HelmError> {
        names::check_chart_name(&spec.chart)?;
        let (reference, _host) = names::oci_reference(&spec.chart, &spec.url)?;
        let source = cache::source_key(&reference, spec.credentials.as_ref());
        let wanted = spec.version.trim();
        if !self.refresh
            && let Some(hit) = self.lookup(&source, &spec.chart, wanted)
        {
            return Ok(hit);
        }
        let failed = |version: &str| fetch_failed(&spec.chart, version, &reference);
        let registry = Registry::new(
            &reference,
            spec.credentials.as_ref(),
            spec.plain_http,
            self.helm.timeout(),
        )
        .map_err(failed(wanted))?;
        let version = if index::looks_exact(wanted) {
            wanted.to_string()
        } else {
            let tags = registry.versions().map_err(failed(wanted))?;
            index::pick_version(&tags, wanted, &reference, &spec.chart)?
        };
        if let Some(hit) = self.lookup(&source, &spec.chart, &version) {
            return Ok(hit);
        }
        let sandbox = self.sandbox(&spec.chart)?;
        let pulled = sandbox.work().join("pulled");
        std::fs::create_dir_all(&pulled).map_err(|e| self.io_error(&spec.chart, &pulled, e))?;
        registry
            .unpack(&version, &pulled)
            .map_err(failed(&version))?;
        self.store(&sandbox, &source, &spec.chart, &version)
    }

    fn lookup(&self, source: &str, chart: &str, version: &str) -> Option<Fetched> {
        if !names::is_plain_version(version) {
            return None;
        }
        let dir = self.cached(source, chart, version);
        dir.join("Chart.yaml").is_file().then(|| Fetched {
            dir,
            version: version.to_string(),
        })
    }

    /// Moves the chart unpacked in the sandbox into the cache.
    fn store(
        &self,
        sandbox: &Sandbox,
        source: &str,
        chart: &str,
        version: &str,
    ) -> Result<Fetched, HelmError> {
        let pulled = unpacked_dir(sandbox, chart)?;
        if !names::is_plain_version(version) {
            return Err(HelmError::Input {
                chart: chart.to_string(),
                field: "version".into(),
                message: format!("{version:?} (from the repository) is not a chart version"),
            });
        }
        let target = self.cached(source, chart, version);
        let parent = target.parent().unwrap_or(self.root);
        std::fs::create_dir_all(parent).map_err(|e| self.io_error(chart, parent, e))?;
        if let Err(error) = std::fs::rename(&pulled, &target) {
            // Another render stored the same chart first: use that one.
            if self.lookup(source, chart, version).is_none() {
                return Err(self.io_error(chart, &target, error));
            }
        }
        Ok(Fetched {
            dir: target,
            version: version.to_string(),
        })
    }

    fn io_error(&self, chart: &str, path: &Path, source: std::io::Error) -> HelmError {
        HelmError::Io {
            chart: chart.to_string(),
            path: path.display().to_string(),
            source,
        }
    }
}

/// The one directory the archive unpacked to (named after the chart).
fn unpacked_dir(sandbox: &Sandbox, chart: &str) -> Result<PathBuf, HelmError> {
    let pulled = sandbox.work().join("pulled");
    let dirs: Vec<PathBuf> = std::fs::read_dir(&pulled)
        .map_err(|source| HelmError::Io {
            chart: chart.to_string(),
            path: pulled.display().to_string(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    match dirs.as_slice() {
        [one] if one.join("Chart.yaml").is_file() => Ok(one.clone()),
        _ => Err(HelmError::Input {
            chart: chart.to_string(),
            field: "chart".into(),
            message:
                "the pulled archive does not hold exactly one chart directory with a Chart.yaml"
                    .into(),
        }),
    }
}

/// Makes the error of a failed helm step of `chart` `version` from `repository`.
pub(crate) fn helm_failed<'a>(
    chart: &'a str,
    version: &'a str,
    repository: &'a str,
) -> impl Fn(&'static str, String) -> HelmError + 'a {
    move |step, message| HelmError::Helm {
        chart: chart.to_string(),
        version: version.to_string(),
        repository: repository.to_string(),
        step,
        message,
    }
}

/// The error of a failed fetch of `chart` `version` (or the range asked for)
/// from `repository`.
fn fetch_failed(
    chart: &str,
    version: &str,
    repository: &str,
) -> impl FnOnce(crate::FetchError) -> HelmError + use<> {
    let (chart, version, repository) = (
        chart.to_string(),
        version.to_string(),
        repository.to_string(),
    );
    move |source| HelmError::Fetch {
        chart,
        version,
        repository,
        source: Box::new(source),
    }
}
