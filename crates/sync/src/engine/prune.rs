//! Pruning: deleting tracked objects that are no longer rendered, in reverse
//! wave order, `PruneLast` ones after the others. Deleting an Application's
//! objects (`super::delete`) goes through the same requests with its own rules.

use futures::{StreamExt, stream};
use serde_json::Value;

use super::SyncEngine;
use crate::kubeapi;
use crate::model::{Action, ResourceDiff, ResourceOutcome, SyncResult, Target};

/// Why objects are being deleted.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Pruning after a sync: `Prune=false` and prune off keep objects.
    Prune,
    /// The sync failed: nothing is pruned.
    NoPrune,
    /// The Application is being deleted: only `Delete=false` keeps objects.
    Delete,
}

fn outcome(r: &ResourceDiff, action: Action, message: impl Into<String>) -> ResourceOutcome {
    ResourceOutcome {
        key: r.key.clone(),
        version: r.version.clone(),
        action,
        message: message.into(),
        phase: r.phase,
        wave: r.wave,
        hook: None,
    }
}

impl SyncEngine {
    /// Prunes `candidates` (or records why not) into `result`.
    pub(super) async fn prune_all(
        &self,
        target: &Target,
        candidates: &[&ResourceDiff],
        failed: bool,
        result: &mut SyncResult,
    ) {
        let mode = if failed { Mode::NoPrune } else { Mode::Prune };
        self.delete_candidates(target, candidates, mode, result)
            .await;
    }

    /// Deletes `candidates` in reverse wave order (`PruneLast` ones last),
    /// or records why one is kept, into `result`.
    pub(super) async fn delete_candidates(
        &self,
        target: &Target,
        candidates: &[&ResourceDiff],
        mode: Mode,
        result: &mut SyncResult,
    ) {
        let mut deletable = Vec::new();
        for r in candidates {
            let skipped = if mode == Mode::Delete {
                (!r.options.allows_delete()).then_some(
                    "kept: the sync option Delete=false keeps it when its Application is deleted",
                )
            } else if mode == Mode::NoPrune {
                Some("not pruned: the sync failed")
            } else if !target.prune {
                Some("requires pruning; not pruned because prune is off")
            } else if !r.options.allows_prune() {
                Some("requires pruning; not pruned because of the sync option Prune=false")
            } else {
                None
            };
            match skipped {
                Some(m) => result.resources.push(outcome(r, Action::PruneSkipped, m)),
                None => deletable.push(*r),
            }
        }
        // Highest wave first; PruneLast objects after all the others.
        deletable.sort_by_key(|r| (r.options.prunes_last(), std::cmp::Reverse(r.sort_key())));
        let groups: Vec<Vec<&ResourceDiff>> = deletable
            .chunk_by(|a, b| (a.options.prunes_last(), a.wave) == (b.options.prunes_last(), b.wave))
            .map(<[&ResourceDiff]>::to_vec)
            .collect();
        for group in groups {
            // Indices, not borrowed items: a closure over borrowed items
            // cannot be proven `Send`.
            let outcomes: Vec<(ResourceOutcome, usize)> = stream::iter(0..group.len())
                .map(|i| self.prune_one(target, group[i], mode))
                .buffer_unordered(self.concurrency)
                .collect()
                .await;
            for (o, writes) in outcomes {
                result.writes += writes;
                result.resources.push(o);
            }
        }
    }

    async fn prune_one(
        &self,
        target: &Target,
        r: &ResourceDiff,
        mode: Mode,
    ) -> (ResourceOutcome, usize) {
        let verb = if mode == Mode::Delete {
            "delete"
        } else {
            "prune"
        };
        let Some(resolved) = &r.resolved else {
            return (
                outcome(
                    r,
                    Action::Failed,
                    format!("{}: cannot {verb}: kind not served", r.key),
                ),
                0,
            );
        };
        if target.dry_run {
            return (outcome(r, Action::Pruned, format!("{verb}d (dry run)")), 0);
        }
        let uid = r
            .live
            .as_ref()
            .and_then(|l| l.pointer("/metadata/uid"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let policy = r.options.propagation_policy();
        let api = kubeapi::api(&self.client, resolved, &r.key.namespace);
        match kubeapi::delete(&api, &r.key.name, policy, uid).await {
            Ok(()) => (
                outcome(
                    r,
                    Action::Pruned,
                    format!("{verb}d ({} deletion)", policy.as_str().to_lowercase()),
                ),
                1,
            ),
            Err(e) => (
                outcome(
                    r,
                    Action::Failed,
                    format!("{}: {verb} failed: {}", r.key, kubeapi::message(&e)),
                ),
                1,
            ),
        }
    }
}
