//! Which files changed between two commits of a GitRepository: the
//! GitRepository reconcile works it out when its artifact moves, and every
//! Kustomization of that source reads the answer (to order its reconcile,
//! and to skip a render whose inputs did not change). The mirror cache
//! remembers it ([`driftless_source::MirrorCache::changed_paths`]), so one
//! push is diffed once.

use std::sync::Arc;

use crate::pipeline::Source;

/// The files that changed between commits `from` and `to` (full SHAs in
/// the shared mirror) of `url`: remembered, else diffed in the mirror.
/// Also what a render at a new commit asks before it takes the last
/// render over ([`crate::engine`]). The error names the repository and
/// both commits.
pub(crate) async fn between(
    source: &dyn Source,
    url: &str,
    from: &str,
    to: &str,
) -> Result<Arc<[String]>, String> {
    source
        .changed_paths(url, from, to)
        .await
        .map_err(|e| format!("the files changed in {url} between {from} and {to}: {e}"))
}
