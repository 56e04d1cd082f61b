//! The in-process hand-off of a new artifact: when a GitRepository
//! reconcile has a new `status.artifact` (the commit already in the
//! mirror), the object with that status is published here and the
//! Kustomizations rendering it are triggered at once, while the status
//! write is still on its way and without waiting for its watch event to
//! come round. Their reconcile reads the published status (see
//! [`Published::newer`]) until the watch delivers the write.
//!
//! One push renders each Kustomization once: the hand-off and the later
//! watch event both claim the artifact in the Kustomization's memory
//! (`FluxMemory::claimed`, see `kustomization::controller`), and only the
//! first for a given (revision, ignore) triggers it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use driftless_api::flux::source::v1::GitRepository;
use kube::ResourceExt;

use crate::context::Context;
use crate::cycle::AppId;

/// A published GitRepository.
enum Entry {
    /// Its status write is in flight: this is the status being written.
    Pending(Arc<GitRepository>),
    /// As the API server returned it after the write.
    Written(Arc<GitRepository>),
}

/// Published GitRepositories.
#[derive(Default)]
pub(crate) struct Published {
    repos: Mutex<HashMap<AppId, Entry>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A `metadata.resourceVersion` as a number (they are etcd revisions).
fn version(repo: &GitRepository) -> Option<u64> {
    repo.resource_version()?.parse().ok()
}

fn id_of(repo: &GitRepository) -> AppId {
    (repo.namespace().unwrap_or_default(), repo.name_any())
}

impl Published {
    /// Keeps `repo`'s status (being written now) as the newest known.
    pub(crate) fn pending(&self, repo: Arc<GitRepository>) {
        lock(&self.repos).insert(id_of(&repo), Entry::Pending(repo));
    }

    /// The status write of `repo` ended: keeps the object as written, or,
    /// when the write failed (`None`), forgets what was pending.
    pub(crate) fn settle(&self, repo: &GitRepository, written: Option<GitRepository>) {
        let mut repos = lock(&self.repos);
        match written {
            Some(w) => repos.insert(id_of(repo), Entry::Written(Arc::new(w))),
            None => repos.remove(&id_of(repo)),
        };
    }

    /// The published state of `namespace/name` when it is newer than
    /// `viewed` (what a watch holds, or the API server returned), else
    /// `viewed`: while a write is pending, the view with the status being
    /// written. `viewed` is `None` only when the API server says the object
    /// is gone (a watch's view may lag behind its creation): the published
    /// copy is dropped too.
    pub(crate) fn newer(
        &self,
        namespace: &str,
        name: &str,
        viewed: Option<Arc<GitRepository>>,
    ) -> Option<Arc<GitRepository>> {
        let id = (namespace.to_string(), name.to_string());
        let mut repos = lock(&self.repos);
        let Some(v) = viewed else {
            repos.remove(&id);
            return None;
        };
        match repos.get(&id) {
            Some(Entry::Written(p)) if version(p) > version(&v) && p.uid() == v.uid() => {
                Some(p.clone())
            }
            Some(Entry::Pending(p)) if p.uid() == v.uid() => {
                let mut merged = (*v).clone();
                merged.status = p.status.clone();
                Some(Arc::new(merged))
            }
            _ => Some(v),
        }
    }
}

/// Publishes `repo` with the new artifact its status write (in flight)
/// carries, and triggers the Kustomizations rendering it now; the caller
/// settles the write with [`Published::settle`].
pub(crate) fn hand_off(ctx: &Arc<Context>, repo: GitRepository) {
    let revision = repo
        .status
        .as_ref()
        .and_then(|s| s.artifact.as_ref())
        .map(|a| a.revision.clone())
        .unwrap_or_default();
    let repo = Arc::new(repo);
    ctx.git_repositories.published.pending(repo.clone());
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

    fn with_artifact(r: &GitRepository, revision: &str) -> GitRepository {
        let mut r = r.clone();
        r.status = Some(
            serde_json::from_value(serde_json::json!({
                "artifact": { "path": "", "url": "", "revision": revision,
                              "lastUpdateTime": "2026-01-01T00:00:00Z" }
            }))
            .unwrap(),
        );
        r
    }

    fn revision(r: &GitRepository) -> Option<String> {
        Some(r.status.as_ref()?.artifact.as_ref()?.revision.clone())
    }

    #[test]
    fn a_pending_write_is_read_through_the_view_until_it_settles() {
        let p = Published::default();
        let base = repo("9", "a");
        p.pending(Arc::new(with_artifact(&base, "main@sha1:new")));
        let read = |v: Arc<GitRepository>| p.newer("ns", "repo", Some(v)).unwrap();
        let seen = read(Arc::new(with_artifact(&repo("12", "a"), "main@sha1:old")));
        assert_eq!(
            revision(&seen).as_deref(),
            Some("main@sha1:new"),
            "the status being written"
        );
        assert_eq!(
            seen.resource_version().as_deref(),
            Some("12"),
            "over the newer view"
        );
        assert!(
            revision(&read(repo("9", "b"))).is_none(),
            "a re-created object"
        );
        p.settle(&base, None);
        let seen = read(Arc::new(with_artifact(&repo("12", "a"), "main@sha1:old")));
        assert_eq!(
            revision(&seen).as_deref(),
            Some("main@sha1:old"),
            "a failed write is forgotten"
        );
        p.pending(Arc::new(with_artifact(&base, "main@sha1:new")));
        p.settle(
            &base,
            Some(with_artifact(&repo("13", "a"), "main@sha1:new")),
        );
        let seen = read(Arc::new(with_artifact(&repo("12", "a"), "main@sha1:old")));
        assert_eq!(
            revision(&seen).as_deref(),
            Some("main@sha1:new"),
            "written, not yet watched"
        );
    }

    #[test]
    fn the_newer_of_the_view_and_the_published_object_is_read() {
        let p = Published::default();
        assert!(p.newer("ns", "repo", None).is_none());
        p.settle(&repo("1", "a"), Some((*repo("20", "a")).clone()));
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

    /// A Kustomization handed a new artifact before its view of
    /// GitRepositories has seen the GitRepository created: the view does
    /// not call it absent (the caller asks the API server) and the hand-off
    /// survives until the view catches up.
    #[test]
    fn a_view_that_has_not_seen_the_repository_yet_drops_nothing() {
        use kube::runtime::{reflector, watcher};
        let repos = super::super::GitRepositories::default();
        let (view, mut writer) = reflector::store();
        writer.apply_watcher_event(&watcher::Event::Init);
        writer.apply_watcher_event(&watcher::Event::InitDone);
        repos.add_view(Some("ns".into()), view);
        let created = repo("5", "a");
        let handed = Arc::new(with_artifact(&created, "main@sha1:new"));
        repos.published.pending(handed);

        assert!(
            repos.viewed("ns", "repo").is_none(),
            "not in the view: ask the API server"
        );
        let read = repos.published.newer("ns", "repo", Some(created.clone()));
        assert_eq!(
            read.as_deref().and_then(revision).as_deref(),
            Some("main@sha1:new"),
            "the API server's copy, with the status being written"
        );
        writer.apply_watcher_event(&watcher::Event::Apply((*created).clone()));
        let viewed = repos.viewed("ns", "repo");
        assert_eq!(
            viewed.as_deref().and_then(revision).as_deref(),
            Some("main@sha1:new"),
            "the view caught up: still the status being written"
        );
        assert!(
            repos.viewed("other", "repo").is_none(),
            "no view covers the namespace"
        );
    }
}
