//! `helm.toolkit.fluxcd.io/v2` `HelmRelease`: a Helm chart (from a
//! HelmRepository or a GitRepository path) rendered with `helm template`
//! and applied through the same engine as a Kustomization.
//!
//! driftless does not run Helm actions: no release Secrets are written
//! (`helm list` shows nothing, as with Argo CD), so the fields tuning
//! install/upgrade/rollback/uninstall actions are accepted and have no
//! effect; those that would change what is applied and that driftless
//! cannot honour are reported (see [`crate::flux::unsupported`]).

pub mod v2;

pub use v2::*;

/// The API group.
pub const GROUP: &str = "helm.toolkit.fluxcd.io";
/// The kind.
pub const KIND: &str = "HelmRelease";
/// The finalizer put on a HelmRelease to garbage-collect on deletion.
pub const FINALIZER: &str = "finalizers.fluxcd.io";
/// Label on every applied object: the owning HelmRelease's name.
pub const NAME_LABEL: &str = "helm.toolkit.fluxcd.io/name";
/// Label on every applied object: the owning HelmRelease's namespace.
pub const NAMESPACE_LABEL: &str = "helm.toolkit.fluxcd.io/namespace";

/// Flux's Ready reasons for a HelmRelease (the subset driftless writes).
pub mod reasons {
    /// The chart was rendered and applied for the first time.
    pub const INSTALL_SUCCEEDED: &str = "InstallSucceeded";
    /// The first render or apply failed (a template error, an apply error).
    pub const INSTALL_FAILED: &str = "InstallFailed";
    /// A new chart version or new values were rendered and applied.
    pub const UPGRADE_SUCCEEDED: &str = "UpgradeSucceeded";
    /// Rendering or applying a new chart version or new values failed.
    pub const UPGRADE_FAILED: &str = "UpgradeFailed";
    /// The chart could not be fetched (no such version, wrong credentials,
    /// source not ready).
    pub const ARTIFACT_FAILED: &str = "ArtifactFailed";
    /// The values could not be composed (`valuesFrom`).
    pub const INIT_FAILED: &str = "InitFailed";
}

/// `install.crds`: what to do with the chart's `crds/` directory.
pub mod crds_policy {
    /// Leave them out.
    pub const SKIP: &str = "Skip";
    /// Create them (the default on install).
    pub const CREATE: &str = "Create";
    /// Create or replace them.
    pub const CREATE_REPLACE: &str = "CreateReplace";
}

/// Flux's default release name: `[<targetNamespace>-]<name>`, shortened as
/// Flux does when longer than 53 characters (the first 40 characters, `-`,
/// and the first 12 hex digits of the SHA-256 of the full name).
pub fn default_release_name(target_namespace: Option<&str>, name: &str) -> String {
    use sha2::{Digest, Sha256};
    let full = match target_namespace.filter(|n| !n.is_empty()) {
        Some(ns) => format!("{ns}-{name}"),
        None => name.to_string(),
    };
    if full.len() <= 53 {
        return full;
    }
    let digest = Sha256::digest(full.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}", &full[..40], &hex[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_as_flux() {
        assert_eq!(default_release_name(None, "web"), "web");
        assert_eq!(default_release_name(Some("prod"), "web"), "prod-web");
        assert_eq!(default_release_name(Some(""), "web"), "web");
        let long = default_release_name(
            Some("a-very-long-target-namespace-name"),
            "and-a-much-longer-release-name",
        );
        assert_eq!(long.len(), 53);
        assert!(long.starts_with("a-very-long-target-namespace-name-and-a-"));
    }
}
