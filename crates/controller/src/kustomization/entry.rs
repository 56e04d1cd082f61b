//! The entry points handed to the kube-runtime `Controller`: deletion
//! (finalizer), the finalizer's addition, `suspend`, then one [`Run`].

use std::sync::Arc;

use driftless_api::flux::kustomize::v1::Kustomization;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use tracing::Instrument;

use super::error::KustomizationError;
use super::reconcile::Run;
use super::write;
use crate::context::Context;

/// The reconcile entry point handed to the kube-runtime `Controller`.
pub async fn reconcile(
    ks: Arc<Kustomization>,
    ctx: Arc<Context>,
) -> Result<Action, KustomizationError> {
    let id = (ks.namespace().unwrap_or_default(), ks.name_any());
    let span = tracing::info_span!("reconcile", kustomization = %format!("{}/{}", id.0, id.1));
    let result = reconcile_inner(&ks, &ctx).instrument(span).await;
    if result.is_ok() {
        ctx.flux.memory(&id, |m| m.api_failures = 0);
    }
    result
}

async fn reconcile_inner(ks: &Kustomization, ctx: &Context) -> Result<Action, KustomizationError> {
    if ks.meta().deletion_timestamp.is_some() {
        return super::finalize::finalize(ks, ctx).await;
    }
    let ours = driftless_api::flux::kustomize::FINALIZER;
    if !ks.finalizers().iter().any(|f| f == ours) {
        write::finalizer(ctx, ks, true).await?;
    }
    if ks.spec.suspend {
        tracing::debug!("suspended");
        return Ok(Action::await_change());
    }
    Run::new(ks, ctx).run().await
}

/// API failures are retried after a short, growing delay.
pub fn error_policy(
    ks: Arc<Kustomization>,
    error: &KustomizationError,
    ctx: Arc<Context>,
) -> Action {
    let id = (ks.namespace().unwrap_or_default(), ks.name_any());
    let failures = ctx.flux.memory(&id, |m| {
        m.api_failures = m.api_failures.saturating_add(1);
        m.api_failures
    });
    tracing::debug!(%error, failures, "requeue after error");
    Action::requeue(crate::reconcile::error_delay(failures))
}
