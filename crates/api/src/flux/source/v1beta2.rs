//! `source.toolkit.fluxcd.io/v1beta2` `GitRepository`, served (deprecated
//! by Flux in favour of `v1`) and stored as `v1`.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    GitRepositoryInclude, GitRepositoryRef, GitRepositoryStatus, GitRepositoryVerification,
};
use crate::flux::reference::{LocalObjectReference, any_json};

/// Where to fetch a Git repository from and which revision to follow.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[allow(clippy::duplicated_attributes)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1beta2",
    kind = "GitRepository",
    plural = "gitrepositories",
    singular = "gitrepository",
    namespaced,
    status = "GitRepositoryStatus",
    shortname = "gitrepo",
    category = "fluxcd",
    category = "fluxcd-sources",
    deprecated = "source.toolkit.fluxcd.io/v1beta2 GitRepository is deprecated, upgrade to v1",
    doc = "A GitRepository names a Git repository and the revision to follow; Kustomizations render paths of it.",
    printcolumn(name = "URL", type_ = "string", json_path = ".spec.url"),
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
pub struct GitRepositorySpec {
    /// The repository URL: `https://`, `http://`, `ssh://` (or scp-like
    /// `git@host:path`), or `git://` for a local server.
    pub url: String,
    /// A Secret (same namespace) with credentials: `username` and `password`
    /// or `bearerToken` for HTTPS; `identity` and `known_hosts` for SSH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// How often to check the repository for new commits (a Go duration, e.g. `1m`, `1h30m`).
    pub interval: String,
    /// Time limit for Git operations (a Go duration); `60s` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// The reference to follow; the `master` branch when unset.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<GitRepositoryRef>,
    /// Commit signature verification (not supported: reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<GitRepositoryVerification>,
    /// Exclusion patterns in `.gitignore` syntax, read after the
    /// repository's `.sourceignore` files. When this or any `.sourceignore`
    /// holds a pattern, Flux's default exclusions (images, archives, CI
    /// files) no longer apply; `.git/`, `.gitignore`, `.gitmodules` and
    /// `.gitattributes` are always excluded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Stop checking the repository for new commits.
    #[serde(default)]
    pub suspend: bool,
    /// The Git client Flux used (`go-git` or `libgit2`); deprecated and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_implementation: Option<String>,
    /// Check out submodules too (not supported: reported).
    #[serde(default)]
    pub recurse_submodules: bool,
    /// Other GitRepositories copied into this one's content (not supported: reported).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<GitRepositoryInclude>,
    /// Namespaces allowed to use this source (Flux's deprecated ACL; ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub access_from: Option<serde_json::Value>,
}
