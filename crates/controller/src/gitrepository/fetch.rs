//! The Git phase of a GitRepository reconcile: the credentials of
//! `spec.secretRef` (read in the GitRepository's namespace, given to this
//! one fetch only), one fetch of the shared mirror bounded by
//! `spec.timeout`, then the reference resolved in the mirror.

use std::time::Duration;

use driftless_api::flux::condition::reasons;
use driftless_api::flux::source::v1::GitRepository;
use driftless_source::credentials::flux::{FluxSecretError, from_flux_secret};
use driftless_source::credentials::{Recent, RepoCredentials};
use driftless_source::semver_range::{RangeError, SemverRange};
use driftless_source::{Access, MirrorCache, RepoUrl, SourceError, redact};
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client, ResourceExt};

use super::reference::{Wanted, revision};

/// A commit the reference resolved to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fetched {
    /// Its full SHA.
    pub(crate) sha: String,
    /// Its revision in Flux's form (`main@sha1:<sha>`).
    pub(crate) revision: String,
}

/// Why a GitRepository's fetch failed. Messages never carry a secret value.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    /// The Secret in `spec.secretRef` could not be read.
    #[error("failed to get secret '{secret}': {source}")]
    SecretUnreadable {
        /// `namespace/name`.
        secret: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The Secret holds no usable credentials for the URL.
    #[error("failed to configure authentication options: {0}")]
    SecretInvalid(#[from] FluxSecretError),
    /// Fetching or reading the mirror failed.
    #[error("failed to checkout and determine revision: {0}")]
    Git(#[from] SourceError),
    /// No tag matches the semver range.
    #[error(
        "failed to checkout and determine revision: {url}: no tag matches semver range '{range}'"
    )]
    NoSemverMatch {
        /// The repository URL (credentials removed).
        url: String,
        /// The range.
        range: String,
    },
    /// The semver range does not parse.
    #[error("invalid spec.ref.semver: {0}")]
    InvalidRange(#[from] RangeError),
    /// `ref.commit` is not on `ref.branch`.
    #[error(
        "failed to checkout and determine revision: {url}: commit '{commit}' is not on branch '{branch}'"
    )]
    NotOnBranch {
        /// The repository URL (credentials removed).
        url: String,
        /// The commit.
        commit: String,
        /// The branch.
        branch: String,
    },
}

impl FetchError {
    /// Flux's condition reason for this failure. A server rejecting the
    /// credentials is `AuthenticationFailed` too (Flux says
    /// `GitOperationFailed` there): what the user must fix is the Secret.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            FetchError::SecretUnreadable { .. }
            | FetchError::SecretInvalid(_)
            | FetchError::Git(SourceError::AuthFailed { .. }) => reasons::AUTHENTICATION_FAILED,
            FetchError::InvalidRange(_) => reasons::INVALID_SPEC,
            _ => reasons::GIT_OPERATION_FAILED,
        }
    }

    /// Whether only a change to the spec can help (nothing to retry).
    pub(crate) fn is_stalling(&self) -> bool {
        matches!(self, FetchError::InvalidRange(_))
    }
}

/// The credentials of `repo`'s `spec.secretRef` for its URL (none without
/// one), read with `client` in `repo`'s namespace, and its time limit: what
/// a fetch of `repo`'s URL on its behalf must use. With `recent`, the
/// credentials read less than its time to live ago are used and a fresh
/// read is kept there; the reconcile forgets them when a fetch fails
/// ([`secret_key`]), so a fixed Secret is read at the next attempt.
pub(crate) async fn access(
    client: &Client,
    recent: Option<&Recent<RepoCredentials>>,
    repo: &GitRepository,
    url: &RepoUrl,
    timeout: Duration,
) -> Result<Access, FetchError> {
    let credentials = match secret_key(repo) {
        None => None,
        Some(key) => match recent.and_then(|r| r.get(&key)) {
            Some(remembered) => Some(remembered),
            None => {
                let read = read_secret(client, repo, url).await?;
                if let Some(recent) = recent {
                    recent.insert(&key, read.clone());
                }
                Some(read)
            }
        },
    };
    Ok(Access {
        timeout: Some(timeout),
        credentials,
        ..Access::default()
    })
}

