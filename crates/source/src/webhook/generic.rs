//! The generic JSON form, for any other sender (a CI job, a script):
//!
//! ```json
//! { "repository": "https://git.example.com/org/app.git",
//!   "ref": "refs/heads/main",
//!   "before": "…", "after": "…",
//!   "changedFiles": ["apps/web/deployment.yaml"] }
//! ```
//!
//! `repositories` (a list) may replace `repository`; `ref` may be a bare
//! branch name (`main`); `before`, `after` and `changedFiles` are optional.
//! When a generic secret is configured, `X-Driftless-Signature-256:
//! sha256=<hex HMAC-SHA256 of the body>` is required.

use serde::Deserialize;

use super::{Provider, PushEvent, json, malformed, urls};
use crate::error::Result;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    repository: Option<String>,
    #[serde(default)]
    repositories: Vec<String>,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    before: Option<String>,
    after: Option<String>,
    changed_files: Option<Vec<String>>,
}

pub(super) fn parse(body: &[u8]) -> Result<PushEvent> {
    let provider = Provider::Generic;
    let p: Payload = json(provider, body)?;
    let repo_urls = urls(p.repository.into_iter().chain(p.repositories).map(Some));
    if repo_urls.is_empty() {
        return Err(malformed(provider, "no \"repository\" or \"repositories\""));
    }
    let git_ref = match p.git_ref {
        Some(r) if r.starts_with("refs/") => r,
        Some(r) if !r.is_empty() => format!("refs/heads/{r}"),
        _ => "HEAD".to_string(),
    };
    Ok(PushEvent {
        provider,
        repo_urls,
        git_ref,
        before: p.before,
        after: p.after,
        changed_files: p.changed_files,
    })
}
