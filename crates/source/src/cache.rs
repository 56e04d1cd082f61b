//! The mirror cache: one bare mirror per normalized repository URL, shared
//! by every Application. One fetch in flight per repository (concurrent
//! callers wait for it and reuse it); different repositories fetch in
//! parallel; no global lock. All git2 work runs in `spawn_blocking`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::Digest;

use crate::credentials::CredentialSource;
use crate::error::{Result, SourceError};
use crate::job::Job;
use crate::revision::{Lookup, RevisionKind, lookup};
use crate::tree::GitTree;
use crate::url::RepoUrl;

/// Settings of a [`MirrorCache`].
#[derive(Clone, Debug)]
pub struct Options {
    /// How long one fetch (or first clone) may take. libgit2's socket
    /// timeouts (connect: at most 30 s; reads: this value) are process-wide
    /// and taken from the first cache created in the process.
    pub fetch_timeout: Duration,
    /// `known_hosts` lines trusted for every SSH repository.
    pub known_hosts: Option<String>,
    /// PEM certificates trusted as-is for every HTTPS repository (pinned
    /// server certificates, e.g. self-signed ones), besides the system roots.
    pub tls_certs: Option<String>,
    /// When a mirror holds more pack files than this after a fetch, they
    /// are merged into one (0 never merges).
    pub max_packs: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            fetch_timeout: Duration::from_secs(120),
            known_hosts: None,
            tls_certs: None,
            max_packs: 32,
        }
    }
}

/// A revision resolved to a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The normalized repository URL (the cache key).
    pub repo: String,
    /// The revision asked for.
    pub revision: String,
    /// The commit's full SHA.
    pub sha: String,
    /// Whether this call fetched from the remote.
    pub fetched: bool,
    /// Set when a refresh failed and the answer comes from the last good
    /// mirror instead: the fetch error's message (never a secret).
    pub stale: Option<String>,
}

/// Fetch counters of one repository (exported as metrics by the controller).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Network fetches started, first clones included.
    pub fetches: u64,
    /// First clones (and re-clones after corruption) among them.
    pub clones: u64,
    /// Fetches that failed.
    pub failures: u64,
    /// Corrupt mirrors removed and cloned again.
    pub recoveries: u64,
    /// Times the mirror's packs were merged into one.
    pub repacks: u64,
    /// Duration of the last fetch.
    pub last_duration: Option<Duration>,
    /// The last fetch's error, if it failed.
    pub last_error: Option<String>,
}

/// State only the holder of a repository's fetch lock may touch.
#[derive(Default)]
pub(crate) struct Locked {
    /// The start sequence number of the last fetch that succeeded.
    pub(crate) completed: u64,
    /// Whether the mirror was checked for corruption in this process.
    pub(crate) validated: bool,
}

/// One repository's place in the cache.
pub(crate) struct Slot {
    pub(crate) url: RepoUrl,
    pub(crate) key: String,
    pub(crate) path: PathBuf,
    pub(crate) lock: Arc<tokio::sync::Mutex<Locked>>,
    /// Sequence number of the last fetch started.
    pub(crate) started: AtomicU64,
    /// Set once the mirror was validated: readers may then skip the lock.
    pub(crate) ready: AtomicBool,
    pub(crate) stats: Mutex<FetchStats>,
    /// The last few [`MirrorCache::changed_paths`] answers.
    diffs: crate::diff::RecentDiffs,
    /// Open read handles of the mirror, kept between reads.
    pub(crate) readers: Arc<crate::readers::Readers>,
}

/// The shared cache of bare mirrors. Cheap to share behind an `Arc`.
pub struct MirrorCache {
    dir: PathBuf,
    credentials: Arc<dyn CredentialSource>,
    pub(crate) options: Options,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

impl std::fmt::Debug for MirrorCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MirrorCache")
            .field("dir", &self.dir)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The largest tree libgit2 keeps parsed in a repository's object cache.
/// Its default (4 KiB) leaves out a directory of more than ~110 entries,
/// such as a monorepo's `apps/`, so every path looked up below it inflated
/// and parsed that tree again: per file read, per render.
const TREE_CACHE_LIMIT: usize = 1 << 20;
/// The most libgit2 keeps parsed in all object caches together: read
/// handles are kept between renders ([`crate::readers`]), and libgit2's
/// default (256 MiB) would let the trees of every commit read pile up.
const OBJECT_CACHE_BYTES: isize = 4 << 20;

/// libgit2's options are process-global (socket timeouts, the object cache
/// limits); set them once.
fn set_global_options(timeout: Duration) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        let connect = ms.min(30_000);
        // SAFETY: called once, before this process starts any git2 transport
        // or opens a repository.
        unsafe {
            let _ = git2::opts::set_server_connect_timeout_in_milliseconds(connect);
            let _ = git2::opts::set_server_timeout_in_milliseconds(ms);
            let _ = git2::opts::set_cache_object_limit(git2::ObjectType::Tree, TREE_CACHE_LIMIT);
            let _ = git2::opts::set_cache_max_size(OBJECT_CACHE_BYTES);
        }
    });
}

