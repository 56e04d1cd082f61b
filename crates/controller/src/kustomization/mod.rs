//! Flux's `Kustomization` on the engine: an adapter from its spec to the
//! engine's plan ([`plan`]) and from the phases' results to its status
//! ([`status`]), with Flux's semantics for `dependsOn` ([`deps`]), the
//! source ([`source`]), health checks ([`health`]), the inventory
//! ([`inventory`]) and deletion ([`finalize`]).

pub(crate) mod controller;
pub(crate) mod deps;
mod entry;
pub(crate) mod error;
pub(crate) mod finalize;
pub(crate) mod health;
pub(crate) mod impersonate;
pub(crate) mod inventory;
pub(crate) mod plan;
pub(crate) mod raw;
pub(crate) mod reconcile;
pub(crate) mod source;
pub(crate) mod state;
pub(crate) mod status;
pub(crate) mod unchanged;

pub use entry::{error_policy, reconcile};
pub use error::KustomizationError;
pub(crate) use reconcile::label;
pub use state::{Memory, State};
