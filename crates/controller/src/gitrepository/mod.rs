//! Flux's `GitRepository` (`source.toolkit.fluxcd.io`): a kube-runtime
//! `Controller` per watched namespace, in the same process and with the
//! same [`Context`] as the Application controller. Each reconcile fetches
//! the repository into the shared mirror cache with the credentials of its
//! own `spec.secretRef` (never with credentials registered by URL),
//! resolves `spec.ref` as Flux does, and reports the revision in
//! `status.artifact` with Flux's conditions.
//!
//! Consumers (Kustomizations) read `status.artifact.revision` and find the
//! commit already in the shared mirror: `ctx.source.resolve(url, sha,
//! false)` answers from the mirror without a fetch.
//!
//! Modules: [`plan`] checks the spec, [`reference`] picks the reference
//! and writes revisions, [`fetch`] reads the Secret and fetches,
//! [`status`] computes the next status, [`reconcile`] runs the phases,
//! [`changes`] remembers which files changed when the artifact moved,
//! [`published`] hands a new artifact to its Kustomizations in-process.

pub(crate) mod changes;
mod fetch;
mod plan;
pub(crate) mod published;
mod reconcile;
mod reference;
mod status;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use driftless_api::flux::RECONCILE_REQUESTED_AT;
use driftless_api::flux::source::v1::GitRepository;
use driftless_source::credentials::{Recent, RepoCredentials};
use driftless_source::{Access, MirrorCache, RepoUrl};
use futures::future::{BoxFuture, Shared};
use futures::{FutureExt, StreamExt};
use kube::runtime::Controller;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Resource, ResourceExt};
use tokio::sync::mpsc::UnboundedSender;

use crate::context::Context;

pub(crate) use fetch::FetchError;

/// An API call of the GitRepository controller failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReconcileError {
    /// A Kubernetes API call failed.
    #[error("gitrepository {object}: {action}: {source}")]
    Kube {
        /// The GitRepository (`namespace/name`).
        object: String,
        /// What was being done.
        action: &'static str,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// One watched namespace (or all): its store and its trigger.
struct Scope {
    store: Store<GitRepository>,
    trigger: UnboundedSender<ObjectRef<GitRepository>>,
}

/// The GitRepository controllers' shared state, kept in the [`Context`]:
/// the mirror cache and, per watched namespace, the store of
/// GitRepositories and the channel that triggers a reconcile now.
#[derive(Default)]
pub(crate) struct GitRepositories {
    cache: OnceLock<Arc<MirrorCache>>,
    scopes: Mutex<Vec<Scope>>,
    views: Mutex<Vec<(Option<String>, Store<GitRepository>)>>,
    pub(crate) published: published::Published,
    /// The credentials of each `spec.secretRef` read in the last seconds
    /// (forgotten when a fetch with them fails).
    pub(crate) secrets: Recent<RepoCredentials>,
}

impl std::fmt::Debug for GitRepositories {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitRepositories").finish_non_exhaustive()
    }
}

impl GitRepositories {
    fn scopes(&self) -> MutexGuard<'_, Vec<Scope>> {
        self.scopes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The shared mirror cache, once the controllers started.
    pub(crate) fn cache(&self) -> Option<Arc<MirrorCache>> {
        self.cache.get().cloned()
    }

    /// Adds a consumer's view of the GitRepositories in `scope` (`None`:
    /// all namespaces): the store its watch keeps, updated before the watch
    /// event that triggers the consumer is mapped, so a consumer reading it
    /// sees at least the artifact that triggered it.
    pub(crate) fn add_view(&self, scope: Option<String>, store: Store<GitRepository>) {
        self.views
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((scope, store));
    }

    /// The GitRepository `namespace/name` as a complete view covering
    /// `namespace` holds it, or as last written here when that is newer
    /// (see [`published`]). `None` when no complete view holds it: read it
    /// from the API server then. A view's word is not enough to call it
    /// absent: the GitRepository controller's own watch may have seen it
    /// created, fetched and published before this view's watch delivers it
    /// (and its published status must not be dropped on the view's word).
    pub(crate) fn viewed(&self, namespace: &str, name: &str) -> Option<Arc<GitRepository>> {
        let views = self.views.lock().unwrap_or_else(|e| e.into_inner());
        let (_, store) = views.iter().find(|(scope, store)| {
            scope.as_deref().is_none_or(|s| s == namespace)
                && store
                    .wait_until_ready()
                    .now_or_never()
                    .is_some_and(|r| r.is_ok())
        })?;
        let held = store.get(&ObjectRef::new(name).within(namespace))?;
        self.published.newer(namespace, name, Some(held))
    }

