//! Writes to a Kustomization: its status (only when it changed, as a merge
//! patch of what changed), its finalizer, and Events per outcome.

use driftless_api::flux::condition::{find_condition, status as cstatus, types};
use driftless_api::flux::kustomize::KustomizationStatus;
use driftless_api::flux::kustomize::v1::Kustomization;
use kube::api::Api;
use kube::{Resource, ResourceExt};

use super::error::KustomizationError;
use super::status;
use crate::context::Context;
use crate::cycle::AppId;
use crate::events;

fn api(ctx: &Context, id: &AppId) -> Api<Kustomization> {
    Api::namespaced(ctx.client.clone(), &id.0)
}

/// The status to start from: the watch cache's, unless this controller
/// wrote a newer one the cache has not seen yet.
pub fn freshest(ks: &Kustomization, ctx: &Context, id: &AppId) -> KustomizationStatus {
    let cached = ks.status.clone().unwrap_or_default();
    let rv = ks.meta().resource_version.as_deref();
    crate::flux_write::freshest(&ctx.flux, id, cached, rv)
}

/// Writes `next` when it differs from `prev`.
pub async fn status(
    ctx: &Context,
    id: &AppId,
    prev: &KustomizationStatus,
    next: &KustomizationStatus,
) -> Result<(), KustomizationError> {
    if !status::differs(prev, next) {
        return Ok(());
    }
    crate::flux_write::status(&api(ctx, id), &ctx.flux, id, prev, next)
        .await
        .map_err(|source| KustomizationError {
            name: format!("{}/{}", id.0, id.1),
            action: "write status",
            source,
        })
}

/// Adds (`add`) or removes our finalizer.
pub async fn finalizer(
    ctx: &Context,
    ks: &Kustomization,
    add: bool,
) -> Result<(), KustomizationError> {
    let id = (ks.namespace().unwrap_or_default(), ks.name_any());
    let ours = driftless_api::flux::kustomize::FINALIZER;
    crate::flux_write::finalizer(&api(ctx, &id), ks, ours, add)
        .await
        .map_err(|source| KustomizationError {
            name: format!("{}/{}", id.0, id.1),
            action: if add {
                "add the finalizer"
            } else {
                "remove the finalizer"
            },
            source,
        })
}

/// The Ready condition's (status, reason, message).
pub fn ready_of(s: &KustomizationStatus) -> Option<(String, String, String)> {
    find_condition(&s.conditions, types::READY)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// Publishes an Event when the Ready condition changed: Normal when Ready,
/// Warning when not (a Progressing Unknown is not an event).
pub async fn event(
    ctx: &Context,
    ks: &Kustomization,
    prev: &KustomizationStatus,
    next: &KustomizationStatus,
) {
    let Some((status_, reason, message)) = ready_of(next) else {
        return;
    };
    if ready_of(prev) == ready_of(next) || status_ == cstatus::UNKNOWN {
        return;
    }
    events::publish(ctx, ks, status_ != cstatus::TRUE, &reason, message).await;
}
