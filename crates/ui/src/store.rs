//! The watched objects: Applications, Flux Kustomizations and HelmReleases
//! of the configured namespaces, kept current by watches (kube-runtime
//! reflectors), and a counter that moves whenever one of them changes (it
//! drives the live updates).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use driftless_api::Application;
use futures::{FutureExt, StreamExt};
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Flux's Kustomization group.
pub(crate) const FLUX_GROUP: &str = "kustomize.toolkit.fluxcd.io";

/// The Kustomization resource (served as `v1`).
pub(crate) fn kustomization_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(FLUX_GROUP, "v1", "Kustomization"),
        "kustomizations",
    )
}

/// Flux's HelmRelease group.
pub(crate) const HELM_GROUP: &str = "helm.toolkit.fluxcd.io";

/// The HelmRelease resource (served as `v2`).
pub(crate) fn helm_release_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(HELM_GROUP, "v2", "HelmRelease"),
        "helmreleases",
    )
}

/// How long the first request waits for the watches' first lists.
const SETTLE_LIMIT: Duration = Duration::from_secs(5);

/// The stores of every watched namespace.
pub(crate) struct Stores {
    apps: Vec<Store<Application>>,
    kustomizations: Vec<Store<DynamicObject>>,
    helm_releases: Vec<Store<DynamicObject>>,
    changes: watch::Receiver<u64>,
    tasks: Vec<JoinHandle<()>>,
    settled: AtomicBool,
}

impl Drop for Stores {
    fn drop(&mut self) {
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

impl Stores {
    /// Starts the watches of `namespaces` (all namespaces when empty).
    pub(crate) fn start(client: &Client, namespaces: &[String]) -> Stores {
        let scopes: Vec<Option<&str>> = if namespaces.is_empty() {
            vec![None]
        } else {
            namespaces.iter().map(|n| Some(n.as_str())).collect()
        };
        let (tx, changes) = watch::channel(0u64);
        let tx = Arc::new(tx);
        let mut stores = Stores {
            apps: Vec::new(),
            kustomizations: Vec::new(),
            helm_releases: Vec::new(),
            changes,
            tasks: Vec::new(),
            settled: AtomicBool::new(false),
        };
        for scope in scopes {
            let apps: Api<Application> = match scope {
                Some(ns) => Api::namespaced(client.clone(), ns),
                None => Api::all(client.clone()),
            };
            let (reader, writer) = reflector::store();
            stores.apps.push(reader);
            stores
                .tasks
                .push(spawn_watch(apps, writer, tx.clone(), "Application"));
            let (reader, task) = watch_flux(
                client,
                scope,
                kustomization_resource(),
                "Kustomization",
                &tx,
            );
            stores.kustomizations.push(reader);
            stores.tasks.push(task);
            let (reader, task) =
                watch_flux(client, scope, helm_release_resource(), "HelmRelease", &tx);
            stores.helm_releases.push(reader);
            stores.tasks.push(task);
        }
        stores
    }

    /// Waits until every watch listed once, the first time it is called
    /// (at most a few seconds: a missing CRD, e.g. no Flux, never lists);
    /// later calls return at once.
    pub(crate) async fn settle(&self) {
        if self.settled.load(Ordering::Acquire) {
            return;
        }
        let apps = self.apps.iter().map(|s| s.wait_until_ready().boxed());
        let flux = self
            .kustomizations
            .iter()
            .chain(&self.helm_releases)
            .map(|s| s.wait_until_ready().boxed());
        let all = futures::future::join_all(apps.chain(flux));
        let _ = tokio::time::timeout(SETTLE_LIMIT, all).await;
        self.settled.store(true, Ordering::Release);
    }

    /// Every watched Application.
    pub(crate) fn applications(&self) -> Vec<Arc<Application>> {
        self.apps.iter().flat_map(Store::state).collect()
    }

    /// One Application, when watched.
    pub(crate) fn application(&self, namespace: &str, name: &str) -> Option<Arc<Application>> {
        let key = ObjectRef::new(name).within(namespace);
        self.apps.iter().find_map(|s| s.get(&key))
    }

    /// Every watched Kustomization.
    pub(crate) fn kustomizations(&self) -> Vec<Arc<DynamicObject>> {
        self.kustomizations.iter().flat_map(Store::state).collect()
    }

    /// One Kustomization, when watched.
    pub(crate) fn kustomization(&self, namespace: &str, name: &str) -> Option<Arc<DynamicObject>> {
        let key = ObjectRef::new_with(name, kustomization_resource()).within(namespace);
        self.kustomizations.iter().find_map(|s| s.get(&key))
    }

    /// Every watched HelmRelease.
    pub(crate) fn helm_releases(&self) -> Vec<Arc<DynamicObject>> {
        self.helm_releases.iter().flat_map(Store::state).collect()
    }

    /// A receiver that sees the counter move on every change.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }
}

/// The store and watch task of the Flux `resource` in `scope`.
fn watch_flux(
    client: &Client,
    scope: Option<&str>,
    resource: ApiResource,
    kind: &'static str,
    tx: &Arc<watch::Sender<u64>>,
) -> (Store<DynamicObject>, JoinHandle<()>) {
    let api: Api<DynamicObject> = match scope {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    let writer = reflector::store::Writer::new(resource);
    let reader = writer.as_reader();
    (reader, spawn_watch(api, writer, tx.clone(), kind))
}

fn spawn_watch<K>(
    api: Api<K>,
    writer: reflector::store::Writer<K>,
    tx: Arc<watch::Sender<u64>>,
    kind: &'static str,
) -> JoinHandle<()>
where
    K: kube::Resource
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Send + Sync,
{
    tokio::spawn(async move {
        watcher(api, watcher::Config::default())
            .default_backoff()
            .reflect(writer)
            .for_each(|event| {
                match event {
                    Ok(_) => tx.send_modify(|n| *n = n.wrapping_add(1)),
                    Err(error) => tracing::debug!(%error, kind, "web page watch"),
                }
                futures::future::ready(())
            })
            .await;
    })
}
