//! The Kustomization controller's error: only API failures reach the
//! error policy; everything else becomes a condition.

/// An API call the Kustomization controller could not make.
#[derive(Debug, thiserror::Error)]
#[error("kustomization {name}: {action}: {source}")]
pub struct KustomizationError {
    /// `namespace/name`.
    pub name: String,
    /// What was being done.
    pub action: &'static str,
    /// The API error.
    #[source]
    pub source: kube::Error,
}
