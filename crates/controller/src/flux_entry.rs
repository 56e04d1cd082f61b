//! The reconcile prelude every Flux kind shares (Kustomization,
//! HelmRelease): a deleted object goes to its finalizer, the finalizer is
//! added, a suspended object waits for a change; the error policy; and
//! the deletion pass of the finalizer (what the inventory lists, tracked to
//! the object, deleted through the engine's delete path, never a sync).

use std::future::Future;
use std::time::Duration;

use crate::context::Context;
use crate::cycle::AppId;
use crate::engine::{self, Owner};
use crate::flux_kind::{FluxKind, id_of};
use crate::flux_write::{FluxApiError, finalizer_of, ready_event, ready_of, status_of};
use crate::kustomization::{impersonate, inventory};
use crate::watched::NextReconcile;

/// How soon a deletion that is not finished is looked at again.
const RETRY: Duration = Duration::from_secs(2);

/// What the prelude found.
pub(crate) enum Prelude {
    /// The object is being deleted: its finalizer runs.
    Deleting,
    /// `spec.suspend`: nothing to do until it changes.
    Suspended,
    /// Reconcile it.
    Run,
}

/// Whether `obj` holds its kind's finalizer.
pub(crate) fn has_finalizer<K: FluxKind>(obj: &K) -> bool {
    crate::finalizers::holds(obj, K::FINALIZER)
}

/// Deletion, then the finalizer's addition, then `suspend`.
pub(crate) async fn prelude<K: FluxKind>(obj: &K, ctx: &Context) -> Result<Prelude, FluxApiError> {
    if obj.meta().deletion_timestamp.is_some() {
        return Ok(Prelude::Deleting);
    }
    if !has_finalizer(obj) {
        finalizer_of(ctx, obj, true).await?;
    }
    if obj.suspended() {
        tracing::debug!("suspended");
        return Ok(Prelude::Suspended);
    }
    Ok(Prelude::Run)
}

/// Runs `reconcile` for `obj`; a success resets its API failure count.
pub(crate) async fn counted<K: FluxKind>(
    obj: &K,
    ctx: &Context,
    reconcile: impl Future<Output = Result<NextReconcile, FluxApiError>>,
) -> Result<NextReconcile, FluxApiError> {
    let result = reconcile.await;
    if result.is_ok() {
        K::state(ctx).memory(&id_of(obj), |m| m.api_failures = 0);
    }
    result
}

/// API failures are retried after a short, growing delay.
pub(crate) fn error_policy<K: FluxKind>(
    obj: &K,
    error: &FluxApiError,
    ctx: &Context,
) -> NextReconcile {
    let failures = K::state(ctx).memory(&id_of(obj), |m| {
        m.api_failures = m.api_failures.saturating_add(1);
        m.api_failures
    });
    tracing::debug!(%error, failures, "requeue after error");
    NextReconcile::After(crate::reconcile::error_delay(failures))
}

/// The end of a reconcile: writes `next` over `prev`, publishes an Event
/// when Ready changed, requeues the dependents at once when Ready or the
/// applied revision changed, and looks again after `requeue` (sooner when
/// managed objects are watched for drift).
pub(crate) async fn finish<K: FluxKind>(
    ctx: &Context,
    obj: &K,
    prev: &K::Status,
    next: &K::Status,
    requeue: Duration,
) -> Result<NextReconcile, FluxApiError> {
    let id = id_of(obj);
    status_of::<K>(ctx, &id, prev, next).await?;
    ready_event(ctx, obj, prev, next);
    let changed = ready_of::<K>(prev) != ready_of::<K>(next)
        || K::last_applied(prev) != K::last_applied(next);
    if changed {
        let state = K::state(ctx);
        for dependent in state.dependents_of(&id) {
            state.trigger(&dependent);
        }
    }
    let requeue = if ctx.config.watch_managed {
        requeue.min(crate::selfheal::KEEP_WATCHING)
    } else {
        requeue
    };
    Ok(NextReconcile::After(requeue))
}

/// How the finalizer treats what the object applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Removal {
    /// Leave the objects (`Orphan`, or a suspended object).
    Keep,
    /// Delete them; the finalizer goes once every delete was accepted.
    Delete,
    /// Delete them; the finalizer goes once they are gone (`WaitForTermination`).
    DeleteAndWait,
}

/// One pass of deleting `obj`: its objects as `removal` says, then the
/// finalizer once nothing is left to wait for; then it is forgotten.
pub(crate) async fn finalize<K: FluxKind>(
    obj: &K,
    ctx: &Context,
    removal: Removal,
) -> Result<NextReconcile, FluxApiError> {
    let id = id_of(obj);
    if has_finalizer(obj) {
        if removal != Removal::Keep && !delete_pass(obj, ctx, &id, removal).await {
            return Ok(NextReconcile::After(RETRY));
        }
        finalizer_of(ctx, obj, false).await?;
    }
    K::state(ctx).forget(&id);
    ctx.forget_tracking(&K::owner_id(id));
    Ok(NextReconcile::OnChange)
}

/// Deletes what `obj` applied; true when the finalizer may go.
async fn delete_pass<K: FluxKind>(obj: &K, ctx: &Context, id: &AppId, removal: Removal) -> bool {
    let owner = Owner::new(K::LABEL, &id.0, &id.1);
    let inv = obj.status_of().and_then(K::inventory);
    let target = driftless_sync::Target {
        app: K::tracking_name(id),
        prune: true,
        allow_empty: true,
        previous: inventory::previous(inv),
        resources: Some(inventory::selection(inv)),
        ..Default::default()
    };
    let deleted = match impersonate::engine(ctx, &id.0, obj.service_account()) {
        Ok(acting) => engine::delete(&acting, &owner, &target)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    let deletion = match deleted {
        Ok(deletion) => deletion,
        Err(error) => {
            tracing::warn!(%error, kind = K::LABEL, "cannot delete the objects it applied");
            return false;
        }
    };
    if !deletion.deleted.is_empty() {
        let names: Vec<String> = deletion.deleted.iter().map(ToString::to_string).collect();
        let note = format!("deleted {}", names.join(", "));
        crate::events::publish(ctx, obj, false, "Progressing", note);
    }
    match removal {
        Removal::DeleteAndWait => deletion.finished(),
        _ => deletion.failed.is_empty(),
    }
}
