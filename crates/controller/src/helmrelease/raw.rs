//! The spec as stored, read once per generation: the fields driftless does
//! not know (a newer Flux's, a typo) are reported instead of silently
//! ignored, as for a Kustomization.

use driftless_api::flux::helm::v2::{HelmRelease, HelmReleaseSpec};
use driftless_api::flux::unsupported::unknown_spec_fields;
use kube::api::{Api, ApiResource, DynamicObject};
use serde_json::Value;

use crate::context::Context;
use crate::cycle::AppId;

/// The unknown fields of `hr`'s stored spec, by path (from memory when its
/// generation was read before; none when the read fails, logged).
pub async fn unknown_fields(ctx: &Context, id: &AppId, hr: &HelmRelease) -> Vec<String> {
    let generation = hr.metadata.generation;
    let state = &ctx.helm_releases.state;
    if let Some((_, known)) = state.memory(id, |m| m.raw.clone().filter(|(g, _)| *g == generation))
    {
        return known;
    }
    let resource = ApiResource::erase::<HelmRelease>(&());
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &id.0, &resource);
    match api.get(&id.1).await {
        Ok(stored) => {
            let spec = stored.data.get("spec").unwrap_or(&Value::Null);
            let unknown = unknown_spec_fields::<HelmReleaseSpec>(spec);
            state.memory(id, |m| m.raw = Some((generation, unknown.clone())));
            unknown
        }
        Err(error) => {
            tracing::warn!(%error, "cannot read the stored spec; using the typed one");
            Vec::new()
        }
    }
}
