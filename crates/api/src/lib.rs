//! Custom resource types for driftless: Argo CD's `argoproj.io/v1alpha1`
//! `Application` and `AppProject`, accepted verbatim, plus CRD generation.

pub mod application;
pub mod crd;
pub mod project;
pub mod unsupported;

pub use application::*;
pub use project::{AppProject, AppProjectSpec, GroupKind};
