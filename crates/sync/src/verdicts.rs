//! Remembered "in sync" verdicts, so a diff of an unchanged object against
//! an unchanged live object needs no server-side dry-run.
//!
//! A verdict is recorded only when a dry-run showed the desired object equal
//! to the live one (or the live object is what the server answered to an
//! apply of the desired one), and it is keyed by everything that decided
//! it: the object's identity, the live object apart from what a comparison
//! never looks at (its status, resource version, and the field managers of
//! its status subresource, and the annotations and labels only those
//! managers own), the desired object as applied, and the ignoreDifferences
//! rules that matched. Any change to one of them misses, and the object is
//! dry-run again; a status update (a Deployment rolling out, with the
//! revision annotation kube-controller-manager sets through the status
//! subresource) does not. Only a fingerprint is kept per object, never the
//! objects.

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
/// has no resource version (then nothing is remembered). The objects are
/// hashed as they are, without a copy or a serialisation.
pub(crate) fn fingerprint(
    desired: &Object,
    live: &Value,
    rules: &[&ResourceIgnoreDifferences],
) -> Option<u64> {
    live.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())?;
    let mut h = DefaultHasher::new();
    hash_compared_part(live, &mut h);
    hash_map(&desired.0, &mut h);
    format!("{rules:?}").hash(&mut h);
    Some(h.finish())
}

/// Hashes `live` without what no comparison looks at and a status update
/// changes: the status, the resource version, the status subresource's
/// entries of the field managers, and the annotations and labels only they
/// own. A change of such a key by anyone else makes that writer an owner
/// too, so the key counts again.
fn hash_compared_part(live: &Value, h: &mut DefaultHasher) {
    let Some(map) = live.as_object() else {
        return hash_value(live, h);
    };
    let managers = live
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let is_status = |m: &Value| m.get("subresource").and_then(Value::as_str) == Some("status");
    let (status, others): (Vec<&Value>, Vec<&Value>) = managers.iter().partition(|m| is_status(m));
    let only_status = |field: &str| -> Vec<&str> {
        let by_others = owned_keys(&others, field);
        owned_keys(&status, field)
            .into_iter()
            .filter(|k| !by_others.contains(k))
            .collect()
    };
    let (annotations, labels) = (only_status("annotations"), only_status("labels"));
    for (key, value) in map {
        match (key.as_str(), value) {
            ("status", _) => continue,
            ("metadata", Value::Object(meta)) => {
                (key, 5u8).hash(h);
                for (field, v) in meta {
                    let skipped: &[&str] = match field.as_str() {
                        "resourceVersion" => continue,
                        "managedFields" => {
                            field.hash(h);
                            others.iter().for_each(|m| hash_value(m, h));
                            continue;
                        }
                        "annotations" => &annotations,
                        "labels" => &labels,
                        _ => &[],
                    };
                    field.hash(h);
                    match v {
                        Value::Object(values) => hash_map_without(values, skipped, h),
                        other => hash_value(other, h),
                    }
                }
                6u8.hash(h);
            }
            _ => {
                key.hash(h);
                hash_value(value, h);
            }
        }
    }
}

/// The keys of `metadata.<field>` (annotations or labels) that the
/// managedFields entries `managers` own.
fn owned_keys<'a>(managers: &[&'a Value], field: &str) -> Vec<&'a str> {
    let pointer = format!("/fieldsV1/f:metadata/f:{field}");
    managers
        .iter()
        .filter_map(|m| m.pointer(&pointer).and_then(Value::as_object))
        .flat_map(|keys| keys.keys())
        .filter_map(|k| k.strip_prefix("f:"))
        .collect()
}

/// Hashes a JSON value: its type, then its content (maps in their order).
fn hash_value(v: &Value, h: &mut DefaultHasher) {
    match v {
        Value::Null => 0u8.hash(h),
        Value::Bool(b) => (1u8, b).hash(h),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => (2u8, i).hash(h),
            (None, Some(u), _) => (7u8, u).hash(h),
            (None, None, f) => (8u8, f.map(f64::to_bits)).hash(h),
        },
        Value::String(s) => (3u8, s).hash(h),
        Value::Array(items) => {
            (4u8, items.len()).hash(h);
            items.iter().for_each(|i| hash_value(i, h));
        }
        Value::Object(map) => hash_map(map, h),
    }
}

fn hash_map(map: &serde_json::Map<String, Value>, h: &mut DefaultHasher) {
    hash_map_without(map, &[], h);
}

