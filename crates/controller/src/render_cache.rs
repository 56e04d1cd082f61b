//! A bounded cache of rendered output keyed by repository, commit, path and
//! source overrides, so an unchanged revision is not rendered again.
//! `argocd.argoproj.io/refresh: hard` bypasses it.
//!
//! The objects are kept as one compact JSON document and parsed again on a
//! hit: a parsed object tree takes several times the memory of its text,
//! and parsing a few kilobytes costs microseconds against a render's
//! milliseconds. So the cache holds every app of a thousand-app monorepo
//! (a periodic refresh of them all is then no thousand renders) in a few
//! megabytes.
//!
//! It also knows, per repository, path and overrides, the commit last
//! rendered ([`RenderCache::latest`]): a render at a new commit that no
//! changed file concerns may take that one over ([`crate::engine::render`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use driftless_render::{Object, Rendered};

/// What identifies one render.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RenderKey {
    /// The repository URL.
    pub repo: String,
    /// The full commit SHA.
    pub commit: String,
    /// The rendered path.
    pub path: String,
    /// [`crate::overrides::fingerprint`] of the source overrides.
    pub overrides: String,
}

impl RenderKey {
    /// The key without its commit: what one render's inputs besides the
    /// files are.
    fn inputs(&self) -> (String, String, String) {
        (self.repo.clone(), self.path.clone(), self.overrides.clone())
    }
}

/// One render as kept: the objects as JSON text, the rest as it was.
struct Stored {
    used: u64,
    objects: Box<[u8]>,
    rest: Rendered,
}

impl Stored {
    fn of(rendered: &Rendered, used: u64) -> Option<Stored> {
        let objects = serde_json::to_vec(&rendered.objects)
            .ok()?
            .into_boxed_slice();
        let rest = Rendered {
            objects: Vec::new(),
            ..rendered.clone()
        };
        Some(Stored {
            used,
            objects,
            rest,
        })
    }

    fn rendered(&self) -> Option<Rendered> {
        let objects: Vec<Object> = serde_json::from_slice(&self.objects).ok()?;
        Some(Rendered {
            objects,
            ..self.rest.clone()
        })
    }
}

/// The most object text the cache keeps, whatever its entry count: a few
/// big charts do not get to hold a thousand small apps' worth of memory.
const MAX_BYTES: usize = 16 << 20;

/// A bounded map from [`RenderKey`] to the rendered output; the least
/// recently used entry goes first when full (by entries, or by
/// [`MAX_BYTES`]).
pub struct RenderCache {
    capacity: usize,
    max_bytes: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    tick: u64,
    entries: HashMap<RenderKey, Stored>,
    /// (repository, path, overrides) → the commit rendered last.
    latest: HashMap<(String, String, String), String>,
    bytes: usize,
}

impl RenderCache {
    /// A cache holding at most `capacity` renders (at least one).
    pub fn new(capacity: usize) -> Self {
        Self::with_max_bytes(capacity, MAX_BYTES)
    }

