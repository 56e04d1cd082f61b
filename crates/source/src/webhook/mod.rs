//! Push webhooks: detect the provider from the headers, verify the shared
//! secret, and extract the repository URL(s), ref, before/after SHAs and
//! changed files. The HTTP endpoint itself is served by the controller,
//! which maps errors to a status with [`SourceError::http_status`].
//!
//! | provider        | detected by                    | verified with                              |
//! |-----------------|--------------------------------|--------------------------------------------|
//! | GitHub          | `X-GitHub-Event`               | HMAC-SHA256 `X-Hub-Signature-256`          |
//! | GitLab          | `X-Gitlab-Event`               | `X-Gitlab-Token` equal to the secret       |
//! | Gitea           | `X-Gitea-Event`                | HMAC-SHA256 hex `X-Gitea-Signature`        |
//! | Gogs            | `X-Gogs-Event`                 | HMAC-SHA256 hex `X-Gogs-Signature`         |
//! | Bitbucket Cloud | `X-Event-Key`                  | `X-Hook-UUID` equal to the configured UUID, or HMAC `X-Hub-Signature` |
//! | generic         | none of the above              | HMAC-SHA256 `X-Driftless-Signature-256`    |

mod bitbucket;
mod generic;
mod github;
mod gitlab;
mod signature;

pub use signature::hmac_sha256_hex;

use http::HeaderMap;

use crate::error::{Result, SourceError};

/// Default bound on a payload's size (GitHub caps its payloads at 25 MB).
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 25 * 1024 * 1024;

/// The Git hosting service a webhook came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// GitHub (and GitHub Enterprise).
    GitHub,
    /// GitLab.
    GitLab,
    /// Gitea (and Forgejo).
    Gitea,
    /// Gogs.
    Gogs,
    /// Bitbucket Cloud.
    Bitbucket,
    /// The generic JSON form (see [`generic`](self#generic-json-form)).
    Generic,
}

impl Provider {
    /// The provider's name for logs and errors.
    pub fn name(self) -> &'static str {
        match self {
            Provider::GitHub => "GitHub",
            Provider::GitLab => "GitLab",
            Provider::Gitea => "Gitea",
            Provider::Gogs => "Gogs",
            Provider::Bitbucket => "Bitbucket",
            Provider::Generic => "generic",
        }
    }
}

/// Shared secrets per provider. A provider whose secret is `None` is
/// accepted without verification (as Argo CD does).
#[derive(Clone, Default)]
pub struct WebhookSecrets {
    /// GitHub's webhook secret.
    pub github: Option<String>,
    /// GitLab's secret token.
    pub gitlab: Option<String>,
    /// Gitea's webhook secret.
    pub gitea: Option<String>,
    /// Gogs' webhook secret.
    pub gogs: Option<String>,
    /// Bitbucket Cloud's webhook UUID (`X-Hook-UUID`).
    pub bitbucket_uuid: Option<String>,
    /// Bitbucket Cloud's webhook secret (`X-Hub-Signature`).
    pub bitbucket: Option<String>,
    /// The generic form's secret.
    pub generic: Option<String>,
    /// Payloads larger than this are refused; [`DEFAULT_MAX_PAYLOAD_BYTES`] when 0.
    pub max_payload_bytes: usize,
}

impl std::fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |o: &Option<String>| if o.is_some() { "<set>" } else { "<none>" };
        f.debug_struct("WebhookSecrets")
            .field("github", &set(&self.github))
            .field("gitlab", &set(&self.gitlab))
            .field("gitea", &set(&self.gitea))
            .field("gogs", &set(&self.gogs))
            .field("bitbucket_uuid", &set(&self.bitbucket_uuid))
            .field("bitbucket", &set(&self.bitbucket))
            .field("generic", &set(&self.generic))
            .field("max_payload_bytes", &self.max_payload_bytes)
            .finish()
    }
}

