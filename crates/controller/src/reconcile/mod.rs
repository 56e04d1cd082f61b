//! One Application's reconcile, as phases: dereference (project) →
//! validate → resolve the revision → render (cached) → diff → sync when due
//! → write status. Errors of the pipeline become conditions and Events on
//! the Application; only API failures reach the error policy.

mod boundaries;
pub(crate) mod delete_hooks;
mod helm;
pub(crate) mod multi_source;
mod operation_sources;
mod progress;
mod revisions;
mod settled;
mod source;
mod spec;
mod sync;
mod write;

pub use settled::Settled;
pub(crate) use source::{helm_inputs, ref_sources, renders_with_helm, wanted_revision};
pub(crate) use spec::rendering_sources;

use std::sync::Arc;
use std::time::{Duration, Instant};

use driftless_api::{
    Application, ApplicationSource, ApplicationSpec, ApplicationStatus, Operation, OperationPhase,
    condition,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::Api;
use kube::{Resource, ResourceExt};
use tracing::Instrument;

use crate::context::Context;
use crate::cycle::AppId;
use crate::decide::Decision;
use crate::engine::Owner;
use crate::error::{Error, Result};
use crate::events::{self, reason};
use crate::finalize;
use crate::metrics::Metrics;
use crate::pipeline::Comparison;
use crate::retry::{self};
use crate::status::{self, Observation};
use crate::watched::NextReconcile;

/// The annotation asking for a refresh: `normal` (fetch Git) or `hard` (also re-render).
pub const REFRESH_ANNOTATION: &str = "argocd.argoproj.io/refresh";

/// A requested refresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refresh {
    /// Fetch Git even when recently fetched.
    Normal,
    /// Also bypass the render cache.
    Hard,
}

/// The refresh `app` asks for through its annotation.
pub fn refresh_of(app: &Application) -> Option<Refresh> {
    match app
        .annotations()
        .get(REFRESH_ANNOTATION)
        .map(String::as_str)
    {
        Some("hard") => Some(Refresh::Hard),
        Some(_) => Some(Refresh::Normal),
        None => None,
    }
}

/// `(namespace, name)` of an Application.
pub fn app_id(app: &Application) -> AppId {
    (app.namespace().unwrap_or_default(), app.name_any())
}

/// The name written into tracking ids: the bare name for Applications in
/// the control-plane namespace, `<namespace>_<name>` elsewhere (as Argo CD).
pub fn tracking_name(app: &Application, control_namespace: &str) -> String {
    let (ns, name) = app_id(app);
    if ns == control_namespace || ns.is_empty() {
        name
    } else {
        format!("{ns}_{name}")
    }
}

/// The status to start from: the watch cache's, unless this controller
/// wrote a newer one the cache has not caught up with (resourceVersions are
/// compared as numbers, as etcd hands them out; when either does not parse,
/// the cache wins).
pub fn freshest_status(
    app: &Application,
    written: Option<(u64, ApplicationStatus)>,
) -> ApplicationStatus {
    let cached = app.status.clone().unwrap_or_default();
    let cached_rv = app
        .meta()
        .resource_version
        .as_deref()
        .and_then(|v| v.parse::<u64>().ok());
    match (cached_rv, written) {
        (Some(cached_rv), Some((written_rv, status))) if cached_rv < written_rv => status,
        _ => cached,
    }
}

/// The reconcile entry point handed to the kube-runtime `Controller`.
pub async fn reconcile(app: Arc<Application>, ctx: Arc<Context>) -> Result<NextReconcile> {
    let id = app_id(&app);
    let span = tracing::info_span!("reconcile", app = %format!("{}/{}", id.0, id.1));
    async move {
        let started = Instant::now();
        let result = if app.meta().deletion_timestamp.is_some() {
            finalize::finalize(&app, &ctx).await
        } else {
            let spec = operation_sources::spec_to_render(&app);
            Reconciler::new(&app, &spec, &ctx).run().await
        };
        if result.is_ok() {
            ctx.memory(&id, |m| m.api_failures = 0);
        }
        ctx.metrics
            .reconcile_duration
            .observe(started.elapsed().as_secs_f64());
        Metrics::count(
            &ctx.metrics.reconciles,
            if result.is_ok() { "ok" } else { "error" },
        );
        if let Err(error) = &result {
            tracing::warn!(%error, "reconcile failed");
        }
        result
    }
    .instrument(span)
    .await
}

