//! A Kustomization's spec as the engine's plan (pure): its owner identity
//! and tracking name, the source it names, the render options, the sync
//! policy (prune, force, target namespace, the ownership rule) and its
//! timings. Nothing here talks to the cluster.

use std::time::Duration;

use driftless_api::flux::duration::InvalidDuration;
use driftless_api::flux::kustomize::v1::{Kustomization, KustomizationSpec};
use driftless_api::flux::kustomize::{Image, Patch, Selector};
use driftless_api::flux::reference::NamespacedObjectKindReference;
use driftless_api::flux::unsupported::{Unsupported, kustomization_unsupported};
use driftless_render::{
    DirectoryOptions, KustomizeOverrides, OverridePatch, PatchTarget, RenderOptions,
};
use driftless_sync::{SyncOptions, Target};
use kube::ResourceExt;

/// Prefix of every Kustomization's tracking name. Application tracking
/// names are `<name>` or `<namespace>_<name>` (at most one `_`, which
/// Kubernetes names never contain), so `kustomization_<ns>_<name>` (two)
/// can never collide with one.
const TRACKING_PREFIX: &str = "kustomization_";

/// Why a Kustomization cannot be planned; nothing is applied.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Fields driftless cannot honour.
    #[error("not supported: {}", list(.0))]
    Unsupported(Vec<Unsupported>),
    /// A malformed duration.
    #[error(transparent)]
    Duration(#[from] InvalidDuration),
}

fn list(fields: &[Unsupported]) -> String {
    fields
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The GitRepository (or other kind) a Kustomization renders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceRef {
    /// Its kind.
    pub kind: String,
    /// Its namespace (the Kustomization's when `sourceRef.namespace` is empty).
    pub namespace: String,
    /// Its name.
    pub name: String,
}

impl std::fmt::Display for SourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
    }
}

/// What one Kustomization asks the engine for.
#[derive(Clone, Debug)]
pub struct Plan {
    /// `namespace/name`.
    pub label: String,
    /// Written into tracking ids (see [`tracking_name`]).
    pub tracking_name: String,
    /// The source.
    pub source: SourceRef,
    /// The path to render (`./` stripped; the root when empty).
    pub path: String,
    /// The render options.
    pub render: RenderOptions,
    /// `spec.targetNamespace`.
    pub target_namespace: Option<String>,
    /// `spec.prune`.
    pub prune: bool,
    /// `spec.force`: recreate objects on immutable-field errors.
    pub force: bool,
    /// `spec.wait`: every applied object must become healthy.
    pub wait: bool,
    /// `spec.healthChecks`, namespaces defaulted to the Kustomization's.
    pub health_checks: Vec<NamespacedObjectKindReference>,
    /// `spec.interval`.
    pub interval: Duration,
    /// `spec.retryInterval` (the interval when unset).
    pub retry_interval: Duration,
    /// `spec.timeout` as Flux computes it.
    pub timeout: Duration,
    /// Labels and annotations set on every applied object: Flux's owner
    /// labels and `spec.commonMetadata`.
    pub labels: Vec<(String, String)>,
    /// `spec.commonMetadata.annotations`.
    pub annotations: Vec<(String, String)>,
}

/// The tracking name of the Kustomization `namespace/name`.
pub fn tracking_name(namespace: &str, name: &str) -> String {
    format!("{TRACKING_PREFIX}{namespace}_{name}")
}

/// The Kustomization `(namespace, name)` a tracking name belongs to, when
/// it is one of a Kustomization.
pub fn parse_tracking_name(tracking: &str) -> Option<(String, String)> {
    let rest = tracking.strip_prefix(TRACKING_PREFIX)?;
    let (ns, name) = rest.split_once('_')?;
    Some((ns.to_string(), name.to_string()))
}

