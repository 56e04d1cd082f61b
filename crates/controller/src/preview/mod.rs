//! What an Application or a Kustomization would apply, computed outside a
//! reconcile and without writing anything: its source rendered (from Git,
//! or from a working copy on disk) the way the controller renders it, then
//! compared with the cluster through the sync engine's server-side dry-run
//! (Secret values redacted in the diffs). `driftless diff` and the web
//! page's "diff against Git" both use it, so neither re-implements how an
//! owner becomes a render and a sync target. Helm charts (from a chart
//! repository, an OCI registry or a Git path, with `$ref` value files) go
//! through the reconcile's own Helm render ([`crate::helm_render`]).

mod application;
mod helm;
mod kustomization;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use driftless_render::{DiskTree, Object, RenderOptions};
use driftless_source::{CommitInfo, MirrorCache};
use driftless_sync::{Comparison, SyncEngine, Target};

/// Why a preview could not be computed; each names the owner and what of
/// it failed (never a Secret value).
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The owner's spec cannot be rendered as it is (no source, a bad
    /// override, fields driftless does not support).
    #[error("{owner}: {message}")]
    Spec {
        /// `Application ns/name` or `Kustomization ns/name`.
        owner: String,
        /// What is wrong.
        message: String,
    },
    /// The source (repository, revision, GitRepository) is not usable.
    #[error("{owner}: {message}")]
    Source {
        /// The owner.
        owner: String,
        /// What failed, naming the repository (credentials removed) or the GitRepository.
        message: String,
    },
    /// A chart from a Helm repository or OCI registry could not be
    /// rendered (the message names the chart, version and file).
    #[error("{owner}: chart {chart} version {version} from {repository}: {message}")]
    Chart {
        /// The owner.
        owner: String,
        /// The chart name.
        chart: String,
        /// The version (or range) asked for.
        version: String,
        /// The repository or registry (credentials removed).
        repository: String,
        /// Helm's error.
        message: String,
    },
    /// The render failed.
    #[error("{owner}: rendering {path} at {revision}: {message}")]
    Render {
        /// The owner.
        owner: String,
        /// The path rendered.
        path: String,
        /// The commit, or the directory on disk.
        revision: String,
        /// The renderer's error.
        message: String,
    },
    /// The comparison with the cluster failed.
    #[error("{owner}: comparing with the cluster: {message}")]
    Compare {
        /// The owner.
        owner: String,
        /// The sync engine's error.
        message: String,
    },
    /// The repository cache could not be opened.
    #[error("repository cache {dir}: {message}")]
    Cache {
        /// The cache directory.
        dir: String,
        /// Why.
        message: String,
    },
}

/// One of several sources of a preview and what it was rendered at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceRevision {
    /// How messages name it, e.g. `spec.sources[1] (path "manifests")`.
    pub source: String,
    /// The commit (full SHA) or chart version rendered.
    pub revision: String,
}

/// A comparison and what it was made at.
#[derive(Debug)]
pub struct Preview {
    /// The commit rendered (full SHA), or the directory for a local render
    /// (for several sources, every one's, `,`-separated; see `sources`).
    pub revision: String,
    /// For several sources, each rendering source and the revision it was
    /// rendered at, in `spec.sources` order; empty for one source.
    pub sources: Vec<SourceRevision>,
    /// The comparison with the cluster (per-resource unified diffs).
    pub comparison: Comparison,
}

/// Computes previews with its own repository cache (never the running
/// controller's mirrors: a preview must not take their locks).
pub struct Previewer {
    client: kube::Client,
    cache: Arc<MirrorCache>,
    control_namespace: Option<String>,
    credentials_namespace: String,
    helm_work_dir: PathBuf,
    helm: Option<Arc<driftless_helm::Renderer>>,
    capabilities: crate::helm_render::ClusterCapabilities,
}

