//! The read-only file tree a render reads from, and path handling that
//! never leaves the tree's root.
//!
//! The source crate implements [`FileTree`] over a Git commit; [`DiskTree`]
//! serves the CLI and tests. Paths are relative, `/`-separated and
//! normalized (see [`join`]); `""` is the root.

use std::path::{Component, Path, PathBuf};

/// Files larger than this are refused, naming the file.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// What an entry in a [`FileTree`] is. Symlinks are resolved by the tree
/// (and refused when they point outside it), so callers see only these two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
}

/// Why a tree could not answer.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TreeError {
    /// Nothing exists at the path.
    #[error("{path}: no such file or directory")]
    NotFound {
        /// The path looked up.
        path: String,
    },
    /// The path (or a symlink on it) leads outside the repository root.
    #[error("{path}: path leads outside the repository root")]
    Escapes {
        /// The offending path.
        path: String,
    },
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("{path}: file is {size} bytes, more than the {limit} byte limit")]
    TooLarge {
        /// The file.
        path: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A directory was read as a file or the other way round.
    #[error("{path}: {message}")]
    WrongKind {
        /// The path.
        path: String,
        /// What was expected.
        message: String,
    },
    /// Reading failed for another reason.
    #[error("{path}: {message}")]
    Io {
        /// The path.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// A read-only tree of files: a Git commit, or a directory on disk.
pub trait FileTree: Send + Sync {
    /// What is at `path`, or `None` when nothing is.
    fn entry(&self, path: &str) -> Result<Option<EntryKind>, TreeError>;
    /// The bytes of the file at `path`.
    fn read(&self, path: &str) -> Result<Vec<u8>, TreeError>;
    /// The entries of the directory at `path`, sorted by name.
    fn list(&self, path: &str) -> Result<Vec<(String, EntryKind)>, TreeError>;
    /// The directory on disk the tree is, when it is one (a program can
    /// then read it in place instead of from a copy).
    fn disk_root(&self) -> Option<&Path> {
        None
    }
    /// The symbolic links directly in the directory `path` that [`FileTree::list`]
    /// leaves out (they lead outside the tree, dangle or loop), sorted by
    /// name. Trees without symlinks keep the default: none.
    fn skipped_links(&self, path: &str) -> Result<Vec<SkippedLink>, TreeError> {
        let _ = path;
        Ok(Vec::new())
    }
    /// [`FileTree::read`], and where `path` leads once symbolic links on the
    /// way are followed, when that is another path of the tree: a render
    /// that read `path` also depends on that file. Trees without symlinks
    /// keep the default: none.
    fn read_resolved(&self, path: &str) -> Result<(Vec<u8>, Option<String>), TreeError> {
        Ok((self.read(path)?, None))
    }
}

/// A symbolic link a listing left out, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedLink {
    /// The link's name in its directory.
    pub name: String,
    /// What it points to, as written in the link.
    pub target: String,
    /// Why it is not followed.
    pub reason: String,
}

impl SkippedLink {
    /// The link `name` to `target`, left out of a listing because looking it
    /// up gave `looked_up`; `None` when that lookup found something.
    pub fn from_lookup(
        name: String,
        target: String,
        looked_up: &Result<Option<EntryKind>, TreeError>,
    ) -> Option<SkippedLink> {
        let reason = match looked_up {
            Ok(Some(_)) => return None,
            Ok(None) => "its target does not exist".to_string(),
            Err(TreeError::Escapes { .. }) => "it leads outside the repository".to_string(),
            Err(e) => e.to_string(),
        };
        Some(SkippedLink {
            name,
            target,
            reason,
        })
    }
}

/// Joins `rel` onto the directory `base` (both relative to the tree root) and
/// normalizes the result, refusing absolute paths and `..` past the root.
///
/// ```
/// use driftless_render::tree::join;
/// assert_eq!(join("overlays/dev", "../../base").unwrap(), "base");
/// assert!(join("overlays", "../../etc").is_err());
/// assert!(join("", "/etc/passwd").is_err());
/// ```
pub fn join(base: &str, rel: &str) -> Result<String, TreeError> {
    let escapes = || TreeError::Escapes {
        path: if base.is_empty() {
            rel.to_string()
        } else {
            format!("{base}/{rel}")
        },
    };
    if rel.starts_with('/') || rel.starts_with('\\') || Path::new(rel).has_root() {
        return Err(escapes());
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in base.split('/').chain(rel.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop().ok_or_else(escapes)?;
            }
            part => parts.push(part),
        }
    }
    Ok(parts.join("/"))
}

/// A [`FileTree`] over a directory on disk, confined to that directory:
/// symlinks are followed only while they stay inside it.
#[derive(Clone, Debug)]
pub struct DiskTree {
    root: PathBuf,
}

