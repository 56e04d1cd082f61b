//! The spec as stored, read once per generation: the typed `v1` spec drops
//! what it does not model, so this is where fields driftless does not know
//! (a newer Flux's, a typo) are found and reported instead of silently
//! ignored, and where a Kustomization written as `v1beta2` keeps its
//! deprecated `patchesStrategicMerge`/`patchesJson6902` for the build.

use driftless_api::flux::kustomize::v1::{Kustomization, KustomizationSpec};
use driftless_api::flux::unsupported::unknown_spec_fields;
use driftless_render::RenderOptions;
use kube::api::{Api, ApiResource, DynamicObject};
use serde_json::Value;

use crate::context::Context;
use crate::cycle::AppId;

/// v1beta2's deprecated fields, kept in the stored spec and built.
const DEPRECATED: [&str; 2] = ["spec.patchesStrategicMerge", "spec.patchesJson6902"];

/// What the stored spec says beyond the typed one.
#[derive(Clone, Debug)]
pub struct Raw {
    /// The render options, v1beta2's deprecated patch fields included.
    pub render: RenderOptions,
    /// Fields driftless does not know, by path (`spec.driftIgnoreRules`).
    pub unknown: Vec<String>,
}

/// Examines a stored spec (pure).
pub fn examine(spec: &Value) -> Result<Raw, String> {
    let render = crate::flux_build::render_options_json(spec).map_err(|e| format!("spec: {e}"))?;
    let unknown = unknown_spec_fields::<KustomizationSpec>(spec)
        .into_iter()
        .filter(|path| {
            !DEPRECATED.iter().any(|d| {
                path == d
                    || path.starts_with(&format!("{d}."))
                    || path.starts_with(&format!("{d}["))
            })
        })
        .collect();
    Ok(Raw { render, unknown })
}

/// The stored spec of `ks` examined, from memory when its generation was
/// read before.
pub async fn read(ctx: &Context, id: &AppId, ks: &Kustomization) -> Result<Raw, String> {
    let generation = ks.metadata.generation;
    let known = ctx
        .flux
        .memory(id, |m| m.raw.clone().filter(|(g, _)| *g == generation));
    if let Some((_, raw)) = known {
        return Ok(raw);
    }
    let resource = ApiResource::erase::<Kustomization>(&());
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &id.0, &resource);
    let stored = api
        .get(&id.1)
        .await
        .map_err(|e| format!("reading kustomization {}/{}: {e}", id.0, id.1))?;
    let raw = examine(stored.data.get("spec").unwrap_or(&Value::Null))?;
    ctx.flux
        .memory(id, |m| m.raw = Some((generation, raw.clone())));
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_are_found_and_deprecated_patches_built() {
        let raw = examine(&json!({
            "interval": "1m", "prune": true, "sourceRef": {"kind": "GitRepository", "name": "r"},
            "patchesStrategicMerge": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}],
            "driftIgnoreRules": [{"paths": ["/spec/replicas"]}]
        }))
        .unwrap();
        assert_eq!(raw.unknown, ["spec.driftIgnoreRules"]);
        let flux = raw.render.flux.expect("Flux's build");
        assert_eq!(flux.patches_strategic_merge.len(), 1);
    }

    #[test]
    fn a_plain_spec_has_nothing_unknown() {
        let raw = examine(&json!({"interval": "1m", "prune": true, "sourceRef": {"kind": "GitRepository", "name": "r"}})).unwrap();
        assert!(raw.unknown.is_empty());
    }
}