/// A push: which repository, which ref moved from where to where, and which
/// files changed (when the payload says).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushEvent {
    /// Who sent it.
    pub provider: Provider,
    /// Every URL the payload gives for the repository (web, HTTPS clone,
    /// SSH clone); match them against Applications with
    /// [`normalize_url`](crate::normalize_url).
    pub repo_urls: Vec<String>,
    /// The full ref that moved (`refs/heads/main`, `refs/tags/v1`).
    pub git_ref: String,
    /// The commit before the push (all zeros for a new ref), when given.
    pub before: Option<String>,
    /// The commit after the push (all zeros for a deleted ref), when given.
    pub after: Option<String>,
    /// Files added, modified or removed; `None` when the payload does not
    /// list them all (then every Application on the repository refreshes).
    pub changed_files: Option<Vec<String>>,
}

impl PushEvent {
    /// The branch name when the ref is a branch (`refs/heads/x` -> `x`).
    pub fn branch(&self) -> Option<&str> {
        self.git_ref.strip_prefix("refs/heads/")
    }

    /// The tag name when the ref is a tag.
    pub fn tag(&self) -> Option<&str> {
        self.git_ref.strip_prefix("refs/tags/")
    }
}

/// What a webhook request turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookEvent {
    /// A push to act on.
    Push(PushEvent),
    /// A verified event of another kind (a ping, a pull request…): answer
    /// 2xx and do nothing.
    Ignored {
        /// Who sent it.
        provider: Provider,
        /// The event name the provider gave.
        event: String,
    },
}

/// Parses and verifies one webhook request.
///
/// Errors: [`SourceError::WebhookTooLarge`] (413),
/// [`SourceError::WebhookUnauthorized`] (401: missing or wrong signature or
/// token), [`SourceError::WebhookMalformed`] (400).
pub fn parse(headers: &HeaderMap, body: &[u8], secrets: &WebhookSecrets) -> Result<WebhookEvent> {
    let result = parse_inner(headers, body, secrets);
    match &result {
        Ok(WebhookEvent::Push(push)) => tracing::debug!(
            provider = push.provider.name(),
            git_ref = %push.git_ref,
            repos = ?push.repo_urls,
            "webhook push"
        ),
        Ok(WebhookEvent::Ignored { provider, event }) => {
            tracing::debug!(provider = provider.name(), event, "webhook event ignored")
        }
        Err(e) => tracing::warn!(status = e.http_status(), error = %e, "webhook rejected"),
    }
    result
}

fn parse_inner(headers: &HeaderMap, body: &[u8], secrets: &WebhookSecrets) -> Result<WebhookEvent> {
    let limit = match secrets.max_payload_bytes {
        0 => DEFAULT_MAX_PAYLOAD_BYTES,
        n => n,
    };
    if body.len() > limit {
        return Err(SourceError::WebhookTooLarge {
            size: body.len(),
            limit,
        });
    }
    let provider = detect(headers);
    let event = match provider {
        Provider::GitHub => header(headers, "x-github-event"),
        Provider::Gitea => header(headers, "x-gitea-event"),
        Provider::Gogs => header(headers, "x-gogs-event"),
        Provider::GitLab => header(headers, "x-gitlab-event"),
        Provider::Bitbucket => header(headers, "x-event-key"),
        Provider::Generic => Some("push"),
    }
    .unwrap_or_default()
    .to_string();
    verify(provider, headers, body, secrets)?;
    let ignored = || {
        Ok(WebhookEvent::Ignored {
            provider,
            event: event.clone(),
        })
    };
    match provider {
        Provider::GitHub | Provider::Gitea | Provider::Gogs => {
            if event != "push" {
                return ignored();
            }
            github::parse(provider, body).map(WebhookEvent::Push)
        }
        Provider::GitLab => {
            if event != "Push Hook" && event != "Tag Push Hook" && event != "System Hook" {
                return ignored();
            }
            gitlab::parse(body).map(|p| {
                p.map_or_else(
                    || WebhookEvent::Ignored {
                        provider,
                        event: event.clone(),
                    },
                    WebhookEvent::Push,
                )
            })
        }
        Provider::Bitbucket => {
            if event != "repo:push" {
                return ignored();
            }
            bitbucket::parse(body).map(WebhookEvent::Push)
        }
        Provider::Generic => generic::parse(body).map(WebhookEvent::Push),
    }
}

