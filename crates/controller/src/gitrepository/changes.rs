//! Which files changed between two commits of a GitRepository, computed
//! once per pair and remembered: the GitRepository reconcile works it out
//! when its artifact moves, and every Kustomization of that source reads
//! the answer (to order its reconcile, and to skip a render whose inputs
//! did not change) instead of diffing the same trees again.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// How many recent diffs are remembered (a few pushes in flight).
const KEPT: usize = 8;

/// The files that changed between `from` and `to` of `url`.
#[derive(Clone, Debug)]
struct Change {
    url: String,
    from: String,
    to: String,
    paths: Arc<[String]>,
}

/// The last few diffs, newest last.
#[derive(Debug, Default)]
pub(crate) struct Changes(Mutex<VecDeque<Change>>);

impl Changes {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Change>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The remembered diff between `from` and `to` of `url`, if any.
    pub(crate) fn get(&self, url: &str, from: &str, to: &str) -> Option<Arc<[String]>> {
        self.lock()
            .iter()
            .find(|c| c.url == url && c.from == from && c.to == to)
            .map(|c| c.paths.clone())
    }

    /// Remembers a diff, forgetting the oldest beyond [`KEPT`].
    pub(crate) fn insert(&self, url: &str, from: &str, to: &str, paths: Arc<[String]>) {
        let mut kept = self.lock();
        kept.retain(|c| !(c.url == url && c.from == from && c.to == to));
        kept.push_back(Change {
            url: url.to_string(),
            from: from.to_string(),
            to: to.to_string(),
            paths,
        });
        while kept.len() > KEPT {
            kept.pop_front();
        }
    }
}

/// The files that changed between commits `from` and `to` (full SHAs in
/// the shared mirror) of `url`: remembered, else diffed in the mirror.
/// The error names the repository and both commits.
pub(crate) async fn between(
    repos: &super::GitRepositories,
    url: &str,
    from: &str,
    to: &str,
) -> Result<Arc<[String]>, String> {
    if let Some(paths) = repos.changes.get(url, from, to) {
        return Ok(paths);
    }
    let cache = repos
        .cache()
        .ok_or_else(|| "the repository cache is not started".to_string())?;
    let paths: Arc<[String]> = cache
        .changed_paths(url, from, to)
        .await
        .map_err(|e| format!("the files changed in {url} between {from} and {to}: {e}"))?
        .into();
    repos.changes.insert(url, from, to, paths.clone());
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(p: &[&str]) -> Arc<[String]> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn remembers_each_pair_and_forgets_the_oldest() {
        let changes = Changes::default();
        changes.insert("u", "a", "b", paths(&["apps/x/d.yaml"]));
        assert_eq!(
            changes.get("u", "a", "b").as_deref(),
            Some(&["apps/x/d.yaml".to_string()][..])
        );
        assert!(changes.get("u", "b", "a").is_none(), "the order matters");
        assert!(changes.get("v", "a", "b").is_none(), "so does the URL");
        for i in 0..KEPT {
            changes.insert("u", &format!("c{i}"), "d", paths(&[]));
        }
        assert!(changes.get("u", "a", "b").is_none());
        assert!(changes.get("u", "c0", "d").is_some());
    }
}