    fn with_max_bytes(capacity: usize, max_bytes: usize) -> Self {
        RenderCache {
            capacity: capacity.max(1),
            max_bytes,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The cached render for `key`, if any.
    pub fn get(&self, key: &RenderKey) -> Option<Arc<Rendered>> {
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        let stored = inner.entries.get_mut(key)?;
        stored.used = tick;
        stored.rendered().map(Arc::new)
    }

    /// The commit last rendered with `key`'s repository, path and
    /// overrides, when its render is still cached and it is not `key`'s.
    pub fn latest(&self, key: &RenderKey) -> Option<String> {
        let inner = self.lock();
        let commit = inner.latest.get(&key.inputs())?;
        let cached = RenderKey {
            commit: commit.clone(),
            ..key.clone()
        };
        (*commit != key.commit && inner.entries.contains_key(&cached)).then(|| commit.clone())
    }

    /// The files the render cached for `key` read (its objects are not
    /// parsed).
    pub fn files_read(&self, key: &RenderKey) -> Option<Vec<String>> {
        let inner = self.lock();
        Some(inner.entries.get(key)?.rest.files_read.clone())
    }

    /// Stores a render, evicting the least recently used entry when full.
    pub fn insert(&self, key: RenderKey, rendered: Arc<Rendered>) {
        let mut inner = self.lock();
        inner.tick += 1;
        let Some(stored) = Stored::of(&rendered, inner.tick) else {
            return;
        };
        self.store(&mut inner, key, stored);
    }

    /// Keeps the render cached at commit `from` of `key`'s inputs under
    /// `key` as well (its text copied, not parsed and written again), and
    /// returns it. The entry at `from` is not counted as used: superseded,
    /// it is the first to go when the cache is full, before the entry that
    /// the next commit's render takes over.
    pub fn carry(&self, key: RenderKey, from: &str) -> Option<Arc<Rendered>> {
        let from = RenderKey {
            commit: from.to_string(),
            ..key.clone()
        };
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        let earlier = inner.entries.get(&from)?;
        let rendered = earlier.rendered()?;
        let copy = Stored {
            used: tick,
            objects: earlier.objects.clone(),
            rest: earlier.rest.clone(),
        };
        self.store(&mut inner, key, copy);
        Some(Arc::new(rendered))
    }

    /// Puts `stored` under `key`, making room first (least recently used
    /// out); a render bigger than the whole budget is not kept.
    fn store(&self, inner: &mut Inner, key: RenderKey, stored: Stored) {
        if stored.objects.len() > self.max_bytes {
            return;
        }
        inner.remove(&key);
        while inner.entries.len() >= self.capacity
            || inner.bytes + stored.objects.len() > self.max_bytes
        {
            let oldest = inner
                .entries
                .iter()
                .min_by_key(|(_, s)| s.used)
                .map(|(k, _)| k.clone());
            let Some(oldest) = oldest else { break };
            inner.remove(&oldest);
        }
        inner.bytes += stored.objects.len();
        inner.latest.insert(key.inputs(), key.commit.clone());
        inner.entries.insert(key, stored);
    }

    /// How many renders are cached.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The size of the cached objects' JSON text, in bytes.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

impl Inner {
    fn remove(&mut self, key: &RenderKey) {
        if let Some(stored) = self.entries.remove(key) {
            self.bytes -= stored.objects.len();
            let inputs = key.inputs();
            if self.latest.get(&inputs) == Some(&key.commit) {
                self.latest.remove(&inputs);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_render::SourceType;
    use serde_json::json;

    fn key(commit: &str) -> RenderKey {
        RenderKey {
            repo: "https://git.example/app".into(),
            commit: commit.into(),
            path: "overlays/dev".into(),
            overrides: String::new(),
        }
    }

    fn rendered(file: &str) -> Arc<Rendered> {
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": file}, "data": {"z": "1", "a": "2"}});
        Arc::new(Rendered {
            objects: vec![Object::from_value(object).unwrap()],
            source_type: SourceType::Kustomize,
            files_read: vec![file.into()],
            warnings: vec![],
        })
    }

    #[test]
    fn hit_miss_and_lru_eviction() {
        let cache = RenderCache::new(2);
        cache.insert(key("a"), rendered("a"));
        cache.insert(key("b"), rendered("b"));
        assert!(cache.get(&key("a")).is_some()); // a is now the most recent
        cache.insert(key("c"), rendered("c"));
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&key("b")).is_none(), "b was least recently used");
        assert_eq!(cache.get(&key("a")).unwrap().files_read, ["a"]);
        assert!(cache.get(&key("c")).is_some());
        let mut other = key("a");
        other.overrides = "x".into();
        assert!(cache.get(&other).is_none(), "overrides are part of the key");
    }

    #[test]
    fn a_hit_gives_back_what_was_stored_in_its_order() {
        let cache = RenderCache::new(4);
        let stored = rendered("a");
        cache.insert(key("a"), stored.clone());
        let hit = cache.get(&key("a")).unwrap();
        assert_eq!(hit.objects, stored.objects);
        assert_eq!(hit.source_type, SourceType::Kustomize);
        let fields: Vec<&String> = hit.objects[0].0["data"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(fields, ["z", "a"], "field order is kept");
        let bytes = cache.bytes();
        assert!(bytes > 50, "{bytes}");
        cache.insert(key("a"), stored);
        assert_eq!(cache.bytes(), bytes, "a replaced entry is counted once");
    }

    #[test]
    fn the_text_kept_stays_within_its_budget() {
        let one = Stored::of(&rendered("a"), 0).unwrap().objects.len();
        let cache = RenderCache::with_max_bytes(100, 2 * one + one / 2);
        for commit in ["a", "b", "c"] {
            cache.insert(key(commit), rendered("a"));
        }
        assert_eq!(cache.len(), 2, "the oldest went to make room");
        assert!(cache.get(&key("a")).is_none());
        assert_eq!(cache.bytes(), 2 * one);
        let tiny = RenderCache::with_max_bytes(100, one - 1);
        tiny.insert(key("a"), rendered("a"));
        assert!(
            tiny.is_empty(),
            "a render bigger than the budget is not kept"
        );
    }

    #[test]
    fn a_carried_render_is_kept_under_the_new_commit_too() {
        let cache = RenderCache::new(4);
        cache.insert(key("a"), rendered("a"));
        assert_eq!(cache.files_read(&key("a")).unwrap(), ["a"]);
        assert!(cache.files_read(&key("b")).is_none());
        let carried = cache.carry(key("b"), "a").unwrap();
        assert_eq!(carried.objects, rendered("a").objects);
        assert_eq!(cache.get(&key("b")).unwrap().objects, carried.objects);
        assert_eq!(cache.latest(&key("c")).as_deref(), Some("b"));
        assert!(cache.carry(key("c"), "x").is_none(), "nothing cached at x");
    }

    #[test]
    fn a_full_cache_drops_superseded_renders_before_latest_ones() {
        // Eight apps rendered at "a", each taken over at "b": sixteen entries.
        let app_key = |app: usize, commit: &str| RenderKey {
            path: format!("apps/app-{app}"),
            ..key(commit)
        };
        let cache = RenderCache::new(16);
        for app in 0..8 {
            cache.insert(app_key(app, "a"), rendered("a"));
        }
        for app in 0..8 {
            cache.carry(app_key(app, "b"), "a").expect("cached at a");
        }
        // Eight other renders make room: the eight renders at "a" go.
        for other in 0..8 {
            cache.insert(app_key(100 + other, "a"), rendered("x"));
        }
        for app in 0..8 {
            assert_eq!(
                cache.latest(&app_key(app, "c")).as_deref(),
                Some("b"),
                "app {app}: its latest render is still there to take over"
            );
        }
    }

    #[test]
    fn the_latest_commit_of_the_same_inputs_is_known_while_cached() {
        let cache = RenderCache::new(2);
        assert_eq!(cache.latest(&key("b")), None);
        cache.insert(key("a"), rendered("a"));
        assert_eq!(cache.latest(&key("b")).as_deref(), Some("a"));
        assert_eq!(cache.latest(&key("a")), None, "not its own commit");
        let mut other = key("b");
        other.path = "overlays/prod".into();
        assert_eq!(cache.latest(&other), None, "another path");
        cache.insert(other.clone(), rendered("p"));
        cache.insert(key("c"), rendered("c"));
        // "a" was evicted, then "c" rendered: the latest is "c".
        assert_eq!(cache.latest(&key("d")).as_deref(), Some("c"));
        // Evicted by two renders of another path: nothing to take over.
        let mut third = other.clone();
        third.commit = "r".into();
        cache.insert(other, rendered("q"));
        cache.insert(third, rendered("r"));
        assert_eq!(cache.latest(&key("d")), None);
    }
}
