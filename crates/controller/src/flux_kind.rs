//! What the shared Flux code needs to know of a kind it reconciles
//! (Kustomization, HelmRelease): its status, finalizer, shared state and
//! owner identity. The reconcile prelude, the error policy, the status and
//! finalizer writes, the Ready event and the deletion of what an object
//! applied are written once over this trait ([`crate::flux_write`],
//! [`crate::flux_entry`]).

use std::fmt::Debug;

use driftless_api::flux::helm::v2::{HelmRelease, HelmReleaseStatus};
use driftless_api::flux::kustomize::v1::Kustomization;
use driftless_api::flux::kustomize::{KustomizationStatus, ResourceInventory};
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::{Context, OwnerId};
use crate::cycle::AppId;
use crate::flux_state::FluxState;

/// A Flux kind reconciled on the engine.
pub(crate) trait FluxKind:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + DeserializeOwned
    + Debug
    + Send
    + Sync
    + 'static
{
    /// Its status.
    type Status: Clone + Default + Serialize + PartialEq + Send + Sync;
    /// What its stored spec said (see `kustomization::raw`).
    type Raw: Send;
    /// The lower-case kind, for messages, owners and spans.
    const LABEL: &'static str;
    /// Its finalizer.
    const FINALIZER: &'static str;

    /// Its shared state in the controller's context.
    fn state(ctx: &Context) -> &FluxState<Self, Self::Status, Self::Raw>;
    /// Its status, when it has one.
    fn status_of(&self) -> Option<&Self::Status>;
    /// The conditions of a status.
    fn conditions(status: &Self::Status) -> &[Condition];
    /// The inventory of a status.
    fn inventory(status: &Self::Status) -> Option<&ResourceInventory>;
    /// `lastAppliedRevision` of a status.
    fn last_applied(status: &Self::Status) -> Option<&str>;
    /// `spec.suspend`.
    fn suspended(&self) -> bool;
    /// `spec.serviceAccountName`.
    fn service_account(&self) -> Option<&str>;
    /// How the context's tracking map names an object of this kind.
    fn owner_id(id: AppId) -> OwnerId;
    /// The name written into tracking ids.
    fn tracking_name(id: &AppId) -> String;
}

/// `(namespace, name)` of `obj`.
pub(crate) fn id_of<K: FluxKind>(obj: &K) -> AppId {
    (obj.namespace().unwrap_or_default(), obj.name_any())
}

/// The accessors every Flux kind shares the field names of: its status
/// (`conditions`, `inventory`, `lastAppliedRevision`) and its spec
/// (`suspend`, `serviceAccountName`). `$kind` names its own types, state,
/// owner and tracking name.
macro_rules! flux_kind {
    ($kind:ty {
        status: $status:ty,
        raw: $raw:ty,
        label: $label:literal,
        finalizer: $finalizer:expr,
        state: |$ctx:ident| $state:expr,
        owner: $owner:path,
        tracking: $tracking:path $(,)?
    }) => {
        impl FluxKind for $kind {
            type Status = $status;
            type Raw = $raw;
            const LABEL: &'static str = $label;
            const FINALIZER: &'static str = $finalizer;

            fn state($ctx: &Context) -> &FluxState<Self, Self::Status, Self::Raw> {
                $state
            }
            fn status_of(&self) -> Option<&Self::Status> {
                self.status.as_ref()
            }
            fn conditions(status: &Self::Status) -> &[Condition] {
                &status.conditions
            }
            fn inventory(status: &Self::Status) -> Option<&ResourceInventory> {
                status.inventory.as_ref()
            }
            fn last_applied(status: &Self::Status) -> Option<&str> {
                status.last_applied_revision.as_deref()
            }
            fn suspended(&self) -> bool {
                self.spec.suspend
            }
            fn service_account(&self) -> Option<&str> {
                self.spec.service_account_name.as_deref()
            }
            fn owner_id(id: AppId) -> OwnerId {
                $owner(id)
            }
            fn tracking_name(id: &AppId) -> String {
                $tracking(&id.0, &id.1)
            }
        }
    };
}

flux_kind!(Kustomization {
    status: KustomizationStatus,
    raw: crate::kustomization::raw::Raw,
    label: "kustomization",
    finalizer: driftless_api::flux::kustomize::FINALIZER,
    state: |ctx| &ctx.flux,
    owner: OwnerId::Kustomization,
    tracking: crate::kustomization::plan::tracking_name,
});

flux_kind!(HelmRelease {
    status: HelmReleaseStatus,
    raw: Vec<String>,
    label: "helmrelease",
    finalizer: driftless_api::flux::helm::FINALIZER,
    state: |ctx| &ctx.helm_releases.state,
    owner: OwnerId::HelmRelease,
    tracking: crate::helmrelease::plan::tracking_name,
});
