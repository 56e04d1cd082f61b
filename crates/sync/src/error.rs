//! The errors of the sync engine. Errors about one object name it
//! (`kind namespace/name`); most are reported per resource in a
//! [`crate::Comparison`] or [`crate::SyncResult`] rather than returned.

/// What went wrong while comparing or syncing.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// API discovery failed.
    #[error("API discovery failed: {0}")]
    Discovery(#[source] kube::Error),
    /// Listing live objects of a kind failed.
    #[error("listing {kind} in {scope} failed: {source}")]
    List {
        /// The kind listed.
        kind: String,
        /// The namespace, or "all namespaces".
        scope: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Watching a kind for tracked objects (to find what to prune) failed
    /// before its first complete list.
    #[error("watching {kind} in {scope} for tracked objects failed: {message}")]
    Watch {
        /// The kind watched (`apiVersion/Kind`).
        kind: String,
        /// The namespace, or "all namespaces".
        scope: String,
        /// What went wrong.
        message: String,
    },
    /// A request about one object failed.
    #[error("{action} {object} failed: {source}")]
    Object {
        /// What was attempted (apply, dry-run, delete, get).
        action: &'static str,
        /// The object, as `Kind namespace/name`.
        object: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The sync would delete every resource of the Application and apply
    /// nothing, and `allowEmpty` is off.
    #[error(
        "refusing to sync Application {app}: it would prune all {count} of its resources and apply none (set allowEmpty to allow this)"
    )]
    EmptyRender {
        /// The Application's tracking name.
        app: String,
        /// How many resources would be pruned.
        count: usize,
    },
    /// A rendered object lacks what every object needs.
    #[error("rendered object #{index} ({object}) is invalid: {reason}")]
    InvalidObject {
        /// Its position in the rendered list.
        index: usize,
        /// What is known of it.
        object: String,
        /// What is missing.
        reason: String,
    },
    /// Two rendered objects have the same identity.
    #[error("{object} is rendered twice")]
    Duplicate {
        /// The object, as `Kind namespace/name`.
        object: String,
    },
}
