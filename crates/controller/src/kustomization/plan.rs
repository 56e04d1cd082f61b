//! A Kustomization's spec as the engine's plan (pure): its owner identity
//! and tracking name, the source it names, the render options, the sync
//! policy (prune, force, target namespace, the ownership rule) and its
//! timings. Nothing here talks to the cluster.

use std::time::Duration;

use driftless_api::flux::duration::InvalidDuration;
use driftless_api::flux::kustomize::v1::{Kustomization, KustomizationSpec};
use driftless_api::flux::reference::NamespacedObjectKindReference;
use driftless_api::flux::unsupported::{Unsupported, kustomization_unsupported};
use driftless_render::RenderOptions;
use driftless_sync::{SyncOptions, Target};
use kube::ResourceExt;

/// Why a Kustomization cannot be planned; nothing is applied.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Fields driftless cannot honour.
    #[error("not supported: {}", list(.0))]
    Unsupported(Vec<Unsupported>),
    /// Fields driftless does not know (from a newer Flux, or a typo).
    #[error("not supported: {0} (unknown fields)")]
    Unknown(String),
    /// A malformed duration.
    #[error(transparent)]
    Duration(#[from] InvalidDuration),
    /// A field with a value outside its allowed set (the message names it).
    #[error("{0}")]
    Invalid(String),
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
    /// Written into tracking ids (see [`tracking_name`]).
    pub tracking_name: String,
    /// The source.
    pub source: SourceRef,
    /// The path to render (as Flux joins it; the root when empty).
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
    /// Flux's owner labels, set on every applied object (after
    /// `commonMetadata`, so they cannot be overridden).
    pub labels: Vec<(String, String)>,
}

/// The tracking name of the Kustomization `namespace/name` (see
/// [`driftless_sync::tracking::KUSTOMIZATION_PREFIX`]: it never collides
/// with an Application's).
pub fn tracking_name(namespace: &str, name: &str) -> String {
    format!(
        "{}{namespace}_{name}",
        driftless_sync::tracking::KUSTOMIZATION_PREFIX
    )
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
    let labels = vec![
        (
            driftless_api::flux::kustomize::NAME_LABEL.to_string(),
            name.clone(),
        ),
        (
            driftless_api::flux::kustomize::NAMESPACE_LABEL.to_string(),
            ns.clone(),
        ),
    ];
    Ok(Plan {
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
        path: crate::flux_build::render_path(spec.path.as_deref()),
        render: crate::flux_build::render_options(spec),
        target_namespace: spec.target_namespace.clone().filter(|n| !n.is_empty()),
        prune: spec.prune,
        force: spec.force,
        wait: spec.wait,
        health_checks: health_checks(spec, &ns),
        interval: spec.interval_duration()?,
        retry_interval: spec.retry_interval_duration()?,
        timeout: spec.timeout_duration()?,
        labels,
    })
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

    /// [`Plan::target`] for the reconcile, which applies right after it
    /// compares: an object that changed is applied without a dry-run
    /// first, and the server's answer says whether it differed (as Flux
    /// reports `configured` or `unchanged`). A preview keeps the dry-run.
    pub fn applying_target(&self, previous: Vec<driftless_api::ResourceStatus>) -> Target {
        Target {
            apply_decides: true,
            ..self.target(previous)
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
            driftless_sync::tracking::kustomization_of(&t),
            Some(("flux-system", "apps"))
        );
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
        assert_eq!(
            p.path, "./apps/production",
            "joined to the root by the renderer"
        );
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
    fn sources_health_checks_and_target_namespace() {
        let p = plan(&ks(json!({
            "interval": "5m", "sourceRef": {"kind": "GitRepository", "name": "repo", "namespace": "src"},
            "prune": false, "targetNamespace": "staging", "namePrefix": "s-",
            "healthChecks": [{"kind": "Deployment", "name": "web"}]
        })))
        .unwrap();
        assert_eq!(p.source.namespace, "src");
        assert_eq!(p.target_namespace.as_deref(), Some("staging"));
        assert!(p.render.flux.is_some(), "Flux's build of the path");
        assert_eq!(
            p.health_checks[0].namespace.as_deref(),
            Some("flux-system"),
            "defaulted to the Kustomization's namespace"
        );
        assert_eq!(p.target(vec![]).namespace.as_deref(), Some("staging"));
        assert!(!p.target(vec![]).prune);
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
}