impl MirrorCache {
    /// A cache keeping its mirrors under `dir` (created when missing).
    pub fn new(
        dir: impl Into<PathBuf>,
        credentials: Arc<dyn CredentialSource>,
        options: Options,
    ) -> Result<MirrorCache> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| SourceError::Cache {
            url: String::new(),
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
        set_global_options(options.fetch_timeout);
        Ok(MirrorCache {
            dir,
            credentials,
            options,
            slots: Mutex::new(HashMap::new()),
        })
    }

    /// The directory of the mirror for `url` (whether or not it exists yet).
    pub fn mirror_path(&self, url: &str) -> Result<PathBuf> {
        Ok(self.slot(url)?.path.clone())
    }

    /// Fetch counters of the repository at `url` (zero when never fetched).
    pub fn stats(&self, url: &str) -> Result<FetchStats> {
        Ok(lock(&self.slot(url)?.stats).clone())
    }

    /// Fetch counters of every repository the cache knows, by normalized URL.
    pub fn all_stats(&self) -> Vec<(String, FetchStats)> {
        let mut out: Vec<_> = lock(&self.slots)
            .values()
            .map(|s| (s.key.clone(), lock(&s.stats).clone()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    pub(crate) fn slot(&self, url: &str) -> Result<Arc<Slot>> {
        let parsed = RepoUrl::parse(url)?;
        let key = parsed.normalized();
        let mut slots = lock(&self.slots);
        if let Some(slot) = slots.get(&key) {
            return Ok(slot.clone());
        }
        let path = self.dir.join(dir_name(&parsed, &key));
        let slot = Arc::new(Slot {
            readers: Arc::new(crate::readers::Readers::new(path.clone())),
            path,
            url: parsed,
            key: key.clone(),
            lock: Arc::new(tokio::sync::Mutex::new(Locked::default())),
            started: AtomicU64::new(0),
            ready: AtomicBool::new(false),
            stats: Mutex::new(FetchStats::default()),
            diffs: Default::default(),
        });
        slots.insert(key, slot.clone());
        Ok(slot)
    }

    /// Resolves `revision` of the repository at `url` to a full commit SHA,
    /// cloning the mirror when it does not exist yet. With `refresh`, the
    /// mirror is fetched first (unless the revision is a full SHA already
    /// present, or a fetch that started after this call finished meanwhile).
    /// Without it, the mirror is fetched only when the revision is missing.
    ///
    /// The call's moment of arrival is taken when `resolve` is called, not
    /// when the future is first polled: callers that ask while a fetch is
    /// waiting to start all share that fetch.
    pub fn resolve<'a>(
        &'a self,
        url: &str,
        revision: &str,
        refresh: bool,
    ) -> impl Future<Output = Result<Resolved>> + Send + 'a {
        let prepared = self.slot(url).map(|slot| {
            let arrival = slot.started.load(Ordering::SeqCst);
            (slot, arrival)
        });
        let (url, revision) = (url.to_string(), revision.to_string());
        async move {
            let (slot, arrival) = prepared?;
            self.resolve_in(slot, arrival, &url, &revision, refresh)
                .await
        }
    }

    async fn resolve_in(
        &self,
        slot: Arc<Slot>,
        arrival: u64,
        url: &str,
        revision: &str,
        refresh: bool,
    ) -> Result<Resolved> {
        let kind = RevisionKind::parse(revision);

        if slot.ready.load(Ordering::SeqCst) && (!refresh || kind.is_immutable()) {
            let (readers, k) = (slot.readers.clone(), kind.clone());
            let local = tokio::task::spawn_blocking(move || {
                readers.get().and_then(|repo| lookup(&repo, &k)).ok()
            })
            .await
            .ok()
            .flatten();
            if let Some(Lookup::Found(oid)) = local {
                return Ok(Resolved {
                    repo: slot.key.clone(),
                    revision: revision.to_string(),
                    sha: oid.to_string(),
                    fetched: false,
                    stale: None,
                });
            }
        }

        let guard = slot.lock.clone().lock_owned().await;
        // Callers that waited for a fetch which started after they arrived
        // will not fetch again (unless a ref outside heads and tags is
        // wanted): they skip the credential lookup (an API call for Secrets).
        let may_fetch = guard.completed <= arrival || matches!(kind, RevisionKind::Ref(_));
        let credentials = if may_fetch {
            self.credentials.credentials(url).await?
        } else {
            None
        };
        let job = Job {
            slot: slot.clone(),
            kind,
            revision: revision.to_string(),
            arrival,
            refresh,
            credentials,
            options: self.options.clone(),
            timeout: self.options.fetch_timeout,
            extra_refs: Vec::new(),
        };
        let handle = tokio::task::spawn_blocking(move || job.run(guard));
        // libgit2's own deadline normally ends the fetch; this is the backstop
        // for a transport that ignores it. The blocking task keeps the lock
        // until git2 returns, so no second fetch can overlap it.
        let backstop = self.options.fetch_timeout + Duration::from_secs(10);
        let result = match tokio::time::timeout(backstop, handle).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(SourceError::Fetch {
                url: slot.url.to_string(),
                message: format!("fetch task failed: {join}"),
            }),
            Err(_) => Err(SourceError::Timeout {
                url: slot.url.to_string(),
                seconds: self.options.fetch_timeout.as_secs(),
            }),
        };
        if may_fetch && result.is_err() {
            // Whatever credentials were remembered for it are read again.
            self.credentials.fetch_failed(url);
        }
        result
    }

