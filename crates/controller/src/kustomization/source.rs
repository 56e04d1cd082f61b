//! The source a Kustomization renders: its GitRepository, from the
//! controller's view of them (else read from the API server). Only `spec.url`, `spec.suspend` and the status (the
//! `Ready` condition and `artifact.revision`) are used; the commit is then
//! resolved from the shared mirror by the engine.

use driftless_api::flux::condition::{find_condition, is_ready};
use driftless_api::flux::revision::revision_sha;
use driftless_api::flux::source::v1::GitRepository;
use std::sync::Arc;

use kube::Api;

use super::plan::SourceRef;
use crate::context::Context;

/// A GitRepository's artifact, ready to render.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    /// The repository URL.
    pub url: String,
    /// Flux's revision (`main@sha1:<sha>`).
    pub revision: String,
    /// The commit SHA.
    pub sha: String,
    /// The GitRepository's `spec.ignore` patterns.
    pub ignore: Option<String>,
}

/// Why the source cannot be used (reported as `ArtifactFailed`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SourceError {
    /// No such GitRepository.
    #[error("Source '{0}' not found")]
    NotFound(SourceRef),
    /// It has no artifact yet, or is not Ready.
    #[error("Source '{0}' is not ready: {1}")]
    NotReady(SourceRef, String),
    /// Reading it failed.
    #[error("Source '{0}': {1}")]
    Api(SourceRef, String),
}

/// The artifact of `gitrepo` (named `source`), when it is Ready with one.
pub fn artifact_of(source: &SourceRef, gitrepo: &GitRepository) -> Result<Artifact, SourceError> {
    let status = gitrepo.status.clone().unwrap_or_default();
    let not_ready = |why: String| SourceError::NotReady(source.clone(), why);
    let Some(artifact) = status.artifact else {
        return Err(not_ready("artifact not found".into()));
    };
    if !is_ready(&status.conditions, gitrepo.metadata.generation) {
        let why = find_condition(&status.conditions, "Ready")
            .map(|c| format!("{}: {}", c.reason, c.message))
            .unwrap_or_else(|| "no Ready condition".into());
        return Err(not_ready(why));
    }
    Ok(Artifact {
        url: gitrepo.spec.url.clone(),
        sha: revision_sha(&artifact.revision).to_string(),
        revision: artifact.revision,
        ignore: gitrepo.spec.ignore.clone(),
    })
}

/// The artifact of the GitRepository `source`, from the Kustomization
/// controller's view of GitRepositories (no request) when the view holds
/// it, else read from the API server (the view may not have seen a
/// GitRepository created a moment ago). Either way, a status this process
/// is writing (a hand-off, see `gitrepository::published`) wins over an
/// older copy: a Kustomization triggered by the hand-off before its view
/// caught up must not read the status from before it and wait out its
/// interval.
pub async fn artifact(ctx: &Context, source: &SourceRef) -> Result<Artifact, SourceError> {
    if let Some(viewed) = ctx.git_repositories.viewed(&source.namespace, &source.name) {
        return artifact_of(source, &viewed);
    }
    let read = read(&ctx.client, source).await?.map(Arc::new);
    let published = &ctx.git_repositories.published;
    match published.newer(&source.namespace, &source.name, read) {
        Some(gitrepo) => artifact_of(source, &gitrepo),
        None => Err(SourceError::NotFound(source.clone())),
    }
}

/// Reads the GitRepository `source` and returns its artifact.
pub async fn fetch(client: &kube::Client, source: &SourceRef) -> Result<Artifact, SourceError> {
    match read(client, source).await? {
        Some(gitrepo) => artifact_of(source, &gitrepo),
        None => Err(SourceError::NotFound(source.clone())),
    }
}

/// Reads the GitRepository `source` from the API server (`None`: absent).
async fn read(
    client: &kube::Client,
    source: &SourceRef,
) -> Result<Option<GitRepository>, SourceError> {
    let api: Api<GitRepository> = Api::namespaced(client.clone(), &source.namespace);
    api.get_opt(&source.name)
        .await
        .map_err(|e| SourceError::Api(source.clone(), e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_api::flux::condition::new_condition;
    use driftless_api::flux::reference::Artifact as FluxArtifact;
    use driftless_api::flux::source::GitRepositoryStatus;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;

    fn source() -> SourceRef {
        SourceRef {
            kind: "GitRepository".into(),
            namespace: "flux-system".into(),
            name: "repo".into(),
        }
    }

    fn repo(ready: &str, artifact: bool) -> GitRepository {
        let now = Time(Timestamp::from_second(1).unwrap());
        let mut r = GitRepository::new(
            "repo",
            serde_json::from_value(serde_json::json!({"url": "git://h/r", "interval": "1m"}))
                .unwrap(),
        );
        r.metadata.generation = Some(1);
        r.status = Some(GitRepositoryStatus {
            conditions: vec![new_condition(
                "Ready",
                ready,
                "Succeeded",
                "stored",
                Some(1),
                now.clone(),
            )],
            artifact: artifact.then(|| FluxArtifact {
                path: String::new(),
                url: String::new(),
                revision: "main@sha1:0123abcd".into(),
                digest: None,
                last_update_time: now,
                size: None,
                metadata: Default::default(),
            }),
            ..Default::default()
        });
        r
    }

    #[test]
    fn a_ready_repository_gives_its_revision() {
        assert_eq!(
            artifact_of(&source(), &repo("True", true)),
            Ok(Artifact {
                url: "git://h/r".into(),
                revision: "main@sha1:0123abcd".into(),
                sha: "0123abcd".into(),
                ignore: None,
            })
        );
    }

    #[test]
    fn not_ready_or_without_artifact_is_an_error_naming_it() {
        let e = artifact_of(&source(), &repo("True", false)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Source 'GitRepository/flux-system/repo' is not ready: artifact not found"
        );
        let e = artifact_of(&source(), &repo("False", true)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Source 'GitRepository/flux-system/repo' is not ready: Succeeded: stored"
        );
    }
}
