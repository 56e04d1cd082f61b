//! A readable unified diff of two normalized objects, with Secret values
//! redacted.

use serde_json::Value;
use similar::TextDiff;

const REDACTED: &str = "++++++++";
const REDACTED_OLD: &str = "++++++++ (old)";
const REDACTED_NEW: &str = "++++++++ (new)";

/// Replaces the values of a Secret's `data` and `stringData` in `live` and
/// `desired`, so that a diff shows which keys changed but never a value.
/// Values equal on both sides look the same; changed ones are marked.
pub fn redact_secrets(live: Option<&mut Value>, desired: Option<&mut Value>) {
    let is_secret = |v: &Option<&mut Value>| {
        v.as_ref().is_some_and(|v| {
            v.get("kind").and_then(Value::as_str) == Some("Secret")
                && v.get("apiVersion").and_then(Value::as_str) == Some("v1")
        })
    };
    if !is_secret(&live) && !is_secret(&desired) {
        return;
    }
    let (mut live, mut desired) = (live, desired);
    for field in ["data", "stringData"] {
        let old = live.as_ref().and_then(|v| v.get(field)).cloned();
        let new = desired.as_ref().and_then(|v| v.get(field)).cloned();
        if let Some(Value::Object(map)) = live.as_deref_mut().and_then(|v| v.get_mut(field)) {
            for (k, v) in map.iter_mut() {
                let same = new.as_ref().and_then(|n| n.get(k)) == Some(v);
                *v = Value::String(if same { REDACTED } else { REDACTED_OLD }.into());
            }
        }
        if let Some(Value::Object(map)) = desired.as_deref_mut().and_then(|v| v.get_mut(field)) {
            for (k, v) in map.iter_mut() {
                let same = old.as_ref().and_then(|o| o.get(k)) == Some(v);
                *v = Value::String(if same { REDACTED } else { REDACTED_NEW }.into());
            }
        }
    }
}

/// YAML text of a document for display (empty for `None`).
pub fn to_yaml(doc: Option<&Value>) -> String {
    match doc {
        None => String::new(),
        Some(v) => serde_saphyr::to_string(v).unwrap_or_else(|e| format!("# not printable: {e}\n")),
    }
}

/// A unified diff from `live` to `desired` with three lines of context,
/// labelled `live/<title>` and `desired/<title>`; empty when they are equal.
pub fn unified(title: &str, live: Option<&Value>, desired: Option<&Value>) -> String {
    let (old, new) = (to_yaml(live), to_yaml(desired));
    if old == new {
        return String::new();
    }
    TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("live/{title}"), &format!("desired/{title}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_shows_changed_lines() {
        let live = json!({"spec": {"replicas": 1, "paused": false}});
        let desired = json!({"spec": {"replicas": 3, "paused": false}});
        let diff = unified("Deployment ns/web", Some(&live), Some(&desired));
        assert!(diff.contains("--- live/Deployment ns/web"), "{diff}");
        assert!(diff.contains("-  replicas: 1"), "{diff}");
        assert!(diff.contains("+  replicas: 3"), "{diff}");
        assert_eq!(unified("x", Some(&live), Some(&live)), "");
        assert!(unified("x", None, Some(&desired)).contains("+spec:"));
    }

    #[test]
    fn secrets_are_redacted() {
        let mut live = json!({"apiVersion": "v1", "kind": "Secret",
            "data": {"same": "c2VjcmV0", "changed": "b2xk", "gone": "eA=="}});
        let mut desired = json!({"apiVersion": "v1", "kind": "Secret",
            "data": {"same": "c2VjcmV0", "changed": "bmV3"}, "stringData": {"plain": "hunter2"}});
        redact_secrets(Some(&mut live), Some(&mut desired));
        let diff = unified("Secret ns/s", Some(&live), Some(&desired));
        for secret in ["c2VjcmV0", "b2xk", "bmV3", "hunter2", "eA=="] {
            assert!(!diff.contains(secret), "{secret} leaked: {diff}");
        }
        assert!(diff.contains("changed: ++++++++ (new)"), "{diff}");
        assert_eq!(live["data"]["same"], desired["data"]["same"]);
    }
}
