//! Flux's `Kustomization` on the engine: an adapter from its spec to the
//! engine's plan ([`plan`]) and from the phases' results to its status
//! ([`status`]), with Flux's semantics for `dependsOn` ([`deps`]), the
//! source ([`source`]), health checks ([`health`]), the inventory
//! ([`inventory`]) and deletion ([`finalize`]).

pub mod controller;
pub mod deps;
pub mod error;
pub mod finalize;
pub mod health;
pub mod impersonate;
pub mod inventory;
pub mod plan;
pub mod raw;
mod reconcile;
pub mod source;
mod state;
pub mod status;
mod write;

pub use error::KustomizationError;
pub use reconcile::{error_policy, reconcile};
pub use state::{Memory, State};
