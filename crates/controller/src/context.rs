//! The state every reconcile shares (one `Arc<Context>`): the client, the
//! pipeline, the event recorder, metrics, caches, the App of Apps graph and
//! a little memory per Application.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Instant;

use driftless_api::Application;
use driftless_source::revision::RevisionKind;
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::runtime::reflector::{ObjectRef, Store};
use tokio::sync::mpsc::UnboundedSender;

use crate::adapters::Engine;
use crate::config::ControllerConfig;
use crate::cycle::{AppGraph, AppId};
use crate::events::Recorder;
use crate::metrics::Metrics;
use crate::pipeline::Source;
use crate::render_cache::RenderCache;
use crate::selfheal::Watches;

/// What the controller remembers about one Application between reconciles.
#[derive(Clone, Debug, Default)]
pub struct AppMemory {
    /// A webhook said its repository changed: fetch on the next reconcile.
    pub dirty: bool,
    /// Why the last fetch failed while the last fetched state stood in
    /// (reported until a fetch succeeds).
    pub stale_fetch: Option<String>,
    /// Self-heal syncs since it was last in sync for the self-heal
    /// cooldown ([`crate::decide::SELF_HEAL_COOLDOWN`]).
    pub self_heal_attempts: u32,
    /// When the last self-heal sync ran.
    pub last_self_heal: Option<Timestamp>,
    /// The repository URL it deploys from.
    pub repo: String,
    /// The path it renders.
    pub path: String,
    /// The files its last render read (for webhook path matching).
    pub files_read: Vec<String>,
    /// The revision it tracks (`targetRevision`).
    pub target_revision: String,
    /// For a chart from a Helm repository or OCI registry: the version
    /// asked for (a range) and the version it last resolved to, reused
    /// until the next fetch is due (no index download per reconcile).
    pub chart_version: Option<(String, String)>,
    /// The `ref` sources of a multi-source Application whose files its
    /// last render read (`$ref/values.yaml`): a push changing one of them
    /// refreshes it too.
    pub ref_sources: Vec<RefSourceMemory>,
    /// The status this controller last wrote, with the resourceVersion the
    /// write produced: used instead of a watch cache that has not seen it yet.
    pub written: Option<(u64, driftless_api::ApplicationStatus)>,
    /// API failures in a row (for the error policy's backoff).
    pub api_failures: u32,
    /// Deletion (finalizer) passes in a row that made no progress.
    pub deletion_stalled: u32,
    /// Objects left to delete or wait for after the last deletion pass.
    pub deletion_left: Option<usize>,
    /// The `DeletionError` message last written (`Some(None)`: cleared).
    pub deletion_report: Option<Option<String>>,
    /// Its PreDelete/PostDelete hooks, read once its deletion started.
    pub deletion_hooks: Option<Vec<driftless_sync::Hook>>,
    /// Its PreDelete hooks ran and succeeded (its resources may go).
    pub pre_delete_done: bool,
    /// What its last comparison rested on, when that reconcile synced
    /// nothing and wrote nothing (an idle refresh may then stop early).
    pub settled: Option<crate::reconcile::Settled>,
}

/// A `ref` source of a multi-source Application, as webhooks match it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefSourceMemory {
    /// Its repository URL.
    pub repo: String,
    /// Its `targetRevision`.
    pub target_revision: String,
    /// The files of it the last render read (tree paths); one ending in
    /// `/` is a directory a source renders (any file below it counts; `/`
    /// is the whole tree).
    pub files: Vec<String>,
}

/// An owner of applied objects: an Application or a Kustomization, by
/// `(namespace, name)` (the two kinds never share a tracking name).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OwnerId {
    /// An Argo CD Application.
    Application(AppId),
    /// A Flux Kustomization.
    Kustomization(AppId),
    /// A Flux HelmRelease.
    HelmRelease(AppId),
}

/// Where to send reconcile requests for one namespace (`None`: all).
type Trigger = (Option<String>, UnboundedSender<ObjectRef<Application>>);

/// The last successful fetch of a repository for an Application.
struct Fetched {
    /// When it finished.
    at: Instant,
    /// The mirror holds what the remote had at this moment or later.
    fresh_from: Option<Timestamp>,
}

