//! The entry points handed to the kube-runtime `Controller`: the shared
//! Flux prelude ([`crate::flux_entry`]: deletion, the finalizer, `suspend`),
//! then one [`Run`]. Deleting a HelmRelease deletes every object of its
//! inventory, as `helm uninstall` would (a suspended one keeps them).

use std::sync::Arc;

use driftless_api::flux::helm::v2::HelmRelease;
use kube::ResourceExt;
use tracing::Instrument;

use super::HelmReleaseError;
use super::reconcile::Run;
use crate::context::Context;
use crate::flux_entry::{self, Prelude, Removal};
use crate::watched::NextReconcile;

/// The reconcile entry point handed to the kube-runtime `Controller`.
pub async fn reconcile(
    hr: Arc<HelmRelease>,
    ctx: Arc<Context>,
) -> Result<NextReconcile, HelmReleaseError> {
    let name = format!("{}/{}", hr.namespace().unwrap_or_default(), hr.name_any());
    let span = tracing::info_span!("reconcile", helmrelease = %name);
    let pass = async {
        match flux_entry::prelude(hr.as_ref(), &ctx).await? {
            Prelude::Deleting => {
                let removal = if hr.spec.suspend {
                    Removal::Keep
                } else {
                    Removal::Delete
                };
                flux_entry::finalize(hr.as_ref(), &ctx, removal).await
            }
            Prelude::Suspended => Ok(NextReconcile::OnChange),
            Prelude::Run => Run::new(&hr, &ctx).run().await,
        }
    };
    flux_entry::counted(hr.as_ref(), &ctx, pass.instrument(span)).await
}

/// API failures are retried after a short, growing delay.
pub fn error_policy(
    hr: Arc<HelmRelease>,
    error: &HelmReleaseError,
    ctx: Arc<Context>,
) -> NextReconcile {
    flux_entry::error_policy(hr.as_ref(), error, &ctx)
}