    /// The files that changed between commits `from` and `to` of `url`,
    /// when already worked out (see [`changes::between`]).
    pub(crate) fn changed(&self, url: &str, from: &str, to: &str) -> Option<Arc<[String]>> {
        self.cache.get()?.remembered_changes(url, from, to)
    }

    /// Triggers a reconcile now of every watched GitRepository for which
    /// `wanted` holds; returns them as `namespace/name`.
    pub(crate) fn trigger_where(&self, wanted: impl Fn(&GitRepository) -> bool) -> Vec<String> {
        let mut triggered = Vec::new();
        for scope in self.scopes().iter() {
            for repo in scope.store.state() {
                if wanted(&repo) {
                    let _ = scope.trigger.send(ObjectRef::from_obj(repo.as_ref()));
                    triggered.push(format!(
                        "{}/{}",
                        repo.namespace().unwrap_or_default(),
                        repo.name_any()
                    ));
                }
            }
        }
        triggered.sort();
        triggered.dedup();
        triggered
    }
}

/// The credentials and time limit a fetch of `repo`'s URL on its behalf
/// must use: its `spec.secretRef` read in its own namespace (anonymous
/// without one) and its `spec.timeout`. A consumer that finds the commit of
/// `status.artifact` missing from the mirror (after a restart with an empty
/// cache) fetches with this: `cache.fetch_with(&repo.spec.url, &access)`.
pub(crate) async fn credentials(
    client: &kube::Client,
    repo: &GitRepository,
) -> Result<Access, FetchError> {
    let url = RepoUrl::parse(&repo.spec.url).map_err(FetchError::Git)?;
    let timeout = repo
        .spec
        .timeout_duration()
        .unwrap_or(std::time::Duration::from_secs(60));
    fetch::access(client, None, repo, &url, timeout).await
}

/// Whether a push to `pushed` (a full ref name) can move what `repo`
/// follows (see [`reference::Wanted::moved_by`]).
pub(crate) fn moved_by(repo: &GitRepository, pushed: &str) -> bool {
    reference::Wanted::from_ref(repo.spec.reference.as_ref()).moved_by(pushed)
}

/// Reconcile on what matters: the spec (generation) and
/// `reconcile.fluxcd.io/requestedAt`, not our own status writes.
fn predicate(repo: &GitRepository) -> Option<u64> {
    let mut h = DefaultHasher::new();
    repo.meta().generation.hash(&mut h);
    repo.annotations().get(RECONCILE_REQUESTED_AT).hash(&mut h);
    Some(h.finish())
}

/// Starts one GitRepository controller per scope (`None`: all namespaces;
/// the Application controller's scoping) over `cache`; they run until
/// `shutdown` resolves or the task is aborted.
pub(crate) fn spawn(
    ctx: Arc<Context>,
    cache: Arc<MirrorCache>,
    scopes: Vec<Option<String>>,
    shutdown: Shared<BoxFuture<'static, ()>>,
) -> tokio::task::JoinHandle<()> {
    let _ = ctx.git_repositories.cache.set(cache);
    let queue = crate::watched::Queue::<GitRepository>::new("GitRepository", &ctx.metrics);
    let controllers: Vec<_> = scopes
        .into_iter()
        .map(|namespace| {
            let api: Api<GitRepository> = match &namespace {
                Some(ns) => Api::namespaced(ctx.client.clone(), ns),
                None => Api::all(ctx.client.clone()),
            };
            let (tx, triggers) = queue.triggers();
            let (reader, stream) = queue.watch(api, predicate);
            ctx.git_repositories.scopes().push(Scope {
                store: reader.clone(),
                trigger: tx,
            });
            Controller::for_stream(stream, reader)
                .with_config(kube::runtime::Config::default().concurrency(ctx.config.concurrency))
                .reconcile_on(triggers)
                .graceful_shutdown_on(shutdown.clone())
                .run(
                    queue.reconciler(reconcile::reconcile),
                    queue.error_policy(reconcile::error_policy),
                    ctx.clone(),
                )
                .for_each(|result| async move {
                    if let Err(error) = result {
                        tracing::debug!(%error, "gitrepository controller event");
                    }
                })
        })
        .collect();
    tokio::spawn(async move {
        futures::future::join_all(controllers).await;
    })
}
