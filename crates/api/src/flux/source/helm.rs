//! `source.toolkit.fluxcd.io/v1` `HelmRepository`: a chart repository (an
//! `index.yaml` over HTTP(S), `type: default`) or an OCI registry
//! (`type: oci`) that HelmReleases take charts from.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::flux::duration::{InvalidDuration, parse_field};
use crate::flux::reference::{Artifact, LocalObjectReference, any_json};

/// The kind.
pub const HELM_REPOSITORY_KIND: &str = "HelmRepository";
/// `spec.type` of a chart repository serving `index.yaml`.
pub const TYPE_DEFAULT: &str = "default";
/// `spec.type` of an OCI registry.
pub const TYPE_OCI: &str = "oci";

/// Where HelmReleases fetch charts from, and the credentials to use.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[allow(clippy::duplicated_attributes)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "HelmRepository",
    plural = "helmrepositories",
    singular = "helmrepository",
    namespaced,
    status = "HelmRepositoryStatus",
    shortname = "helmrepo",
    category = "fluxcd",
    category = "fluxcd-sources",
    doc = "A HelmRepository names a Helm chart repository or OCI registry; HelmReleases render charts from it.",
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
pub struct HelmRepositorySpec {
    /// The repository URL: `http(s)://` where `index.yaml` is for
    /// `type: default`, `oci://host/path` for `type: oci`.
    pub url: String,
    /// A Secret (same namespace) with `username` and `password` for basic
    /// authentication (never written to status, events or logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// A Secret with TLS client certificates and CA (not supported: reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Send the credentials to hosts other than the repository's when the
    /// index points charts there.
    #[serde(default)]
    pub pass_credentials: bool,
    /// Speak plain HTTP to an OCI registry (no TLS).
    #[serde(default)]
    pub insecure: bool,
    /// How often to fetch the index (a Go duration, e.g. `10m`); for
    /// `type: oci` there is nothing to fetch and it is not required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Time limit for fetching the index (a Go duration); `60s` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Stop fetching the index.
    #[serde(default)]
    pub suspend: bool,
    /// Cross-namespace access rules (accepted; driftless lets HelmReleases
    /// of any watched namespace use the repository, as Flux does without
    /// `--no-cross-namespace-refs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub access_from: Option<serde_json::Value>,
    /// `default` (an `index.yaml` over HTTP(S)) or `oci` (a registry).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// The OCI authentication provider: `generic` (default), `aws`, `azure`
    /// or `gcp`. Only `generic` is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

/// Flux's default time limit for fetching an index.
const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// Flux's default interval when `spec.interval` is unset (`type: oci`).
const DEFAULT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(600);

impl HelmRepositorySpec {
    /// Whether this is an OCI registry (`spec.type: oci`, or an `oci://` URL).
    pub fn is_oci(&self) -> bool {
        self.type_.as_deref() == Some(TYPE_OCI) || self.url.starts_with("oci://")
    }

    /// How often to fetch the index: `spec.interval`, else 10m.
    pub fn interval_duration(&self) -> Result<std::time::Duration, InvalidDuration> {
        self.interval
            .as_deref()
            .map_or(Ok(DEFAULT_INTERVAL), |text| parse_field("interval", text))
    }

    /// The time limit for fetching the index: `spec.timeout`, else 60s.
    pub fn timeout_duration(&self) -> Result<std::time::Duration, InvalidDuration> {
        self.timeout
            .as_deref()
            .map_or(Ok(DEFAULT_TIMEOUT), |text| parse_field("timeout", text))
    }
}

/// The observed state of a HelmRepository.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmRepositoryStatus {
    /// The last generation of the spec the controller acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Reconciling`, `Stalled`, `FetchFailed` with Flux's reasons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Where the index was fetched from (`<url>/index.yaml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The last fetched index: `revision` is its `sha256:` digest, as Flux
    /// writes it (none for `type: oci`, as in Flux).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// The last `reconcile.fluxcd.io/requestedAt` annotation value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oci_by_type_or_url_and_defaults() {
        let mut spec = HelmRepositorySpec {
            url: "https://charts.example.com".into(),
            ..Default::default()
        };
        assert!(!spec.is_oci());
        assert_eq!(spec.interval_duration(), Ok(DEFAULT_INTERVAL));
        assert_eq!(spec.timeout_duration(), Ok(DEFAULT_TIMEOUT));
        spec.type_ = Some("oci".into());
        assert!(spec.is_oci());
        spec.interval = Some("soon".into());
        assert_eq!(spec.interval_duration().unwrap_err().field, "interval");
    }
}
