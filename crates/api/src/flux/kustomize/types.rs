//! The parts of a Kustomization shared by `v1` and `v1beta2`.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::flux::reference::{LocalObjectReference, any_json};

/// The source artifact a Kustomization renders.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceSourceReference {
    /// API version of the referent (e.g. `source.toolkit.fluxcd.io/v1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the referent: `GitRepository` (supported), `OCIRepository`,
    /// `Bucket` or `ExternalArtifact` (reported as unsupported).
    pub kind: String,
    /// Name of the referent.
    pub name: String,
    /// Namespace of the referent; the Kustomization's own when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A Kustomization that must be Ready before this one is reconciled.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DependencyReference {
    /// Name of the Kustomization depended on.
    pub name: String,
    /// Its namespace; this Kustomization's own when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// A CEL expression over `self` (this Kustomization) and `dep` (the
    /// dependency) that replaces the built-in readiness check when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_expr: Option<String>,
}

/// Labels and annotations set on every applied object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommonMetadata {
    /// Annotations added to (or overriding those of) every object.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Labels added to (or overriding those of) every object.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// SOPS decryption of Secrets (not supported by driftless: reported, nothing applied).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decryption {
    /// The decryption engine; only `sops` exists.
    pub provider: String,
    /// The ServiceAccount used to reach cloud KMS services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// The Secret holding the decryption keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
}

/// What to do with the rendered YAML after the kustomize build.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostBuild {
    /// Variables substituted into the rendered objects: `${name}` and
    /// `${name:=default}` are replaced with these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub substitute: BTreeMap<String, String>,
    /// ConfigMaps and Secrets (same namespace) whose data keys are more
    /// variables, read in order; later ones and `substitute` win.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub substitute_from: Vec<SubstituteReference>,
}

/// A ConfigMap or Secret holding substitution variables.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SubstituteReference {
    /// `ConfigMap` or `Secret`.
    pub kind: String,
    /// Its name, in the Kustomization's namespace.
    pub name: String,
    /// When true, a missing object counts as one without variables instead of an error.
    #[serde(default)]
    pub optional: bool,
}

/// Selects objects by group, version, kind, name, namespace and selectors
/// (kustomize's patch target).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Selector {
    /// API group of the objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// API version of the objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Kind of the objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Namespace of the objects (a regular expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name of the objects (a regular expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A label selector the objects' labels must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    /// A label selector the objects' annotations must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation_selector: Option<String>,
}

/// A strategic merge or JSON6902 patch, inline, with an optional target.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Patch {
    /// The patch: a strategic merge patch (YAML object) or a JSON6902 patch (YAML list).
    pub patch: String,
    /// The objects to patch; for a strategic merge patch, the patch's own
    /// kind and name when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Selector>,
}

/// A change to the image references of the rendered objects.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    /// The image name to look for.
    pub name: String,
    /// The name to replace it with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_name: Option<String>,
    /// The tag to set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_tag: Option<String>,
    /// The digest to set (wins over `newTag`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// CEL expressions that tell the health of objects of one kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomHealthCheck {
    /// API version of the objects (`group/version`).
    pub api_version: String,
    /// Kind of the objects.
    pub kind: String,
    /// When true, the object is healthy (required).
    pub current: String,
    /// When true, the object is still progressing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_progress: Option<String>,
    /// When true, the object failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// One operation of a JSON6902 patch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Json6902 {
    /// The operation: `test`, `remove`, `add`, `replace`, `move` or `copy`.
    pub op: String,
    /// The JSON pointer the operation applies to.
    pub path: String,
    /// The source pointer of `move` and `copy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The value of `add`, `replace` and `test`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub value: Option<serde_json::Value>,
}

/// A JSON6902 patch and the objects it applies to (`v1beta2` only).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Json6902Patch {
    /// The operations, in order.
    pub patch: Vec<Json6902>,
    /// The objects to patch.
    pub target: Selector,
}

/// One applied object in the inventory.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub struct ResourceRef {
    /// `<namespace>_<name>_<group>_<kind>`, as Flux's `object.ObjMetadata` writes it.
    pub id: String,
    /// The object's API version.
    pub v: String,
}

/// Every object applied by the last successful reconcile.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceInventory {
    /// The objects, sorted by `id`.
    #[serde(default)]
    pub entries: Vec<ResourceRef>,
}

/// The observed state of a Kustomization (the same in both versions).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationStatus {
    /// The last generation of the spec the controller acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Reconciling`, `Stalled`, `Healthy`, … with Flux's reasons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The source revision last applied successfully (`main@sha1:<sha>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<String>,
    /// The source revision of the last attempt, successful or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    /// The objects applied by the last successful reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<ResourceInventory>,
    /// The last `reconcile.fluxcd.io/requestedAt` annotation value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// Formats an inventory id as Flux does: `<namespace>_<name>_<group>_<kind>`
/// (empty namespace for cluster-scoped objects, empty group for the core
/// group; a `:` in the name, as in RBAC names, is written `__`).
pub fn inventory_id(namespace: &str, name: &str, group: &str, kind: &str) -> String {
    let name = name.replace(':', "__");
    format!("{namespace}_{name}_{group}_{kind}")
}
