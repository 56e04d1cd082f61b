//! Remembered "in sync" verdicts, so a diff of an unchanged object against
//! an unchanged live object needs no server-side dry-run.
//!
//! A verdict is recorded only when a dry-run showed the desired object equal
//! to the live one, and it is keyed by everything that decided it: the
//! object's identity, the live object's uid and resource version, the
//! desired object as applied, and the ignoreDifferences rules that matched.
//! Any change to one of them (a write to the live object bumps its resource
//! version) misses, and the object is dry-run again. Only a fingerprint is
//! kept per object, never the objects.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

use driftless_api::ResourceIgnoreDifferences;
use driftless_render::{Object, ObjectKey};
use serde_json::Value;

/// More objects than this and the verdicts are forgotten (all at once).
const CAPACITY: usize = 100_000;

/// Fingerprints of the comparisons that found an object in sync.
#[derive(Default)]
pub(crate) struct Verdicts {
    synced: Mutex<HashMap<ObjectKey, u64>>,
}

/// The fingerprint of one comparison's inputs; `None` when the live object
/// has no resource version (then nothing is remembered).
pub(crate) fn fingerprint(
    desired: &Object,
    live: &Value,
    rules: &[&ResourceIgnoreDifferences],
) -> Option<u64> {
    let meta = |p: &str| live.pointer(p).and_then(Value::as_str);
    let version = meta("/metadata/resourceVersion").filter(|v| !v.is_empty())?;
    let mut h = DefaultHasher::new();
    version.hash(&mut h);
    meta("/metadata/uid").hash(&mut h);
    serde_json::to_string(&desired.0)
        .unwrap_or_default()
        .hash(&mut h);
    format!("{rules:?}").hash(&mut h);
    Some(h.finish())
}

impl Verdicts {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectKey, u64>> {
        self.synced.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a comparison with this fingerprint found `key` in sync.
    pub(crate) fn is_synced(&self, key: &ObjectKey, fingerprint: u64) -> bool {
        self.map().get(key) == Some(&fingerprint)
    }

    /// Records the verdict of a dry-run comparison of `key`.
    pub(crate) fn record(&self, key: &ObjectKey, fingerprint: Option<u64>, synced: bool) {
        let mut map = self.map();
        match fingerprint {
            Some(f) if synced => {
                if map.len() >= CAPACITY && !map.contains_key(key) {
                    map.clear();
                }
                map.insert(key.clone(), f);
            }
            _ => {
                map.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn desired() -> Object {
        Object::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "ns"}, "data": {"a": "1"}}))
        .expect("an object")
    }

    fn live(rv: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "ns", "uid": "u1", "resourceVersion": rv}})
    }

    #[test]
    fn any_input_change_misses() {
        let key = desired().key();
        let verdicts = Verdicts::default();
        let f = fingerprint(&desired(), &live("5"), &[]);
        verdicts.record(&key, f, true);
        assert!(verdicts.is_synced(&key, f.expect("a fingerprint")));

        let newer = fingerprint(&desired(), &live("6"), &[]).expect("a fingerprint");
        assert!(!verdicts.is_synced(&key, newer));
        let mut changed = desired();
        changed.0.insert("data".into(), json!({"a": "2"}));
        let edited = fingerprint(&changed, &live("5"), &[]).expect("a fingerprint");
        assert!(!verdicts.is_synced(&key, edited));
        let rule = ResourceIgnoreDifferences {
            kind: "ConfigMap".into(),
            json_pointers: vec!["/data".into()],
            ..Default::default()
        };
        let ruled = fingerprint(&desired(), &live("5"), &[&rule]).expect("a fingerprint");
        assert!(!verdicts.is_synced(&key, ruled));
    }

    #[test]
    fn an_out_of_sync_verdict_forgets() {
        let key = desired().key();
        let verdicts = Verdicts::default();
        let f = fingerprint(&desired(), &live("5"), &[]);
        verdicts.record(&key, f, true);
        verdicts.record(&key, f, false);
        assert!(!verdicts.is_synced(&key, f.expect("a fingerprint")));
        assert_eq!(fingerprint(&desired(), &json!({"metadata": {}}), &[]), None);
    }
}
