//! [`SyncEngine::delete_tracked`]: deleting an Application's objects when the
//! Application is deleted (its resources finalizer). Every object tracked to
//! it is deleted except `Delete=false` ones; `Prune=false` and prune being
//! off do not matter here. An object already being deleted is not asked
//! again: it is reported with what it waits for, so a caller can tell
//! progress from a deletion that is stuck.

use driftless_render::ObjectKey;
use serde_json::Value;

use super::SyncEngine;
use super::prune::Mode;
use crate::error::SyncError;
use crate::model::{Action, ManagedKind, ResourceDiff, ResourceState, SyncResult, Target};

/// What one pass of [`SyncEngine::delete_tracked`] did, and what is left.
#[derive(Clone, Debug, Default)]
pub struct Deletion {
    /// Objects whose delete request this pass made was accepted (they may
    /// still exist for a while: foreground deletion, finalizers).
    pub deleted: Vec<ObjectKey>,
    /// Objects kept because of the sync option `Delete=false`.
    pub kept: Vec<ObjectKey>,
    /// Objects deleted earlier that still exist, with what they wait for.
    pub waiting: Vec<(ObjectKey, String)>,
    /// Objects the API server refused to delete, with its message.
    pub failed: Vec<(ObjectKey, String)>,
    /// The kinds searched for tracked objects (to watch them).
    pub managed_kinds: Vec<ManagedKind>,
    /// Requests that wrote (or tried to write) to the cluster.
    pub writes: usize,
}

impl Deletion {
    /// Whether nothing tracked (except `Delete=false` objects) is left.
    pub fn finished(&self) -> bool {
        self.deleted.is_empty() && self.waiting.is_empty() && self.failed.is_empty()
    }

    /// What keeps the deletion from finishing, one line per object
    /// (`Kind namespace/name: reason`): refused deletes first.
    pub fn blockers(&self) -> Vec<String> {
        self.failed
            .iter()
            .chain(&self.waiting)
            .map(|(key, reason)| format!("{key}: {reason}"))
            .collect()
    }
}

/// Why an object that is being deleted still exists: its finalizers.
fn waiting_for(live: &Value) -> Option<String> {
    let since = live.pointer("/metadata/deletionTimestamp")?.as_str()?;
    let finalizers: Vec<&str> = live
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|f| f.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    Some(if finalizers.is_empty() {
        format!("being deleted since {since}")
    } else {
        format!(
            "being deleted since {since}, waiting for its finalizers {}",
            finalizers.join(", ")
        )
    })
}

impl SyncEngine {
    /// One pass of deleting the Application's objects: finds everything
    /// tracked to `target.app` (pass the last `status.resources` as
    /// `target.previous`, so kinds no longer rendered are searched), keeps
    /// `Delete=false` objects, reports objects already being deleted, and
    /// deletes the rest (highest wave first, `PruneLast` ones last) with
    /// each object's propagation policy. Call it again until
    /// [`Deletion::finished`].
    #[tracing::instrument(skip_all, fields(app = %target.app))]
    pub async fn delete_tracked(&self, target: &Target) -> Result<Deletion, SyncError> {
        let comparison = self.diff(target, Vec::new()).await?;
        let mut deletion = Deletion {
            managed_kinds: comparison.managed_kinds.clone(),
            ..Deletion::default()
        };
        let mut candidates: Vec<&ResourceDiff> = Vec::new();
        for r in &comparison.resources {
            if r.state != ResourceState::RequiresPruning || !target.selects(&r.key) {
                continue;
            }
            match r.live.as_ref().and_then(waiting_for) {
                Some(reason) if r.options.allows_delete() => {
                    deletion.waiting.push((r.key.clone(), reason));
                }
                _ => candidates.push(r),
            }
        }
        let mut result = SyncResult::default();
        self.delete_candidates(target, &candidates, Mode::Delete, &mut result)
            .await;
        deletion.writes = result.writes;
        for o in result.resources {
            match o.action {
                Action::Pruned => deletion.deleted.push(o.key),
                Action::Failed => deletion.failed.push((o.key, o.message)),
                _ => deletion.kept.push(o.key),
            }
        }
        Ok(deletion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(name: &str) -> ObjectKey {
        ObjectKey {
            group: String::new(),
            kind: "ConfigMap".into(),
            namespace: "dev".into(),
            name: name.into(),
        }
    }

    #[test]
    fn an_object_being_deleted_names_its_finalizers() {
        let live = json!({"metadata": {
            "deletionTimestamp": "2026-01-01T00:00:00Z",
            "finalizers": ["example.com/never", "other.io/x"],
        }});
        assert_eq!(
            waiting_for(&live).as_deref(),
            Some(
                "being deleted since 2026-01-01T00:00:00Z, waiting for its finalizers example.com/never, other.io/x"
            )
        );
        let plain = json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}});
        assert_eq!(
            waiting_for(&plain).as_deref(),
            Some("being deleted since 2026-01-01T00:00:00Z")
        );
        assert_eq!(waiting_for(&json!({"metadata": {}})), None);
    }

    #[test]
    fn finished_only_when_nothing_is_deleted_waited_for_or_refused() {
        let mut d = Deletion {
            kept: vec![key("kept")],
            ..Deletion::default()
        };
        assert!(d.finished(), "Delete=false objects do not hold it");
        d.waiting.push((key("slow"), "being deleted".into()));
        d.failed
            .push((key("locked"), "delete failed: forbidden".into()));
        assert!(!d.finished());
        assert_eq!(
            d.blockers(),
            [
                "ConfigMap dev/locked: delete failed: forbidden",
                "ConfigMap dev/slow: being deleted"
            ]
        );
        let just_deleted = Deletion {
            deleted: vec![key("gone-soon")],
            ..Deletion::default()
        };
        assert!(!just_deleted.finished(), "look again until it is gone");
    }
}
