//! The entry points handed to the kube-runtime `Controller`: deletion
//! (every object of the inventory is deleted, as `helm uninstall` would),
//! the finalizer's addition, `suspend`, then one [`Run`].

use std::sync::Arc;
use std::time::Duration;

use driftless_api::flux::helm::v2::HelmRelease;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use tracing::Instrument;

use super::reconcile::Run;
use super::{HelmReleaseError, plan, write};
use crate::context::{Context, OwnerId};
use crate::engine::{self, Owner};
use crate::kustomization::{impersonate, inventory};

/// The reconcile entry point handed to the kube-runtime `Controller`.
pub async fn reconcile(
    hr: Arc<HelmRelease>,
    ctx: Arc<Context>,
) -> Result<Action, HelmReleaseError> {
    let id = (hr.namespace().unwrap_or_default(), hr.name_any());
    let span = tracing::info_span!("reconcile", helmrelease = %format!("{}/{}", id.0, id.1));
    let result = reconcile_inner(&hr, &ctx).instrument(span).await;
    if result.is_ok() {
        ctx.helm_releases.state.memory(&id, |m| m.api_failures = 0);
    }
    result
}

async fn reconcile_inner(hr: &HelmRelease, ctx: &Context) -> Result<Action, HelmReleaseError> {
    let ours = driftless_api::flux::helm::FINALIZER;
    let has_finalizer = hr.finalizers().iter().any(|f| f == ours);
    if hr.meta().deletion_timestamp.is_some() {
        return finalize(hr, ctx, has_finalizer).await;
    }
    if !has_finalizer {
        write::finalizer(ctx, hr, true).await?;
    }
    if hr.spec.suspend {
        tracing::debug!("suspended");
        return Ok(Action::await_change());
    }
    Run::new(hr, ctx).run().await
}

/// API failures are retried after a short, growing delay.
pub fn error_policy(hr: Arc<HelmRelease>, error: &HelmReleaseError, ctx: Arc<Context>) -> Action {
    let id = (hr.namespace().unwrap_or_default(), hr.name_any());
    let failures = ctx.helm_releases.state.memory(&id, |m| {
        m.api_failures = m.api_failures.saturating_add(1);
        m.api_failures
    });
    tracing::debug!(%error, failures, "requeue after error");
    Action::requeue(crate::reconcile::error_delay(failures))
}

/// One pass of deleting `hr`: the objects of its inventory (tracked to
/// it), then the finalizer. A suspended HelmRelease keeps its objects.
async fn finalize(
    hr: &HelmRelease,
    ctx: &Context,
    has_finalizer: bool,
) -> Result<Action, HelmReleaseError> {
    let id = (hr.namespace().unwrap_or_default(), hr.name_any());
    if has_finalizer {
        if !hr.spec.suspend && !delete_pass(hr, ctx, &id).await {
            return Ok(Action::requeue(Duration::from_secs(2)));
        }
        write::finalizer(ctx, hr, false).await?;
    }
    ctx.helm_releases.state.forget(&id);
    ctx.forget_tracking(&OwnerId::HelmRelease(id));
    Ok(Action::await_change())
}

async fn delete_pass(hr: &HelmRelease, ctx: &Context, id: &(String, String)) -> bool {
    let owner = Owner::new("helmrelease", &id.0, &id.1);
    let status = hr.status.clone().unwrap_or_default();
    let target = driftless_sync::Target {
        app: plan::tracking_name(&id.0, &id.1),
        prune: true,
        allow_empty: true,
        previous: inventory::previous(status.inventory.as_ref()),
        resources: Some(inventory::selection(status.inventory.as_ref())),
        ..Default::default()
    };
    let sa = hr.spec.service_account_name.as_deref();
    let deleted = match impersonate::engine(ctx, &id.0, sa) {
        Ok(acting) => engine::delete(&acting, &owner, &target)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    match deleted {
        Ok(deletion) => {
            if !deletion.deleted.is_empty() {
                let names: Vec<String> = deletion.deleted.iter().map(ToString::to_string).collect();
                let note = format!("deleted {}", names.join(", "));
                crate::events::publish(ctx, hr, false, "Progressing", note).await;
            }
            deletion.failed.is_empty()
        }
        Err(error) => {
            tracing::warn!(%error, "cannot delete the HelmRelease's objects");
            false
        }
    }
}
