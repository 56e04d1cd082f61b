//! Fetching with the caller's own credentials and time limit, and reading
//! refs of a mirror without fetching: what a Flux `GitRepository` needs.
//!
//! [`MirrorCache::resolve`] takes credentials from the cache's
//! [`crate::credentials::CredentialSource`] (Argo CD's repository Secrets,
//! matched by URL), shares a fetch with concurrent callers and falls back to
//! the last good mirror when a fetch fails. A caller holding its own
//! credentials (a GitRepository's `secretRef`, readable only in its
//! namespace) must instead prove them on every fetch: [`MirrorCache::fetch_with`]
//! always fetches with exactly the credentials given, never with another
//! caller's or with any registered by URL, and returns the fetch's error.

use std::sync::Arc;
use std::time::Duration;

use git2::Repository;

use crate::cache::{MirrorCache, Slot, cache_error};
use crate::credentials::RepoCredentials;
use crate::error::{Result, SourceError};
use crate::job::Job;
use crate::revision::{Lookup, RevisionKind, lookup};

/// How one caller fetches. `Debug` never prints secret values.
#[derive(Clone, Debug, Default)]
pub struct Access {
    /// The credentials to fetch with; `None` fetches anonymously.
    pub credentials: Option<RepoCredentials>,
    /// The time limit of the fetch; the cache's own when `None`.
    pub timeout: Option<Duration>,
    /// Full ref names to fetch besides branches and tags (e.g.
    /// `refs/pull/1/head`).
    pub extra_refs: Vec<String>,
}

impl MirrorCache {
    /// Fetches the repository at `url` now (cloning the mirror when it does
    /// not exist yet) with `access`'s credentials and time limit, under the
    /// repository's fetch lock. Unlike [`MirrorCache::resolve`], a fetch
    /// another caller ran meanwhile does not count, and a failure is
    /// returned as is. The time limit covers waiting for a fetch already
    /// in flight for the repository too.
    pub async fn fetch_with(&self, url: &str, access: &Access) -> Result<()> {
        let slot = self.slot(url)?;
        let timeout = access.timeout.unwrap_or(self.options.fetch_timeout);
        let job = Job {
            slot: slot.clone(),
            kind: RevisionKind::Head,
            revision: String::new(),
            arrival: 0,
            refresh: true,
            credentials: access.credentials.clone(),
            options: self.options.clone(),
            timeout,
            extra_refs: access
                .extra_refs
                .iter()
                .map(|name| format!("+{name}:{name}"))
                .collect(),
        };
        let lock = slot.lock.clone();
        let locked_fetch = async move {
            let guard = lock.lock_owned().await;
            tokio::task::spawn_blocking(move || job.fetch_only(guard)).await
        };
        // libgit2's deadline normally ends the fetch; this is the backstop
        // (and the bound on waiting for the lock).
        match tokio::time::timeout(timeout + Duration::from_secs(10), locked_fetch).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(SourceError::Fetch {
                url: slot.url.to_string(),
                message: format!("fetch task failed: {join}"),
            }),
            Err(_) => Err(SourceError::Timeout {
                url: slot.url.to_string(),
                seconds: timeout.as_secs(),
            }),
        }
    }

    /// The commit `revision` (a branch, tag, `refs/...` name or SHA) names
    /// in the mirror of `url` as it is now, without fetching.
    pub async fn lookup(&self, url: &str, revision: &str) -> Result<String> {
        let kind = RevisionKind::parse(revision);
        let revision = revision.to_string();
        with_mirror(self.slot(url)?, move |slot, repo| {
            match lookup(repo, &kind).map_err(|e| cache_error(slot, &e))? {
                Lookup::Found(oid) => Ok(oid.to_string()),
                Lookup::Missing => Err(SourceError::RevisionNotFound {
                    url: slot.url.to_string(),
                    revision,
                }),
                Lookup::Ambiguous => Err(SourceError::AmbiguousRevision {
                    url: slot.url.to_string(),
                    revision,
                }),
            }
        })
        .await
    }

    /// The tag names of the mirror of `url` as it is now, without fetching.
    pub async fn tags(&self, url: &str) -> Result<Vec<String>> {
        with_mirror(self.slot(url)?, |slot, repo| {
            let names = repo.tag_names(None).map_err(|e| cache_error(slot, &e))?;
            Ok(names
                .iter()
                .flatten()
                .flatten()
                .map(str::to_string)
                .collect())
        })
        .await
    }

    /// Whether commit `sha` is `tip` or one of its ancestors in the mirror
    /// of `url` (both full SHAs), without fetching.
    pub async fn contains(&self, url: &str, tip: &str, sha: &str) -> Result<bool> {
        let (tip, sha) = (tip.to_string(), sha.to_string());
        with_mirror(self.slot(url)?, move |slot, repo| {
            let oid = |text: &str| {
                git2::Oid::from_str(text).map_err(|_| SourceError::RevisionNotFound {
                    url: slot.url.to_string(),
                    revision: text.to_string(),
                })
            };
            let (tip, sha) = (oid(&tip)?, oid(&sha)?);
            Ok(tip == sha
                || repo
                    .graph_descendant_of(tip, sha)
                    .map_err(|e| cache_error(slot, &e))?)
        })
        .await
    }
}

/// Runs `f` on the opened mirror of `slot` on a blocking thread.
async fn with_mirror<T, F>(slot: Arc<Slot>, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Slot, &Repository) -> Result<T> + Send + 'static,
{
    let url = slot.url.to_string();
    tokio::task::spawn_blocking(move || {
        let repo = slot.readers.get().map_err(|e| cache_error(&slot, &e))?;
        f(&slot, &repo)
    })
    .await
    .map_err(|e| SourceError::Fetch {
        url,
        message: format!("mirror task failed: {e}"),
    })?
}
