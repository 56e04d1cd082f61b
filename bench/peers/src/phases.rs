//! The measurements, in the order they run on one contender: cold start,
//! push → applied, monorepo refresh, drift, idle. Each gives a value or the
//! reason it has none (`n/a (reason)`), never a hang.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use kube::Api;
use kube::api::{DynamicObject, GroupVersionKind, Patch, PatchParams};

use crate::contender::Running;
use crate::load::{self, Load};
use crate::tracker::{self, Tracker};
use crate::workload::{self, DEST, NAMESPACE};
use driftless_testkit::metrics;

/// A figure, or why there is none.
pub(crate) type Figure<T> = Result<T, String>;

/// No figure, for `reason`.
pub(crate) fn na<T>(reason: &str) -> Figure<T> {
    Err(reason.to_string())
}

/// Cold start: N objects applied at once → all Ready.
pub(crate) struct Cold {
    /// Seconds from the first apply to all Ready.
    pub(crate) secs: f64,
    /// Peak RSS of the controller processes (summed), MiB.
    pub(crate) peak_mib: f64,
    /// CPU seconds of the controller processes up to all Ready.
    pub(crate) cpu_secs: f64,
    /// API requests (every client) by verb up to all Ready.
    pub(crate) requests: BTreeMap<String, f64>,
    /// The controllers' own API requests up to all Ready (their client
    /// metrics), or why not counted.
    pub(crate) own_requests: Figure<f64>,
    /// (seconds since the first apply, objects Ready) at each change.
    pub(crate) curve: Vec<(f64, usize)>,
    /// The control plane's CPU and the machine's busy share up to all Ready.
    pub(crate) load: Load,
}

impl Cold {
    /// All API requests.
    pub(crate) fn total_requests(&self) -> f64 {
        self.requests.values().sum()
    }
}

/// Push → applied latencies.
pub(crate) struct Push {
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    /// What announced the pushes (see [`crate::hook::Hook::describe`]).
    pub(crate) trigger: &'static str,
    /// The tool's mean Git fetch over the pushes (ms), from its own metric:
    /// the Git server's share of push → applied.
    pub(crate) fetch_ms: Figure<f64>,
}

/// One push touching one app's path.
pub(crate) struct Monorepo {
    /// Seconds until that app was applied.
    pub(crate) applied_secs: f64,
    /// Reconciles of the N objects the push caused (from the controller's metrics).
    pub(crate) reconciles: f64,
    /// How many of them rendered (goal: one).
    pub(crate) renders: Figure<f64>,
}

/// Five quiet minutes (or `--idle`).
pub(crate) struct Idle {
    /// CPU seconds per minute of the controller processes.
    pub(crate) cpu_per_min: f64,
    /// API writes per minute to the tool's objects, Events and the managed kinds (every client).
    pub(crate) writes_per_min: f64,
}

/// What one contender measured.
pub(crate) struct Results {
    pub(crate) label: &'static str,
    pub(crate) cold: Figure<Cold>,
    pub(crate) push: Figure<Push>,
    pub(crate) monorepo: Figure<Monorepo>,
    pub(crate) drift: Figure<f64>,
    /// Seconds until every object under test reported the last pushed
    /// commit, before the idle minutes start.
    pub(crate) caught_up: Figure<f64>,
    pub(crate) idle: Figure<Idle>,
}

/// How the phases are run.
pub(crate) struct Plan {
    pub(crate) n: usize,
    pub(crate) pushes: usize,
    pub(crate) idle: Duration,
    pub(crate) cold_timeout: Duration,
    /// Only the cold start (`--cold-only`): a run's cold start varies by a
    /// quarter with the machine's state, so it is repeated for a median.
    pub(crate) cold_only: bool,
}

/// The resources whose writes count as the tools' own during idle: their
/// own kinds with status, the objects under test without it (their status
/// is kube-controller-manager's, still catching up after a cold start when
/// the Kustomizations judge no health).
const WATCHED_RESOURCES: [&str; 10] = [
    "kustomizations/*",
    "gitrepositories/*",
    "applications/*",
    "events",
    "deployments",
    "services",
    "serviceaccounts",
    "ingresses",
    "secrets",
    "configmaps",
];

pub(crate) fn gvk(group: &str, version: &str, kind: &str) -> GroupVersionKind {
    GroupVersionKind::gvk(group, version, kind)
}

