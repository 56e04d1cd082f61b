//! Reporting a running sync: while it waits (a wave becoming healthy, CRDs
//! being established) it says what for in `status.operationState.message`
//! as that changes, instead of "syncing" for up to the wave timeout; when it
//! ends, one INFO log line sums it up. After each wave, the results so far
//! (with hook phases) are written into `syncResult.resources`. While it runs, the Application is
//! looked at again every progress interval, as the controller's watch last
//! saw it (no request to the API server): a terminate (Argo CD's way: the
//! operation state's phase set to `Terminating`, or the requested
//! `operation` cleared) stops the sync between waves.

use std::sync::Arc;

use driftless_api::{Application, OperationPhase, OperationState};
use driftless_sync::{Progress, Stop, SyncResult, Target};

use crate::pipeline::StageError;

use super::Reconciler;

impl Reconciler<'_> {
    /// Runs the sync engine on `cmp`, writing each new progress message
    /// into the Running operation's message.
    pub(super) async fn sync_reporting_progress(
        &mut self,
        target: &Target,
        cmp: driftless_sync::Comparison,
        sha: &str,
    ) -> Result<SyncResult, StageError> {
        let (progress, mut messages) = Progress::channel();
        let (progress, mut results) = progress.with_results();
        let mut target = target.clone();
        target.progress = progress;
        let stop = Stop::default();
        target.stop = stop.clone();
        let requested = self.app.spec.operation.is_some();
        // The first look is one interval in (the Application was just read).
        let every = self.ctx.config.progress_interval;
        let mut poll = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let ctx = self.ctx;
        let owner = self.owner();
        let sync = async {
            crate::engine::sync(&ctx.engine, &owner, &target, cmp, sha)
                .await
                .map_err(|e| StageError(e.message))
        };
        tokio::pin!(sync);
        loop {
            tokio::select! {
                outcome = &mut sync => return outcome,
                _ = poll.tick(), if !stop.requested() => {
                    if let Some(app) = self.latest_app().await
                        && terminate_requested(&app, requested)
                    {
                        tracing::info!("terminate requested; stopping the sync");
                        stop.request();
                    }
                }
                changed = messages.changed() => {
                    if changed.is_err() {
                        return sync.await;
                    }
                    let message = messages.borrow_and_update().clone();
                    self.write_progress(|op| op.message = Some(message)).await;
                }
                changed = results.changed() => {
                    if changed.is_err() {
                        return sync.await;
                    }
                    let (so_far, _) = super::sync::bounded_results(
                        results.borrow_and_update().clone(),
                        crate::status::MAX_RESOURCES,
                    );
                    self.write_progress(|op| {
                        if let Some(r) = op.sync_result.as_mut() {
                            r.resources = so_far;
                        }
                    })
                    .await;
                }
            }
        }
    }

    /// The Application as the controller's watch last saw it; read from the
    /// API server only where no controller watches (a bare context).
    async fn latest_app(&self) -> Option<Arc<Application>> {
        if self.ctx.watches_apps() {
            return self.ctx.watched_app(&self.id);
        }
        self.api()
            .get_opt(&self.id.1)
            .await
            .ok()
            .flatten()
            .map(Arc::new)
    }

    /// Writes `change` (a new message, the results so far) into the
    /// Running operation state; a failure is logged (the sync goes on, and
    /// its outcome is written after).
    async fn write_progress(&mut self, change: impl FnOnce(&mut OperationState)) {
        let mut next = self.prev.clone();
        let Some(op) = next.operation_state.as_mut() else {
            return;
        };
        change(op);
        match self.write_status(&next).await {
            Ok(()) => self.prev = next,
            Err(error) => tracing::debug!(%error, "cannot write the sync's progress"),
        }
    }
}

/// Whether `app` asks its running operation to stop: its operation state
/// is `Terminating`, or (for an operation it `requested`) the operation was
/// cleared.
pub(crate) fn terminate_requested(app: &Application, requested: bool) -> bool {
    let terminating = app
        .status
        .as_ref()
        .and_then(|s| s.operation_state.as_ref())
        .is_some_and(|op| op.phase == OperationPhase::Terminating);
    terminating || (requested && app.spec.operation.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_api::{ApplicationStatus, Operation, OperationState};

    #[test]
    fn terminating_or_a_cleared_operation_stops_a_sync() {
        let mut app = Application::new("web", Default::default());
        assert!(
            !terminate_requested(&app, false),
            "an automated sync runs on"
        );
        assert!(
            terminate_requested(&app, true),
            "the requested operation was cleared"
        );
        app.spec.operation = Some(Operation::default());
        assert!(!terminate_requested(&app, true));
        app.status = Some(ApplicationStatus {
            operation_state: Some(OperationState {
                phase: OperationPhase::Terminating,
                ..Default::default()
            }),
            ..Default::default()
        });
        assert!(terminate_requested(&app, true));
        assert!(terminate_requested(&app, false));
    }
}
