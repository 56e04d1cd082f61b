//! Open read handles of one mirror, kept between reads.
//!
//! Opening a repository reads its configuration and opens its pack
//! indexes, and each handle has its own object cache: a handle opened per
//! render parsed the commit's big trees (a monorepo's `apps/`) again every
//! time. Reads (resolving a ref, a commit's files) borrow a handle here and
//! give it back; a handle is never used by two threads at once (libgit2's
//! rule). New objects a fetch writes are found by a kept handle (libgit2
//! rescans the packs when an object is missing); after packs are merged or
//! the mirror is cloned again, every kept handle is let go.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use git2::Repository;

/// How many idle handles one mirror keeps (more may be open while busy).
const KEEP: usize = 2;

/// The idle handles of one mirror.
pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Repository>>,
    /// Bumped when the mirror's files are replaced: handles from before are
    /// not kept.
    epoch: AtomicU64,
}

/// A borrowed handle; back to its mirror's idle handles when dropped.
pub(crate) struct Reader {
    repo: Option<Repository>,
    readers: Arc<Readers>,
    epoch: u64,
}

impl Readers {
    /// No handles yet for the mirror at `path`.
    pub(crate) fn new(path: PathBuf) -> Self {
        Readers {
            path,
            idle: Mutex::new(Vec::new()),
            epoch: AtomicU64::new(0),
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Repository>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An idle handle, or a newly opened one.
    pub(crate) fn get(self: &Arc<Self>) -> Result<Reader, git2::Error> {
        let epoch = self.epoch.load(Ordering::SeqCst);
        let kept = self.idle().pop();
        let repo = match kept {
            Some(repo) => repo,
            None => Repository::open_bare(&self.path)?,
        };
        Ok(Reader {
            repo: Some(repo),
            readers: self.clone(),
            epoch,
        })
    }

    /// Lets every handle go (the mirror's packs were merged, or it was
    /// removed); handles in use are closed when given back.
    pub(crate) fn forget(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.idle().clear();
    }

    /// How many idle handles are kept.
    #[cfg(test)]
    pub(crate) fn kept(&self) -> usize {
        self.idle().len()
    }
}

impl std::ops::Deref for Reader {
    type Target = Repository;

    fn deref(&self) -> &Repository {
        self.repo
            .as_ref()
            .expect("a reader holds its handle until dropped")
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let Some(repo) = self.repo.take() else { return };
        if self.readers.epoch.load(Ordering::SeqCst) != self.epoch {
            return;
        }
        let mut idle = self.readers.idle();
        if idle.len() < KEEP {
            idle.push(repo);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_kept_up_to_the_limit_and_let_go_when_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        Repository::init_bare(dir.path()).unwrap();
        let readers = Arc::new(Readers::new(dir.path().to_path_buf()));
        {
            let (a, b, c) = (readers.get(), readers.get(), readers.get());
            assert!(a.is_ok() && b.is_ok() && c.is_ok());
        }
        assert_eq!(readers.kept(), KEEP);
        let busy = readers.get().unwrap();
        readers.forget();
        assert_eq!(readers.kept(), 0);
        drop(busy);
        assert_eq!(readers.kept(), 0, "a handle from before is not kept");
        drop(readers.get().unwrap());
        assert_eq!(readers.kept(), 1);
    }
}
