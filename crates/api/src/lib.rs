//! Custom resource types for driftless: Argo CD's `argoproj.io/v1alpha1`
//! `Application` and `AppProject`, accepted verbatim; Flux's `GitRepository`
//! and `Kustomization` (v1 and v1beta2, see [`flux`]); plus CRD generation.

pub mod application;
pub mod crd;
pub mod flux;
mod helm_source;
pub mod project;
pub mod unsupported;

pub use application::*;
pub use project::{AppProject, AppProjectSpec, GroupKind};
