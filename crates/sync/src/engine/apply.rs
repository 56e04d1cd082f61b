//! [`SyncEngine::sync`]: applies what differs in order (phase, wave, kind),
//! with the sync hooks of each phase and wave, waits for each wave to
//! become healthy (and its hooks to finish), then prunes; a failed sync
//! runs the SyncFail hooks; a stop request ends it between waves or while
//! one waits. A wave is a gate
//! across attempts: every object of it (written now, or unchanged since an
//! earlier attempt or another writer) must be healthy before the next wave
//! starts.

use std::time::{Duration, Instant};

use driftless_render::ObjectKey;
use futures::{StreamExt, stream};
use serde_json::{Value, json};

use super::SyncEngine;
use super::compare::strip_ignored;
use super::create;
use super::hook_run;
use super::steps::{self, Step};
use super::wait::WaitFailure;
use crate::discovery::Resolved;
use crate::error::SyncError;
use crate::hooks::HookType;
use crate::model::{
    Action, Comparison, Hook, HookPhase, ResourceDiff, ResourceOutcome, ResourceState, SyncResult,
    Target,
};
use crate::order::Phase;
use crate::progress::Stop;
use crate::{ignore, kubeapi, verdicts};

/// The message of a sync stopped by a terminate, as Argo CD words it.
pub(crate) const TERMINATED: &str = "Operation terminated";
/// How long CRDs may take to become Established.
const CRD_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the kinds of Established CRDs may take to appear in discovery.
const SERVED_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a replaced object may take to disappear.
const REPLACE_TIMEOUT: Duration = Duration::from_secs(120);

/// One apply's outcome, its write count, the object to wait for, and the
/// object the server returned.
pub(super) struct Applied {
    outcome: ResourceOutcome,
    writes: usize,
    wait_for: Option<(ObjectKey, Resolved)>,
    live: Option<Value>,
}

impl Applied {
    /// Nothing written, nothing to wait for.
    pub(super) fn failed(outcome: ResourceOutcome) -> Applied {
        Applied {
            outcome,
            writes: 0,
            wait_for: None,
            live: None,
        }
    }
}

pub(super) fn outcome(
    r: &ResourceDiff,
    action: Action,
    message: impl Into<String>,
) -> ResourceOutcome {
    ResourceOutcome {
        key: r.key.clone(),
        version: r.version.clone(),
        action,
        message: message.into(),
        phase: r.phase,
        wave: r.wave,
        hook: None,
    }
}

impl SyncEngine {
    /// Syncs the cluster to `comparison` (from [`SyncEngine::diff`] for the
    /// same `target`): applies what is Missing or OutOfSync, wave by wave,
    /// then prunes. Refuses (with [`SyncError::EmptyRender`]) to prune
    /// everything when nothing was rendered, unless `allow_empty`. Per-object
    /// failures are reported in the result, which is then not `succeeded`;
    /// a failed wave stops the later ones and pruning.
    ///
    /// Never call this with the comparison of a failed render.
    #[tracing::instrument(skip_all, fields(app = %target.app))]
    pub async fn sync(
        &self,
        target: &Target,
        comparison: &Comparison,
    ) -> Result<SyncResult, SyncError> {
        let selected: Vec<&ResourceDiff> = comparison
            .resources
            .iter()
            .filter(|r| target.selects(&r.key))
            .collect();
        let (to_prune, to_apply): (Vec<&ResourceDiff>, Vec<&ResourceDiff>) = selected
            .into_iter()
            .partition(|r| r.state == ResourceState::RequiresPruning);
        if comparison.rendered == 0 && !to_prune.is_empty() && !target.allow_empty {
            return Err(SyncError::EmptyRender {
                app: target.app.clone(),
                count: to_prune.len(),
            });
        }

        let mut result = SyncResult::default();
        let mut failure: Option<String> = None;
        if target.options.creates_namespace()
            && let Some(ns) = target.namespace.as_deref().filter(|ns| !ns.is_empty())
        {
            match self.ensure_namespace(ns, target.dry_run).await {
                Ok(writes) => result.writes += writes,
                Err(e) => failure = Some(e.to_string()),
            }
        }

        // A partial sync runs no hooks, as in Argo CD.
        let hooks: &[Hook] = if target.hooks && target.resources.is_none() {
            &comparison.hooks
        } else {
            &[]
        };
        let steps = steps::plan(to_apply, hooks);
        for (index, step) in steps.iter().enumerate() {
            if failure.is_none() && target.stop.requested() {
                result.terminated = true;
                failure = Some(TERMINATED.into());
            }
            if failure.is_some() {
                result.resources.extend(
                    step.resources.iter().map(|r| {
                        outcome(r, Action::Skipped, "not applied: an earlier step failed")
                    }),
                );
                continue;
            }
            let last = index + 1 == steps.len();
            self.run_step(target, step, last, &mut result, &mut failure)
                .await;
            // After the last step the sync's own result follows at once.
            if !last {
                target.progress.report_results(result.resource_results());
            }
        }
        if failure.is_some() && !result.terminated && !target.dry_run {
            for step in steps::sync_fail(hooks) {
                let mut ignored = None;
                self.run_step(target, &step, true, &mut result, &mut ignored)
                    .await;
            }
        }

        self.prune_all(target, &to_prune, failure.is_some(), &mut result)
            .await;
        result.succeeded = failure.is_none();
        result.message = if result.terminated {
            TERMINATED.to_string()
        } else {
            summary(&result, failure.as_deref())
        };
        Ok(result)
    }

