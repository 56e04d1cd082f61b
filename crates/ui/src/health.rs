//! The controller's own health panel, read from its Prometheus exposition
//! (so this crate needs nothing of the controller's internals).

use std::collections::BTreeMap;

use driftless_api::Application;
use serde::Serialize;
use serde_json::Value;

/// The numbers the panel shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Health {
    /// Reconciles by result (`ok`, `error`).
    pub(crate) reconciles: BTreeMap<String, f64>,
    /// Syncs by result.
    pub(crate) syncs: BTreeMap<String, f64>,
    /// Webhook requests by result.
    pub(crate) webhooks: BTreeMap<String, f64>,
    /// How many Git fetches, and their mean duration in seconds.
    pub(crate) git_fetches: f64,
    pub(crate) git_fetch_mean_seconds: Option<f64>,
    /// How many reconciles were timed, and their mean duration in seconds.
    pub(crate) reconcile_mean_seconds: Option<f64>,
    /// Reconciles running now, all controllers together (`None` from a
    /// controller without the gauge).
    pub(crate) reconciles_in_flight: Option<f64>,
    /// Per controller (`Application`, `Kustomization`, ...): its queue and
    /// reconciles in flight.
    pub(crate) controllers: BTreeMap<String, ControllerLoad>,
}

/// One controller's work: objects whose reconcile is due and has not
/// started (a requeue counts once its delay has passed), and reconciles
/// running now.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ControllerLoad {
    /// `driftless_reconcile_queue_depth{controller}`.
    pub(crate) queued: f64,
    /// `driftless_reconciles_in_flight{controller}`.
    pub(crate) in_flight: f64,
}

/// One sample line `name{labels} value` (comments and blank lines give `None`).
fn sample(line: &str) -> Option<(&str, Option<&str>, f64)> {
    if line.starts_with('#') || line.trim().is_empty() {
        return None;
    }
    let (head, value) = line.rsplit_once(' ')?;
    let value: f64 = value.parse().ok()?;
    match head.split_once('{') {
        Some((name, labels)) => Some((name, Some(labels.trim_end_matches('}')), value)),
        None => Some((head, None, value)),
    }
}

/// The value of label `key` in `a="x",b="y"`.
fn label<'a>(labels: &'a str, key: &str) -> Option<&'a str> {
    labels.split(',').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"'))
    })
}

/// The panel from the text exposition.
pub(crate) fn parse(exposition: &str) -> Health {
    let mut health = Health::default();
    let mut sums: BTreeMap<&str, f64> = BTreeMap::new();
    let mut counts: BTreeMap<&str, f64> = BTreeMap::new();
    for (name, labels, value) in exposition.lines().filter_map(sample) {
        let result = labels
            .and_then(|l| label(l, "result"))
            .unwrap_or("")
            .to_string();
        match name {
            "driftless_reconciles_total" => _ = health.reconciles.insert(result, value),
            "driftless_syncs_total" => _ = health.syncs.insert(result, value),
            "driftless_webhook_requests_total" => _ = health.webhooks.insert(result, value),
            "driftless_reconciles_in_flight" => {
                let total = health.reconciles_in_flight.unwrap_or(0.0) + value;
                health.reconciles_in_flight = Some(total);
                if let Some(c) = labels.and_then(|l| label(l, "controller")) {
                    health.controllers.entry(c.into()).or_default().in_flight = value;
                }
            }
            "driftless_reconcile_queue_depth" => {
                if let Some(c) = labels.and_then(|l| label(l, "controller")) {
                    health.controllers.entry(c.into()).or_default().queued = value;
                }
            }
            _ => {
                if let Some(base) = name.strip_suffix("_sum") {
                    sums.insert(base, value);
                } else if let Some(base) = name.strip_suffix("_count") {
                    counts.insert(base, value);
                }
            }
        }
    }
    let mean = |base: &str| {
        let count = *counts.get(base)?;
        (count > 0.0).then(|| sums.get(base).copied().unwrap_or(0.0) / count)
    };
    health.git_fetches = counts
        .get("driftless_git_fetch_duration_seconds")
        .copied()
        .unwrap_or(0.0);
    health.git_fetch_mean_seconds = mean("driftless_git_fetch_duration_seconds");
    health.reconcile_mean_seconds = mean("driftless_reconcile_duration_seconds");
    health
}

/// One error the controller reported on an object it reconciles.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct LastError {
    /// `Application ns/name` or `Kustomization ns/name`.
    pub(crate) object: String,
    /// The condition type (`ComparisonError`, `SyncError`, ... or Flux's Ready reason).
    #[serde(rename = "type")]
    pub(crate) type_: String,
    /// The condition's message.
    pub(crate) message: String,
    /// When it was first seen (RFC 3339), when known.
    pub(crate) time: Option<String>,
}

/// How many errors the panel lists.
const LAST_ERRORS: usize = 10;

