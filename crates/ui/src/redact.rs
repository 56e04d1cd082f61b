//! Secret values never leave the server: a Secret's `data` and
//! `stringData` values (and the last-applied annotation, which repeats
//! them) are replaced before an object is answered.

use serde_json::Value;

/// What a redacted value reads as.
pub(crate) const REDACTED: &str = "<redacted>";

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Whether `object` is a core `v1` Secret.
fn is_secret(object: &Value) -> bool {
    object.get("kind").and_then(Value::as_str) == Some("Secret")
        && object.get("apiVersion").and_then(Value::as_str) == Some("v1")
}

/// Replaces every Secret value in `object` (a Secret, or a `List` of
/// objects); keys stay, so a reader sees which keys exist.
pub(crate) fn redact(object: &mut Value) {
    if let Some(items) = object.get_mut("items").and_then(Value::as_array_mut) {
        items.iter_mut().for_each(redact);
    }
    if !is_secret(object) {
        return;
    }
    for field in ["data", "stringData"] {
        if let Some(map) = object.get_mut(field).and_then(Value::as_object_mut) {
            for value in map.values_mut() {
                *value = Value::String(REDACTED.into());
            }
        }
    }
    if let Some(annotation) = object
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
        .and_then(|a| a.get_mut(LAST_APPLIED))
    {
        *annotation = Value::String(REDACTED.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_values_are_replaced_keys_kept() {
        let mut secret = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "db", "annotations": {
                LAST_APPLIED: "{\"data\":{\"password\":\"aHVudGVyMg==\"}}",
                "team": "a"
            }},
            "data": {"password": "aHVudGVyMg==", "user": "YWRtaW4="},
            "stringData": {"token": "plain"}
        });
        redact(&mut secret);
        let text = secret.to_string();
        assert!(!text.contains("aHVudGVyMg=="), "{text}");
        assert!(!text.contains("YWRtaW4="), "{text}");
        assert!(!text.contains("plain"), "{text}");
        assert_eq!(secret["data"]["password"], REDACTED);
        assert_eq!(secret["data"]["user"], REDACTED);
        assert_eq!(secret["stringData"]["token"], REDACTED);
        assert_eq!(secret["metadata"]["annotations"]["team"], "a");
    }

    #[test]
    fn other_objects_are_untouched() {
        let original = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings"},
            "data": {"password": "not a secret here"}
        });
        let mut object = original.clone();
        redact(&mut object);
        assert_eq!(object, original);
        // A custom kind that happens to be called Secret is not core's.
        let mut custom =
            json!({"apiVersion": "example.com/v1", "kind": "Secret", "data": {"a": "b"}});
        redact(&mut custom);
        assert_eq!(custom["data"]["a"], "b");
    }

    #[test]
    fn secrets_in_a_list_are_redacted() {
        let mut list = json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Secret", "data": {"k": "c2VjcmV0"}},
            {"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v"}}
        ]});
        redact(&mut list);
        assert_eq!(list["items"][0]["data"]["k"], REDACTED);
        assert_eq!(list["items"][1]["data"]["k"], "v");
    }
}
