//! Writes shared by the Flux kinds' controllers (Kustomization,
//! HelmRelease): the status as a merge patch of what changed (remembered
//! with the resourceVersion it produced, for a watch cache that has not
//! seen it yet), the finalizer (through [`crate::finalizers`]), and an
//! Event when Ready changes. The `*_of` functions are the same over any
//! [`FluxKind`].

use std::fmt::Debug;

use kube::Resource;
use kube::api::{Api, Patch, PatchParams};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use driftless_api::flux::condition::{find_condition, status as cstatus, types};

use crate::context::Context;
use crate::cycle::AppId;
use crate::flux_kind::{FluxKind, id_of};
use crate::flux_state::FluxState;

/// An API call a Flux kind's controller could not make (only these reach
/// the error policy; everything else becomes a condition).
#[derive(Debug, thiserror::Error)]
#[error("{kind} {name}: {action}: {source}")]
pub struct FluxApiError {
    /// The kind, lower-case (`kustomization`, `helmrelease`, `helmrepository`).
    pub kind: &'static str,
    /// `namespace/name`.
    pub name: String,
    /// What was being done.
    pub action: &'static str,
    /// The API error.
    #[source]
    pub source: kube::Error,
}

impl FluxApiError {
    /// A failure of `action` on the object `id` of `kind`.
    pub fn of(
        kind: &'static str,
        id: &AppId,
        action: &'static str,
    ) -> impl FnOnce(kube::Error) -> Self {
        let name = format!("{}/{}", id.0, id.1);
        move |source| FluxApiError {
            kind,
            name,
            action,
            source,
        }
    }
}

fn api<K: FluxKind>(ctx: &Context, id: &AppId) -> Api<K> {
    Api::namespaced(ctx.client.clone(), &id.0)
}

/// The status of `obj` to start from (see [`freshest`]).
pub(crate) fn freshest_of<K: FluxKind>(obj: &K, ctx: &Context, id: &AppId) -> K::Status {
    let cached = obj.status_of().cloned().unwrap_or_default();
    let rv = obj.meta().resource_version.as_deref();
    freshest(K::state(ctx), id, cached, rv)
}

/// Writes `next` over `prev` when they differ (see [`status`]).
pub(crate) async fn status_of<K: FluxKind>(
    ctx: &Context,
    id: &AppId,
    prev: &K::Status,
    next: &K::Status,
) -> Result<(), FluxApiError> {
    status(&api::<K>(ctx, id), K::state(ctx), id, prev, next)
        .await
        .map_err(FluxApiError::of(K::LABEL, id, "write status"))
}

/// Adds (`add`) or removes the kind's finalizer on `obj`.
pub(crate) async fn finalizer_of<K: FluxKind>(
    ctx: &Context,
    obj: &K,
    add: bool,
) -> Result<(), FluxApiError> {
    let id = id_of(obj);
    let action = if add {
        "add the finalizer"
    } else {
        "remove the finalizer"
    };
    crate::finalizers::set(&api::<K>(ctx, &id), obj, K::FINALIZER, add)
        .await
        .map_err(FluxApiError::of(K::LABEL, &id, action))
}

/// The Ready condition's (status, reason, message).
pub(crate) fn ready_of<K: FluxKind>(s: &K::Status) -> Option<(String, String, String)> {
    find_condition(K::conditions(s), types::READY)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// Publishes an Event when the Ready condition changed: Normal when Ready,
/// Warning when not (a Progressing Unknown is not an event).
pub(crate) fn ready_event<K: FluxKind>(ctx: &Context, obj: &K, prev: &K::Status, next: &K::Status) {
    let Some((status_, reason, message)) = ready_of::<K>(next) else {
        return;
    };
    if ready_of::<K>(prev) == ready_of::<K>(next) || status_ == cstatus::UNKNOWN {
        return;
    }
    crate::events::publish(ctx, obj, status_ != cstatus::TRUE, &reason, message);
}

/// The status to start from: `cached` (the watch cache's, at resourceVersion
/// `cached_rv`), unless this controller wrote a newer one it has not seen yet.
pub fn freshest<K, S, R>(
    state: &FluxState<K, S, R>,
    id: &AppId,
    cached: S,
    cached_rv: Option<&str>,
) -> S
where
    K: Resource<DynamicType = ()>,
    S: Clone,
{
    let cached_rv = cached_rv.and_then(|v| v.parse::<u64>().ok());
    match (cached_rv, state.memory(id, |m| m.written.clone())) {
        (Some(cached_rv), Some((rv, written))) if cached_rv < rv => written,
        _ => cached,
    }
}

/// Writes `next` over `prev` (as a merge patch of the difference) when
/// they differ, and remembers it.
pub async fn status<K, S, R>(
    api: &Api<K>,
    state: &FluxState<K, S, R>,
    id: &AppId,
    prev: &S,
    next: &S,
) -> Result<(), kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
    S: Serialize + PartialEq + Clone,
{
    if prev == next {
        return Ok(());
    }
    let old = serde_json::to_value(prev).unwrap_or_default();
    let new = serde_json::to_value(next).unwrap_or_default();
    let Some(diff) = crate::patch::merge_diff(&old, &new) else {
        return Ok(());
    };
    let body = json!({ "status": diff });
    let written = api
        .patch_status(&id.1, &PatchParams::default(), &Patch::Merge(&body))
        .await?;
    let rv = written
        .meta()
        .resource_version
        .as_deref()
        .and_then(|v| v.parse::<u64>().ok());
    state.memory(id, |m| m.written = rv.map(|rv| (rv, next.clone())));
    Ok(())
}