    /// Runs the hooks of `hooks` that are of type `hook_type` (PreDelete,
    /// PostDelete: around an Application's deletion), wave by wave, each
    /// wave waited for until its hooks finished; stops at the first failure.
    pub async fn run_hooks(
        &self,
        target: &Target,
        hooks: &[Hook],
        hook_type: HookType,
    ) -> SyncResult {
        let mut result = SyncResult::default();
        let mut failure = None;
        for step in steps::of_type(hooks, hook_type) {
            if failure.is_some() {
                break;
            }
            self.run_step(target, &step, true, &mut result, &mut failure)
                .await;
        }
        result.succeeded = failure.is_none();
        result.message = match &failure {
            Some(f) => format!("{hook_type} hooks failed: {f}"),
            None => format!("{hook_type} hooks succeeded"),
        };
        result
    }

    /// Runs one wave of one phase: applies its objects (kind by kind), then
    /// creates its hooks, then waits until the hooks finished and, when a
    /// later step follows, the objects are healthy.
    async fn run_step(
        &self,
        target: &Target,
        step: &Step<'_>,
        last: bool,
        result: &mut SyncResult,
        failure: &mut Option<String>,
    ) {
        let mut wait_for = self
            .apply_resources(target, &step.resources, result, failure)
            .await;
        if last || failure.is_some() {
            wait_for.clear();
        }
        let mut instances = Vec::new();
        for &(hook_type, hook) in &step.hooks {
            if failure.is_some() {
                break;
            }
            let phase = (hook_type, step.phase);
            if target.dry_run {
                result.resources.push(hook_run::hook_outcome(
                    hook,
                    hook.key.clone(),
                    phase,
                    (Action::Created, HookPhase::Running),
                    "hook created (dry run)",
                ));
                continue;
            }
            match self.start_hook(&target.app, hook, phase).await {
                Ok(instance) => {
                    result.writes += 1;
                    wait_for.push((instance.key.clone(), instance.resolved.clone()));
                    instances.push(instance);
                }
                Err(message) => {
                    failure.get_or_insert_with(|| message.clone());
                    result.resources.push(hook_run::hook_outcome(
                        hook,
                        hook.key.clone(),
                        phase,
                        (Action::Failed, HookPhase::Failed),
                        message,
                    ));
                }
            }
        }
        if failure.is_none() && !wait_for.is_empty() && !target.dry_run {
            let what = match step.phase {
                Phase::Sync => format!("wave {}", step.wave),
                phase => format!("{} wave {}", phase.as_str(), step.wave),
            };
            let waiting = (&target.progress, what.as_str());
            match self
                .wait_healthy(&wait_for, self.wave_timeout, waiting, &target.stop)
                .await
            {
                Ok(()) => {}
                Err(WaitFailure::Stopped) => {
                    result.terminated = true;
                    *failure = Some(TERMINATED.into());
                }
                Err(e) => *failure = Some(wait_message(&what, e)),
            }
        }
        for instance in &instances {
            let done = self.finish_hook(instance, result.terminated).await;
            result.resources.push(done);
        }
    }

