//! Deleting a Kustomization (its finalizer `finalizers.fluxcd.io`), as
//! `spec.deletionPolicy` says: `MirrorPrune` (the default) deletes what it
//! applied when `prune` is true, `Delete` always, `WaitForTermination`
//! always and waits until the objects are gone, `Orphan` never. The pass
//! itself is the Flux kinds' shared one ([`crate::flux_entry::finalize`]).

use driftless_api::flux::kustomize::deletion_policy;
use driftless_api::flux::kustomize::v1::Kustomization;

use super::error::KustomizationError;
use crate::context::Context;
use crate::flux_entry::{self, Removal};
use crate::watched::NextReconcile;

/// One pass of deleting `ks`: its objects per the deletion policy, then
/// the finalizer once nothing is left to wait for.
pub async fn finalize(
    ks: &Kustomization,
    ctx: &Context,
) -> Result<NextReconcile, KustomizationError> {
    flux_entry::finalize(ks, ctx, removal(ks)).await
}

/// What the deletion policy (and `suspend`) says to do with the objects.
fn removal(ks: &Kustomization) -> Removal {
    if !ks.spec.deletes_on_removal() || ks.spec.suspend {
        Removal::Keep
    } else if ks.spec.deletion_policy_or_default() == deletion_policy::WAIT_FOR_TERMINATION {
        Removal::DeleteAndWait
    } else {
        Removal::Delete
    }
}
