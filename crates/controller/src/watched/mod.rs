//! The two streams every controller here is built from: the watch of its
//! own kind (reflected into a store, filtered to the changes that matter),
//! and a channel of reconcile requests other parts of the controller send
//! (a dependency became Ready, a source has a new revision, a webhook),
//! both counted at this edge in the controller's [`Queue`] (kube-runtime
//! does not show its own): how many objects wait for their reconcile and
//! how many reconciles run, exposed by [`Metrics`]. Reconcilers and error
//! policies say when to run again with a [`NextReconcile`], which the
//! queue records before handing kube-runtime its `Action`.

mod next;
mod pending;

use std::fmt::Debug;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use futures::future::BoxFuture;
use futures::{FutureExt, Stream, StreamExt, TryStreamExt};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource};
use prometheus_client::metrics::gauge::Gauge;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc::UnboundedSender;

use crate::metrics::{InFlight, Metrics, QueueReport};
pub use next::NextReconcile;
use pending::Pending;

/// A sender of reconcile requests, and the stream a controller reads them
/// from (`reconcile_on`).
fn triggers<K>() -> (
    UnboundedSender<ObjectRef<K>>,
    impl Stream<Item = ObjectRef<K>> + Send + 'static,
)
where
    K: Resource + 'static,
    K::DynamicType: Clone + Eq + Hash + Send + Sync,
{
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<ObjectRef<K>>();
    let stream =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|r| (r, rx)) });
    (tx, stream)
}

/// The watch of `api`, kept in the returned store, yielding only objects
/// whose `predicate` value changed (e.g. not our own status writes).
fn watch<K>(
    api: Api<K>,
    predicate: fn(&K) -> Option<u64>,
) -> (
    Store<K>,
    impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
)
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = stored(api)
        .reflect(writer)
        .applied_objects()
        .predicate_filter(predicate, Default::default());
    (reader, stream)
}

/// The watch of every object of `api`, retried with backoff, for a store
/// to keep: each object without the field sets of its `managedFields`
/// ([`drop_field_sets`]). Every store of watched objects is fed by it.
pub(crate) fn stored<K>(
    api: Api<K>,
) -> impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
{
    watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(drop_field_sets)
}

/// Drops the field sets of `object`'s `managedFields` before it is stored:
/// nothing reads them, and they are a good part of a small object's size
/// in a store that holds every object of the kind. Which manager wrote
/// when stays (a spec's last write decides whether to fetch).
fn drop_field_sets<K: Resource>(object: &mut K) {
    for entry in object.meta_mut().managed_fields.iter_mut().flatten() {
        entry.fields_v1 = None;
    }
}

/// One controller's queue and in-flight counts, shared by its controllers
/// of every namespace scope and reported by [`Metrics`] (see [`pending`]
/// for what counts as queued).
pub(crate) struct Queue<K: Resource<DynamicType = ()> + 'static> {
    controller: &'static str,
    pending: Mutex<Pending<ObjectRef<K>>>,
    stores: Mutex<Vec<Store<K>>>,
    in_flight: Gauge,
}

impl<K> Queue<K>
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    /// The queue of `controller` (its kind: `Application`, ...), registered
    /// with `metrics`.
    pub(crate) fn new(controller: &'static str, metrics: &Metrics) -> Arc<Self> {
        let queue = Arc::new(Queue {
            controller,
            pending: Mutex::new(Pending::default()),
            stores: Mutex::new(Vec::new()),
            in_flight: metrics.in_flight_gauge(controller),
        });
        metrics.add_queue(queue.clone());
        queue
    }

    fn pending(&self) -> MutexGuard<'_, Pending<ObjectRef<K>>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes that `object` was triggered (its reconcile is due now).
    pub(crate) fn triggered(&self, object: ObjectRef<K>) {
        self.pending().due_at(object, Instant::now());
    }

    /// Notes every object of `objects` as triggered, passing them on (for a
    /// `.watches` mapper).
    pub(crate) fn through(&self, objects: Vec<ObjectRef<K>>) -> Vec<ObjectRef<K>> {
        for object in &objects {
            self.triggered(object.clone());
        }
        objects
    }

    /// `reconcile`, counting it in flight while it runs and noting when it
    /// starts and when it asks to run again; its [`NextReconcile`] becomes
    /// kube-runtime's `Action`.
    pub(crate) fn reconciler<C, E, F, Fut>(
        self: &Arc<Self>,
        reconcile: F,
    ) -> impl FnMut(Arc<K>, Arc<C>) -> BoxFuture<'static, Result<Action, E>> + use<K, C, E, F, Fut>
    where
        C: Send + Sync + 'static,
        E: Send + 'static,
        F: Fn(Arc<K>, Arc<C>) -> Fut,
        Fut: Future<Output = Result<NextReconcile, E>> + Send + 'static,
    {
        let queue = self.clone();
        move |object, ctx| {
            let reference = ObjectRef::from_obj(&*object);
            queue.pending().started(&reference);
            queue.in_flight.inc();
            let running = InFlight(queue.in_flight.clone());
            let queue = queue.clone();
            let run = reconcile(object, ctx);
            async move {
                let result = run.await;
                drop(running);
                if let Ok(next) = result {
                    queue.ended(reference, next);
                }
                result.map(Action::from)
            }
            .boxed()
        }
    }

    /// `error_policy`, noting when the failed object asks to run again;
    /// its [`NextReconcile`] becomes kube-runtime's `Action`.
    pub(crate) fn error_policy<C, E, P>(
        self: &Arc<Self>,
        policy: P,
    ) -> impl Fn(Arc<K>, &E, Arc<C>) -> Action + use<K, C, E, P>
    where
        P: Fn(Arc<K>, &E, Arc<C>) -> NextReconcile,
    {
        let queue = self.clone();
        move |object, error, ctx| {
            let reference = ObjectRef::from_obj(&*object);
            let next = policy(object, error, ctx);
            queue.ended(reference, next);
            Action::from(next)
        }
    }

    fn ended(&self, object: ObjectRef<K>, next: NextReconcile) {
        self.pending().ended(object, Instant::now(), next.delay());
    }

    /// The watch of `api` (as [`watch`]), its store known to this queue
    /// and each object it yields noted as triggered.
    pub(crate) fn watch(
        self: &Arc<Self>,
        api: Api<K>,
        predicate: fn(&K) -> Option<u64>,
    ) -> (
        Store<K>,
        impl Stream<Item = Result<K, watcher::Error>> + Send + 'static + use<K>,
    )
    where
        K: Debug + DeserializeOwned,
    {
        let (store, stream) = watch(api, predicate);
        lock(&self.stores).push(store.clone());
        let queue = self.clone();
        let stream = stream.inspect_ok(move |o| queue.triggered(ObjectRef::from_obj(o)));
        (store, stream)
    }

    /// A trigger channel (as [`triggers`]) whose requests are noted.
    pub(crate) fn triggers(
        self: &Arc<Self>,
    ) -> (
        UnboundedSender<ObjectRef<K>>,
        impl Stream<Item = ObjectRef<K>> + Send + 'static + use<K>,
    ) {
        let (tx, stream) = triggers::<K>();
        let queue = self.clone();
        (tx, stream.inspect(move |r| queue.triggered(r.clone())))
    }
}

