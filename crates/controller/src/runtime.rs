//! Starting the controller: the shared [`Context`], one kube-runtime
//! `Controller` per watched namespace (or one for all), the HTTP server,
//! leader election and graceful shutdown.

use std::future::Future;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use driftless_api::Application;
use driftless_source::credentials::{DEFAULT_TTL, KubeSecretCredentials, Remembered};
use driftless_source::{MirrorCache, Options};
use driftless_sync::SyncEngine;
use futures::{FutureExt, StreamExt};
use kube::api::Api;
use kube::runtime::Controller;
use kube::runtime::events::Reporter;
use kube::runtime::reflector::{self, ObjectRef};
use kube::{Client, Resource, ResourceExt};

use crate::adapters::{Engine, GitSource};
use crate::config::ControllerConfig;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::events::Recorder;
use crate::gitrepository;
use crate::http::{self, HttpState};
use crate::metrics::Metrics;
use crate::reconcile::{self, REFRESH_ANNOTATION};

/// The name Events are reported under.
pub const CONTROLLER_NAME: &str = "driftless-controller";

/// Runs the controller with the default client (in-cluster, or
/// `KUBECONFIG`/`~/.kube/config`) until SIGTERM or Ctrl-C.
pub async fn run(config: ControllerConfig) -> Result<()> {
    let client = crate::api_requests::default_client()
        .await
        .map_err(|e| Error::kube("controller", "connect to the API server", e))?;
    let handle = start(client, config, shutdown_signal()).await?;
    handle.wait().await
}

/// A running controller.
pub struct Running {
    /// The address the HTTP server is bound to, when it runs.
    pub http_addr: Option<SocketAddr>,
    /// The shared context (metrics, memory).
    pub context: Arc<Context>,
    task: tokio::task::JoinHandle<Result<()>>,
    http: Option<tokio::task::AbortHandle>,
}

impl Running {
    /// Stops the controller at once, as a crash would: reconciles in flight
    /// are dropped wherever they are, and every task it started (the lease
    /// keeper, the HTTP server, the GitRepository controllers, the watches)
    /// stops with it (for tests of recovery).
    pub fn abort(self) {
        self.task.abort();
        if let Some(http) = self.http {
            http.abort();
        }
    }

    /// Waits for the controller to stop (after shutdown, or an error).
    pub async fn wait(self) -> Result<()> {
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(Error::Config(format!("controller task failed: {e}"))),
        }
    }
}

/// The tasks a controller's main task started: stopped when it ends,
/// however it ends (returned, failed, or aborted like a crash).
struct Children {
    tasks: Vec<tokio::task::AbortHandle>,
    ctx: Arc<Context>,
}

impl Drop for Children {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        self.ctx.watches.stop_all();
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c().map(|_| ());
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => futures::future::pending::<()>().await,
            }
        };
        futures::future::select(Box::pin(ctrl_c), Box::pin(term)).await;
    }
    #[cfg(not(unix))]
    ctrl_c.await;
    tracing::info!("shutting down");
}

/// Reconcile only on what matters: spec/operation (generation), the refresh
/// annotation, deletion and finalizers, not on our own status writes.
fn app_predicate(app: &Application) -> Option<u64> {
    let mut h = DefaultHasher::new();
    app.meta().generation.hash(&mut h);
    app.annotations().get(REFRESH_ANNOTATION).hash(&mut h);
    app.meta().deletion_timestamp.is_some().hash(&mut h);
    app.finalizers().hash(&mut h);
    Some(h.finish())
}

/// Forgets, every 30 s, the Applications no longer in any watched store
/// (deleted without our finalizer): their memory, watches and metrics.
async fn forget_deleted(ctx: Arc<Context>, stores: Vec<reflector::Store<Application>>) {
    for store in &stores {
        if store.wait_until_ready().await.is_err() {
            return;
        }
    }
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        for id in ctx.remembered_where(|_| true) {
            let key = ObjectRef::new(&id.1).within(&id.0);
            if stores.iter().all(|s| s.get(&key).is_none()) {
                tracing::debug!(app = %format!("{}/{}", id.0, id.1), "forgetting a deleted Application");
                ctx.forget(&id);
            }
        }
    }
}

