//! The spec as stored, examined once per generation: the typed `v1` spec
//! keeps the top-level fields it does not model in `other`, so this is
//! where fields driftless does not know (a newer Flux's, a typo) are found
//! and reported instead of silently ignored, and where a Kustomization
//! written as `v1beta2` keeps its deprecated
//! `patchesStrategicMerge`/`patchesJson6902` for the build.

use driftless_api::flux::kustomize::v1::Kustomization;
use driftless_api::flux::unsupported::kustomization_unknown_fields;
use driftless_render::RenderOptions;
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
    let unknown = kustomization_unknown_fields(spec)
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

/// The spec of `ks` as stored, unknown top-level fields included (the
/// typed spec keeps them in `other`), examined; from memory when its
/// generation was examined before.
pub fn read(ctx: &Context, id: &AppId, ks: &Kustomization) -> Result<Raw, String> {
    let generation = ks.metadata.generation;
    let known = ctx
        .flux
        .memory(id, |m| m.raw.clone().filter(|(g, _)| *g == generation));
    if let Some((_, raw)) = known {
        return Ok(raw);
    }
    let spec = serde_json::to_value(&ks.spec).map_err(|e| format!("spec: {e}"))?;
    let raw = examine(&spec)?;
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
