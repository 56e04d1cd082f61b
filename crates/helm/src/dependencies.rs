//! The `dependencies` of a chart from Git: fetched from their repositories
//! by `helm dependency build`, with only the credentials given for those
//! repositories, and the resulting `charts/` kept on disk when the build is
//! reproducible (a `Chart.lock` pins every version and every dependency is
//! remote), keyed by the digest of `Chart.yaml`, `Chart.lock`, the `charts/`
//! the repository holds and the credentials. A new commit or a values
//! change then reuses it instead of fetching again.

use std::ffi::OsString;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::fetch::{ChartStore, helm_failed};
use crate::sandbox::{RepoEntry, Sandbox};
use crate::{Credentials, HelmError, TreeChart, cache};

/// One `dependencies` entry of a `Chart.yaml`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Dependency {
    /// Where it comes from: `https://…`, `oci://…`, `file://…`, or a name.
    #[serde(default)]
    pub(crate) repository: String,
}

/// Builds the dependencies of the chart copied to `dir` (from the cache
/// when the same build was done before).
pub(crate) fn build(
    store: &ChartStore<'_>,
    sandbox: &Sandbox,
    spec: &TreeChart<'_>,
    dependencies: &[Dependency],
    dir: &Path,
) -> Result<(), HelmError> {
    let key = cache_key(spec, dependencies, dir);
    let cached = key
        .as_ref()
        .map(|k| store.root.join("dependencies").join(k));
    if let Some(cached) = &cached
        && cached.join("charts").is_dir()
    {
        let charts = dir.join("charts");
        let _ = std::fs::remove_dir_all(&charts);
        copy_dir(&cached.join("charts"), &charts).map_err(|e| io_error(spec, &charts, e))?;
        return Ok(());
    }
    run(store, sandbox, spec, dependencies, dir)?;
    if let Some(cached) = cached {
        // Best effort: a failure to keep it only costs a rebuild next time.
        let staging = sandbox.work().join("dependencies");
        let kept = copy_dir(&dir.join("charts"), &staging.join("charts")).and_then(|()| {
            std::fs::create_dir_all(store.root.join("dependencies"))?;
            std::fs::rename(&staging, &cached)
        });
        if let Err(error) = kept {
            tracing::debug!(chart = %spec.path, %error, "dependencies not cached");
        }
    }
    Ok(())
}

/// The cache key of a reproducible build, `None` when it is not one.
fn cache_key(spec: &TreeChart<'_>, dependencies: &[Dependency], dir: &Path) -> Option<String> {
    let remote = |url: &str| {
        ["http://", "https://", "oci://"]
            .iter()
            .any(|p| url.starts_with(p))
    };
    if !dependencies.iter().all(|d| remote(&d.repository)) {
        return None;
    }
    let mut hasher = Sha256::new();
    for file in ["Chart.yaml", "Chart.lock"] {
        let bytes = std::fs::read(dir.join(file)).ok()?;
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    digest_dir(&dir.join("charts"), &mut hasher).ok()?;
    let mut credentials: Vec<String> = spec
        .dependency_credentials
        .iter()
        .map(|(url, c)| cache::source_key(url, Some(c)))
        .collect();
    credentials.sort();
    hasher.update(credentials.join("\0").as_bytes());
    Some(
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

/// Feeds every file below `dir` (names and contents, sorted) into `hasher`;
/// nothing when `dir` does not exist.
fn digest_dir(dir: &Path, hasher: &mut Sha256) -> std::io::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        hasher.update(entry.file_name().as_encoded_bytes());
        if entry.file_type()?.is_dir() {
            digest_dir(&entry.path(), hasher)?;
        } else {
            let bytes = std::fs::read(entry.path())?;
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
        }
    }
    Ok(())
}

/// Copies the directory `from` (regular files and directories) to `to`.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// `helm dependency build` in `dir`, the remote repositories (and their
/// credentials, when given) written into the sandbox first.
fn run(
    store: &ChartStore<'_>,
    sandbox: &Sandbox,
    spec: &TreeChart<'_>,
    dependencies: &[Dependency],
    dir: &Path,
) -> Result<(), HelmError> {
    let credentials_of = |url: &str| -> Option<&Credentials> {
        let url = url.trim_end_matches('/');
        spec.dependency_credentials
            .iter()
            .find(|(u, _)| u.trim_end_matches('/') == url)
            .map(|(_, c)| c)
    };
    let io = |e| io_error(spec, &sandbox.work(), e);
    let mut repos = Vec::new();
    for (i, dependency) in dependencies.iter().enumerate() {
        let url = dependency.repository.as_str();
        if url.starts_with("http://") || url.starts_with("https://") {
            repos.push(RepoEntry {
                name: format!("dependency-{i}"),
                url,
                credentials: credentials_of(url),
                pass_credentials: false,
            });
        } else if let Some(bare) = url.strip_prefix("oci://")
            && let Some(credentials) = credentials_of(url)
        {
            let host = bare.split('/').next().unwrap_or_default();
            sandbox
                .write_registry_login(host, credentials)
                .map_err(io)?;
        }
    }
    sandbox.write_repositories(&repos).map_err(io)?;
    let redact: Vec<&str> = spec
        .dependency_credentials
        .iter()
        .map(|(_, c)| c.password.as_str())
        .collect();
    let args: Vec<OsString> = vec!["dependency".into(), "build".into(), dir.into()];
    store.helm.run(sandbox, dir, &args, &redact).map_err(|m| {
        helm_failed(&spec.path, &spec.revision, &spec.repo_url)("dependency build", m)
    })?;
    Ok(())
}

fn io_error(spec: &TreeChart<'_>, path: &Path, source: std::io::Error) -> HelmError {
    HelmError::Io {
        chart: spec.path.clone(),
        path: path.display().to_string(),
        source,
    }
}
