//! Writes to the Application: status (only when it changed), clearing a
//! handled operation or refresh annotation, and what follows a status
//! (metrics, the parent's refresh).

use std::future::Future;
use std::time::Duration;

use driftless_api::{Application, ApplicationStatus};
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use crate::context::Context;
use crate::cycle::AppId;
use crate::error::{Error, Result};
use crate::metrics::AppLabels;
use crate::patch;
use crate::status;

use super::{REFRESH_ANNOTATION, Reconciler};

/// How long a phase may take before the status says it is under way.
const QUICK: Duration = Duration::from_secs(1);

/// Writes one Application's status without borrowing its reconcile, so it
/// can run beside a phase that does.
pub(super) struct StatusWriter<'c> {
    ctx: &'c Context,
    api: Api<Application>,
    id: AppId,
    label: String,
}

impl StatusWriter<'_> {
    /// Writes `next` over `prev` (only what changed, nothing when nothing did).
    pub(super) async fn write(
        &self,
        prev: &ApplicationStatus,
        next: &ApplicationStatus,
    ) -> Result<()> {
        if !status::differs(prev, next) {
            return Ok(());
        }
        let old = serde_json::to_value(prev).unwrap_or_default();
        let new = serde_json::to_value(next).unwrap_or_default();
        let Some(diff) = patch::merge_diff(&old, &new) else {
            return Ok(());
        };
        tracing::debug!(patch = %diff, "writing status");
        let body = json!({ "status": diff });
        let written = self
            .api
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

    /// Runs `work`; only when it takes longer than [`QUICK`] is `meanwhile`
    /// (if any) written over `prev`, so a quick phase costs no write. Returns
    /// what `work` returned and the status written, if one was.
    pub(super) async fn meanwhile<T>(
        &self,
        prev: &ApplicationStatus,
        meanwhile: Option<ApplicationStatus>,
        work: impl Future<Output = T>,
    ) -> (T, Result<Option<ApplicationStatus>>) {
        let Some(next) = meanwhile else {
            return (work.await, Ok(None));
        };
        tokio::pin!(work);
        tokio::select! {
            out = &mut work => (out, Ok(None)),
            () = tokio::time::sleep(QUICK) => {
                let (written, out) = tokio::join!(self.write(prev, &next), &mut work);
                (out, written.map(|()| Some(next)))
            }
        }
    }
}

impl<'a> Reconciler<'a> {
    /// Adds the condition `type_` with `message` and, when the Application
    /// did not carry it already, a Warning Event with the same text (one
    /// Event per new occurrence, not one per reconcile).
    pub(super) fn warn(&mut self, type_: &str, reason: &str, message: String) {
        let known = self.prev.conditions.iter().any(|c| {
            c.type_ == type_ && !c.message.is_empty() && message.ends_with(c.message.as_str())
        });
        if !known {
            crate::events::publish(self.ctx, self.app, true, reason, message.clone());
        }
        self.conditions.push((type_.to_string(), message));
    }

    /// This Application's status writer.
    pub(super) fn writer(&self) -> StatusWriter<'a> {
        StatusWriter {
            ctx: self.ctx,
            api: self.api(),
            id: self.id.clone(),
            label: self.label.clone(),
        }
    }

    pub(super) async fn write_status(&self, next: &ApplicationStatus) -> Result<()> {
        self.writer().write(&self.prev, next).await
    }

    pub(super) async fn clear_operation(&self) -> Result<()> {
        let body = json!({ "operation": null });
        self.api()
            .patch(&self.id.1, &PatchParams::default(), &Patch::Merge(&body))
            .await
            .map_err(|e| Error::kube(&self.label, "clear operation", e))?;
        self.ctx.metrics.app_writes.inc();
        Ok(())
    }

    pub(super) async fn remove_refresh_annotation(&self) -> Result<()> {
        let body = json!({ "metadata": { "annotations": { REFRESH_ANNOTATION: null } } });
        self.api()
            .patch(&self.id.1, &PatchParams::default(), &Patch::Merge(&body))
            .await
            .map_err(|e| Error::kube(&self.label, "remove the refresh annotation", e))?;
        self.ctx.metrics.app_writes.inc();
        Ok(())
    }

    /// Whether its health is looked at again soon (not only at the next
    /// refresh): with watches on the managed kinds, health changes requeue
    /// the Application themselves; without them, a Progressing or Missing
    /// one is polled.
    pub(super) fn polls(&self, next: &ApplicationStatus) -> bool {
        use driftless_api::HealthStatusCode::{Missing, Progressing};
        let health = next.health.as_ref().map(|h| h.status);
        !self.ctx.config.watch_managed && matches!(health, Some(Progressing | Missing))
    }

    /// Metrics, the parent's refresh (App of Apps), and a sooner requeue
    /// while resources are still progressing.
    pub(super) fn after_status(&mut self, next: &ApplicationStatus) {
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
        if self.polls(next) {
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
