//! The one mapping from a Flux `Kustomization`'s spec to what the render
//! needs: the path to build and [`RenderOptions::flux`].
//!
//! The build of a Kustomization is, in kustomize-controller's order:
//! [`render_path`] and [`render_options`] into [`driftless_render::render`],
//! then [`after_render`]: [`crate::postbuild`] (variable substitution), then
//! [`common_metadata`] (labels and annotations are set after substitution,
//! so they are never substituted).

use driftless_api::flux::kustomize::{
    CommonMetadata, Image, Json6902, Json6902Patch, Patch, Selector, v1, v1beta2,
};
use driftless_render::flux::{FluxImage, FluxJson6902Patch, FluxOptions, FluxPatch};
use driftless_render::{Object, PatchTarget, RenderOptions};
use serde_json::{Map, Value};

use crate::postbuild::PostBuildError;

/// The tree path to build: `spec.path` relative to the source root, as
/// Flux joins it (a leading `/` or `./` names the root too); the root when unset.
pub fn render_path(path: Option<&str>) -> String {
    path.unwrap_or("")
        .trim()
        .trim_start_matches('/')
        .to_string()
}

/// The render options of a `v1` Kustomization.
pub fn render_options(spec: &v1::KustomizationSpec) -> RenderOptions {
    with_flux(v1_fields(spec))
}

/// The render options of a `v1beta2` Kustomization: its deprecated
/// `patchesStrategicMerge` and `patchesJson6902` stay separate fields of the
/// build, so kustomize applies them in its own order (strategic merge
/// patches before `patches`, JSON 6902 patches after the name prefix and
/// namespace), as Flux does.
pub fn render_options_v1beta2(spec: &v1beta2::KustomizationSpec) -> RenderOptions {
    let flux = FluxOptions {
        target_namespace: non_empty(&spec.target_namespace),
        name_prefix: non_empty(&spec.name_prefix),
        name_suffix: non_empty(&spec.name_suffix),
        patches: spec.patches.iter().map(patch).collect(),
        images: spec.images.iter().map(image).collect(),
        components: spec.components.clone(),
        ..FluxOptions::default()
    };
    with_flux(with_deprecated(
        flux,
        &spec.patches_strategic_merge,
        &spec.patches_json6902,
    ))
}

/// The render options of a Kustomization's `spec` as stored (JSON, as read
/// through the `v1` API): the `v1` fields, plus v1beta2's deprecated
/// `patchesStrategicMerge` and `patchesJson6902`, which a Kustomization
/// written as `v1beta2` keeps in its stored `v1` spec (the typed `v1` spec
/// leaves them out).
pub fn render_options_json(spec: &Value) -> Result<RenderOptions, serde_json::Error> {
    let v1: v1::KustomizationSpec = serde_json::from_value(spec.clone())?;
    let old: Deprecated = serde_json::from_value(spec.clone())?;
    let flux = with_deprecated(
        v1_fields(&v1),
        &old.patches_strategic_merge,
        &old.patches_json6902,
    );
    Ok(with_flux(flux))
}

/// v1beta2's deprecated patch fields, read from any spec.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Deprecated {
    #[serde(default)]
    patches_strategic_merge: Vec<Value>,
    #[serde(default, rename = "patchesJson6902")]
    patches_json6902: Vec<Json6902Patch>,
}

fn v1_fields(spec: &v1::KustomizationSpec) -> FluxOptions {
    FluxOptions {
        target_namespace: non_empty(&spec.target_namespace),
        name_prefix: non_empty(&spec.name_prefix),
        name_suffix: non_empty(&spec.name_suffix),
        patches: spec.patches.iter().map(patch).collect(),
        images: spec.images.iter().map(image).collect(),
        components: spec.components.clone(),
        ignore_missing_components: spec.ignore_missing_components,
        ..FluxOptions::default()
    }
}

fn with_deprecated(
    mut flux: FluxOptions,
    strategic: &[Value],
    json6902: &[Json6902Patch],
) -> FluxOptions {
    flux.patches_strategic_merge = strategic.to_vec();
    flux.patches_json6902 = json6902
        .iter()
        .map(|p| FluxJson6902Patch {
            target: target(&p.target),
            operations: p.patch.iter().map(operation).collect(),
        })
        .collect();
    flux
}

