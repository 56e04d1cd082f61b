//! The Kustomization controller's error: only API failures reach the
//! error policy; everything else becomes a condition.

/// An API call the Kustomization controller could not make.
pub type KustomizationError = crate::flux_write::FluxApiError;
