//! `kustomize.toolkit.fluxcd.io` `Kustomization`: served as `v1` (stored)
//! and `v1beta2` (with its deprecated `patchesStrategicMerge` and
//! `patchesJson6902`), both generated from Rust types and merged into one CRD.
//!
//! The spec keeps fields it does not model
//! (`x-kubernetes-preserve-unknown-fields`), so an object written as
//! `v1beta2` keeps `patchesStrategicMerge` when stored as `v1` (read it
//! through the `v1beta2` API), and a field from a newer Flux is reported by
//! the controller rather than silently dropped.

mod convert;
mod timing;
mod types;
pub mod v1;
pub mod v1beta2;

pub use super::duration::InvalidDuration;
pub use types::*;

/// The API group.
pub const GROUP: &str = "kustomize.toolkit.fluxcd.io";
/// The kind.
pub const KIND: &str = "Kustomization";
/// The finalizer Flux puts on a Kustomization to garbage-collect on deletion.
pub const FINALIZER: &str = "finalizers.fluxcd.io";
/// Label on every applied object: the owning Kustomization's name.
pub const NAME_LABEL: &str = "kustomize.toolkit.fluxcd.io/name";
/// Label on every applied object: the owning Kustomization's namespace.
pub const NAMESPACE_LABEL: &str = "kustomize.toolkit.fluxcd.io/namespace";
/// Label or annotation that turns `postBuild` substitution off for one object
/// (value [`DISABLED_VALUE`]).
pub const SUBSTITUTE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";
/// Label or annotation that turns pruning off for one object (value [`DISABLED_VALUE`]).
pub const PRUNE_KEY: &str = "kustomize.toolkit.fluxcd.io/prune";
/// Annotation that makes the controller recreate one object on immutable
/// field changes (value `enabled`).
pub const FORCE_KEY: &str = "kustomize.toolkit.fluxcd.io/force";
/// Label or annotation value that disables a behaviour.
pub const DISABLED_VALUE: &str = "disabled";

/// What happens to applied objects when a Kustomization is deleted.
pub mod deletion_policy {
    /// Delete them when `prune` is true, keep them otherwise (the default).
    pub const MIRROR_PRUNE: &str = "MirrorPrune";
    /// Delete them, whatever `prune` says.
    pub const DELETE: &str = "Delete";
    /// Delete them and wait until they are gone before removing the finalizer.
    pub const WAIT_FOR_TERMINATION: &str = "WaitForTermination";
    /// Keep them.
    pub const ORPHAN: &str = "Orphan";
}
