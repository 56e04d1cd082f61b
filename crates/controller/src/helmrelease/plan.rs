//! A HelmRelease's spec as the engine's plan (pure): owner identity and
//! tracking name, release name and namespace, the chart and its source,
//! the sync target and the timings. Nothing here talks to the cluster.

use std::time::Duration;

use driftless_api::flux::helm::v2::HelmRelease;
use driftless_api::flux::helm::{self, default_release_name};
use driftless_api::flux::source::helm::HELM_REPOSITORY_KIND;
use driftless_api::flux::unsupported::helm_release_unsupported;
use driftless_sync::{SyncOptions, Target};
use kube::ResourceExt;

use super::crds::CrdPolicies;
use crate::kustomization::plan::{PlanError, SourceRef};

/// Where the chart comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChartFrom {
    /// A chart repository or OCI registry (a HelmRepository): the chart
    /// name and the version or range.
    Repository {
        /// The chart name.
        chart: String,
        /// A version or semver range (`*` when unset).
        version: String,
    },
    /// A chart directory of a GitRepository's artifact.
    Git {
        /// The directory, relative to the repository root.
        path: String,
    },
}

/// What one HelmRelease asks for.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Written into tracking ids (see [`tracking_name`]).
    pub tracking_name: String,
    /// The release name (`.Release.Name`).
    pub release_name: String,
    /// The namespace rendered into (`.Release.Namespace`) and applied to.
    pub namespace: String,
    /// The HelmRepository or GitRepository.
    pub source: SourceRef,
    /// The chart in it.
    pub chart: ChartFrom,
    /// `chart.spec.valuesFiles`.
    pub values_files: Vec<String>,
    /// `chart.spec.ignoreMissingValuesFiles`.
    pub ignore_missing_values_files: bool,
    /// `install.crds` and `upgrade.crds`.
    pub crds: CrdPolicies,
    /// `install.createNamespace`.
    pub create_namespace: bool,
    /// Wait for every applied object to be healthy (not `install.disableWait`).
    pub wait: bool,
    /// `spec.interval`.
    pub interval: Duration,
    /// `spec.timeout` (5m when unset).
    pub timeout: Duration,
    /// Flux's owner labels, set on every applied object.
    pub labels: Vec<(String, String)>,
}

/// The tracking name of the HelmRelease `namespace/name` (it never
/// collides with an Application's or a Kustomization's).
pub fn tracking_name(namespace: &str, name: &str) -> String {
    format!(
        "{}{namespace}_{name}",
        driftless_sync::tracking::HELMRELEASE_PREFIX
    )
}

/// Plans `hr`: refuses unsupported fields and malformed durations.
pub fn plan(hr: &HelmRelease) -> Result<Plan, PlanError> {
    let spec = &hr.spec;
    let unsupported = helm_release_unsupported(spec);
    let Some(chart) = spec.chart.as_ref().filter(|_| unsupported.is_empty()) else {
        return Err(PlanError::Unsupported(unsupported));
    };
    let ns = hr.namespace().unwrap_or_default();
    let name = hr.name_any();
    let target = spec.target_namespace.clone().filter(|n| !n.is_empty());
    let release_name = spec
        .release_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| default_release_name(target.as_deref(), &name));
    let source_ref = &chart.spec.source_ref;
    let from = if source_ref.kind == HELM_REPOSITORY_KIND {
        ChartFrom::Repository {
            chart: chart.spec.chart.clone(),
            version: chart
                .spec
                .version
                .clone()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| "*".into()),
        }
    } else {
        ChartFrom::Git {
            path: git_path(&chart.spec.chart),
        }
    };
    let install = spec.install.clone().unwrap_or_default();
    Ok(Plan {
        tracking_name: tracking_name(&ns, &name),
        release_name,
        source: SourceRef {
            kind: source_ref.kind.clone(),
            namespace: source_ref
                .namespace
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| ns.clone()),
            name: source_ref.name.clone(),
        },
        chart: from,
        values_files: chart.spec.values_files.clone(),
        ignore_missing_values_files: chart.spec.ignore_missing_values_files,
        crds: CrdPolicies::of(spec.install.as_ref(), spec.upgrade.as_ref())
            .map_err(PlanError::Invalid)?,
        create_namespace: install.create_namespace,
        wait: !install.disable_wait,
        interval: spec.interval_duration()?,
        timeout: spec.timeout_duration()?,
        labels: vec![
            (helm::NAME_LABEL.to_string(), name),
            (helm::NAMESPACE_LABEL.to_string(), ns.clone()),
        ],
        namespace: target.unwrap_or(ns),
    })
}

