//! One HelmRelease's reconcile on the engine's phases: plan → unknown
//! fields → dependencies → values → chart (fetch + `helm template`) →
//! compare → sync → health → status. Every failure becomes an [`Outcome`]
//! with Flux's reason; only API failures writing the HelmRelease itself
//! reach the error policy.

use std::time::{Duration, Instant};

use driftless_api::flux::RECONCILE_REQUESTED_AT;
use driftless_api::flux::condition::{find_condition, is_ready, reasons as flux, types};
use driftless_api::flux::helm::reasons;
use driftless_api::flux::helm::v2::{HelmRelease, HelmReleaseStatus};
use driftless_api::flux::kustomize::ResourceInventory;
use driftless_render::Object;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::{Api, Resource, ResourceExt};

use super::chart::{self, ChartError, Inputs};
use super::crds::{self, CrdPolicy};
use super::plan::{self, Plan};
use super::status::{self, Ending, Outcome, Report};
use super::{HelmReleaseError, values};
use crate::adapters::Engine;
use crate::context::{Context, OwnerId};
use crate::cycle::AppId;
use crate::engine::{self, Owner};
use crate::kustomization::health::{self, Exprs, Verdict};
use crate::kustomization::plan::PlanError;
use crate::kustomization::{deps, impersonate, inventory};
use crate::pipeline::Comparison;
use crate::watched::NextReconcile;
use crate::{flux_entry, flux_write};

/// How soon objects still progressing are looked at again.
const HEALTH_POLL: Duration = Duration::from_secs(2);

/// A phase's early end: the outcome and when to look again.
type Stop = (Outcome, Duration);

fn failed(reason: &'static str, message: impl Into<String>, retry: Duration) -> Stop {
    let message = message.into();
    (Outcome::Failed { reason, message }, retry)
}

/// One reconcile's state.
pub(super) struct Run<'a> {
    hr: &'a HelmRelease,
    ctx: &'a Context,
    id: AppId,
    owner: Owner,
    prev: HelmReleaseStatus,
}

/// What the phases found out, for the status.
#[derive(Default)]
struct Attempt {
    revision: Option<String>,
    digest: Option<String>,
    action: Option<&'static str>,
    inventory: Option<ResourceInventory>,
}

impl<'a> Run<'a> {
    pub(super) fn new(hr: &'a HelmRelease, ctx: &'a Context) -> Self {
        let id = (hr.namespace().unwrap_or_default(), hr.name_any());
        Run {
            owner: Owner::new("helmrelease", &id.0, &id.1),
            prev: flux_write::freshest_of(hr, ctx, &id),
            id,
            hr,
            ctx,
        }
    }

    /// Runs the phases, writes the status and publishes what changed.
    pub(super) async fn run(self) -> Result<NextReconcile, HelmReleaseError> {
        let mut attempt = Attempt::default();
        let (outcome, requeue) = match self.phases(&mut attempt).await {
            Ok(done) | Err(done) => done,
        };
        let report = Report {
            generation: self.hr.meta().generation,
            revision: attempt.revision,
            config_digest: attempt.digest,
            action: attempt.action,
            outcome,
            inventory: attempt.inventory,
            requested_at: self.hr.annotations().get(RECONCILE_REQUESTED_AT).cloned(),
            helm_chart: format!("{0}/{0}-{1}", self.id.0, self.id.1),
            storage_namespace: self
                .hr
                .spec
                .storage_namespace
                .clone()
                .unwrap_or_else(|| self.id.0.clone()),
        };
        let next = status::next(&self.prev, &report, Time(Timestamp::now()));
        tracing::debug!(outcome = ?report.outcome, ?requeue, "reconciled");
        flux_entry::finish(self.ctx, self.hr, &self.prev, &next, requeue).await
    }

    fn stalled(&self, e: PlanError) -> Stop {
        let reason = match &e {
            PlanError::Unsupported(_) | PlanError::Unknown(_) => flux::UNSUPPORTED,
            PlanError::Duration(_) | PlanError::Invalid(_) => flux::INVALID_SPEC,
        };
        let message = format!("helmrelease {}: {e}; nothing was applied", self.owner.name);
        (
            Outcome::Stalled { reason, message },
            Duration::from_secs(600),
        )
    }

