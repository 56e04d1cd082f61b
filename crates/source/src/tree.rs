//! A commit's tree as a [`FileTree`], read straight from the mirror's
//! object database (no checkout). Symlinks are followed while they stay
//! inside the tree and refused with [`TreeError::Escapes`] when they leave it.

use std::sync::Mutex;

use driftless_render::tree::{EntryKind, FileTree, MAX_FILE_BYTES, SkippedLink, TreeError, join};
use git2::{ObjectType, Oid, Repository};

use crate::readers::Reader;

/// Symlink hops followed before giving up (like `ELOOP`).
const MAX_SYMLINK_HOPS: usize = 40;
/// Git's mode for symbolic links.
const MODE_SYMLINK: i32 = 0o120000;
/// Git's mode for submodules (gitlinks).
const MODE_GITLINK: i32 = 0o160000;

/// The tree of one commit in a mirror. Cheap to create; `Send + Sync`.
pub struct GitTree {
    repo: Mutex<Reader>,
    root: Oid,
    commit: Oid,
}

impl std::fmt::Debug for GitTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitTree")
            .field("commit", &self.commit)
            .finish_non_exhaustive()
    }
}

/// A commit's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitInfo {
    /// The full SHA.
    pub sha: String,
    /// The full message (subject and body).
    pub message: String,
    /// The author's name.
    pub author: String,
    /// The commit time, in seconds since the Unix epoch.
    pub time: i64,
}

/// What a path resolves to.
enum Resolved {
    Blob(Oid),
    Tree(Oid),
}

impl GitTree {
    /// The tree of `commit`, read through the mirror handle `repo`.
    pub(crate) fn open(repo: Reader, commit: Oid) -> Result<GitTree, git2::Error> {
        let root = repo.find_commit(commit)?.tree_id();
        Ok(GitTree {
            repo: Mutex::new(repo),
            root,
            commit,
        })
    }

    /// The commit this tree belongs to (full SHA).
    pub fn commit(&self) -> String {
        self.commit.to_string()
    }

    /// The commit's message, author and time (for showing a revision).
    pub fn commit_info(&self) -> Result<CommitInfo, git2::Error> {
        let repo = self.repo();
        let commit = repo.find_commit(self.commit)?;
        let author = commit.author();
        Ok(CommitInfo {
            sha: self.commit.to_string(),
            message: String::from_utf8_lossy(commit.message_bytes()).into_owned(),
            author: author.name().unwrap_or_default().to_string(),
            time: commit.time().seconds(),
        })
    }

    fn repo(&self) -> std::sync::MutexGuard<'_, Reader> {
        self.repo.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Resolves `path` (already normalized) following symlinks.
    fn resolve(&self, repo: &Repository, path: &str) -> Result<Option<Resolved>, TreeError> {
        Ok(self.resolve_real(repo, path)?.map(|(found, _)| found))
    }

    /// [`GitTree::resolve`], with the path reached (symlinks followed).
    fn resolve_real(
        &self,
        repo: &Repository,
        path: &str,
    ) -> Result<Option<(Resolved, String)>, TreeError> {
        let io = |e: git2::Error| TreeError::Io {
            path: path.to_string(),
            message: e.message().to_string(),
        };
        let mut pending: Vec<String> = path
            .split('/')
            .filter(|p| !p.is_empty())
            .rev()
            .map(str::to_string)
            .collect();
        let mut current = Resolved::Tree(self.root);
        let mut done: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(name) = pending.pop() {
            let Resolved::Tree(tree_id) = current else {
                // A path component below a file.
                return Ok(None);
            };
            let tree = repo.find_tree(tree_id).map_err(io)?;
            let Some(entry) = tree.get_name(&name) else {
                return Ok(None);
            };
            match entry.filemode() {
                MODE_SYMLINK => {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(TreeError::Io {
                            path: path.to_string(),
                            message: "too many levels of symbolic links".into(),
                        });
                    }
                    let blob = repo.find_blob(entry.id()).map_err(io)?;
                    let target = String::from_utf8_lossy(blob.content()).to_string();
                    let base = done.join("/");
                    let escapes = || TreeError::Escapes {
                        path: path.to_string(),
                    };
                    let target = join(&base, &target).map_err(|_| escapes())?;
                    // Restart from the root with the target, then the rest.
                    // The stack pops from the end: push the target's first
                    // component last.
                    pending.extend(
                        target
                            .split('/')
                            .filter(|p| !p.is_empty())
                            .rev()
                            .map(str::to_string),
                    );
                    done.clear();
                    current = Resolved::Tree(self.root);
                }
                MODE_GITLINK => {
                    return Err(TreeError::Io {
                        path: path.to_string(),
                        message: "is a Git submodule, which is not supported".into(),
                    });
                }
                _ => {
                    current = match entry.kind() {
                        Some(ObjectType::Tree) => Resolved::Tree(entry.id()),
                        _ => Resolved::Blob(entry.id()),
                    };
                    done.push(name);
                }
            }
        }
        Ok(Some((current, done.join("/"))))
    }
}

