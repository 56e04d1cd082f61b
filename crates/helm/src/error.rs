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
        /// What helm was doing: `dependency build` or `template`.
        step: &'static str,
        /// What helm printed on stderr (credentials removed), or why it did not run.
        message: String,
    },
    /// Downloading the index or the chart archive, or unpacking it, failed.
    #[error("chart {chart} version {version} from {repository}: {source}")]
    Fetch {
        /// The chart name.
        chart: String,
        /// The chart version (or the range asked for, before one is picked).
        version: String,
        /// The repository URL.
        repository: String,
        /// What failed.
        source: Box<FetchError>,
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

impl HelmError {
    /// Why downloading or unpacking failed, for a [`HelmError::Fetch`].
    pub fn fetch_error(&self) -> Option<&FetchError> {
        match self {
            HelmError::Fetch { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Why downloading or unpacking a chart failed. URLs never carry
/// credentials here (they are sent as a header, never in a URL).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL is not one this crate fetches.
    #[error("{url}: {message}")]
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// The server could not be reached or the connection failed.
    #[error("GET {url}: {message}")]
    Unreachable {
        /// The URL.
        url: String,
        /// The connection error.
        message: String,
    },
    /// The server answered with an error status.
    #[error("GET {url}: HTTP {status}{hint}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// A hint for 401/403 (credentials) and 404.
        hint: &'static str,
        /// The `WWW-Authenticate` challenge of a 401 (an OCI registry's
        /// token service), not part of the message.
        challenge: Option<String>,
    },
    /// No answer within the time limit.
    #[error("GET {url}: no complete answer within {seconds}s")]
    Timeout {
        /// The URL.
        url: String,
        /// The time limit.
        seconds: u64,
    },
    /// The answer is larger than allowed.
    #[error("GET {url}: larger than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// More redirects than allowed.
    #[error("GET {url}: more than {limit} redirects")]
    Redirects {
        /// The first URL.
        url: String,
        /// The limit.
        limit: usize,
    },
    /// A paginated list (an OCI registry's tags) goes on past the limits.
    #[error(
        "GET {url}: the list goes on past {pages} pages or {entries} entries; not read further"
    )]
    TooManyPages {
        /// The first page's URL.
        url: String,
        /// The most pages read.
        pages: usize,
        /// The most entries read.
        entries: usize,
    },
    /// The archive's sha256 differs from the index's `digest`.
    #[error("{url}: sha256 {actual} differs from the digest {expected} in index.yaml")]
    Digest {
        /// The archive URL.
        url: String,
        /// The index's digest.
        expected: String,
        /// The archive's.
        actual: String,
    },
    /// The archive is corrupt or holds something a chart may not.
    #[error("archive {archive}: {entry}: {message}")]
    Archive {
        /// The archive URL or file name.
        archive: String,
        /// The entry at fault (or `-` for the archive as a whole).
        entry: String,
        /// What is wrong.
        message: String,
    },
}
