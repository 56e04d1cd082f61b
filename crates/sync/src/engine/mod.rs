//! The sync engine: the part that talks to the cluster.

mod apply;
mod compare;
mod create;
mod delete;
mod hook_run;
mod prepare;
mod prune;
mod steps;
mod wait;

use std::sync::Arc;
use std::time::Duration;

use kube::Client;

use crate::discovery::Catalog;
use crate::index::TrackedIndex;
use crate::live::LiveObjects;
use crate::rejections::Rejections;
use crate::verdicts::Verdicts;

pub use delete::Deletion;

/// The field manager driftless applies with unless told otherwise.
pub const DEFAULT_FIELD_MANAGER: &str = "driftless";

/// Compares rendered objects with the cluster and syncs them. Cheap to
/// clone; clones share the discovery cache and the index of tracked objects
/// (one metadata-only watch per kind and namespace diffed, shared by every
/// Application syncing there) and the remembered in-sync verdicts and
/// rejections (a dry-run is skipped when neither the desired nor the live
/// object changed since it was found in sync, or was written by an apply of
/// the same desired object, or refused as invalid or too large).
#[derive(Clone)]
pub struct SyncEngine {
    client: Client,
    catalog: Arc<Catalog>,
    index: Arc<TrackedIndex>,
    live: Option<Arc<LiveObjects>>,
    verdicts: Arc<Verdicts>,
    rejections: Arc<Rejections>,
    field_manager: String,
    concurrency: usize,
    wave_timeout: Duration,
    poll_interval: Duration,
}

impl SyncEngine {
    /// An engine writing as [`DEFAULT_FIELD_MANAGER`], with 16 requests in
    /// flight at most and 10 minutes for a wave to become healthy.
    pub fn new(client: Client) -> Self {
        SyncEngine {
            catalog: Arc::new(Catalog::new(client.clone())),
            index: Arc::new(TrackedIndex::new(client.clone(), DEFAULT_FIELD_MANAGER)),
            live: None,
            verdicts: Arc::new(Verdicts::default()),
            rejections: Arc::new(Rejections::default()),
            client,
            field_manager: DEFAULT_FIELD_MANAGER.to_string(),
            concurrency: 16,
            wave_timeout: Duration::from_secs(600),
            poll_interval: Duration::from_millis(500),
        }
    }

    /// Uses `manager` as the server-side apply field manager.
    pub fn with_field_manager(mut self, manager: impl Into<String>) -> Self {
        self.field_manager = manager.into();
        // The index tells drift by the fields the manager owns.
        self.index = Arc::new(TrackedIndex::new(self.client.clone(), &self.field_manager));
        // Verdicts were reached by dry-runs (and applies) as the previous manager.
        self.verdicts = Arc::new(Verdicts::default());
        self.rejections = Arc::new(Rejections::default());
        self
    }

    /// Keeps the live objects a diff reads and a sync writes, and takes them
    /// as live while the tracked-object index shows them unchanged, instead
    /// of reading them again; an object the index has not seen is taken as
    /// missing without a read (a sync then creates it only if it still does
    /// not exist, and otherwise reads it and applies to it as the
    /// comparison would have). A change lands in the index a few
    /// milliseconds after it is made: use this only where each change the
    /// index sees leads to another diff (self-heal listening to
    /// [`SyncEngine::tracked_changes`]), so a diff in that window is
    /// followed by one that sees the change.
    pub fn with_live_cache(mut self) -> Self {
        self.live = Some(Arc::new(LiveObjects::default()));
        self
    }

    /// Allows at most `n` (at least 1) requests in flight.
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// How long a wave may take to become healthy before the sync fails.
    pub fn with_wave_timeout(mut self, timeout: Duration) -> Self {
        self.wave_timeout = timeout;
        self
    }

    /// How often health is polled while waiting for a wave.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The field manager writes are made as.
    pub fn field_manager(&self) -> &str {
        &self.field_manager
    }

    /// Every change the index of tracked objects sees (an object applied,
    /// drifted, deleted or re-tracked, or its status updated), with the
    /// tracking name of the owner it concerns, in every kind and namespace
    /// a diff has looked at: the one watch per scope serves both the diff's
    /// search for objects to prune and self-heal. A lagging receiver misses
    /// notices, not later ones.
    pub fn tracked_changes(&self) -> tokio::sync::broadcast::Receiver<crate::TrackedChange> {
        self.index.subscribe()
    }

    /// The discovery cache (shared by clones of this engine).
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The client requests are made with.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// Compile-time proof that the engine's futures are `Send`, so a
/// kube-runtime controller can await them on its multi-threaded runtime.
/// Never called: it only has to type-check.
#[allow(dead_code)]
fn futures_are_send(
    engine: &SyncEngine,
    target: &crate::model::Target,
    comparison: &crate::model::Comparison,
) {
    fn assert_send<T: Send>(_: T) {}
    assert_send(engine.diff(target, Vec::new()));
    assert_send(engine.diff_after_sync(target, Vec::new(), &crate::model::SyncResult::default()));
    assert_send(engine.sync(target, comparison));
    assert_send(engine.delete_tracked(target));
}
