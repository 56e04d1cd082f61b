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

#![warn(missing_docs)]

pub mod adapters;
pub mod api_requests;
mod build_env;
pub mod config;
pub mod context;
pub mod cycle;
pub mod decide;
pub mod engine;
pub mod error;
pub mod events;
pub mod filtered_tree;
pub mod finalize;
pub mod finalizers;
pub mod flux_build;
mod flux_entry;
mod flux_kind;
mod flux_outcome;
pub mod flux_state;
pub mod flux_write;
mod gitrepository;
mod helm_render;
pub mod helmrelease;
pub mod http;
pub mod ignore_cache;
pub mod kustomization;
pub mod leader;
pub mod metrics;
pub mod overrides;
pub mod patch;
pub mod pipeline;
pub mod postbuild;
pub mod preview;
pub mod project;
mod projects;
pub mod reconcile;
pub mod render_cache;
pub mod retry;
pub mod runtime;
pub mod selfheal;
pub mod status;
mod watched;
pub mod webhook;

pub use config::{ControllerConfig, LeaderElection};
pub use context::Context;
pub use error::{Error, Result};
pub use runtime::{Running, run, shutdown_signal, start};
pub use watched::NextReconcile;
