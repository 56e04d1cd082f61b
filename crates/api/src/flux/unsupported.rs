//! What a Flux object asks for that driftless does not do, so the
//! controller can say so in a `Stalled`/`Ready=False` condition instead of
//! applying half of it or silently ignoring a field.

use super::helm::HelmReleaseSpec;
use super::kustomize::v1::KustomizationSpec;
use super::source::helm::HelmRepositorySpec;
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

/// The fields of a HelmRelease that driftless cannot honour (a missing
/// `chart` is reported here too: without `chartRef` support it is required).
pub fn helm_release_unsupported(spec: &HelmReleaseSpec) -> Vec<Unsupported> {
    let mut out = Vec::new();
    if spec.chart_ref.is_some() {
        out.push(unsupported(
            "spec.chartRef",
            "charts from HelmChart or OCIRepository objects are not supported; use spec.chart",
        ));
    } else if spec.chart.is_none() {
        out.push(unsupported("spec.chart", "required (the chart to render)"));
    }
    if let Some(chart) = &spec.chart {
        let kind = chart.spec.source_ref.kind.as_str();
        if kind != super::source::KIND && kind != super::source::helm::HELM_REPOSITORY_KIND {
            out.push(unsupported(
                "spec.chart.spec.sourceRef.kind",
                "only HelmRepository and GitRepository sources are supported (not Bucket)",
            ));
        }
        if chart.spec.verify.is_some() {
            out.push(unsupported(
                "spec.chart.spec.verify",
                "chart signature verification is not supported",
            ));
        }
    }
    if spec.kube_config.is_some() {
        out.push(unsupported(
            "spec.kubeConfig",
            "applying to another cluster is not supported",
        ));
    }
    if !spec.post_renderers.is_empty() {
        out.push(unsupported(
            "spec.postRenderers",
            "post renderers are not supported",
        ));
    }
    out
}

/// The fields of a HelmRepository that driftless cannot honour.
pub fn helm_repository_unsupported(spec: &HelmRepositorySpec) -> Vec<Unsupported> {
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
    if spec.cert_secret_ref.is_some() {
        out.push(unsupported(
            "spec.certSecretRef",
            "TLS client certificates and custom CAs are not supported",
        ));
    }
    if let Some(t) = spec.type_.as_deref().filter(|t| !t.is_empty())
        && t != super::source::helm::TYPE_DEFAULT
        && t != super::source::helm::TYPE_OCI
    {
        out.push(unsupported("spec.type", "must be `default` or `oci`"));
    }
    out
}

pub use crate::unsupported::unknown_spec_fields;

/// The fields of a HelmRelease's spec (as stored, or as the typed spec
/// serializes it: [`HelmReleaseSpec::other`] included) that driftless does
/// not model, by path.
pub fn helm_release_unknown_fields(raw_spec: &serde_json::Value) -> Vec<String> {
    crate::unsupported::unknown_spec_fields_with::<HelmReleaseSpec>(raw_spec, |spec| {
        spec.other.clear()
    })
}

/// The fields of a Kustomization's spec (as stored, or as the typed spec
/// serializes it: [`KustomizationSpec::other`] included) that driftless
/// does not model, by path.
pub fn kustomization_unknown_fields(raw_spec: &serde_json::Value) -> Vec<String> {
    crate::unsupported::unknown_spec_fields_with::<KustomizationSpec>(raw_spec, |spec| {
        spec.other.clear()
    })
}

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
    fn helm_release_fields_driftless_cannot_honour() {
        let spec: HelmReleaseSpec = serde_json::from_value(json!({
            "interval": "1m", "chartRef": {"kind": "OCIRepository", "name": "o"},
            "postRenderers": [{"kustomize": {}}]
        }))
        .unwrap();
        let fields: Vec<String> = helm_release_unsupported(&spec)
            .into_iter()
            .map(|u| u.field)
            .collect();
        assert_eq!(fields, ["spec.chartRef", "spec.postRenderers"]);
        let none: HelmReleaseSpec = serde_json::from_value(json!({"interval": "1m"})).unwrap();
        assert_eq!(helm_release_unsupported(&none)[0].field, "spec.chart");
        let fine: HelmReleaseSpec = serde_json::from_value(json!({
            "interval": "1m", "upgrade": {"remediation": {"retries": 3}},
            "chart": {"spec": {"chart": "./charts/web", "sourceRef": {"kind": "GitRepository", "name": "r"}}}
        }))
        .unwrap();
        assert_eq!(helm_release_unsupported(&fine), []);
        let raw = json!({"interval": "1m", "chart": {"spec": {"chart": "c", "sourceRef": {"kind": "HelmRepository", "name": "r"}}}, "commonMetadata": {"labels": {"a": "b"}}});
        assert_eq!(helm_release_unknown_fields(&raw), ["spec.commonMetadata"]);
        let typed: HelmReleaseSpec = serde_json::from_value(raw).unwrap();
        assert_eq!(
            helm_release_unknown_fields(&serde_json::to_value(&typed).unwrap()),
            ["spec.commonMetadata"]
        );
    }

    #[test]
    fn unknown_fields_are_listed_by_path() {
        let raw = json!({
            "interval": "1m", "prune": true, "sourceRef": {"kind": "GitRepository", "name": "r", "extra": "x"},
            "driftIgnoreRules": [{"paths": ["/spec/replicas"]}], "emptyThing": {}
        });
        assert_eq!(
            kustomization_unknown_fields(&raw),
            ["spec.sourceRef.extra", "spec.driftIgnoreRules"]
        );
        // What the watch delivers: the typed spec, `other` included.
        let typed: KustomizationSpec = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(
            kustomization_unknown_fields(&serde_json::to_value(&typed).unwrap()),
            ["spec.driftIgnoreRules"]
        );
        assert_eq!(
            kustomization_unknown_fields(&json!({"interval": 5})),
            ["spec"]
        );
    }
}
