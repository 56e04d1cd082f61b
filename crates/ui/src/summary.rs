//! The overview's rows, built from the objects alone (pure): one per
//! Application, Kustomization and HelmRelease, and the counts per state.

use std::collections::BTreeMap;

use driftless_api::{Application, HealthStatusCode, SyncStatusCode};
use kube::ResourceExt;
use kube::api::DynamicObject;
use serde::Serialize;
use serde_json::Value;

/// One Application in the overview.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AppSummary {
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) project: String,
    /// Synced, OutOfSync or Unknown.
    pub(crate) sync: String,
    /// Healthy, Progressing, Degraded, Missing, ... (Unknown before the first reconcile).
    pub(crate) health: String,
    /// The revision last compared with (a commit SHA).
    pub(crate) revision: Option<String>,
    pub(crate) repo_url: Option<String>,
    pub(crate) path: Option<String>,
    pub(crate) target_revision: Option<String>,
    /// When the last sync finished (or the last deploy, from history).
    pub(crate) last_sync: Option<String>,
    /// The current (or last) operation's phase: Running, Succeeded, Failed, ...
    pub(crate) operation: Option<String>,
    /// The most severe condition's message (blank when all is well).
    pub(crate) message: Option<String>,
    /// Whether the caller may patch it (Sync and Refresh buttons).
    pub(crate) can_patch: bool,
}

fn text<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        _ => "Unknown".into(),
    }
}

impl AppSummary {
    /// The row of `app`.
    pub(crate) fn of(app: &Application) -> AppSummary {
        let status = app.status.clone().unwrap_or_default();
        let spec = &app.spec.spec;
        let source = spec.source.as_ref().or(spec.sources.first());
        let operation = status.operation_state.as_ref();
        let last_sync = operation
            .and_then(|o| o.finished_at.as_ref())
            .or_else(|| status.history.last().and_then(|h| h.deployed_at.as_ref()))
            .map(|t| t.0.to_string());
        AppSummary {
            namespace: app.namespace().unwrap_or_default(),
            name: app.name_any(),
            project: spec.project.clone(),
            sync: text(
                &status
                    .sync
                    .as_ref()
                    .map_or(SyncStatusCode::Unknown, |s| s.status),
            ),
            health: text(
                &status
                    .health
                    .as_ref()
                    .map_or(HealthStatusCode::Unknown, |h| h.status),
            ),
            revision: status.sync.as_ref().and_then(|s| s.revision.clone()),
            repo_url: source.map(|s| s.repo_url.clone()),
            path: source.and_then(|s| s.path.clone()),
            target_revision: source.and_then(|s| s.target_revision.clone()),
            last_sync,
            operation: operation.map(|o| text(&o.phase)),
            message: status.conditions.first().map(|c| c.message.clone()),
            can_patch: false,
        }
    }
}

/// One Flux Kustomization in the overview.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KustomizationSummary {
    pub(crate) namespace: String,
    pub(crate) name: String,
    /// The Ready condition's status: True, False or Unknown.
    pub(crate) ready: String,
    /// The Ready condition's reason.
    pub(crate) reason: Option<String>,
    /// The Ready condition's message.
    pub(crate) message: Option<String>,
    /// `status.lastAppliedRevision`.
    pub(crate) revision: Option<String>,
    /// `<kind>/<namespace>/<name>` of the source.
    pub(crate) source: Option<String>,
    pub(crate) path: Option<String>,
    /// `<namespace>/<name>` of each dependency.
    pub(crate) depends_on: Vec<String>,
    pub(crate) suspended: bool,
}