/// The newest error conditions of `apps` (types ending in `Error`) and the
/// Flux objects (`flux`: Kustomizations and HelmReleases, as JSON, named by
/// their `kind`) that are not Ready, newest first, at most [`LAST_ERRORS`].
pub(crate) fn last_errors(apps: &[&Application], flux: &[Value]) -> Vec<LastError> {
    let mut errors: Vec<LastError> = Vec::new();
    for app in apps {
        let object = format!(
            "Application {}/{}",
            app.metadata.namespace.as_deref().unwrap_or_default(),
            app.metadata.name.as_deref().unwrap_or_default()
        );
        let conditions = app.status.as_ref().map(|s| s.conditions.as_slice());
        for c in conditions.unwrap_or_default() {
            if c.type_.ends_with("Error") {
                errors.push(LastError {
                    object: object.clone(),
                    type_: c.type_.clone(),
                    message: c.message.clone(),
                    time: c.last_transition_time.as_ref().map(|t| t.0.to_string()),
                });
            }
        }
    }
    for k in flux {
        let ready = k.pointer("/status/conditions").and_then(Value::as_array);
        let ready = ready.and_then(|c| c.iter().find(|c| c["type"] == "Ready"));
        let Some(ready) = ready.filter(|c| c["status"] == "False") else {
            continue;
        };
        let text = |field: &str| ready[field].as_str().unwrap_or_default().to_string();
        errors.push(LastError {
            object: format!(
                "{} {}/{}",
                k["kind"].as_str().unwrap_or("Kustomization"),
                k.pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                k.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            ),
            type_: text("reason"),
            message: text("message"),
            time: Some(text("lastTransitionTime")).filter(|t| !t.is_empty()),
        });
    }
    // RFC 3339 times in UTC sort as text; unknown times last.
    errors.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| a.object.cmp(&b.object)));
    errors.truncate(LAST_ERRORS);
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_errors_newest_first_from_both_apis() {
        let app: Application = serde_json::from_value(serde_json::json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "web", "namespace": "argocd"},
            "spec": {"project": "default", "destination": {}},
            "status": {"conditions": [
                {"type": "ComparisonError", "message": "rendering apps at abc: bad", "lastTransitionTime": "2026-01-01T00:00:00Z"},
                {"type": "SharedResourceWarning", "message": "not an error", "lastTransitionTime": "2026-01-03T00:00:00Z"}
            ]}
        }))
        .expect("an Application");
        let ks = serde_json::json!({"metadata": {"name": "apps", "namespace": "flux-system"},
            "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "BuildFailed",
                                        "message": "kustomization.yaml: bad", "lastTransitionTime": "2026-01-02T00:00:00Z"}]}});
        let hr = serde_json::json!({"kind": "HelmRelease", "metadata": {"name": "podinfo", "namespace": "apps"},
            "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "InstallFailed",
                                        "message": "chart not found"}]}});
        let fine = serde_json::json!({"metadata": {"name": "ok", "namespace": "flux-system"},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded", "message": "Applied"}]}});
        let errors = last_errors(&[&app], &[ks, fine, hr]);
        let objects: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.object.as_str(), e.type_.as_str()))
            .collect();
        assert_eq!(
            objects,
            [
                ("Kustomization flux-system/apps", "BuildFailed"),
                ("Application argocd/web", "ComparisonError"),
                ("HelmRelease apps/podinfo", "InstallFailed")
            ]
        );
        assert_eq!(errors[1].message, "rendering apps at abc: bad");
    }

    #[test]
    fn reads_counters_and_means() {
        let text = "\
# HELP driftless_reconciles Application reconciles by result
# TYPE driftless_reconciles counter
driftless_reconciles_total{result=\"ok\"} 7
driftless_reconciles_total{result=\"error\"} 2
driftless_syncs_total{result=\"succeeded\"} 3
driftless_git_fetch_duration_seconds_sum 1.5
driftless_git_fetch_duration_seconds_count 3
driftless_git_fetch_duration_seconds_bucket{le=\"0.005\"} 0
driftless_reconcile_duration_seconds_sum 0.0
driftless_reconcile_duration_seconds_count 0
driftless_reconciles_in_flight{controller=\"Application\"} 2
driftless_reconciles_in_flight{controller=\"Kustomization\"} 1
driftless_reconcile_queue_depth{controller=\"Application\"} 5
driftless_reconcile_queue_depth{controller=\"Kustomization\"} 0
# EOF
";
        let h = parse(text);
        assert_eq!(h.reconciles["ok"], 7.0);
        assert_eq!(h.reconciles["error"], 2.0);
        assert_eq!(h.syncs["succeeded"], 3.0);
        assert_eq!(h.git_fetches, 3.0);
        assert_eq!(h.git_fetch_mean_seconds, Some(0.5));
        assert_eq!(h.reconcile_mean_seconds, None);
        assert_eq!(h.reconciles_in_flight, Some(3.0));
        let load = |queued, in_flight| ControllerLoad { queued, in_flight };
        assert_eq!(
            h.controllers,
            BTreeMap::from([
                ("Application".to_string(), load(5.0, 2.0)),
                ("Kustomization".to_string(), load(0.0, 1.0)),
            ])
        );
    }

    #[test]
    fn an_unlabeled_in_flight_gauge_still_reads() {
        let h = parse("driftless_reconciles_in_flight 4\n");
        assert_eq!(h.reconciles_in_flight, Some(4.0));
        assert!(h.controllers.is_empty());
    }
}
