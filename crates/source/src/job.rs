//! One resolve under its repository's fetch lock, on a blocking thread:
//! validate the mirror once per process, clone it when missing, fetch when
//! asked or when the revision is missing, recover from corruption, and fall
//! back to the last good mirror when a fetch fails.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use git2::Repository;
use tokio::sync::OwnedMutexGuard;

use crate::cache::{Locked, Options, Resolved, Slot, cache_error, lock};
use crate::credentials::RepoCredentials;
use crate::error::{Result, SourceError};
use crate::fetch::{FetchRequest, fetch};
use crate::revision::{Lookup, RevisionKind, lookup};

/// One locked resolve, run on a blocking thread.
pub(crate) struct Job {
    pub(crate) slot: Arc<Slot>,
    pub(crate) kind: RevisionKind,
    pub(crate) revision: String,
    pub(crate) arrival: u64,
    pub(crate) refresh: bool,
    pub(crate) credentials: Option<RepoCredentials>,
    pub(crate) options: Options,
    /// How long each network fetch of this job may take.
    pub(crate) timeout: Duration,
    /// Refs fetched besides branches and tags (clone and fetch alike).
    pub(crate) extra_refs: Vec<String>,
}

impl Job {
    /// Checks the mirror once per process; a corrupt one is removed.
    fn validate(&self, state: &mut Locked) -> Result<()> {
        let slot = &self.slot;
        if !state.validated {
            if slot.path.exists() && !mirror_is_sound(&slot.path) {
                tracing::warn!(repo = %slot.url, path = %slot.path.display(), "mirror is corrupt; cloning it again");
                remove_mirror(slot)?;
                lock(&slot.stats).recoveries += 1;
            }
            state.validated = true;
        }
        Ok(())
    }

    /// One network fetch with this job's own credentials, whatever the
    /// mirror holds and whoever fetched last: its error is returned, never
    /// replaced by the last good mirror (the caller keeps its own last good
    /// state). A corrupt mirror is cloned again.
    pub(crate) fn fetch_only(self, mut guard: OwnedMutexGuard<Locked>) -> Result<()> {
        let state = &mut *guard;
        let slot = &self.slot;
        self.validate(state)?;
        if !slot.path.exists() {
            self.clone_mirror(state)?;
            slot.ready.store(true, Ordering::SeqCst);
            return Ok(());
        }
        let repo = Repository::open_bare(&slot.path).map_err(|e| cache_error(slot, &e))?;
        slot.ready.store(true, Ordering::SeqCst);
        match self.fetch_existing(state, &repo, self.extra_refs.clone()) {
            Ok(()) => {
                self.maintain(&repo);
                Ok(())
            }
            Err(e) if looks_corrupt(&e) => {
                tracing::warn!(repo = %slot.url, error = %e, "fetch hit a corrupt mirror; cloning it again");
                drop(repo);
                remove_mirror(slot)?;
                lock(&slot.stats).recoveries += 1;
                self.clone_mirror(state)
            }
            Err(e) => Err(e),
        }
    }

    pub(crate) fn run(self, mut guard: OwnedMutexGuard<Locked>) -> Result<Resolved> {
        let state = &mut *guard;
        let slot = &self.slot;
        self.validate(state)?;
        let mut fetched = false;
        if !slot.path.exists() {
            self.clone_mirror(state)?;
            fetched = true;
        }
        let mut repo = Repository::open_bare(&slot.path).map_err(|e| cache_error(slot, &e))?;
        slot.ready.store(true, Ordering::SeqCst);

        let fresh = |state: &Locked| fetched || state.completed > self.arrival;
        let mut stale = None;
        let present = || matches!(lookup(&repo, &self.kind), Ok(Lookup::Found(_)));
        let want_fetch = self.refresh && !fresh(state) && !(self.kind.is_immutable() && present());
        let want_fetch = want_fetch || (!fresh(state) && !present());
        if want_fetch {
            match self.fetch_existing(state, &repo, Vec::new()) {
                Ok(()) => {
                    fetched = true;
                    self.maintain(&repo);
                }
                Err(e) if looks_corrupt(&e) => {
                    tracing::warn!(repo = %slot.url, error = %e, "fetch hit a corrupt mirror; cloning it again");
                    drop(repo);
                    remove_mirror(slot)?;
                    lock(&slot.stats).recoveries += 1;
                    self.clone_mirror(state)?;
                    fetched = true;
                    repo = Repository::open_bare(&slot.path).map_err(|e| cache_error(slot, &e))?;
                }
                Err(e) => {
                    // The last good mirror stays usable.
                    if matches!(lookup(&repo, &self.kind), Ok(Lookup::Found(_))) {
                        tracing::warn!(repo = %slot.url, error = %e, "fetch failed; using the last good mirror");
                        stale = Some(e.to_string());
                    } else {
                        return Err(e);
                    }
                }
            }
        }
        let mut found = lookup(&repo, &self.kind).map_err(|e| cache_error(slot, &e))?;
        if found == Lookup::Missing && stale.is_none() {
            // A ref outside heads and tags (e.g. refs/pull/1/head) is fetched on demand.
            if let RevisionKind::Ref(name) = &self.kind
                && !name.starts_with("refs/heads/")
                && !name.starts_with("refs/tags/")
            {
                match self.fetch_existing(state, &repo, vec![format!("+{name}:{name}")]) {
                    Ok(()) | Err(SourceError::Fetch { .. }) => {}
                    Err(e) => return Err(e),
                }
                found = lookup(&repo, &self.kind).map_err(|e| cache_error(slot, &e))?;
            }
        }
        match found {
            Lookup::Found(oid) => Ok(Resolved {
                repo: slot.key.clone(),
                revision: self.revision.clone(),
                sha: oid.to_string(),
                fetched,
                stale,
            }),
            Lookup::Missing => Err(SourceError::RevisionNotFound {
                url: slot.url.to_string(),
                revision: self.revision.clone(),
            }),
            Lookup::Ambiguous => Err(SourceError::AmbiguousRevision {
                url: slot.url.to_string(),
                revision: self.revision.clone(),
            }),
        }
    }

