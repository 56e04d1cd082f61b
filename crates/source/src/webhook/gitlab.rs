//! GitLab push and tag push payloads.

use serde::Deserialize;

use super::{Provider, PushEvent, json, malformed, urls};
use crate::error::Result;

#[derive(Deserialize)]
struct Payload {
    object_kind: Option<String>,
    event_name: Option<String>,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    before: Option<String>,
    after: Option<String>,
    project: Option<Project>,
    repository: Option<Repository>,
    #[serde(default)]
    commits: Option<Vec<Commit>>,
    total_commits_count: Option<usize>,
}

#[derive(Deserialize)]
struct Project {
    web_url: Option<String>,
    git_http_url: Option<String>,
    git_ssh_url: Option<String>,
}

#[derive(Deserialize)]
struct Repository {
    homepage: Option<String>,
    git_http_url: Option<String>,
    git_ssh_url: Option<String>,
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

/// `None` for a verified system hook that is not a push.
pub(super) fn parse(body: &[u8]) -> Result<Option<PushEvent>> {
    let provider = Provider::GitLab;
    let p: Payload = json(provider, body)?;
    let kind = p.object_kind.or(p.event_name).unwrap_or_default();
    if kind != "push" && kind != "tag_push" {
        return Ok(None);
    }
    let git_ref = p
        .git_ref
        .ok_or_else(|| malformed(provider, "no \"ref\" in the push payload"))?;
    let (project, repository) = (p.project, p.repository);
    let repo_urls = urls([
        project.as_ref().and_then(|x| x.web_url.clone()),
        project.as_ref().and_then(|x| x.git_http_url.clone()),
        project.as_ref().and_then(|x| x.git_ssh_url.clone()),
        repository.as_ref().and_then(|x| x.homepage.clone()),
        repository.as_ref().and_then(|x| x.git_http_url.clone()),
        repository.as_ref().and_then(|x| x.git_ssh_url.clone()),
    ]);
    if repo_urls.is_empty() {
        return Err(malformed(
            provider,
            "no project or repository URL in the push payload",
        ));
    }
    let changed_files = p.commits.and_then(|commits| {
        // GitLab lists at most 20 commits; the total says whether all came.
        if p.total_commits_count.is_some_and(|t| t > commits.len()) {
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
    Ok(Some(PushEvent {
        provider,
        repo_urls,
        git_ref,
        before: p.before,
        after: p.after,
        changed_files,
    }))
}