impl FileTree for GitTree {
    fn entry(&self, path: &str) -> Result<Option<EntryKind>, TreeError> {
        let path = join("", path)?;
        let repo = self.repo();
        Ok(self.resolve(&repo, &path)?.map(|r| match r {
            Resolved::Blob(_) => EntryKind::File,
            Resolved::Tree(_) => EntryKind::Dir,
        }))
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, TreeError> {
        self.read_resolved(path).map(|(bytes, _)| bytes)
    }

    fn read_resolved(&self, path: &str) -> Result<(Vec<u8>, Option<String>), TreeError> {
        let path = join("", path)?;
        let repo = self.repo();
        let Some((found, real)) = self.resolve_real(&repo, &path)? else {
            return Err(TreeError::NotFound { path });
        };
        let real = (real != path).then_some(real);
        match found {
            Resolved::Tree(_) => Err(TreeError::WrongKind {
                path,
                message: "is a directory, not a file".into(),
            }),
            Resolved::Blob(id) => {
                let io = |e: git2::Error| TreeError::Io {
                    path: path.clone(),
                    message: e.message().to_string(),
                };
                let odb = repo.odb().map_err(io)?;
                let (size, _) = odb.read_header(id).map_err(io)?;
                let size = size as u64;
                if size > MAX_FILE_BYTES {
                    return Err(TreeError::TooLarge {
                        path,
                        size,
                        limit: MAX_FILE_BYTES,
                    });
                }
                let blob = repo.find_blob(id).map_err(io)?;
                Ok((blob.content().to_vec(), real))
            }
        }
    }

    fn list(&self, path: &str) -> Result<Vec<(String, EntryKind)>, TreeError> {
        let path = join("", path)?;
        let names: Vec<String> = {
            let repo = self.repo();
            let id = match self.resolve(&repo, &path)? {
                None => return Err(TreeError::NotFound { path }),
                Some(Resolved::Blob(_)) => {
                    return Err(TreeError::WrongKind {
                        path,
                        message: "is a file, not a directory".into(),
                    });
                }
                Some(Resolved::Tree(id)) => id,
            };
            let tree = repo.find_tree(id).map_err(|e| TreeError::Io {
                path: path.clone(),
                message: e.message().to_string(),
            })?;
            tree.iter()
                .filter_map(|e| e.name().ok().map(str::to_string))
                .collect()
        };
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let child = join(&path, &name)?;
            // Like a directory on disk: entries that escape or dangle are
            // left out of listings; reading them by name reports why.
            match self.entry(&child) {
                Ok(Some(kind)) => out.push((name, kind)),
                Ok(None) | Err(TreeError::Escapes { .. }) => {}
                Err(TreeError::Io { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        out.sort();
        Ok(out)
    }

    fn skipped_links(&self, path: &str) -> Result<Vec<SkippedLink>, TreeError> {
        let path = join("", path)?;
        let io = |e: git2::Error| TreeError::Io {
            path: path.clone(),
            message: e.message().to_string(),
        };
        let links: Vec<(String, String)> = {
            let repo = self.repo();
            let Some(Resolved::Tree(id)) = self.resolve(&repo, &path)? else {
                return Ok(Vec::new());
            };
            let tree = repo.find_tree(id).map_err(io)?;
            let mut links = Vec::new();
            for entry in tree.iter().filter(|e| e.filemode() == MODE_SYMLINK) {
                let Ok(name) = entry.name() else { continue };
                let blob = repo.find_blob(entry.id()).map_err(io)?;
                let target = String::from_utf8_lossy(blob.content()).into_owned();
                links.push((name.to_string(), target));
            }
            links
        };
        let mut skipped = Vec::new();
        for (name, target) in links {
            let looked_up = self.entry(&join(&path, &name)?);
            skipped.extend(SkippedLink::from_lookup(name, target, &looked_up));
        }
        skipped.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(skipped)
    }
}
