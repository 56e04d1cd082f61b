//! One Kustomization's reconcile on the engine's phases: plan → dependencies
//! → source → resolve → render → compare → sync → health → status (a new
//! revision that changes nothing the build reads skips render, compare and
//! sync: [`super::unchanged`]). Every
//! failure becomes an [`Outcome`] (a condition with Flux's reason); only
//! API failures writing the Kustomization itself reach the error policy.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use driftless_api::flux::RECONCILE_REQUESTED_AT;
use driftless_api::flux::condition::reasons;
use driftless_api::flux::kustomize::v1::Kustomization;
use driftless_api::flux::kustomize::{KustomizationStatus, ResourceInventory};
use driftless_render::Object;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::{Resource, ResourceExt};

use super::error::KustomizationError;
use super::health::{self, Exprs, Verdict};
use super::plan::{self, Plan, PlanError};
use super::status::{self, Ending, Outcome, Report};
use super::{deps, impersonate, inventory, raw, source, unchanged};
use crate::adapters::Engine;
use crate::context::{Context, OwnerId};
use crate::cycle::AppId;
use crate::engine::{self, Owner, RenderRequest};
use crate::flux_state::RenderedInputs;
use crate::gitrepository::changes;
use crate::metrics::FluxLabels;
use crate::pipeline::{Comparison, SourceFilter};
use crate::watched::NextReconcile;
use crate::{flux_entry, flux_write};

/// How soon health checks in progress are looked at again (the managed
/// objects' watch events usually come first).
const HEALTH_POLL: Duration = Duration::from_secs(2);

/// One reconcile's state: who, and what it started from.
pub(super) struct Run<'a> {
    ks: &'a Kustomization,
    ctx: &'a Context,
    id: AppId,
    owner: Owner,
    prev: KustomizationStatus,
    /// What became of the render (the `render` label of the reconcile metric).
    rendering: OnceLock<&'static str>,
}

/// A phase's early end: the outcome and when to look again.
type Stop = (Outcome, Duration);

fn failed(reason: &'static str, message: impl Into<String>, retry: Duration) -> Stop {
    let message = message.into();
    (Outcome::Failed { reason, message }, retry)
}

/// What the phases produced for the status.
struct Done {
    revision: Option<String>,
    outcome: Outcome,
    inventory: Option<ResourceInventory>,
    requeue: Duration,
}

impl<'a> Run<'a> {
    pub(super) fn new(ks: &'a Kustomization, ctx: &'a Context) -> Self {
        let id = (ks.namespace().unwrap_or_default(), ks.name_any());
        Run {
            owner: Owner::new("kustomization", &id.0, &id.1),
            prev: flux_write::freshest_of(ks, ctx, &id),
            rendering: OnceLock::new(),
            id,
            ks,
            ctx,
        }
    }

    /// Runs the phases, writes the status and publishes what changed.
    pub(super) async fn run(self) -> Result<NextReconcile, KustomizationError> {
        let done = self.phases().await;
        let labels = FluxLabels {
            controller: "Kustomization".into(),
            render: self.rendering.get().copied().unwrap_or("none").into(),
        };
        self.ctx
            .metrics
            .flux_reconciles
            .get_or_create(&labels)
            .inc();
        let report = Report {
            generation: self.ks.meta().generation,
            revision: done.revision,
            outcome: done.outcome,
            inventory: done.inventory,
            requested_at: self.ks.annotations().get(RECONCILE_REQUESTED_AT).cloned(),
        };
        let next = status::next(&self.prev, &report, Time(Timestamp::now()));
        tracing::debug!(outcome = ?report.outcome, requeue = ?done.requeue, "reconciled");
        flux_entry::finish(self.ctx, self.ks, &self.prev, &next, done.requeue).await
    }

    async fn phases(&self) -> Done {
        let mut plan = match plan::plan(self.ks) {
            Ok(plan) => plan,
            Err(e) => return self.stalled(e),
        };
        match raw::read(self.ctx, &self.id, self.ks) {
            Ok(raw) if !raw.unknown.is_empty() => {
                let fields = raw.unknown.join(", ");
                return self.stalled(PlanError::Unknown(fields));
            }
            Ok(raw) => plan.render = raw.render,
            Err(error) => {
                tracing::warn!(%error, "cannot examine the stored spec; building the typed one")
            }
        }
        let mut revision = None;
        match self.apply(&plan, &mut revision).await {
            Ok((outcome, inventory, requeue)) => Done {
                revision,
                outcome,
                inventory: Some(inventory),
                requeue,
            },
            Err((outcome, requeue)) => Done {
                revision,
                outcome,
                inventory: None,
                requeue,
            },
        }
    }

