//! Prometheus metrics: reconciles, syncs by result, durations, Applications
//! by sync and health status, Git fetch durations, and per controller its
//! queue depth and reconciles in flight, and the process's own API requests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

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

/// Labels naming a controller (its kind: `Application`, `Kustomization`,
/// `HelmRelease`, `HelmRepository`, `GitRepository`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    /// The kind the controller reconciles.
    pub controller: String,
}

/// Labels of a Flux object's reconcile: its kind and what became of its
/// render.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FluxLabels {
    /// The kind reconciled (`Kustomization`).
    pub controller: String,
    /// `rendered` (a build of a commit or inputs not applied before),
    /// `repeated` (the build last applied again, from the render cache: a
    /// drift check, a health poll), `unchanged` (the new revision changed
    /// nothing it reads: neither rendered nor applied), `none` (stopped
    /// before rendering: dependencies, source, spec).
    pub render: String,
}

/// Labels of a render request: where its objects came from.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RenderLabels {
    /// `rendered` (built from the commit's files), `cached` (the same
    /// commit and inputs, from the render cache), `carried` (an earlier
    /// commit's render taken over: no file it read changed).
    pub outcome: String,
}

/// The controllers whose queue and in-flight series exist from the start
/// (at 0), so a panel or a query sees every controller before its first
/// reconcile.
pub const CONTROLLERS: [&str; 5] = [
    "Application",
    "Kustomization",
    "HelmRelease",
    "HelmRepository",
    "GitRepository",
];

/// A controller's queue, read when the metrics are encoded.
pub(crate) trait QueueReport: Send + Sync {
    /// The controller's kind.
    fn controller(&self) -> &'static str;
    /// Objects whose reconcile is due and has not started (see
    /// `crate::watched::pending` for the definition).
    fn queued(&self) -> usize;
}

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 16))
}

