//! GitHub push payloads (Gitea and Gogs send the same shape).

use serde::Deserialize;

use super::{Provider, PushEvent, json, malformed, urls};
use crate::error::Result;

/// GitHub lists at most this many commits in a push payload; with that
/// many the list may be cut, so the changed files are unknown.
const GITHUB_COMMIT_LIMIT: usize = 20;

#[derive(Deserialize)]
struct Payload {
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    before: Option<String>,
    after: Option<String>,
    repository: Option<Repository>,
    #[serde(default)]
    commits: Option<Vec<Commit>>,
}

#[derive(Deserialize)]
struct Repository {
    html_url: Option<String>,
    clone_url: Option<String>,
    ssh_url: Option<String>,
    git_url: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
struct Commit {
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    modified: Vec<String>,
    #[serde(default)]
    removed: Vec<String>,
}

pub(super) fn parse(provider: Provider, body: &[u8]) -> Result<PushEvent> {
    let p: Payload = json(provider, body)?;
    let repo = p
        .repository
        .ok_or_else(|| malformed(provider, "no \"repository\" in the push payload"))?;
    let git_ref = p
        .git_ref
        .ok_or_else(|| malformed(provider, "no \"ref\" in the push payload"))?;
    let repo_urls = urls([
        repo.html_url,
        repo.clone_url,
        repo.ssh_url,
        repo.git_url,
        // `url` is the API URL on GitHub, the web URL on Gitea and Gogs.
        repo.url
            .filter(|u| !u.contains("/api/") && !u.contains("://api.")),
    ]);
    if repo_urls.is_empty() {
        return Err(malformed(provider, "the repository has no URL"));
    }
    let changed_files = p.commits.and_then(|commits| {
        if provider == Provider::GitHub && commits.len() >= GITHUB_COMMIT_LIMIT {
            return None;
        }
        let mut files: Vec<String> = commits
            .into_iter()
            .flat_map(|c| c.added.into_iter().chain(c.modified).chain(c.removed))
            .collect();
        files.sort();
        files.dedup();
        Some(files)
    });
    Ok(PushEvent {
        provider,
        repo_urls,
        git_ref,
        before: p.before,
        after: p.after,
        changed_files,
    })
}
