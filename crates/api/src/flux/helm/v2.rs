//! `helm.toolkit.fluxcd.io/v2` `HelmRelease` (the only served version).

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::flux::duration::{InvalidDuration, parse_field};
use crate::flux::kustomize::{DependencyReference, ResourceInventory};
use crate::flux::reference::{KubeConfigReference, any_json};

/// A Helm chart rendered with `helm template` and applied, pruned and
/// health-checked like a Kustomization's objects.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[allow(clippy::duplicated_attributes)]
#[kube(
    group = "helm.toolkit.fluxcd.io",
    version = "v2",
    kind = "HelmRelease",
    plural = "helmreleases",
    singular = "helmrelease",
    namespaced,
    status = "HelmReleaseStatus",
    shortname = "hr",
    category = "fluxcd",
    doc = "A HelmRelease renders a Helm chart from a HelmRepository or a GitRepository and applies, prunes and health-checks the objects.",
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
pub struct HelmReleaseSpec {
    /// The chart: its name, version and source. Exactly one of `chart` and
    /// `chartRef` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<HelmChartTemplate>,
    /// A HelmChart or OCIRepository holding the chart (not supported: reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_ref: Option<CrossNamespaceSourceReference>,
    /// How often to reconcile (a Go duration, e.g. `5m`).
    pub interval: String,
    /// The kubeconfig of a remote cluster (not supported: reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_config: Option<KubeConfigReference>,
    /// Stop reconciling; objects already applied stay as they are.
    #[serde(default)]
    pub suspend: bool,
    /// The release name; `[<targetNamespace>-]<name>` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_name: Option<String>,
    /// The namespace the chart is rendered into (`.Release.Namespace`, and
    /// the namespace of its namespaced objects); the HelmRelease's own when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_namespace: Option<String>,
    /// Where Helm would store release Secrets (accepted; driftless writes none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_namespace: Option<String>,
    /// HelmReleases that must be Ready before this one is reconciled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<DependencyReference>,
    /// Time limit for applying and for the objects to become healthy (a Go
    /// duration); `5m` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Release history kept by Helm (accepted; no effect: no releases are stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_history: Option<i64>,
    /// The ServiceAccount (in this namespace) impersonated to apply and prune.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Reuse the Kubernetes client between Helm actions (accepted; no effect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_client: Option<bool>,
    /// Drift detection settings (accepted; drift is always reverted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub drift_detection: Option<serde_json::Value>,
    /// How the release is installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<Install>,
    /// Helm upgrade settings: `crds` (the chart's CRDs on upgrade: `Skip`,
    /// the default, `Create` or `CreateReplace`, as `install.crds`); the
    /// others are accepted with no effect (there is no Helm upgrade).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub upgrade: Option<serde_json::Value>,
    /// Helm test settings (accepted; tests are not run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub test: Option<serde_json::Value>,
    /// Helm rollback settings (accepted; no effect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub rollback: Option<serde_json::Value>,
    /// Helm uninstall settings (accepted; deletion prunes every applied object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub uninstall: Option<serde_json::Value>,
    /// ConfigMaps and Secrets holding values, merged in order before `values`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_from: Vec<ValuesReference>,
    /// Inline values, merged last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub values: Option<serde_json::Value>,
    /// Post renderers (not supported: reported).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "any_json_list")]
    pub post_renderers: Vec<serde_json::Value>,
    /// Top-level fields this type does not model, kept as stored (the CRD
    /// preserves unknown fields at this level only): a newer Flux's field or
    /// a typo, which the controller reports. Carried by the watch, so the
    /// controller needs no read of the stored object to find them.
    #[serde(flatten)]
    #[schemars(skip)]
    pub other: std::collections::BTreeMap<String, serde_json::Value>,
}

fn any_json_list(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "array", "items": any_json(generator) })
}

/// The template of the chart to render.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HelmChartTemplate {
    /// Labels and annotations of the HelmChart Flux would create (accepted; none is created).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub metadata: Option<serde_json::Value>,
    /// The chart.
    pub spec: HelmChartTemplateSpec,
}

/// Which chart, which version, from where.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmChartTemplateSpec {
    /// The chart name (HelmRepository), or the chart directory in the
    /// source (GitRepository), e.g. `./charts/web`.
    pub chart: String,
    /// A version or a semver range (`^1.2`, `>=1.0 <2.0`); `*` (the latest)
    /// when unset. Ignored for a chart from a GitRepository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The source: a `HelmRepository` or a `GitRepository` (a `Bucket` is reported).
    pub source_ref: CrossNamespaceObjectReference,
    /// How often to check the source for a new chart version (accepted; the
    /// release's `interval` is used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// `ChartVersion` (default) or `Revision` (accepted: a chart from Git is
    /// rendered again at every new commit either way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile_strategy: Option<String>,
    /// Value files of the chart (paths relative to the chart), merged in
    /// order before `valuesFrom` and `values`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_files: Vec<String>,
    /// Skip `valuesFiles` that do not exist instead of failing.
    #[serde(default)]
    pub ignore_missing_values_files: bool,
    /// Chart signature verification (not supported: reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub verify: Option<serde_json::Value>,
}