/// Which provider sent the request. Gitea and Gogs also send GitHub's
/// header, so they are checked first.
pub fn detect(headers: &HeaderMap) -> Provider {
    if headers.contains_key("x-gitea-event") {
        Provider::Gitea
    } else if headers.contains_key("x-gogs-event") {
        Provider::Gogs
    } else if headers.contains_key("x-github-event") {
        Provider::GitHub
    } else if headers.contains_key("x-gitlab-event") {
        Provider::GitLab
    } else if headers.contains_key("x-event-key") {
        Provider::Bitbucket
    } else {
        Provider::Generic
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

fn verify(provider: Provider, headers: &HeaderMap, body: &[u8], s: &WebhookSecrets) -> Result<()> {
    let name = provider.name();
    let hmac = |secret: &Option<String>, header_name: &str, prefix: &str| -> Result<()> {
        let Some(secret) = secret else { return Ok(()) };
        let given =
            header(headers, header_name).ok_or_else(|| SourceError::WebhookUnauthorized {
                provider: name,
                message: format!("missing {header_name} header"),
            })?;
        let hex = given
            .strip_prefix(prefix)
            .ok_or_else(|| SourceError::WebhookUnauthorized {
                provider: name,
                message: format!("{header_name} does not start with {prefix:?}"),
            })?;
        if signature::hmac_sha256_matches(secret.as_bytes(), body, hex) {
            Ok(())
        } else {
            Err(SourceError::WebhookUnauthorized {
                provider: name,
                message: format!("{header_name} does not match the payload"),
            })
        }
    };
    let token = |secret: &Option<String>, header_name: &str| -> Result<()> {
        let Some(secret) = secret else { return Ok(()) };
        match header(headers, header_name) {
            Some(given) if signature::equal(given.as_bytes(), secret.as_bytes()) => Ok(()),
            Some(_) => Err(SourceError::WebhookUnauthorized {
                provider: name,
                message: format!("{header_name} is wrong"),
            }),
            None => Err(SourceError::WebhookUnauthorized {
                provider: name,
                message: format!("missing {header_name} header"),
            }),
        }
    };
    match provider {
        Provider::GitHub => hmac(&s.github, "x-hub-signature-256", "sha256="),
        Provider::Gitea => hmac(&s.gitea, "x-gitea-signature", ""),
        Provider::Gogs => hmac(&s.gogs, "x-gogs-signature", ""),
        Provider::GitLab => token(&s.gitlab, "x-gitlab-token"),
        Provider::Bitbucket => {
            token(&s.bitbucket_uuid, "x-hook-uuid")?;
            hmac(&s.bitbucket, "x-hub-signature", "sha256=")
        }
        Provider::Generic => hmac(&s.generic, "x-driftless-signature-256", "sha256="),
    }
}

/// A malformed-payload error for `provider`.
fn malformed(provider: Provider, message: impl Into<String>) -> SourceError {
    SourceError::WebhookMalformed {
        provider: provider.name(),
        message: message.into(),
    }
}

/// Parses JSON, mapping errors to [`SourceError::WebhookMalformed`].
fn json<T: serde::de::DeserializeOwned>(provider: Provider, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| malformed(provider, e.to_string()))
}

/// Keeps the non-empty URLs, without duplicates, in order.
fn urls(candidates: impl IntoIterator<Item = Option<String>>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for url in candidates.into_iter().flatten() {
        if !url.is_empty() && !out.contains(&url) {
            out.push(url);
        }
    }
    out
}

#[cfg(test)]
mod tests;
