//! What a Flux kind's controller (Kustomization, HelmRelease) shares
//! between reconciles (held by the [`crate::Context`]): the triggers of its
//! kube-runtime controllers, which objects depend on which (a dependency's
//! status change requeues its dependents at once), which objects use which
//! source (a new artifact requeues them), and a little memory per object.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use kube::runtime::reflector::ObjectRef;
use tokio::sync::mpsc::UnboundedSender;

use crate::adapters::Engine;
use crate::cycle::AppId;

/// What is remembered about one object between reconciles: `S` is its
/// status, `R` what its stored spec said (see `kustomization::raw`).
#[derive(Clone, Debug)]
pub struct FluxMemory<S, R> {
    /// The revision last applied and when: health checks time out from then.
    pub applied: Option<(String, Instant)>,
    /// API failures in a row (for the error policy's backoff).
    pub api_failures: u32,
    /// The status this controller last wrote, with the resourceVersion the
    /// write produced (the watch cache may not have seen it yet).
    pub written: Option<(u64, S)>,
    /// The stored spec examined, for a generation.
    pub raw: Option<(Option<i64>, R)>,
}

impl<S, R> Default for FluxMemory<S, R> {
    fn default() -> Self {
        FluxMemory {
            applied: None,
            api_failures: 0,
            written: None,
            raw: None,
        }
    }
}

type Trigger<K> = (Option<String>, UnboundedSender<ObjectRef<K>>);

/// A Flux kind's shared state: `K` the kind, `S` its status, `R` what its
/// stored spec said.
pub struct FluxState<K: kube::Resource, S, R> {
    triggers: Mutex<Vec<Trigger<K>>>,
    memory: Mutex<HashMap<AppId, FluxMemory<S, R>>>,
    dependents: Mutex<HashMap<AppId, BTreeSet<AppId>>>,
    by_source: Mutex<HashMap<AppId, BTreeSet<AppId>>>,
    engines: Mutex<HashMap<AppId, Engine>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Records `value` under `key` only (removing it from every other key).
fn link(map: &Mutex<HashMap<AppId, BTreeSet<AppId>>>, value: &AppId, keys: &[AppId]) {
    let mut map = lock(map);
    for (key, set) in map.iter_mut() {
        if !keys.contains(key) {
            set.remove(value);
        }
    }
    for key in keys {
        map.entry(key.clone()).or_default().insert(value.clone());
    }
    map.retain(|_, set| !set.is_empty());
}

impl<K: kube::Resource, S, R> Default for FluxState<K, S, R> {
    fn default() -> Self {
        FluxState {
            triggers: Mutex::default(),
            memory: Mutex::default(),
            dependents: Mutex::default(),
            by_source: Mutex::default(),
            engines: Mutex::default(),
        }
    }
}

impl<K: kube::Resource<DynamicType = ()>, S, R> FluxState<K, S, R> {
    /// Registers the trigger of the controller for `namespace` (`None`: all).
    pub fn add_trigger(&self, namespace: Option<String>, sender: UnboundedSender<ObjectRef<K>>) {
        lock(&self.triggers).push((namespace, sender));
    }

    /// Asks for the object `id` to be reconciled soon.
    pub fn trigger(&self, id: &AppId) {
        let (ns, name) = id;
        for (scope, sender) in lock(&self.triggers).iter() {
            if scope.as_deref().is_none_or(|s| s == ns) {
                let _ = sender.send(ObjectRef::new(name).within(ns));
            }
        }
    }

    /// Reads or changes what is remembered about `id`.
    pub fn memory<T>(&self, id: &AppId, f: impl FnOnce(&mut FluxMemory<S, R>) -> T) -> T {
        f(lock(&self.memory).entry(id.clone()).or_default())
    }

    /// Records that `id` depends on exactly `dependencies`.
    pub fn set_dependencies(&self, id: &AppId, dependencies: &[AppId]) {
        link(&self.dependents, id, dependencies);
    }

    /// The objects (of this kind) depending on `id`.
    pub fn dependents_of(&self, id: &AppId) -> Vec<AppId> {
        lock(&self.dependents)
            .get(id)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Records that `id` renders the source `source` (a GitRepository or a
    /// HelmRepository, by namespace and name).
    pub fn set_source(&self, id: &AppId, source: &AppId) {
        link(&self.by_source, id, std::slice::from_ref(source));
    }

    /// The objects rendering the source `source`.
    pub fn rendering(&self, source: &AppId) -> Vec<AppId> {
        lock(&self.by_source)
            .get(source)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The sync engine acting as the ServiceAccount `account`, made by
    /// `make` the first time.
    pub fn engine_for(
        &self,
        account: AppId,
        make: impl FnOnce() -> Result<Engine, String>,
    ) -> Result<Engine, String> {
        let mut engines = lock(&self.engines);
        if let Some(engine) = engines.get(&account) {
            return Ok(engine.clone());
        }
        let engine = make()?;
        engines.insert(account, engine.clone());
        Ok(engine)
    }

    /// Forgets `id` (deleted).
    pub fn forget(&self, id: &AppId) {
        lock(&self.memory).remove(id);
        link(&self.dependents, id, &[]);
        link(&self.by_source, id, &[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str) -> AppId {
        ("flux-system".into(), name.into())
    }

    type State = FluxState<
        driftless_api::flux::kustomize::v1::Kustomization,
        driftless_api::flux::kustomize::KustomizationStatus,
        (),
    >;

    #[test]
    fn dependents_follow_the_latest_dependencies() {
        let state = State::default();
        state.set_dependencies(&id("apps"), &[id("infra"), id("crds")]);
        state.set_dependencies(&id("web"), &[id("infra")]);
        assert_eq!(state.dependents_of(&id("infra")), [id("apps"), id("web")]);
        state.set_dependencies(&id("apps"), &[id("crds")]);
        assert_eq!(state.dependents_of(&id("infra")), [id("web")]);
        assert_eq!(state.dependents_of(&id("crds")), [id("apps")]);
        state.forget(&id("apps"));
        assert!(state.dependents_of(&id("crds")).is_empty());
    }

    #[test]
    fn sources_map_to_their_kustomizations() {
        let state = State::default();
        state.set_source(&id("apps"), &id("repo"));
        state.set_source(&id("infra"), &id("repo"));
        state.set_source(&id("apps"), &id("other"));
        assert_eq!(state.rendering(&id("repo")), [id("infra")]);
        assert_eq!(state.rendering(&id("other")), [id("apps")]);
    }
}