/// The watch on the objects under test (Kustomizations or Applications),
/// each object's state given by `state` (`None`: its readiness).
fn object_tracker(run: &Running, state: Option<fn(&DynamicObject) -> String>) -> Tracker {
    if run.kind.kustomizations() {
        let k = gvk("kustomize.toolkit.fluxcd.io", "v1", "Kustomization");
        let state = state.unwrap_or(tracker::flux_ready);
        Tracker::start(run.client.clone(), k, "kustomizations", NAMESPACE, state)
    } else {
        let a = gvk("argoproj.io", "v1alpha1", "Application");
        let state = state.unwrap_or(tracker::application_synced);
        Tracker::start(run.client.clone(), a, "applications", NAMESPACE, state)
    }
}

/// The watch on the deployed Deployments.
fn deployment_tracker(run: &Running) -> Tracker {
    let d = gvk("apps", "v1", "Deployment");
    Tracker::start(
        run.client.clone(),
        d,
        "deployments",
        DEST,
        tracker::deployment_state,
    )
}

/// Runs every phase on `run`; later phases are `n/a` if cold start failed.
pub(crate) async fn measure(run: &mut Running, plan: &Plan) -> Results {
    let label = run.kind.label();
    let objects = object_tracker(run, None);
    let deployments = deployment_tracker(run);
    let cold = cold(run, plan, &objects).await;
    let stop = match &cold {
        Err(reason) => Some(format!("cold start failed: {reason}")),
        Ok(_) if plan.cold_only => Some("not measured (--cold-only)".to_string()),
        Ok(_) => None,
    };
    if let Some(why) = stop {
        return Results {
            label,
            cold,
            push: na(&why),
            monorepo: na(&why),
            drift: na(&why),
            caught_up: na(&why),
            idle: na(&why),
        };
    }
    let push = pushes(run, plan, &deployments).await;
    let monorepo = monorepo(run, plan, &deployments).await;
    let drift = drift(run, &deployments).await;
    let caught_up = caught_up(run, plan).await;
    let idle = idle(run, plan).await;
    Results {
        label,
        cold,
        push,
        monorepo,
        drift,
        caught_up,
        idle,
    }
}

/// Server-side applies `objects` as `bench-peers`, eight in flight.
async fn apply_all(run: &Running, objects: Vec<serde_json::Value>) -> anyhow::Result<()> {
    let params = PatchParams::apply("bench-peers").force();
    apply_objects(&run.client, &params, objects).await
}

/// Server-side applies `objects` with `params`, eight in flight.
pub(crate) async fn apply_objects(
    client: &kube::Client,
    params: &PatchParams,
    objects: Vec<serde_json::Value>,
) -> anyhow::Result<()> {
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(objects)
        .map(|o| apply(client.clone(), o, params))
        .buffer_unordered(8)
        .collect()
        .await;
    results.into_iter().collect()
}

/// The resource (plural) name of `kind`, by the English rules the API
/// server's own plurals follow for the kinds applied here:
/// `Ingress` → `ingresses`, `GitRepository` → `gitrepositories`.
pub(crate) fn plural(kind: &str) -> String {
    let lower = kind.to_lowercase();
    if ["s", "x", "z", "ch", "sh"]
        .iter()
        .any(|e| lower.ends_with(e))
    {
        return format!("{lower}es");
    }
    if let Some(stem) = lower.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        return format!("{stem}ies");
    }
    format!("{lower}s")
}

/// Server-side applies one object given as JSON.
pub(crate) async fn apply(
    client: kube::Client,
    object: serde_json::Value,
    params: &PatchParams,
) -> anyhow::Result<()> {
    let o: DynamicObject = serde_json::from_value(object.clone())?;
    let types = o.types.clone().context("object without apiVersion/kind")?;
    let gvk = GroupVersionKind::try_from(&types)?;
    let ar = kube::api::ApiResource::from_gvk_with_plural(&gvk, &plural(&gvk.kind));
    let ns = o.metadata.namespace.clone().unwrap_or_default();
    let name = o.metadata.name.clone().unwrap_or_default();
    let api: Api<DynamicObject> = Api::namespaced_with(client, &ns, &ar);
    api.patch(&name, params, &Patch::Apply(&object))
        .await
        .with_context(|| format!("applying {} {ns}/{name}", gvk.kind))?;
    Ok(())
}

