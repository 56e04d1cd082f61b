//! The `AppProject` custom resource: which repositories, destinations and
//! kinds the Applications of a project may use.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::application::ApplicationDestination;

/// What the Applications of one project are allowed to do.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "AppProject",
    plural = "appprojects",
    singular = "appproject",
    namespaced,
    shortname = "appproj",
    shortname = "appprojs",
    category = "argocd",
    doc = "An AppProject limits the repositories, destinations and kinds its Applications may use."
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct AppProjectSpec {
    /// A person's description of the project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Repository URLs (globs, `*` for any) Applications may deploy from.
    #[serde(default)]
    pub source_repos: Vec<String>,
    /// Clusters and namespaces (globs) Applications may deploy into.
    #[serde(default)]
    pub destinations: Vec<ApplicationDestination>,
    /// Cluster-scoped kinds Applications may deploy; none when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_resource_whitelist: Vec<GroupKind>,
    /// Cluster-scoped kinds Applications may not deploy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_resource_blacklist: Vec<GroupKind>,
    /// Namespaced kinds Applications may deploy; all when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespace_resource_whitelist: Vec<GroupKind>,
    /// Namespaced kinds Applications may not deploy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespace_resource_blacklist: Vec<GroupKind>,
    /// Namespaces other than the controller's whose Applications may use this project.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_namespaces: Vec<String>,
}

/// An API group and kind; `*` matches any.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct GroupKind {
    /// API group (empty for the core group, `*` for any).
    #[serde(default)]
    pub group: String,
    /// Kind (`*` for any).
    pub kind: String,
}