/// The Ready condition of a Flux object: (status, reason, message).
pub(crate) fn ready_condition(object: &Value) -> (String, Option<String>, Option<String>) {
    let ready = object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|c| {
            c.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
        });
    let field = |name: &str| {
        ready
            .and_then(|c| c.get(name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    (
        field("status").unwrap_or_else(|| "Unknown".into()),
        field("reason"),
        field("message"),
    )
}

/// `spec.dependsOn` as `<namespace>/<name>` (a dependency without a
/// namespace is in the Kustomization's own).
pub(crate) fn depends_on(object: &Value, own_namespace: &str) -> Vec<String> {
    object
        .pointer("/spec/dependsOn")
        .and_then(Value::as_array)
        .map(|deps| {
            deps.iter()
                .filter_map(|d| {
                    let name = d.get("name")?.as_str()?;
                    let ns = d
                        .get("namespace")
                        .and_then(Value::as_str)
                        .unwrap_or(own_namespace);
                    Some(format!("{ns}/{name}"))
                })
                .collect()
        })
        .unwrap_or_default()
}

impl KustomizationSummary {
    /// The row of `object`.
    pub(crate) fn of(object: &DynamicObject) -> KustomizationSummary {
        let namespace = object.namespace().unwrap_or_default();
        let value = serde_json::to_value(object).unwrap_or(Value::Null);
        let (ready, reason, message) = ready_condition(&value);
        let str_at = |p: &str| value.pointer(p).and_then(Value::as_str).map(str::to_string);
        let source = str_at("/spec/sourceRef/name").map(|name| {
            let kind = str_at("/spec/sourceRef/kind").unwrap_or_default();
            let ns = str_at("/spec/sourceRef/namespace").unwrap_or_else(|| namespace.clone());
            format!("{kind}/{ns}/{name}")
        });
        KustomizationSummary {
            depends_on: depends_on(&value, &namespace),
            name: object.name_any(),
            namespace,
            ready,
            reason,
            message,
            revision: str_at("/status/lastAppliedRevision"),
            source,
            path: str_at("/spec/path"),
            suspended: value.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true),
        }
    }
}

/// One Flux HelmRelease in the overview.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HelmReleaseSummary {
    pub(crate) namespace: String,
    pub(crate) name: String,
    /// The Ready condition's status: True, False or Unknown.
    pub(crate) ready: String,
    /// The Ready condition's reason.
    pub(crate) reason: Option<String>,
    /// The Ready condition's message.
    pub(crate) message: Option<String>,
    /// `<chart>@<version>` from `spec.chart.spec` (the version when set),
    /// or `<kind>/<name>` of `spec.chartRef`.
    pub(crate) chart: Option<String>,
    /// `<kind>/<namespace>/<name>` of the chart's source.
    pub(crate) source: Option<String>,
    /// `status.lastAttemptedRevision` (the chart version last tried).
    pub(crate) revision: Option<String>,
    /// `<namespace>/<name>` of each dependency.
    pub(crate) depends_on: Vec<String>,
    pub(crate) suspended: bool,
}

impl HelmReleaseSummary {
    /// The row of `object`.
    pub(crate) fn of(object: &DynamicObject) -> HelmReleaseSummary {
        let namespace = object.namespace().unwrap_or_default();
        let value = serde_json::to_value(object).unwrap_or(Value::Null);
        let (ready, reason, message) = ready_condition(&value);
        let str_at = |p: &str| value.pointer(p).and_then(Value::as_str).map(str::to_string);
        let reference = |at: &str| {
            let name = str_at(&format!("{at}/name"))?;
            let kind = str_at(&format!("{at}/kind")).unwrap_or_default();
            let ns = str_at(&format!("{at}/namespace")).unwrap_or_else(|| namespace.clone());
            Some(format!("{kind}/{ns}/{name}"))
        };
        let chart = str_at("/spec/chart/spec/chart")
            .map(|chart| match str_at("/spec/chart/spec/version") {
                Some(version) => format!("{chart}@{version}"),
                None => chart,
            })
            .or_else(|| reference("/spec/chartRef"));
        HelmReleaseSummary {
            depends_on: depends_on(&value, &namespace),
            name: object.name_any(),
            source: reference("/spec/chart/spec/sourceRef"),
            namespace,
            ready,
            reason,
            message,
            chart,
            revision: str_at("/status/lastAttemptedRevision"),
            suspended: value.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true),
        }
    }
}

/// Everything the overview shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Overview {
    pub(crate) applications: Vec<AppSummary>,
    pub(crate) kustomizations: Vec<KustomizationSummary>,
    pub(crate) helm_releases: Vec<HelmReleaseSummary>,
    /// Applications per sync status, per health status, Kustomizations per
    /// Ready (`ready`), HelmReleases per Ready (`helmReady`).
    pub(crate) counts: BTreeMap<String, BTreeMap<String, usize>>,
    /// Whether the Sync and Refresh buttons are enabled on this server.
    pub(crate) actions: bool,
}

