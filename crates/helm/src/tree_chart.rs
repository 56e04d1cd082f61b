//! A chart directory of a Git tree, copied into the sandbox with the
//! `file://` dependencies it names, then its `dependencies` built
//! ([`dependencies`]).

use std::path::{Path, PathBuf};

use driftless_render::tree::{EntryKind, join};

use crate::dependencies::{self, Dependency};
use crate::fetch::ChartStore;
use crate::sandbox::Sandbox;
use crate::{HelmError, TreeChart};

/// At most this many bytes are copied out of a tree for one chart.
const MAX_COPY_BYTES: u64 = 256 * 1024 * 1024;

/// At most this many files are copied out of a tree for one chart.
const MAX_COPY_FILES: usize = 20_000;

/// The fields of a `Chart.yaml` read here.
#[derive(Debug, serde::Deserialize)]
struct ChartFile {
    #[serde(default)]
    version: String,
    #[serde(default)]
    dependencies: Vec<Dependency>,
}

/// A chart copied out of a tree, ready for `helm template`.
pub(crate) struct Prepared {
    /// The chart directory in the sandbox.
    pub(crate) dir: PathBuf,
    /// The chart's own `version`.
    pub(crate) version: String,
}

/// Copies the chart of `spec` into `sandbox` and builds its dependencies.
pub(crate) fn prepare(
    store: &ChartStore<'_>,
    sandbox: &Sandbox,
    spec: &TreeChart<'_>,
) -> Result<Prepared, HelmError> {
    let path = join("", &spec.path).map_err(|source| tree_error(spec, source))?;
    let chart_yaml = join(&path, "Chart.yaml").map_err(|source| tree_error(spec, source))?;
    let bytes = spec
        .tree
        .read(&chart_yaml)
        .map_err(|source| tree_error(spec, source))?;
    let text = String::from_utf8_lossy(&bytes);
    let chart: ChartFile = serde_saphyr::from_str(&text).map_err(|e| HelmError::Input {
        chart: spec.path.clone(),
        field: chart_yaml.clone(),
        message: e.to_string(),
    })?;
    let root = sandbox.work().join("tree");
    let mut budget = Budget::default();
    copy_dir(spec, &path, &root, &mut budget)?;
    for dependency in &chart.dependencies {
        if let Some(local) = dependency.repository.strip_prefix("file://") {
            let dep = join(&path, local).map_err(|source| tree_error(spec, source))?;
            copy_dir(spec, &dep, &root, &mut budget)?;
        }
    }
    let dir = root.join(&path);
    if !chart.dependencies.is_empty() {
        dependencies::build(store, sandbox, spec, &chart.dependencies, &dir)?;
    }
    Ok(Prepared {
        dir,
        version: chart.version,
    })
}

#[derive(Default)]
struct Budget {
    bytes: u64,
    files: usize,
}

/// Copies `dir` of the tree (recursively, `.git` left out) to the same
/// relative place below `dest`. Symlinks leading outside the tree are not
/// listed by the tree, so they are never copied.
fn copy_dir(
    spec: &TreeChart<'_>,
    dir: &str,
    dest: &Path,
    budget: &mut Budget,
) -> Result<(), HelmError> {
    let io = |path: &str, source| HelmError::Io {
        chart: spec.path.clone(),
        path: path.to_string(),
        source,
    };
    std::fs::create_dir_all(dest.join(dir)).map_err(|e| io(dir, e))?;
    for (name, kind) in spec
        .tree
        .list(dir)
        .map_err(|source| tree_error(spec, source))?
    {
        if name == ".git" {
            continue;
        }
        let path = join(dir, &name).map_err(|source| tree_error(spec, source))?;
        match kind {
            EntryKind::Dir => copy_dir(spec, &path, dest, budget)?,
            EntryKind::File => {
                let bytes = spec
                    .tree
                    .read(&path)
                    .map_err(|source| tree_error(spec, source))?;
                budget.bytes += bytes.len() as u64;
                budget.files += 1;
                if budget.bytes > MAX_COPY_BYTES || budget.files > MAX_COPY_FILES {
                    return Err(HelmError::TooLarge {
                        chart: spec.path.clone(),
                        path,
                        message: format!(
                            "the chart is larger than a render may copy ({MAX_COPY_FILES} files, {} MiB)",
                            MAX_COPY_BYTES >> 20
                        ),
                    });
                }
                std::fs::write(dest.join(&path), bytes).map_err(|e| io(&path, e))?;
            }
        }
    }
    Ok(())
}

fn tree_error(spec: &TreeChart<'_>, source: driftless_render::TreeError) -> HelmError {
    HelmError::Tree {
        chart: format!("{} in {}", spec.path, spec.repo_url),
        source,
    }
}
