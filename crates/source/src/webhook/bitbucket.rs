//! Bitbucket Cloud `repo:push` payloads. The first ref change is reported;
//! Bitbucket does not list changed files.

use serde::Deserialize;

use super::{Provider, PushEvent, json, malformed, urls};
use crate::error::Result;

#[derive(Deserialize)]
struct Payload {
    repository: Option<Repository>,
    push: Option<Push>,
}

#[derive(Deserialize)]
struct Repository {
    full_name: Option<String>,
    links: Option<Links>,
}

#[derive(Deserialize)]
struct Links {
    html: Option<Href>,
}

#[derive(Deserialize)]
struct Href {
    href: Option<String>,
}

#[derive(Deserialize)]
struct Push {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    new: Option<RefState>,
    old: Option<RefState>,
}

#[derive(Deserialize)]
struct RefState {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    target: Option<Target>,
}

#[derive(Deserialize)]
struct Target {
    hash: Option<String>,
}

const ZERO: &str = "0000000000000000000000000000000000000000";

pub(super) fn parse(body: &[u8]) -> Result<PushEvent> {
    let provider = Provider::Bitbucket;
    let p: Payload = json(provider, body)?;
    let repo = p
        .repository
        .ok_or_else(|| malformed(provider, "no \"repository\" in the push payload"))?;
    let html = repo.links.and_then(|l| l.html).and_then(|h| h.href);
    let full_name = repo.full_name;
    let repo_urls = urls([
        html.clone(),
        full_name
            .as_ref()
            .map(|n| format!("https://bitbucket.org/{n}.git")),
        full_name
            .as_ref()
            .map(|n| format!("git@bitbucket.org:{n}.git")),
    ]);
    if repo_urls.is_empty() {
        return Err(malformed(
            provider,
            "the repository has no URL or full_name",
        ));
    }
    let change = p
        .push
        .and_then(|push| push.changes.into_iter().next())
        .ok_or_else(|| malformed(provider, "no \"push.changes\" in the push payload"))?;
    let named = change.new.as_ref().or(change.old.as_ref());
    let name = named
        .and_then(|s| s.name.clone())
        .ok_or_else(|| malformed(provider, "the change names no branch or tag"))?;
    let prefix = match named.and_then(|s| s.kind.as_deref()) {
        Some("tag") | Some("annotated_tag") => "refs/tags/",
        _ => "refs/heads/",
    };
    let hash = |s: Option<RefState>| {
        Some(
            s.and_then(|s| s.target)
                .and_then(|t| t.hash)
                .unwrap_or_else(|| ZERO.to_string()),
        )
    };
    Ok(PushEvent {
        provider,
        repo_urls,
        git_ref: format!("{prefix}{name}"),
        before: hash(change.old),
        after: hash(change.new),
        changed_files: None,
    })
}
