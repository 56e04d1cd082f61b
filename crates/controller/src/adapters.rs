//! [`Source`] implemented on the real pipeline: the shared Git mirror cache
//! (`driftless_source`) and the renderer (`driftless_render`, run off the
//! async runtime).

use std::sync::Arc;

use driftless_render::{FileTree, RenderOptions, Rendered};
use driftless_source::MirrorCache;
use driftless_source::ignore::SOURCEIGNORE_FILE;

use crate::filtered_tree::{FilteredTree, read_ignore};
use crate::ignore_cache::{IgnoreCache, IgnoreKey};
use crate::metrics::Metrics;
use crate::pipeline::{BoxFut, Resolution, Source, SourceFilter, StageError};

/// Git through the mirror cache, rendered natively. One instance serves
/// every reconcile (it is the controller context's `source`), so its
/// [`IgnoreCache`] is shared by all Kustomizations.
pub struct GitSource {
    cache: Arc<MirrorCache>,
    metrics: Arc<Metrics>,
    ignores: Arc<IgnoreCache>,
}

impl GitSource {
    /// A source over `cache`, recording fetch durations in `metrics`.
    pub fn new(cache: Arc<MirrorCache>, metrics: Arc<Metrics>) -> Self {
        GitSource {
            cache,
            metrics,
            ignores: Arc::default(),
        }
    }
}

impl GitSource {
    /// When `key`'s rules are not read yet and the newest commit read for
    /// its repository and `spec.ignore` differs from it in no
    /// `.sourceignore` file, keeps that commit's rules for it, so the new
    /// commit's whole tree is not walked (a push to a large repository).
    async fn inherit_ignore(&self, key: &IgnoreKey) {
        if self.ignores.contains(key) {
            return;
        }
        let Some((base, rules)) = self.ignores.latest_other(key) else {
            return;
        };
        let Ok(changed) = self
            .cache
            .changed_paths(&key.repo, &base, &key.commit)
            .await
        else {
            return;
        };
        let is_ignore_file = |p: &String| p.rsplit('/').next() == Some(SOURCEIGNORE_FILE);
        if !changed.iter().any(is_ignore_file) {
            self.ignores.insert(key.clone(), rules);
        }
    }
}

impl Source for GitSource {
    fn resolve<'a>(
        &'a self,
        repo: &'a str,
        revision: &'a str,
        refresh: bool,
    ) -> BoxFut<'a, Result<Resolution, StageError>> {
        Box::pin(async move {
            let resolved = self
                .cache
                .resolve(repo, revision, refresh)
                .await
                .map_err(StageError::from_display)?;
            if resolved.fetched {
                self.metrics.observe_fetch(&self.cache, repo);
            }
            if let Some(stale) = &resolved.stale {
                tracing::warn!(repo, revision, error = %stale, "fetch failed; using the last fetched state");
            }
            Ok(Resolution {
                sha: resolved.sha,
                stale: resolved.stale,
            })
        })
    }

    fn render<'a>(
        &'a self,
        repo: &'a str,
        commit: &'a str,
        path: &'a str,
        options: &'a RenderOptions,
        filter: Option<&'a SourceFilter>,
    ) -> BoxFut<'a, Result<Rendered, StageError>> {
        Box::pin(async move {
            let tree = self
                .cache
                .tree(repo, commit)
                .map_err(StageError::from_display)?;
            let key = filter.map(|f| IgnoreKey {
                repo: repo.to_string(),
                commit: commit.to_string(),
                spec_ignore: f.spec_ignore.clone(),
            });
            if let Some(key) = &key {
                self.inherit_ignore(key).await;
            }
            let (path, options, filter) = (path.to_string(), options.clone(), filter.cloned());
            let ignores = self.ignores.clone();
            let render = move || match (filter, key) {
                (Some(f), Some(key)) => {
                    let ignore = ignores
                        .get_or_read(key, || read_ignore(&tree, f.spec_ignore.as_deref()))
                        .map_err(|e| StageError(format!("source ignore rules: {e}")))?;
                    let tree = FilteredTree::with_ignore(tree, ignore);
                    driftless_render::render(&tree, &path, &options)
                        .map_err(StageError::from_display)
                }
                _ => driftless_render::render(&tree, &path, &options)
                    .map_err(StageError::from_display),
            };
            tokio::task::spawn_blocking(render)
                .await
                .map_err(|e| StageError(format!("render task failed: {e}")))?
        })
    }

    fn tree(&self, repo: &str, commit: &str) -> Result<Arc<dyn FileTree>, StageError> {
        let tree = self
            .cache
            .tree(repo, commit)
            .map_err(StageError::from_display)?;
        Ok(Arc::new(tree))
    }

    fn changed_paths<'a>(
        &'a self,
        repo: &'a str,
        from: &'a str,
        to: &'a str,
    ) -> BoxFut<'a, Result<Arc<[String]>, StageError>> {
        Box::pin(async move {
            self.cache
                .changed_paths(repo, from, to)
                .await
                .map_err(StageError::from_display)
        })
    }
}

/// The sync engine, with its errors as pipeline stage errors. The engine's
/// futures are `Send` (checked when the sync crate compiles), so they run
/// directly on the controller's runtime.
#[derive(Clone)]
pub struct Engine(pub driftless_sync::SyncEngine);

impl Engine {
    /// [`driftless_sync::SyncEngine::diff`].
    pub async fn diff(
        &self,
        target: &driftless_sync::Target,
        desired: Vec<driftless_render::Object>,
    ) -> Result<driftless_sync::Comparison, StageError> {
        self.0
            .diff(target, desired)
            .await
            .map_err(StageError::from_display)
    }

    /// [`driftless_sync::SyncEngine::diff_after_sync`].
    pub async fn diff_after_sync(
        &self,
        target: &driftless_sync::Target,
        desired: Vec<driftless_render::Object>,
        result: &driftless_sync::SyncResult,
    ) -> Result<driftless_sync::Comparison, StageError> {
        self.0
            .diff_after_sync(target, desired, result)
            .await
            .map_err(StageError::from_display)
    }

    /// [`driftless_sync::SyncEngine::sync`].
    pub async fn sync(
        &self,
        target: &driftless_sync::Target,
        comparison: driftless_sync::Comparison,
    ) -> Result<driftless_sync::SyncResult, StageError> {
        self.0
            .sync(target, &comparison)
            .await
            .map_err(StageError::from_display)
    }

    /// [`driftless_sync::SyncEngine::delete_tracked`].
    pub async fn delete_tracked(
        &self,
        target: &driftless_sync::Target,
    ) -> Result<driftless_sync::Deletion, StageError> {
        self.0
            .delete_tracked(target)
            .await
            .map_err(StageError::from_display)
    }
}
