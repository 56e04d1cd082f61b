//! The paths that changed between two commits of a mirror, and the last
//! few such answers per mirror: a push is diffed once, however many
//! consumers (the GitRepository, each Kustomization's render) ask.

use std::collections::{BTreeSet, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};

use git2::{ObjectType, Oid, Repository, Tree, TreeEntry};

use crate::error::{Result, SourceError};
use crate::url::RepoUrl;

/// How many diffs a mirror remembers (a few pushes in flight).
const KEPT: usize = 8;

/// A diff: from, to (full SHAs) and the paths that changed.
type Diff = (String, String, Arc<[String]>);

/// The last few diffs of one mirror, newest last.
#[derive(Debug, Default)]
pub(crate) struct RecentDiffs(Mutex<VecDeque<Diff>>);

impl RecentDiffs {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Diff>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The remembered diff from `from` to `to`, if any.
    pub(crate) fn get(&self, from: &str, to: &str) -> Option<Arc<[String]>> {
        let kept = self.lock();
        let found = kept.iter().find(|(f, t, _)| f == from && t == to);
        found.map(|(_, _, paths)| paths.clone())
    }

    /// Remembers a diff between full SHAs (the only names that never move),
    /// forgetting the oldest beyond [`KEPT`].
    pub(crate) fn insert(&self, from: &str, to: &str, paths: Arc<[String]>) {
        let full = |s: &str| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !(full(from) && full(to)) {
            return;
        }
        let mut kept = self.lock();
        kept.retain(|(f, t, _)| !(f == from && t == to));
        kept.push_back((from.to_string(), to.to_string(), paths));
        while kept.len() > KEPT {
            kept.pop_front();
        }
    }
}

/// Files that differ between commits `from` and `to` (full or abbreviated
/// SHAs) in `repo`, the mirror at `mirror`; renames list both names.
pub(crate) fn changed_paths(
    mirror: &Path,
    repo: &Repository,
    url: &RepoUrl,
    from: &str,
    to: &str,
) -> Result<Vec<String>> {
    let cache = |e: git2::Error| SourceError::Cache {
        url: url.to_string(),
        path: mirror.display().to_string(),
        message: e.message().to_string(),
    };
    let tree_of = |rev: &str| -> Result<Tree<'_>> {
        let missing = || SourceError::RevisionNotFound {
            url: url.to_string(),
            revision: rev.to_string(),
        };
        let obj = match Oid::from_str(rev) {
            Ok(oid) if rev.len() >= 40 => repo.find_object(oid, None),
            _ => repo.revparse_single(rev),
        }
        .map_err(|_| missing())?;
        obj.peel_to_tree().map_err(|_| missing())
    };
    let (old, new) = (tree_of(from)?, tree_of(to)?);
    let mut paths = BTreeSet::new();
    compare_trees(repo, &old, &new, "", &mut paths).map_err(cache)?;
    Ok(paths.into_iter().collect())
}

/// Adds to `out` every file under `prefix` that differs between trees
/// `old` and `new`. A subtree with the same id on both sides is skipped
/// unread, so a push touching one app of a thousand reads one directory
/// listing per level, not the whole tree.
fn compare_trees(
    repo: &Repository,
    old: &Tree<'_>,
    new: &Tree<'_>,
    prefix: &str,
    out: &mut BTreeSet<String>,
) -> std::result::Result<(), git2::Error> {
    for before in old.iter() {
        let after = new.get_name_bytes(before.name_bytes());
        if after.as_ref().is_some_and(|after| same(&before, after)) {
            continue;
        }
        // Only entries that differ get a path built.
        let path = path_of(prefix, &before);
        match after {
            None => add_all(repo, &before, &path, out)?,
            Some(after) => match (as_tree(repo, &before)?, as_tree(repo, &after)?) {
                (Some(a), Some(b)) => compare_trees(repo, &a, &b, &path, out)?,
                _ => {
                    add_all(repo, &before, &path, out)?;
                    add_all(repo, &after, &path, out)?;
                }
            },
        }
    }
    for after in new.iter() {
        if old.get_name_bytes(after.name_bytes()).is_none() {
            add_all(repo, &after, &path_of(prefix, &after), out)?;
        }
    }
    Ok(())
}