/// Hashes `map` without the keys in `skipped`.
/// One hash of `objects`, in their order: equal for equal objects (as
/// values: a map's key order counts), so a caller can tell a render it
/// compared before from a new one without keeping it.
pub fn objects_fingerprint(objects: &[driftless_render::Object]) -> u64 {
    let mut h = DefaultHasher::new();
    objects.len().hash(&mut h);
    for object in objects {
        hash_map_without(&object.0, &[], &mut h);
    }
    h.finish()
}

fn hash_map_without(map: &serde_json::Map<String, Value>, skipped: &[&str], h: &mut DefaultHasher) {
    5u8.hash(h);
    for (key, value) in map {
        if !skipped.contains(&key.as_str()) {
            key.hash(h);
            hash_value(value, h);
        }
    }
    6u8.hash(h);
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

        let mut relabelled = live("6");
        relabelled["metadata"]["labels"] = json!({"team": "b"});
        let newer = fingerprint(&desired(), &relabelled, &[]).expect("a fingerprint");
        assert!(!verdicts.is_synced(&key, newer));
        let mut other = live("5");
        other["metadata"]["uid"] = json!("u2");
        let recreated = fingerprint(&desired(), &other, &[]).expect("a fingerprint");
        assert!(!verdicts.is_synced(&key, recreated));
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
    fn a_status_update_keeps_the_verdict() {
        let key = desired().key();
        let verdicts = Verdicts::default();
        let mut before = live("5");
        before["metadata"]["managedFields"] = json!([
            {"manager": "driftless", "operation": "Apply", "time": "t1"},
            {"manager": "kcm", "operation": "Update", "subresource": "status", "time": "t1"}]);
        before["status"] = json!({"replicas": 0});
        verdicts.record(&key, fingerprint(&desired(), &before, &[]), true);
        let mut after = before.clone();
        after["metadata"]["resourceVersion"] = json!("6");
        after["metadata"]["managedFields"][1]["time"] = json!("t2");
        after["status"] = json!({"replicas": 0, "observedGeneration": 1});
        let f = fingerprint(&desired(), &after, &[]).expect("a fingerprint");
        assert!(verdicts.is_synced(&key, f));
        // Another writer of the object itself is a change.
        after["metadata"]["managedFields"][0]["time"] = json!("t2");
        let f = fingerprint(&desired(), &after, &[]).expect("a fingerprint");
        assert!(!verdicts.is_synced(&key, f));
    }

    /// The object as applied, and then (with `revision`) after
    /// kube-controller-manager's status write of a new Deployment: it also
    /// sets the revision annotation, through the status subresource
    /// (`also_main`: another writer of the object itself owns it too).
    fn with_revision(rv: &str, revision: Option<&str>, also_main: bool) -> Value {
        let owns = json!({"f:metadata": {"f:annotations": {".": {}, "f:rev": {}}}});
        let mut managers = vec![json!({"manager": "driftless", "operation": "Apply",
            "time": "t1", "fieldsV1": {"f:data": {"f:a": {}}}})];
        let mut obj = live(rv);
        obj["metadata"]["annotations"] = json!({"team": "a"});
        if let Some(revision) = revision {
            managers.push(json!({"manager": "kcm", "operation": "Update",
                "subresource": "status", "time": "t1", "fieldsV1": owns.clone()}));
            obj["metadata"]["annotations"]["rev"] = json!(revision);
        }
        if also_main {
            managers.push(json!({"manager": "kubectl-edit", "operation": "Update",
                "time": "t1", "fieldsV1": owns}));
        }
        obj["metadata"]["managedFields"] = Value::Array(managers);
        obj
    }

    #[test]
    fn metadata_only_the_status_subresource_writes_keeps_the_verdict() {
        let key = desired().key();
        let verdicts = Verdicts::default();
        let first = with_revision("5", None, false);
        verdicts.record(&key, fingerprint(&desired(), &first, &[]), true);
        let revised = fingerprint(&desired(), &with_revision("6", Some("1"), false), &[]);
        assert!(verdicts.is_synced(&key, revised.expect("a fingerprint")));
        // Owned by a writer of the object itself too: a change of its value counts.
        let edited = with_revision("6", Some("1"), true);
        verdicts.record(&key, fingerprint(&desired(), &edited, &[]), true);
        let re_edited = fingerprint(&desired(), &with_revision("7", Some("2"), true), &[]);
        assert!(!verdicts.is_synced(&key, re_edited.expect("a fingerprint")));
        // Any other annotation counts as before.
        let mut relabelled = with_revision("8", Some("1"), false);
        relabelled["metadata"]["annotations"]["team"] = json!("b");
        let f = fingerprint(&desired(), &relabelled, &[]).expect("a fingerprint");
        assert!(!verdicts.is_synced(&key, f));
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
