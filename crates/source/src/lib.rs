//! driftless-source: everything about Git for the controller.
//!
//! * [`MirrorCache`]: one bare mirror per normalized repository URL, shared
//!   by every Application, fetched incrementally with at most one fetch in
//!   flight per repository and no global lock; git2 runs in `spawn_blocking`.
//! * [`MirrorCache::resolve`]: `HEAD`, branches, tags, `refs/...` and full or
//!   abbreviated SHAs to a full commit SHA.
//! * [`MirrorCache::tree`]: a commit's files as a
//!   [`driftless_render::tree::FileTree`], read from the object database.
//! * [`MirrorCache::changed_paths`]: the files two commits differ in.
//! * [`MirrorCache::fetch_with`]: a fetch with the caller's own credentials
//!   and time limit (a Flux `GitRepository`'s `secretRef`), then
//!   [`MirrorCache::lookup`], [`MirrorCache::tags`] and
//!   [`MirrorCache::contains`] read the mirror without fetching.
//! * [`credentials`]: Argo CD repository Secrets (`repository`, `repo-creds`).
//! * [`webhook`]: push webhooks from GitHub, GitLab, Gitea, Gogs, Bitbucket
//!   Cloud and a generic JSON form.
//!
//! ```no_run
//! # async fn demo() -> Result<(), driftless_source::SourceError> {
//! use std::sync::Arc;
//! use driftless_render::tree::FileTree;
//! use driftless_source::{MirrorCache, Options, credentials::NoCredentials};
//!
//! let cache = MirrorCache::new("/var/cache/driftless", Arc::new(NoCredentials), Options::default())?;
//! let resolved = cache.resolve("https://git.example.com/org/apps.git", "main", true).await?;
//! let tree = cache.tree("https://git.example.com/org/apps.git", &resolved.sha)?;
//! let kustomization = tree.read("overlays/prod/kustomization.yaml");
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod access;
mod cache;
pub mod credentials;
mod diff;
mod error;
mod fetch;
pub mod ignore;
mod job;
mod maintenance;
mod readers;
pub mod revision;
pub mod semver_range;
mod tree;
pub mod url;
pub mod webhook;

pub use access::Access;
pub use cache::{FetchStats, MirrorCache, Options, Resolved};
pub use diff::paths_touch;
pub use error::{Result, SourceError};
pub use tree::{CommitInfo, GitTree};
pub use url::{RepoUrl, normalize_url, redact};