/// Cold start.
async fn cold(run: &mut Running, plan: &Plan, objects: &Tracker) -> Figure<Cold> {
    let mut setup = Vec::new();
    let mut each = Vec::new();
    // Both APIs fetch over HTTP with basic auth, from the same server.
    let (user, password) = run.git.credentials();
    let url = run.git.http_url("bench");
    if run.kind.kustomizations() {
        setup.push(workload::git_secret(user, password));
        each.extend((0..plan.n).map(workload::kustomization));
    } else {
        setup.push(workload::repository_secret(&url, user, password));
        each.extend((0..plan.n).map(|i| workload::application(i, &url)));
    }
    // The GitRepository goes first (timed too), so no Kustomization waits
    // for a missing source's retry interval.
    let mut first = Vec::new();
    if run.kind.kustomizations() {
        first.push(workload::git_repository(&url));
    }
    apply_all(run, setup).await.map_err(|e| format!("{e:#}"))?;
    let cpu0 = run.cpu_seconds();
    let own0 = run.own_requests().await;
    let (before, seconds_before) = metrics::snapshot_with_seconds(&run.cp);
    let cpu_before = load::sample(&run.cp);
    let started = Instant::now();
    apply_all(run, first).await.map_err(|e| format!("{e:#}"))?;
    apply_all(run, each).await.map_err(|e| format!("{e:#}"))?;
    let n = plan.n;
    let waited = wait_or_die(run, objects, plan.cold_timeout, |s| s.ready() >= n).await;
    let Some(_) = waited? else {
        let why = objects.with(|s| not_ready_summary(&s.states, n));
        return Err(format!(
            "{why} after {:.0} s (peak RSS by then {:.1} MiB, CPU {:.1} s); logs in {}",
            plan.cold_timeout.as_secs_f64(),
            run.peak_rss_mib(),
            run.cpu_seconds() - cpu0,
            run.work.display()
        ));
    };
    let secs = started.elapsed().as_secs_f64();
    let load = cpu_before.until(&load::sample(&run.cp));
    let (after, seconds_after) = metrics::snapshot_with_seconds(&run.cp);
    let own_requests = match (own0, run.own_requests().await) {
        (Ok(before), Ok(after)) => Ok(after - before),
        (Err(e), _) | (_, Err(e)) => Err(format!("{e:#}")),
    };
    let requests = metrics::by_verb(&before, &after);
    eprintln!(
        "peers: {}: cold requests {}",
        run.kind.label(),
        metrics::describe(&before, &after, 16)
    );
    eprintln!("peers: {}: cold CPU {}", run.kind.label(), load.describe());
    eprintln!(
        "peers: {}: cold API server time by request {}",
        run.kind.label(),
        metrics::describe_seconds(&seconds_before, &seconds_after, 10)
    );
    let curve = objects.with(|s| {
        s.timeline
            .iter()
            .filter(|(t, _)| *t >= started)
            .map(|(t, c)| (t.duration_since(started).as_secs_f64(), *c))
            .collect()
    });
    Ok(Cold {
        secs,
        peak_mib: run.peak_rss_mib(),
        cpu_secs: run.cpu_seconds() - cpu0,
        requests,
        own_requests,
        curve,
        load,
    })
}

/// Why `states` (object name → tracker state) is not `n` Ready: how many
/// are Ready, how many have conditions but are not Ready (quoting one's
/// Ready condition), how many have no conditions at all, how many were
/// never seen.
pub(crate) fn not_ready_summary(states: &HashMap<String, String>, n: usize) -> String {
    let ready = states.values().filter(|s| *s == tracker::READY).count();
    let mut out = format!("{ready}/{n} Ready");
    let mut waiting: Vec<(&String, &String)> = states
        .iter()
        .filter(|(_, s)| *s != tracker::READY && *s != tracker::NO_STATUS)
        .collect();
    waiting.sort();
    if let Some((name, state)) = waiting.first() {
        out += &format!("; {} not Ready, e.g. {name}: {state}", waiting.len());
    }
    let bare = states.values().filter(|s| *s == tracker::NO_STATUS).count();
    if bare > 0 {
        out += &format!(
            "; {bare} have no status conditions yet (not reconciled so far, or their API is not served by this build)"
        );
    }
    let unseen = n.saturating_sub(states.len());
    if unseen > 0 {
        out += &format!("; {unseen} not seen by the watch");
    }
    out
}

/// Waits for `done` on `tracker` up to `limit`, failing early if a
/// controller process died.
async fn wait_or_die(
    run: &mut Running,
    tracker: &Tracker,
    limit: Duration,
    done: impl Fn(&tracker::Seen) -> bool,
) -> Result<Option<Duration>, String> {
    let started = Instant::now();
    loop {
        run.check_alive().map_err(|e| format!("{e:#}"))?;
        let left = limit.saturating_sub(started.elapsed());
        if let Some(_took) = tracker.wait(left.min(Duration::from_secs(5)), &done).await {
            return Ok(Some(started.elapsed()));
        }
        if left.is_zero() {
            return Ok(None);
        }
    }
}