    /// The file tree of commit `sha` (a full SHA from [`MirrorCache::resolve`])
    /// of the repository at `url`. Does not fetch; cheap.
    pub fn tree(&self, url: &str, sha: &str) -> Result<GitTree> {
        let slot = self.slot(url)?;
        let oid = git2::Oid::from_str(sha).map_err(|_| SourceError::RevisionNotFound {
            url: slot.url.to_string(),
            revision: sha.to_string(),
        })?;
        let reader = slot.readers.get().map_err(|e| cache_error(&slot, &e))?;
        GitTree::open(reader, oid).map_err(|e| match e.code() {
            git2::ErrorCode::NotFound => SourceError::RevisionNotFound {
                url: slot.url.to_string(),
                revision: sha.to_string(),
            },
            _ => cache_error(&slot, &e),
        })
    }

    /// The paths (files, `/`-separated) that differ between commits `from`
    /// and `to`; a rename lists both names. Sorted, without duplicates.
    /// Remembered per pair of full SHAs (the last few), so every consumer
    /// of one push shares one diff.
    pub async fn changed_paths(&self, url: &str, from: &str, to: &str) -> Result<Arc<[String]>> {
        let slot = self.slot(url)?;
        if let Some(paths) = slot.diffs.get(from, to) {
            return Ok(paths);
        }
        let (from, to) = (from.to_string(), to.to_string());
        tokio::task::spawn_blocking(move || {
            let repo = slot.readers.get().map_err(|e| cache_error(&slot, &e))?;
            let paths: Arc<[String]> =
                crate::diff::changed_paths(&slot.path, &repo, &slot.url, &from, &to)?.into();
            slot.diffs.insert(&from, &to, paths.clone());
            Ok(paths)
        })
        .await
        .map_err(|e| SourceError::Fetch {
            url: String::new(),
            message: format!("diff task failed: {e}"),
        })?
    }

    /// [`MirrorCache::changed_paths`]'s answer for two full SHAs when it is
    /// still remembered (the last few per repository); never diffs.
    pub fn remembered_changes(&self, url: &str, from: &str, to: &str) -> Option<Arc<[String]>> {
        self.slot(url).ok()?.diffs.get(from, to)
    }
}

/// `host-org-repo-<hash>.git`: readable, and unique per normalized URL.
fn dir_name(url: &RepoUrl, key: &str) -> String {
    let hash = sha2::Sha256::digest(key.as_bytes());
    let hex: String = hash.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let readable: String = format!("{}{}", url.host, url.path)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let readable = readable.trim_matches('-');
    let readable = &readable[readable.len().saturating_sub(60)..];
    format!("{readable}-{hex}.git")
}

pub(crate) fn cache_error(slot: &Slot, e: &git2::Error) -> SourceError {
    SourceError::Cache {
        url: slot.url.to_string(),
        path: slot.path.display().to_string(),
        message: e.message().to_string(),
    }
}