    fn stalled(&self, e: PlanError) -> Done {
        let reason = match &e {
            PlanError::Unsupported(_) | PlanError::Unknown(_) => reasons::UNSUPPORTED,
            PlanError::Duration(_) | PlanError::Invalid(_) => reasons::INVALID_SPEC,
        };
        Done {
            revision: None,
            outcome: Outcome::Stalled {
                reason,
                message: format!(
                    "kustomization {}: {e}; nothing was applied",
                    self.owner.name
                ),
            },
            inventory: None,
            requeue: Duration::from_secs(600),
        }
    }

    /// Dependencies → source → render → compare → sync → health.
    async fn apply(
        &self,
        plan: &Plan,
        revision: &mut Option<String>,
    ) -> Result<(Outcome, ResourceInventory, Duration), Stop> {
        let retry = plan.retry_interval;
        self.check_dependencies(retry).await?;
        let source = (plan.source.namespace.clone(), plan.source.name.clone());
        self.ctx.flux.set_source(&self.id, &source);
        let artifact = source::artifact(self.ctx, &plan.source)
            .await
            .map_err(|e| self.artifact_failed(e.to_string(), retry))?;
        *revision = Some(artifact.revision.clone());
        let ctx = self.ctx;
        let sha = engine::resolve(ctx, &self.owner, &artifact.url, &artifact.sha, false)
            .await
            .map_err(|e| self.artifact_failed(e.to_string(), retry))?
            .sha;
        let key = unchanged::key(plan, self.ks.meta().generation, &artifact);
        if self.unchanged(&key, &artifact, &sha).await {
            return Ok(self.move_on(plan, &sha, &artifact.revision).await);
        }
        let _ = self.rendering.set(self.render_label(&key, &sha));
        self.build_and_apply(plan, &artifact, sha, key).await
    }

    /// The artifact could not be read: `ArtifactFailed`, and the artifact
    /// this reconcile was triggered for is no longer claimed, so the next
    /// event of the same artifact (the watch catching up with a hand-off,
    /// the source turning Ready) triggers it again rather than leaving it
    /// to its retry interval.
    fn artifact_failed(&self, message: String, retry: Duration) -> Stop {
        self.ctx.flux.memory(&self.id, |m| m.claimed = None);
        failed(reasons::ARTIFACT_FAILED, message, retry)
    }