/// The credentials in `repo`'s `spec.secretRef` Secret for `url`.
async fn read_secret(
    client: &Client,
    repo: &GitRepository,
    url: &RepoUrl,
) -> Result<RepoCredentials, FetchError> {
    let name = repo
        .spec
        .secret_ref
        .as_ref()
        .map(|r| r.name.clone())
        .unwrap_or_default();
    let namespace = repo.namespace().unwrap_or_default();
    let origin = format!("{namespace}/{name}");
    let secret = Api::<Secret>::namespaced(client.clone(), &namespace)
        .get(&name)
        .await
        .map_err(|source| FetchError::SecretUnreadable {
            secret: origin.clone(),
            source,
        })?;
    let data = secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(key, value)| (key, value.0))
        .collect();
    Ok(from_flux_secret(url, &data, &origin)?)
}

/// What `repo`'s Secret credentials are remembered under: the Secret and
/// the URL they were made for (`None` without `spec.secretRef`).
pub(crate) fn secret_key(repo: &GitRepository) -> Option<String> {
    let secret = repo.spec.secret_ref.as_ref()?;
    let namespace = repo.namespace().unwrap_or_default();
    Some(format!("{namespace}/{} {}", secret.name, repo.spec.url))
}

/// Fetches `url` with `access` and resolves `wanted` in the mirror.
pub(crate) async fn fetch(
    cache: &MirrorCache,
    url: &str,
    wanted: &Wanted,
    mut access: Access,
) -> Result<Fetched, FetchError> {
    access.extra_refs = wanted.extra_refs();
    cache.fetch_with(url, &access).await?;
    let (sha, tag) = match wanted {
        Wanted::Branch(branch) => (
            lookup(cache, url, &format!("refs/heads/{branch}")).await?,
            None,
        ),
        Wanted::Tag(tag) => (lookup(cache, url, &format!("refs/tags/{tag}")).await?, None),
        Wanted::Name(name) => (lookup(cache, url, name).await?, None),
        Wanted::Semver(range) => {
            let tag = highest_tag(cache, url, range).await?;
            (
                lookup(cache, url, &format!("refs/tags/{tag}")).await?,
                Some(tag),
            )
        }
        Wanted::Commit { sha, branch } => (commit(cache, url, sha, branch.as_deref()).await?, None),
    };
    Ok(Fetched {
        revision: revision(wanted, tag.as_deref(), &sha),
        sha,
    })
}

async fn lookup(cache: &MirrorCache, url: &str, revision: &str) -> Result<String, FetchError> {
    Ok(cache.lookup(url, revision).await?)
}

/// The highest tag of the mirror in `range`.
async fn highest_tag(cache: &MirrorCache, url: &str, range: &str) -> Result<String, FetchError> {
    let parsed = SemverRange::parse(range)?;
    let tags = cache.tags(url).await?;
    parsed
        .highest(tags.iter().map(String::as_str))
        .map(|(tag, _)| tag.to_string())
        .ok_or_else(|| FetchError::NoSemverMatch {
            url: redact(url),
            range: range.to_string(),
        })
}

/// The commit `sha` (full or abbreviated), on `branch` when one is given.
async fn commit(
    cache: &MirrorCache,
    url: &str,
    sha: &str,
    branch: Option<&str>,
) -> Result<String, FetchError> {
    let full = lookup(cache, url, sha).await?;
    if let Some(branch) = branch {
        let tip = lookup(cache, url, &format!("refs/heads/{branch}")).await?;
        if !cache.contains(url, &tip, &full).await? {
            return Err(FetchError::NotOnBranch {
                url: redact(url),
                commit: sha.to_string(),
                branch: branch.to_string(),
            });
        }
    }
    Ok(full)
}
