//! The one error type of the controller crate. Every message names the
//! Application (as `namespace/name`) and, where one is involved, the
//! repository, revision or object.

use std::time::Duration;

/// Something the controller could not do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error("application {app}: {action}: {source}")]
    Kube {
        /// The Application (`namespace/name`), or a component name.
        app: String,
        /// What was being done.
        action: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The spec is invalid or violates its project; nothing was applied.
    #[error("application {app}: invalid spec: {message}")]
    InvalidSpec {
        /// The Application (`namespace/name`).
        app: String,
        /// What is wrong.
        message: String,
    },
    /// The Git revision could not be resolved or fetched.
    #[error("application {app}: cannot resolve revision {revision:?} of {repo}: {message}")]
    Source {
        /// The Application (`namespace/name`).
        app: String,
        /// The repository URL.
        repo: String,
        /// The revision asked for.
        revision: String,
        /// What went wrong.
        message: String,
    },
    /// Rendering the path failed.
    #[error("application {app}: cannot render path {path:?} of {repo} at {revision}: {message}")]
    Render {
        /// The Application (`namespace/name`).
        app: String,
        /// The repository URL.
        repo: String,
        /// The resolved commit.
        revision: String,
        /// The rendered path.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Fetching or rendering a Helm chart from a Helm repository or an OCI
    /// registry failed.
    #[error("application {app}: cannot render chart {chart} {version} from {repo}: {message}")]
    Chart {
        /// The Application (`namespace/name`).
        app: String,
        /// The Helm repository or OCI registry URL.
        repo: String,
        /// The chart name.
        chart: String,
        /// The version or range asked for.
        version: String,
        /// What went wrong (helm's message names the chart, version and file).
        message: String,
    },
    /// Comparing the rendered objects with the cluster failed.
    #[error("application {app}: comparison at {revision} failed: {message}")]
    Comparison {
        /// The Application (`namespace/name`).
        app: String,
        /// The resolved commit.
        revision: String,
        /// What went wrong.
        message: String,
    },
    /// Applying or pruning failed.
    #[error("application {app}: sync to {revision} failed: {message}")]
    Sync {
        /// The Application (`namespace/name`).
        app: String,
        /// The resolved commit.
        revision: String,
        /// What went wrong.
        message: String,
    },
    /// A configuration value is not usable.
    #[error("invalid controller configuration: {0}")]
    Config(String),
    /// An HTTP listener could not start.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// This replica lost the leader lease and stopped writing.
    #[error("lost the leader lease {namespace}/{name} (not renewed for {after:?})")]
    LostLease {
        /// Lease namespace.
        namespace: String,
        /// Lease name.
        name: String,
        /// How long renewal had been failing.
        after: Duration,
    },
}

impl Error {
    /// A [`Error::Kube`] for `app` while doing `action`.
    pub fn kube(app: impl Into<String>, action: impl Into<String>, source: kube::Error) -> Self {
        Error::Kube {
            app: app.into(),
            action: action.into(),
            source,
        }
    }

    /// The condition type this error is reported under in the Application's status.
    pub fn condition_type(&self) -> &'static str {
        use driftless_api::condition;
        match self {
            Error::InvalidSpec { .. } => condition::INVALID_SPEC_ERROR,
            Error::Sync { .. } => condition::SYNC_ERROR,
            _ => condition::COMPARISON_ERROR,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
