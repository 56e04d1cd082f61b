//! The one error type of this crate. Messages name the repository URL (with
//! any credentials removed), the revision or the file involved, and never
//! contain a password, token or key.

/// Everything that can go wrong fetching, resolving, reading or parsing.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The repository URL could not be understood.
    #[error("invalid repository URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL, with credentials removed.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The host name did not resolve, or no route to it exists.
    #[error("{url}: host unreachable: {message}")]
    Unreachable {
        /// The repository URL.
        url: String,
        /// The transport's message.
        message: String,
    },
    /// Nothing listens on the host's port.
    #[error("{url}: connection refused: {message}")]
    ConnectionRefused {
        /// The repository URL.
        url: String,
        /// The transport's message.
        message: String,
    },
    /// The server rejected the credentials (or none were configured).
    #[error("{url}: authentication failed: {message}")]
    AuthFailed {
        /// The repository URL.
        url: String,
        /// What the server or transport said.
        message: String,
    },
    /// The server answered, but has no such repository.
    #[error("{url}: repository not found: {message}")]
    RepoNotFound {
        /// The repository URL.
        url: String,
        /// What the server said.
        message: String,
    },
    /// The server's certificate or SSH host key was not trusted.
    #[error("{url}: host key or certificate not trusted: {message}")]
    Untrusted {
        /// The repository URL.
        url: String,
        /// Why.
        message: String,
    },
    /// The fetch did not finish within the configured timeout.
    #[error("{url}: fetch timed out after {seconds}s")]
    Timeout {
        /// The repository URL.
        url: String,
        /// The timeout.
        seconds: u64,
    },
    /// The fetch failed for another reason.
    #[error("{url}: fetch failed: {message}")]
    Fetch {
        /// The repository URL.
        url: String,
        /// The transport's message.
        message: String,
    },
    /// The revision names no branch, tag, ref or commit of the repository.
    #[error("{url}: revision {revision:?} not found (not a branch, tag, ref or commit)")]
    RevisionNotFound {
        /// The repository URL.
        url: String,
        /// The revision asked for.
        revision: String,
    },
    /// The abbreviated SHA matches more than one object.
    #[error("{url}: revision {revision:?} is ambiguous")]
    AmbiguousRevision {
        /// The repository URL.
        url: String,
        /// The revision asked for.
        revision: String,
    },
    /// The local mirror could not be read or written.
    #[error("{url}: mirror cache {path}: {message}")]
    Cache {
        /// The repository URL.
        url: String,
        /// The mirror's directory.
        path: String,
        /// What failed.
        message: String,
    },
    /// Reading the credentials (the Secrets) failed.
    #[error("reading repository credentials for {url}: {message}")]
    Credentials {
        /// The repository URL.
        url: String,
        /// What failed (never a secret value).
        message: String,
    },
    /// A webhook request carried a wrong or missing signature or token.
    #[error("{provider} webhook: {message}")]
    WebhookUnauthorized {
        /// The provider the request claims to come from.
        provider: &'static str,
        /// What did not match (never the secret).
        message: String,
    },
    /// A webhook payload could not be parsed.
    #[error("{provider} webhook: malformed payload: {message}")]
    WebhookMalformed {
        /// The provider.
        provider: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A webhook payload was larger than allowed.
    #[error("webhook payload is {size} bytes, more than the {limit} byte limit")]
    WebhookTooLarge {
        /// The payload size.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

impl SourceError {
    /// The HTTP status a webhook endpoint answers with for this error:
    /// 401 for a bad signature, 413 for a payload too large, 400 for a
    /// malformed payload, 500 for everything else.
    pub fn http_status(&self) -> u16 {
        match self {
            SourceError::WebhookUnauthorized { .. } => 401,
            SourceError::WebhookTooLarge { .. } => 413,
            SourceError::WebhookMalformed { .. } => 400,
            _ => 500,
        }
    }

    /// Whether retrying later may help (network trouble, timeouts), as
    /// opposed to a configuration error (bad URL, missing revision, auth).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SourceError::Unreachable { .. }
                | SourceError::ConnectionRefused { .. }
                | SourceError::Timeout { .. }
                | SourceError::Fetch { .. }
                | SourceError::Cache { .. }
                | SourceError::Credentials { .. }
        )
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = SourceError> = std::result::Result<T, E>;
