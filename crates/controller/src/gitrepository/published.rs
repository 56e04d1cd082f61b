//! The in-process hand-off of a new artifact: once a GitRepository
//! reconcile wrote a new `status.artifact`, the written object (as the API
//! server returned it) is published here and the Kustomizations rendering
//! it are triggered at once, without waiting for the status watch event to
//! come round. Their reconcile reads the published object (see
//! [`Published::newer`]) when the watch has not delivered it yet.
//!
//! One push renders each Kustomization once: the hand-off and the later
//! watch event both go through [`Published::claim`], and only the first
//! for a given (revision, ignore) triggers it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use driftless_api::flux::source::v1::GitRepository;
use kube::ResourceExt;

use crate::context::Context;
use crate::cycle::AppId;

/// What one artifact is, for deduplication: its revision and the
/// GitRepository's `spec.ignore` (a changed ignore re-renders at the same
/// revision).
type ArtifactKey = (String, Option<String>);

/// Published GitRepositories and the artifact each Kustomization was last
/// triggered for.
#[derive(Default)]
pub(crate) struct Published {
    repos: Mutex<HashMap<AppId, Arc<GitRepository>>>,
    claimed: Mutex<HashMap<AppId, ArtifactKey>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A `metadata.resourceVersion` as a number (they are etcd revisions).
fn version(repo: &GitRepository) -> Option<u64> {
    repo.resource_version()?.parse().ok()
}

impl Published {
    /// Keeps `repo` (just written) as the newest known state of it.
    pub(crate) fn publish(&self, repo: Arc<GitRepository>) {
        let id = (repo.namespace().unwrap_or_default(), repo.name_any());
        lock(&self.repos).insert(id, repo);
    }

    /// The published state of `namespace/name` when it is newer than
    /// `viewed` (what a watch holds), else `viewed`. When the watch no
    /// longer holds it (deleted), the published copy is dropped too.
    pub(crate) fn newer(
        &self,
        namespace: &str,
        name: &str,
        viewed: Option<Arc<GitRepository>>,
    ) -> Option<Arc<GitRepository>> {
        let id = (namespace.to_string(), name.to_string());
        let published = match viewed {
            Some(_) => lock(&self.repos).get(&id).cloned(),
            None => lock(&self.repos).remove(&id),
        };
        match (viewed, published) {
            (Some(v), Some(p)) if version(&p) > version(&v) && p.uid() == v.uid() => Some(p),
            (viewed, _) => viewed,
        }
    }

    /// Whether `ks` is to be triggered for the artifact `key`: true the
    /// first time only (then remembered).
    pub(crate) fn claim(&self, ks: &AppId, revision: &str, ignore: Option<&str>) -> bool {
        let key = (revision.to_string(), ignore.map(str::to_string));
        let mut claimed = lock(&self.claimed);
        if claimed.get(ks) == Some(&key) {
            return false;
        }
        claimed.insert(ks.clone(), key);
        true
    }
}

/// Publishes `repo`, just written with a new artifact, and triggers the
/// Kustomizations rendering it now.
pub(crate) fn hand_off(ctx: &Arc<Context>, repo: GitRepository) {
    let revision = repo
        .status
        .as_ref()
        .and_then(|s| s.artifact.as_ref())
        .map(|a| a.revision.clone())
        .unwrap_or_default();
    let repo = Arc::new(repo);
    ctx.git_repositories.published.publish(repo.clone());
    // Those whose files did not change are held back (a wave) inside.
    let triggered = crate::kustomization::controller::rendering(ctx, &repo);
    for ks in &triggered {
        let id = (ks.namespace.clone().unwrap_or_default(), ks.name.clone());
        ctx.flux.trigger(&id);
    }
    tracing::debug!(
        %revision,
        first = triggered.len(),
        "handed the new artifact to its Kustomizations"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(version: &str, uid: &str) -> Arc<GitRepository> {
        let mut r = GitRepository::new(
            "repo",
            serde_json::from_value(serde_json::json!({"url": "git://h/r", "interval": "1m"}))
                .unwrap(),
        );
        r.metadata.namespace = Some("ns".into());
        r.metadata.resource_version = Some(version.into());
        r.metadata.uid = Some(uid.into());
        Arc::new(r)
    }

    #[test]
    fn the_newer_of_the_view_and_the_published_object_is_read() {
        let p = Published::default();
        assert!(p.newer("ns", "repo", None).is_none());
        p.publish(repo("20", "a"));
        let seen = |v: Option<Arc<GitRepository>>| {
            p.newer("ns", "repo", v).and_then(|r| r.resource_version())
        };
        assert_eq!(seen(Some(repo("9", "a"))).as_deref(), Some("20"), "numeric");
        assert_eq!(seen(Some(repo("21", "a"))).as_deref(), Some("21"));
        assert_eq!(
            seen(Some(repo("9", "b"))).as_deref(),
            Some("9"),
            "a re-created object"
        );
        assert!(seen(None).is_none(), "deleted: the view wins");
        assert_eq!(
            seen(Some(repo("9", "a"))).as_deref(),
            Some("9"),
            "and the published copy is forgotten"
        );
    }

    #[test]
    fn a_kustomization_is_claimed_once_per_artifact() {
        let p = Published::default();
        let ks = ("ns".to_string(), "app".to_string());
        assert!(p.claim(&ks, "main@sha1:a", None));
        assert!(
            !p.claim(&ks, "main@sha1:a", None),
            "the watch event after the hand-off"
        );
        assert!(p.claim(&ks, "main@sha1:a", Some("*.md")), "ignore changed");
        assert!(p.claim(&ks, "main@sha1:b", Some("*.md")));
        assert!(p.claim(&("ns".into(), "other".into()), "main@sha1:b", Some("*.md")));
    }
}
