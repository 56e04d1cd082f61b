//! An index of the live objects per kind and namespace: which Application
//! each one's tracking annotation names (if any), at which resource
//! version. It is how a diff finds objects to prune without listing whole
//! kinds for every Application, how the diff right after a sync knows
//! that what an apply returned is still the live object, and how a diff
//! that trusts it knows an object does not exist without reading it
//! ([`TrackedIndex::lookup`]).
//!
//! Each scope (a kind in a namespace, or in all of them) is kept current by
//! one metadata-only watch, started the first time a diff asks about it and
//! shared by every Application syncing into it. The index holds only names,
//! resource versions and Application names, never objects (an untracked
//! object costs its name and version): a diff fetches
//! each candidate it finds, so a stale entry costs one GET and is never acted
//! on. Every change a watch sees to a tracked object is also announced with
//! the owner it concerns ([`crate::SyncEngine::tracked_changes`]): that is
//! how self-heal hears of drift, without watches of its own; a change that
//! left every field this engine's field manager owns as it was (a status
//! update, another writer's own fields) says so
//! ([`TrackedChange::owned_fields_unchanged`]): it cannot be drift, only a
//! health change. Objects this
//! engine applies are recorded at once ([`TrackedIndex::record`]), so a diff
//! right after a sync sees what the sync created even before the watch does;
//! the watch's report of exactly that write (same resource version, same
//! owner) is not announced again: the engine's own write is no drift.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::core::PartialObjectMeta;
use kube::runtime::{WatchStreamExt, watcher};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::{broadcast, watch};
use tokio::task::AbortHandle;

use crate::discovery::Resolved;
use crate::error::SyncError;
use crate::tracking::{TRACKING_ANNOTATION, parse_tracking_id};

/// A kind (group, version, kind) in a namespace (`None`: all namespaces, or
/// a cluster-scoped kind).
pub(crate) type ScopeKey = (String, String, String, Option<String>);

/// How long a scope may go unasked before its watch is stopped.
const IDLE: Duration = Duration::from_secs(15 * 60);
/// How long the first list of a scope may take.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// One object: the Application its annotation names (`None`: untracked),
/// the resource version that said so, whether that version is one this
/// engine wrote itself (not yet reported by the watch), and the
/// [`owned_shape`] the watch saw.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    app: Option<String>,
    version: u64,
    ours: bool,
    owned: Option<u64>,
}

/// A change the index saw to a tracked object, for self-heal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackedChange {
    /// The tracking name of the owner it concerns (the one the object
    /// names now, or the one it named before).
    pub owner: String,
    /// The object still exists, names the same owner, and every field
    /// this engine's field manager owns is as it was (no one else took one
    /// over, no spec field of ours was changed or removed): a status
    /// update, or another writer's own fields. Such a change cannot be
    /// drift; it matters only to an owner that judges health.
    pub owned_fields_unchanged: bool,
}

/// An object's (namespace, name).
type Id = (String, String);

/// (namespace, name) → entry, and beside it the objects of each owner, so
/// that a diff finds an owner's objects without going through every object
/// of the scope (at a thousand owners in one namespace, that walk was the
/// largest part of an idle refresh).
#[derive(Default)]
struct Entries {
    by_id: HashMap<Id, Entry>,
    by_app: HashMap<String, HashSet<Id>>,
}

impl Entries {
    fn new() -> Self {
        Self::default()
    }

    fn get(&self, id: &Id) -> Option<&Entry> {
        self.by_id.get(id)
    }