/// Same object and same mode (a file made executable changed too).
fn same(a: &TreeEntry<'_>, b: &TreeEntry<'_>) -> bool {
    a.id() == b.id() && a.filemode() == b.filemode()
}

/// The entry's tree, when it is a directory.
fn as_tree<'r>(
    repo: &'r Repository,
    entry: &TreeEntry<'_>,
) -> std::result::Result<Option<Tree<'r>>, git2::Error> {
    match entry.kind() {
        Some(ObjectType::Tree) => repo.find_tree(entry.id()).map(Some),
        _ => Ok(None),
    }
}

/// Adds `path` (a file, link or submodule) or every file below it (a
/// directory).
fn add_all(
    repo: &Repository,
    entry: &TreeEntry<'_>,
    path: &str,
    out: &mut BTreeSet<String>,
) -> std::result::Result<(), git2::Error> {
    let Some(tree) = as_tree(repo, entry)? else {
        out.insert(path.to_string());
        return Ok(());
    };
    for child in tree.iter() {
        add_all(repo, &child, &path_of(path, &child), out)?;
    }
    Ok(())
}

/// `prefix/name` of `entry` (`name` at the root).
fn path_of(prefix: &str, entry: &TreeEntry<'_>) -> String {
    let name = String::from_utf8_lossy(entry.name_bytes());
    if prefix.is_empty() {
        name.into_owned()
    } else {
        format!("{prefix}/{name}")
    }
}

/// Whether any of `changed` (paths from
/// [`MirrorCache::changed_paths`](crate::MirrorCache::changed_paths)) lies in
/// one of `dirs` (an Application's path and the directories its render read;
/// `""` is the repository root). With `changed` unknown (`None`, e.g. a
/// webhook that did not list files), every directory counts as touched.
///
/// ```
/// use driftless_source::paths_touch;
/// let changed = vec!["apps/web/deploy.yaml".to_string()];
/// assert!(paths_touch(Some(changed.as_slice()), &["apps/web"]));
/// assert!(!paths_touch(Some(changed.as_slice()), &["apps/we", "apps/api"]));
/// assert!(paths_touch(None, &["anything"]));
/// ```
pub fn paths_touch(changed: Option<&[String]>, dirs: &[&str]) -> bool {
    let Some(changed) = changed else {
        return true;
    };
    dirs.iter().any(|dir| {
        let dir = dir.trim_matches('/');
        let dir = dir.strip_prefix("./").unwrap_or(dir);
        changed.iter().any(|path| {
            dir.is_empty()
                || dir == "."
                || path == dir
                || path
                    .strip_prefix(dir)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(p: &[&str]) -> Arc<[String]> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn remembers_pairs_of_full_shas_and_forgets_the_oldest() {
        let (a, b) = ("a".repeat(40), "b".repeat(40));
        let diffs = RecentDiffs::default();
        diffs.insert(&a, &b, paths(&["apps/x/d.yaml"]));
        assert_eq!(
            diffs.get(&a, &b).as_deref(),
            Some(&["apps/x/d.yaml".to_string()][..])
        );
        assert!(diffs.get(&b, &a).is_none(), "the order matters");
        diffs.insert("abc1234", &b, paths(&[]));
        assert!(
            diffs.get("abc1234", &b).is_none(),
            "short names are not kept"
        );
        for i in 0..KEPT {
            diffs.insert(&format!("{i:040}"), &b, paths(&[]));
        }
        assert!(diffs.get(&a, &b).is_none());
        assert!(diffs.get(&format!("{:040}", 0), &b).is_some());
    }
}