    /// Applies `resources` kind by kind (waiting for new CRDs to be
    /// Established); what to wait for before the next wave.
    async fn apply_resources(
        &self,
        target: &Target,
        resources: &[&ResourceDiff],
        result: &mut SyncResult,
        failure: &mut Option<String>,
    ) -> Vec<(ObjectKey, Resolved)> {
        let mut wait_for = Vec::new();
        for tier in resources.chunk_by(|a, b| a.sort_key().kind_rank == b.sort_key().kind_rank) {
            // Indices, not borrowed items: a closure over borrowed
            // items cannot be proven `Send`.
            let applied: Vec<Applied> = stream::iter(0..tier.len())
                .map(|i| self.apply_one(target, tier[i]))
                .buffered(self.concurrency)
                .collect()
                .await;
            let mut crds = Vec::new();
            for a in applied {
                result.writes += a.writes;
                if let Some(live) = a.live {
                    result.applied.insert(a.outcome.key.clone(), live);
                }
                if a.outcome.action == Action::Failed {
                    failure.get_or_insert_with(|| a.outcome.message.clone());
                }
                if let Some(w) = a.wait_for {
                    if w.0.kind == "CustomResourceDefinition"
                        && a.outcome.action != Action::Unchanged
                    {
                        crds.push(w.clone());
                    }
                    wait_for.push(w);
                }
                result.resources.push(a.outcome);
            }
            if !crds.is_empty() && !target.dry_run {
                let waiting = (&target.progress, "CustomResourceDefinitions");
                let never = Stop::default();
                if let Err(e) = self.wait_healthy(&crds, CRD_TIMEOUT, waiting, &never).await {
                    failure.get_or_insert(wait_message("CustomResourceDefinitions", e));
                }
                self.catalog.invalidate().await;
                let kinds: Vec<_> = tier
                    .iter()
                    .filter(|r| crds.iter().any(|(key, _)| *key == r.key))
                    .filter_map(|r| r.desired.as_ref())
                    .flat_map(served_kinds)
                    .collect();
                self.catalog.await_kinds(&kinds, SERVED_TIMEOUT).await;
            }
        }
        wait_for
    }