impl<K> QueueReport for Queue<K>
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    fn controller(&self) -> &'static str {
        self.controller
    }

    fn queued(&self) -> usize {
        let stores = lock(&self.stores);
        let exists = |o: &ObjectRef<K>| stores.iter().any(|s| s.get(o).is_some());
        self.pending().queued(Instant::now(), exists)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::ObjectMeta;

    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("failed")]
    struct Failed;

    #[test]
    fn stored_objects_keep_who_wrote_when_but_not_the_field_sets() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry, Time};
        let entry = ManagedFieldsEntry {
            manager: Some("kubectl".into()),
            operation: Some("Apply".into()),
            time: Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)),
            fields_v1: Some(FieldsV1(serde_json::json!({"f:data": {"f:a": {}}}))),
            ..Default::default()
        };
        let mut map = ConfigMap {
            metadata: ObjectMeta {
                managed_fields: Some(vec![entry.clone()]),
                ..Default::default()
            },
            ..Default::default()
        };
        drop_field_sets(&mut map);
        let kept = &map.metadata.managed_fields.unwrap()[0];
        assert_eq!(kept.fields_v1, None);
        assert_eq!(
            (&kept.manager, &kept.operation, &kept.time),
            (&entry.manager, &entry.operation, &entry.time)
        );
    }

    fn configmap(name: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("apps".into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_reconcile_leaves_the_queue_when_it_starts_and_counts_in_flight() {
        let metrics = Metrics::new();
        let queue = Queue::<ConfigMap>::new("ConfigMap", &metrics);
        let (reader, mut writer) = reflector::store();
        let (web, api) = (configmap("web"), configmap("api"));
        writer.apply_watcher_event(&watcher::Event::Apply(web.clone()));
        writer.apply_watcher_event(&watcher::Event::Apply(api.clone()));
        lock(&queue.stores).push(reader);
        queue.triggered(ObjectRef::from_obj(&web));
        queue.triggered(ObjectRef::from_obj(&api));
        queue.triggered(ObjectRef::new("deleted").within("apps"));
        assert_eq!(queue.queued(), 2, "the deleted object is not queued");

        let seen = Arc::new(Mutex::new(Vec::new()));
        let during = (queue.clone(), seen.clone());
        let mut reconcile = queue.reconciler(move |_cm: Arc<ConfigMap>, _ctx: Arc<()>| {
            let (queue, seen) = during.clone();
            async move {
                lock(&seen).push((queue.queued(), queue.in_flight.get()));
                Ok::<_, Failed>(NextReconcile::After(Duration::from_secs(3600)))
            }
        });
        let action = reconcile(Arc::new(web.clone()), Arc::new(()))
            .await
            .expect("reconciled");
        assert_eq!(action, Action::requeue(Duration::from_secs(3600)));
        assert_eq!(*lock(&seen), [(1, 1)], "web left the queue, one running");
        assert_eq!(queue.in_flight.get(), 0);
        assert_eq!(queue.queued(), 1, "web's requeue is not due for an hour");

        let policy = queue.error_policy(|_cm: Arc<ConfigMap>, _e: &Failed, _ctx: Arc<()>| {
            NextReconcile::After(Duration::ZERO)
        });
        let _ = reconcile(Arc::new(api.clone()), Arc::new(())).await;
        let action = policy(Arc::new(api), &Failed, Arc::new(()));
        assert_eq!(action, Action::requeue(Duration::ZERO));
        assert_eq!(queue.queued(), 1, "api's retry is due at once");
        let text = metrics.encode();
        assert!(
            text.contains("driftless_reconcile_queue_depth{controller=\"ConfigMap\"} 1"),
            "{text}"
        );
    }
}
