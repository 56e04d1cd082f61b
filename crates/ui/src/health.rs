//! The controller's own health panel, read from its Prometheus exposition
//! (so this crate needs nothing of the controller's internals).

use std::collections::BTreeMap;

use serde::Serialize;

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

#[cfg(test)]
mod tests {
    use super::*;

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
# EOF
";
        let h = parse(text);
        assert_eq!(h.reconciles["ok"], 7.0);
        assert_eq!(h.reconciles["error"], 2.0);
        assert_eq!(h.syncs["succeeded"], 3.0);
        assert_eq!(h.git_fetches, 3.0);
        assert_eq!(h.git_fetch_mean_seconds, Some(0.5));
        assert_eq!(h.reconcile_mean_seconds, None);
    }
}
