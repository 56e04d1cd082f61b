//! Normalizing objects before they are compared: the fields the server
//! maintains are removed, so only what a person configured can differ.

use serde_json::Value;

/// Metadata fields the server maintains.
const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "generation",
    "uid",
    "creationTimestamp",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// Annotations tools and controllers write that are not part of the desired state.
const SERVER_ANNOTATIONS: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
];

/// Removes server-maintained fields and `status` from `obj`, for diffing.
pub fn for_diff(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    map.shift_remove("status");
    let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    for field in SERVER_METADATA {
        meta.shift_remove(*field);
    }
    if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
        for a in SERVER_ANNOTATIONS {
            annotations.shift_remove(*a);
        }
        if annotations.is_empty() {
            meta.shift_remove("annotations");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strips_server_fields() {
        let mut obj = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "uid": "u", "resourceVersion": "1", "generation": 1,
                "creationTimestamp": "t", "managedFields": [],
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
                "labels": {"x": "y"}},
            "data": {"k": "v"}, "status": {}});
        for_diff(&mut obj);
        assert_eq!(
            obj,
            json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "labels": {"x": "y"}}, "data": {"k": "v"}})
        );
    }
}
