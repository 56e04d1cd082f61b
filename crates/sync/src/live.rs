//! The live objects this engine last read or wrote, each kept with its
//! resource version, so a diff does not read again an object the
//! tracked-object index says is still at that version (a resource version
//! names exactly one state of an object). Objects are kept as compact JSON
//! text, parsed on use.
//!
//! Opt-in ([`crate::SyncEngine::with_live_cache`]): the index learns of a
//! change a few milliseconds after it is made, so a diff in that window
//! sees the object as it was. That is right for a controller whose every
//! tracked change requeues the owner (self-heal), as the notice comes once
//! the index has the change; a caller that compares right after its own
//! edit (a test, `driftless diff`) must read the server.

use std::collections::HashMap;
use std::sync::Mutex;

use driftless_render::ObjectKey;
use serde_json::Value;

/// More objects than this and the cache is emptied (all at once).
const CAPACITY: usize = 50_000;

/// Live objects by key, with their resource versions.
#[derive(Default)]
pub(crate) struct LiveObjects {
    objects: Mutex<HashMap<ObjectKey, (u64, Box<str>)>>,
}

/// `metadata.resourceVersion` of `obj` as a number (a real one: not 0).
pub(crate) fn version_of(obj: &Value) -> Option<u64> {
    obj.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .and_then(|v| v.parse().ok())
        .filter(|v| *v != 0)
}

impl LiveObjects {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectKey, (u64, Box<str>)>> {
        self.objects.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `obj` as the live state of `key` (unless it has no resource
    /// version, or an object of a later version is kept already).
    pub(crate) fn keep(&self, key: &ObjectKey, obj: &Value) {
        let Some(version) = version_of(obj) else {
            return;
        };
        let Ok(text) = serde_json::to_string(obj) else {
            return;
        };
        let mut map = self.map();
        if map.get(key).is_some_and(|(v, _)| *v > version) {
            return;
        }
        if map.len() >= CAPACITY && !map.contains_key(key) {
            map.clear();
        }
        map.insert(key.clone(), (version, text.into_boxed_str()));
    }

    /// The object kept for `key` if it is at exactly `version`.
    pub(crate) fn at(&self, key: &ObjectKey, version: u64) -> Option<Value> {
        let map = self.map();
        let (kept, text) = map.get(key)?;
        if *kept != version {
            return None;
        }
        serde_json::from_str(text).ok()
    }

    /// Forgets `key` (deleted, or no longer readable).
    pub(crate) fn forget(&self, key: &ObjectKey) {
        self.map().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> ObjectKey {
        ObjectKey {
            group: "".into(),
            kind: "ConfigMap".into(),
            namespace: "dev".into(),
            name: "c".into(),
        }
    }

    fn at_version(rv: &str, data: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "dev", "resourceVersion": rv},
            "data": {"k": data}})
    }

    #[test]
    fn an_object_is_served_only_at_its_own_version() {
        let live = LiveObjects::default();
        live.keep(&key(), &at_version("7", "a"));
        assert_eq!(live.at(&key(), 7), Some(at_version("7", "a")));
        assert_eq!(live.at(&key(), 8), None, "a later version is another state");
        // An older read never replaces a newer write.
        live.keep(&key(), &at_version("6", "old"));
        assert_eq!(live.at(&key(), 7), Some(at_version("7", "a")));
        live.keep(&key(), &at_version("9", "b"));
        assert_eq!(live.at(&key(), 9), Some(at_version("9", "b")));
        assert_eq!(live.at(&key(), 7), None);
        live.forget(&key());
        assert_eq!(live.at(&key(), 9), None);
    }

    #[test]
    fn objects_without_a_version_are_not_kept() {
        let live = LiveObjects::default();
        live.keep(&key(), &at_version("", "a"));
        live.keep(&key(), &at_version("x", "a"));
        assert!(live.map().is_empty());
    }
}
