//! The one error type of this crate. Every variant names the chart (and its
//! version and repository where known) or the file at fault. Credentials are
//! never part of a message.

use driftless_render::{RenderError, TreeError};

/// Why fetching or rendering a chart failed.
#[derive(Debug, thiserror::Error)]
pub enum HelmError {
    /// The repository's index lists no version of the chart that matches.
    #[error("chart {chart} in {repository}: no version matches {wanted} (available: {available})")]
    NoSuchVersion {
        /// The chart name.
        chart: String,
        /// The repository URL.
        repository: String,
        /// The version or semver range asked for.
        wanted: String,
        /// The versions the index lists (the newest few), or `none`.
        available: String,
    },
    /// The version field is neither a version nor a semver range.
    #[error("chart {chart} in {repository}: version {wanted:?}: {message}")]
    BadVersion {
        /// The chart name.
        chart: String,
        /// The repository URL.
        repository: String,
        /// What was asked for.
        wanted: String,
        /// Why it is invalid.
        message: String,
    },
    /// The repository's `index.yaml` could not be read or parsed.
    #[error("chart repository {repository}: index.yaml: {message}")]
    Index {
        /// The repository URL.
        repository: String,
        /// What went wrong.
        message: String,
    },
    /// A `helm` command failed (fetching, dependency build or template).
    #[error("chart {chart} version {version} from {repository}: helm {step} failed: {message}")]
    Helm {
        /// The chart name (or path in the repository).
        chart: String,
        /// The chart version (or the Git revision).
        version: String,
        /// Where the chart comes from.
        repository: String,
        /// What helm was doing: `pull`, `repo update`, `dependency build`, `template`.
        step: &'static str,
        /// What helm printed on stderr (credentials removed), or why it did not run.
        message: String,
    },
    /// An input is invalid before helm runs (a bad release name, a value
    /// file outside the repository, an unsupported URL, ...).
    #[error("chart {chart}: {field}: {message}")]
    Input {
        /// The chart name.
        chart: String,
        /// The input at fault, e.g. `valueFiles[1]`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A file of the chart or the repository could not be read.
    #[error("chart {chart}: {source}")]
    Tree {
        /// The chart name.
        chart: String,
        /// The file and what went wrong.
        source: TreeError,
    },
    /// The chart is larger than a render may copy or unpack.
    #[error("chart {chart}: {path}: {message}")]
    TooLarge {
        /// The chart name.
        chart: String,
        /// The file or directory.
        path: String,
        /// The limit exceeded.
        message: String,
    },
    /// helm's output could not be parsed as Kubernetes objects.
    #[error("chart {chart} version {version}: output of helm template: {source}")]
    Output {
        /// The chart name.
        chart: String,
        /// The chart version.
        version: String,
        /// What the parser said.
        source: Box<RenderError>,
    },
    /// The private working directory could not be prepared.
    #[error("chart {chart}: preparing {path}: {source}")]
    Io {
        /// The chart name.
        chart: String,
        /// The path being written.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}