    /// Merges the mirror's packs when there are too many; a failure is
    /// logged, never fatal (the mirror stays as it was).
    fn maintain(&self, repo: &Repository) {
        match crate::maintenance::repack_if_needed(repo, self.options.max_packs) {
            Ok(true) => {
                // Kept read handles map the packs that were merged away.
                self.slot.readers.forget();
                lock(&self.slot.stats).repacks += 1;
                tracing::debug!(repo = %self.slot.url, "merged the mirror's packs");
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(repo = %self.slot.url, error = %e.message(), "merging the mirror's packs failed")
            }
        }
    }

    fn request(&self, extra_refspecs: Vec<String>) -> FetchRequest<'_> {
        FetchRequest {
            url: &self.slot.url,
            credentials: self.credentials.as_ref(),
            known_hosts: self.options.known_hosts.as_deref(),
            tls_certs: self.options.tls_certs.as_deref(),
            deadline: Instant::now() + self.timeout,
            timeout_secs: self.timeout.as_secs(),
            extra_refspecs,
        }
    }

    /// Runs one counted fetch into `repo`.
    fn counted(
        &self,
        state: &mut Locked,
        clone: bool,
        repo: &Repository,
        extra: Vec<String>,
    ) -> Result<()> {
        let slot = &self.slot;
        let seq = slot.started.fetch_add(1, Ordering::SeqCst) + 1;
        {
            let mut stats = lock(&slot.stats);
            stats.fetches += 1;
            if clone {
                stats.clones += 1;
            }
        }
        let start = Instant::now();
        let result = fetch(repo, &self.request(extra));
        let mut stats = lock(&slot.stats);
        stats.last_duration = Some(start.elapsed());
        match &result {
            Ok(()) => {
                state.completed = seq;
                stats.last_error = None;
                tracing::debug!(repo = %slot.url, clone, elapsed_ms = start.elapsed().as_millis() as u64, "fetched");
            }
            Err(e) => {
                stats.failures += 1;
                stats.last_error = Some(e.to_string());
            }
        }
        result
    }

    fn fetch_existing(
        &self,
        state: &mut Locked,
        repo: &Repository,
        extra: Vec<String>,
    ) -> Result<()> {
        self.counted(state, false, repo, extra)
    }

    /// Clones into a fresh directory next to the mirror and renames it into
    /// place, so a crash never leaves a half-cloned mirror behind.
    fn clone_mirror(&self, state: &mut Locked) -> Result<()> {
        let slot = &self.slot;
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let partial = slot.path.with_extension(format!(
            "partial-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&partial);
        let repo = Repository::init_bare(&partial).map_err(|e| cache_error(slot, &e))?;
        let result = self.counted(state, true, &repo, self.extra_refs.clone());
        drop(repo);
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(e);
        }
        std::fs::rename(&partial, &slot.path).map_err(|e| SourceError::Cache {
            url: slot.url.to_string(),
            path: slot.path.display().to_string(),
            message: format!("moving the new clone into place: {e}"),
        })
    }
}

fn remove_mirror(slot: &Slot) -> Result<()> {
    slot.ready.store(false, Ordering::SeqCst);
    slot.readers.forget();
    std::fs::remove_dir_all(&slot.path).map_err(|e| SourceError::Cache {
        url: slot.url.to_string(),
        path: slot.path.display().to_string(),
        message: format!("removing the corrupt mirror: {e}"),
    })
}

/// Whether the mirror opens and every ref leads to a commit whose tree is
/// present (what a crash mid-fetch or a damaged disk breaks).
fn mirror_is_sound(path: &Path) -> bool {
    let Ok(repo) = Repository::open_bare(path) else {
        return false;
    };
    if let Err(e) = repo.head()
        && !matches!(
            e.code(),
            git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound
        )
    {
        return false;
    }
    let Ok(refs) = repo.references() else {
        return false;
    };
    for reference in refs {
        let Ok(reference) = reference else {
            return false;
        };
        let Ok(commit) = reference.peel_to_commit() else {
            return false;
        };
        if repo.find_tree(commit.tree_id()).is_err() {
            return false;
        }
    }
    true
}

/// Errors that mean the local mirror, not the network, is broken.
fn looks_corrupt(e: &SourceError) -> bool {
    match e {
        SourceError::Cache { .. } => true,
        SourceError::Fetch { message, .. } => {
            let m = message.to_ascii_lowercase();
            [
                "object",
                "odb",
                "corrupt",
                "pack",
                "zlib",
                "reference",
                "loose",
            ]
            .iter()
            .any(|w| m.contains(w))
        }
        _ => false,
    }
}
