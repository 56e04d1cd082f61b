//! The two streams every controller here is built from: the watch of its
//! own kind (reflected into a store, filtered to the changes that matter),
//! and a channel of reconcile requests other parts of the controller send
//! (a dependency became Ready, a source has a new revision, a webhook).

use std::fmt::Debug;
use std::hash::Hash;

use futures::Stream;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc::UnboundedSender;

/// A sender of reconcile requests, and the stream a controller reads them
/// from (`reconcile_on`).
pub(crate) fn triggers<K>() -> (
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
pub(crate) fn watch<K>(
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
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(predicate, Default::default());
    (reader, stream)
}
