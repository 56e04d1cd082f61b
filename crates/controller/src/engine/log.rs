//! One INFO line per sync, whichever API asked for it: the owner, the
//! revision, what was done to how many objects, and how long it took
//! (`sync finished app="argocd/web" revision=… created=2 …`; a Kustomization
//! is `kustomization="flux-system/apps"`).

use std::time::Duration;

use driftless_sync::{Action, SyncResult};

use super::error::{ApplyError, Owner};

/// Logs the outcome of one sync of `owner` to `revision`.
pub(super) fn sync_finished(
    owner: &Owner,
    revision: &str,
    outcome: &Result<SyncResult, ApplyError>,
    took: Duration,
) {
    let duration_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
    let name = owner.name.as_str();
    let kustomization = owner.kind == "kustomization";
    match outcome {
        Ok(r) => {
            let count = |a: Action| r.resources.iter().filter(|o| o.action == a).count();
            let (created, pruned) = (count(Action::Created), count(Action::Pruned));
            let configured = count(Action::Configured) + count(Action::Replaced);
            let unchanged = count(Action::Unchanged);
            let failed = count(Action::Failed) + count(Action::Skipped);
            let succeeded = r.succeeded;
            if kustomization {
                tracing::info!(
                    kustomization = name,
                    revision = %revision,
                    succeeded,
                    created,
                    configured,
                    unchanged,
                    pruned,
                    failed,
                    duration_ms,
                    "sync finished"
                );
            } else {
                tracing::info!(
                    app = name,
                    revision = %revision,
                    succeeded,
                    created,
                    configured,
                    unchanged,
                    pruned,
                    failed,
                    duration_ms,
                    "sync finished"
                );
            }
        }
        Err(error) if kustomization => {
            tracing::info!(kustomization = name, revision = %revision, error = %error.message, duration_ms,
                "sync finished with an error");
        }
        Err(error) => {
            tracing::info!(app = name, revision = %revision, error = %error.message, duration_ms,
                "sync finished with an error");
        }
    }
}
