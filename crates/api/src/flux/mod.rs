//! Flux's `GitRepository` (`source.toolkit.fluxcd.io`) and `Kustomization`
//! (`kustomize.toolkit.fluxcd.io`), each served as `v1` (stored) and
//! `v1beta2`; `HelmRepository` (`v1`) and `HelmRelease`
//! (`helm.toolkit.fluxcd.io/v2`), with Flux's condition vocabulary and small pure helpers
//! (durations, revisions, conditions).

pub mod condition;
pub mod duration;
pub mod helm;
pub mod kustomize;
pub mod reference;
pub mod revision;
pub mod source;
pub mod unsupported;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use kube::core::crd::{MergeError, merge_crds};

/// The version stored by the API server (the other is served and converted
/// with strategy `None`, that is, by changing `apiVersion` only).
pub const STORAGE_VERSION: &str = "v1";

/// The annotation `flux reconcile` sets to request a reconcile now; its
/// value is echoed in `status.lastHandledReconcileAt`.
pub const RECONCILE_REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";

/// The `gitrepositories.source.toolkit.fluxcd.io` CRD: `v1` (stored) and `v1beta2`.
pub fn git_repository_crd() -> Result<CustomResourceDefinition, MergeError> {
    merge_crds(
        vec![
            source::v1::GitRepository::crd(),
            source::v1beta2::GitRepository::crd(),
        ],
        STORAGE_VERSION,
    )
}

/// The `kustomizations.kustomize.toolkit.fluxcd.io` CRD: `v1` (stored) and `v1beta2`.
pub fn kustomization_crd() -> Result<CustomResourceDefinition, MergeError> {
    merge_crds(
        vec![
            kustomize::v1::Kustomization::crd(),
            kustomize::v1beta2::Kustomization::crd(),
        ],
        STORAGE_VERSION,
    )
}