/// Commits a new image for app `app`, triggers, and waits until its
/// Deployment runs it: the seconds from the push, or why not.
async fn push_once(
    run: &mut Running,
    deployments: &Tracker,
    app: usize,
    image: &str,
    limit: Duration,
) -> Figure<f64> {
    let (path, body) = workload::files(app, image).swap_remove(0);
    let before = run.repo.head();
    run.repo.write(&path, &body);
    let after = run
        .repo
        .commit(&format!("{} runs {image}", workload::app(app)));
    let started = Instant::now();
    run.hook
        .trigger(&run.client, app, &before, &after)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let (name, want) = (workload::app(app), format!("{image}/0"));
    match wait_or_die(run, deployments, limit, |s| {
        s.states.get(&name) == Some(&want)
    })
    .await?
    {
        Some(_) => Ok(started.elapsed().as_secs_f64()),
        None => Err(format!(
            "{name} not running {image} {:.0} s after the push",
            limit.as_secs_f64()
        )),
    }
}

/// Waits until the reconcile counter has not moved for `quiet` (at most
/// `limit`); returns its value then.
async fn settle(run: &Running, quiet: Duration, limit: Duration) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut last = run.reconciles().await?;
    let mut since = Instant::now();
    while since.elapsed() < quiet && started.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = run.reconciles().await?;
        if now != last {
            (last, since) = (now, Instant::now());
        }
    }
    Ok(last)
}