/// A chart path of a GitRepository as a tree path: `./charts/web/` → `charts/web`.
fn git_path(chart: &str) -> String {
    let trimmed = chart.trim().trim_start_matches("./").trim_matches('/');
    if trimmed == "." {
        String::new()
    } else {
        trimmed.to_string()
    }
}

impl Plan {
    /// The engine's sync target: prune what the inventory lists and is no
    /// longer rendered, never take over another owner's object.
    pub fn target(&self, previous: Vec<driftless_api::ResourceStatus>) -> Target {
        Target {
            app: self.tracking_name.clone(),
            namespace: Some(self.namespace.clone()),
            options: SyncOptions {
                fail_on_shared_resource: Some(true),
                ..Default::default()
            },
            prune: true,
            previous,
            ..Default::default()
        }
    }

    /// The chart as messages name it: `web@^1.2 from HelmRepository/ns/charts`.
    pub fn chart_label(&self) -> String {
        match &self.chart {
            ChartFrom::Repository { chart, version } => {
                format!("chart {chart}@{version} from {}", self.source)
            }
            ChartFrom::Git { path } => format!("chart {path:?} of {}", self.source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helmrelease::crds::CrdPolicy;
    use serde_json::json;

    fn hr(spec: serde_json::Value) -> HelmRelease {
        let mut h = HelmRelease::new("web", serde_json::from_value(spec).unwrap());
        h.metadata.namespace = Some("flux-system".into());
        h
    }

    #[test]
    fn release_name_namespace_and_chart_as_flux() {
        let p = plan(&hr(json!({
            "interval": "5m", "targetNamespace": "apps",
            "chart": {"spec": {"chart": "web", "sourceRef": {"kind": "HelmRepository", "name": "charts"}}},
            "install": {"crds": "Skip", "createNamespace": true}
        })))
        .unwrap();
        assert_eq!(p.release_name, "apps-web");
        assert_eq!(p.namespace, "apps");
        assert_eq!(p.tracking_name, "helmrelease_flux-system_web");
        assert_eq!(
            p.chart,
            ChartFrom::Repository {
                chart: "web".into(),
                version: "*".into()
            }
        );
        assert_eq!(p.source.to_string(), "HelmRepository/flux-system/charts");
        assert_eq!(p.crds.install, CrdPolicy::Skip);
        assert!(p.create_namespace && p.wait);
        assert_eq!(p.timeout, Duration::from_secs(300));
    }

    #[test]
    fn git_charts_and_explicit_names() {
        let p = plan(&hr(json!({
            "interval": "5m", "releaseName": "site", "install": {"disableWait": true},
            "chart": {"spec": {"chart": "./charts/web/", "version": "1.0.0",
                "sourceRef": {"kind": "GitRepository", "name": "repo", "namespace": "src"}}}
        })))
        .unwrap();
        assert_eq!(p.release_name, "site");
        assert_eq!(p.namespace, "flux-system");
        assert_eq!(
            p.chart,
            ChartFrom::Git {
                path: "charts/web".into()
            }
        );
        assert_eq!(p.source.namespace, "src");
        assert!(!p.wait);
    }

    #[test]
    fn unsupported_and_bad_durations_are_refused() {
        let e = plan(&hr(
            json!({"interval": "5m", "chartRef": {"kind": "OCIRepository", "name": "o"}}),
        ))
        .unwrap_err();
        assert!(e.to_string().contains("spec.chartRef"), "{e}");
        let e = plan(&hr(json!({"interval": "often",
            "chart": {"spec": {"chart": "web", "sourceRef": {"kind": "HelmRepository", "name": "c"}}}})))
        .unwrap_err();
        assert!(e.to_string().contains("interval"), "{e}");
    }
}