/// A reference to a source object, in any namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceObjectReference {
    /// API version of the referent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `HelmRepository`, `GitRepository` or `Bucket`.
    pub kind: String,
    /// Name of the referent.
    pub name: String,
    /// Namespace of the referent; the HelmRelease's own when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A reference to a HelmChart or OCIRepository (`chartRef`).
pub type CrossNamespaceSourceReference = CrossNamespaceObjectReference;

/// A ConfigMap or Secret (same namespace) holding values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValuesReference {
    /// `ConfigMap` or `Secret`.
    pub kind: String,
    /// Its name, in the HelmRelease's namespace.
    pub name: String,
    /// The data key holding the values; `values.yaml` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_key: Option<String>,
    /// A dotted path (as `helm --set`) where the value of `valuesKey` is put
    /// as one value, instead of merging it as a YAML document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_path: Option<String>,
    /// When true, a missing object or key counts as no values instead of an error.
    #[serde(default)]
    pub optional: bool,
}

/// How the release is installed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Install {
    /// Time limit of the install (accepted; `spec.timeout` is used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Install failure remediation (accepted; failures are retried every `interval`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub remediation: Option<serde_json::Value>,
    /// Do not wait for the objects to become healthy before Ready.
    #[serde(default)]
    pub disable_wait: bool,
    /// Do not wait for Jobs to complete (accepted; Jobs count as other objects).
    #[serde(default)]
    pub disable_wait_for_jobs: bool,
    /// Leave out hooks (accepted; hooks are handled by the sync engine).
    #[serde(default)]
    pub disable_hooks: bool,
    /// Skip OpenAPI validation (accepted; the API server validates on apply).
    #[serde(default, rename = "disableOpenAPIValidation")]
    pub disable_openapi_validation: bool,
    /// Reuse a release name (accepted; no effect).
    #[serde(default)]
    pub replace: bool,
    /// Deprecated: leave the chart's CRDs out (use `crds: Skip`).
    #[serde(default, rename = "skipCRDs")]
    pub skip_crds: bool,
    /// The chart's CRDs on install: `Skip`, `Create` (the default: create
    /// the missing ones, never update an existing one) or `CreateReplace`
    /// (create and update them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crds: Option<String>,
    /// Create the target namespace when it does not exist.
    #[serde(default)]
    pub create_namespace: bool,
}

/// The observed state of a HelmRelease.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleaseStatus {
    /// The last generation of the spec the controller acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Reconciling`, `Stalled`, `Released` with Flux's reasons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// `<namespace>/<namespace>-<name>`: the HelmChart Flux would create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm_chart: Option<String>,
    /// The namespace release Secrets would be stored in (none is written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_namespace: Option<String>,
    /// The chart version of the last attempt (for a chart from Git, its
    /// `Chart.yaml` version and the commit: `<version>+<sha12>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    /// The chart version last applied successfully.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<String>,
    /// The digest of the values of the last attempt (`sha256:<hex>`; never the values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_config_digest: Option<String>,
    /// The generation of the last attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_generation: Option<i64>,
    /// `install` or `upgrade`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_release_action: Option<String>,
    /// Failures in a row since the last success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<i64>,
    /// The objects applied by the last successful reconcile (as a
    /// Kustomization's; pruning is limited to them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<ResourceInventory>,
    /// The last `reconcile.fluxcd.io/requestedAt` annotation value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// Flux's default timeout of Helm actions.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

impl HelmReleaseSpec {
    /// How often to reconcile (`spec.interval`).
    pub fn interval_duration(&self) -> Result<Duration, InvalidDuration> {
        parse_field("interval", &self.interval)
    }

    /// The time limit for becoming healthy: `spec.timeout`, else 5m.
    pub fn timeout_duration(&self) -> Result<Duration, InvalidDuration> {
        self.timeout
            .as_deref()
            .map_or(Ok(DEFAULT_TIMEOUT), |text| parse_field("timeout", text))
    }

    /// Whether the chart's `crds/` are left out (`install.crds: Skip` or
    /// the deprecated `install.skipCRDs`).
    pub fn skip_crds(&self) -> bool {
        self.install
            .as_ref()
            .is_some_and(|i| i.skip_crds || i.crds.as_deref() == Some(super::crds_policy::SKIP))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_flux_helmrelease_deserializes() {
        let spec: HelmReleaseSpec = serde_json::from_value(json!({
            "interval": "10m", "releaseName": "web", "targetNamespace": "apps",
            "chart": {"spec": {"chart": "web", "version": "^1.0",
                "sourceRef": {"kind": "HelmRepository", "name": "charts"}, "interval": "5m"}},
            "install": {"crds": "Skip", "createNamespace": true, "remediation": {"retries": 3}},
            "upgrade": {"remediation": {"retries": 3}},
            "valuesFrom": [{"kind": "Secret", "name": "s", "valuesKey": "v", "targetPath": "a.b", "optional": true}],
            "values": {"replicas": 2}
        }))
        .unwrap();
        assert!(spec.skip_crds());
        assert_eq!(spec.interval_duration(), Ok(Duration::from_secs(600)));
        assert_eq!(spec.timeout_duration(), Ok(DEFAULT_TIMEOUT));
        assert_eq!(spec.values_from[0].target_path.as_deref(), Some("a.b"));
        let chart = spec.chart.unwrap().spec;
        assert_eq!(chart.version.as_deref(), Some("^1.0"));
        assert_eq!(chart.source_ref.kind, "HelmRepository");
    }
}
