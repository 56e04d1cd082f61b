//! What a Flux kind's controller (Kustomization, HelmRelease) shares
//! between reconciles (held by the [`crate::Context`]): the triggers of its
//! kube-runtime controllers, which objects depend on which (a dependency's
//! status change requeues its dependents at once), which objects use which
//! source (a new artifact requeues them), and a little memory per object.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
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
    /// What the last render that was applied read (see
    /// `kustomization::unchanged`).
    pub rendered: Option<RenderedInputs>,
    /// The source artifact (revision, ignore rules) it was last triggered
    /// for: a new artifact's hand-off and its watch event trigger it once.
    /// Cleared when a reconcile could not read the artifact.
    pub claimed: Option<(String, Option<String>)>,
    /// Its last compare found no object whose health it judges (no `wait`,
    /// no health checks): a status update of its objects is nothing to it.
    pub no_health_checks: bool,
}

/// What one applied render depended on: the commit, everything else that
/// shaped it, and the directories it read files from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedInputs {
    /// The commit rendered (full SHA).
    pub sha: String,
    /// The spec generation, render options, URL and ignore rules, as one key.
    pub key: String,
    /// The directories a changed file in which may change the render.
    pub dirs: Arc<[String]>,
    /// The source's ignore rules it was rendered with (a change re-renders
    /// at the same revision).
    pub ignore: Option<String>,
}

impl<S, R> Default for FluxMemory<S, R> {
    fn default() -> Self {
        FluxMemory {
            applied: None,
            api_failures: 0,
            written: None,
            raw: None,
            rendered: None,
            claimed: None,
            no_health_checks: false,
        }
    }
}

type Trigger<K> = (Option<String>, UnboundedSender<ObjectRef<K>>);

/// Objects held back until others finished a reconcile.
struct Wave {
    /// Which wave (to release it once).
    number: u64,
    /// The objects still to finish.
    first: BTreeSet<AppId>,
    /// The objects triggered once they did.
    then: Vec<AppId>,
}

/// A Flux kind's shared state: `K` the kind, `S` its status, `R` what its
/// stored spec said.
pub struct FluxState<K: kube::Resource, S, R> {
    triggers: Mutex<Vec<Trigger<K>>>,
    /// Boxed, as the Applications' memories (see `Context`).
    memory: Mutex<HashMap<AppId, Box<FluxMemory<S, R>>>>,
    dependents: Mutex<HashMap<AppId, BTreeSet<AppId>>>,
    by_source: Mutex<HashMap<AppId, BTreeSet<AppId>>>,
    engines: Mutex<HashMap<AppId, Engine>>,
    waves: Mutex<(u64, Vec<Wave>)>,
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
            waves: Mutex::default(),
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

    /// Holds `then` back until every object of `first` finished a
    /// reconcile (see [`FluxState::finished`]); returns the wave's number
    /// for [`FluxState::release`]. With `first` empty, `then` is triggered now.
    pub fn hold(&self, first: &[AppId], then: Vec<AppId>) -> u64 {
        let mut waves = lock(&self.waves);
        waves.0 += 1;
        let number = waves.0;
        if first.is_empty() {
            drop(waves);
            then.iter().for_each(|id| self.trigger(id));
        } else {
            let first = first.iter().cloned().collect();
            waves.1.push(Wave {
                number,
                first,
                then,
            });
        }
        number
    }

    /// `id` finished a reconcile: the waves that waited for it alone are
    /// triggered.
    pub fn finished(&self, id: &AppId) {
        let done: Vec<Wave> = {
            let mut waves = lock(&self.waves);
            for wave in waves.1.iter_mut() {
                wave.first.remove(id);
            }
            let (done, waiting) = std::mem::take(&mut waves.1)
                .into_iter()
                .partition(|w| w.first.is_empty());
            waves.1 = waiting;
            done
        };
        done.iter()
            .flat_map(|w| &w.then)
            .for_each(|id| self.trigger(id));
    }

    /// Triggers the wave `number` now if it still waits (its first objects
    /// took too long, or were never reconciled).
    pub fn release(&self, number: u64) {
        let wave = {
            let mut waves = lock(&self.waves);
            let at = waves.1.iter().position(|w| w.number == number);
            at.map(|i| waves.1.remove(i))
        };
        wave.iter()
            .flat_map(|w| &w.then)
            .for_each(|id| self.trigger(id));
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
    fn a_held_wave_is_triggered_once_its_first_objects_finished() {
        let state = State::default();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        state.add_trigger(None, tx);
        let mut triggered = || {
            let mut names = Vec::new();
            while let Ok(r) = rx.try_recv() {
                names.push(r.name);
            }
            names
        };
        state.hold(&[id("a"), id("b")], vec![id("c"), id("d")]);
        state.finished(&id("a"));
        state.finished(&id("x"));
        assert!(triggered().is_empty(), "b has not finished");
        state.finished(&id("b"));
        assert_eq!(triggered(), ["c", "d"]);
        state.finished(&id("b"));
        assert!(triggered().is_empty(), "once");
        let wave = state.hold(&[id("a")], vec![id("e")]);
        state.release(wave);
        assert_eq!(triggered(), ["e"]);
        state.finished(&id("a"));
        assert!(triggered().is_empty(), "released already");
        state.hold(&[], vec![id("f")]);
        assert_eq!(triggered(), ["f"], "nothing to wait for");
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
