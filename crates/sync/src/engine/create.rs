//! Creating an object the comparison found missing, without having read
//! it: the apply carries a resource version no object has
//! ([`ABSENT_PRECONDITION`]), so the server creates the object when it
//! does not exist and refuses (409 Conflict) when it does. A comparison
//! that trusts the tracked-object index ([`crate::SyncEngine::with_live_cache`])
//! learns that an object is missing from the index alone, a few
//! milliseconds behind the server; an object created meanwhile by someone
//! else is then read and treated as the comparison would have treated it
//! (left to the Application tracking it, or applied over as any existing
//! object), never overwritten blindly.

use serde_json::Value;

use super::SyncEngine;
use super::apply::{Applied, outcome};
use crate::discovery::Resolved;
use crate::kubeapi;
use crate::model::{Action, ResourceDiff, ResourceState, Target};
use crate::tracking::{Ownership, TRACKING_ANNOTATION, ownership};

/// A resource version no stored object has (etcd's first revision is
/// taken before any object is written): an apply with it creates the
/// object or fails with a conflict.
const ABSENT_PRECONDITION: &str = "1";

/// Whether `r` is applied as a creation (missing, nothing live read).
pub(super) fn creates(r: &ResourceDiff) -> bool {
    r.state == ResourceState::Missing && r.live.is_none()
}

/// Makes the apply of `body` create the object only if it does not exist.
pub(super) fn only_if_absent(body: &mut Value) {
    if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert(
            "resourceVersion".into(),
            Value::String(ABSENT_PRECONDITION.into()),
        );
    }
}

/// Whether an apply made with [`only_if_absent`] failed because the object exists.
pub(super) fn exists_already(err: &kube::Error) -> bool {
    kubeapi::status_code(err) == Some(409)
}

impl SyncEngine {
    /// `r` was to be created but exists: reads it and applies `r` to it as
    /// to any existing object, unless another owner's tracking annotation
    /// is on it (then it is left to that owner, or fails the sync with
    /// `FailOnSharedResource=true`, as the comparison would have decided).
    pub(super) async fn apply_to_existing(
        &self,
        target: &Target,
        r: &ResourceDiff,
        resolved: &Resolved,
    ) -> Applied {
        let api = kubeapi::api(&self.client, resolved, &r.key.namespace);
        let live = match api.get_opt(&r.key.name).await {
            Ok(Some(obj)) => kubeapi::to_value(obj, resolved),
            Ok(None) => {
                let message = format!(
                    "{}: created by someone else while being applied, then deleted; not applied",
                    r.key
                );
                return Applied::failed(outcome(r, Action::Failed, message));
            }
            Err(e) => {
                let message = format!("{}: get failed: {}", r.key, kubeapi::message(&e));
                return Applied::failed(outcome(r, Action::Failed, message));
            }
        };
        let annotation = live
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(TRACKING_ANNOTATION))
            .and_then(Value::as_str);
        if let Ownership::OtherApp(other) = ownership(&target.app, &r.key, annotation) {
            let owner = crate::tracking::describe_owner(&other);
            return if r.options.fails_on_shared_resource() {
                let message = format!(
                    "{} is tracked by {owner}; FailOnSharedResource=true fails the sync",
                    r.key
                );
                Applied::failed(outcome(r, Action::Failed, message))
            } else {
                let message = format!("not applied: tracked by {owner}");
                Applied::failed(outcome(r, Action::Skipped, message))
            };
        }
        let existing = ResourceDiff {
            state: ResourceState::OutOfSync,
            health: crate::health::assess(&live),
            live: Some(live),
            ..r.clone()
        };
        Box::pin(self.apply_one(target, &existing)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_precondition_is_set_in_the_metadata() {
        let mut body = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "dev"}, "data": {"a": "1"}});
        only_if_absent(&mut body);
        assert_eq!(
            body.pointer("/metadata/resourceVersion"),
            Some(&json!(ABSENT_PRECONDITION))
        );
        assert_eq!(body.pointer("/data/a"), Some(&json!("1")));
    }
}
