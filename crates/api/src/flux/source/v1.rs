//! `source.toolkit.fluxcd.io/v1` `GitRepository`, the stored version.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    GitRepositoryInclude, GitRepositoryRef, GitRepositoryStatus, GitRepositoryVerification,
};
use crate::flux::duration::{InvalidDuration, parse_field};
use crate::flux::reference::LocalObjectReference;

/// Where to fetch a Git repository from and which revision to follow.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[allow(clippy::duplicated_attributes)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "GitRepository",
    plural = "gitrepositories",
    singular = "gitrepository",
    namespaced,
    status = "GitRepositoryStatus",
    shortname = "gitrepo",
    category = "fluxcd",
    category = "fluxcd-sources",
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
    /// The authentication provider: `generic` (default), `aws`, `azure` or
    /// `github`. Only `generic` is supported by driftless.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The ServiceAccount used by the `azure` and `aws` providers (not supported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
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
    /// A Secret with proxy settings for reaching the Git server (not supported: reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
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
    /// Check out submodules too (not supported: reported).
    #[serde(default)]
    pub recurse_submodules: bool,
    /// Other GitRepositories copied into this one's content (not supported: reported).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<GitRepositoryInclude>,
    /// Directories to check out; all when empty (not supported: reported).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sparse_checkout: Vec<String>,
}

/// Flux's default time limit for Git operations.
const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

impl GitRepositorySpec {
    /// How often to check for new commits (`spec.interval`).
    pub fn interval_duration(&self) -> Result<std::time::Duration, InvalidDuration> {
        parse_field("interval", &self.interval)
    }

    /// The time limit for Git operations: `spec.timeout`, else 60s.
    pub fn timeout_duration(&self) -> Result<std::time::Duration, InvalidDuration> {
        self.timeout
            .as_deref()
            .map_or(Ok(DEFAULT_TIMEOUT), |text| parse_field("timeout", text))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn durations_with_fluxs_default_timeout() {
        let mut spec = GitRepositorySpec {
            interval: "1m0s".into(),
            ..GitRepositorySpec::default()
        };
        assert_eq!(spec.interval_duration(), Ok(Duration::from_secs(60)));
        assert_eq!(spec.timeout_duration(), Ok(DEFAULT_TIMEOUT));
        spec.timeout = Some("90s".into());
        assert_eq!(spec.timeout_duration(), Ok(Duration::from_secs(90)));
        spec.timeout = Some("a while".into());
        assert_eq!(spec.timeout_duration().unwrap_err().field, "timeout");
    }
}