/// Plans `ks`: refuses unsupported fields and malformed durations.
pub fn plan(ks: &Kustomization) -> Result<Plan, PlanError> {
    let spec = &ks.spec;
    let unsupported = kustomization_unsupported(spec);
    if !unsupported.is_empty() {
        return Err(PlanError::Unsupported(unsupported));
    }
    let ns = ks.namespace().unwrap_or_default();
    let name = ks.name_any();
    let mut labels = vec![
        (
            driftless_api::flux::kustomize::NAME_LABEL.to_string(),
            name.clone(),
        ),
        (
            driftless_api::flux::kustomize::NAMESPACE_LABEL.to_string(),
            ns.clone(),
        ),
    ];
    let common = spec.common_metadata.clone().unwrap_or_default();
    labels.extend(common.labels);
    Ok(Plan {
        label: format!("{ns}/{name}"),
        tracking_name: tracking_name(&ns, &name),
        source: SourceRef {
            kind: spec.source_ref.kind.clone(),
            namespace: spec
                .source_ref
                .namespace
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| ns.clone()),
            name: spec.source_ref.name.clone(),
        },
        path: clean_path(spec.path.as_deref().unwrap_or("")),
        render: render_options(spec),
        target_namespace: spec.target_namespace.clone().filter(|n| !n.is_empty()),
        prune: spec.prune,
        force: spec.force,
        wait: spec.wait,
        health_checks: health_checks(spec, &ns),
        interval: spec.interval_duration()?,
        retry_interval: spec.retry_interval_duration()?,
        timeout: spec.timeout_duration()?,
        labels,
        annotations: common.annotations.into_iter().collect(),
    })
}

/// `./apps/production/` → `apps/production`; `./` → ``.
fn clean_path(path: &str) -> String {
    let trimmed = path.trim().trim_start_matches("./").trim_matches('/');
    if trimmed == "." {
        String::new()
    } else {
        trimmed.to_string()
    }
}

fn health_checks(spec: &KustomizationSpec, ns: &str) -> Vec<NamespacedObjectKindReference> {
    spec.health_checks
        .iter()
        .map(|c| NamespacedObjectKindReference {
            namespace: c
                .namespace
                .clone()
                .filter(|n| !n.is_empty())
                .or_else(|| Some(ns.to_string())),
            ..c.clone()
        })
        .collect()
}

