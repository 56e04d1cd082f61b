//! What a Flux object asks for that driftless does not do, so the
//! controller can say so in a `Stalled`/`Ready=False` condition instead of
//! applying half of it or silently ignoring a field.

use super::kustomize::v1::KustomizationSpec;
use super::source::v1::GitRepositorySpec;

/// One field driftless cannot honour, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    /// The field's path, e.g. `spec.decryption`.
    pub field: String,
    /// Why it cannot be honoured.
    pub reason: &'static str,
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

fn unsupported(field: &str, reason: &'static str) -> Unsupported {
    Unsupported {
        field: field.to_string(),
        reason,
    }
}

/// The fields of a Kustomization that driftless cannot honour.
pub fn kustomization_unsupported(spec: &KustomizationSpec) -> Vec<Unsupported> {
    let mut out = Vec::new();
    if spec.source_ref.kind != super::source::KIND {
        out.push(unsupported(
            "spec.sourceRef.kind",
            "only GitRepository sources are supported (not OCIRepository, Bucket or ExternalArtifact)",
        ));
    }
    if spec.decryption.is_some() {
        out.push(unsupported(
            "spec.decryption",
            "SOPS decryption is not supported",
        ));
    }
    if spec.kube_config.is_some() {
        out.push(unsupported(
            "spec.kubeConfig",
            "applying to another cluster is not supported",
        ));
    }
    out
}

/// The fields of a GitRepository that driftless cannot honour.
pub fn git_repository_unsupported(spec: &GitRepositorySpec) -> Vec<Unsupported> {
    let mut out = Vec::new();
    if spec
        .provider
        .as_deref()
        .is_some_and(|p| !p.is_empty() && p != "generic")
    {
        out.push(unsupported(
            "spec.provider",
            "only the generic provider (secretRef credentials) is supported",
        ));
    }
    let checks: [(bool, &str, &'static str); 6] = [
        (
            spec.service_account_name.is_some(),
            "spec.serviceAccountName",
            "cloud provider identities are not supported",
        ),
        (
            spec.verify.is_some(),
            "spec.verify",
            "commit signature verification is not supported",
        ),
        (
            spec.proxy_secret_ref.is_some(),
            "spec.proxySecretRef",
            "proxies are not supported",
        ),
        (
            spec.recurse_submodules,
            "spec.recurseSubmodules",
            "submodules are not supported",
        ),
        (
            !spec.include.is_empty(),
            "spec.include",
            "including other GitRepositories is not supported",
        ),
        (
            !spec.sparse_checkout.is_empty(),
            "spec.sparseCheckout",
            "sparse checkout is not supported",
        ),
    ];
    out.extend(
        checks
            .into_iter()
            .filter(|(set, _, _)| *set)
            .map(|(_, field, reason)| unsupported(field, reason)),
    );
    out
}

pub use crate::unsupported::unknown_spec_fields;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn kustomization_fields_driftless_cannot_honour() {
        let spec: KustomizationSpec = serde_json::from_value(json!({
            "interval": "1m", "prune": true,
            "sourceRef": {"kind": "OCIRepository", "name": "oci"},
            "decryption": {"provider": "sops"},
            "kubeConfig": {"secretRef": {"name": "kc"}}
        }))
        .unwrap();
        let fields: Vec<String> = kustomization_unsupported(&spec)
            .into_iter()
            .map(|u| u.field)
            .collect();
        assert_eq!(
            fields,
            ["spec.sourceRef.kind", "spec.decryption", "spec.kubeConfig"]
        );
        let fine: KustomizationSpec = serde_json::from_value(json!({
            "interval": "1m", "prune": true, "sourceRef": {"kind": "GitRepository", "name": "repo"},
            "healthCheckExprs": [{"apiVersion": "a/v1", "kind": "K", "current": "true"}],
            "serviceAccountName": "deployer"
        }))
        .unwrap();
        assert_eq!(kustomization_unsupported(&fine), []);
    }

    #[test]
    fn git_repository_fields_driftless_cannot_honour() {
        let spec: GitRepositorySpec = serde_json::from_value(json!({
            "url": "https://h/r", "interval": "1m", "provider": "github",
            "verify": {"mode": "HEAD", "secretRef": {"name": "keys"}},
            "recurseSubmodules": true, "include": [{"repository": {"name": "other"}}]
        }))
        .unwrap();
        let fields: Vec<String> = git_repository_unsupported(&spec)
            .into_iter()
            .map(|u| u.field)
            .collect();
        assert_eq!(
            fields,
            [
                "spec.provider",
                "spec.verify",
                "spec.recurseSubmodules",
                "spec.include"
            ]
        );
        let plain: GitRepositorySpec =
            serde_json::from_value(json!({"url": "https://h/r", "interval": "1m", "provider": "generic", "ref": {"branch": "main"}})).unwrap();
        assert_eq!(git_repository_unsupported(&plain), []);
    }

    #[test]
    fn unknown_fields_are_listed_by_path() {
        let raw = json!({
            "interval": "1m", "prune": true, "sourceRef": {"kind": "GitRepository", "name": "r", "extra": "x"},
            "driftIgnoreRules": [{"paths": ["/spec/replicas"]}], "emptyThing": {}
        });
        assert_eq!(
            unknown_spec_fields::<KustomizationSpec>(&raw),
            ["spec.sourceRef.extra", "spec.driftIgnoreRules"]
        );
        assert_eq!(
            unknown_spec_fields::<KustomizationSpec>(&json!({"interval": 5})),
            ["spec"]
        );
    }
}
