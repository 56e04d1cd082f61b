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
/// has no resource version (then nothing is remembered).
pub(crate) fn fingerprint(
    desired: &Object,
    live: &Value,
    rules: &[&ResourceIgnoreDifferences],
) -> Option<u64> {
    live.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())?;
    let mut h = DefaultHasher::new();
    serde_json::to_string(&compared_part(live))
        .unwrap_or_default()
        .hash(&mut h);
    serde_json::to_string(&desired.0)
        .unwrap_or_default()
        .hash(&mut h);
    format!("{rules:?}").hash(&mut h);
    Some(h.finish())
}

/// `live` without what no comparison looks at and a status update changes:
/// the status, the resource version, the status subresource's entries of
/// the field managers, and the annotations and labels only they own. A
/// change of such a key by anyone else makes that writer an owner too, so
/// the key counts again.
fn compared_part(live: &Value) -> Value {
    let mut part = live.clone();
    let Some(map) = part.as_object_mut() else {
        return part;
    };
    map.shift_remove("status");
    let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) else {
        return part;
    };
    meta.shift_remove("resourceVersion");
    let Some(Value::Array(managers)) = meta.get_mut("managedFields") else {
        return part;
    };
    let (status, others): (Vec<Value>, Vec<Value>) = std::mem::take(managers)
        .into_iter()
        .partition(|m| m.get("subresource").and_then(Value::as_str) == Some("status"));
    let only_status: Vec<(&str, Vec<String>)> = ["annotations", "labels"]
        .into_iter()
        .map(|field| {
            let by_others = owned_keys(&others, field);
            let keys = owned_keys(&status, field)
                .into_iter()
                .filter(|k| !by_others.contains(k))
                .collect();
            (field, keys)
        })
        .collect();
    *managers = others;
    for (field, keys) in only_status {
        if let Some(Value::Object(values)) = meta.get_mut(field) {
            for key in keys {
                values.shift_remove(&key);
            }
        }
    }
    part
}

/// The keys of `metadata.<field>` (annotations or labels) that the
/// managedFields entries `managers` own.
fn owned_keys(managers: &[Value], field: &str) -> Vec<String> {
    let pointer = format!("/fieldsV1/f:metadata/f:{field}");
    managers
        .iter()
        .filter_map(|m| m.pointer(&pointer).and_then(Value::as_object))
        .flat_map(|keys| keys.keys())
        .filter_map(|k| k.strip_prefix("f:"))
        .map(str::to_string)
        .collect()
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
