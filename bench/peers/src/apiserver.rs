//! The API server's request counters (`apiserver_request_total`, every
//! client: the controllers, kube-controller-manager and this benchmark).

use std::collections::BTreeMap;

use driftless_testkit::cluster::ControlPlane;

/// Requests served so far, by (verb, resource[/subresource]).
pub(crate) type Counts = BTreeMap<(String, String), f64>;

/// Verbs that write.
const WRITE_VERBS: [&str; 6] = [
    "POST",
    "PUT",
    "PATCH",
    "APPLY",
    "DELETE",
    "DELETECOLLECTION",
];

/// The value of `label` in a Prometheus sample line.
fn label<'a>(line: &'a str, label: &str) -> &'a str {
    let key = format!("{label}=\"");
    line.find(&key)
        .map(|i| &line[i + key.len()..])
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("")
}

/// Parses the `apiserver_request_total` samples of a `/metrics` text.
pub(crate) fn parse(metrics: &str) -> Counts {
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
        let verb = match label(line, "dry_run") {
            "" => label(line, "verb").to_string(),
            _ => format!("{}(dry-run)", label(line, "verb")),
        };
        *counts.entry((verb, resource)).or_default() += value;
    }
    counts
}

/// A snapshot of the API server's request counters (empty if unreadable).
pub(crate) fn snapshot(cp: &ControlPlane) -> Counts {
    parse(
        &cp.kubectl(&["get", "--raw", "/metrics"])
            .unwrap_or_default(),
    )
}

/// `after - before` summed by verb.
pub(crate) fn by_verb(before: &Counts, after: &Counts) -> BTreeMap<String, f64> {
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

/// Writes (not dry-runs) served between `before` and `after` to `resources`
/// (with any subresource, e.g. `kustomizations/status`).
pub(crate) fn writes_to(before: &Counts, after: &Counts, resources: &[&str]) -> f64 {
    after
        .iter()
        .filter(|((verb, resource), _)| {
            let base = resource.split('/').next().unwrap_or("");
            WRITE_VERBS.contains(&verb.as_str()) && resources.contains(&base)
        })
        .map(|(k, v)| v - before.get(k).copied().unwrap_or(0.0))
        .sum()
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
        let after = parse(METRICS);
        let before = Counts::new();
        let verbs = by_verb(&before, &after);
        assert_eq!(verbs["APPLY"], 4.0);
        assert_eq!(verbs["APPLY(dry-run)"], 2.0);
        assert_eq!(
            writes_to(&before, &after, &["deployments", "kustomizations"]),
            7.0
        );
    }
}
