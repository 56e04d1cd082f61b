//! Keeps a mirror fast over time: every fetch that brings new objects adds
//! a pack file, and lookups slow down as packs pile up. Past a limit, all
//! objects reachable from the mirror's refs are written into one new pack
//! and the old packs are removed (what `git repack -a -d` does).

use std::path::{Path, PathBuf};

use git2::Repository;

/// The `.pack` files of the mirror.
pub(crate) fn pack_files(repo: &Repository) -> Vec<PathBuf> {
    let dir = repo.path().join("objects").join("pack");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut packs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pack"))
        .collect();
    packs.sort();
    packs
}

/// Merges the packs into one when there are more than `limit`. Returns
/// whether it repacked. Objects no ref reaches (deleted branches) are dropped.
pub(crate) fn repack_if_needed(repo: &Repository, limit: usize) -> Result<bool, git2::Error> {
    let old = pack_files(repo);
    if limit == 0 || old.len() <= limit {
        return Ok(false);
    }
    let mut builder = repo.packbuilder()?;
    // Every commit reachable from a ref (with its trees and blobs), plus
    // the annotated tag objects themselves.
    let mut walk = repo.revwalk()?;
    for reference in repo.references()? {
        let Some(oid) = reference?.target() else {
            continue;
        };
        let object = repo.find_object(oid, None)?;
        match object.kind() {
            Some(git2::ObjectType::Commit) => walk.push(oid)?,
            Some(git2::ObjectType::Tag) => {
                builder.insert_object(oid, None)?;
                match object.peel(git2::ObjectType::Commit) {
                    Ok(commit) => walk.push(commit.id())?,
                    Err(_) => builder.insert_recursive(object.peel_to_tree()?.id(), None)?,
                }
            }
            _ => builder.insert_recursive(oid, None)?,
        }
    }
    builder.insert_walk(&mut walk)?;
    let dir = repo.path().join("objects").join("pack");
    builder.write(&dir, 0o444)?;
    let keep = builder
        .name()?
        .map(|hash| format!("pack-{hash}"))
        .ok_or_else(|| git2::Error::from_str("the new pack has no name"))?;
    for pack in old {
        if pack
            .file_stem()
            .is_some_and(|s| s.to_string_lossy() == keep)
        {
            continue;
        }
        remove_pack(&pack);
    }
    Ok(true)
}

/// Removes a pack and its companions (`.idx`, `.rev`, `.keep`, …).
fn remove_pack(pack: &Path) {
    for ext in ["pack", "idx", "rev", "keep", "bitmap", "promisor", "mtimes"] {
        let _ = std::fs::remove_file(pack.with_extension(ext));
    }
}
