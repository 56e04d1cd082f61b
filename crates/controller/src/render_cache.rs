//! A bounded cache of rendered output keyed by repository, commit, path and
//! source overrides, so an unchanged revision is not rendered again.
//! `argocd.argoproj.io/refresh: hard` bypasses it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use driftless_render::Rendered;

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

/// A bounded map from [`RenderKey`] to the rendered output; the least
/// recently used entry goes first when full.
pub struct RenderCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    tick: u64,
    entries: HashMap<RenderKey, (u64, Arc<Rendered>)>,
}

impl RenderCache {
    /// A cache holding at most `capacity` renders (at least one).
    pub fn new(capacity: usize) -> Self {
        RenderCache {
            capacity: capacity.max(1),
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
        inner.entries.get_mut(key).map(|(used, rendered)| {
            *used = tick;
            rendered.clone()
        })
    }

    /// Stores a render, evicting the least recently used entry when full.
    pub fn insert(&self, key: RenderKey, rendered: Arc<Rendered>) {
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        if !inner.entries.contains_key(&key) && inner.entries.len() >= self.capacity {
            let oldest = inner
                .entries
                .iter()
                .min_by_key(|(_, (used, _))| *used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                inner.entries.remove(&oldest);
            }
        }
        inner.entries.insert(key, (tick, rendered));
    }

    /// How many renders are cached.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_render::SourceType;

    fn key(commit: &str) -> RenderKey {
        RenderKey {
            repo: "https://git.example/app".into(),
            commit: commit.into(),
            path: "overlays/dev".into(),
            overrides: String::new(),
        }
    }

    fn rendered(file: &str) -> Arc<Rendered> {
        Arc::new(Rendered {
            objects: vec![],
            source_type: SourceType::Directory,
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
}
