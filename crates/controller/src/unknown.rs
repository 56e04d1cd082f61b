//! Fields a user set that driftless does not know (yet): found by comparing
//! the Application as stored with its typed form, and reported in an
//! UnsupportedFieldWarning condition instead of being silently dropped.

use serde_json::Value;

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.iter().all(is_empty),
        Value::Object(o) => o.values().all(is_empty),
        Value::Number(_) => false,
    }
}

/// The dotted paths (e.g. `spec.source.helm`) present in `raw` but not in
/// `typed`, ignoring empty values (which the typed form leaves out).
pub fn unknown_fields(raw: &Value, typed: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(raw, typed, "", &mut out);
    out
}

fn walk(raw: &Value, typed: &Value, path: &str, out: &mut Vec<String>) {
    match (raw, typed) {
        (Value::Object(r), Value::Object(t)) => {
            for (k, rv) in r {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match t.get(k) {
                    Some(tv) => walk(rv, tv, &p, out),
                    None if is_empty(rv) => {}
                    None => out.push(p),
                }
            }
        }
        (Value::Array(r), Value::Array(t)) => {
            for (i, rv) in r.iter().enumerate() {
                if let Some(tv) = t.get(i) {
                    walk(rv, tv, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_unknown_and_ignores_empty() {
        let raw = json!({"spec": {
            "source": {"repoURL": "x", "helm": {"valueFiles": ["v.yaml"]}, "plugin": {}},
            "syncPolicy": {"syncOptions": [], "managedNamespaceMetadata": {"labels": {"a": "b"}}},
            "sources": [{"repoURL": "y", "chart": "nginx"}]
        }});
        let typed = json!({"spec": {
            "source": {"repoURL": "x"},
            "syncPolicy": {},
            "sources": [{"repoURL": "y"}]
        }});
        assert_eq!(
            unknown_fields(&raw, &typed),
            [
                "spec.source.helm",
                "spec.syncPolicy.managedNamespaceMetadata",
                "spec.sources[0].chart"
            ]
        );
        assert!(unknown_fields(&typed, &typed).is_empty());
    }
}
