//! Reading Prometheus text: a process's own `/metrics` and the API
//! server's request counters (`apiserver_request_total`, every client), for
//! the benchmarks that count what a run cost.

use std::collections::BTreeMap;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::cluster::ControlPlane;

/// API server requests served so far, by (verb, resource[/subresource]);
/// dry-runs count under `VERB(dry-run)`.
pub type Counts = BTreeMap<(String, String), f64>;

/// Verbs that write.
const WRITE_VERBS: [&str; 6] = [
    "POST",
    "PUT",
    "PATCH",
    "APPLY",
    "DELETE",
    "DELETECOLLECTION",
];

/// The value of `label` in a Prometheus sample line (empty when absent).
fn label<'a>(line: &'a str, label: &str) -> &'a str {
    let key = format!("{label}=\"");
    line.find(&key)
        .map(|i| &line[i + key.len()..])
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("")
}

/// The sum of the samples of metric `name` in Prometheus text `body` whose
/// label set contains `label_filter` (empty: all samples).
pub fn sum_metric(body: &str, name: &str, label_filter: &str) -> f64 {
    body.lines()
        .filter_map(|l| l.strip_prefix(name))
        .filter(|rest| rest.starts_with([' ', '{']) && rest.contains(label_filter))
        .filter_map(|rest| rest.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Parses the `apiserver_request_total` samples of a `/metrics` text.
pub fn request_counts(metrics: &str) -> Counts {
    by_request(metrics, "apiserver_request_total{")
}

/// Parses the `apiserver_request_duration_seconds_sum` samples of a
/// `/metrics` text: seconds the API server spent serving each kind of
/// request (wall time in its handlers, waits included), long-running
/// requests (watches) left out.
pub fn request_seconds(metrics: &str) -> Counts {
    let mut seconds = by_request(metrics, "apiserver_request_duration_seconds_sum{");
    seconds.retain(|(verb, _), _| verb != "WATCH");
    seconds
}

/// The samples of the family whose lines start with `prefix`, summed by
/// (verb, resource[/subresource]).
fn by_request(metrics: &str, prefix: &str) -> Counts {
    let mut counts = Counts::new();
    for line in metrics.lines().filter(|l| l.starts_with(prefix)) {
        let Some(value) = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) else {
            continue;
        };
        let mut resource = label(line, "resource").to_string();
        let sub = label(line, "subresource");
        if !sub.is_empty() {
            resource = format!("{resource}/{sub}");
        }
        let verb = match label(line, "dry_run") {
            "" => label(line, "verb").to_string(),
            _ => format!("{}(dry-run)", label(line, "verb")),
        };
        *counts.entry((verb, resource)).or_default() += value;
    }
    counts
}

/// The API server's `/metrics` text (empty if unreadable).
fn scrape(cp: &ControlPlane) -> String {
    cp.kubectl(&["get", "--raw", "/metrics"])
        .unwrap_or_default()
}

/// A snapshot of `cp`'s request counters (empty if unreadable).
pub fn snapshot(cp: &ControlPlane) -> Counts {
    request_counts(&scrape(cp))
}

/// A snapshot of `cp`'s seconds spent per kind of request (see
/// [`request_seconds`]; empty if unreadable).
pub fn snapshot_seconds(cp: &ControlPlane) -> Counts {
    request_seconds(&scrape(cp))
}

/// [`snapshot`] and [`snapshot_seconds`] from one read of `/metrics`.
pub fn snapshot_with_seconds(cp: &ControlPlane) -> (Counts, Counts) {
    let text = scrape(cp);
    (request_counts(&text), request_seconds(&text))
}

/// `after - before` summed by verb.
pub fn by_verb(before: &Counts, after: &Counts) -> BTreeMap<String, f64> {
    let mut verbs = BTreeMap::new();
    for ((verb, resource), v) in after {
        let d = v - before
            .get(&(verb.clone(), resource.clone()))
            .copied()
            .unwrap_or(0.0);
        if d > 0.0 {
            *verbs.entry(verb.clone()).or_default() += d;
        }
    }
    verbs
}

/// `after - before`, largest first, as `TOTAL (N VERB resource, …)` with at
/// most `top` entries.
pub fn describe(before: &Counts, after: &Counts, top: usize) -> String {
    describe_as(before, after, top, 0, "")
}

/// [`describe`] for seconds ([`request_seconds`]): `TOTAL s (S VERB
/// resource, …)`, one decimal.
pub fn describe_seconds(before: &Counts, after: &Counts, top: usize) -> String {
    describe_as(before, after, top, 1, " s")
}

/// The growth from `before` to `after`, `digits` decimals, `unit` after
/// the total.
fn describe_as(before: &Counts, after: &Counts, top: usize, digits: usize, unit: &str) -> String {
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
        .map(|(d, (verb, resource))| format!("{d:.digits$} {verb} {resource}"))
        .collect();
    format!("{total:.digits$}{unit} ({})", parts.join(", "))
}
/// Writes (not dry-runs) served between `before` and `after` to
/// `resources`: a name alone is that resource only (`deployments`, not the
/// `deployments/status` that kube-controller-manager writes); `name/*` is
/// the resource with any subresource (`kustomizations/*` takes in
/// `kustomizations/status`).
pub fn writes_to(before: &Counts, after: &Counts, resources: &[&str]) -> f64 {
    let listed = |resource: &str| {
        let base = resource.split('/').next().unwrap_or("");
        resources
            .iter()
            .any(|r| *r == resource || r.strip_suffix("/*") == Some(base))
    };
    after
        .iter()
        .filter(|((verb, resource), _)| WRITE_VERBS.contains(&verb.as_str()) && listed(resource))
        .map(|(k, v)| v - before.get(k).copied().unwrap_or(0.0))
        .sum()
}

/// Stops `child`: SIGTERM, then SIGKILL when it has not exited within 10 s.
pub fn terminate(child: &mut Child) {
    if child.try_wait().ok().flatten().is_some() {
        return;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    const METRICS: &str = r#"apiserver_request_total{code="200",component="apiserver",dry_run="",group="apps",resource="deployments",scope="resource",subresource="",verb="APPLY",version="v1"} 4
apiserver_request_total{code="200",component="apiserver",dry_run="All",group="apps",resource="deployments",scope="resource",subresource="",verb="APPLY",version="v1"} 2
apiserver_request_total{code="200",component="apiserver",dry_run="",group="kustomize.toolkit.fluxcd.io",resource="kustomizations",scope="resource",subresource="status",verb="PATCH",version="v1"} 3
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="leases",scope="resource",subresource="",verb="PUT",version="v1"} 7
"#;

    #[test]
    fn counts_by_verb_and_writes_to_chosen_resources() {
        let after = request_counts(METRICS);
        let before = Counts::new();
        let verbs = by_verb(&before, &after);
        assert_eq!(verbs["APPLY"], 4.0);
        assert_eq!(verbs["APPLY(dry-run)"], 2.0);
        assert_eq!(
            writes_to(&before, &after, &["deployments", "kustomizations/*"]),
            7.0
        );
        assert_eq!(
            writes_to(&before, &after, &["deployments", "kustomizations"]),
            4.0,
            "a name alone is not its status subresource"
        );
        assert_eq!(
            describe(&before, &after, 1),
            "16 (7 PUT leases)",
            "largest first, total over all"
        );
    }

    #[test]
    fn seconds_by_request_leave_out_watches() {
        let body = r#"apiserver_request_duration_seconds_sum{component="apiserver",dry_run="",group="",resource="services",scope="resource",subresource="",verb="APPLY",version="v1"} 2.5
apiserver_request_duration_seconds_sum{component="apiserver",dry_run="",group="",resource="events",scope="resource",subresource="",verb="POST",version="v1"} 0.5
apiserver_request_duration_seconds_sum{component="apiserver",dry_run="",group="",resource="services",scope="cluster",subresource="",verb="WATCH",version="v1"} 900
apiserver_request_duration_seconds_count{component="apiserver",dry_run="",group="",resource="services",scope="resource",subresource="",verb="APPLY",version="v1"} 10
"#;
        let after = request_seconds(body);
        assert_eq!(after.len(), 2, "{after:?}");
        assert_eq!(
            describe_seconds(&Counts::new(), &after, 1),
            "3.0 s (2.5 APPLY services)"
        );
    }

    #[test]
    fn sums_samples_of_one_metric_by_label() {
        let body = "reconciles_total{result=\"ok\"} 3\nreconciles_total{result=\"error\"} 3\nreconciles_total_other 9\n";
        assert_eq!(sum_metric(body, "reconciles_total", ""), 6.0);
        assert_eq!(sum_metric(body, "reconciles_total", "result=\"ok\""), 3.0);
    }
}
