//! The API-neutral reconcile core: one straight line of typed phases shared
//! by every API driftless serves (Argo CD's `Application`, Flux's
//! `Kustomization`).
//!
//! ```text
//! resolve (Git revision → commit) → render (cached) → compare → sync when due → health
//! ```
//!
//! Each phase is a function returning a value, with its own error type
//! naming the owner, repository, revision, path or object involved
//! ([`error`]). An API is an adapter around these phases: its spec becomes
//! a source, render options and a sync [`driftless_sync::Target`] (owner
//! identity, tracking name, prune, force, target namespace, ownership
//! rule), and the phases' results become its own status, conditions and
//! events. Nothing of the pipeline is written twice.

pub mod error;
mod log;
mod phases;

pub use error::{ApplyError, CompareError, DeleteError, Owner, RenderError, ResolveError};
pub use phases::{RenderRequest, compare, delete, render, resolve, sync};