    /// `repeated` when the last applied build is rendered again (same commit
    /// and inputs), else `rendered`.
    fn render_label(&self, key: &str, sha: &str) -> &'static str {
        let again = self.ctx.flux.memory(&self.id, |m| {
            let r = m.rendered.as_ref();
            r.is_some_and(|r| r.sha == sha && r.key == key)
        });
        if again { "repeated" } else { "rendered" }
    }

    /// Render → compare → sync → health, remembering what the applied
    /// build read.
    async fn build_and_apply(
        &self,
        plan: &Plan,
        artifact: &source::Artifact,
        sha: String,
        key: String,
    ) -> Result<(Outcome, ResourceInventory, Duration), Stop> {
        let retry = plan.retry_interval;
        let started = Instant::now();
        let (desired, files_read) = self.render(plan, artifact, &sha).await?;
        tracing::debug!(revision = %artifact.revision, elapsed_ms = crate::metrics::elapsed_ms(started), "rendered");
        let sa = self.ks.spec.service_account_name.as_deref();
        let acting = impersonate::engine(self.ctx, &self.id.0, sa)
            .map_err(|m| failed(reasons::RECONCILIATION_FAILED, m, retry))?;
        let started = Instant::now();
        let (cmp, inventory) = self.compare(&acting, plan, &desired, &sha).await?;
        tracing::debug!(elapsed_ms = crate::metrics::elapsed_ms(started), "compared");
        let checks = !health::checks(plan, &inventory).is_empty();
        // Before the sync: the status updates of what it creates follow at once.
        self.ctx
            .flux
            .memory(&self.id, |m| m.no_health_checks = !checks);
        let mut known = if checks {
            health::known_of(&cmp)
        } else {
            Default::default()
        };
        let started = Instant::now();
        let synced = self.sync(&acting, plan, cmp, &artifact.revision).await?;
        tracing::debug!(elapsed_ms = crate::metrics::elapsed_ms(started), "applied");
        if let Some(result) = synced.filter(|_| checks) {
            known = self.after_sync(&acting, plan, &desired, &result).await;
        }
        let rendered = RenderedInputs {
            sha,
            key,
            dirs: unchanged::dirs(&plan.path, &files_read),
            ignore: artifact.ignore.clone(),
        };
        self.ctx
            .flux
            .memory(&self.id, |m| m.rendered = Some(rendered));
        let (outcome, requeue) = self
            .health(plan, &inventory, &artifact.revision, &known)
            .await;
        Ok((outcome, inventory, requeue))
    }

    /// The live objects right after a sync, from what the server answered
    /// to the applies (read again only if changed since); empty when that
    /// comparison fails (the health checks read them then).
    async fn after_sync(
        &self,
        acting: &Engine,
        plan: &Plan,
        desired: &[Object],
        result: &driftless_sync::SyncResult,
    ) -> health::Known {
        let target = plan.applying_target(inventory::previous(self.prev.inventory.as_ref()));
        match acting
            .diff_after_sync(&target, desired.to_vec(), result)
            .await
        {
            Ok(cmp) => health::known_of(&cmp),
            Err(error) => {
                tracing::debug!(%error, "health checks read the objects");
                health::Known::default()
            }
        }
    }

    /// Whether the new commit `sha` changes nothing the last applied build
    /// read (see [`unchanged`]); any doubt says it may have.
    async fn unchanged(&self, key: &str, artifact: &source::Artifact, sha: &str) -> bool {
        let reads_cluster = self
            .ks
            .spec
            .post_build
            .as_ref()
            .is_some_and(|p| !p.substitute_from.is_empty());
        let generation = self.ks.meta().generation;
        let from = self.ctx.flux.memory(&self.id, |m| {
            let r = m.rendered.as_ref();
            unchanged::candidate(r, &self.prev, key, sha, generation, reads_cluster).cloned()
        });
        let Some(from) = from else {
            return false;
        };
        match changes::between(&*self.ctx.source, &artifact.url, &from.sha, sha).await {
            Ok(changed) => !unchanged::touched(&changed, &from.dirs),
            Err(error) => {
                tracing::debug!(%error, "rendering: the files changed are not known");
                false
            }
        }
    }

    /// The applied objects stand for the new commit: it becomes the applied
    /// revision without a render or an apply; health is judged as usual.
    async fn move_on(
        &self,
        plan: &Plan,
        sha: &str,
        revision: &str,
    ) -> (Outcome, ResourceInventory, Duration) {
        let _ = self.rendering.set("unchanged");
        self.ctx.flux.memory(&self.id, |m| {
            if let Some(r) = &mut m.rendered {
                r.sha = sha.to_string();
            }
        });
        tracing::debug!(
            sha,
            "no file the build reads changed: neither rendered nor applied"
        );
        let inventory = self.prev.inventory.clone().unwrap_or_default();
        let known = health::Known::default();
        let (outcome, requeue) = self.health(plan, &inventory, revision, &known).await;
        (outcome, inventory, requeue)
    }

    async fn check_dependencies(&self, retry: Duration) -> Result<(), Stop> {
        let ns = &self.id.0;
        let ids: Vec<AppId> = self
            .ks
            .spec
            .depends_on
            .iter()
            .map(|d| deps::dependency_id(d, ns))
            .collect();
        self.ctx.flux.set_dependencies(&self.id, &ids);
        deps::check_all(&self.ctx.client, self.ks)
            .await
            .map_err(|m| failed(reasons::DEPENDENCY_NOT_READY, m, retry))
    }

    /// Renders the path and labels every object as Flux does; also returns
    /// the files the render read.
    async fn render(
        &self,
        plan: &Plan,
        artifact: &source::Artifact,
        sha: &str,
    ) -> Result<(Vec<Object>, Vec<String>), Stop> {
        let request = RenderRequest {
            repo: artifact.url.clone(),
            commit: sha.to_string(),
            path: plan.path.clone(),
            options: plan.render.clone(),
            fingerprint: plan.render_fingerprint(),
            filter: Some(SourceFilter {
                spec_ignore: artifact.ignore.clone(),
            }),
        };
        let rendered = engine::render(self.ctx, &self.owner, &request, false)
            .await
            .map_err(|e| failed(reasons::BUILD_FAILED, e.to_string(), plan.retry_interval))?;
        self.refuse_skipped_links(&rendered.warnings, sha, plan.retry_interval)?;
        let objects = rendered.objects.clone();
        let client = &self.ctx.client;
        let mut objects =
            crate::flux_build::after_render(client, &self.id.0, &self.ks.spec, objects)
                .await
                .map_err(|e| {
                    failed(
                        reasons::BUILD_FAILED,
                        format!("kustomization {}: {e}", self.owner.name),
                        plan.retry_interval,
                    )
                })?;
        for obj in &mut objects {
            label(obj, &plan.labels);
        }
        Ok((objects, rendered.files_read.clone()))
    }

    /// A symlink the render could not follow (out of the repository,
    /// dangling, looping) fails the build, as Flux's kustomize build does:
    /// applying the rest would silently drop what it points to.
    fn refuse_skipped_links(
        &self,
        warnings: &[driftless_render::RenderWarning],
        sha: &str,
        retry: Duration,
    ) -> Result<(), Stop> {
        let skipped: Vec<String> = warnings
            .iter()
            .filter(|w| matches!(w, driftless_render::RenderWarning::SkippedLink { .. }))
            .map(ToString::to_string)
            .collect();
        if skipped.is_empty() {
            return Ok(());
        }
        let message = format!(
            "kustomization {}: at {sha}: {}; nothing was applied",
            self.owner.name,
            skipped.join("; ")
        );
        Err(failed(reasons::BUILD_FAILED, message, retry))
    }

    /// Compares and limits pruning to the inventory; an empty build while
    /// objects are applied is a failure, never a reason to prune them all.
    async fn compare(
        &self,
        acting: &Engine,
        plan: &Plan,
        desired: &[Object],
        sha: &str,
    ) -> Result<(driftless_sync::Comparison, ResourceInventory), Stop> {
        let prev_inventory = self.prev.inventory.as_ref();
        let target = plan.applying_target(inventory::previous(prev_inventory));
        let owner_id = OwnerId::Kustomization(self.id.clone());
        self.ctx.set_tracking_owner(&target.app, owner_id.clone());
        let mut cmp = engine::compare(acting, &self.owner, &target, desired, sha)
            .await
            .map_err(|e| {
                failed(
                    reasons::RECONCILIATION_FAILED,
                    e.to_string(),
                    plan.retry_interval,
                )
            })?;
        let applied_before = prev_inventory.map_or(0, |inv| inv.entries.len());
        if desired.is_empty() && applied_before > 0 {
            let message = format!(
                "the build of {:?} at {sha} is empty; the {applied_before} objects of the last applied revision are kept (nothing is pruned after an empty build)",
                plan.path
            );
            return Err(failed(reasons::BUILD_FAILED, message, plan.retry_interval));
        }
        inventory::restrict_pruning(&mut cmp, prev_inventory);
        let inv = inventory::of(&cmp);
        Ok((cmp, inv))
    }

    /// Applies and prunes what differs (the sync's result when it did); an
    /// object another owner manages is a conflict (reported, never taken
    /// over).
    async fn sync(
        &self,
        acting: &Engine,
        plan: &Plan,
        cmp: driftless_sync::Comparison,
        revision: &str,
    ) -> Result<Option<driftless_sync::SyncResult>, Stop> {
        let retry = plan.retry_interval;
        let conflicts: Vec<String> = cmp
            .resources
            .iter()
            .filter_map(|r| {
                Some(format!(
                    "{} is managed by {}",
                    r.key,
                    driftless_sync::tracking::describe_owner(r.shared_with.as_deref()?)
                ))
            })
            .collect();
        let mut synced = None;
        if Comparison::from_engine(&cmp).out_of_sync() {
            let target = plan.applying_target(inventory::previous(self.prev.inventory.as_ref()));
            let result = engine::sync(acting, &self.owner, &target, cmp, revision)
                .await
                .map_err(|e| failed(reasons::RECONCILIATION_FAILED, e.to_string(), retry))?;
            self.report_pruned(&result);
            if !result.succeeded && conflicts.is_empty() {
                return Err(failed(
                    reasons::RECONCILIATION_FAILED,
                    format!("apply failed: {}", result.message),
                    retry,
                ));
            }
            synced = Some(result);
        }
        if !conflicts.is_empty() {
            let message = format!("conflict: {}; not taken over", conflicts.join("; "));
            return Err(failed(reasons::RECONCILIATION_FAILED, message, retry));
        }
        Ok(synced)
    }

    fn report_pruned(&self, result: &driftless_sync::SyncResult) {
        crate::events::publish_pruned(self.ctx, self.ks, "Progressing", result);
    }

    /// `wait` / `healthChecks`: Ready when healthy; HealthCheckFailed when
    /// an object failed or `timeout` passed since this revision was applied.
    async fn health(
        &self,
        plan: &Plan,
        inv: &ResourceInventory,
        revision: &str,
        known: &health::Known,
    ) -> (Outcome, Duration) {
        let checks = health::checks(plan, inv);
        let exprs = match Exprs::compile(&self.ks.spec.health_check_exprs) {
            Ok(e) => e,
            Err(m) => return failed(reasons::HEALTH_CHECK_FAILED, m, plan.retry_interval),
        };
        let generation = self.ks.meta().generation.unwrap_or_default();
        let key = format!("{revision}@{generation}");
        let since = self.ctx.flux.memory(&self.id, |m| match &m.applied {
            Some((k, at)) if *k == key => *at,
            _ => {
                let now = Instant::now();
                m.applied = Some((key.clone(), now));
                now
            }
        });
        let observed = health::observe(self.ctx, &checks, &exprs, known).await;
        match health::judge(&observed) {
            Verdict::Healthy => (
                Outcome::Own(Ending::Applied {
                    checked: !checks.is_empty(),
                }),
                plan.interval,
            ),
            Verdict::Failed(m) => (
                Outcome::Own(Ending::Unhealthy {
                    message: format!("health check failed: {m}"),
                }),
                plan.retry_interval,
            ),
            Verdict::Progressing(m) if since.elapsed() >= plan.timeout => (
                Outcome::Own(Ending::Unhealthy {
                    message: format!(
                        "health check failed after {:?}: timeout waiting for: {m}",
                        plan.timeout
                    ),
                }),
                plan.retry_interval,
            ),
            Verdict::Progressing(m) => (
                Outcome::Progressing {
                    message: format!("Health check in progress: waiting for: {m}"),
                },
                HEALTH_POLL,
            ),
        }
    }
}