/// What follows the render, in kustomize-controller's order: `postBuild`
/// substitution with the variables read from `namespace` (the
/// Kustomization's), then `commonMetadata` (so its values are never
/// substituted, and its annotations cannot turn substitution off).
pub async fn after_render(
    client: &kube::Client,
    namespace: &str,
    spec: &v1::KustomizationSpec,
    objects: Vec<Object>,
) -> Result<Vec<Object>, PostBuildError> {
    let mut objects =
        crate::postbuild::apply(client, namespace, spec.post_build.as_ref(), objects).await?;
    common_metadata(&mut objects, spec.common_metadata.as_ref());
    Ok(objects)
}

/// Sets `spec.commonMetadata` on the built (and substituted) objects.
pub fn common_metadata(objects: &mut [Object], metadata: Option<&CommonMetadata>) {
    if let Some(m) = metadata {
        driftless_render::flux::set_common_metadata(objects, &m.labels, &m.annotations);
    }
}

fn with_flux(flux: FluxOptions) -> RenderOptions {
    RenderOptions {
        flux: Some(flux),
        ..RenderOptions::default()
    }
}

/// Flux treats an empty string as unset.
fn non_empty(value: &Option<String>) -> Option<String> {
    value.clone().filter(|v| !v.is_empty())
}

fn patch(p: &Patch) -> FluxPatch {
    FluxPatch {
        patch: p.patch.clone(),
        target: p.target.as_ref().map(target),
    }
}

fn target(s: &Selector) -> PatchTarget {
    PatchTarget {
        group: s.group.clone(),
        version: s.version.clone(),
        kind: s.kind.clone(),
        name: s.name.clone(),
        namespace: s.namespace.clone(),
        label_selector: s.label_selector.clone(),
        annotation_selector: s.annotation_selector.clone(),
    }
}

fn image(i: &Image) -> FluxImage {
    FluxImage {
        name: i.name.clone(),
        new_name: i.new_name.clone(),
        new_tag: i.new_tag.clone(),
        digest: i.digest.clone(),
    }
}