impl Previewer {
    /// A previewer keeping its Git mirrors in `cache_dir`; Argo CD
    /// repository credentials are read from `credentials_namespace`.
    /// `control_namespace` is the controller's control-plane namespace
    /// (Applications elsewhere are tracked as `<namespace>_<name>`);
    /// `None` tracks every Application by its bare name.
    pub fn new(
        client: kube::Client,
        cache_dir: &Path,
        credentials_namespace: &str,
        control_namespace: Option<String>,
    ) -> Result<Self, PreviewError> {
        let credentials = driftless_source::credentials::KubeSecretCredentials::new(
            client.clone(),
            credentials_namespace,
        );
        let cache = MirrorCache::new(
            cache_dir,
            Arc::new(credentials),
            driftless_source::Options::default(),
        )
        .map_err(|e| PreviewError::Cache {
            dir: cache_dir.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(Previewer {
            client,
            cache: Arc::new(cache),
            control_namespace,
            credentials_namespace: credentials_namespace.to_string(),
            helm_work_dir: cache_dir.join("_helm"),
            helm: None,
            capabilities: Default::default(),
        })
    }

    /// Renders Helm charts with the pinned helm at `program` (sandboxed as
    /// the controller runs it; its charts kept in the cache directory).
    /// Without it, a Helm Application's preview is an error saying so.
    pub fn with_helm(mut self, program: Option<PathBuf>) -> Self {
        self.helm = program.map(|program| {
            Arc::new(driftless_helm::Renderer::new(
                driftless_helm::Helm::new(program),
                self.helm_work_dir.clone(),
            ))
        });
        self
    }

    /// The message, author and time of commit `sha` of `repo` (fetched
    /// into this cache when it is not there yet).
    pub async fn commit(&self, repo: &str, sha: &str) -> Result<CommitInfo, PreviewError> {
        let failed = |message: String| PreviewError::Source {
            owner: format!("repository {}", driftless_source::redact(repo)),
            message,
        };
        let resolved = self
            .cache
            .resolve(repo, sha, false)
            .await
            .map_err(|e| failed(format!("resolving {sha}: {e}")))?;
        let tree = self
            .cache
            .tree(repo, &resolved.sha)
            .map_err(|e| failed(format!("reading commit {}: {e}", resolved.sha)))?;
        tokio::task::spawn_blocking(move || tree.commit_info())
            .await
            .map_err(|e| failed(format!("the commit task failed: {e}")))?
            .map_err(|e| failed(format!("reading commit {}: {}", resolved.sha, e.message())))
    }

    /// `source`'s repository at its target revision (fetched into this
    /// cache): the commit and its files.
    async fn git_tree(
        &self,
        owner: &str,
        source: &driftless_api::ApplicationSource,
    ) -> Result<(String, driftless_source::GitTree), PreviewError> {
        let repo = &source.repo_url;
        let revision = source.revision();
        let source_error = |message: String| PreviewError::Source {
            owner: owner.to_string(),
            message,
        };
        let resolved = self
            .cache
            .resolve(repo, revision, true)
            .await
            .map_err(|e| {
                source_error(format!(
                    "resolving {revision} of {}: {e}",
                    driftless_source::redact(repo)
                ))
            })?;
        let tree = self
            .cache
            .tree(repo, &resolved.sha)
            .map_err(|e| source_error(format!("reading commit {}: {e}", resolved.sha)))?;
        Ok((resolved.sha, tree))
    }

    async fn compare(
        &self,
        owner: &str,
        target: &Target,
        objects: Vec<Object>,
    ) -> Result<Comparison, PreviewError> {
        SyncEngine::new(self.client.clone())
            .diff(target, objects)
            .await
            .map_err(|e| PreviewError::Compare {
                owner: owner.to_string(),
                message: e.to_string(),
            })
    }
}

/// Where a preview's objects come from.
#[derive(Clone, Debug)]
pub enum Origin {
    /// The owner's source in Git, as the controller renders it.
    Git,
    /// A directory on disk (a working copy), rendered with the owner's
    /// options instead of the path in Git.
    Local(PathBuf),
}

/// Renders `dir` on disk, confined to its Git work tree (or to itself).
pub fn render_dir(dir: &Path, options: &RenderOptions) -> Result<Vec<Object>, String> {
    let (root, relative) = work_tree(dir)?;
    let tree = DiskTree::new(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    driftless_render::render(&tree, &relative, options)
        .map(|r| r.objects)
        .map_err(|e| format!("rendering {}: {e}", dir.display()))
}

/// The Git work tree holding the directory `dir` (or `dir` itself), and
/// `dir` relative to it (`/`-separated).
fn work_tree(dir: &Path) -> Result<(PathBuf, String), String> {
    let path = dir
        .canonicalize()
        .map_err(|e| format!("{}: cannot open: {e}", dir.display()))?;
    if !path.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    let root = path
        .ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| path.clone());
    let relative = path
        .strip_prefix(&root)
        .unwrap_or(Path::new(""))
        .to_string_lossy()
        .replace('\\', "/");
    Ok((root, relative))
}

/// Renders `path` of `tree` off the async runtime.
async fn render_tree<T: driftless_render::FileTree + Send + 'static>(
    tree: T,
    path: String,
    options: RenderOptions,
) -> Result<Vec<Object>, String> {
    tokio::task::spawn_blocking(move || driftless_render::render(&tree, &path, &options))
        .await
        .map_err(|e| format!("the render task failed: {e}"))?
        .map(|r| r.objects)
        .map_err(|e| e.to_string())
}
