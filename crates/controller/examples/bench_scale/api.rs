//! The API server's request counts (`apiserver_request_total`, all clients:
//! the controller, and also kube-controller-manager and the benchmark), to
//! see what the time to Synced is spent on.

use std::collections::BTreeMap;

use driftless_testkit::cluster::ControlPlane;

/// Requests served so far, by (verb, resource[/subresource]).
pub type Counts = BTreeMap<(String, String), f64>;

/// The value of `label` in a Prometheus sample line.
fn label<'a>(line: &'a str, label: &str) -> &'a str {
    let key = format!("{label}=\"");
    line.find(&key)
        .map(|i| &line[i + key.len()..])
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("")
}

/// A snapshot of the API server's request counters.
pub fn snapshot(cp: &ControlPlane) -> Counts {
    let metrics = cp
        .kubectl(&["get", "--raw", "/metrics"])
        .unwrap_or_default();
    let mut counts = Counts::new();
    for line in metrics
        .lines()
        .filter(|l| l.starts_with("apiserver_request_total{"))
    {
        let Some(value) = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) else {
            continue;
        };
        let mut resource = label(line, "resource").to_string();
        let sub = label(line, "subresource");
        if !sub.is_empty() {
            resource = format!("{resource}/{sub}");
        }
        let verb = label(line, "verb");
        let verb = if label(line, "dry_run").is_empty() {
            verb.to_string()
        } else {
            format!("{verb}(dry-run)")
        };
        *counts.entry((verb, resource)).or_default() += value;
    }
    counts
}

/// `after - before`, largest first, as `N VERB resource` (at most `top`).
pub fn describe(before: &Counts, after: &Counts, top: usize) -> String {
    let mut diff: Vec<(f64, &(String, String))> = after
        .iter()
        .map(|(k, v)| (v - before.get(k).copied().unwrap_or(0.0), k))
        .filter(|(d, _)| *d > 0.0)
        .collect();
    diff.sort_by(|a, b| b.0.total_cmp(&a.0));
    let total: f64 = diff.iter().map(|(d, _)| d).sum();
    let parts: Vec<String> = diff
        .iter()
        .take(top)
        .map(|(d, (verb, resource))| format!("{d:.0} {verb} {resource}"))
        .collect();
    format!("{total:.0} ({})", parts.join(", "))
}

/// Writes (create, update, patch, apply, delete; not dry-runs) served
/// between `before` and `after` to the objects themselves (no subresource)
/// of `resources`.
pub fn writes_to(before: &Counts, after: &Counts, resources: &[&str]) -> f64 {
    const WRITE_VERBS: [&str; 6] = [
        "POST",
        "PUT",
        "PATCH",
        "APPLY",
        "DELETE",
        "DELETECOLLECTION",
    ];
    after
        .iter()
        .filter(|((verb, resource), _)| {
            WRITE_VERBS.contains(&verb.as_str()) && resources.contains(&resource.as_str())
        })
        .map(|(k, v)| v - before.get(k).copied().unwrap_or(0.0))
        .sum()
}
