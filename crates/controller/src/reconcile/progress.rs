//! Reporting a running sync: while it waits (a wave becoming healthy, CRDs
//! being established) it says what for in `status.operationState.message`
//! as that changes, instead of "syncing" for up to the wave timeout; when it
//! ends, one INFO log line sums it up.

use driftless_sync::{Progress, SyncResult, Target};

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
        let mut target = target.clone();
        target.progress = progress;
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
                changed = messages.changed() => {
                    if changed.is_err() {
                        return sync.await;
                    }
                    let message = messages.borrow_and_update().clone();
                    self.write_progress(message).await;
                }
            }
        }
    }

    /// Writes `message` into the Running operation state; a failure is
    /// logged (the sync goes on, and its outcome is written after).
    async fn write_progress(&mut self, message: String) {
        let mut next = self.prev.clone();
        let Some(op) = next.operation_state.as_mut() else {
            return;
        };
        op.message = Some(message);
        match self.write_status(&next).await {
            Ok(()) => self.prev = next,
            Err(error) => tracing::debug!(%error, "cannot write the sync's progress"),
        }
    }
}
