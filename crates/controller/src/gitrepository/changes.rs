//! Which files changed between two commits of a GitRepository: the
//! GitRepository reconcile works it out when its artifact moves, and every
//! Kustomization of that source reads the answer (to order its reconcile,
//! and to skip a render whose inputs did not change). The mirror cache
//! remembers it ([`driftless_source::MirrorCache::changed_paths`]), so one
//! push is diffed once.

use std::sync::Arc;

/// The files that changed between commits `from` and `to` (full SHAs in
/// the shared mirror) of `url`: remembered, else diffed in the mirror.
/// The error names the repository and both commits.
pub(crate) async fn between(
    repos: &super::GitRepositories,
    url: &str,
    from: &str,
    to: &str,
) -> Result<Arc<[String]>, String> {
    let cache = repos
        .cache()
        .ok_or_else(|| "the repository cache is not started".to_string())?;
    cache
        .changed_paths(url, from, to)
        .await
        .map_err(|e| format!("the files changed in {url} between {from} and {to}: {e}"))
}