    #[cfg(test)]
    fn contains_key(&self, id: &Id) -> bool {
        self.by_id.contains_key(id)
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Records `entry` for `id`, replacing what was there.
    fn insert(&mut self, id: Id, entry: Entry) {
        let app = entry.app.clone();
        if let Some(old) = self.by_id.insert(id.clone(), entry).and_then(|b| b.app)
            && Some(&old) != app.as_ref()
        {
            self.unlink(&old, &id);
        }
        if let Some(app) = app {
            self.by_app.entry(app).or_default().insert(id);
        }
    }

    fn remove(&mut self, id: &Id) {
        if let Some(app) = self.by_id.remove(id).and_then(|e| e.app) {
            self.unlink(&app, id);
        }
    }

    /// Drops `id` from `app`'s objects.
    fn unlink(&mut self, app: &str, id: &Id) {
        if let Some(ids) = self.by_app.get_mut(app) {
            ids.remove(id);
            if ids.is_empty() {
                self.by_app.remove(app);
            }
        }
    }

    /// The objects whose tracking annotation names `app`.
    fn of_app(&self, app: &str) -> Vec<Id> {
        self.by_app
            .get(app)
            .map(|ids| ids.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The highest resource version recorded (0 when none).
    fn max_version(&self) -> u64 {
        self.by_id.values().map(|e| e.version).max().unwrap_or(0)
    }

    #[cfg(test)]
    fn keys(&self) -> impl Iterator<Item = &Id> {
        self.by_id.keys()
    }
}

/// The entries of one scope; `relisting` collects a fresh list after the
/// watch restarted.
#[derive(Default)]
struct ScopeEntries {
    current: Entries,
    relisting: Option<Entries>,
}

/// Whether a scope's first list has completed.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Readiness {
    Starting,
    Ready,
    /// The first list failed: the message, and the HTTP status when the
    /// server gave one.
    Failed(String, Option<u16>),
}

/// One watched scope. Dropping it stops its watch.
struct Scope {
    entries: Arc<Mutex<ScopeEntries>>,
    ready: watch::Receiver<Readiness>,
    task: AbortHandle,
    last_used: Mutex<Instant>,
}

impl Drop for Scope {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the index knows of one object ([`TrackedIndex::lookup`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Its scope is not watched, or not listed yet, or the version unknown.
    Unknown,
    /// The watch has not seen it: it did not exist a moment ago.
    Absent,
    /// It exists (tracked or not) at this resource version.
    At(u64),
}

/// The objects of every scope a diff asked about.
pub(crate) struct TrackedIndex {
    client: Client,
    /// The field manager this engine writes as.
    manager: Arc<str>,
    scopes: Mutex<HashMap<ScopeKey, Arc<Scope>>>,
    changes: broadcast::Sender<TrackedChange>,
}

/// How many change notices a slow listener may fall behind by.
const CHANGES_BUFFER: usize = 1024;

/// A resource version as a number (0 when it is not one, which always
/// loses to a real one and never blocks an update).
fn version_of(rv: Option<&str>) -> u64 {
    rv.and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// The Application a tracking annotation names.
fn tracked_app(annotation: Option<&str>) -> Option<String> {
    annotation.and_then(parse_tracking_id).map(|id| id.app)
}

/// Records `entry` (what an object's metadata says; `ours`: as this engine
/// wrote it) into `entries`, unless an entry from a later resource version
/// is there already. Returns whether it was this engine's own write coming
/// back from the watch (same version, same owner): no change to announce.
fn upsert(entries: &mut Entries, id: Id, entry: Entry) -> bool {
    let existing = entries.get(&id);
    let echo = !entry.ours
        && entry.version != 0
        && existing.is_some_and(|e| e.ours && e.version == entry.version && e.app == entry.app);
    let version = entry.version;
    let newer = existing.is_none_or(|e| version == 0 || e.version == 0 || version >= e.version);
    if !newer {
        return false;
    }
    entries.insert(id, entry);
    echo
}

/// The fields `manager` owns in the main resource (its `managedFields`
/// entries, times left out) and the deletion timestamp, as one hash;
/// `None` when `manager` owns nothing there (the object was written by
/// someone else, or without server-side field tracking): then no change
/// can be told apart from drift. Another writer that changes a field this
/// manager owns takes it over (an update) or is refused (an apply without
/// force), so any drift of ours changes this hash.
fn owned_shape(meta: &ObjectMeta, manager: &str) -> Option<u64> {
    let mut h = DefaultHasher::new();
    let mut owns = false;
    for entry in meta.managed_fields.iter().flatten() {
        let main = entry.subresource.as_deref().is_none_or(str::is_empty);
        if main && entry.manager.as_deref() == Some(manager) {
            owns = true;
            entry.operation.hash(&mut h);
            entry.api_version.hash(&mut h);
            let fields = entry.fields_v1.as_ref().map(|f| f.0.to_string());
            fields.hash(&mut h);
        }
    }
    let deleting = meta.deletion_timestamp.as_ref().map(|t| t.0.to_string());
    deleting.hash(&mut h);
    owns.then(|| h.finish())
}

/// Forgets a deleted object, unless a later resource version recreated it.
fn remove(entries: &mut Entries, id: &Id, version: u64) {
    if entries
        .get(id)
        .is_some_and(|e| version == 0 || e.version == 0 || version >= e.version)
    {
        entries.remove(id);
    }
}

impl ScopeEntries {
    /// Records a change (`manager`: this engine's field manager); returns
    /// the changes to announce, one per owner it concerns.
    fn apply(
        &mut self,
        meta: &PartialObjectMeta<DynamicObject>,
        manager: &str,
    ) -> Vec<TrackedChange> {
        let (id, entry) = describe(meta, manager);
        let before = self.current.get(&id).cloned();
        let unchanged = before
            .as_ref()
            .is_some_and(|b| b.app == entry.app && b.owned.is_some() && b.owned == entry.owned);
        let app = entry.app.clone();
        if upsert(&mut self.current, id, entry) {
            return Vec::new();
        }
        changes(owners(before.and_then(|b| b.app), app), unchanged)
    }

    /// Records a deletion; returns the changes to announce.
    fn delete(
        &mut self,
        meta: &PartialObjectMeta<DynamicObject>,
        manager: &str,
    ) -> Vec<TrackedChange> {
        let (id, entry) = describe(meta, manager);
        let before = self.current.get(&id).and_then(|e| e.app.clone());
        remove(&mut self.current, &id, entry.version);
        changes(owners(before, entry.app), false)
    }

    fn init_apply(&mut self, meta: &PartialObjectMeta<DynamicObject>, manager: &str) {
        let (id, entry) = describe(meta, manager);
        upsert(self.relisting.get_or_insert_default(), id, entry);
    }

    /// Replaces the entries with the fresh list, keeping those recorded
    /// after the list was taken (newer than anything in it).
    fn init_done(&mut self) {
        let Some(mut fresh) = self.relisting.take() else {
            return;
        };
        let listed_up_to = fresh.max_version();
        for (id, entry) in std::mem::take(&mut self.current).by_id {
            if entry.version > listed_up_to && fresh.get(&id).is_none() {
                fresh.insert(id, entry);
            }
        }
        self.current = fresh;
    }
}

/// `a` and `b`, without `None`s and duplicates.
fn owners(a: Option<String>, b: Option<String>) -> Vec<String> {
    let mut out: Vec<String> = a.into_iter().chain(b).collect();
    out.dedup();
    out
}

/// One [`TrackedChange`] per owner.
fn changes(owners: Vec<String>, owned_fields_unchanged: bool) -> Vec<TrackedChange> {
    owners
        .into_iter()
        .map(|owner| TrackedChange {
            owner,
            owned_fields_unchanged,
        })
        .collect()
}

/// The object's id and its entry as the watch reports it.
fn describe(meta: &PartialObjectMeta<DynamicObject>, manager: &str) -> ((String, String), Entry) {
    let m = &meta.metadata;
    let id = (
        m.namespace.clone().unwrap_or_default(),
        m.name.clone().unwrap_or_default(),
    );
    let annotation = m
        .annotations
        .as_ref()
        .and_then(|a| a.get(TRACKING_ANNOTATION))
        .map(String::as_str);
    let entry = Entry {
        app: tracked_app(annotation),
        version: version_of(m.resource_version.as_deref()),
        ours: false,
        owned: owned_shape(m, manager),
    };
    (id, entry)
}

/// The HTTP status of a watcher error, when the server sent one.
fn watcher_status(err: &watcher::Error) -> Option<u16> {
    match err {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => crate::kubeapi::status_code(e),
        watcher::Error::WatchError(status) => Some(status.code),
        watcher::Error::NoResourceVersion => None,
    }
}

/// Keeps `entries` current from a metadata-only watch of `api` until aborted;
/// reports the first list's outcome through `ready`. Ends when the first
/// list fails.
async fn run_watch(
    api: Api<PartialObjectMeta<DynamicObject>>,
    entries: Arc<Mutex<ScopeEntries>>,
    ready: watch::Sender<Readiness>,
    changes: broadcast::Sender<TrackedChange>,
    manager: Arc<str>,
) {
    let mut events = std::pin::pin!(watcher(api, watcher::Config::default()).default_backoff());
    while let Some(event) = events.next().await {
        let event = match event {
            Ok(event) => event,
            Err(e) if *ready.borrow() == Readiness::Starting => {
                let status = watcher_status(&e);
                ready.send_replace(Readiness::Failed(e.to_string(), status));
                return;
            }
            Err(e) => {
                tracing::debug!(error = %e, "tracked-object watch interrupted; it resumes");
                continue;
            }
        };
        let mut guard = entries.lock().unwrap_or_else(|p| p.into_inner());
        let touched = match event {
            watcher::Event::Apply(meta) => guard.apply(&meta, &manager),
            watcher::Event::Delete(meta) => guard.delete(&meta, &manager),
            watcher::Event::Init => {
                guard.relisting = Some(Entries::new());
                Vec::new()
            }
            watcher::Event::InitApply(meta) => {
                guard.init_apply(&meta, &manager);
                Vec::new()
            }
            watcher::Event::InitDone => {
                guard.init_done();
                drop(guard);
                if *ready.borrow() != Readiness::Ready {
                    ready.send_replace(Readiness::Ready);
                }
                continue;
            }
        };
        drop(guard);
        for change in touched {
            // Nobody listening (self-heal off) is fine.
            let _ = changes.send(change);
        }
    }
}

/// `apiVersion/Kind`, for errors.
fn describe_kind(resolved: &Resolved) -> String {
    format!(
        "{}/{}",
        resolved.resource.api_version, resolved.resource.kind
    )
}

impl TrackedIndex {
    /// An empty index of what an engine writing as field manager `manager`
    /// applies; watches start on first use.
    pub(crate) fn new(client: Client, manager: &str) -> Self {
        TrackedIndex {
            client,
            manager: manager.into(),
            scopes: Mutex::new(HashMap::new()),
            changes: broadcast::channel(CHANGES_BUFFER).0,
        }
    }

    /// Every change the watches see to a tracked object (applied, changed,
    /// deleted, or its tracking changed), per owner it concerns.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<TrackedChange> {
        self.changes.subscribe()
    }

    fn scopes(&self) -> std::sync::MutexGuard<'_, HashMap<ScopeKey, Arc<Scope>>> {
        self.scopes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The scope `key`, its watch started when it is new. Stops the watches
    /// of scopes nobody asked about for a while.
    fn scope(&self, key: &ScopeKey, resolved: &Resolved) -> Arc<Scope> {
        let mut scopes = self.scopes();
        scopes.retain(|k, s| k == key || s.last_used.lock().map_or(true, |t| t.elapsed() < IDLE));
        if let Some(scope) = scopes.get(key) {
            *scope.last_used.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
            return scope.clone();
        }
        let api: Api<PartialObjectMeta<DynamicObject>> = match &key.3 {
            Some(ns) if resolved.namespaced => {
                Api::namespaced_with(self.client.clone(), ns, &resolved.resource)
            }
            _ => Api::all_with(self.client.clone(), &resolved.resource),
        };
        let entries = Arc::new(Mutex::new(ScopeEntries::default()));
        let (tx, rx) = watch::channel(Readiness::Starting);
        let changes = self.changes.clone();
        let manager = self.manager.clone();
        let task =
            tokio::spawn(run_watch(api, entries.clone(), tx, changes, manager)).abort_handle();
        let scope = Arc::new(Scope {
            entries,
            ready: rx,
            task,
            last_used: Mutex::new(Instant::now()),
        });
        scopes.insert(key.clone(), scope.clone());
        scope
    }

    /// Forgets `key` if it is still `scope` (after its first list failed).
    fn forget(&self, key: &ScopeKey, scope: &Arc<Scope>) {
        let mut scopes = self.scopes();
        if scopes.get(key).is_some_and(|s| Arc::ptr_eq(s, scope)) {
            scopes.remove(key);
        }
    }

    /// The (namespace, name) of every object in scope `key` whose tracking
    /// annotation names Application `app`. Waits for the scope's first list
    /// when it is new. A kind the server no longer serves has none.
    pub(crate) async fn tracked(
        &self,
        key: &ScopeKey,
        resolved: &Resolved,
        app: &str,
    ) -> Result<Vec<(String, String)>, SyncError> {
        let scope = self.scope(key, resolved);
        let mut ready = scope.ready.clone();
        let outcome =
            tokio::time::timeout(READY_TIMEOUT, ready.wait_for(|r| *r != Readiness::Starting))
                .await;
        let state = match outcome {
            Ok(Ok(state)) => state.clone(),
            Ok(Err(_)) => Readiness::Failed("the watch ended".into(), None),
            Err(_) => Readiness::Failed(
                format!("no complete list after {}s", READY_TIMEOUT.as_secs()),
                None,
            ),
        };
        match state {
            Readiness::Ready => {}
            Readiness::Starting => unreachable!("waited for a state other than Starting"),
            Readiness::Failed(message, status) => {
                self.forget(key, &scope);
                if status == Some(404) {
                    return Ok(Vec::new());
                }
                return Err(SyncError::Watch {
                    kind: describe_kind(resolved),
                    scope: key.3.clone().unwrap_or_else(|| "all namespaces".into()),
                    message,
                });
            }
        }
        let entries = scope.entries.lock().unwrap_or_else(|p| p.into_inner());
        Ok(entries.current.of_app(app))
    }

    /// The (namespace, name) of every object in scope `key` naming `app`,
    /// when the scope is watched and listed (without waiting for it).
    /// Counts as a use of the scope: its watch keeps running.
    pub(crate) fn tracked_now(&self, key: &ScopeKey, app: &str) -> Option<Vec<(String, String)>> {
        let scope = self.scopes().get(key).cloned()?;
        if *scope.ready.borrow() != Readiness::Ready {
            return None;
        }
        *scope.last_used.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        let entries = scope.entries.lock().unwrap_or_else(|p| p.into_inner());
        Some(entries.current.of_app(app))
    }

    /// What the watch of `resolved`'s scope for `namespace` knows of the
    /// object `namespace/name` (a few milliseconds behind the server).
    pub(crate) fn lookup(&self, resolved: &Resolved, namespace: &str, name: &str) -> Seen {
        let res = &resolved.resource;
        let ns = (resolved.namespaced && !namespace.is_empty()).then(|| namespace.to_string());
        let key = (res.group.clone(), res.version.clone(), res.kind.clone(), ns);
        let Some(scope) = self.scopes().get(&key).cloned() else {
            return Seen::Unknown;
        };
        if *scope.ready.borrow() != Readiness::Ready {
            return Seen::Unknown;
        }
        let entries = scope.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries
            .current
            .get(&(namespace.to_string(), name.to_string()))
        {
            None => Seen::Absent,
            Some(e) if e.version == 0 => Seen::Unknown,
            Some(e) => Seen::At(e.version),
        }
    }

    /// Records an object this engine just wrote (as the server returned
    /// it) in every watched scope of its kind that holds it, so the next
    /// diff finds it even before the watch reports it.
    pub(crate) fn record(&self, resolved: &Resolved, live: &Value) {
        let s = |p: &str| live.pointer(p).and_then(Value::as_str);
        let namespace = s("/metadata/namespace").unwrap_or("").to_string();
        let name = s("/metadata/name").unwrap_or("").to_string();
        let app = tracked_app(
            live.pointer("/metadata/annotations")
                .and_then(|a| a.get(TRACKING_ANNOTATION))
                .and_then(Value::as_str),
        );
        let version = version_of(s("/metadata/resourceVersion"));
        // The fields we own, as the watch would report them: an entry
        // without them would make the next change look like drift, even a
        // status update.
        let owned = live
            .get("metadata")
            .and_then(|m| ObjectMeta::deserialize(m).ok())
            .and_then(|meta| owned_shape(&meta, &self.manager));
        let res = &resolved.resource;
        let scopes: Vec<Arc<Scope>> = self
            .scopes()
            .iter()
            .filter(|((g, v, k, ns), _)| {
                (g, v, k) == (&res.group, &res.version, &res.kind)
                    && ns.as_deref().is_none_or(|ns| ns == namespace)
            })
            .map(|(_, s)| s.clone())
            .collect();
        for scope in scopes {
            let mut entries = scope.entries.lock().unwrap_or_else(|p| p.into_inner());
            let id = (namespace.clone(), name.clone());
            let entry = Entry {
                app: app.clone(),
                version,
                ours: true,
                owned,
            };
            upsert(&mut entries.current, id.clone(), entry.clone());
            if let Some(relisting) = entries.relisting.as_mut() {
                upsert(relisting, id, entry);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str) -> (String, String) {
        ("ns".to_string(), name.to_string())
    }

    fn entry(app: Option<String>, version: u64, ours: bool) -> Entry {
        Entry {
            app,
            version,
            ours,
            owned: None,
        }
    }

    fn app_of(entries: &Entries, name: &str) -> Option<String> {
        entries.get(&id(name)).and_then(|e| e.app.clone())
    }

    #[test]
    fn later_versions_win() {
        let mut entries = Entries::new();
        upsert(&mut entries, id("a"), entry(Some("one".into()), 10, false));
        upsert(&mut entries, id("a"), entry(Some("two".into()), 9, false));
        assert_eq!(app_of(&entries, "a").as_deref(), Some("one"));
        upsert(&mut entries, id("a"), entry(Some("two".into()), 11, false));
        assert_eq!(app_of(&entries, "a").as_deref(), Some("two"));
        // An older delete does not remove a newer object.
        remove(&mut entries, &id("a"), 10);
        assert!(entries.contains_key(&id("a")));
        remove(&mut entries, &id("a"), 12);
        assert!(entries.is_empty());
    }

    #[test]
    fn untracked_objects_are_known_to_exist_but_owned_by_nobody() {
        let mut entries = Entries::new();
        upsert(&mut entries, id("a"), entry(Some("one".into()), 1, false));
        upsert(&mut entries, id("a"), entry(None, 2, false));
        assert_eq!(app_of(&entries, "a"), None);
        assert_eq!(entries.get(&id("a")).map(|e| e.version), Some(2));
        upsert(&mut entries, id("b"), entry(None, 1, false));
        assert!(entries.contains_key(&id("b")));
        remove(&mut entries, &id("b"), 1);
        assert!(!entries.contains_key(&id("b")));
    }

    #[test]
    fn only_the_exact_echo_of_our_own_write_is_silent() {
        let mut entries = Entries::new();
        let ours = Some("one".to_string());
        // Our write at 5, then the watch reports exactly it: silent.
        assert!(!upsert(&mut entries, id("a"), entry(ours.clone(), 5, true)));
        assert!(upsert(&mut entries, id("a"), entry(ours.clone(), 5, false)));
        // Reported once: a second report of 5 is no echo any more.
        assert!(!upsert(
            &mut entries,
            id("a"),
            entry(ours.clone(), 5, false)
        ));
        // Our write at 7, but the watch reports another writer's 8, or 7
        // with another owner: both are changes.
        upsert(&mut entries, id("a"), entry(ours.clone(), 7, true));
        assert!(!upsert(
            &mut entries,
            id("a"),
            entry(ours.clone(), 8, false)
        ));
        upsert(&mut entries, id("b"), entry(ours.clone(), 7, true));
        assert!(!upsert(
            &mut entries,
            id("b"),
            entry(Some("two".into()), 7, false)
        ));
    }

    #[test]
    fn each_owner_finds_its_own_objects() {
        let sorted = |mut ids: Vec<Id>| {
            ids.sort();
            ids
        };
        let mut entries = Entries::new();
        upsert(&mut entries, id("a"), entry(Some("one".into()), 3, false));
        upsert(&mut entries, id("b"), entry(Some("one".into()), 1, false));
        upsert(&mut entries, id("c"), entry(Some("two".into()), 1, false));
        upsert(&mut entries, id("d"), entry(None, 1, false));
        assert_eq!(sorted(entries.of_app("one")), vec![id("a"), id("b")]);
        // Taken over by another owner, then no owner at all.
        upsert(&mut entries, id("b"), entry(Some("two".into()), 2, false));
        assert_eq!(entries.of_app("one"), vec![id("a")]);
        assert_eq!(sorted(entries.of_app("two")), vec![id("b"), id("c")]);
        upsert(&mut entries, id("c"), entry(None, 2, false));
        assert_eq!(entries.of_app("two"), vec![id("b")]);
        // An older version changes nothing; a deletion does.
        upsert(&mut entries, id("a"), entry(Some("two".into()), 2, false));
        assert_eq!(entries.of_app("one"), vec![id("a")]);
        remove(&mut entries, &id("a"), 5);
        assert!(entries.of_app("one").is_empty());
        assert!(!entries.by_app.contains_key("one"), "no empty sets kept");
    }

    #[test]
    fn a_relist_replaces_the_entries() {
        let mut entries = ScopeEntries::default();
        entries
            .current
            .insert(id("gone"), entry(Some("a".into()), 1, false));
        entries.relisting = Some(Entries::new());
        upsert(
            entries.relisting.as_mut().expect("relisting"),
            id("kept"),
            entry(Some("a".into()), 2, false),
        );
        entries.init_done();
        assert!(entries.relisting.is_none());
        assert_eq!(
            entries.current.keys().collect::<Vec<_>>(),
            vec![&id("kept")]
        );
        assert_eq!(entries.current.of_app("a"), vec![id("kept")]);
    }

    /// A Deployment's metadata as the metadata-only watch reports it: owned
    /// by `app`, at `version`, with `fields` (manager, subresource, fieldsV1).
    fn deployment(
        app: &str,
        version: u64,
        fields: &[(&str, &str, Value)],
    ) -> PartialObjectMeta<DynamicObject> {
        let managed: Vec<Value> = fields
            .iter()
            .map(|(manager, sub, f)| {
                serde_json::json!({"manager": manager, "operation": "Apply",
                    "apiVersion": "apps/v1", "subresource": sub, "fieldsType": "FieldsV1",
                    "fieldsV1": f, "time": format!("2026-12-05T00:00:{version:02}Z")})
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
            "metadata": {"name": "web", "namespace": "ns", "resourceVersion": version.to_string(),
                "generation": 1,
                "annotations": {TRACKING_ANNOTATION: format!("{app}:apps/Deployment:ns/web")},
                "managedFields": managed}
        }))
        .expect("metadata")
    }

    #[test]
    fn a_change_that_keeps_our_fields_says_so() {
        let ours = serde_json::json!({"f:spec": {"f:replicas": {}, "f:template": {}}});
        let without_replicas = serde_json::json!({"f:spec": {"f:template": {}}});
        let status = |n: u64| {
            (
                "kube-controller-manager",
                "status",
                serde_json::json!({"f:status": {"f:replicas": n}}),
            )
        };
        let mut entries = ScopeEntries::default();
        let first = entries.apply(
            &deployment("a", 1, &[("driftless", "", ours.clone())]),
            "driftless",
        );
        assert!(first.iter().all(|c| !c.owned_fields_unchanged), "{first:?}");
        // The controller-manager updates the status.
        let status_update = deployment("a", 2, &[("driftless", "", ours.clone()), status(1)]);
        let change = entries.apply(&status_update, "driftless");
        assert_eq!(
            change,
            vec![TrackedChange {
                owner: "a".into(),
                owned_fields_unchanged: true
            }]
        );
        // Someone else takes over a field of ours: drift.
        let taken = deployment(
            "a",
            3,
            &[
                ("driftless", "", without_replicas),
                (
                    "kubectl-edit",
                    "",
                    serde_json::json!({"f:spec": {"f:replicas": {}}}),
                ),
                status(1),
            ],
        );
        let change = entries.apply(&taken, "driftless");
        assert_eq!(change.len(), 1);
        assert!(!change[0].owned_fields_unchanged);
        // Another owner: both owners hear of it, as a change.
        let moved = deployment("b", 4, &[("driftless", "", ours.clone())]);
        let change = entries.apply(&moved, "driftless");
        let owners: Vec<(&str, bool)> = change
            .iter()
            .map(|c| (c.owner.as_str(), c.owned_fields_unchanged))
            .collect();
        assert_eq!(owners, [("a", false), ("b", false)]);
        // Not written by this manager: every change may be drift.
        let mut entries = ScopeEntries::default();
        entries.apply(
            &deployment("a", 1, &[("other", "", ours.clone())]),
            "driftless",
        );
        let change = entries.apply(
            &deployment("a", 2, &[("other", "", ours), status(2)]),
            "driftless",
        );
        assert!(!change[0].owned_fields_unchanged);
    }

    #[test]
    fn the_owned_shape_leaves_out_times_and_other_managers() {
        let ours = serde_json::json!({"f:spec": {"f:replicas": {}}});
        let at = |version: u64, other: Value| {
            deployment(
                "a",
                version,
                &[("driftless", "", ours.clone()), ("hpa", "", other)],
            )
            .metadata
        };
        let one = owned_shape(&at(1, serde_json::json!({"f:a": {}})), "driftless");
        let two = owned_shape(&at(2, serde_json::json!({"f:b": {}})), "driftless");
        assert!(one.is_some());
        assert_eq!(one, two);
        assert_eq!(owned_shape(&at(1, Value::Null), "someone"), None);
        let mut deleting = at(1, Value::Null);
        deleting.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
        ));
        assert_ne!(owned_shape(&deleting, "driftless"), one);
    }

    #[test]
    fn reads_the_application_from_the_annotation() {
        assert_eq!(
            tracked_app(Some("guestbook:apps/Deployment:dev/web")).as_deref(),
            Some("guestbook")
        );
        assert_eq!(tracked_app(Some("junk")), None);
        assert_eq!(tracked_app(None), None);
        assert_eq!(version_of(Some("42")), 42);
        assert_eq!(version_of(Some("x")), 0);
    }
}
