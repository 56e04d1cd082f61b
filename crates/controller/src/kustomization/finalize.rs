//! Deleting a Kustomization (its finalizer `finalizers.fluxcd.io`), as
//! `spec.deletionPolicy` says: `MirrorPrune` (the default) deletes what it
//! applied when `prune` is true, `Delete` always, `WaitForTermination`
//! always and waits until the objects are gone, `Orphan` never. Objects
//! are found and deleted through the engine's delete path (the objects
//! its inventory lists, and only those tracked to this Kustomization),
//! never through a sync.

use std::time::Duration;

use driftless_api::flux::kustomize::deletion_policy;
use driftless_api::flux::kustomize::v1::Kustomization;
use kube::ResourceExt;
use kube::runtime::controller::Action;

use super::error::KustomizationError;
use super::{inventory, plan, write};
use crate::context::{Context, OwnerId};
use crate::engine::{self, Owner};

/// How soon a deletion that is not finished is looked at again.
const RETRY: Duration = Duration::from_secs(2);

/// One pass of deleting `ks`: its objects per the deletion policy, then
/// the finalizer once nothing is left to wait for.
pub async fn finalize(ks: &Kustomization, ctx: &Context) -> Result<Action, KustomizationError> {
    let id = (ks.namespace().unwrap_or_default(), ks.name_any());
    let ours = driftless_api::flux::kustomize::FINALIZER;
    if !ks.finalizers().iter().any(|f| f == ours) {
        forget(ctx, &id);
        return Ok(Action::await_change());
    }
    let delete = ks.spec.deletes_on_removal() && !ks.spec.suspend;
    if delete && !delete_pass(ks, ctx, &id).await {
        return Ok(Action::requeue(RETRY));
    }
    write::finalizer(ctx, ks, false).await?;
    forget(ctx, &id);
    Ok(Action::await_change())
}

/// Deletes what `ks` applied; true when the finalizer may go: every
/// delete was accepted, and with `WaitForTermination` the objects are gone.
async fn delete_pass(ks: &Kustomization, ctx: &Context, id: &(String, String)) -> bool {
    let owner = Owner::new("kustomization", &id.0, &id.1);
    let status = ks.status.clone().unwrap_or_default();
    let target = driftless_sync::Target {
        app: plan::tracking_name(&id.0, &id.1),
        prune: true,
        allow_empty: true,
        previous: inventory::previous(status.inventory.as_ref()),
        resources: Some(inventory::selection(status.inventory.as_ref())),
        ..Default::default()
    };
    let sa = ks.spec.service_account_name.as_deref();
    let acting = match super::impersonate::engine(ctx, &id.0, sa) {
        Ok(e) => e,
        Err(error) => {
            tracing::warn!(%error, "cannot delete the Kustomization's objects");
            return false;
        }
    };
    let deletion = match engine::delete(&acting, &owner, &target).await {
        Ok(d) => d,
        Err(error) => {
            tracing::warn!(%error, "cannot delete the Kustomization's objects");
            return false;
        }
    };
    if !deletion.deleted.is_empty() {
        let names: Vec<String> = deletion.deleted.iter().map(ToString::to_string).collect();
        let note = format!("deleted {}", names.join(", "));
        crate::events::publish(ctx, ks, false, "Progressing", note).await;
    }
    let wait = ks.spec.deletion_policy_or_default() == deletion_policy::WAIT_FOR_TERMINATION;
    if wait {
        deletion.finished()
    } else {
        deletion.failed.is_empty()
    }
}

fn forget(ctx: &Context, id: &(String, String)) {
    ctx.flux.forget(id);
    ctx.forget_tracking(&OwnerId::Kustomization(id.clone()));
}
