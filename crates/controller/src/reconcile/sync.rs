//! Diff, decide and sync: the sync engine's target, the automated-sync
//! decision, running a sync and recording its operation state.

use std::time::Instant;

use driftless_api::{
    ApplicationSource, Operation, OperationInitiator, OperationPhase, OperationState,
    ResourceResult, RevisionHistory, SyncOperation, SyncOperationResult, condition,
};
use driftless_render::Object;
use driftless_sync::{Target, parse_sync_options};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::decide::{self, AutoSyncInput, Decision};
use crate::error::{Error, Result};
use crate::events::{self, reason};
use crate::metrics::Metrics;
use crate::pipeline::Comparison;
use crate::retry::RetryPolicy;

use super::{Failure, Reconciler, tracking_name};

/// How an operation cut short by a controller restart is recorded.
pub(crate) const INTERRUPTED: &str = "operation interrupted by a controller restart; retrying";

/// `running` (an operation recorded as Running) as interrupted at `now`:
/// phase Error, with the revision it was syncing to and its retry count, so
/// the retry policy decides when it runs again.
pub(crate) fn interrupted(running: &OperationState, now: Timestamp) -> OperationState {
    let revision = running
        .sync_result
        .as_ref()
        .map(|r| r.revision.clone())
        .or_else(|| running.operation.sync.as_ref()?.revision.clone())
        .filter(|r| !r.is_empty());
    OperationState {
        phase: OperationPhase::Error,
        message: Some(INTERRUPTED.to_string()),
        sync_result: revision.map(|revision| SyncOperationResult {
            revision,
            ..running.sync_result.clone().unwrap_or_default()
        }),
        finished_at: Some(Time(now)),
        ..running.clone()
    }
}

