//! The phases themselves: each takes what the previous one returned and
//! the shared [`Context`] (or the sync [`Engine`] to act with: the
//! controller's own, or one impersonating a ServiceAccount), and returns a
//! value or its phase's error.

use std::sync::Arc;

use driftless_render::{Object, RenderOptions, Rendered};
use driftless_sync::{Comparison, Deletion, SyncResult, Target};

use super::error::{ApplyError, CompareError, DeleteError, Owner, RenderError, ResolveError};
use crate::adapters::Engine;
use crate::context::Context;
use crate::gitrepository::changes;
use crate::kustomization::unchanged;
use crate::pipeline::{Resolution, SourceFilter};
use crate::render_cache::RenderKey;

/// Resolves `revision` (branch, tag, SHA) of `repo` to a commit SHA;
/// `fetch` fetches even when a recent fetch is cached (a failed fetch with
/// a last fetched state to fall back on is [`Resolution::stale`]).
pub async fn resolve(
    ctx: &Context,
    owner: &Owner,
    repo: &str,
    revision: &str,
    fetch: bool,
) -> Result<Resolution, ResolveError> {
    ctx.source
        .resolve(repo, revision, fetch)
        .await
        .map_err(|e| ResolveError {
            owner: owner.clone(),
            repo: repo.to_string(),
            revision: revision.to_string(),
            message: e.0,
        })
}

/// What to render: a path of a commit, with options, and a fingerprint of
/// the options for the render cache.
#[derive(Clone, Debug)]
pub struct RenderRequest {
    /// The repository URL.
    pub repo: String,
    /// The full commit SHA.
    pub commit: String,
    /// The path to render.
    pub path: String,
    /// The render options (the controller's external kustomize is added).
    pub options: RenderOptions,
    /// Identifies the options in the cache key (equal options, equal fingerprint).
    pub fingerprint: String,
    /// The Flux source's file selection (`None`: every file of the commit).
    pub filter: Option<SourceFilter>,
}

/// Renders `request`, from the shared render cache unless `bypass_cache`.
pub async fn render(
    ctx: &Context,
    owner: &Owner,
    request: &RenderRequest,
    bypass_cache: bool,
) -> Result<Arc<Rendered>, RenderError> {
    let key = RenderKey {
        repo: request.repo.clone(),
        commit: request.commit.clone(),
        path: request.path.clone(),
        overrides: match &request.filter {
            Some(filter) => format!("{}|ignore:{:?}", request.fingerprint, filter.spec_ignore),
            None => request.fingerprint.clone(),
        },
    };
    if !bypass_cache && let Some(hit) = ctx.render_cache.get(&key) {
        ctx.metrics.rendered("cached");
        return Ok(hit);
    }
    if !bypass_cache && let Some(earlier) = carried_over(ctx, &key).await {
        ctx.metrics.rendered("carried");
        return Ok(earlier);
    }
    let mut options = request.options.clone();
    options
        .external_kustomize
        .clone_from(&ctx.config.kustomize_command);
    // kustomizations' `helmCharts` go to the controller's one helm renderer.
    options.chart_inflater = ctx
        .helm
        .clone()
        .map(|renderer| driftless_render::SharedInflater(renderer));
    let rendered = ctx
        .source
        .render(
            &request.repo,
            &request.commit,
            &request.path,
            &options,
            request.filter.as_ref(),
        )
        .await
        .map_err(|e| RenderError {
            owner: owner.clone(),
            repo: request.repo.clone(),
            revision: request.commit.clone(),
            path: request.path.clone(),
            message: e.0,
        })?;
    ctx.metrics.rendered("rendered");
    let rendered = Arc::new(rendered);
    ctx.render_cache.insert(key, rendered.clone());
    Ok(rendered)
}

/// The cached render of `key`'s repository, path and options at another
/// commit, when no file that differs between the two concerns it (none
/// below the rendered path, none in a directory it read a file from, no
/// `.sourceignore`): rendering `key` would give the same objects. It is
/// then cached under `key` too. A render that read no file, or a diff that
/// cannot be made, is never taken over.
async fn carried_over(ctx: &Context, key: &RenderKey) -> Option<Arc<Rendered>> {
    let from = ctx.render_cache.latest(key)?;
    let earlier_key = RenderKey {
        commit: from.clone(),
        ..key.clone()
    };
    let files_read = ctx.render_cache.files_read(&earlier_key)?;
    if files_read.is_empty() {
        return None;
    }
    let changed = match changes::between(&*ctx.source, &key.repo, &from, &key.commit).await {
        Ok(changed) => changed,
        Err(error) => {
            tracing::debug!(%error, "rendering: the files changed are not known");
            return None;
        }
    };
    if unchanged::touched(&changed, &unchanged::dirs(&key.path, &files_read)) {
        return None;
    }
    tracing::debug!(from, to = %key.commit, path = %key.path, "no file the render read changed: taken over");
    ctx.render_cache.carry(key.clone(), &from)
}

/// Compares `desired` with the cluster for `target` (nothing is written).
pub async fn compare(
    engine: &Engine,
    owner: &Owner,
    target: &Target,
    desired: &[Object],
    revision: &str,
) -> Result<Comparison, CompareError> {
    engine
        .diff(target, desired.to_vec())
        .await
        .map_err(|e| CompareError {
            owner: owner.clone(),
            revision: revision.to_string(),
            message: e.to_string(),
        })
}

/// Applies and prunes what `comparison` (of a successful render) says differs.
pub async fn sync(
    engine: &Engine,
    owner: &Owner,
    target: &Target,
    comparison: Comparison,
    revision: &str,
) -> Result<SyncResult, ApplyError> {
    let started = std::time::Instant::now();
    let outcome = engine
        .sync(target, comparison)
        .await
        .map_err(|e| ApplyError {
            owner: owner.clone(),
            revision: revision.to_string(),
            message: e.to_string(),
        });
    super::log::sync_finished(owner, revision, &outcome, started.elapsed());
    outcome
}

/// One pass of deleting every object tracked to `target.app` (the owner is
/// being deleted); call again until [`Deletion::finished`].
pub async fn delete(
    engine: &Engine,
    owner: &Owner,
    target: &Target,
) -> Result<Deletion, DeleteError> {
    engine
        .delete_tracked(target)
        .await
        .map_err(|e| DeleteError {
            owner: owner.clone(),
            message: e.to_string(),
        })
}
