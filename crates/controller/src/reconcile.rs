//! One Application's reconcile, as phases: dereference (project) →
//! validate → resolve the revision → render (cached) → diff → sync when due
//! → write status. Errors of the pipeline become conditions and Events on
//! the Application; only API failures reach the error policy.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use driftless_api::{
    AppProject, AppProjectSpec, Application, ApplicationSource, ApplicationStatus, Operation,
    OperationInitiator, OperationPhase, OperationState, RevisionHistory, SyncOperation,
    SyncOperationResult, condition,
};
use driftless_render::Object;
use driftless_sync::{Target, parse_sync_options};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use serde_json::json;
use tracing::Instrument;

use crate::context::Context;
use crate::cycle::{self, AppId};
use crate::decide::{self, AutoSyncInput, Decision};
use crate::error::{Error, Result};
use crate::events::{self, reason};
use crate::metrics::{AppLabels, Metrics};
use crate::pipeline::Comparison;
use crate::render_cache::RenderKey;
use crate::retry::{self, RetryPolicy};
use crate::status::{self, Observation};
use crate::{finalize, overrides, patch, project};

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
pub async fn reconcile(app: Arc<Application>, ctx: Arc<Context>) -> Result<Action> {
    let id = app_id(&app);
    let span = tracing::info_span!("reconcile", app = %format!("{}/{}", id.0, id.1));
    async move {
        let started = Instant::now();
        let result = if app.meta().deletion_timestamp.is_some() {
            finalize::finalize(&app, &ctx).await
        } else {
            Reconciler::new(&app, &ctx).run().await
        };
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
pub fn error_policy(app: Arc<Application>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::debug!(app = %app.name_any(), %error, "requeue after error");
    Action::requeue(Duration::from_secs(5))
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
    ctx: &'a Context,
    id: AppId,
    label: String,
    prev: ApplicationStatus,
    now: Timestamp,
    conditions: Vec<(String, String)>,
    requeue: Duration,
}

impl<'a> Reconciler<'a> {
    fn new(app: &'a Application, ctx: &'a Context) -> Self {
        let id = app_id(app);
        let seed = id.0.len() as u64 * 31
            + id.1
                .bytes()
                .fold(7u64, |h, b| h.wrapping_mul(131).wrapping_add(u64::from(b)))
            + Timestamp::now().as_second() as u64;
        Reconciler {
            label: format!("{}/{}", id.0, id.1),
            prev: freshest_status(app, ctx.memory(&id, |m| m.written.clone())),
            id,
            app,
            ctx,
            now: Timestamp::now(),
            conditions: Vec::new(),
            requeue: retry::jittered(ctx.config.requeue_interval, seed),
        }
    }

    fn api(&self) -> Api<Application> {
        Api::namespaced(self.ctx.client.clone(), &self.id.0)
    }

    fn source(&self) -> Option<&ApplicationSource> {
        let spec = &self.app.spec.spec;
        spec.source.as_ref().or(spec.sources.first())
    }

    fn base_observation(&self) -> Observation<'static> {
        let spec = &self.app.spec.spec;
        Observation {
            generation: self.app.meta().generation,
            source: self.source().cloned(),
            destination: spec.destination.clone(),
            history_limit: spec.revision_history_limit,
            now: Some(Time(self.now)),
            ..Default::default()
        }
    }

    async fn run(mut self) -> Result<Action> {
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
                )
                .await;
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
            }
        }
        if refresh.is_some() {
            self.remove_refresh_annotation().await?;
        }
        Ok(Action::requeue(self.requeue))
    }

    /// Dereference → validate → resolve → render → diff → sync → status.
    async fn pipeline(
        &mut self,
        operation: Option<&Operation>,
        refresh: Option<Refresh>,
    ) -> Result<(), Failure> {
        // Dereference and validate.
        self.report_unknown_fields().await;
        let (project_name, project) = self.project().await?;
        let source = self.validate(&project_name, &project)?.clone();
        let sync_op = operation.and_then(|o| o.sync.as_ref());

        // Resolve the revision.
        let wanted = sync_op
            .and_then(|s| s.revision.as_deref())
            .filter(|r| !r.is_empty())
            .unwrap_or(source.revision())
            .to_string();
        let fetch = self.should_fetch(refresh.is_some() || operation.is_some());
        let repo = source.repo_url.clone();
        let sha = self
            .ctx
            .source
            .resolve(&repo, &wanted, fetch)
            .await
            .map_err(|e| Error::Source {
                app: self.label.clone(),
                repo: repo.clone(),
                revision: wanted.clone(),
                message: e.0,
            })?;
        if fetch {
            self.ctx.memory(&self.id, |m| {
                m.last_fetch = Some(Instant::now());
                m.dirty = false;
            });
        }

        // Render (cached by repository, commit, path and overrides).
        let rendered = self
            .render(&source, &sha, refresh == Some(Refresh::Hard))
            .await?;
        self.ctx.memory(&self.id, |m| {
            m.repo = repo.clone();
            m.path = source.path().to_string();
            m.files_read = rendered.files_read.clone();
            m.target_revision = source.revision().to_string();
        });
        let mut desired = rendered.objects.clone();
        let mut blocked = self.check_children(&mut desired);
        let forbidden = project::forbidden_objects(
            &project,
            &project_name,
            desired.iter().map(Object::key).collect::<Vec<_>>().iter(),
        );
        if !forbidden.is_empty() {
            blocked = true;
            self.conditions.push((
                condition::INVALID_SPEC_ERROR.to_string(),
                format!("application {}: {}", self.label, forbidden.join("; ")),
            ));
        }

        // Diff.
        let mut target = self.target(sync_op);
        let engine_cmp = self.diff(&target, &desired, &sha).await?;
        self.ctx.set_tracking_name(&target.app, &self.id);
        for warning in &engine_cmp.warnings {
            self.conditions
                .push((warning.condition.to_string(), warning.message.clone()));
        }
        if self.ctx.config.watch_managed {
            self.ctx.watches.update(
                &self.ctx.client,
                self.ctx.weak(),
                &self.id,
                &engine_cmp.managed_kinds,
            );
        }
        let cmp = Comparison::from_engine(&engine_cmp);

        // Decide and sync.
        let mut obs = self.base_observation();
        obs.revision = Some(sha.clone());
        obs.source_type = Some(format!("{:?}", rendered.source_type));
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
        let final_cmp = match decision {
            Decision::Sync { retry, self_heal } => {
                let op = match operation {
                    Some(op) => op.clone(),
                    None => self.automated_operation(&sha, &target),
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
                obs.operation_state = Some(state);
                obs.synced = entry;
                after
            }
            Decision::Wait(delay) => {
                self.requeue = self.requeue.min(delay + Duration::from_millis(100));
                cmp
            }
            Decision::Skip(_) => cmp,
        };
        if !final_cmp.out_of_sync() {
            self.ctx.memory(&self.id, |m| m.self_heal_attempts = 0);
        }
        let last_op = obs
            .operation_state
            .clone()
            .or_else(|| self.prev.operation_state.clone());
        self.add_sync_error_condition(last_op.as_ref(), &sha);

        // Status.
        obs.comparison = Some(&final_cmp);
        obs.conditions = std::mem::take(&mut self.conditions);
        let next = status::compute(&self.prev, obs);
        self.write_status(&next).await.map_err(Failure::from)?;
        if operation.is_some() {
            self.clear_operation().await.map_err(Failure::from)?;
        }
        self.after_status(&next);
        Ok(())
    }

    /// Reports spec fields driftless does not support, checked once per
    /// generation (one extra read of the stored object).
    async fn report_unknown_fields(&mut self) {
        let generation = self.app.meta().generation;
        let known = self.ctx.memory(&self.id, |m| {
            m.unknown_fields
                .as_ref()
                .filter(|(g, _)| *g == generation)
                .map(|(_, f)| f.clone())
        });
        let fields = match known {
            Some(f) => f,
            None => {
                let api: Api<kube::api::DynamicObject> = Api::namespaced_with(
                    self.ctx.client.clone(),
                    &self.id.0,
                    &kube::api::ApiResource::erase::<Application>(&()),
                );
                let Ok(raw) = api.get(&self.id.1).await else {
                    return;
                };
                let raw = serde_json::json!({
                    "spec": raw.data.get("spec").cloned().unwrap_or_default(),
                    "operation": raw.data.get("operation").cloned().unwrap_or_default(),
                });
                let typed = serde_json::json!({
                    "spec": serde_json::to_value(&self.app.spec.spec).unwrap_or_default(),
                    "operation": serde_json::to_value(&self.app.spec.operation).unwrap_or_default(),
                });
                let fields = crate::unknown::unknown_fields(&raw, &typed);
                self.ctx.memory(&self.id, |m| {
                    m.unknown_fields = Some((generation, fields.clone()))
                });
                fields
            }
        };
        if !fields.is_empty() {
            self.conditions.push((
                condition::UNSUPPORTED_FIELD_WARNING.to_string(),
                format!(
                    "application {}: not supported yet and ignored: {}",
                    self.label,
                    fields.join(", ")
                ),
            ));
        }
    }

    async fn project(&self) -> Result<(String, AppProjectSpec), Failure> {
        let name = match self.app.spec.spec.project.as_str() {
            "" => driftless_api::DEFAULT_PROJECT.to_string(),
            n => n.to_string(),
        };
        let api: Api<AppProject> = Api::namespaced(self.ctx.client.clone(), &self.id.0);
        match api.get_opt(&name).await {
            Ok(Some(p)) => Ok((name, p.spec)),
            Ok(None) if name == driftless_api::DEFAULT_PROJECT => {
                Ok((name, project::default_project()))
            }
            Ok(None) => Err(Failure {
                condition: condition::INVALID_SPEC_ERROR,
                message: format!(
                    "application {}: AppProject {}/{name} does not exist",
                    self.label, self.id.0
                ),
            }),
            // No AppProject CRD installed: only the implicit default exists.
            Err(kube::Error::Api(s)) if s.code == 404 && name == driftless_api::DEFAULT_PROJECT => {
                Ok((name, project::default_project()))
            }
            Err(e) => Err(Error::kube(&self.label, format!("get AppProject {name}"), e).into()),
        }
    }

    fn validate(
        &mut self,
        project_name: &str,
        project: &AppProjectSpec,
    ) -> Result<&'a ApplicationSource, Failure> {
        let spec = &self.app.spec.spec;
        let invalid = |message: String| Failure {
            condition: condition::INVALID_SPEC_ERROR,
            message: format!("application {}: {message}", self.label),
        };
        let source = match (&spec.source, spec.sources.as_slice()) {
            (Some(s), _) => s,
            (None, [only]) => only,
            (None, []) => return Err(invalid("spec.source is required".into())),
            (None, _) => {
                return Err(invalid(
                    "spec.sources with more than one source is not supported yet".into(),
                ));
            }
        };
        if source.repo_url.trim().is_empty() {
            return Err(invalid("spec.source.repoURL is empty".into()));
        }
        if !spec.destination.is_in_cluster() {
            return Err(invalid(format!(
                "destination {} is not supported yet: only the controller's own cluster ({} / {}) is",
                spec.destination
                    .server
                    .as_deref()
                    .or(spec.destination.name.as_deref())
                    .unwrap_or(""),
                driftless_api::IN_CLUSTER_SERVER,
                driftless_api::IN_CLUSTER_NAME
            )));
        }
        if !project::source_allowed(project, &source.repo_url) {
            return Err(invalid(format!(
                "repository {} is not permitted in project {project_name}",
                source.repo_url
            )));
        }
        if !project::destination_allowed(project, &spec.destination) {
            return Err(invalid(format!(
                "destination namespace {:?} is not permitted in project {project_name}",
                spec.destination.namespace.as_deref().unwrap_or("")
            )));
        }
        Ok(source)
    }

    fn should_fetch(&self, asked: bool) -> bool {
        let changed_spec = self.app.meta().generation != self.prev.observed_generation;
        let interval = self.ctx.config.requeue_interval / 2;
        self.ctx.memory(&self.id, |m| {
            asked || changed_spec || m.dirty || m.last_fetch.is_none_or(|t| t.elapsed() >= interval)
        })
    }

    async fn render(
        &self,
        source: &ApplicationSource,
        sha: &str,
        bypass_cache: bool,
    ) -> Result<Arc<driftless_render::Rendered>, Failure> {
        let key = RenderKey {
            repo: source.repo_url.clone(),
            commit: sha.to_string(),
            path: source.path().to_string(),
            overrides: overrides::fingerprint(source),
        };
        if !bypass_cache && let Some(hit) = self.ctx.render_cache.get(&key) {
            return Ok(hit);
        }
        let render_error = |message: String| Error::Render {
            app: self.label.clone(),
            repo: source.repo_url.clone(),
            revision: sha.to_string(),
            path: source.path().to_string(),
            message,
        };
        let options = overrides::render_options(source).map_err(|m| Failure {
            condition: condition::INVALID_SPEC_ERROR,
            message: format!("application {}: {m}", self.label),
        })?;
        let rendered = self
            .ctx
            .source
            .render(&source.repo_url, sha, source.path(), &options)
            .await
            .map_err(|e| render_error(e.0))?;
        let rendered = Arc::new(rendered);
        self.ctx.render_cache.insert(key, rendered.clone());
        Ok(rendered)
    }

    /// Records the child Applications of this one (App of Apps) and drops
    /// those that would close a cycle; returns true when a cycle was found.
    fn check_children(&mut self, desired: &mut Vec<Object>) -> bool {
        let dest_ns = self.app.spec.spec.destination.namespace.clone();
        let child_id = |o: &Object| -> AppId {
            let ns = o
                .namespace()
                .map(str::to_string)
                .or(dest_ns.clone())
                .unwrap_or_else(|| self.id.0.clone());
            (ns, o.name().to_string())
        };
        let is_app = |o: &Object| o.group() == driftless_api::GROUP && o.kind() == "Application";
        let children: BTreeSet<AppId> =
            desired.iter().filter(|o| is_app(o)).map(child_id).collect();
        let cycle = {
            let mut graph = self.ctx.graph();
            graph.set_children(self.id.clone(), children);
            graph.cycle_through(&self.id)
        };
        let Some(cycle) = cycle else {
            return false;
        };
        let in_cycle: BTreeSet<AppId> = cycle.iter().cloned().collect();
        desired.retain(|o| !(is_app(o) && in_cycle.contains(&child_id(o))));
        self.conditions.push((
            condition::CYCLIC_DEPENDENCY_ERROR.to_string(),
            cycle::describe(&cycle),
        ));
        cycle.len() > 1
    }

    fn target(&mut self, sync_op: Option<&SyncOperation>) -> Target {
        let spec = &self.app.spec.spec;
        let policy = spec.sync_policy.clone().unwrap_or_default();
        let automated = policy.automated().cloned();
        let mut options: Vec<String> = policy.sync_options.clone();
        if let Some(op) = sync_op {
            options.extend(op.sync_options.iter().cloned());
        }
        let (options, unknown) = parse_sync_options(&options);
        for u in unknown {
            self.conditions.push((
                condition::UNSUPPORTED_FIELD_WARNING.to_string(),
                format!(
                    "application {}: sync option {u:?} is not supported",
                    self.label
                ),
            ));
        }
        Target {
            app: tracking_name(self.app, &self.ctx.config.credentials_namespace),
            namespace: spec.destination.namespace.clone().filter(|n| !n.is_empty()),
            options,
            ignore_differences: spec.ignore_differences.clone(),
            prune: match sync_op {
                Some(op) => op.prune,
                None => automated.as_ref().is_some_and(|a| a.prune),
            },
            allow_empty: automated.as_ref().is_some_and(|a| a.allow_empty),
            dry_run: sync_op.is_some_and(|op| op.dry_run),
            resources: sync_op.filter(|op| !op.resources.is_empty()).map(|op| {
                op.resources
                    .iter()
                    .map(|r| driftless_api::SyncOperationResource {
                        namespace: r
                            .namespace
                            .clone()
                            .or_else(|| spec.destination.namespace.clone()),
                        ..r.clone()
                    })
                    .collect()
            }),
            previous: self.prev.resources.clone(),
        }
    }

    async fn diff(
        &self,
        target: &Target,
        desired: &[Object],
        sha: &str,
    ) -> Result<driftless_sync::Comparison, Failure> {
        let cmp = self
            .ctx
            .engine
            .diff(target, desired.to_vec())
            .await
            .map_err(|e| Error::Comparison {
                app: self.label.clone(),
                revision: sha.to_string(),
                message: e.to_string(),
            })?;
        Ok(cmp)
    }

    fn decide(&self, cmp: &Comparison, sha: &str, empty: bool) -> Decision {
        let policy = self.app.spec.spec.sync_policy.as_ref();
        let retry = match RetryPolicy::from_strategy(policy.and_then(|p| p.retry.as_ref())) {
            Ok(r) => r,
            Err(m) => {
                tracing::warn!(error = %m, "bad syncPolicy.retry; using the defaults");
                RetryPolicy::default()
            }
        };
        let (attempts, last_heal) = self
            .ctx
            .memory(&self.id, |m| (m.self_heal_attempts, m.last_self_heal));
        decide::auto_sync(
            &AutoSyncInput {
                policy,
                revision: sha,
                out_of_sync: cmp.out_of_sync(),
                only_pruning: cmp.only_pruning(),
                empty_render: empty,
                last: self.prev.operation_state.as_ref(),
                self_heal_attempts: attempts,
                last_self_heal: last_heal,
                now: self.now,
            },
            &retry,
        )
    }

    fn automated_operation(&self, sha: &str, target: &Target) -> Operation {
        Operation {
            sync: Some(SyncOperation {
                revision: Some(sha.to_string()),
                prune: target.prune,
                ..Default::default()
            }),
            initiated_by: Some(OperationInitiator {
                username: None,
                automated: true,
            }),
            ..Default::default()
        }
    }

    fn finished_op(
        &self,
        operation: Operation,
        phase: OperationPhase,
        message: String,
        result: Option<SyncOperationResult>,
        retry: u32,
    ) -> OperationState {
        OperationState {
            operation,
            phase,
            message: Some(message),
            sync_result: result,
            started_at: Some(Time(self.now)),
            finished_at: Some(Time(Timestamp::now())),
            retry_count: Some(i64::from(retry)),
        }
    }

    /// Runs a sync: records it as Running, applies, records the outcome,
    /// and compares again for the status.
    #[allow(clippy::too_many_arguments)]
    async fn sync(
        &mut self,
        op: Operation,
        target: &Target,
        cmp: driftless_sync::Comparison,
        desired: &[Object],
        sha: &str,
        source: &ApplicationSource,
        retry: u32,
    ) -> Result<(OperationState, Option<RevisionHistory>, Comparison), Failure> {
        let short = &sha[..sha.len().min(7)];
        let running = OperationState {
            operation: op.clone(),
            phase: OperationPhase::Running,
            message: Some(format!("syncing to {short}")),
            started_at: Some(Time(self.now)),
            retry_count: Some(i64::from(retry)),
            ..Default::default()
        };
        let mut with_running = self.prev.clone();
        with_running.operation_state = Some(running);
        self.write_status(&with_running)
            .await
            .map_err(Failure::from)?;
        self.prev = with_running;
        events::publish(
            self.ctx,
            self.app,
            false,
            reason::SYNC_STARTED,
            format!(
                "sync to {sha} started ({} resources out of sync)",
                cmp.out_of_sync().count()
            ),
        )
        .await;

        let started = Instant::now();
        let outcome = self.ctx.engine.sync(target, cmp).await;
        self.ctx
            .metrics
            .sync_duration
            .observe(started.elapsed().as_secs_f64());
        let (phase, message, result) = match outcome {
            Ok(r) => {
                let phase = if r.succeeded {
                    OperationPhase::Succeeded
                } else {
                    OperationPhase::Failed
                };
                let resources = r.resource_results();
                let pruned: Vec<String> = r
                    .resources
                    .iter()
                    .filter(|o| o.action == driftless_sync::Action::Pruned)
                    .map(|o| o.key.to_string())
                    .collect();
                if !pruned.is_empty() {
                    events::publish(
                        self.ctx,
                        self.app,
                        false,
                        reason::PRUNED,
                        format!("pruned {}", pruned.join(", ")),
                    )
                    .await;
                }
                (
                    phase,
                    r.message.clone(),
                    Some(SyncOperationResult {
                        revision: sha.to_string(),
                        source: Some(source.clone()),
                        resources,
                    }),
                )
            }
            Err(e) => (
                OperationPhase::Error,
                e.to_string(),
                Some(SyncOperationResult {
                    revision: sha.to_string(),
                    source: Some(source.clone()),
                    resources: vec![],
                }),
            ),
        };
        let ok = phase == OperationPhase::Succeeded;
        Metrics::count(
            &self.ctx.metrics.syncs,
            match phase {
                OperationPhase::Succeeded => "succeeded",
                OperationPhase::Failed => "failed",
                _ => "error",
            },
        );
        events::publish(
            self.ctx,
            self.app,
            !ok,
            if ok {
                reason::SYNC_SUCCEEDED
            } else {
                reason::SYNC_FAILED
            },
            if ok {
                format!("sync to {sha} succeeded: {message}")
            } else {
                format!("sync to {sha} failed: {message}")
            },
        )
        .await;
        let initiated_by = op.initiated_by.clone();
        let dry_run = target.dry_run;
        let state = self.finished_op(op, phase, message, result, retry);
        let entry = (ok && !dry_run).then(|| RevisionHistory {
            id: 0,
            revision: sha.to_string(),
            deployed_at: state.finished_at.clone(),
            deploy_started_at: state.started_at.clone(),
            source: Some(source.clone()),
            initiated_by,
        });
        // Compare again so the status shows the cluster after the sync.
        let mut after_target = target.clone();
        after_target.resources = None;
        let after = match self.ctx.engine.diff(&after_target, desired.to_vec()).await {
            Ok(c) => Comparison::from_engine(&c),
            Err(e) => {
                return Err(Error::Comparison {
                    app: self.label.clone(),
                    revision: sha.to_string(),
                    message: e.to_string(),
                }
                .into());
            }
        };
        Ok((state, entry, after))
    }

    fn add_sync_error_condition(&mut self, last: Option<&OperationState>, sha: &str) {
        let Some(last) = last else { return };
        let same_revision = last.sync_result.as_ref().map(|r| r.revision.as_str()) == Some(sha);
        if same_revision && matches!(last.phase, OperationPhase::Failed | OperationPhase::Error) {
            self.conditions.push((
                condition::SYNC_ERROR.to_string(),
                format!(
                    "application {}: sync to {sha} failed (attempt {}): {}",
                    self.label,
                    last.retry_count.unwrap_or(0) + 1,
                    last.message.as_deref().unwrap_or("")
                ),
            ));
        }
    }

    async fn write_status(&self, next: &ApplicationStatus) -> Result<()> {
        if !status::differs(&self.prev, next) {
            return Ok(());
        }
        let old = serde_json::to_value(&self.prev).unwrap_or_default();
        let new = serde_json::to_value(next).unwrap_or_default();
        let Some(diff) = patch::merge_diff(&old, &new) else {
            return Ok(());
        };
        tracing::debug!(patch = %diff, "writing status");
        let body = json!({ "status": diff });
        let written = self
            .api()
            .patch_status(&self.id.1, &PatchParams::default(), &Patch::Merge(&body))
            .await
            .map_err(|e| Error::kube(&self.label, "write status", e))?;
        self.ctx.metrics.app_writes.inc();
        let rv = written
            .metadata
            .resource_version
            .as_deref()
            .and_then(|v| v.parse::<u64>().ok());
        self.ctx.memory(&self.id, |m| {
            m.written = rv.map(|rv| (rv, next.clone()));
        });
        Ok(())
    }

    async fn clear_operation(&self) -> Result<()> {
        let body = json!({ "operation": null });
        self.api()
            .patch(&self.id.1, &PatchParams::default(), &Patch::Merge(&body))
            .await
            .map_err(|e| Error::kube(&self.label, "clear operation", e))?;
        self.ctx.metrics.app_writes.inc();
        Ok(())
    }

    async fn remove_refresh_annotation(&self) -> Result<()> {
        let body = json!({ "metadata": { "annotations": { REFRESH_ANNOTATION: null } } });
        self.api()
            .patch(&self.id.1, &PatchParams::default(), &Patch::Merge(&body))
            .await
            .map_err(|e| Error::kube(&self.label, "remove the refresh annotation", e))?;
        self.ctx.metrics.app_writes.inc();
        Ok(())
    }

    /// Metrics, the parent's refresh (App of Apps), and a sooner requeue
    /// while resources are still progressing.
    fn after_status(&mut self, next: &ApplicationStatus) {
        let sync = next
            .sync
            .as_ref()
            .map(|s| format!("{:?}", s.status))
            .unwrap_or_else(|| "Unknown".into());
        let health = next.health.as_ref().map(|h| h.status);
        self.ctx.metrics.set_app_state(
            self.id.clone(),
            Some(AppLabels {
                sync_status: sync,
                health_status: health
                    .map(|h| format!("{h:?}"))
                    .unwrap_or_else(|| "Unknown".into()),
            }),
        );
        use driftless_api::HealthStatusCode::{Missing, Progressing};
        // With watches on the managed kinds, health changes requeue the
        // Application themselves; without them, look again soon.
        if !self.ctx.config.watch_managed && matches!(health, Some(Progressing | Missing)) {
            self.requeue = self.requeue.min(self.ctx.config.progress_interval);
        }
        let prev_view = (
            self.prev.sync.as_ref().map(|s| s.status),
            self.prev.health.as_ref().map(|h| h.status),
        );
        let next_view = (next.sync.as_ref().map(|s| s.status), health);
        if prev_view != next_view {
            let parents = self.ctx.graph().parents_of(&self.id);
            for parent in parents {
                self.ctx.trigger(&parent);
            }
        }
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
