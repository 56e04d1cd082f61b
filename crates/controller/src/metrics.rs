//! Prometheus metrics: reconciles, syncs by result, durations, Applications
//! by sync and health status, Git fetch durations.

use std::collections::BTreeMap;
use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels naming an outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// `ok`/`error`, or `succeeded`/`failed`/`error`.
    pub result: String,
}

/// Labels of the Applications gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AppLabels {
    /// Synced, OutOfSync or Unknown.
    pub sync_status: String,
    /// Healthy, Progressing, Degraded, ...
    pub health_status: String,
}

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 16))
}

/// A reconcile counted in [`Metrics::reconciles_in_flight`] while alive.
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Every metric of the controller, plus its registry.
pub struct Metrics {
    registry: Registry,
    /// Reconciles by result.
    pub reconciles: Family<ResultLabels, Counter>,
    /// Reconcile durations in seconds.
    pub reconcile_duration: Histogram,
    /// Application reconciles running now (at `--concurrency` the rest wait
    /// in the controller's queue).
    pub reconciles_in_flight: Gauge,
    /// Syncs by result.
    pub syncs: Family<ResultLabels, Counter>,
    /// Sync durations in seconds.
    pub sync_duration: Histogram,
    /// Git fetch durations in seconds.
    pub git_fetch_duration: Histogram,
    /// Webhook requests by result.
    pub webhooks: Family<ResultLabels, Counter>,
    /// Writes to Applications (status, operation, annotations).
    pub app_writes: Counter,
    apps: Family<AppLabels, Gauge>,
    states: Mutex<BTreeMap<(String, String), AppLabels>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Fresh metrics, registered under the `driftless_` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("driftless");
        let reconciles = Family::<ResultLabels, Counter>::default();
        let syncs = Family::<ResultLabels, Counter>::default();
        let webhooks = Family::<ResultLabels, Counter>::default();
        let reconcile_duration = duration_histogram();
        let sync_duration = duration_histogram();
        let git_fetch_duration = duration_histogram();
        let apps = Family::<AppLabels, Gauge>::default();
        let app_writes = Counter::default();
        let reconciles_in_flight = Gauge::default();
        registry.register(
            "reconciles_in_flight",
            "Application reconciles running now",
            reconciles_in_flight.clone(),
        );
        registry.register(
            "application_writes",
            "Writes to Applications (status, operation, annotations)",
            app_writes.clone(),
        );
        registry.register(
            "reconciles",
            "Application reconciles by result",
            reconciles.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "How long one Application reconcile took",
            reconcile_duration.clone(),
        );
        registry.register("syncs", "Syncs by result", syncs.clone());
        registry.register(
            "sync_duration_seconds",
            "How long one sync took",
            sync_duration.clone(),
        );
        registry.register(
            "git_fetch_duration_seconds",
            "How long one Git fetch took",
            git_fetch_duration.clone(),
        );
        registry.register(
            "webhook_requests",
            "Webhook requests by result",
            webhooks.clone(),
        );
        registry.register(
            "applications",
            "Applications by sync and health status",
            apps.clone(),
        );
        Metrics {
            registry,
            reconciles,
            reconcile_duration,
            reconciles_in_flight,
            syncs,
            sync_duration,
            git_fetch_duration,
            webhooks,
            app_writes,
            apps,
            states: Mutex::new(BTreeMap::new()),
        }
    }

    /// Counts a reconcile as running until the returned guard is dropped
    /// (also when the reconcile is cancelled).
    pub fn in_flight(&self) -> InFlight {
        self.reconciles_in_flight.inc();
        InFlight(self.reconciles_in_flight.clone())
    }

    /// Counts one outcome in `family`.
    pub fn count(family: &Family<ResultLabels, Counter>, result: &str) {
        family
            .get_or_create(&ResultLabels {
                result: result.into(),
            })
            .inc();
    }

    /// Records the sync and health status of one Application (`None` forgets it).
    pub fn set_app_state(&self, app: (String, String), state: Option<AppLabels>) {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        match state {
            Some(s) => {
                states.insert(app, s);
            }
            None => {
                states.remove(&app);
            }
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        {
            let states = self.states.lock().unwrap_or_else(|e| e.into_inner());
            self.apps.clear();
            for labels in states.values() {
                self.apps.get_or_create(labels).inc();
            }
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_counters_and_app_gauge() {
        let m = Metrics::new();
        Metrics::count(&m.reconciles, "ok");
        Metrics::count(&m.reconciles, "ok");
        m.reconcile_duration.observe(0.2);
        let state = |s: &str| AppLabels {
            sync_status: s.into(),
            health_status: "Healthy".into(),
        };
        m.set_app_state(("argocd".into(), "a".into()), Some(state("Synced")));
        m.set_app_state(("argocd".into(), "b".into()), Some(state("Synced")));
        m.set_app_state(("argocd".into(), "c".into()), Some(state("OutOfSync")));
        m.set_app_state(("argocd".into(), "c".into()), None);
        let text = m.encode();
        assert!(
            text.contains("driftless_reconciles_total{result=\"ok\"} 2"),
            "{text}"
        );
        assert!(
            text.contains(
                "driftless_applications{sync_status=\"Synced\",health_status=\"Healthy\"} 2"
            ),
            "{text}"
        );
        assert!(!text.contains("OutOfSync"), "{text}");
        assert!(
            text.contains("driftless_reconcile_duration_seconds_count 1"),
            "{text}"
        );
    }
}
