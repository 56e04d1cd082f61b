//! The boundary between the controller and Git: a [`Source`] resolves
//! revisions and renders commits ([`crate::adapters::GitSource`] implements
//! it on the mirror cache and the renderer), and [`Comparison`], the view of
//! a sync-engine comparison the status is computed from.

use std::future::Future;
use std::pin::Pin;

use driftless_api::{HealthStatus, SyncStatusCode};
use std::sync::Arc;

use driftless_render::{FileTree, ObjectKey, RenderOptions, Rendered};

/// A boxed, sendable future (the traits stay object-safe).
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An error from a pipeline stage, as text (the controller adds which
/// Application, repository and revision it was working on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageError(pub String);

impl std::fmt::Display for StageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StageError {}

impl StageError {
    /// A stage error from anything displayable.
    pub fn from_display(err: impl std::fmt::Display) -> Self {
        StageError(err.to_string())
    }
}

/// A revision resolved to a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolution {
    /// The commit's full SHA.
    pub sha: String,
    /// Set when a fetch was due and failed, and the commit comes from the
    /// last fetched state instead: why the fetch failed (never a secret).
    pub stale: Option<String>,
}

/// Where desired state comes from: Git, resolved and rendered.
pub trait Source: Send + Sync + 'static {
    /// Resolves `revision` (branch, tag, SHA, `HEAD`) of `repo` to a full
    /// commit SHA; `refresh` fetches even when a recent fetch is cached.
    fn resolve<'a>(
        &'a self,
        repo: &'a str,
        revision: &'a str,
        refresh: bool,
    ) -> BoxFut<'a, Result<Resolution, StageError>>;

    /// Renders `path` of `repo` at `commit`; with a `filter`, the files a
    /// Flux source ignores are left out first.
    fn render<'a>(
        &'a self,
        repo: &'a str,
        commit: &'a str,
        path: &'a str,
        options: &'a RenderOptions,
        filter: Option<&'a SourceFilter>,
    ) -> BoxFut<'a, Result<Rendered, StageError>>;

    /// The files of `commit` of `repo` (already resolved, so no fetch): a
    /// Helm chart directory, or the value files a multi-source `$ref` names.
    fn tree(&self, repo: &str, commit: &str) -> Result<Arc<dyn FileTree>, StageError>;

    /// The paths that differ between commits `from` and `to` of `repo`
    /// (both already fetched; remembered for the last few pairs).
    fn changed_paths<'a>(
        &'a self,
        repo: &'a str,
        from: &'a str,
        to: &'a str,
    ) -> BoxFut<'a, Result<Arc<[String]>, StageError>>;
}

/// A Flux source's file selection: `.sourceignore` files and Flux's default
/// exclusions, with the GitRepository's `spec.ignore` patterns.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SourceFilter {
    /// `spec.ignore` (gitignore syntax), read after the `.sourceignore` files.
    pub spec_ignore: Option<String>,
}

/// The comparison of one resource.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceDiff {
    /// Its identity (namespace filled in).
    pub key: ObjectKey,
    /// Its API version (without group).
    pub version: String,
    /// Synced, OutOfSync (also when missing or requiring pruning).
    pub status: SyncStatusCode,
    /// Its live health; `None` when not judged.
    pub health: Option<HealthStatus>,
    /// In the cluster, tracked to this Application, but no longer rendered.
    pub requires_pruning: bool,
    /// Not in the cluster yet.
    pub missing: bool,
    /// Its sync wave.
    pub sync_wave: Option<i64>,
    /// The other Application whose tracking id the live object carries, when
    /// this Application leaves the object to it (not with
    /// `FailOnSharedResource=true`, where a sync fails on it instead).
    pub shared_with: Option<String>,
}

/// Git compared with the cluster, resource by resource.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Comparison {
    /// Every desired or prunable resource.
    pub resources: Vec<ResourceDiff>,
    /// Warnings (shared resources, ...), each naming an object.
    pub warnings: Vec<String>,
}

impl Comparison {
    /// Whether anything differs (missing, drifted or requiring pruning).
    pub fn out_of_sync(&self) -> bool {
        self.resources
            .iter()
            .any(|r| r.status != SyncStatusCode::Synced)
    }

    /// Whether a sync could change anything: something differs that is not
    /// left to another Application (such an object stays OutOfSync, but
    /// syncing again would not change it).
    pub fn needs_sync(&self) -> bool {
        self.resources
            .iter()
            .any(|r| r.status != SyncStatusCode::Synced && r.shared_with.is_none())
    }

    /// Whether the only differences are resources requiring pruning.
    pub fn only_pruning(&self) -> bool {
        self.resources
            .iter()
            .filter(|r| r.status != SyncStatusCode::Synced && r.shared_with.is_none())
            .all(|r| r.requires_pruning)
    }
}

impl Comparison {
    /// The status view of the sync engine's comparison.
    pub fn from_engine(cmp: &driftless_sync::Comparison) -> Self {
        use driftless_sync::ResourceState;
        Comparison {
            resources: cmp
                .resources
                .iter()
                .map(|r| ResourceDiff {
                    key: r.key.clone(),
                    version: r.version.clone(),
                    status: r.sync_status(),
                    health: Some(r.health.clone()),
                    requires_pruning: r.state == ResourceState::RequiresPruning,
                    missing: r.state == ResourceState::Missing,
                    sync_wave: Some(r.wave),
                    shared_with: r.left_to().map(str::to_string),
                })
                .collect(),
            warnings: cmp.warnings.iter().map(|w| w.message.clone()).collect(),
        }
    }
}
