//! Writes to a HelmRelease: its status (see [`crate::flux_write`]), its
//! finalizer, and an Event when the Ready condition changes.

use driftless_api::flux::condition::{find_condition, status as cstatus, types};
use driftless_api::flux::helm::v2::{HelmRelease, HelmReleaseStatus};
use kube::api::Api;
use kube::{Resource, ResourceExt};

use super::HelmReleaseError;
use crate::context::Context;
use crate::cycle::AppId;

fn api(ctx: &Context, id: &AppId) -> Api<HelmRelease> {
    Api::namespaced(ctx.client.clone(), &id.0)
}

fn error(id: &AppId, action: &'static str) -> impl FnOnce(kube::Error) -> HelmReleaseError {
    let name = format!("{}/{}", id.0, id.1);
    move |source| HelmReleaseError {
        name,
        action,
        source,
    }
}

/// The status to start from (see [`crate::flux_write::freshest`]).
pub fn freshest(hr: &HelmRelease, ctx: &Context, id: &AppId) -> HelmReleaseStatus {
    let cached = hr.status.clone().unwrap_or_default();
    let rv = hr.meta().resource_version.as_deref();
    crate::flux_write::freshest(&ctx.helm_releases.state, id, cached, rv)
}

/// Writes `next` when it differs from `prev`.
pub async fn status(
    ctx: &Context,
    id: &AppId,
    prev: &HelmReleaseStatus,
    next: &HelmReleaseStatus,
) -> Result<(), HelmReleaseError> {
    crate::flux_write::status(&api(ctx, id), &ctx.helm_releases.state, id, prev, next)
        .await
        .map_err(error(id, "write status"))
}

/// Adds (`add`) or removes our finalizer.
pub async fn finalizer(ctx: &Context, hr: &HelmRelease, add: bool) -> Result<(), HelmReleaseError> {
    let id = (hr.namespace().unwrap_or_default(), hr.name_any());
    let ours = driftless_api::flux::helm::FINALIZER;
    let action = if add {
        "add the finalizer"
    } else {
        "remove the finalizer"
    };
    crate::flux_write::finalizer(&api(ctx, &id), hr, ours, add)
        .await
        .map_err(error(&id, action))
}

/// The Ready condition's (status, reason, message).
pub fn ready_of(s: &HelmReleaseStatus) -> Option<(String, String, String)> {
    find_condition(&s.conditions, types::READY)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// Publishes an Event when the Ready condition changed (not for Unknown).
pub async fn event(
    ctx: &Context,
    hr: &HelmRelease,
    prev: &HelmReleaseStatus,
    next: &HelmReleaseStatus,
) {
    let Some((status_, reason, message)) = ready_of(next) else {
        return;
    };
    if ready_of(prev) == ready_of(next) || status_ == cstatus::UNKNOWN {
        return;
    }
    crate::events::publish(ctx, hr, status_ != cstatus::TRUE, &reason, message).await;
}
