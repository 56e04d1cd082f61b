//! driftless-controller: the Application controller. It watches Argo CD
//! `Application`s, resolves and renders their Git source, compares it with
//! the cluster, syncs when automated, and reports status, events and
//! metrics.
//!
//! The reconcile is written as phases (see [`reconcile`]): dereference the
//! Application and its AppProject → validate → resolve the revision →
//! render (cached) → diff → sync when due → write status. The middle phases
//! are pure functions in their own modules ([`project`], [`overrides`],
//! [`decide`], [`status`], [`cycle`], [`retry`]); the pipeline is reached
//! through the [`pipeline`] traits.

pub mod cycle;
pub mod decide;
pub mod error;
pub mod overrides;
pub mod pipeline;
pub mod project;
pub mod render_cache;
pub mod retry;
pub mod status;

pub use error::{Error, Result};