fn operation(op: &Json6902) -> Value {
    let mut out = Map::new();
    out.insert("op".into(), Value::String(op.op.clone()));
    out.insert("path".into(), Value::String(op.path.clone()));
    if let Some(from) = &op.from {
        out.insert("from".into(), Value::String(from.clone()));
    }
    if let Some(value) = &op.value {
        out.insert("value".into(), value.clone());
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use driftless_render::{DiskTree, render};
    use serde_json::json;

    use super::*;

    fn root() -> &'static Path {
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
    }

    fn seed<T: serde::de::DeserializeOwned>(file: &str) -> T {
        let path = root().join("tests/seeds/flux").join(file);
        let text = std::fs::read_to_string(&path).expect("seed manifest");
        serde_saphyr::from_str(&text).expect("a Kustomization")
    }

    fn fixture(seed: &str) -> DiskTree {
        DiskTree::new(root().join("crates/render/tests/fixtures").join(seed)).expect("fixture")
    }

    #[test]
    fn seed_002_staging_renders_into_its_target_namespace() {
        let ks: v1beta2::Kustomization = seed("002-staging.yaml");
        let options = render_options_v1beta2(&ks.spec);
        assert_eq!(
            options
                .flux
                .as_ref()
                .and_then(|f| f.target_namespace.as_deref()),
            Some("staging")
        );
        let path = render_path(ks.spec.path.as_deref());
        let rendered = render(&fixture("seed002"), &path, &options).expect("renders");
        assert!(!rendered.objects.is_empty());
        for object in &rendered.objects {
            assert_eq!(object.namespace(), Some("staging"), "{}", object.key());
        }
    }

    #[test]
    fn seed_004_apps_renders_the_production_overlay() {
        let ks: v1::Kustomization = seed("004-apps.yaml");
        let path = render_path(ks.spec.path.as_deref());
        let rendered =
            render(&fixture("seed004"), &path, &render_options(&ks.spec)).expect("renders");
        let deployment = rendered
            .objects
            .iter()
            .find(|o| o.kind() == "Deployment")
            .expect("my-app")
            .clone()
            .into_value();
        assert_eq!(deployment["metadata"]["name"], "my-app");
        assert_eq!(deployment["metadata"]["namespace"], "production");
        assert_eq!(deployment["spec"]["replicas"], 5);
    }

    #[test]
    fn every_build_field_of_v1_is_mapped() {
        let spec: v1::KustomizationSpec = serde_json::from_value(json!({
            "interval": "1m", "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": "repo"},
            "targetNamespace": "apps", "namePrefix": "p-", "nameSuffix": "",
            "patches": [{"patch": "kind: X", "target": {"kind": "Deployment", "labelSelector": "a=b", "group": "apps"}}],
            "images": [{"name": "nginx", "newTag": "1.2", "digest": "sha256:x"}],
            "components": ["../c"], "ignoreMissingComponents": true
        }))
        .expect("a spec");
        let flux = render_options(&spec).flux.expect("flux options");
        assert_eq!(flux.target_namespace.as_deref(), Some("apps"));
        assert_eq!(flux.name_prefix.as_deref(), Some("p-"));
        assert_eq!(flux.name_suffix, None, "an empty suffix is unset");
        assert_eq!(flux.patches.len(), 1);
        assert_eq!(flux.patches[0].patch, "kind: X");
        let target = flux.patches[0].target.as_ref().expect("target");
        assert_eq!(target.kind.as_deref(), Some("Deployment"));
        assert_eq!(target.group.as_deref(), Some("apps"));
        assert_eq!(target.label_selector.as_deref(), Some("a=b"));
        assert_eq!(flux.images[0].name, "nginx");
        assert_eq!(flux.images[0].new_tag.as_deref(), Some("1.2"));
        assert_eq!(flux.images[0].digest.as_deref(), Some("sha256:x"));
        assert_eq!(flux.components, ["../c"]);
        assert!(flux.ignore_missing_components);
    }

    #[test]
    fn v1beta2_deprecated_patches_stay_separate() {
        let spec: v1beta2::KustomizationSpec = serde_json::from_value(json!({
            "interval": "1m", "prune": false,
            "sourceRef": {"kind": "GitRepository", "name": "repo"},
            "patchesStrategicMerge": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}],
            "patchesJson6902": [{"target": {"kind": "ConfigMap", "name": "c"},
                                 "patch": [{"op": "add", "path": "/data/x", "value": "1"},
                                           {"op": "move", "from": "/data/x", "path": "/data/y"}]}]
        }))
        .expect("a spec");
        let flux = render_options_v1beta2(&spec).flux.expect("flux options");
        assert!(flux.patches.is_empty());
        assert_eq!(flux.patches_strategic_merge[0]["metadata"]["name"], "c");
        let p = &flux.patches_json6902[0];
        assert_eq!(p.target.name.as_deref(), Some("c"));
        assert_eq!(
            p.operations,
            [
                json!({"op": "add", "path": "/data/x", "value": "1"}),
                json!({"op": "move", "from": "/data/x", "path": "/data/y"})
            ]
        );
    }

    #[test]
    fn a_stored_spec_keeps_v1beta2_deprecated_patches() {
        let stored = json!({
            "interval": "1m", "prune": false,
            "sourceRef": {"kind": "GitRepository", "name": "repo"},
            "targetNamespace": "apps", "ignoreMissingComponents": true,
            "patches": [{"patch": "kind: X"}],
            "patchesStrategicMerge": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}],
            "patchesJson6902": [{"target": {"kind": "ConfigMap"}, "patch": [{"op": "remove", "path": "/data"}]}]
        });
        let flux = render_options_json(&stored)
            .expect("a spec")
            .flux
            .expect("flux options");
        assert_eq!(flux.target_namespace.as_deref(), Some("apps"));
        assert!(flux.ignore_missing_components);
        assert_eq!(flux.patches.len(), 1);
        assert_eq!(flux.patches_strategic_merge.len(), 1);
        assert_eq!(
            flux.patches_json6902[0].operations,
            [json!({"op": "remove", "path": "/data"})]
        );
        let err = render_options_json(&json!({"interval": 5})).expect_err("not a spec");
        assert!(
            err.to_string().contains("interval") || err.to_string().contains("integer"),
            "{err}"
        );
    }

    #[test]
    fn paths_are_relative_to_the_source_root() {
        assert_eq!(render_path(None), "");
        assert_eq!(render_path(Some("./apps/prod")), "./apps/prod");
        assert_eq!(render_path(Some("/apps/prod")), "apps/prod");
        assert_eq!(render_path(Some(" ./ ")), "./");
    }

    #[test]
    fn common_metadata_is_optional() {
        let mut objects = vec![
            Object::from_value(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
            )
            .expect("an object"),
        ];
        common_metadata(&mut objects, None);
        assert_eq!(objects[0].label("team"), None);
        let metadata = CommonMetadata {
            labels: BTreeMap::from([("team".into(), "a".into())]),
            annotations: BTreeMap::new(),
        };
        common_metadata(&mut objects, Some(&metadata));
        assert_eq!(objects[0].label("team"), Some("a"));
    }
}