/// The shared state of the controller.
pub struct Context {
    /// The Kubernetes client.
    pub client: Client,
    /// The configuration.
    pub config: ControllerConfig,
    /// Git: resolve and render.
    pub source: Arc<dyn Source>,
    /// The cluster: diff, apply, prune.
    pub engine: Engine,
    /// Kubernetes Events on Applications.
    pub recorder: Recorder,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Rendered output by repository, commit, path and overrides.
    pub render_cache: RenderCache,
    /// Helm charts: the pinned helm with its chart and render caches
    /// (`None` when no helm is configured).
    pub(crate) helm: Option<Arc<driftless_helm::Renderer>>,
    /// The cluster's version and API versions Helm templates see when
    /// `source.helm` does not set them (as in Argo CD).
    pub(crate) capabilities: crate::helm_render::ClusterCapabilities,
    /// Self-heal: requeues owners on changes to their objects.
    pub watches: Watches,
    /// Flux GitRepositories: the mirror cache, stores and triggers.
    pub(crate) git_repositories: crate::gitrepository::GitRepositories,
    /// The Kustomization controller's shared state.
    pub flux: crate::kustomization::State,
    /// The AppProjects of the control-plane namespace, from one watch.
    pub(crate) projects: crate::projects::Projects,
    /// The HelmRelease and HelmRepository controllers' shared state.
    pub helm_releases: crate::helmrelease::Shared,
    graph: Mutex<AppGraph>,
    /// Boxed: a memory is kilobytes (the last written status, the settled
    /// memo), and the map keeps room for more entries than it holds.
    memory: Mutex<HashMap<AppId, Box<AppMemory>>>,
    /// When each repository (URL as the Applications spell it) was last
    /// fetched successfully for an Application, and how fresh its mirror is.
    fetched: Mutex<HashMap<String, Fetched>>,
    tracking: Mutex<HashMap<String, OwnerId>>,
    this: OnceLock<Weak<Context>>,
    triggers: Mutex<Vec<Trigger>>,
    app_stores: Mutex<Vec<Store<Application>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Context {
    /// A context over the given parts.
    pub fn new(
        client: Client,
        config: ControllerConfig,
        source: Arc<dyn Source>,
        engine: Engine,
        recorder: Recorder,
        metrics: Arc<Metrics>,
    ) -> Self {
        Context {
            render_cache: RenderCache::new(config.render_cache_size),
            helm: config.helm.as_ref().map(|program| {
                Arc::new(driftless_helm::Renderer::new(
                    driftless_helm::Helm::new(program),
                    // Mirror directories never hold `_`: this cannot collide with one.
                    config.repo_cache_dir.join("_helm"),
                ))
            }),
            capabilities: Default::default(),
            client,
            config,
            source,
            engine,
            recorder,
            metrics,
            watches: Watches::default(),
            git_repositories: Default::default(),
            flux: Default::default(),
            projects: Default::default(),
            helm_releases: Default::default(),
            graph: Mutex::new(AppGraph::default()),
            memory: Mutex::new(HashMap::new()),
            fetched: Mutex::new(HashMap::new()),
            tracking: Mutex::new(HashMap::new()),
            this: OnceLock::new(),
            triggers: Mutex::new(Vec::new()),
            app_stores: Mutex::new(Vec::new()),
        }
    }

    /// Wraps the context in an `Arc` it can hand out weak references to.
    pub fn into_shared(self) -> Arc<Context> {
        let ctx = Arc::new(self);
        let _ = ctx.this.set(Arc::downgrade(&ctx));
        ctx
    }

    /// A weak reference to this context (for background tasks).
    pub fn weak(&self) -> Weak<Context> {
        self.this.get().cloned().unwrap_or_default()
    }

    /// Records that `app` writes `tracking_name` into tracking ids.
    pub fn set_tracking_name(&self, tracking_name: &str, app: &AppId) {
        self.set_tracking_owner(tracking_name, OwnerId::Application(app.clone()));
    }

    /// Records that `owner` writes `tracking_name` into tracking ids.
    pub fn set_tracking_owner(&self, tracking_name: &str, owner: OwnerId) {
        lock(&self.tracking).insert(tracking_name.to_string(), owner);
    }

    /// The Application writing `tracking_name` into tracking ids.
    pub fn app_by_tracking_name(&self, tracking_name: &str) -> Option<AppId> {
        match lock(&self.tracking).get(tracking_name) {
            Some(OwnerId::Application(id)) => Some(id.clone()),
            _ => None,
        }
    }

    /// The owner (of either kind) writing `tracking_name` into tracking ids.
    pub fn owner_by_tracking_name(&self, tracking_name: &str) -> Option<OwnerId> {
        lock(&self.tracking).get(tracking_name).cloned()
    }

    /// Whether the owner named `tracking_name` judges its objects' health,
    /// so that a status update of one of them may change its status. Only a
    /// Kustomization without `wait` or health checks does not (as its last
    /// compare found); an unknown owner is taken to.
    pub fn judges_health(&self, tracking_name: &str) -> bool {
        match self.owner_by_tracking_name(tracking_name) {
            Some(OwnerId::Kustomization(id)) => !self.flux.memory(&id, |m| m.no_health_checks),
            _ => true,
        }
    }

    /// Forgets the tracking names of `owner` (deleted).
    pub fn forget_tracking(&self, owner: &OwnerId) {
        lock(&self.tracking).retain(|_, v| v != owner);
    }

    /// Asks for `owner` to be reconciled soon.
    pub fn trigger_owner(&self, owner: &OwnerId) {
        match owner {
            OwnerId::Application(id) => self.trigger(id),
            OwnerId::Kustomization(id) => self.flux.trigger(id),
            OwnerId::HelmRelease(id) => self.helm_releases.state.trigger(id),
        }
    }

    /// The App of Apps graph.
    pub fn graph(&self) -> MutexGuard<'_, AppGraph> {
        lock(&self.graph)
    }

