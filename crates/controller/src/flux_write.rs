//! Writes shared by the Flux kinds' controllers (Kustomization,
//! HelmRelease): the status as a merge patch of what changed (remembered
//! with the resourceVersion it produced, for a watch cache that has not
//! seen it yet), and the finalizer.

use std::fmt::Debug;

use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::cycle::AppId;
use crate::flux_state::FluxState;

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

/// Adds (`add`) or removes `finalizer` on `obj`, guarded by its resourceVersion.
pub async fn finalizer<K>(
    api: &Api<K>,
    obj: &K,
    finalizer: &str,
    add: bool,
) -> Result<(), kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
{
    let mut list: Vec<String> = obj
        .finalizers()
        .iter()
        .filter(|f| *f != finalizer)
        .cloned()
        .collect();
    if add {
        list.push(finalizer.to_string());
    }
    let body =
        json!({ "metadata": { "finalizers": list, "resourceVersion": obj.resource_version() } });
    api.patch(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&body),
    )
    .await?;
    Ok(())
}
