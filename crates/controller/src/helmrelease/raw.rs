//! The spec as stored, examined once per generation: the fields driftless does
//! not know (a newer Flux's, a typo) are reported instead of silently
//! ignored, as for a Kustomization.

use driftless_api::flux::helm::v2::HelmRelease;
use driftless_api::flux::unsupported::helm_release_unknown_fields;

use crate::context::Context;
use crate::cycle::AppId;

/// The unknown fields of `hr`'s spec, by path (the typed spec keeps the
/// top-level fields it does not model in `other`); from memory when its
/// generation was examined before.
pub fn unknown_fields(ctx: &Context, id: &AppId, hr: &HelmRelease) -> Vec<String> {
    let generation = hr.metadata.generation;
    let state = &ctx.helm_releases.state;
    if let Some((_, known)) = state.memory(id, |m| m.raw.clone().filter(|(g, _)| *g == generation))
    {
        return known;
    }
    let unknown = match serde_json::to_value(&hr.spec) {
        Ok(spec) => helm_release_unknown_fields(&spec),
        Err(_) => vec!["spec".to_string()],
    };
    state.memory(id, |m| m.raw = Some((generation, unknown.clone())));
    unknown
}