impl Overview {
    /// The overview of these rows (sorted by namespace and name), with counts.
    pub(crate) fn new(
        mut applications: Vec<AppSummary>,
        mut kustomizations: Vec<KustomizationSummary>,
        mut helm_releases: Vec<HelmReleaseSummary>,
        actions: bool,
    ) -> Overview {
        applications.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        kustomizations.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        helm_releases.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        let mut counts: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        let mut bump = |group: &str, key: &str| {
            *counts
                .entry(group.into())
                .or_default()
                .entry(key.into())
                .or_default() += 1;
        };
        for app in &applications {
            bump("sync", &app.sync);
            bump("health", &app.health);
        }
        for k in &kustomizations {
            bump("ready", &k.ready);
        }
        for h in &helm_releases {
            bump("helmReady", &h.ready);
        }
        Overview {
            applications,
            kustomizations,
            helm_releases,
            counts,
            actions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn app(name: &str, sync: &str, health: &str) -> AppSummary {
        let object: Application = serde_json::from_value(json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": name, "namespace": "argocd"},
            "spec": {"project": "default",
                     "source": {"repoURL": "https://git.example/r.git", "path": "apps/web", "targetRevision": "main"},
                     "destination": {"namespace": "web"}},
            "status": {"sync": {"status": sync, "revision": "0123456789abcdef"},
                       "health": {"status": health},
                       "conditions": [{"type": "ComparisonError", "message": "boom"}]}
        }))
        .expect("an Application");
        AppSummary::of(&object)
    }

    #[test]
    fn application_row_reads_status() {
        let row = app("web", "OutOfSync", "Degraded");
        assert_eq!(row.sync, "OutOfSync");
        assert_eq!(row.health, "Degraded");
        assert_eq!(row.revision.as_deref(), Some("0123456789abcdef"));
        assert_eq!(row.path.as_deref(), Some("apps/web"));
        assert_eq!(row.message.as_deref(), Some("boom"));
        assert!(!row.can_patch);
    }

    #[test]
    fn overview_sorts_and_counts() {
        let o = Overview::new(
            vec![
                app("b", "Synced", "Healthy"),
                app("a", "OutOfSync", "Healthy"),
            ],
            vec![],
            vec![],
            false,
        );
        assert_eq!(o.applications[0].name, "a");
        assert_eq!(o.counts["sync"]["Synced"], 1);
        assert_eq!(o.counts["sync"]["OutOfSync"], 1);
        assert_eq!(o.counts["health"]["Healthy"], 2);
    }

    #[test]
    fn kustomization_row_reads_ready_and_dependencies() {
        let object: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "apps", "namespace": "flux-system"},
            "spec": {"path": "./apps", "sourceRef": {"kind": "GitRepository", "name": "repo"},
                     "dependsOn": [{"name": "infra"}, {"name": "crds", "namespace": "base"}]},
            "status": {"lastAppliedRevision": "main@sha1:abc",
                       "conditions": [{"type": "Reconciling", "status": "True"},
                                      {"type": "Ready", "status": "False", "reason": "BuildFailed", "message": "bad"}]}
        }))
        .expect("a Kustomization");
        let row = KustomizationSummary::of(&object);
        assert_eq!(row.ready, "False");
        assert_eq!(row.reason.as_deref(), Some("BuildFailed"));
        assert_eq!(
            row.source.as_deref(),
            Some("GitRepository/flux-system/repo")
        );
        assert_eq!(row.depends_on, vec!["flux-system/infra", "base/crds"]);
        assert_eq!(row.revision.as_deref(), Some("main@sha1:abc"));
    }

    #[test]
    fn helm_release_row_reads_chart_source_and_ready() {
        let object: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "podinfo", "namespace": "apps"},
            "spec": {"chart": {"spec": {"chart": "podinfo", "version": "6.5.0",
                                        "sourceRef": {"kind": "HelmRepository", "name": "charts", "namespace": "flux-system"}}},
                     "dependsOn": [{"name": "infra"}]},
            "status": {"lastAttemptedRevision": "6.5.0",
                       "conditions": [{"type": "Ready", "status": "True", "reason": "InstallSucceeded", "message": "installed"}]}
        }))
        .expect("a HelmRelease");
        let row = HelmReleaseSummary::of(&object);
        assert_eq!(row.ready, "True");
        assert_eq!(row.chart.as_deref(), Some("podinfo@6.5.0"));
        assert_eq!(
            row.source.as_deref(),
            Some("HelmRepository/flux-system/charts")
        );
        assert_eq!(row.depends_on, vec!["apps/infra"]);
        assert_eq!(row.revision.as_deref(), Some("6.5.0"));
        let by_ref: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "web", "namespace": "apps"},
            "spec": {"chartRef": {"kind": "OCIRepository", "name": "web-chart"}}
        }))
        .expect("a HelmRelease");
        let row = HelmReleaseSummary::of(&by_ref);
        assert_eq!(row.chart.as_deref(), Some("OCIRepository/apps/web-chart"));
        assert_eq!((row.ready.as_str(), row.source), ("Unknown", None));
    }
}
