//! JSON merge patches (RFC 7386) that turn one document into another,
//! removing what disappeared (so a status write replaces, not merges).

use serde_json::{Map, Value};

/// The merge patch that turns `old` into `new`; `None` when they are equal.
pub fn merge_diff(old: &Value, new: &Value) -> Option<Value> {
    if old == new {
        return None;
    }
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch = Map::new();
            for (k, old_v) in o {
                match n.get(k) {
                    None => {
                        patch.insert(k.clone(), Value::Null);
                    }
                    Some(new_v) => {
                        if let Some(p) = merge_diff(old_v, new_v) {
                            patch.insert(k.clone(), p);
                        }
                    }
                }
            }
            for (k, new_v) in n {
                if !o.contains_key(k) {
                    patch.insert(k.clone(), strip_nulls(new_v));
                }
            }
            Some(Value::Object(patch))
        }
        _ => Some(strip_nulls(new)),
    }
}

/// Nulls inside an added object would read as deletions; drop them.
fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Applies a merge patch (used by tests and to predict the result).
pub fn apply(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        apply(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_round_trips_and_removes() {
        let old = json!({"health": {"status": "Progressing", "message": "1 of 2"}, "conditions": [{"type": "X"}], "sync": {"status": "Synced"}});
        let new = json!({"health": {"status": "Healthy"}, "sync": {"status": "Synced"}, "history": [{"id": 0}]});
        let patch = merge_diff(&old, &new).unwrap();
        assert_eq!(
            patch,
            json!({"health": {"status": "Healthy", "message": null}, "conditions": null, "history": [{"id": 0}]})
        );
        let mut applied = old.clone();
        apply(&mut applied, &patch);
        assert_eq!(applied, new);
        assert_eq!(merge_diff(&new, &new), None);
    }

    #[test]
    fn from_nothing() {
        let new = json!({"a": {"b": 1}});
        let patch = merge_diff(&Value::Null, &new).unwrap();
        let mut t = Value::Null;
        apply(&mut t, &patch);
        assert_eq!(t, new);
    }
}
