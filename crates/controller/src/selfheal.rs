//! Self-heal: every change to a tracked object (drift, a deletion, a new
//! tracking annotation) requeues the owner its tracking annotation names,
//! an Application or a Kustomization, after [`SETTLE`]: the changes an
//! owner's objects see in that time (a Deployment's status updates as it
//! rolls out) make one reconcile, not one each. Whether to re-sync, and how
//! soon after the last self-heal, is the reconcile's call.
//!
//! A change that left every field the engine owns as it was (a status
//! update) cannot be drift: it requeues only an owner that judges its
//! objects' health (an Application, a HelmRelease, a Kustomization with
//! `wait` or health checks). A Kustomization without them has nothing to
//! do with it; at a thousand Deployments rolling out that is a thousand
//! reconciles saved.
//!
//! There are no watches here: the sync engine's index of tracked objects
//! already keeps one metadata-only watch per kind and namespace that an
//! owner syncs into, and announces the changes it sees
//! ([`driftless_sync::SyncEngine::tracked_changes`]). One listener runs per
//! sync engine (the controller's own, and one per impersonated
//! ServiceAccount).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use driftless_sync::{SyncEngine, TrackedChange};
use tokio::sync::broadcast::error::RecvError;

use crate::context::Context;

/// The longest an owner goes without a reconcile while self-heal is on:
/// the sync engine stops watching a kind and namespace that no diff asked
/// about for 15 minutes, so owners with longer intervals are compared at
/// least this often to keep their objects watched.
pub const KEEP_WATCHING: Duration = Duration::from_secs(10 * 60);

/// How long after the first change to an owner's objects it is requeued
/// (later changes in that time ride along).
pub const SETTLE: Duration = Duration::from_millis(200);

/// The running listeners.
#[derive(Default)]
pub struct Watches {
    listeners: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Watches {
    /// Requeues the owners of the changes `engine`'s index sees, until
    /// stopped or the context is gone.
    pub fn listen(&self, engine: &SyncEngine, ctx: Weak<Context>) {
        let changes = engine.tracked_changes();
        let task = tokio::spawn(requeue_owners(changes, ctx));
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(task);
    }

    /// Stops every listener.
    pub fn stop_all(&self) {
        let mut listeners = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        for task in listeners.drain(..) {
            task.abort();
        }
    }
}

impl Drop for Watches {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// Who else writes the objects a self-heal is about to revert: per
/// out-of-sync object whose live object names other field managers,
/// `<object> (also written by <manager>, …)`.
pub fn other_writers(cmp: &driftless_sync::Comparison, own: &str) -> Vec<String> {
    cmp.resources
        .iter()
        .filter(|r| r.state == driftless_sync::ResourceState::OutOfSync)
        .filter_map(|r| {
            let managers = writers_of(r.live.as_ref()?, own);
            (!managers.is_empty())
                .then(|| format!("{} (also written by {})", r.key, managers.join(", ")))
        })
        .collect()
}

/// The field managers of `live` other than `own` (status subresource
/// entries aside), sorted, once each.
fn writers_of<'a>(live: &'a serde_json::Value, own: &str) -> Vec<&'a str> {
    let fields = live
        .pointer("/metadata/managedFields")
        .and_then(|f| f.as_array());
    let mut managers: Vec<&str> = fields
        .into_iter()
        .flatten()
        .filter(|f| f.get("subresource").is_none_or(|s| s.as_str() == Some("")))
        .filter_map(|f| f.get("manager")?.as_str())
        .filter(|m| *m != own)
        .collect();
    managers.sort_unstable();
    managers.dedup();
    managers
}

async fn requeue_owners(
    mut changes: tokio::sync::broadcast::Receiver<TrackedChange>,
    ctx: Weak<Context>,
) {
    // Owners (by tracking name) with a requeue already on its way.
    let pending: Arc<Mutex<HashSet<String>>> = Arc::default();
    loop {
        let change = match changes.recv().await {
            Ok(change) => change,
            Err(RecvError::Lagged(missed)) => {
                tracing::debug!(missed, "self-heal fell behind; the interval re-checks");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let Some(strong) = ctx.upgrade() else { return };
        if change.owned_fields_unchanged && !strong.judges_health(&change.owner) {
            continue;
        }
        drop(strong);
        let tracking_name = change.owner;
        let first = pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(tracking_name.clone());
        if first {
            tokio::spawn(requeue_later(tracking_name, ctx.clone(), pending.clone()));
        }
    }
}

/// Requeues the owner named `tracking_name` after [`SETTLE`].
async fn requeue_later(
    tracking_name: String,
    ctx: Weak<Context>,
    pending: Arc<Mutex<HashSet<String>>>,
) {
    tokio::time::sleep(SETTLE).await;
    // Changes from here on need a requeue of their own.
    pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&tracking_name);
    let Some(ctx) = ctx.upgrade() else { return };
    if let Some(owner) = ctx.owner_by_tracking_name(&tracking_name) {
        ctx.trigger_owner(&owner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn other_writers_are_the_managers_but_ours_and_status_writers() {
        let live = json!({"metadata": {"managedFields": [
            {"manager": "driftless", "operation": "Apply"},
            {"manager": "fighter", "operation": "Apply"},
            {"manager": "kubectl-edit", "operation": "Update"},
            {"manager": "fighter", "operation": "Update"},
            {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status"},
        ]}});
        assert_eq!(writers_of(&live, "driftless"), ["fighter", "kubectl-edit"]);
        assert!(writers_of(&json!({"metadata": {}}), "driftless").is_empty());
    }
}
