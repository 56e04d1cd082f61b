//! The entry points handed to the kube-runtime `Controller`: the shared
//! Flux prelude ([`crate::flux_entry`]: deletion, the finalizer, `suspend`),
//! then one [`Run`].

use std::sync::Arc;

use driftless_api::flux::kustomize::v1::Kustomization;
use kube::ResourceExt;
use tracing::Instrument;

use super::error::KustomizationError;
use super::reconcile::Run;
use crate::context::Context;
use crate::flux_entry::{self, Prelude};
use crate::flux_kind;
use crate::watched::NextReconcile;

/// The reconcile entry point handed to the kube-runtime `Controller`.
pub async fn reconcile(
    ks: Arc<Kustomization>,
    ctx: Arc<Context>,
) -> Result<NextReconcile, KustomizationError> {
    let name = format!("{}/{}", ks.namespace().unwrap_or_default(), ks.name_any());
    let span = tracing::info_span!("reconcile", kustomization = %name);
    let pass = async {
        match flux_entry::prelude(ks.as_ref(), &ctx).await? {
            Prelude::Deleting => super::finalize::finalize(&ks, &ctx).await,
            Prelude::Suspended => Ok(NextReconcile::OnChange),
            Prelude::Run => Run::new(&ks, &ctx).run().await,
        }
    };
    let result = flux_entry::counted(ks.as_ref(), &ctx, pass.instrument(span)).await;
    ctx.flux.finished(&flux_kind::id_of(ks.as_ref()));
    result
}

/// API failures are retried after a short, growing delay.
pub fn error_policy(
    ks: Arc<Kustomization>,
    error: &KustomizationError,
    ctx: Arc<Context>,
) -> NextReconcile {
    flux_entry::error_policy(ks.as_ref(), error, &ctx)
}
