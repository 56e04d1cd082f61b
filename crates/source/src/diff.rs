//! The paths that changed between two commits of a mirror.

use std::collections::BTreeSet;
use std::path::Path;

use git2::{DiffOptions, Oid, Repository};

use crate::error::{Result, SourceError};
use crate::url::RepoUrl;

/// Files that differ between commits `from` and `to` (full or abbreviated
/// SHAs) in the mirror at `mirror`; renames list both names.
pub(crate) fn changed_paths(
    mirror: &Path,
    url: &RepoUrl,
    from: &str,
    to: &str,
) -> Result<Vec<String>> {
    let cache = |e: git2::Error| SourceError::Cache {
        url: url.to_string(),
        path: mirror.display().to_string(),
        message: e.message().to_string(),
    };
    let repo = Repository::open_bare(mirror).map_err(cache)?;
    let tree_of = |rev: &str| -> Result<git2::Tree<'_>> {
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
    let mut opts = DiffOptions::new();
    opts.include_typechange(true);
    let diff = repo
        .diff_tree_to_tree(Some(&old), Some(&new), Some(&mut opts))
        .map_err(cache)?;
    let mut paths = BTreeSet::new();
    for delta in diff.deltas() {
        for file in [delta.old_file(), delta.new_file()] {
            if let Some(p) = file.path().and_then(|p| p.to_str()) {
                paths.insert(p.to_string());
            }
        }
    }
    Ok(paths.into_iter().collect())
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
