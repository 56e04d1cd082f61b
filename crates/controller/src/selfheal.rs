//! Self-heal: metadata-only watches of the kinds Applications manage,
//! started when a kind is first managed and stopped when no Application
//! manages it any more. A change to a tracked object requeues its
//! Application or Kustomization (found through the tracking annotation) at once; whether to
//! re-sync, and how soon after the last self-heal, is the reconcile's call.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, Weak};

use driftless_sync::ManagedKind;
use driftless_sync::tracking::parse_tracking_id;
use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::core::PartialObjectMeta;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};

use crate::context::{Context, OwnerId};

struct KindWatch {
    users: BTreeSet<OwnerId>,
    task: tokio::task::JoinHandle<()>,
}

/// The running watches, by `group/version/kind`.
#[derive(Default)]
pub struct Watches {
    kinds: Mutex<HashMap<String, KindWatch>>,
}

fn kind_key(k: &ManagedKind) -> String {
    format!(
        "{}/{}/{}",
        k.resource.group, k.resource.version, k.resource.kind
    )
}

impl Watches {
    /// Records that `app` manages exactly `kinds` now: starts watches for
    /// kinds not yet watched, and stops those no Application manages.
    pub fn update(
        &self,
        client: &Client,
        ctx: Weak<Context>,
        app: &OwnerId,
        kinds: &[ManagedKind],
    ) {
        let wanted: HashMap<String, &ManagedKind> =
            kinds.iter().map(|k| (kind_key(k), k)).collect();
        let mut running = self.kinds.lock().unwrap_or_else(|e| e.into_inner());
        for (key, kind) in &wanted {
            let entry = running.entry(key.clone()).or_insert_with(|| {
                tracing::debug!(kind = %key, "starting a metadata watch");
                KindWatch {
                    users: BTreeSet::new(),
                    task: tokio::spawn(watch_kind(client.clone(), (*kind).clone(), ctx.clone())),
                }
            });
            entry.users.insert(app.clone());
        }
        running.retain(|key, watch| {
            if !wanted.contains_key(key) {
                watch.users.remove(app);
            }
            let keep = !watch.users.is_empty();
            if !keep {
                tracing::debug!(kind = %key, "stopping a metadata watch");
                watch.task.abort();
            }
            keep
        });
    }

    /// Forgets `app` (deleted), stopping watches nobody needs.
    pub fn forget(&self, app: &OwnerId) {
        let mut running = self.kinds.lock().unwrap_or_else(|e| e.into_inner());
        running.retain(|_, watch| {
            watch.users.remove(app);
            let keep = !watch.users.is_empty();
            if !keep {
                watch.task.abort();
            }
            keep
        });
    }

    /// The kinds watched now.
    pub fn watched(&self) -> Vec<String> {
        let running = self.kinds.lock().unwrap_or_else(|e| e.into_inner());
        let mut keys: Vec<String> = running.keys().cloned().collect();
        keys.sort();
        keys
    }

    /// Stops every watch.
    pub fn stop_all(&self) {
        let mut running = self.kinds.lock().unwrap_or_else(|e| e.into_inner());
        for (_, w) in running.drain() {
            w.task.abort();
        }
    }
}

impl Drop for Watches {
    fn drop(&mut self) {
        self.stop_all();
    }
}

async fn watch_kind(client: Client, kind: ManagedKind, ctx: Weak<Context>) {
    let api: Api<PartialObjectMeta<DynamicObject>> = Api::all_with(client, &kind.resource);
    let mut events = watcher(api, watcher::Config::default())
        .default_backoff()
        .touched_objects()
        .boxed();
    while let Some(event) = events.next().await {
        let Ok(object) = event else { continue };
        let Some(ctx) = ctx.upgrade() else { return };
        let Some(id) = object
            .annotations()
            .get(driftless_sync::TRACKING_ANNOTATION)
            .and_then(|v| parse_tracking_id(v))
        else {
            continue;
        };
        if let Some(owner) = ctx.owner_by_tracking_name(&id.app) {
            ctx.trigger_owner(&owner);
        }
    }
}

/// Shared handle type for the watches.
pub type SharedWatches = Arc<Watches>;