/// Flux's owner labels on one object (Kustomization's and HelmRelease's).
pub(crate) fn label(obj: &mut Object, owner_labels: &[(String, String)]) {
    let meta = obj.metadata_mut();
    let labels = meta
        .entry("labels")
        .or_insert_with(|| serde_json::Value::Object(Default::default()));
    if !labels.is_object() {
        *labels = serde_json::Value::Object(Default::default());
    }
    if let Some(labels) = labels.as_object_mut() {
        for (k, v) in owner_labels {
            labels.insert(k.clone(), serde_json::Value::String(v.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan_of(spec: serde_json::Value) -> Plan {
        let mut k = Kustomization::new("apps", serde_json::from_value(spec).unwrap());
        k.metadata.namespace = Some("flux-system".into());
        plan::plan(&k).unwrap()
    }

    #[test]
    fn objects_get_flux_labels() {
        let p = plan_of(
            json!({"interval": "1m", "prune": true, "sourceRef": {"kind": "GitRepository", "name": "r"}}),
        );
        let mut obj = Object::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": {"app": "x"}}})).unwrap();
        label(&mut obj, &p.labels);
        assert_eq!(obj.label("kustomize.toolkit.fluxcd.io/name"), Some("apps"));
        assert_eq!(
            obj.label("kustomize.toolkit.fluxcd.io/namespace"),
            Some("flux-system")
        );
        assert_eq!(obj.label("app"), Some("x"));
    }
}