    pub(super) async fn apply_one(&self, target: &Target, r: &ResourceDiff) -> Applied {
        let done = Applied::failed;
        if r.blocked {
            let message = r.error.clone().unwrap_or_else(|| "blocked".into());
            return done(outcome(r, Action::Failed, message));
        }
        if let Some(owner) = r.left_to() {
            let message = format!("not applied: tracked by Application {owner}");
            return done(outcome(r, Action::Skipped, message));
        }
        if r.state == ResourceState::Synced {
            // Unchanged, but still gating the next wave: it must be healthy
            // whichever attempt wrote it.
            return Applied {
                outcome: outcome(r, Action::Unchanged, "unchanged"),
                writes: 0,
                wait_for: r.resolved.clone().map(|res| (r.key.clone(), res)),
                live: None,
            };
        }
        let Some(desired) = &r.desired else {
            return done(outcome(r, Action::Unchanged, "nothing to apply"));
        };
        let resolved = match &r.resolved {
            Some(res) => res.clone(),
            None => match self
                .catalog
                .resolve(&r.key.group, &r.version, &r.key.kind)
                .await
            {
                Ok(Some(res)) => res,
                Ok(None) => {
                    let message = r.error.clone().unwrap_or_else(|| {
                        format!("{}: the cluster does not serve this kind", r.key)
                    });
                    return done(outcome(r, Action::Failed, message));
                }
                Err(e) => return done(outcome(r, Action::Failed, e.to_string())),
            },
        };
        let action = if r.state == ResourceState::Missing {
            Action::Created
        } else {
            Action::Configured
        };
        if target.dry_run {
            return done(outcome(r, action, format!("{} (dry run)", action.as_str())));
        }
        let mut body = Value::Object(desired.0.clone());
        if let Some(live) = &r.live
            && r.options.respects_ignore_differences()
        {
            let rules = ignore::matching(&target.ignore_differences, &r.key);
            strip_ignored(&rules, live, &mut body, &mut Vec::new());
        }
        let creates = create::creates(r);
        if creates {
            create::only_if_absent(&mut body);
        }
        let api = kubeapi::api(&self.client, &resolved, &r.key.namespace);
        let params = kubeapi::apply_params(&self.field_manager, false, r.options.validates());
        let wait_for = Some((r.key.clone(), resolved.clone()));
        match kubeapi::apply(&api, &resolved, &r.key.name, &body, &params).await {
            Err(e) if creates && create::exists_already(&e) => {
                self.apply_to_existing(target, r, &resolved).await
            }
            Ok(live) => {
                self.index.record(&resolved, &live);
                self.remember_applied(target, r, &live);
                let action = if target.apply_decides && kept_version(r.live.as_ref(), &live) {
                    Action::Unchanged
                } else {
                    action
                };
                Applied {
                    outcome: outcome(r, action, action.as_str()),
                    writes: 1,
                    wait_for,
                    live: Some(live),
                }
            }
            Err(e) if kubeapi::is_immutable(&e) && r.options.replaces_on_conflict() => {
                let uid = r
                    .live
                    .as_ref()
                    .and_then(|l| l.pointer("/metadata/uid"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                match self.replace(&api, &resolved, r, uid, &body, &params).await {
                    Ok(()) => Applied {
                        outcome: outcome(
                            r,
                            Action::Replaced,
                            "replaced: deleted and created again (an immutable field changed)",
                        ),
                        writes: 3,
                        wait_for,
                        live: None,
                    },
                    Err(message) => Applied {
                        outcome: outcome(r, Action::Failed, message),
                        writes: 2,
                        wait_for: None,
                        live: None,
                    },
                }
            }
            Err(e) => {
                let hint = if kubeapi::is_immutable(&e) {
                    " (an immutable field changed: add the sync option Replace=true or Force=true to delete and recreate it)"
                } else {
                    ""
                };
                Applied {
                    outcome: outcome(
                        r,
                        Action::Failed,
                        format!("{}: apply failed: {}{hint}", r.key, kubeapi::message(&e)),
                    ),
                    writes: 1,
                    wait_for: None,
                    live: None,
                }
            }
        }
    }

    /// When no ignoreDifferences rule applies to `r`, remembers what the
    /// server answered to its apply as in sync with what was applied:
    /// applying the same object to it again changes nothing, so the
    /// comparison after the sync needs no dry-run until the object changes.
    fn remember_applied(&self, target: &Target, r: &ResourceDiff, live: &Value) {
        if let Some(cache) = &self.live {
            cache.keep(&r.key, live);
        }
        let Some(desired) = &r.desired else { return };
        let rules = ignore::matching(&target.ignore_differences, &r.key);
        if rules.is_empty() && r.error.is_none() && r.shared_with.is_none() {
            let print = verdicts::fingerprint(desired, live, &rules);
            self.verdicts.record(&r.key, print, true);
        }
    }

    /// Deletes the object (foreground), waits until it is gone, and applies it again.
    async fn replace(
        &self,
        api: &kube::Api<kube::api::DynamicObject>,
        resolved: &Resolved,
        r: &ResourceDiff,
        uid: Option<String>,
        body: &Value,
        params: &kube::api::PatchParams,
    ) -> Result<(), String> {
        let name = &r.key.name;
        kubeapi::delete(api, name, crate::PropagationPolicy::Foreground, uid.clone())
            .await
            .map_err(|e| {
                format!(
                    "{}: delete for replace failed: {}",
                    r.key,
                    kubeapi::message(&e)
                )
            })?;
        let start = Instant::now();
        loop {
            match api.get_opt(name).await {
                Ok(None) => break,
                Ok(Some(obj)) if obj.metadata.uid != uid => break,
                Ok(Some(_)) if start.elapsed() > REPLACE_TIMEOUT => {
                    return Err(format!(
                        "{}: still being deleted after {}s; not recreated",
                        r.key,
                        REPLACE_TIMEOUT.as_secs()
                    ));
                }
                Ok(Some(_)) => tokio::time::sleep(self.poll_interval).await,
                Err(e) => return Err(format!("{}: {}", r.key, kubeapi::message(&e))),
            }
        }
        kubeapi::apply(api, resolved, name, body, params)
            .await
            .map(|live| self.index.record(resolved, &live))
            .map_err(|e| {
                format!(
                    "{}: create after delete failed: {}",
                    r.key,
                    kubeapi::message(&e)
                )
            })
    }

    /// Creates namespace `ns` when it does not exist; the number of writes made.
    async fn ensure_namespace(&self, ns: &str, dry_run: bool) -> Result<usize, SyncError> {
        let api: kube::Api<k8s_openapi::api::core::v1::Namespace> =
            kube::Api::all(self.client.clone());
        let object = || format!("Namespace/{ns}");
        let existing = api.get_opt(ns).await.map_err(|source| SyncError::Object {
            action: "get",
            object: object(),
            source,
        })?;
        if existing.is_some() || dry_run {
            return Ok(0);
        }
        let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        let params = kubeapi::apply_params(&self.field_manager, false, true);
        api.patch(ns, &params, &kube::api::Patch::Apply(&body))
            .await
            .map_err(|source| SyncError::Object {
                action: "create",
                object: object(),
                source,
            })?;
        Ok(1)
    }
}

fn wait_message(what: &str, failure: WaitFailure) -> String {
    match failure {
        WaitFailure::Degraded(m) => format!("{what} did not become healthy: {m}"),
        WaitFailure::Timeout(m) => format!("{what} timed out waiting for health: {m}"),
        WaitFailure::Stopped => TERMINATED.to_string(),
    }
}

fn summary(result: &SyncResult, failure: Option<&str>) -> String {
    let count = |a: Action| result.resources.iter().filter(|r| r.action == a).count();
    let parts: Vec<String> = [
        Action::Created,
        Action::Configured,
        Action::Replaced,
        Action::Unchanged,
        Action::Pruned,
        Action::PruneSkipped,
        Action::Failed,
        Action::Skipped,
    ]
    .into_iter()
    .filter_map(|a| {
        let n = count(a);
        (n > 0).then(|| format!("{n} {}", a.as_str()))
    })
    .collect();
    let counts = if parts.is_empty() {
        "nothing to do".to_string()
    } else {
        parts.join(", ")
    };
    match failure {
        Some(f) => format!("sync failed: {f} ({counts})"),
        None => format!("sync succeeded: {counts}"),
    }
}

/// The (group, version, kind) a CustomResourceDefinition serves, one per
/// served version.
fn served_kinds(crd: &driftless_render::Object) -> Vec<(String, String, String)> {
    let spec = crd.0.get("spec");
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
    let group = text(spec.and_then(|s| s.get("group")));
    let kind = text(spec.and_then(|s| s.pointer("/names/kind")));
    let versions = spec
        .and_then(|s| s.get("versions"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    versions
        .iter()
        .filter(|v| v.get("served").and_then(Value::as_bool).unwrap_or(true))
        .map(|v| (group.clone(), text(v.get("name")), kind.clone()))
        .collect()
}

/// Whether the server's answer to an apply has the resource version of the
/// object read before it: the apply changed nothing.
fn kept_version(before: Option<&Value>, after: &Value) -> bool {
    let before = before.and_then(super::compare::resource_version);
    before.is_some() && before == super::compare::resource_version(after)
}

#[cfg(test)]
mod served_tests {
    use super::*;

    #[test]
    fn a_crd_serves_its_kind_in_each_served_version() {
        let crd = driftless_render::Object(
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                   "spec": {"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"},
                            "versions": [{"name": "v1", "served": true}, {"name": "v1beta1", "served": false},
                                         {"name": "v2"}]}})
            .as_object()
            .unwrap()
            .clone(),
        );
        let kind = |v: &str| {
            (
                "example.com".to_string(),
                v.to_string(),
                "Widget".to_string(),
            )
        };
        assert_eq!(served_kinds(&crd), [kind("v1"), kind("v2")]);
    }
}