/// The render options of `spec`: the overlay Flux applies over the path's
/// kustomization (target namespace, name prefix/suffix, patches, images,
/// components); a directory without a kustomization is rendered
/// recursively, as Flux generates one for it.
///
/// h2: once `crate::flux_build` is merged, Flux's own build of the path
/// (generated kustomization, the full overlay) replaces this mapping here.
pub fn render_options(spec: &KustomizationSpec) -> RenderOptions {
    let overrides = KustomizeOverrides {
        images: spec.images.iter().map(image).collect(),
        name_prefix: spec.name_prefix.clone().filter(|s| !s.is_empty()),
        name_suffix: spec.name_suffix.clone().filter(|s| !s.is_empty()),
        namespace: spec.target_namespace.clone().filter(|s| !s.is_empty()),
        patches: spec.patches.iter().map(patch).collect(),
        components: spec.components.clone(),
        ..Default::default()
    };
    RenderOptions {
        kustomize: (overrides != KustomizeOverrides::default()).then_some(overrides),
        directory: Some(DirectoryOptions {
            recurse: true,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A Flux image entry in the `name=newName:tag` / `name@digest` form the
/// renderer's overrides take.
fn image(i: &Image) -> String {
    let mut out = i.name.clone();
    if let Some(new_name) = i.new_name.as_deref().filter(|n| !n.is_empty()) {
        out = format!("{out}={new_name}");
    }
    if let Some(digest) = i.digest.as_deref().filter(|d| !d.is_empty()) {
        out = format!("{out}@{digest}");
    } else if let Some(tag) = i.new_tag.as_deref().filter(|t| !t.is_empty()) {
        out = format!("{out}:{tag}");
    }
    out
}

fn patch(p: &Patch) -> OverridePatch {
    OverridePatch {
        patch: Some(p.patch.clone()),
        target: p.target.as_ref().map(selector),
        ..Default::default()
    }
}

fn selector(s: &Selector) -> PatchTarget {
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

impl Plan {
    /// A fingerprint of the render options, for the render cache.
    pub fn render_fingerprint(&self) -> String {
        format!("kustomization|{:?}", self.render)
    }

    /// The sync engine's target: this Kustomization's tracking name, its
    /// target namespace, prune and force; an object another owner tracks
    /// fails the sync (a conflict) instead of being left or taken over.
    pub fn target(&self, previous: Vec<driftless_api::ResourceStatus>) -> Target {
        Target {
            app: self.tracking_name.clone(),
            namespace: self.target_namespace.clone(),
            options: SyncOptions {
                force: Some(self.force),
                fail_on_shared_resource: Some(true),
                ..Default::default()
            },
            prune: self.prune,
            previous,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ks(spec: serde_json::Value) -> Kustomization {
        let mut k = Kustomization::new("apps", serde_json::from_value(spec).unwrap());
        k.metadata.namespace = Some("flux-system".into());
        k
    }

    #[test]
    fn tracking_names_never_collide_with_applications() {
        let t = tracking_name("flux-system", "apps");
        assert_eq!(t, "kustomization_flux-system_apps");
        assert_eq!(t.matches('_').count(), 2);
        assert_eq!(
            parse_tracking_name(&t),
            Some(("flux-system".into(), "apps".into()))
        );
        assert_eq!(parse_tracking_name("team-a_web"), None);
        assert_eq!(parse_tracking_name("web"), None);
    }

    #[test]
    fn seed_004_apps_plan() {
        let p = plan(&ks(json!({
            "interval": "10m", "dependsOn": [{"name": "infrastructure"}],
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
            "path": "./apps/production", "prune": true, "wait": true,
            "healthChecks": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "my-app", "namespace": "production"}]
        })))
        .unwrap();
        assert_eq!(p.path, "apps/production");
        assert_eq!(
            p.source,
            SourceRef {
                kind: "GitRepository".into(),
                namespace: "flux-system".into(),
                name: "flux-system".into()
            }
        );
        assert!(p.prune && p.wait && !p.force);
        assert_eq!(p.interval, Duration::from_secs(600));
        assert_eq!(p.retry_interval, Duration::from_secs(600));
        assert_eq!(p.timeout, Duration::from_secs(570));
        assert_eq!(p.render.kustomize, None, "no overlay asked for");
        assert_eq!(
            p.labels[..2],
            [
                (
                    "kustomize.toolkit.fluxcd.io/name".to_string(),
                    "apps".to_string()
                ),
                (
                    "kustomize.toolkit.fluxcd.io/namespace".to_string(),
                    "flux-system".to_string()
                )
            ]
        );
        let target = p.target(vec![]);
        assert_eq!(target.app, "kustomization_flux-system_apps");
        assert!(target.prune);
        assert!(target.options.fails_on_shared_resource());
    }

    #[test]
    fn the_overlay_maps_onto_render_overrides() {
        let p = plan(&ks(json!({
            "interval": "5m", "sourceRef": {"kind": "GitRepository", "name": "repo", "namespace": "src"},
            "prune": false, "targetNamespace": "staging", "namePrefix": "s-",
            "images": [{"name": "nginx", "newTag": "1.27"}, {"name": "app", "newName": "reg/app", "digest": "sha256:ab"}],
            "patches": [{"patch": "- op: add", "target": {"kind": "Deployment", "labelSelector": "a=b"}}],
            "components": ["../c"], "healthChecks": [{"kind": "Deployment", "name": "web"}],
            "commonMetadata": {"labels": {"team": "a"}, "annotations": {"note": "x"}}
        })))
        .unwrap();
        assert_eq!(p.source.namespace, "src");
        assert_eq!(p.target_namespace.as_deref(), Some("staging"));
        let k = p.render.kustomize.clone().unwrap();
        assert_eq!(k.namespace.as_deref(), Some("staging"));
        assert_eq!(k.name_prefix.as_deref(), Some("s-"));
        assert_eq!(k.images, ["nginx:1.27", "app=reg/app@sha256:ab"]);
        assert_eq!(k.components, ["../c"]);
        let target = k.patches[0].target.clone().unwrap();
        assert_eq!(target.kind.as_deref(), Some("Deployment"));
        assert_eq!(target.label_selector.as_deref(), Some("a=b"));
        assert_eq!(
            p.health_checks[0].namespace.as_deref(),
            Some("flux-system"),
            "defaulted to the Kustomization's namespace"
        );
        assert!(p.labels.contains(&("team".into(), "a".into())));
        assert_eq!(p.annotations, [("note".to_string(), "x".to_string())]);
        assert_eq!(p.target(vec![]).namespace.as_deref(), Some("staging"));
    }

    #[test]
    fn unsupported_fields_and_bad_durations_are_refused_naming_the_field() {
        let err = plan(&ks(json!({
            "interval": "5m", "prune": true,
            "sourceRef": {"kind": "OCIRepository", "name": "oci"},
            "decryption": {"provider": "sops"}
        })))
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("spec.sourceRef.kind"), "{text}");
        assert!(text.contains("spec.decryption"), "{text}");
        let err = plan(&ks(json!({
            "interval": "soon", "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": "r"}
        })))
        .unwrap_err();
        assert!(err.to_string().contains("spec.interval"), "{err}");
    }

    #[test]
    fn paths_are_cleaned() {
        assert_eq!(clean_path("./k8s/overlays/staging"), "k8s/overlays/staging");
        assert_eq!(clean_path("./"), "");
        assert_eq!(clean_path(""), "");
        assert_eq!(clean_path("apps/"), "apps");
    }
}