/// A reconcile counted in [`Metrics::reconciles_in_flight`] while alive.
pub struct InFlight(pub(crate) Gauge);

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
    /// Reconciles running now, per controller (at `--concurrency` the rest
    /// wait in the controller's queue).
    pub reconciles_in_flight: Family<ControllerLabels, Gauge>,
    /// Objects whose reconcile is due and has not started, per controller
    /// (set from each controller's queue when encoding; a controller
    /// without a queue keeps what was set here).
    pub queue_depth: Family<ControllerLabels, Gauge>,
    queues: Mutex<Vec<Arc<dyn QueueReport>>>,
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
    /// Application refreshes that found nothing changed since their last
    /// comparison and did not compare again (see `reconcile::settled`).
    pub comparisons_skipped: Counter,
    /// Flux objects' reconciles, by kind and render (see [`FluxLabels`]).
    pub flux_reconciles: Family<FluxLabels, Counter>,
    /// Render requests by where the objects came from.
    pub renders: Family<RenderLabels, Counter>,
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
        let comparisons_skipped = Counter::default();
        let reconciles_in_flight = Family::<ControllerLabels, Gauge>::default();
        let flux_reconciles = Family::<FluxLabels, Counter>::default();
        let renders = Family::<RenderLabels, Counter>::default();
        registry.register(
            "api_requests",
            "The process's own API requests by verb (as its clients sent them)",
            crate::api_requests::REQUESTS.clone(),
        );
        registry.register(
            "renders",
            "Render requests by where the objects came from (rendered, cached, carried over)",
            renders.clone(),
        );
        registry.register(
            "flux_reconciles",
            "Flux objects' reconciles, by kind and whether they rendered",
            flux_reconciles.clone(),
        );
        registry.register(
            "reconciles_in_flight",
            "Reconciles running now, per controller",
            reconciles_in_flight.clone(),
        );
        let queue_depth = Family::<ControllerLabels, Gauge>::default();
        registry.register(
            "reconcile_queue_depth",
            "Objects whose reconcile is due (triggered, or a requeue whose delay passed) and has not started, per controller",
            queue_depth.clone(),
        );
        registry.register(
            "application_writes",
            "Writes to Applications (status, operation, annotations)",
            app_writes.clone(),
        );
        registry.register(
            "comparisons_skipped",
            "Application refreshes that found nothing changed since their last comparison",
            comparisons_skipped.clone(),
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
        for controller in CONTROLLERS {
            let labels = ControllerLabels {
                controller: controller.into(),
            };
            let _ = reconciles_in_flight.get_or_create(&labels);
            let _ = queue_depth.get_or_create(&labels);
        }
        Metrics {
            registry,
            reconciles,
            reconcile_duration,
            reconciles_in_flight,
            queue_depth,
            queues: Mutex::new(Vec::new()),
            syncs,
            sync_duration,
            git_fetch_duration,
            webhooks,
            app_writes,
            comparisons_skipped,
            flux_reconciles,
            renders,
            apps,
            states: Mutex::new(BTreeMap::new()),
        }
    }

    /// Counts one render request ending as `outcome` (see [`RenderLabels`]).
    pub fn rendered(&self, outcome: &str) {
        self.renders
            .get_or_create(&RenderLabels {
                outcome: outcome.into(),
            })
            .inc();
    }

    /// Counts a reconcile of `controller` as running until the returned
    /// guard is dropped (also when the reconcile is cancelled).
    pub fn in_flight(&self, controller: &str) -> InFlight {
        let gauge = self.in_flight_gauge(controller);
        gauge.inc();
        InFlight(gauge)
    }

    /// The in-flight gauge of `controller` (exposed as 0 from now on).
    pub(crate) fn in_flight_gauge(&self, controller: &str) -> Gauge {
        self.reconciles_in_flight
            .get_or_create(&ControllerLabels {
                controller: controller.into(),
            })
            .clone()
    }

    /// Reports `queue`'s depth from now on (replacing an earlier queue of
    /// the same controller).
    pub(crate) fn add_queue(&self, queue: Arc<dyn QueueReport>) {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        queues.retain(|q| q.controller() != queue.controller());
        queues.push(queue);
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

    /// Records the duration of the network fetch `cache` last made of
    /// `url` (what the mirror measured, not the lookups around it), for
    /// Applications and GitRepositories alike.
    pub(crate) fn observe_fetch(&self, cache: &driftless_source::MirrorCache, url: &str) {
        if let Some(took) = cache.stats(url).ok().and_then(|s| s.last_duration) {
            self.git_fetch_duration.observe(took.as_secs_f64());
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        for queue in self.queues.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let labels = ControllerLabels {
                controller: queue.controller().into(),
            };
            let depth = i64::try_from(queue.queued()).unwrap_or(i64::MAX);
            self.queue_depth.get_or_create(&labels).set(depth);
        }
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

/// Milliseconds since `start`, for the debug events that time each hop of
/// a push (fetch, status write, render, compare, apply).
pub(crate) fn elapsed_ms(start: std::time::Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(&'static str, usize);

    impl QueueReport for Fixed {
        fn controller(&self) -> &'static str {
            self.0
        }
        fn queued(&self) -> usize {
            self.1
        }
    }

    #[test]
    fn exposition_has_queue_depth_and_in_flight_per_controller() {
        let m = Metrics::new();
        m.add_queue(Arc::new(Fixed("Application", 1)));
        m.add_queue(Arc::new(Fixed("Application", 3)));
        m.add_queue(Arc::new(Fixed("Kustomization", 0)));
        let running = m.in_flight("Application");
        let _idle = m.in_flight_gauge("Kustomization");
        let text = m.encode();
        for line in [
            "driftless_reconcile_queue_depth{controller=\"Application\"} 3",
            "driftless_reconcile_queue_depth{controller=\"Kustomization\"} 0",
            "driftless_reconciles_in_flight{controller=\"Application\"} 1",
            "driftless_reconciles_in_flight{controller=\"Kustomization\"} 0",
            "driftless_reconcile_queue_depth{controller=\"GitRepository\"} 0",
            "driftless_reconciles_in_flight{controller=\"HelmRelease\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in {text}");
        }
        drop(running);
        assert!(
            m.encode()
                .contains("driftless_reconciles_in_flight{controller=\"Application\"} 0")
        );
    }

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