    /// Reads or changes what is remembered about `app`.
    pub fn memory<T>(&self, app: &AppId, f: impl FnOnce(&mut AppMemory) -> T) -> T {
        let mut memory = lock(&self.memory);
        f(memory.entry(app.clone()).or_default())
    }

    /// Records a successful fetch of `repo` at `revision` for an
    /// Application whose reconcile started at `asked`: the mirror holds
    /// what the remote had at `asked` or later (a fetch that started after
    /// the request arrived satisfies it). A full SHA already in the mirror
    /// is resolved without a fetch, so it says nothing of how fresh the
    /// mirror is.
    pub fn note_fetched(&self, repo: &str, revision: &str, asked: Timestamp) {
        let moving = !RevisionKind::parse(revision).is_immutable();
        let mut fetched = lock(&self.fetched);
        let entry = fetched.entry(repo.to_string()).or_insert(Fetched {
            at: Instant::now(),
            fresh_from: None,
        });
        entry.at = Instant::now();
        if moving {
            entry.fresh_from = entry.fresh_from.max(Some(asked));
        }
    }

    /// Whether the mirror of `repo` holds what the remote had at `since`
    /// or later (see [`Context::note_fetched`]).
    pub fn fetched_since(&self, repo: &str, since: Timestamp) -> bool {
        lock(&self.fetched)
            .get(repo)
            .and_then(|f| f.fresh_from)
            .is_some_and(|fresh| fresh >= since)
    }

    /// Whether `repo` was fetched successfully less than `within` ago: a
    /// periodic refresh of another Application of that repository reads
    /// the mirror as it is (as Argo CD's revision cache does), so that a
    /// thousand Applications of one repository make one fetch per refresh,
    /// not a thousand.
    pub fn fetched_within(&self, repo: &str, within: std::time::Duration) -> bool {
        lock(&self.fetched)
            .get(repo)
            .is_some_and(|f| f.at.elapsed() < within)
    }

    /// Forgets `app` (deleted).
    pub fn forget(&self, app: &AppId) {
        lock(&self.memory).remove(app);
        let owner = OwnerId::Application(app.clone());
        lock(&self.tracking).retain(|_, v| *v != owner);
        self.graph().remove(app);
        self.metrics.set_app_state(app.clone(), None);
    }

    /// The remembered Applications whose memory satisfies `keep`, judged
    /// under the lock: nothing but the ids is copied (a memory holds the
    /// last written status and the settled memo, kilobytes per app).
    pub fn remembered_where(&self, mut keep: impl FnMut(&AppMemory) -> bool) -> Vec<AppId> {
        lock(&self.memory)
            .iter()
            .filter(|(_, memory)| keep(memory))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Registers the trigger of the controller for `namespace` (`None`: all).
    pub fn add_trigger(
        &self,
        namespace: Option<String>,
        sender: UnboundedSender<ObjectRef<Application>>,
    ) {
        lock(&self.triggers).push((namespace, sender));
    }

    /// Registers the store of an Application controller's watch.
    pub(crate) fn add_app_store(&self, store: Store<Application>) {
        lock(&self.app_stores).push(store);
    }

    /// `app` as the Application controllers' watch last saw it: `None`
    /// when no controller watches its namespace (a context without a
    /// running controller) or the watch has not seen it.
    pub(crate) fn watched_app(&self, app: &AppId) -> Option<Arc<Application>> {
        let (ns, name) = app;
        let reference = ObjectRef::new(name).within(ns);
        lock(&self.app_stores)
            .iter()
            .find_map(|store| store.get(&reference))
    }

    /// Whether an Application controller's watch runs (its store is
    /// registered).
    pub(crate) fn watches_apps(&self) -> bool {
        !lock(&self.app_stores).is_empty()
    }

    /// Asks for `app` to be reconciled soon.
    pub fn trigger(&self, app: &AppId) {
        let (ns, name) = app;
        let triggers = lock(&self.triggers);
        for (scope, sender) in triggers.iter() {
            if scope.as_deref().is_none_or(|s| s == ns) {
                let _ = sender.send(ObjectRef::new(name).within(ns));
            }
        }
    }
}