    /// Plan → dependencies → values → chart → compare → sync → health.
    async fn phases(&self, attempt: &mut Attempt) -> Result<Stop, Stop> {
        let plan = plan::plan(self.hr).map_err(|e| self.stalled(e))?;
        let unknown = super::raw::unknown_fields(self.ctx, &self.id, self.hr);
        if !unknown.is_empty() {
            return Err(self.stalled(PlanError::Unknown(unknown.join(", "))));
        }
        let retry = plan.interval;
        self.check_dependencies(retry).await?;
        let source = (
            plan.source.namespace.clone(),
            super::source_key(&plan.source.kind, &plan.source.name),
        );
        self.ctx.helm_releases.state.set_source(&self.id, &source);
        let values = values::compose(&self.ctx.client, &self.id.0, &self.hr.spec)
            .await
            .map_err(|e| failed(reasons::INIT_FAILED, format!("{}: {e}", self.owner), retry))?;
        attempt.digest = Some(values.digest.clone());
        let action = status::action(&self.prev);
        attempt.action = Some(action);
        let inputs = Inputs {
            release_name: plan.release_name.clone(),
            namespace: plan.namespace.clone(),
            values: values.text(),
            values_files: plan.values_files.clone(),
            ignore_missing: plan.ignore_missing_values_files,
            skip_crds: action == "install" && plan.crds.install == CrdPolicy::Skip,
        };
        let chart = chart::render(self.ctx, &self.owner, &plan, inputs)
            .await
            .map_err(|e| self.chart_failed(&plan, action, e))?;
        attempt.revision = Some(chart.revision.clone());
        let mut desired: Vec<Object> = chart.rendered.objects.as_ref().clone();
        for obj in &mut desired {
            crate::kustomization::reconcile::label(obj, &plan.labels);
        }
        let sa = self.hr.spec.service_account_name.as_deref();
        let acting = impersonate::engine(self.ctx, &self.id.0, sa)
            .map_err(|m| failed(status::failed_reason(action), m, retry))?;
        if plan.create_namespace {
            self.create_namespace(&plan, action).await?;
        }
        let (cmp, inv) = self
            .compare(&acting, &plan, &desired, &chart.revision, action)
            .await?;
        self.sync(&acting, &plan, cmp, &chart.revision, action)
            .await?;
        attempt.inventory = Some(inv.clone());
        Ok(self
            .health(&plan, &inv, &chart.revision, &values.digest, action)
            .await)
    }

    fn chart_failed(&self, plan: &Plan, action: &'static str, e: ChartError) -> Stop {
        let reason = match &e {
            ChartError::Source(_) | ChartError::Fetch(_) => reasons::ARTIFACT_FAILED,
            ChartError::Render(_) => status::failed_reason(action),
        };
        let message = format!("{} ({}): {e}", self.owner, plan.chart_label());
        failed(reason, message, plan.interval)
    }

    /// `dependsOn`: every HelmRelease named must be Ready at its latest
    /// generation with its last attempt applied (or its `readyExpr` hold).
    async fn check_dependencies(&self, retry: Duration) -> Result<(), Stop> {
        let ns = &self.id.0;
        let refs = &self.hr.spec.depends_on;
        let ids: Vec<AppId> = refs.iter().map(|d| deps::dependency_id(d, ns)).collect();
        self.ctx
            .helm_releases
            .state
            .set_dependencies(&self.id, &ids);
        for (dep_ref, (dep_ns, dep_name)) in refs.iter().zip(&ids) {
            let name = format!("{dep_ns}/{dep_name}");
            let not_ready = |m: String| failed(flux::DEPENDENCY_NOT_READY, m, retry);
            let api: Api<HelmRelease> = Api::namespaced(self.ctx.client.clone(), dep_ns);
            let dep = match api.get_opt(dep_name).await {
                Ok(Some(dep)) => dep,
                Ok(None) => return Err(not_ready(format!("dependency '{name}' not found"))),
                Err(e) => return Err(not_ready(format!("dependency '{name}': {e}"))),
            };
            if let Some(verdict) = deps::by_ready_expr(self.hr, dep_ref, &dep, &name) {
                verdict.map_err(not_ready)?;
                continue;
            }
            let s = dep.status.clone().unwrap_or_default();
            let generation = dep.metadata.generation;
            let ready = s.observed_generation == generation
                && is_ready(&s.conditions, generation)
                && s.last_applied_revision.is_some()
                && s.last_applied_revision == s.last_attempted_revision;
            if !ready {
                return Err(not_ready(format!("dependency '{name}' is not ready")));
            }
        }
        Ok(())
    }