impl DiskTree {
    /// A tree rooted at `root` (canonicalized, so the root may itself be a symlink).
    pub fn new(root: impl AsRef<Path>) -> Result<Self, TreeError> {
        let given = root.as_ref();
        let root = given.canonicalize().map_err(|e| TreeError::Io {
            path: given.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(Self { root })
    }

    /// The directory this tree reads.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves `path` on disk, following symlinks, and refuses it when the
    /// result is outside the root. `Ok(None)` when nothing is there.
    fn resolve(&self, path: &str) -> Result<Option<PathBuf>, TreeError> {
        let path = join("", path)?;
        let full = self.root.join(&path);
        match full.canonicalize() {
            Ok(real) if real.starts_with(&self.root) => Ok(Some(real)),
            Ok(_) => Err(TreeError::Escapes { path }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // A dangling symlink whose target would be outside is still an escape.
                if let Ok(target) = std::fs::read_link(&full) {
                    let parent = full.parent().unwrap_or(&self.root);
                    if !lexically_inside(&self.root, &parent.join(target)) {
                        return Err(TreeError::Escapes { path });
                    }
                }
                Ok(None)
            }
            Err(e) => Err(TreeError::Io {
                path,
                message: e.to_string(),
            }),
        }
    }
}

/// Whether `path`, normalized lexically, stays under `root`.
fn lexically_inside(root: &Path, path: &Path) -> bool {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out.starts_with(root)
}

impl FileTree for DiskTree {
    fn disk_root(&self) -> Option<&Path> {
        Some(&self.root)
    }

    fn entry(&self, path: &str) -> Result<Option<EntryKind>, TreeError> {
        let Some(real) = self.resolve(path)? else {
            return Ok(None);
        };
        Ok(Some(if real.is_dir() {
            EntryKind::Dir
        } else {
            EntryKind::File
        }))
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, TreeError> {
        let name = join("", path)?;
        let real = self
            .resolve(path)?
            .ok_or_else(|| TreeError::NotFound { path: name.clone() })?;
        let io = |e: std::io::Error| TreeError::Io {
            path: name.clone(),
            message: e.to_string(),
        };
        let meta = std::fs::metadata(&real).map_err(io)?;
        if meta.is_dir() {
            return Err(TreeError::WrongKind {
                path: name,
                message: "is a directory, not a file".into(),
            });
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(TreeError::TooLarge {
                path: name,
                size: meta.len(),
                limit: MAX_FILE_BYTES,
            });
        }
        std::fs::read(&real).map_err(io)
    }

    fn list(&self, path: &str) -> Result<Vec<(String, EntryKind)>, TreeError> {
        let name = join("", path)?;
        let real = self
            .resolve(path)?
            .ok_or_else(|| TreeError::NotFound { path: name.clone() })?;
        let io = |e: std::io::Error| TreeError::Io {
            path: name.clone(),
            message: e.to_string(),
        };
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(&real).map_err(io)? {
            let entry = entry.map_err(io)?;
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let child = join(&name, &file_name)?;
            // Entries that escape (symlinks pointing out) are skipped in listings;
            // reading them by name reports the escape.
            match self.entry(&child) {
                Ok(Some(kind)) => entries.push((file_name, kind)),
                Ok(None) | Err(TreeError::Escapes { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        entries.sort();
        Ok(entries)
    }

    fn skipped_links(&self, path: &str) -> Result<Vec<SkippedLink>, TreeError> {
        let name = join("", path)?;
        let Some(real) = self.resolve(path)? else {
            return Ok(Vec::new());
        };
        let io = |e: std::io::Error| TreeError::Io {
            path: name.clone(),
            message: e.to_string(),
        };
        let mut skipped = Vec::new();
        for entry in std::fs::read_dir(&real).map_err(io)? {
            let entry = entry.map_err(io)?;
            let Ok(target) = std::fs::read_link(entry.path()) else {
                continue; // not a symlink
            };
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let looked_up = self.entry(&join(&name, &file_name)?);
            let target = target.to_string_lossy().into_owned();
            skipped.extend(SkippedLink::from_lookup(file_name, target, &looked_up));
        }
        skipped.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(skipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_normalizes() {
        assert_eq!(join("", "a/./b/../c").unwrap(), "a/c");
        assert_eq!(join("a/b", "").unwrap(), "a/b");
        assert_eq!(join("a", "..").unwrap(), "");
        assert!(matches!(join("a", "../.."), Err(TreeError::Escapes { .. })));
        assert!(matches!(join("", "/abs"), Err(TreeError::Escapes { .. })));
    }

    #[test]
    fn disk_tree_refuses_symlinks_out() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ok.yaml"), "a: 1").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("leak")).unwrap();
        std::os::unix::fs::symlink("ok.yaml", dir.path().join("alias.yaml")).unwrap();
        let tree = DiskTree::new(dir.path()).unwrap();
        assert_eq!(tree.read("alias.yaml").unwrap(), b"a: 1");
        assert!(matches!(tree.read("leak"), Err(TreeError::Escapes { .. })));
        let names: Vec<_> = tree.list("").unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["alias.yaml", "ok.yaml"]);
        let skipped = tree.skipped_links("").unwrap();
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert_eq!(skipped[0].name, "leak");
        assert_eq!(
            skipped[0].target,
            outside.path().join("secret").to_string_lossy()
        );
        assert!(skipped[0].reason.contains("outside the repository"));
        assert!(matches!(
            tree.read("missing"),
            Err(TreeError::NotFound { .. })
        ));
    }
}