/// The error policy: API failures are retried after a short, growing delay.
pub fn error_policy(app: Arc<Application>, error: &Error, ctx: Arc<Context>) -> NextReconcile {
    let failures = ctx.memory(&app_id(&app), |m| {
        m.api_failures = m.api_failures.saturating_add(1);
        m.api_failures
    });
    let delay = error_delay(failures);
    tracing::debug!(app = %app.name_any(), %error, failures, ?delay, "requeue after error");
    NextReconcile::After(delay)
}

/// The configured requeue interval, at most [`crate::selfheal::KEEP_WATCHING`]
/// while self-heal is on.
fn requeue_interval(config: &crate::ControllerConfig) -> Duration {
    if config.watch_managed {
        config.requeue_interval.min(crate::selfheal::KEEP_WATCHING)
    } else {
        config.requeue_interval
    }
}

/// 5 s after the first failure in a row, doubling, at most 5 minutes.
pub fn error_delay(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(6);
    Duration::from_secs(5u64 << exp).min(Duration::from_secs(300))
}

/// A pipeline failure, reported as a condition.
struct Failure {
    condition: &'static str,
    message: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure {
            condition: e.condition_type(),
            message: e.to_string(),
        }
    }
}

/// The state of one reconcile.
struct Reconciler<'a> {
    app: &'a Application,
    /// The spec this reconcile renders and compares: the Application's, or
    /// with the sync operation's `source`/`sources` in place of its own
    /// (see [`operation_sources`]).
    spec: &'a ApplicationSpec,
    ctx: &'a Context,
    id: AppId,
    label: String,
    prev: ApplicationStatus,
    now: Timestamp,
    conditions: Vec<(String, String)>,
    requeue: Duration,
    /// The ref files the last Helm render read, until the render's caller
    /// publishes them for webhook matching (never half-written: a webhook
    /// arriving mid-render still sees the last complete set).
    ref_memory: Option<Vec<crate::context::RefSourceMemory>>,
    /// The revision each source is wanted at (a sync operation's, or its
    /// target revision) and, once resolved, synced at.
    revisions: revisions::SourceRevisions,
    /// What the last comparison rested on, if it settled (taken from the
    /// memory: see [`settled`]).
    settled: Option<Settled>,
}

impl<'a> Reconciler<'a> {
    fn new(app: &'a Application, spec: &'a ApplicationSpec, ctx: &'a Context) -> Self {
        let id = app_id(app);
        let seed = id.0.len() as u64 * 31
            + id.1
                .bytes()
                .fold(7u64, |h, b| h.wrapping_mul(131).wrapping_add(u64::from(b)))
            + Timestamp::now().as_second() as u64;
        Reconciler {
            label: format!("{}/{}", id.0, id.1),
            prev: freshest_status(app, ctx.memory(&id, |m| m.written.clone())),
            settled: ctx.memory(&id, |m| m.settled.take()),
            id,
            app,
            spec,
            ctx,
            now: Timestamp::now(),
            conditions: Vec::new(),
            requeue: retry::jittered(requeue_interval(&ctx.config), seed),
            ref_memory: None,
            revisions: Default::default(),
        }
    }

    /// This Application as the engine's phases name it.
    fn owner(&self) -> Owner {
        Owner::new("application", &self.id.0, &self.id.1)
    }

    fn api(&self) -> Api<Application> {
        Api::namespaced(self.ctx.client.clone(), &self.id.0)
    }

