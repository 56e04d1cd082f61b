//! The boundary between the controller and the pipeline it drives: a
//! [`Source`] (revision resolution and rendering of a commit) and a
//! [`Cluster`] (server-side dry-run diff, apply/prune, cascade delete).
//! The controller only talks to these traits, so its phases stay small and
//! testable; [`crate::adapters`] implements them on the real crates.

use std::future::Future;
use std::pin::Pin;

use driftless_api::{
    HealthStatus, OperationPhase, ResourceIgnoreDifferences, ResourceResult, SyncStatusCode,
};
use driftless_render::{Object, ObjectKey, RenderOptions, Rendered};

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

/// Where desired state comes from: Git, resolved and rendered.
pub trait Source: Send + Sync + 'static {
    /// Resolves `revision` (branch, tag, SHA, `HEAD`) of `repo` to a full
    /// commit SHA; `refresh` fetches even when a recent fetch is cached.
    fn resolve<'a>(
        &'a self,
        repo: &'a str,
        revision: &'a str,
        refresh: bool,
    ) -> BoxFut<'a, Result<String, StageError>>;

    /// Renders `path` of `repo` at `commit`.
    fn render<'a>(
        &'a self,
        repo: &'a str,
        commit: &'a str,
        path: &'a str,
        options: &'a RenderOptions,
    ) -> BoxFut<'a, Result<Rendered, StageError>>;
}

/// What the cluster side needs to know about one Application.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Target {
    /// The name written into tracking ids (`<app>:<group>/<kind>:<ns>/<name>`).
    pub tracking_name: String,
    /// The namespace given to namespaced objects that name none.
    pub namespace: Option<String>,
    /// `spec.ignoreDifferences`.
    pub ignore_differences: Vec<ResourceIgnoreDifferences>,
    /// `spec.syncPolicy.syncOptions` (plus an operation's own).
    pub sync_options: Vec<String>,
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
    /// The other Application whose tracking id the live object carries.
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

    /// Whether the only differences are resources requiring pruning.
    pub fn only_pruning(&self) -> bool {
        self.resources
            .iter()
            .filter(|r| r.status != SyncStatusCode::Synced)
            .all(|r| r.requires_pruning)
    }
}

/// How to sync.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncRequest {
    /// Delete resources requiring pruning.
    pub prune: bool,
    /// Compute the outcome without writing.
    pub dry_run: bool,
    /// Only these resources; all when empty.
    pub resources: Vec<ObjectKey>,
    /// Allow a sync of an empty render (which then prunes everything).
    pub allow_empty: bool,
}

/// What a sync did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncOutcome {
    /// Succeeded, Failed or Error.
    pub phase: OperationPhase,
    /// A summary for people.
    pub message: String,
    /// Per-resource results.
    pub resources: Vec<ResourceResult>,
}

/// The cluster side: compare, apply and prune, delete everything.
pub trait Cluster: Send + Sync + 'static {
    /// Compares `desired` with the live objects (server-side dry run) and
    /// finds the tracked objects no longer desired. No writes.
    fn diff<'a>(
        &'a self,
        target: &'a Target,
        desired: &'a [Object],
    ) -> BoxFut<'a, Result<Comparison, StageError>>;

    /// Applies what differs and prunes when asked.
    fn sync<'a>(
        &'a self,
        target: &'a Target,
        desired: &'a [Object],
        request: &'a SyncRequest,
    ) -> BoxFut<'a, Result<SyncOutcome, StageError>>;

    /// Deletes every object tracked to the Application (except `Delete=false`
    /// ones); returns how many are still present (waiting for finalizers).
    fn delete_all<'a>(
        &'a self,
        target: &'a Target,
        resources: &'a [ObjectKey],
        background: bool,
    ) -> BoxFut<'a, Result<usize, StageError>>;
}
