//! `kustomize.toolkit.fluxcd.io/v1` `Kustomization`, the stored version.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    CommonMetadata, CrossNamespaceSourceReference, CustomHealthCheck, Decryption,
    DependencyReference, Image, KustomizationStatus, Patch, PostBuild,
};
use crate::flux::reference::{KubeConfigReference, NamespacedObjectKindReference};

/// Renders one path of a source with kustomize and keeps the cluster in line with it.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[allow(clippy::duplicated_attributes)]
#[kube(
    group = "kustomize.toolkit.fluxcd.io",
    version = "v1",
    kind = "Kustomization",
    plural = "kustomizations",
    singular = "kustomization",
    namespaced,
    status = "KustomizationStatus",
    shortname = "ks",
    category = "fluxcd",
    doc = "A Kustomization renders a path of a source (a GitRepository) and applies, prunes and health-checks what it renders.",
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message"
    )
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct KustomizationSpec {
    /// Labels and annotations set on every applied object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<CommonMetadata>,
    /// Kustomizations that must be Ready before this one is reconciled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<DependencyReference>,
    /// SOPS decryption of Secrets (not supported: reported, nothing applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decryption: Option<Decryption>,
    /// How often to reconcile (a Go duration, e.g. `5m`, `1h30m`).
    pub interval: String,
    /// How soon to retry after a failure (a Go duration); `interval` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<String>,
    /// The kubeconfig of a remote cluster to apply to (not supported: reported, nothing applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_config: Option<KubeConfigReference>,
    /// The directory of the source to render (a `kustomization.yaml`, or
    /// plain manifests found recursively); the source root when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Variable substitution over the rendered objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_build: Option<PostBuild>,
    /// Delete objects that an earlier revision applied and this one no longer renders.
    pub prune: bool,
    /// Objects whose health decides `Ready` (ignored when `wait` is true).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_checks: Vec<NamespacedObjectKindReference>,
    /// A prefix added to the names of all rendered objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
    /// A suffix added to the names of all rendered objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_suffix: Option<String>,
    /// Strategic merge and JSON6902 patches applied after the build.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<Patch>,
    /// Image name, tag and digest changes applied after the build.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Image>,
    /// The ServiceAccount (in this namespace) impersonated to apply and prune.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// The source to render.
    pub source_ref: CrossNamespaceSourceReference,
    /// Stop reconciling; objects already applied stay as they are.
    #[serde(default)]
    pub suspend: bool,
    /// The namespace set on every namespaced object (overriding the
    /// `kustomization.yaml` namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_namespace: Option<String>,
    /// Time limit for apply and health checks (a Go duration); `interval`
    /// when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Recreate objects whose update fails on an immutable field.
    #[serde(default)]
    pub force: bool,
    /// Wait for every applied object to be healthy (then `healthChecks` is ignored).
    #[serde(default)]
    pub wait: bool,
    /// Paths of kustomize Components added to the build.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    /// Leave out `components` paths that do not exist instead of failing.
    #[serde(default)]
    pub ignore_missing_components: bool,
    /// CEL expressions telling the health of custom kinds (used with `wait` or `healthChecks`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_check_exprs: Vec<CustomHealthCheck>,
    /// What happens to applied objects when the Kustomization is deleted:
    /// `MirrorPrune` (default: as `prune`), `Delete`, `WaitForTermination` or `Orphan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<String>,
    /// Top-level fields this type does not model, kept as stored (the CRD
    /// preserves unknown fields at this level only): a newer Flux's field or
    /// a typo, which the controller reports, or v1beta2's deprecated patch
    /// fields, which it builds. Carried by the watch, so the controller
    /// needs no read of the stored object to find them.
    #[serde(flatten)]
    #[schemars(skip)]
    pub other: BTreeMap<String, Value>,
}