    fn source(&self) -> Option<&ApplicationSource> {
        let spec = self.spec;
        spec.source.as_ref().or(spec.sources.first())
    }

    fn base_observation(&self) -> Observation<'static> {
        let spec = self.spec;
        Observation {
            generation: self.app.meta().generation,
            source: self.source().cloned(),
            sources: spec.sources.clone(),
            destination: spec.destination.clone(),
            history_limit: spec.revision_history_limit,
            now: Some(Time(self.now)),
            subject: Some(format!("application {}", self.label)),
            ..Default::default()
        }
    }

    /// Names, in an Event, the other field managers of the objects a
    /// self-heal reverts (who fights the Application).
    fn report_fighters(&self, cmp: &driftless_sync::Comparison, sha: &str) {
        let own = &self.ctx.config.field_manager;
        let writers = crate::selfheal::other_writers(cmp, own);
        if writers.is_empty() {
            return;
        }
        let note = format!("self-heal at {sha} reverts {}", writers.join("; "));
        events::publish(self.ctx, self.app, true, reason::SELF_HEAL, note);
    }

    async fn run(mut self) -> Result<NextReconcile> {
        let operation = self.app.spec.operation.clone();
        let refresh = refresh_of(self.app);
        match self.pipeline(operation.as_ref(), refresh).await {
            Ok(()) => {}
            Err(failure) => {
                let warning = failure.condition == condition::INVALID_SPEC_ERROR;
                events::publish(
                    self.ctx,
                    self.app,
                    true,
                    if warning {
                        reason::INVALID_SPEC
                    } else {
                        reason::COMPARISON_ERROR
                    },
                    failure.message.clone(),
                );
                self.conditions
                    .push((failure.condition.to_string(), failure.message.clone()));
                let mut obs = self.base_observation();
                obs.conditions = std::mem::take(&mut self.conditions);
                if let Some(op) = &operation {
                    obs.operation_state = Some(self.finished_op(
                        op.clone(),
                        OperationPhase::Error,
                        failure.message.clone(),
                        None,
                        0,
                    ));
                }
                let next = status::compute(&self.prev, obs);
                self.write_status(&next).await?;
                if operation.is_some() {
                    self.clear_operation().await?;
                }
                self.requeue = self.requeue.min(Duration::from_secs(30));
                // Metrics and the parent's refresh follow a failed
                // reconcile's status as they follow a successful one's.
                self.after_status(&next);
            }
        }
        if refresh.is_some() {
            self.remove_refresh_annotation().await?;
        }
        Ok(NextReconcile::After(self.requeue))
    }

    /// Records a fetch of `repo` for `wanted` (when one was due) and its
    /// fallback to the last fetched state, if any.
    fn fetched(&self, fetch: bool, repo: &str, wanted: &str, stale: Option<String>) {
        if fetch {
            if stale.is_none() {
                self.ctx.note_fetched(repo, wanted, self.now);
            }
            self.ctx.memory(&self.id, |m| {
                m.dirty = false;
                m.stale_fetch = stale;
            });
        }
    }

    /// Warns when `sha` comes from the last fetched state because a fetch failed.
    fn report_stale(&mut self, repo: &str, wanted: &str, sha: &str) {
        if let Some(why) = self.ctx.memory(&self.id, |m| m.stale_fetch.clone()) {
            let message = format!(
                "fetching {repo} failed, so {wanted} is compared at the last fetched commit {sha}: {why}"
            );
            self.warn(
                condition::COMPARISON_WARNING,
                reason::COMPARISON_WARNING,
                message,
            );
        }
    }

    /// Dereference → validate → resolve → render → diff → sync → status.
    async fn pipeline(
        &mut self,
        operation: Option<&Operation>,
        refresh: Option<Refresh>,
    ) -> Result<(), Failure> {
        self.recover_interrupted().await.map_err(Failure::from)?;
        // Dereference and validate.
        self.report_unknown_fields();
        let (project_name, project) = self.project().await?;
        let rendering = self.validate(&project_name, &project)?;
        let sync_op = operation.and_then(|o| o.sync.as_ref());
        // Resolve the revisions and render (a chart from a Helm repository
        // has no Git revision: the chart version it resolves to is one).
        let spec = self.spec;
        self.revisions = revisions::SourceRevisions::wanted(spec, rendering[0], sync_op)
            .map_err(|message| self.invalid(message))?;
        // Each rendering source at the revision wanted for it.
        let wanted: Vec<String> = rendering
            .iter()
            .map(|s| self.revisions.of(spec, s).unwrap_or(wanted_revision(s)))
            .map(str::to_string)
            .collect();
        let sources: Vec<ApplicationSource> = rendering.into_iter().cloned().collect();
        let source = sources[0].clone();
        let fetch = self.should_fetch(refresh.is_some() || operation.is_some());
        let repo = source.repo_url.clone();
        // Known before anything can fail, so a webhook push can refresh an
        // Application whose last fetch or render failed.
        self.ctx.memory(&self.id, |m| {
            m.repo = repo.clone();
            m.path = source.path().to_string();
            m.target_revision = source.revision().to_string();
        });
        // A slow fetch shows in the status while it runs.
        let waiting = fetch.then(|| self.waiting_status(operation, &repo, &wanted[0]));
        let hard = refresh == Some(Refresh::Hard);
        let (writer, prev) = (self.writer(), self.prev.clone());
        let sources: Vec<&ApplicationSource> = sources.iter().collect();
        let started = std::time::Instant::now();
        let work = self.resolve_and_render_all(&sources, &wanted, fetch, hard);
        let (found, written) = writer.meanwhile(&prev, waiting, work).await;
        let elapsed_ms = crate::metrics::elapsed_ms(started);
        tracing::debug!(fetch, elapsed_ms, "resolved and rendered");
        if let Some(next) = written.map_err(Failure::from)? {
            self.prev = next;
        }
        let found = found?;
        let (revision, rendered, revisions) = (found.revision, found.rendered, found.revisions);
        self.revisions.resolved = revisions.clone();
        self.revisions.leading = revision.clone();
        // What a sync is of: the revision, or for several sources every
        // source's revision (a values change in a ref source is a new one).
        let sha = driftless_api::synced_key(&revision, &revisions);
        // The render cache hands out a fresh copy: taken, not cloned again.
        let rendered = Arc::unwrap_or_clone(rendered);
        let source_type = rendered.source_type;
        self.ctx
            .memory(&self.id, |m| m.files_read = rendered.files_read);
        let mut desired = rendered.objects;
        let blocked = self.check_children(&mut desired);

        // Diff, unless an idle refresh finds nothing changed since the last.
        let mut target = self.target(sync_op);
        let rendering = (operation.is_none() && refresh.is_none() && !blocked)
            .then(|| settled::rendering_key(&project, &sha, &desired, &self.conditions));
        if let Some(r) = rendering
            && self.still_settled(settled::key(r, self.app, &self.prev), &target.app)
        {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let mut engine_cmp = self.diff(&target, &desired, &sha).await?;
        tracing::debug!(elapsed_ms = crate::metrics::elapsed_ms(started), "compared");
        let stamp = engine_cmp.stamp.take();
        self.check_project(&project_name, &project, &engine_cmp)?;
        self.report_shared(&engine_cmp).await;
        self.ctx.set_tracking_name(&target.app, &self.id);
        for warning in &engine_cmp.warnings {
            self.conditions
                .push((warning.condition.to_string(), warning.message.clone()));
        }
        let cmp = Comparison::from_engine(&engine_cmp);

        // Decide and sync.
        let mut obs = self.base_observation();
        obs.revision = Some(revision);
        obs.revisions = revisions;
        obs.source_type = Some(format!("{source_type:?}"));
        obs.source_types = found.source_types;
        let decision = if blocked {
            Decision::Skip("the render violates its project or forms a cycle".into())
        } else if sync_op.is_some() {
            Decision::Sync {
                retry: 0,
                self_heal: false,
            }
        } else {
            self.decide(&cmp, &sha, desired.is_empty())
        };
        tracing::debug!(?decision, revision = %sha, "sync decision");
        // Time plays no part in skipping an in-sync or manual Application.
        let automated = self.spec.sync_policy.as_ref().and_then(|p| p.automated());
        let timeless =
            matches!(decision, Decision::Skip(_)) && (!cmp.needs_sync() || automated.is_none());
        let final_cmp = match decision {
            Decision::Sync { retry, self_heal } => {
                if self_heal {
                    self.report_fighters(&engine_cmp, &sha);
                }
                let op = match operation {
                    Some(op) => op.clone(),
                    None => self.automated_operation(&target),
                };
                if sync_op.is_none() {
                    target.resources = None;
                }
                let (state, entry, after) = self
                    .sync(op, &target, engine_cmp, &desired, &sha, &source, retry)
                    .await?;
                if self_heal {
                    let now = self.now;
                    self.ctx.memory(&self.id, |m| {
                        m.self_heal_attempts += 1;
                        m.last_self_heal = Some(now);
                    });
                }
                // A failed automated sync is retried when its backoff ends,
                // not at the next periodic refresh.
                if let Some(delay) = self.retry_after(&state) {
                    self.requeue = self.requeue.min(delay + Duration::from_millis(100));
                }
                obs.operation_state = Some(state);
                obs.synced = entry;
                after
            }
            Decision::Wait(delay) => {
                self.requeue = self.requeue.min(delay + Duration::from_millis(100));
                cmp
            }
            Decision::Refuse(why) => {
                let message = format!("application {}: at {sha}: {why}", self.label);
                self.warn(condition::SYNC_ERROR, reason::SYNC_ERROR, message);
                cmp
            }
            Decision::Skip(why) => {
                // A requested sync that cannot run ends here, not Running.
                if let Some(op) = operation.filter(|op| op.sync.is_some()) {
                    let state = self.finished_op(op.clone(), OperationPhase::Failed, why, None, 0);
                    obs.operation_state = Some(state);
                }
                cmp
            }
        };
        if !final_cmp.needs_sync() {
            let now = self.now;
            self.ctx.memory(&self.id, |m| {
                if crate::decide::self_heal_settled(m.last_self_heal, now) {
                    m.self_heal_attempts = 0;
                }
            });
        }
        let last_op = obs
            .operation_state
            .clone()
            .or_else(|| self.prev.operation_state.clone());
        self.add_sync_error_condition(last_op.as_ref(), &sha);

        // Status.
        obs.comparison = Some(&final_cmp);
        obs.conditions = std::mem::take(&mut self.conditions);
        let again = obs.clone();
        let next = status::compute(&self.prev, obs);
        let settled = rendering
            .filter(|_| timeless)
            .and_then(|r| self.settling(r, &next, again, stamp, !final_cmp.needs_sync()));
        self.write_status(&next).await.map_err(Failure::from)?;
        self.ctx.memory(&self.id, |m| m.settled = settled);
        if operation.is_some() {
            self.clear_operation().await.map_err(Failure::from)?;
        }
        self.after_status(&next);
        Ok(())
    }

    /// What this reconcile (which compared and decided nothing that
    /// depends on time) settles as, for the next refresh to stop early:
    /// keyed by the status that refresh starts from. When this one writes
    /// `next`, that refresh must search the same previous resources and
    /// compute `next` again from it (`again`: this reconcile's
    /// observation); otherwise it compares.
    fn settling(
        &self,
        rendering: u64,
        next: &ApplicationStatus,
        again: Observation<'_>,
        stamp: Option<driftless_sync::LiveStamp>,
        in_sync: bool,
    ) -> Option<Settled> {
        if self.polls(next) {
            return None;
        }
        let from = if status::differs(&self.prev, next) {
            let stable = settled::same_previous(&self.prev, next)
                && !status::differs(next, &status::compute(next, again));
            if !stable {
                return None;
            }
            next
        } else {
            &self.prev
        };
        Settled::new(settled::key(rendering, self.app, from), stamp, in_sync)
    }

    /// Whether the last comparison, made of inputs with hash `key`, still
    /// stands: then this refresh ends here, its status as it is. (Any
    /// reconcile that does not end here or settle again forgets it.)
    fn still_settled(&mut self, key: u64, app: &str) -> bool {
        let Some(settled) = self.settled.take() else {
            return false;
        };
        if !settled.still(key, &self.ctx.engine.0, app) {
            return false;
        }
        let now = self.now;
        self.ctx.memory(&self.id, |m| {
            if settled.in_sync && crate::decide::self_heal_settled(m.last_self_heal, now) {
                m.self_heal_attempts = 0;
            }
            m.settled = Some(settled);
        });
        self.ctx.metrics.comparisons_skipped.inc();
        tracing::debug!("nothing changed since the last comparison");
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_api::{SyncStatus, SyncStatusCode};

    fn app_at(rv: &str, status: SyncStatusCode) -> Application {
        let mut app = Application::new("web", Default::default());
        app.metadata.resource_version = Some(rv.into());
        app.status = Some(ApplicationStatus {
            sync: Some(SyncStatus {
                status,
                ..Default::default()
            }),
            ..Default::default()
        });
        app
    }

    fn sync_of(s: &ApplicationStatus) -> Option<SyncStatusCode> {
        s.sync.as_ref().map(|s| s.status)
    }

    #[test]
    fn a_stale_cache_loses_to_our_own_write() {
        let written = ApplicationStatus {
            sync: Some(SyncStatus {
                status: SyncStatusCode::Synced,
                ..Default::default()
            }),
            ..Default::default()
        };
        let stale = app_at("10", SyncStatusCode::OutOfSync);
        assert_eq!(
            sync_of(&freshest_status(&stale, Some((11, written.clone())))),
            Some(SyncStatusCode::Synced)
        );
        let caught_up = app_at("11", SyncStatusCode::OutOfSync);
        assert_eq!(
            sync_of(&freshest_status(&caught_up, Some((11, written.clone())))),
            Some(SyncStatusCode::OutOfSync)
        );
        let odd = app_at("not-a-number", SyncStatusCode::OutOfSync);
        assert_eq!(
            sync_of(&freshest_status(&odd, Some((11, written)))),
            Some(SyncStatusCode::OutOfSync)
        );
        assert_eq!(
            sync_of(&freshest_status(&stale, None)),
            Some(SyncStatusCode::OutOfSync)
        );
    }

    #[test]
    fn api_errors_back_off() {
        let secs: Vec<u64> = (1..=8).map(|n| error_delay(n).as_secs()).collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 300, 300]);
    }

    #[test]
    fn refresh_and_tracking_names() {
        let mut app = Application::new("web", Default::default());
        app.metadata.namespace = Some("argocd".into());
        assert_eq!(refresh_of(&app), None);
        app.metadata.annotations =
            Some([(REFRESH_ANNOTATION.to_string(), "hard".to_string())].into());
        assert_eq!(refresh_of(&app), Some(Refresh::Hard));
        app.metadata.annotations =
            Some([(REFRESH_ANNOTATION.to_string(), "normal".to_string())].into());
        assert_eq!(refresh_of(&app), Some(Refresh::Normal));
        assert_eq!(tracking_name(&app, "argocd"), "web");
        app.metadata.namespace = Some("team-a".into());
        assert_eq!(tracking_name(&app, "argocd"), "team-a_web");
    }
}