/// Starts the controller with `client`; it stops when `shutdown` resolves.
pub async fn start(
    client: Client,
    config: ControllerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Running> {
    let shutdown = shutdown.boxed().shared();
    let metrics = Arc::new(Metrics::new());
    // Read once per repository and 10 s, and again after a failed fetch.
    let credentials = Remembered::new(
        KubeSecretCredentials::new(client.clone(), &config.credentials_namespace),
        DEFAULT_TTL,
    );
    let cache = MirrorCache::new(
        &config.repo_cache_dir,
        Arc::new(credentials),
        Options::default(),
    )
    .map_err(|e| {
        Error::Config(format!(
            "repository cache {}: {e}",
            config.repo_cache_dir.display()
        ))
    })?;
    let cache = Arc::new(cache);
    let source = Arc::new(GitSource::new(cache.clone(), metrics.clone()));
    let mut engine = SyncEngine::new(client.clone())
        .with_field_manager(config.field_manager.clone())
        .with_wave_timeout(config.wave_timeout);
    // Every change the index sees requeues its owner: a diff may take the
    // objects it shows unchanged from the engine's cache.
    if config.watch_managed {
        engine = engine.with_live_cache();
    }
    let engine = Engine(engine);
    let recorder = Recorder::spawn(
        client.clone(),
        Reporter {
            controller: CONTROLLER_NAME.into(),
            instance: config.instance.clone(),
        },
    );
    let ctx = Context::new(
        client.clone(),
        config.clone(),
        source,
        engine,
        recorder,
        metrics,
    )
    .into_shared();
    let ready = Arc::new(AtomicBool::new(false));
    let (http_addr, http_task) = match config.listen {
        Some(addr) => {
            let state = HttpState {
                ctx: ctx.clone(),
                ready: ready.clone(),
            };
            let (bound, task) = http::serve(addr, state, shutdown.clone()).await?;
            (Some(bound), Some(task.abort_handle()))
        }
        None => (None, None),
    };

    let task_ctx = ctx.clone();
    let task = tokio::spawn(async move {
        let ctx = task_ctx;
        let mut children = Children {
            tasks: Vec::new(),
            ctx: ctx.clone(),
        };
        if config.watch_managed {
            ctx.watches.listen(&ctx.engine.0, ctx.weak());
        }
        let lease = match &config.leader_election {
            Some(le) => {
                tokio::select! {
                    r = crate::leader::acquire(&client, le) => r?,
                    _ = shutdown.clone() => return Ok(()),
                }
                let keeper = tokio::spawn(crate::leader::keep(client.clone(), le.clone()));
                children.tasks.push(keeper.abort_handle());
                Some(keeper)
            }
            None => None,
        };
        let scopes: Vec<Option<String>> = if config.namespaces.is_empty() {
            vec![None]
        } else {
            let mut ns = config.namespaces.clone();
            ns.sort();
            ns.dedup();
            ns.into_iter().map(Some).collect()
        };
        let flux_sources =
            gitrepository::spawn(ctx.clone(), cache, scopes.clone(), shutdown.clone());
        children.tasks.push(flux_sources.abort_handle());
        let mut stores = Vec::new();
        let kustomizations = crate::kustomization::controller::controllers(
            ctx.clone(),
            client.clone(),
            &scopes,
            shutdown.clone(),
        );
        if let Some(renderer) = &ctx.helm {
            ctx.helm_releases.set_renderer(renderer.clone());
        }
        let mut flux_helm = crate::helmrelease::controller::controllers(
            ctx.clone(),
            client.clone(),
            &scopes,
            shutdown.clone(),
        );
        flux_helm.extend(crate::helmrelease::repository::controllers(
            ctx.clone(),
            client.clone(),
            &scopes,
            shutdown.clone(),
        ));
        let queue = crate::watched::Queue::<Application>::new("Application", &ctx.metrics);
        let controllers: Vec<_> = scopes
            .into_iter()
            .map(|scope| {
                let api: Api<Application> = match &scope {
                    Some(ns) => Api::namespaced(client.clone(), ns),
                    None => Api::all(client.clone()),
                };
                let (tx, triggers) = queue.triggers();
                ctx.add_trigger(scope.clone(), tx);
                let (reader, stream) = queue.watch(api, app_predicate);
                stores.push(reader.clone());
                ctx.add_app_store(reader.clone());
                Controller::for_stream(stream, reader)
                    .with_config(kube::runtime::Config::default().concurrency(config.concurrency))
                    .reconcile_on(triggers)
                    .graceful_shutdown_on(shutdown.clone())
                    .run(
                        queue.reconciler(reconcile::reconcile),
                        queue.error_policy(reconcile::error_policy),
                        ctx.clone(),
                    )
                    .for_each(|result| async move {
                        if let Err(error) = result {
                            tracing::debug!(%error, "controller event");
                        }
                    })
            })
            .collect();
        let projects = tokio::spawn(crate::projects::watch(
            ctx.clone(),
            client.clone(),
            config.control_plane_namespace.clone(),
            stores.clone(),
        ));
        children.tasks.push(projects.abort_handle());
        let gc = tokio::spawn(forget_deleted(ctx.clone(), stores));
        children.tasks.push(gc.abort_handle());
        ready.store(true, Ordering::SeqCst);
        let all = futures::future::join3(
            futures::future::join_all(controllers),
            futures::future::join_all(kustomizations),
            futures::future::join_all(flux_helm),
        );
        let result = match lease {
            Some(mut keeper) => {
                let result = tokio::select! {
                    _ = all => Ok(()),
                    lost = &mut keeper => match lost {
                        Ok(e) => Err(e),
                        Err(e) => Err(Error::Config(format!("lease task failed: {e}"))),
                    },
                };
                keeper.abort();
                if let Some(le) = &config.leader_election {
                    crate::leader::release(&client, le).await;
                }
                result
            }
            None => {
                all.await;
                Ok(())
            }
        };
        drop(children);
        result
    });
    Ok(Running {
        http_addr,
        context: ctx,
        task,
        http: http_task,
    })
}