/// Push → applied, `plan.pushes` times on app 0, settling between pushes.
async fn pushes(run: &mut Running, plan: &Plan, deployments: &Tracker) -> Figure<Push> {
    let fetches_before = run.fetches().await;
    let mut millis = Vec::new();
    for k in 0..plan.pushes {
        let image = format!("nginx:1.27.{k}");
        millis
            .push(push_once(run, deployments, 0, &image, Duration::from_secs(120)).await? * 1000.0);
        // Up to 120 s: Flux re-reconciles every Kustomization of the
        // GitRepository after each push (~30 s at N=100), and a push
        // arriving during that wave would queue behind it.
        settle(run, Duration::from_secs(1), Duration::from_secs(120))
            .await
            .map_err(|e| format!("{e:#}"))?;
    }
    let fetch_ms = match (fetches_before, run.fetches().await) {
        (Ok((s0, n0)), Ok((s1, n1))) if n1 > n0 => Ok((s1 - s0) / (n1 - n0) * 1000.0),
        (Ok(_), Ok(_)) => Err("no fetch counted".to_string()),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    Ok(Push {
        p50_ms: percentile(&mut millis, 50.0),
        p99_ms: percentile(&mut millis, 99.0),
        trigger: run.hook.describe(),
        fetch_ms,
    })
}

/// The `p`th percentile (nearest rank).
pub(crate) fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// Monorepo refresh: one push touching app 1's path; how long until it is
/// applied, and how many reconciles of the N objects it caused.
async fn monorepo(run: &mut Running, plan: &Plan, deployments: &Tracker) -> Figure<Monorepo> {
    let app = 1.min(plan.n - 1);
    let settle_err = |e: anyhow::Error| format!("{e:#}");
    let before = settle(run, Duration::from_secs(3), Duration::from_secs(60))
        .await
        .map_err(settle_err)?;
    let renders_before = run.renders().await;
    let applied_secs = push_once(
        run,
        deployments,
        app,
        "nginx:1.28",
        Duration::from_secs(300),
    )
    .await?;
    let after = settle(run, Duration::from_secs(5), Duration::from_secs(300))
        .await
        .map_err(settle_err)?;
    let renders = match (renders_before, run.renders().await) {
        (Ok(b), Ok(a)) => Ok(a - b),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    Ok(Monorepo {
        applied_secs,
        reconciles: after - before,
        renders,
    })
}

/// Drift: a live edit (replicas 0 → 2 by another field manager) on a
/// managed Deployment; seconds until it is back to 0.
async fn drift(run: &mut Running, deployments: &Tracker) -> Figure<f64> {
    let limit = Duration::from_secs(60);
    let name = workload::app(0);
    let api: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(run.client.clone(), DEST);
    let patch = serde_json::json!({ "spec": { "replicas": 2 } });
    let started = Instant::now();
    api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| format!("editing Deployment {DEST}/{name}: {e}"))?;
    let reverted = |s: &tracker::Seen| s.states.get(&name).is_some_and(|v| v.ends_with("/0"));
    // The watch must see the edit before it can see the revert.
    let edited = |s: &tracker::Seen| s.states.get(&name).is_some_and(|v| v.ends_with("/2"));
    if deployments
        .wait(Duration::from_secs(10), edited)
        .await
        .is_none()
    {
        // Reverted before the watch saw the edit, or the edit was lost.
        return Err(format!(
            "the edit of {DEST}/{name} was not seen by the watch within 10 s"
        ));
    }
    match wait_or_die(run, deployments, limit, reverted).await? {
        Some(_) => Ok(started.elapsed().as_secs_f64()),
        None => Err(format!("not reverted within {} s", limit.as_secs())),
    }
}

/// Waits until every object under test reports the last pushed commit (an
/// Application's `status.sync.revision`, a Kustomization's
/// `status.lastAttemptedRevision`), so that what the pushes set off (an
/// Application not concerned by a push reports the new commit at its next
/// periodic refresh) is over before the idle minutes start: the seconds
/// it took, or why not within the refresh interval and a margin.
async fn caught_up(run: &mut Running, plan: &Plan) -> Figure<f64> {
    let limit = Duration::from_secs(300);
    let head = run.repo.head();
    let revisions = object_tracker(run, Some(tracker::revision));
    let behind = |s: &tracker::Seen| {
        let at_head = s.states.values().filter(|r| r.contains(&head)).count();
        plan.n.saturating_sub(at_head)
    };
    match wait_or_die(run, &revisions, limit, |s| behind(s) == 0).await? {
        Some(took) => {
            eprintln!(
                "peers: {}: caught up with the pushes after {:.1} s; idle for {} s",
                run.kind.label(),
                took.as_secs_f64(),
                plan.idle.as_secs()
            );
            Ok(took.as_secs_f64())
        }
        None => Err(format!(
            "{} of {} not at the last pushed commit {head} after {} s",
            revisions.with(behind),
            plan.n,
            limit.as_secs()
        )),
    }
}

/// Idle: nothing changes for `plan.idle`.
async fn idle(run: &mut Running, plan: &Plan) -> Figure<Idle> {
    let cpu0 = run.cpu_seconds();
    let before = metrics::snapshot(&run.cp);
    tokio::time::sleep(plan.idle).await;
    run.check_alive().map_err(|e| format!("{e:#}"))?;
    let after = metrics::snapshot(&run.cp);
    let writes = metrics::writes_to(&before, &after, &WATCHED_RESOURCES);
    eprintln!(
        "peers: {}: idle requests {}",
        run.kind.label(),
        metrics::describe(&before, &after, 16)
    );
    let per_min = 60.0 / plan.idle.as_secs_f64();
    Ok(Idle {
        cpu_per_min: (run.cpu_seconds() - cpu0) * per_min,
        writes_per_min: writes * per_min,
    })
}

#[cfg(test)]
mod tests {
    use super::{not_ready_summary, percentile, plural};
    use std::collections::HashMap;

    #[test]
    fn plurals_of_the_applied_kinds() {
        for (kind, want) in [
            ("Ingress", "ingresses"),
            ("GitRepository", "gitrepositories"),
            ("Kustomization", "kustomizations"),
            ("Deployment", "deployments"),
            ("Service", "services"),
            ("ServiceAccount", "serviceaccounts"),
            ("Secret", "secrets"),
            ("Gateway", "gateways"),
        ] {
            assert_eq!(plural(kind), want, "{kind}");
        }
    }

    #[test]
    fn a_timeout_says_how_many_are_ready_and_quotes_a_condition() {
        let states: HashMap<String, String> = [
            ("a", "ready"),
            (
                "b",
                "not-ready (Ready=False BuildFailed: kustomization.yaml not found)",
            ),
            ("c", "not-ready (Ready=Unknown Progressing: reconciling)"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let why = not_ready_summary(&states, 4);
        assert_eq!(
            why,
            "1/4 Ready; 2 not Ready, e.g. b: not-ready (Ready=False BuildFailed: \
             kustomization.yaml not found); 1 not seen by the watch"
        );
        assert!(!why.contains("no status conditions"));
        let bare: HashMap<String, String> = [("a".to_string(), "no-status".to_string())].into();
        assert!(not_ready_summary(&bare, 1).contains("1 have no status conditions"));
    }

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<f64> = (1..=30).rev().map(f64::from).collect();
        assert_eq!(percentile(&mut v, 50.0), 15.0);
        assert_eq!(percentile(&mut v, 99.0), 30.0);
        assert!(percentile(&mut [], 50.0).is_nan());
    }
}