impl<'a> Reconciler<'a> {
    pub(super) fn target(&mut self, sync_op: Option<&SyncOperation>) -> Target {
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
            app: tracking_name(self.app, &self.ctx.config.control_plane_namespace),
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
            progress: Default::default(),
            hooks: true,
            stop: Default::default(),
            // An Application syncs only when its diff says so.
            apply_decides: false,
        }
    }

    pub(super) async fn diff(
        &self,
        target: &Target,
        desired: &[Object],
        sha: &str,
    ) -> Result<driftless_sync::Comparison, Failure> {
        let cmp = crate::engine::compare(&self.ctx.engine, &self.owner(), target, desired, sha)
            .await
            .map_err(Error::from)?;
        Ok(cmp)
    }

    /// Records an operation left Running as interrupted. Reconciles of one
    /// Application never overlap, so a Running operation seen here has no
    /// worker: the controller stopped or crashed in the middle of it.
    pub(super) async fn recover_interrupted(&mut self) -> Result<()> {
        let Some(running) = self
            .prev
            .operation_state
            .as_ref()
            .filter(|op| op.phase == OperationPhase::Running)
        else {
            return Ok(());
        };
        let state = interrupted(running, Timestamp::now());
        let revision = state.sync_result.as_ref().map(|r| r.revision.clone());
        let mut next = self.prev.clone();
        next.operation_state = Some(state);
        self.write_status(&next).await?;
        self.prev = next;
        let to = revision.map(|r| format!(" to {r}")).unwrap_or_default();
        tracing::warn!("sync{to} was interrupted by a controller restart");
        events::publish(
            self.ctx,
            self.app,
            true,
            reason::SYNC_FAILED,
            format!(
                "sync{to} was interrupted by a controller restart; it is retried per the retry policy"
            ),
        );
        Ok(())
    }

    /// `syncPolicy.retry`, parsed (the defaults when it does not parse).
    fn retry_policy(&self) -> RetryPolicy {
        let policy = self.app.spec.spec.sync_policy.as_ref();
        match RetryPolicy::from_strategy(policy.and_then(|p| p.retry.as_ref())) {
            Ok(r) => r,
            Err(m) => {
                tracing::warn!(error = %m, "bad syncPolicy.retry; using the defaults");
                RetryPolicy::default()
            }
        }
    }

    /// When an automated sync that ended as `state` is retried: after the
    /// retry policy's next delay, if it allows another attempt. `None` for
    /// a success, a manual sync, or retries used up.
    pub(super) fn retry_after(&self, state: &OperationState) -> Option<std::time::Duration> {
        let automated = self
            .app
            .spec
            .spec
            .sync_policy
            .as_ref()
            .and_then(|p| p.automated())
            .is_some();
        let failed = matches!(state.phase, OperationPhase::Failed | OperationPhase::Error);
        let next = u32::try_from(state.retry_count.unwrap_or(0).max(0)).unwrap_or(u32::MAX) + 1;
        let retry = self.retry_policy();
        (automated && failed && retry.allows(next)).then(|| retry.delay(next))
    }

    pub(super) fn decide(&self, cmp: &Comparison, sha: &str, empty: bool) -> Decision {
        let policy = self.app.spec.spec.sync_policy.as_ref();
        let retry = self.retry_policy();
        let (attempts, last_heal) = self
            .ctx
            .memory(&self.id, |m| (m.self_heal_attempts, m.last_self_heal));
        decide::auto_sync(
            &AutoSyncInput {
                policy,
                revision: sha,
                out_of_sync: cmp.needs_sync(),
                only_pruning: cmp.only_pruning(),
                empty_render: empty,
                last: self.prev.operation_state.as_ref().filter(|op| {
                    let result = op.sync_result.as_ref();
                    result
                        .is_none_or(|r| super::operation_sources::synced_same_sources(r, self.spec))
                }),
                self_heal_attempts: attempts,
                last_self_heal: last_heal,
                now: self.now,
            },
            &retry,
        )
    }

    pub(super) fn automated_operation(&self, target: &Target) -> Operation {
        Operation {
            sync: Some(self.automated_sync(target.prune)),
            initiated_by: Some(OperationInitiator {
                username: None,
                automated: true,
            }),
            ..Default::default()
        }
    }

    pub(super) fn finished_op(
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
    pub(super) async fn sync(
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
            // The revision, so an interrupted sync is retried at it.
            sync_result: Some(self.sync_result(source, vec![])),
            ..Default::default()
        };
        // A sync that never waits is over before anyone could read that it
        // runs: its outcome is the one write, and the one Event. One that
        // waits (waves, hooks, CRDs) says it is Running first, so a restart
        // in the middle of it is recorded as interrupted, and announces
        // that it started.
        let out_of_sync = format!("{} resources out of sync", cmp.out_of_sync().count());
        let waits = !cmp.syncs_without_waiting(target);
        if waits {
            let before = Comparison::from_engine(&cmp);
            let with_running = crate::status::running(&self.prev, running, &before, sha);
            self.write_status(&with_running)
                .await
                .map_err(Failure::from)?;
            self.prev = with_running;
            let started = format!("sync to {sha} started ({out_of_sync})");
            events::publish(self.ctx, self.app, false, reason::SYNC_STARTED, started);
        }

        let started = Instant::now();
        let outcome = self.sync_reporting_progress(target, cmp, sha).await;
        self.ctx
            .metrics
            .sync_duration
            .observe(started.elapsed().as_secs_f64());
        let (phase, message, result) = match &outcome {
            Ok(r) => {
                let phase = if r.succeeded {
                    OperationPhase::Succeeded
                } else {
                    OperationPhase::Failed
                };
                let (resources, dropped) =
                    bounded_results(r.resource_results(), crate::status::MAX_RESOURCES);
                events::publish_pruned(self.ctx, self.app, reason::PRUNED, r);
                let message = match dropped {
                    0 => r.message.clone(),
                    n => format!("{} ({n} unchanged resources not listed)", r.message),
                };
                (phase, message, Some(self.sync_result(source, resources)))
            }
            Err(e) => (
                OperationPhase::Error,
                e.to_string(),
                Some(self.sync_result(source, vec![])),
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
            match (ok, waits) {
                (true, true) => format!("sync to {sha} succeeded: {message}"),
                (true, false) => format!("sync to {sha} ({out_of_sync}) succeeded: {message}"),
                (false, true) => format!("sync to {sha} failed: {message}"),
                (false, false) => format!("sync to {sha} ({out_of_sync}) failed: {message}"),
            },
        );
        let dry_run = target.dry_run;
        let state = self.finished_op(op, phase, message, result, retry);
        let entry = (ok && !dry_run).then(|| self.history_entry(source, &state));
        // Compare again so the status shows the cluster after the sync
        // (what the applies returned is not read again).
        let mut after_target = target.clone();
        after_target.resources = None;
        let engine = &self.ctx.engine;
        let compared = match &outcome {
            Ok(r) => {
                engine
                    .diff_after_sync(&after_target, desired.to_vec(), r)
                    .await
            }
            Err(_) => engine.diff(&after_target, desired.to_vec()).await,
        };
        let after = match compared {
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

    pub(super) fn add_sync_error_condition(&mut self, last: Option<&OperationState>, sha: &str) {
        let Some(last) = last else { return };
        let same_revision = last
            .sync_result
            .as_ref()
            .map(|r| r.synced_revisions())
            .as_deref()
            == Some(sha);
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
}

/// At most `limit` results, so the operation state stays bounded: those
/// that did not simply sync (failures, hooks, prunes) are kept first, the
/// order is kept; the second value counts those left out.
pub(super) fn bounded_results(
    results: Vec<ResourceResult>,
    limit: usize,
) -> (Vec<ResourceResult>, usize) {
    if results.len() <= limit {
        return (results, 0);
    }
    let plain = |r: &ResourceResult| r.status.as_deref() == Some("Synced") && r.hook_type.is_none();
    let notable = results.iter().filter(|r| !plain(r)).count();
    let mut room = limit.saturating_sub(notable);
    let total = results.len();
    let kept: Vec<ResourceResult> = results
        .into_iter()
        .filter(|r| {
            if !plain(r) {
                return true;
            }
            let keep = room > 0;
            room = room.saturating_sub(1);
            keep
        })
        .take(limit)
        .collect();
    let dropped = total - kept.len();
    (kept, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_bounded_keeping_what_did_not_simply_sync() {
        let result = |name: &str, status: &str| ResourceResult {
            kind: "ConfigMap".into(),
            name: name.into(),
            status: Some(status.into()),
            ..Default::default()
        };
        let mut many: Vec<ResourceResult> = (0..10)
            .map(|i| result(&format!("c{i}"), "Synced"))
            .collect();
        many.insert(7, result("broken", "SyncFailed"));
        let (kept, dropped) = bounded_results(many.clone(), 4);
        let names: Vec<&str> = kept.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["c0", "c1", "c2", "broken"]);
        assert_eq!(dropped, 7);
        let (all, none) = bounded_results(many, 20);
        assert_eq!((all.len(), none), (11, 0));
    }
    use crate::decide::auto_sync;
    use driftless_api::{SyncPolicy, SyncPolicyAutomated};
    use std::time::Duration;

    fn running(revision: Option<&str>, in_result: bool, retry: i64) -> OperationState {
        OperationState {
            operation: Operation {
                sync: Some(SyncOperation {
                    revision: revision.map(str::to_string),
                    ..Default::default()
                }),
                ..Default::default()
            },
            phase: OperationPhase::Running,
            message: Some("syncing to abc".into()),
            sync_result: in_result.then(|| SyncOperationResult {
                revision: revision.unwrap_or_default().to_string(),
                ..Default::default()
            }),
            started_at: Some(Time(Timestamp::from_second(50).unwrap())),
            retry_count: Some(retry),
            finished_at: None,
        }
    }

    #[test]
    fn an_interrupted_operation_keeps_its_revision_and_retry_count() {
        let now = Timestamp::from_second(100).unwrap();
        for in_result in [true, false] {
            let state = interrupted(&running(Some("r2"), in_result, 3), now);
            assert_eq!(state.phase, OperationPhase::Error);
            assert_eq!(state.message.as_deref(), Some(INTERRUPTED));
            assert_eq!(state.retry_count, Some(3));
            assert_eq!(state.finished_at, Some(Time(now)));
            assert_eq!(
                state.started_at,
                Some(Time(Timestamp::from_second(50).unwrap()))
            );
            assert_eq!(state.sync_result.map(|r| r.revision).as_deref(), Some("r2"));
        }
        let unknown = interrupted(&running(None, false, 0), now);
        assert_eq!(unknown.sync_result, None, "no revision to retry at");
    }

    #[test]
    fn an_interrupted_operation_is_retried_per_the_retry_policy() {
        let policy = SyncPolicy {
            automated: Some(SyncPolicyAutomated::default()),
            ..Default::default()
        };
        let state = interrupted(
            &running(Some("r2"), true, 0),
            Timestamp::from_second(100).unwrap(),
        );
        let input = |now: i64| AutoSyncInput {
            policy: Some(&policy),
            revision: "r2",
            out_of_sync: true,
            only_pruning: false,
            empty_render: false,
            last: Some(&state),
            self_heal_attempts: 0,
            last_self_heal: None,
            now: Timestamp::from_second(now).unwrap(),
        };
        let retry = RetryPolicy::default();
        assert_eq!(
            auto_sync(&input(101), &retry),
            Decision::Wait(Duration::from_secs(4))
        );
        assert_eq!(
            auto_sync(&input(105), &retry),
            Decision::Sync {
                retry: 1,
                self_heal: false
            }
        );
    }
}