    /// `install.createNamespace`: creates the target namespace when missing
    /// (never pruned, as Flux leaves it on uninstall).
    async fn create_namespace(&self, plan: &Plan, action: &'static str) -> Result<(), Stop> {
        use k8s_openapi::api::core::v1::Namespace;
        let api: Api<Namespace> = Api::all(self.ctx.client.clone());
        let mut ns = Namespace::default();
        ns.metadata.name = Some(plan.namespace.clone());
        match api.create(&Default::default(), &ns).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
            Err(e) => Err(failed(
                status::failed_reason(action),
                format!("creating namespace {}: {e}", plan.namespace),
                plan.interval,
            )),
        }
    }

    /// Compares, limiting pruning to the inventory; an empty render while
    /// objects are applied is a failure, never a reason to prune them all.
    async fn compare(
        &self,
        acting: &Engine,
        plan: &Plan,
        desired: &[Object],
        revision: &str,
        action: &'static str,
    ) -> Result<(driftless_sync::Comparison, ResourceInventory), Stop> {
        let prev_inventory = self.prev.inventory.as_ref();
        let target = plan.target(inventory::previous(prev_inventory));
        let owner_id = OwnerId::HelmRelease(self.id.clone());
        self.ctx.set_tracking_owner(&target.app, owner_id);
        let fail = |m: String| failed(status::failed_reason(action), m, plan.interval);
        let mut cmp = engine::compare(acting, &self.owner, &target, desired, revision)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let applied_before = prev_inventory.map_or(0, |inv| inv.entries.len());
        if desired.is_empty() && applied_before > 0 {
            return Err(fail(format!(
                "{} rendered nothing at {revision}; the {applied_before} objects applied before are kept (nothing is pruned after an empty render)",
                plan.chart_label()
            )));
        }
        inventory::restrict_pruning(&mut cmp, prev_inventory);
        let held = crds::hold_back(&mut cmp, plan.crds.for_action(action), &target.app);
        if held > 0 {
            tracing::debug!(held, action, "chart CRDs held back by the CRD policy");
        }
        let inv = inventory::of(&cmp);
        Ok((cmp, inv))
    }

    /// Applies and prunes what differs; another owner's object is a conflict.
    async fn sync(
        &self,
        acting: &Engine,
        plan: &Plan,
        cmp: driftless_sync::Comparison,
        revision: &str,
        action: &'static str,
    ) -> Result<(), Stop> {
        let fail = |m: String| failed(status::failed_reason(action), m, plan.interval);
        let conflicts: Vec<String> = cmp
            .resources
            .iter()
            .filter_map(|r| {
                let other = r.shared_with.as_deref()?;
                let by = driftless_sync::tracking::describe_owner(other);
                Some(format!("{} is managed by {by}", r.key))
            })
            .collect();
        if Comparison::from_engine(&cmp).out_of_sync() {
            let target = plan.target(inventory::previous(self.prev.inventory.as_ref()));
            let result = engine::sync(acting, &self.owner, &target, cmp, revision)
                .await
                .map_err(|e| fail(e.to_string()))?;
            self.report_pruned(&result);
            if !result.succeeded && conflicts.is_empty() {
                return Err(fail(format!("apply failed: {}", result.message)));
            }
        }
        if !conflicts.is_empty() {
            return Err(fail(format!(
                "conflict: {}; not taken over",
                conflicts.join("; ")
            )));
        }
        Ok(())
    }

    fn report_pruned(&self, result: &driftless_sync::SyncResult) {
        crate::events::publish_pruned(self.ctx, self.hr, "Progressing", result);
    }

    /// Released when every applied object is healthy (unless
    /// `install.disableWait`); failed once `timeout` passed since this
    /// revision and values were applied.
    async fn health(
        &self,
        plan: &Plan,
        inv: &ResourceInventory,
        revision: &str,
        digest: &str,
        action: &'static str,
    ) -> Stop {
        let checks = if plan.wait {
            health::every_applied(inv)
        } else {
            Vec::new()
        };
        let generation = self.hr.meta().generation;
        let key = format!("{revision}@{digest}@{}", generation.unwrap_or_default());
        let since = self
            .ctx
            .helm_releases
            .state
            .memory(&self.id, |m| match &m.applied {
                Some((k, at)) if *k == key => *at,
                _ => {
                    let now = Instant::now();
                    m.applied = Some((key.clone(), now));
                    now
                }
            });
        let observed =
            health::observe(self.ctx, &checks, &Exprs::default(), &Default::default()).await;
        let fail = |m: String| failed(status::failed_reason(action), m, plan.interval);
        match health::judge(&observed) {
            Verdict::Healthy => (self.released(plan, revision, digest, action), plan.interval),
            Verdict::Failed(m) => fail(format!("{}: {m}", self.release(plan, revision))),
            Verdict::Progressing(m) if since.elapsed() >= plan.timeout => fail(format!(
                "{}: timeout after {:?} waiting for: {m}",
                self.release(plan, revision),
                plan.timeout
            )),
            Verdict::Progressing(m) => (
                Outcome::Progressing {
                    message: format!("Helm {action} in progress: waiting for: {m}"),
                },
                HEALTH_POLL,
            ),
        }
    }

    fn release(&self, plan: &Plan, revision: &str) -> String {
        let chart = match &plan.chart {
            plan::ChartFrom::Repository { chart, .. } => chart.clone(),
            plan::ChartFrom::Git { path } => path.rsplit('/').next().unwrap_or(path).to_string(),
        };
        format!(
            "release {}/{} with chart {chart}@{revision}",
            plan.namespace, plan.release_name
        )
    }

    fn released(&self, plan: &Plan, revision: &str, digest: &str, action: &'static str) -> Outcome {
        let generation = self.hr.meta().generation;
        if status::unchanged(&self.prev, generation, revision, digest)
            && let Some(ready) = find_condition(&self.prev.conditions, types::READY)
        {
            let reason = if ready.reason == reasons::UPGRADE_SUCCEEDED {
                reasons::UPGRADE_SUCCEEDED
            } else {
                reasons::INSTALL_SUCCEEDED
            };
            return Outcome::Own(Ending::Released {
                reason,
                message: ready.message.clone(),
            });
        }
        Outcome::Own(Ending::Released {
            reason: status::succeeded_reason(action),
            message: format!(
                "Helm {action} succeeded for {}",
                self.release(plan, revision)
            ),
        })
    }
}
