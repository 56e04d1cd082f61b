//! `source.toolkit.fluxcd.io` `GitRepository`: served as `v1` (stored) and
//! `v1beta2`, both generated from Rust types and merged into one CRD.
//!
//! The spec keeps fields it does not model
//! (`x-kubernetes-preserve-unknown-fields`): an object written as `v1beta2`
//! keeps its `v1beta2`-only fields when stored as `v1`, and a field from a
//! newer Flux is reported by the controller rather than silently dropped.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::reference::{Artifact, LocalObjectReference};

pub mod helm;
pub mod v1;
pub mod v1beta2;

/// The API group.
pub const GROUP: &str = "source.toolkit.fluxcd.io";
/// The kind.
pub const KIND: &str = "GitRepository";

/// The Git reference to resolve and watch. When several are set, `commit`
/// wins over `name`, `name` over `semver`, `semver` over `tag`, and `tag`
/// over `branch`; with none, `master`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GitRepositoryRef {
    /// Branch to check out; `master` when no other field is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Tag to check out; takes precedence over `branch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// SemVer range of tags to check out (the highest match); takes precedence over `tag`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver: Option<String>,
    /// Full name of the reference to check out (e.g. `refs/heads/main`,
    /// `refs/pull/420/head`); takes precedence over `branch`, `tag` and `semver`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Commit SHA to check out; takes precedence over every other field.
    /// With `branch`, the commit is expected on that branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// Commit signature verification (not supported by driftless: reported by
/// the controller).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryVerification {
    /// Which Git objects to verify: `HEAD` (or `head`), `Tag`, or `TagAndHEAD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// The Secret holding the trusted public keys (`*.asc` PGP, `*.sshpub` SSH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
}

/// Another GitRepository whose content is copied into this one's artifact
/// (not supported by driftless: reported by the controller).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryInclude {
    /// The GitRepository (same namespace) to include.
    pub repository: LocalObjectReference,
    /// The path in the included artifact to copy from; its root when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_path: Option<String>,
    /// The path to copy to; the included GitRepository's name when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_path: Option<String>,
}

/// The observed state of a GitRepository (the same in both versions).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryStatus {
    /// The last generation of the spec the controller acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Reconciling`, `Stalled`, `FetchFailed`, … with Flux's reasons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The last successfully resolved revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// The exclusion patterns used for the current artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_ignore: Option<String>,
    /// The last `reconcile.fluxcd.io/requestedAt` annotation value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}
